//! What epoll needs of any file it watches, as Linux's `f_op->poll` gives
//! it (`include/linux/poll.h`): the file's readiness now
//! ([`PollFile::poll`], a [`PollMask`]), and a way to be told when it may
//! change (its watch list: the file's wait queue entries of
//! `ep_ptable_queue_proc`, called back as `ep_poll_callback` is).
//!
//! Files of every kind epoll can watch are a [`PollFile`]: an eventfd's
//! [`Description`], an epoll instance ([`Epoll`]), so that epoll fds nest,
//! and an [`ExternalFile`]: a stream whose readiness only the WASI host can
//! see (stdin, stdout, stderr), which a front end asks the host about and
//! reports here, and a TCP [`Socket`], whose readiness the host kernel
//! gives. Regular files and directories are not (Linux's
//! `file_can_poll` is false for them: `EPERM` in `epoll_ctl`).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use crate::kernel::epoll::{Epoll, Item};
use crate::kernel::eventfd::{Description, PollEvents};
use crate::kernel::socket::Socket;

bitflags::bitflags! {
    /// `poll(2)` / `epoll(7)` event bits with Linux's values
    /// (`include/uapi/linux/eventpoll.h`, `asm-generic/poll.h`), as a
    /// file's poll reports them and as a wake-up names what changed.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
    pub struct PollMask: u32 {
        /// `EPOLLIN`: a read would not wait.
        const IN = 0x001;
        /// `EPOLLPRI`: urgent data.
        const PRI = 0x002;
        /// `EPOLLOUT`: a write would not wait.
        const OUT = 0x004;
        /// `EPOLLERR`: an error condition (always reported).
        const ERR = 0x008;
        /// `EPOLLHUP`: hang-up (always reported).
        const HUP = 0x010;
        /// `EPOLLNVAL`: not an open file.
        const NVAL = 0x020;
        /// `EPOLLRDNORM`.
        const RDNORM = 0x040;
        /// `EPOLLRDBAND`.
        const RDBAND = 0x080;
        /// `EPOLLWRNORM`.
        const WRNORM = 0x100;
        /// `EPOLLWRBAND`.
        const WRBAND = 0x200;
        /// `EPOLLMSG`.
        const MSG = 0x400;
        /// `EPOLLRDHUP`: the peer shut down writing.
        const RDHUP = 0x2000;
    }
}

/// A file epoll can watch, held strongly (for one operation) or weakly
/// (by an interest-list entry, which must not keep the file open: the
/// registration goes when the file's last reference does).
#[derive(Clone)]
pub enum PollFile {
    /// An eventfd (`eventfd_poll`).
    Eventfd(Arc<Description>),
    /// An epoll instance (`ep_eventpoll_poll`).
    Epoll(Arc<Epoll>),
    /// A stream of the WASI host's, by its readiness last seen.
    External(Arc<ExternalFile>),
    /// A TCP socket (`tcp_poll`, asked of the host kernel).
    Socket(Arc<Socket>),
}

/// A [`PollFile`] held weakly.
#[derive(Clone)]
pub(crate) enum WeakPollFile {
    /// With the eventfd's counter, which polls it without opening it.
    Eventfd(Weak<Description>, Arc<AtomicU64>),
    Epoll(Weak<Epoll>),
    External(Weak<ExternalFile>),
    Socket(Weak<Socket>),
}

impl WeakPollFile {
    /// The file, while anything still holds it open.
    pub(crate) fn upgrade(&self) -> Option<PollFile> {
        match self {
            WeakPollFile::Eventfd(weak, _) => weak.upgrade().map(PollFile::Eventfd),
            WeakPollFile::Epoll(weak) => weak.upgrade().map(PollFile::Epoll),
            WeakPollFile::External(weak) => weak.upgrade().map(PollFile::External),
            WeakPollFile::Socket(weak) => weak.upgrade().map(PollFile::Socket),
        }
    }

    /// The file's readiness now, when that needs no strong reference (an
    /// eventfd's, from its counter): `None` for other files, which
    /// [`upgrade`](Self::upgrade) then polls. An entry whose file went is
    /// marked removed first; one racing the file's release reports what
    /// the file last was, as if polled just before.
    pub(crate) fn poll_unopened(&self) -> Option<PollMask> {
        match self {
            WeakPollFile::Eventfd(_, count) => {
                Some(PollEvents::of(count.load(Ordering::SeqCst)).mask())
            }
            _ => None,
        }
    }
}

impl PollFile {
    /// The file's readiness now: `eventfd_poll`'s `EPOLLIN` / `EPOLLOUT` /
    /// `EPOLLERR`, or an epoll's `EPOLLIN | EPOLLRDNORM` while one of its
    /// entries is ready.
    pub fn poll(&self) -> PollMask {
        match self {
            PollFile::Eventfd(description) => description.poll_mask(),
            PollFile::Epoll(epoll) => epoll.poll_mask(),
            PollFile::External(file) => file.readiness(),
            PollFile::Socket(socket) => socket.poll_mask(),
        }
    }

    /// Whether this is the file's only strong reference: dropping it then
    /// releases the file (which must not happen under a lock its release
    /// takes).
    pub(crate) fn is_last_reference(&self) -> bool {
        1 == match self {
            PollFile::Eventfd(description) => Arc::strong_count(description),
            PollFile::Epoll(epoll) => Arc::strong_count(epoll),
            PollFile::External(file) => Arc::strong_count(file),
            PollFile::Socket(socket) => Arc::strong_count(socket),
        }
    }

    /// Who is told when the file's readiness may change.
    pub(crate) fn watchers(&self) -> &WatchList {
        match self {
            PollFile::Eventfd(description) => description.watchers(),
            PollFile::Epoll(epoll) => epoll.watchers(),
            PollFile::External(file) => &file.watchers,
            PollFile::Socket(socket) => socket.watchers(),
        }
    }

    /// What tells one open file description from another while it lives
    /// (the kernel's `struct file *` in an epoll key): its address.
    pub(crate) fn key(&self) -> usize {
        match self {
            PollFile::Eventfd(description) => Arc::as_ptr(description) as usize,
            PollFile::Epoll(epoll) => Arc::as_ptr(epoll) as usize,
            PollFile::External(file) => Arc::as_ptr(file) as usize,
            PollFile::Socket(socket) => Arc::as_ptr(socket) as usize,
        }
    }

    pub(crate) fn downgrade(&self) -> WeakPollFile {
        match self {
            PollFile::Eventfd(description) => WeakPollFile::Eventfd(
                Arc::downgrade(description),
                Arc::clone(description.counter()),
            ),
            PollFile::Epoll(epoll) => WeakPollFile::Epoll(Arc::downgrade(epoll)),
            PollFile::External(file) => WeakPollFile::External(Arc::downgrade(file)),
            PollFile::Socket(socket) => WeakPollFile::Socket(Arc::downgrade(socket)),
        }
    }
}

/// A stream whose readiness the kernel layer cannot see by itself: the
/// WASI host's stdin, stdout or stderr. A front end asks the host (a
/// preview 1 `poll_oneoff`) whenever an epoll watching it waits, and
/// reports what it saw with [`observed`](Self::observed); a readiness that
/// appears is a change that wakes the epoll entries watching it, as a
/// driver's wake-up would. So `EPOLLET` reports the stream each time it
/// becomes ready (not, as Linux, on every arrival while it stays ready).
pub struct ExternalFile {
    /// The host's handle of the stream (preview 1: wasmtime-wasi's fd).
    handle: u32,
    /// What the host can be asked of it: `IN` for an input stream, `OUT`
    /// for an output stream. It never becomes ready otherwise.
    directions: PollMask,
    readiness: AtomicU32,
    watchers: WatchList,
}

impl ExternalFile {
    /// The stream the host knows as `handle`, which can become ready in
    /// `directions` (`IN`, `OUT`), not ready until observed.
    pub fn new(handle: u32, directions: PollMask) -> Arc<Self> {
        Arc::new(ExternalFile {
            handle,
            directions,
            readiness: AtomicU32::new(0),
            watchers: WatchList::default(),
        })
    }

    /// The host's handle of the stream.
    pub fn handle(&self) -> u32 {
        self.handle
    }

    /// What the host can be asked of the stream (`IN`, `OUT`).
    pub fn directions(&self) -> PollMask {
        self.directions
    }

    /// The readiness last observed.
    pub fn readiness(&self) -> PollMask {
        PollMask::from_bits_truncate(self.readiness.load(Ordering::SeqCst))
    }

    /// Records `now` as the readiness of the bits in `asked` (the others
    /// stay as they were), waking the watchers with the bits that became
    /// set.
    pub fn observed(&self, asked: PollMask, now: PollMask) {
        let now = now & asked;
        let before = PollMask::from_bits_truncate(
            self.readiness
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |bits| {
                    Some((bits & !asked.bits()) | now.bits())
                })
                .unwrap_or(0),
        );
        let appeared = now & !before;
        if !appeared.is_empty() {
            self.watchers.wake(appeared);
        }
    }
}

impl Drop for ExternalFile {
    /// The stream's last fd went: its epoll entries go.
    fn drop(&mut self) {
        self.watchers.release_all();
    }
}

impl std::fmt::Debug for ExternalFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternalFile")
            .field("handle", &self.handle)
            .field("readiness", &self.readiness())
            .finish()
    }
}

/// The epoll entries watching one file: told of every change of its
/// readiness, with the bits that changed (`wake_up_poll`'s key). Waking
/// with nobody watching (the common case) costs one atomic load.
///
/// As the kernel's wait queue, it holds entries of two kinds: ordinary
/// ones, every one of which is told of every change, and `EPOLLEXCLUSIVE`
/// ones (`add_wait_queue_exclusive`), told in the order they were added
/// until one of them wakes a waiter (`__wake_up_common`'s `nr_exclusive`
/// of 1).
#[derive(Default)]
pub(crate) struct WatchList {
    watching: AtomicUsize,
    /// Every event any entry asked since the list was last empty (a
    /// superset of what they ask now): a change of nothing asked (a read
    /// of an eventfd watched for `EPOLLIN` alone) wakes no entry, and is
    /// not worth the lock.
    asked: AtomicU32,
    slots: Mutex<Slots>,
}

#[derive(Default)]
struct Slots {
    entries: Vec<Option<Arc<Item>>>,
    free: Vec<usize>,
    /// `EPOLLEXCLUSIVE` entries by the order they were added.
    exclusive: BTreeMap<usize, Arc<Item>>,
    next_exclusive: usize,
}

/// Where an entry sits in a [`WatchList`], to remove it from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Slot {
    /// Not in any list yet.
    #[default]
    None,
    Ordinary(usize),
    Exclusive(usize),
}

impl WatchList {
    fn slots(&self) -> MutexGuard<'_, Slots> {
        // Every critical section leaves the slots consistent.
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds `item` (as an exclusive entry when it is one); gives the slot
    /// to [`remove`](Self::remove) it from.
    pub(crate) fn add(&self, item: Arc<Item>) -> Slot {
        let mut slots = self.slots();
        self.watching.fetch_add(1, Ordering::SeqCst);
        self.ask(item.asked());
        if item.is_exclusive() {
            let at = slots.next_exclusive;
            slots.next_exclusive += 1;
            slots.exclusive.insert(at, item);
            return Slot::Exclusive(at);
        }
        match slots.free.pop() {
            Some(index) => {
                if let Some(slot) = slots.entries.get_mut(index) {
                    *slot = Some(item);
                }
                Slot::Ordinary(index)
            }
            None => {
                slots.entries.push(Some(item));
                Slot::Ordinary(slots.entries.len() - 1)
            }
        }
    }

    /// Removes the entry in `slot`.
    pub(crate) fn remove(&self, slot: Slot) {
        let mut slots = self.slots();
        let removed = match slot {
            Slot::None => false,
            Slot::Exclusive(at) => slots.exclusive.remove(&at).is_some(),
            Slot::Ordinary(index) => {
                let taken = slots.entries.get_mut(index).and_then(Option::take);
                if taken.is_some() {
                    slots.free.push(index);
                }
                taken.is_some()
            }
        };
        if removed {
            self.watching.fetch_sub(1, Ordering::SeqCst);
        }
        if self.watching.load(Ordering::SeqCst) == 0 {
            *slots = Slots::default();
            self.asked.store(0, Ordering::SeqCst);
        }
    }

    /// Notes that an entry asks for `events` (its `EPOLL_CTL_ADD` or
    /// `EPOLL_CTL_MOD`), before it may be polled for them.
    pub(crate) fn ask(&self, events: u32) {
        self.asked.fetch_or(events, Ordering::SeqCst);
    }

    /// Tells the entries that the file's readiness changed by `key`
    /// (`ep_poll_callback`): every ordinary one, then exclusive ones until
    /// one has woken a waiter. Callers changed the file first, so an entry
    /// polling after this sees the change.
    #[inline]
    pub(crate) fn wake(&self, key: PollMask) {
        // Every read and write of an eventfd calls this; most files are
        // watched by nothing, so only the check is inlined into them.
        if self.watching.load(Ordering::SeqCst) != 0
            && (key.is_empty() || key.bits() & self.asked.load(Ordering::SeqCst) != 0)
        {
            self.wake_watchers(key);
        }
    }

    /// [`WatchList::wake`] for a file something watches.
    #[inline(never)]
    fn wake_watchers(&self, key: PollMask) {
        let slots = self.slots();
        for item in slots.entries.iter().flatten() {
            item.wake(key);
        }
        for item in slots.exclusive.values() {
            if item.wake(key) {
                break;
            }
        }
    }

    /// The epolls whose entries watch the file (for the nesting check).
    pub(crate) fn watching_epolls(&self) -> Vec<Arc<Epoll>> {
        if self.watching.load(Ordering::SeqCst) == 0 {
            return Vec::new();
        }
        let slots = self.slots();
        slots
            .entries
            .iter()
            .flatten()
            .chain(slots.exclusive.values())
            .filter_map(|item| item.epoll())
            .collect()
    }

    /// The file's last reference went (`eventpoll_release`): empties the
    /// list, then each entry leaves its interest list, with no lock of the
    /// file held.
    pub(crate) fn release_all(&self) {
        let slots = std::mem::take(&mut *self.slots());
        self.watching.store(0, Ordering::SeqCst);
        self.asked.store(0, Ordering::SeqCst);
        for item in slots
            .entries
            .into_iter()
            .flatten()
            .chain(slots.exclusive.into_values())
        {
            item.file_released();
        }
    }
}
