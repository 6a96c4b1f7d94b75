//! epoll, as Linux's `fs/eventpoll.c` has it, with no wasm in it: an
//! interest list keyed by (open file description, fd number), and a ready
//! list fed by wake-ups of the watched files, so that a wait costs
//! O(ready entries), not O(registered).
//!
//! - An entry ([`Item`]) sits in its file's watch list; every change of
//!   the file's readiness calls it back with the bits that changed
//!   (`ep_poll_callback`): if it asks for them, it joins the ready list
//!   (once) and wakes whoever waits on the instance.
//! - [`Epoll::wait_events`] (`ep_send_events`) takes entries from the
//!   front of the ready list, polls each file again, and reports those
//!   still ready: level-triggered entries go back to the end of the list
//!   (so with more ready than `maxevents`, repeated waits report every one
//!   in turn, as Linux's list rotates), `EPOLLET` entries leave it until
//!   their next wake-up, `EPOLLONESHOT` entries are disarmed until
//!   `EPOLL_CTL_MOD`.
//! - An entry does not hold its file open: when the file's last reference
//!   goes (`eventpoll_release`), its entries leave their interest lists,
//!   however many fds named it. Closing one fd of a file another fd still
//!   names changes nothing.
//! - An instance is itself a [`PollFile`]: `EPOLLIN | EPOLLRDNORM` while an
//!   entry is ready, so instances nest, at most [`MAX_NESTS`] deep, never
//!   in a loop (`ELOOP`).
//!
//! Locks: the interest list (`epoll_ctl`, as the kernel's `ep->mtx`), a
//! file's watch list (`wqh.lock`), the ready list (`ep->lock`), taken in
//! that order; a wake-up takes only the last two. No lock is held while a
//! file's last reference may be dropped.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use crate::kernel::eventfd::{Description, Readiness};
use crate::kernel::poll::{ExternalFile, PollFile, PollMask, Slot, WatchList, WeakPollFile};
use crate::kernel::socket::Socket;
use crate::kernel::wait_queue::{QueueListener, WaitQueue};
use crate::kernel::waits::Waiting;

/// `EPOLL_CTL_ADD`.
pub const EPOLL_CTL_ADD: i32 = 1;
/// `EPOLL_CTL_DEL`.
pub const EPOLL_CTL_DEL: i32 = 2;
/// `EPOLL_CTL_MOD`.
pub const EPOLL_CTL_MOD: i32 = 3;

/// `EPOLLEXCLUSIVE`: of several instances watching a file this way, a
/// change wakes one that has a waiter (and those watching it otherwise).
pub const EPOLLEXCLUSIVE: u32 = 1 << 28;
/// `EPOLLWAKEUP`: needs `CAP_BLOCK_SUSPEND`, which no guest has: dropped,
/// as Linux drops it for an unprivileged caller.
pub const EPOLLWAKEUP: u32 = 1 << 29;
/// `EPOLLONESHOT`: disarm after one report, until `EPOLL_CTL_MOD`.
pub const EPOLLONESHOT: u32 = 1 << 30;
/// `EPOLLET`: report each new event once (edge-triggered).
pub const EPOLLET: u32 = 1 << 31;
/// The bits that are modes, not events (`EP_PRIVATE_BITS`): all that is
/// left of a disarmed `EPOLLONESHOT` entry.
const PRIVATE_BITS: u32 = EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE;
/// What may go with `EPOLLEXCLUSIVE` (`EPOLLEXCLUSIVE_OK_BITS`).
const EXCLUSIVE_OK_BITS: u32 = PollMask::IN.bits()
    | PollMask::OUT.bits()
    | PollMask::ERR.bits()
    | PollMask::HUP.bits()
    | EPOLLWAKEUP
    | EPOLLET
    | EPOLLEXCLUSIVE;

/// How many instances deep epolls may nest (`EP_MAX_NESTS`): a chain of
/// at most 5 instances, each inside the next (checked on the kernel: the
/// sixth `EPOLL_CTL_ADD` of a chain is `ELOOP`).
pub const MAX_NESTS: usize = 4;

/// An error of an epoll operation, with the Linux errno it stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EpollError {
    /// `EINVAL`: an unknown op or flag, the instance added to itself,
    /// `EPOLLEXCLUSIVE` where it is refused.
    Inval,
    /// `EEXIST`: `EPOLL_CTL_ADD` of a registered (file, fd).
    Exist,
    /// `ENOENT`: `EPOLL_CTL_MOD` / `EPOLL_CTL_DEL` of an unregistered one.
    Noent,
    /// `ELOOP`: the addition would make a loop of instances, or nest them
    /// deeper than [`MAX_NESTS`].
    Loop,
    /// `ENOSPC`: the guest's registrations are at their limit (Linux's
    /// `max_user_watches`).
    Nospc,
}

impl EpollError {
    /// The Linux errno number.
    pub fn raw(self) -> i32 {
        match self {
            EpollError::Inval => 22,
            EpollError::Exist => 17,
            EpollError::Noent => 2,
            EpollError::Loop => 40,
            EpollError::Nospc => 28,
        }
    }
}

/// One reported event: the ready bits among those asked, and the entry's
/// `data` as given (`struct epoll_event`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpollEvent {
    /// Ready events (`EPOLLIN`, `EPOLLOUT`, `EPOLLERR`, …).
    pub events: u32,
    /// The registration's `data`.
    pub data: u64,
}

/// How many registrations one guest holds in all its instances, and how
/// many it may (`max_user_watches`; `ENOSPC` beyond): interest lists are
/// keyed by fd numbers but outlive them, so they need a bound of their own.
#[derive(Debug)]
pub struct WatchBudget {
    used: AtomicUsize,
    limit: usize,
}

impl WatchBudget {
    /// A budget of `limit` registrations.
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(WatchBudget {
            used: AtomicUsize::new(0),
            limit,
        })
    }

    /// Registrations held now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::SeqCst)
    }

    fn take(&self) -> Result<(), EpollError> {
        self.used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |used| {
                (used < self.limit).then_some(used + 1)
            })
            .map(|_| ())
            .map_err(|_| EpollError::Nospc)
    }

    fn give_back(&self) {
        let _ = self
            .used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |used| {
                used.checked_sub(1)
            });
    }
}

/// One epoll instance: an open file description of its own.
pub struct Epoll {
    /// The interest list: (file, fd number) to entry.
    interest: Mutex<InterestList>,
    shared: Arc<Shared>,
    budget: Arc<WatchBudget>,
    /// `O_NONBLOCK` and `O_APPEND`, kept and reported by `fcntl` (epoll
    /// itself never looks at them: `epoll_wait` waits by its timeout).
    nonblocking: AtomicBool,
    append: AtomicBool,
}

/// What an entry reaches of its instance without holding it open.
struct Shared {
    ready: Mutex<VecDeque<Arc<Item>>>,
    /// The ready list's length as of its last unlock: a look at an empty
    /// list (most of an event loop's, and one before every park) costs
    /// this load instead of the lock. Stored only when it changes; `SeqCst`
    /// when it leaves 0, so that a waiter that joins `waiters`, then finds
    /// it 0, is woken by the enqueue that makes it 1 (other changes wake
    /// nobody, and a stale non-zero length only costs the lock).
    ready_len: AtomicUsize,
    /// `epoll_wait` waits here (`ep->wq`).
    waiters: WaitQueue,
    /// Polls of the instance's fd wait here (`ep->poll_wait`)...
    pollers: WaitQueue,
    /// ... and entries of other instances watching this one.
    watchers: WatchList,
    /// How many entries watch an external stream or another instance
    /// (which may hold one): none, and there is nothing to observe.
    externals: AtomicUsize,
}

impl Shared {
    fn ready(&self) -> ReadyList<'_> {
        let list = self.ready.lock().unwrap_or_else(|p| p.into_inner());
        ReadyList {
            was: list.len(),
            list,
            len: &self.ready_len,
        }
    }

    /// Whether the ready list is empty (as of its last unlock).
    fn nothing_ready(&self) -> bool {
        self.ready_len.load(Ordering::SeqCst) == 0
    }

    /// Puts `item` at the end of the ready list unless it is on it, and
    /// tells whoever waits.
    fn enqueue(&self, item: &Arc<Item>) {
        if !item.queued.swap(true, Ordering::SeqCst) {
            self.ready().put(Arc::clone(item), End::Back);
        }
        self.waiters.wake_all();
        self.pollers.wake_all();
        self.watchers.wake(PollMask::IN);
    }
}

/// Which end of the ready list an entry goes to.
enum End {
    Front,
    Back,
}

/// The locked ready list; its length is published as it is let go.
struct ReadyList<'a> {
    list: MutexGuard<'a, VecDeque<Arc<Item>>>,
    /// The length when locked.
    was: usize,
    len: &'a AtomicUsize,
}

impl std::ops::Deref for ReadyList<'_> {
    type Target = VecDeque<Arc<Item>>;
    fn deref(&self) -> &Self::Target {
        &self.list
    }
}

impl ReadyList<'_> {
    /// The front entry, taken off the list.
    fn take_front(&mut self) -> Option<Arc<Item>> {
        let item = self.list.pop_front()?;
        item.on_list.store(false, Ordering::Relaxed);
        Some(item)
    }

    /// Puts `item` at `end` unless it is on the list already (its waker
    /// may have set `queued` while the list was locked, and comes here
    /// after).
    fn put(&mut self, item: Arc<Item>, end: End) {
        if !item.on_list.load(Ordering::Relaxed) {
            item.on_list.store(true, Ordering::Relaxed);
            match end {
                End::Front => self.list.push_front(item),
                End::Back => self.list.push_back(item),
            }
        }
    }

    /// Takes the front entry off the list and polls its file: the entry,
    /// the events it asks, and which of them the file has (none for an
    /// entry removed meanwhile). Its `queued` is cleared before the poll,
    /// so that a wake-up after the poll puts it back once the list is let
    /// go; a file whose last reference the poll took goes to `closed`.
    /// Inlined: `send_events` takes every entry through it.
    #[inline]
    fn take_polled(&mut self, closed: &mut Option<Vec<PollFile>>) -> Option<(Arc<Item>, u32, u32)> {
        let item = self.take_front()?;
        item.queued.store(false, Ordering::SeqCst);
        if item.removed.load(Ordering::SeqCst) {
            return Some((item, 0, 0));
        }
        let events = item.events.load(Ordering::SeqCst);
        let revents = item.poll(events, closed);
        Some((item, events, revents))
    }

    /// Puts back at `end` an entry [`take_polled`](Self::take_polled)
    /// found ready. A waker that found it off meanwhile waits for the
    /// lock, then finds it on: a plain store of `queued` does.
    fn put_back(&mut self, item: Arc<Item>, end: End) {
        item.queued.store(true, Ordering::Relaxed);
        self.put(item, end);
    }

    fn clear(&mut self) {
        for item in self.list.drain(..) {
            item.on_list.store(false, Ordering::Relaxed);
        }
    }
}

impl Drop for ReadyList<'_> {
    fn drop(&mut self) {
        let now = self.list.len();
        if now != self.was {
            // Only leaving 0 can wake a waiter (see `Shared::ready_len`);
            // the lock's release publishes the others.
            let order = match self.was {
                0 => Ordering::SeqCst,
                _ => Ordering::Release,
            };
            self.len.store(now, order);
        }
    }
}

/// One registration: a file under one fd number (`struct epitem`).
pub struct Item {
    file: WeakPollFile,
    key: (usize, u32),
    /// The events asked, with `EPOLLET` / `EPOLLONESHOT` (and
    /// `EPOLLERR | EPOLLHUP`, always added).
    events: AtomicU32,
    data: AtomicU64,
    /// A wake-up need not take the ready list's lock: the entry is on
    /// the list, or its waker is about to put it there. Swapped by every
    /// wake-up, and cleared (`SeqCst`) before a poll that may leave the
    /// entry off the list, so that either the poll sees a change or the
    /// change's wake-up sees the entry off.
    queued: AtomicBool,
    /// On the ready list: changed under its lock only, so that an entry
    /// put back while its waker waits for the lock is not put twice.
    on_list: AtomicBool,
    /// Left the interest list (by `EPOLL_CTL_DEL`, the file's release or
    /// the instance's).
    removed: AtomicBool,
    /// Its place in the file's watch list.
    slot: Mutex<Slot>,
    /// `EPOLLEXCLUSIVE`, fixed at `EPOLL_CTL_ADD` (`MOD` refuses it).
    exclusive: bool,
    /// Counted in `Shared::externals`.
    external: bool,
    shared: Arc<Shared>,
    epoll: Weak<Epoll>,
    budget: Arc<WatchBudget>,
}

impl Item {
    /// The file's readiness changed by `key` (`ep_poll_callback`).
    /// Returns whether an exclusive entry woke a waiter of its instance
    /// (which ends the wake-up of exclusive entries; ordinary ones always
    /// say true, as the kernel's callback does).
    pub(crate) fn wake(self: &Arc<Self>, key: PollMask) -> bool {
        let events = self.events.load(Ordering::SeqCst);
        // A disarmed EPOLLONESHOT entry, or one that does not ask for what
        // changed, stays off the ready list.
        if events & !PRIVATE_BITS == 0
            || (!key.is_empty() && key.bits() & events == 0)
            || self.removed.load(Ordering::SeqCst)
        {
            return !self.exclusive;
        }
        let woke = self.exclusive && self.shared.waiters.waiting() > 0 && {
            // The kernel's switch on the key's EPOLLIN | EPOLLOUT bits: a
            // change of neither wakes; of one, an entry asking for it; of
            // both, none.
            match key.bits() & (PollMask::IN.bits() | PollMask::OUT.bits()) {
                0 => true,
                changed if changed == PollMask::IN.bits() || changed == PollMask::OUT.bits() => {
                    events & changed != 0
                }
                _ => false,
            }
        };
        self.shared.enqueue(self);
        woke || !self.exclusive
    }

    /// Which of `events` the file has now, polled with its instance's
    /// ready list locked (0 for a file gone). A file whose last reference
    /// the poll took (it closed meanwhile) goes to `closed`, to be dropped
    /// once the list is let go: its release leaves interest lists.
    fn poll(&self, events: u32, closed: &mut Option<Vec<PollFile>>) -> u32 {
        if let Some(mask) = self.file.poll_unopened() {
            return mask.bits() & events;
        }
        let Some(file) = self.file.upgrade() else {
            return 0;
        };
        let revents = file.poll().bits() & events;
        if file.is_last_reference() {
            closed.get_or_insert_with(Vec::new).push(file);
        }
        revents
    }

    pub(crate) fn is_exclusive(&self) -> bool {
        self.exclusive
    }

    /// The events the entry asks for now.
    pub(crate) fn asked(&self) -> u32 {
        self.events.load(Ordering::SeqCst)
    }

    fn slot(&self) -> Slot {
        *self.slot.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn epoll(&self) -> Option<Arc<Epoll>> {
        self.epoll.upgrade()
    }

    /// Marks the entry gone; true the first time, when its registration is
    /// given back.
    fn mark_removed(&self) -> bool {
        let first = !self.removed.swap(true, Ordering::SeqCst);
        if first {
            self.budget.give_back();
            if self.external {
                self.shared.externals.fetch_sub(1, Ordering::SeqCst);
            }
        }
        first
    }

    /// Leaves the file's watch list (`EPOLL_CTL_DEL`, the instance's
    /// release). Returns the file, to be dropped by the caller outside any
    /// lock (it may be its last reference).
    fn detach(&self) -> Option<PollFile> {
        if !self.mark_removed() {
            return None;
        }
        let file = self.file.upgrade()?;
        file.watchers().remove(self.slot());
        Some(file)
    }

    /// The file's last reference went: leave the interest list.
    pub(crate) fn file_released(&self) {
        if !self.mark_removed() {
            return;
        }
        let Some(epoll) = self.epoll.upgrade() else {
            return;
        };
        let removed = {
            let mut interest = epoll.interest();
            match interest.get(&self.key) {
                Some(item) if std::ptr::eq(Arc::as_ptr(item), self) => interest.remove(&self.key),
                _ => None,
            }
        };
        drop(removed);
        // `epoll` may be the instance's last reference: dropped here,
        // holding nothing.
        drop(epoll);
    }
}

/// An interest list: every entry by (file, fd number), and apart those
/// that watch something other than an eventfd (another instance, an
/// external stream), so that walking those costs O(their number), not
/// O(registered).
#[derive(Default)]
struct InterestList {
    all: HashMap<(usize, u32), Arc<Item>>,
    others: HashMap<(usize, u32), Arc<Item>>,
}

impl InterestList {
    fn get(&self, key: &(usize, u32)) -> Option<&Arc<Item>> {
        self.all.get(key)
    }

    fn contains_key(&self, key: &(usize, u32)) -> bool {
        self.all.contains_key(key)
    }

    fn len(&self) -> usize {
        self.all.len()
    }

    fn insert(&mut self, key: (usize, u32), item: Arc<Item>) {
        if item.external {
            self.others.insert(key, Arc::clone(&item));
        }
        self.all.insert(key, item);
    }

    fn remove(&mut self, key: &(usize, u32)) -> Option<Arc<Item>> {
        self.others.remove(key);
        self.all.remove(key)
    }
}

/// Serialises additions of instances to instances, so that two of them
/// cannot make a loop the other's check misses (the kernel's
/// `epnested_mutex`).
static NESTING: Mutex<()> = Mutex::new(());

impl Epoll {
    /// `epoll_create1`: an empty instance whose registrations count
    /// against `budget` (one per guest).
    pub fn new(budget: Arc<WatchBudget>) -> Arc<Self> {
        Arc::new(Epoll {
            interest: Mutex::new(InterestList::default()),
            shared: Arc::new(Shared {
                ready: Mutex::new(VecDeque::new()),
                ready_len: AtomicUsize::new(0),
                waiters: WaitQueue::default(),
                pollers: WaitQueue::default(),
                watchers: WatchList::default(),
                externals: AtomicUsize::new(0),
            }),
            budget,
            nonblocking: AtomicBool::new(false),
            append: AtomicBool::new(false),
        })
    }

    fn interest(&self) -> MutexGuard<'_, InterestList> {
        // Each critical section is a lookup, an insert or a remove.
        self.interest.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many registrations the interest list holds.
    pub fn len(&self) -> usize {
        self.interest().len()
    }

    /// Whether the interest list is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `O_NONBLOCK` is set (`fcntl(F_GETFL)`).
    pub fn is_nonblocking(&self) -> bool {
        self.nonblocking.load(Ordering::SeqCst)
    }

    /// Whether `O_APPEND` is set (`fcntl(F_GETFL)`).
    pub fn is_append(&self) -> bool {
        self.append.load(Ordering::SeqCst)
    }

    /// `fcntl(F_SETFL)`: keeps `O_NONBLOCK` and `O_APPEND`, which change
    /// nothing of an epoll.
    pub fn set_status(&self, nonblocking: bool, append: bool) {
        self.nonblocking.store(nonblocking, Ordering::SeqCst);
        self.append.store(append, Ordering::SeqCst);
    }

    pub(crate) fn watchers(&self) -> &WatchList {
        &self.shared.watchers
    }

    /// A place among those waiting for an entry to become ready: listen,
    /// check, then await it.
    pub(crate) fn listen(&self) -> QueueListener<'_> {
        self.shared.waiters.listen()
    }

    /// A place among those polling the instance's fd (`poll`, `select`):
    /// woken as `epoll_wait`'s waiters are, but not counted as one by an
    /// `EPOLLEXCLUSIVE` entry.
    pub(crate) fn listen_poll(&self) -> QueueListener<'_> {
        self.shared.pollers.listen()
    }

    /// `epoll_ctl(epfd, op, fd, event)` on this instance, `file` being what
    /// `fd` names (the caller has found it: `EBADF` for no file, `EPERM`
    /// for one that cannot be polled, `EINVAL` when `epfd` is not an epoll
    /// are its). Errors in the kernel's order (`do_epoll_ctl`): the
    /// instance itself as `file` and `EPOLLEXCLUSIVE` misuse `EINVAL`, a
    /// loop or nesting past [`MAX_NESTS`] `ELOOP`, then by op: `EEXIST`
    /// (`ADD` of a registered pair), `ENOENT` (`MOD`/`DEL` of an
    /// unregistered one), `ENOSPC` (the budget), `EINVAL` (unknown op).
    /// `events` and `data` are ignored for `DEL`.
    pub fn ctl(
        self: &Arc<Self>,
        op: i32,
        fd: u32,
        file: &PollFile,
        events: u32,
        data: u64,
    ) -> Result<(), EpollError> {
        if file.key() == Arc::as_ptr(self) as usize {
            return Err(EpollError::Inval);
        }
        let has_event = op != EPOLL_CTL_DEL;
        // No guest holds CAP_BLOCK_SUSPEND.
        let events = events & !EPOLLWAKEUP;
        if has_event && events & EPOLLEXCLUSIVE != 0 {
            if op == EPOLL_CTL_MOD {
                return Err(EpollError::Inval);
            }
            if op == EPOLL_CTL_ADD
                && (matches!(file, PollFile::Epoll(_)) || events & !EXCLUSIVE_OK_BITS != 0)
            {
                return Err(EpollError::Inval);
            }
        }
        let key = (file.key(), fd);
        match op {
            EPOLL_CTL_ADD => {
                let _nesting = match file {
                    PollFile::Epoll(target) => {
                        let guard = NESTING.lock().unwrap_or_else(|p| p.into_inner());
                        self.check_nesting(target)?;
                        Some(guard)
                    }
                    PollFile::Eventfd(_) | PollFile::External(_) | PollFile::Socket(_) => None,
                };
                self.insert(key, file, events, data)
            }
            EPOLL_CTL_MOD => {
                let item = self.interest().get(&key).cloned();
                let item = item.ok_or(EpollError::Noent)?;
                if item.events.load(Ordering::SeqCst) & EPOLLEXCLUSIVE != 0 {
                    return Err(EpollError::Inval);
                }
                let events = events | PollMask::ERR.bits() | PollMask::HUP.bits();
                // Asked of the file's watch list first, so that no change
                // after the poll below is skipped there.
                file.watchers().ask(events);
                item.data.store(data, Ordering::SeqCst);
                item.events.store(events, Ordering::SeqCst);
                // ep_modify: the new events may be ready already.
                if file.poll().bits() & events != 0 {
                    self.shared.enqueue(&item);
                }
                Ok(())
            }
            EPOLL_CTL_DEL => {
                let item = self.interest().remove(&key);
                let item = item.ok_or(EpollError::Noent)?;
                // Dropped here, outside the interest list's lock.
                drop(item.detach());
                Ok(())
            }
            _ => Err(EpollError::Inval),
        }
    }

    /// `ep_insert`.
    fn insert(
        self: &Arc<Self>,
        key: (usize, u32),
        file: &PollFile,
        events: u32,
        data: u64,
    ) -> Result<(), EpollError> {
        let mut interest = self.interest();
        if interest.contains_key(&key) {
            return Err(EpollError::Exist);
        }
        self.budget.take()?;
        let events = events | PollMask::ERR.bits() | PollMask::HUP.bits();
        let item = Arc::new(Item {
            file: file.downgrade(),
            key,
            events: AtomicU32::new(events),
            data: AtomicU64::new(data),
            queued: AtomicBool::new(false),
            on_list: AtomicBool::new(false),
            removed: AtomicBool::new(false),
            slot: Mutex::new(Slot::None),
            exclusive: events & EPOLLEXCLUSIVE != 0,
            external: !matches!(file, PollFile::Eventfd(_)),
            shared: Arc::clone(&self.shared),
            epoll: Arc::downgrade(self),
            budget: Arc::clone(&self.budget),
        });
        // In the watch list before the first poll, so no change between
        // the two is missed.
        if item.external {
            self.shared.externals.fetch_add(1, Ordering::SeqCst);
        }
        let slot = file.watchers().add(Arc::clone(&item));
        *item.slot.lock().unwrap_or_else(|p| p.into_inner()) = slot;
        interest.insert(key, Arc::clone(&item));
        drop(interest);
        if file.poll().bits() & events != 0 {
            self.shared.enqueue(&item);
        }
        Ok(())
    }

    /// `ep_loop_check`: `ELOOP` when adding `target` would put this
    /// instance inside itself, or make a chain of more than
    /// [`MAX_NESTS`] + 1 instances (those above this one, this one, and
    /// those below `target`: the rule the kernel follows, checked on it).
    fn check_nesting(self: &Arc<Self>, target: &Arc<Epoll>) -> Result<(), EpollError> {
        let above = self.depth_above(0)?;
        let mut below = HashMap::new();
        let depth = target.depth_below(self, 0, &mut below)?;
        if above + 1 + depth > MAX_NESTS {
            return Err(EpollError::Loop);
        }
        Ok(())
    }

    /// How many instances this one is nested in, at most (up the chain).
    fn depth_above(&self, level: usize) -> Result<usize, EpollError> {
        if level > MAX_NESTS {
            return Err(EpollError::Loop);
        }
        let mut deepest = 0;
        for outer in self.watchers().watching_epolls() {
            deepest = deepest.max(1 + outer.depth_above(level + 1)?);
        }
        Ok(deepest)
    }

    /// How many instances are nested in this one, at most (down the
    /// chain); `ELOOP` on meeting `adding_to`. `seen` keeps each
    /// instance's answer, so shared sub-trees are walked once.
    fn depth_below(
        &self,
        adding_to: &Arc<Epoll>,
        level: usize,
        seen: &mut HashMap<usize, usize>,
    ) -> Result<usize, EpollError> {
        if level > MAX_NESTS {
            return Err(EpollError::Loop);
        }
        // Only instances are upgraded, and none is dropped while the lock
        // is held: a last reference dropped there would take it again.
        let mut inner: Vec<Arc<Epoll>> = self
            .interest()
            .others
            .values()
            .filter_map(|item| match &item.file {
                WeakPollFile::Epoll(epoll) => epoll.upgrade(),
                WeakPollFile::Eventfd(..) | WeakPollFile::External(_) | WeakPollFile::Socket(_) => {
                    None
                }
            })
            .collect();
        let mut distinct = HashSet::new();
        inner.retain(|epoll| distinct.insert(Arc::as_ptr(epoll) as usize));
        let mut deepest = 0;
        for epoll in &inner {
            if Arc::ptr_eq(epoll, adding_to) {
                return Err(EpollError::Loop);
            }
            let at = Arc::as_ptr(epoll) as usize;
            let depth = match seen.get(&at) {
                Some(&depth) => depth,
                None => {
                    let depth = epoll.depth_below(adding_to, level + 1, seen)?;
                    seen.insert(at, depth);
                    depth
                }
            };
            deepest = deepest.max(1 + depth);
        }
        drop(inner);
        Ok(deepest)
    }

    /// `ep_eventpoll_poll`: `EPOLLIN | EPOLLRDNORM` while an entry of the
    /// ready list is still ready. Entries found not ready leave the list
    /// (their next wake-up brings them back), so this costs O(ready).
    ///
    /// The list stays locked throughout, as `ep_read_events_proc` runs
    /// under `ep->mtx`: a wait on this instance that looked meanwhile (the
    /// deadlock check and a nested instance poll it from other threads)
    /// must not find the list without an entry this has taken off only to
    /// put it back, and then park with nobody left to wake it.
    pub fn poll_mask(&self) -> PollMask {
        if self.shared.nothing_ready() {
            return PollMask::empty();
        }
        let mut closed = None;
        let mut ready = self.shared.ready();
        let mut found = false;
        for _ in 0..ready.len() {
            let Some((item, _, revents)) = ready.take_polled(&mut closed) else {
                break;
            };
            if revents != 0 {
                // Back where it was.
                ready.put_back(item, End::Front);
                found = true;
                break;
            }
        }
        drop(ready);
        drop(closed);
        if found {
            PollMask::IN | PollMask::RDNORM
        } else {
            PollMask::empty()
        }
    }

    /// Whether an entry is ready (a cheaper [`poll_mask`](Self::poll_mask)
    /// question).
    pub fn is_ready(&self) -> bool {
        !self.poll_mask().is_empty()
    }

    /// `ep_send_events`: at most `max` events of entries ready now, in
    /// ready-list order; see the module docs. Never waits.
    pub fn wait_events(&self, max: usize) -> Vec<EpollEvent> {
        let mut out = Vec::new();
        self.send_events(max, |_, event| out.push(event));
        out
    }

    /// [`wait_events`](Self::wait_events) without a buffer of its own:
    /// hands each event to `send` with its index (0, 1, …, in ready-list
    /// order) as `ep_send_events` copies each to user memory, and returns
    /// how many it sent (at most `max`). Never waits, and allocates only
    /// when a file closed since its entry was queued: a front end writes
    /// the events straight into the guest's memory.
    ///
    /// The ready list stays locked throughout, as `ep_send_events` holds
    /// `ep->mtx`: polling a file wakes nobody, and `send` must not call
    /// back into the instance. A file whose last reference this poll took
    /// (it closed meanwhile) is dropped after the lock, since its release
    /// leaves interest lists.
    pub fn send_events(&self, max: usize, mut send: impl FnMut(usize, EpollEvent)) -> usize {
        if self.shared.nothing_ready() {
            return 0;
        }
        let mut sent = 0;
        let mut closed: Option<Vec<PollFile>> = None;
        let mut ready = self.shared.ready();
        let pending = ready.len();
        for _ in 0..pending {
            if sent >= max {
                break;
            }
            let Some((item, events, revents)) = ready.take_polled(&mut closed) else {
                break;
            };
            if revents == 0 {
                continue;
            }
            send(
                sent,
                EpollEvent {
                    events: revents,
                    data: item.data.load(Ordering::SeqCst),
                },
            );
            sent += 1;
            if events & EPOLLONESHOT != 0 {
                item.events.fetch_and(PRIVATE_BITS, Ordering::SeqCst);
            } else if events & EPOLLET == 0 {
                // Level-triggered: back at the end, so the next wait
                // reports the others first.
                ready.put_back(item, End::Back);
            }
        }
        drop(ready);
        drop(closed);
        sent
    }

    /// `epoll_wait` without a timeout of its own: completes with at least
    /// one event (at most `max`) once there is one.
    pub async fn wait(&self, max: usize) -> Vec<EpollEvent> {
        loop {
            let listener = self.listen();
            let events = self.wait_events(max);
            if !events.is_empty() {
                return events;
            }
            listener.await;
        }
    }

    /// What a guest parked in `epoll_wait` on this instance waits for:
    /// each eventfd it watches, once for each readiness asked (a
    /// [`Waiting`] each, however many entries ask it), through nested
    /// instances too; `None` when it also watches something another party
    /// may make ready (a stdio stream, a socket). For a host's
    /// [`GuestParkObserver`](crate::GuestParkObserver). O(registered).
    pub fn waits(&self) -> Option<Vec<Waiting>> {
        self.watched_eventfds().map(Waiting::distinct)
    }

    /// The eventfds this instance waits on and for what (`EPOLLIN`:
    /// readable, `EPOLLOUT`: writable), through nested instances too, for
    /// the deadlock detector; `None` when it also watches an external
    /// stream, which another party may make ready. Disarmed
    /// `EPOLLONESHOT` entries wait for nothing. O(registered): asked only
    /// when a guest parks with no timeout.
    pub(crate) fn watched_eventfds(&self) -> Option<Vec<(Arc<Description>, Readiness)>> {
        let mut out = Vec::new();
        // Eventfds alone, nothing nested: one walk, no set of visited
        // instances (the epoll ping-pong's every park comes here).
        if !self.watches_externals() && self.collect_own_eventfds(&mut out) {
            return Some(out);
        }
        out.clear();
        let mut seen = HashSet::new();
        self.collect_eventfds(&mut out, &mut seen, 0).then_some(out)
    }

    /// The eventfds of an interest list, walked under its lock; false
    /// (with `out` partly filled) on meeting anything else, which the
    /// general walk handles. Only descriptions that are kept (moved into
    /// `out`) are upgraded, so no last reference is dropped with the lock
    /// held.
    fn collect_own_eventfds(&self, out: &mut Vec<(Arc<Description>, Readiness)>) -> bool {
        let both = PollMask::IN.bits() | PollMask::OUT.bits();
        let interest = self.interest();
        out.reserve(interest.len());
        for item in interest.all.values() {
            let WeakPollFile::Eventfd(weak, _) = &item.file else {
                return false;
            };
            let events = item.events.load(Ordering::SeqCst);
            if events & both == 0 {
                continue;
            }
            // Gone: its entry is leaving the list, and waits for nothing.
            let Some(description) = weak.upgrade() else {
                continue;
            };
            if events & PollMask::OUT.bits() != 0 {
                out.push((Arc::clone(&description), Readiness::Writable));
            }
            if events & PollMask::IN.bits() != 0 {
                out.push((description, Readiness::Readable));
            }
        }
        true
    }

    /// Whether everything collected is an eventfd.
    fn collect_eventfds(
        &self,
        out: &mut Vec<(Arc<Description>, Readiness)>,
        seen: &mut HashSet<usize>,
        level: usize,
    ) -> bool {
        if level > MAX_NESTS || !seen.insert(self as *const Epoll as usize) {
            return true;
        }
        let files: Vec<(PollFile, u32)> = self
            .interest()
            .all
            .values()
            .filter(|item| item.events.load(Ordering::SeqCst) & !PRIVATE_BITS != 0)
            .filter_map(|item| Some((item.file.upgrade()?, item.events.load(Ordering::SeqCst))))
            .collect();
        for (file, events) in files {
            match file {
                PollFile::Eventfd(description) => {
                    if events & PollMask::OUT.bits() != 0 {
                        out.push((Arc::clone(&description), Readiness::Writable));
                    }
                    if events & PollMask::IN.bits() != 0 {
                        out.push((description, Readiness::Readable));
                    }
                }
                PollFile::Epoll(epoll) => {
                    if !epoll.collect_eventfds(out, seen, level + 1) {
                        return false;
                    }
                }
                PollFile::External(_) | PollFile::Socket(_) => return false,
            }
        }
        true
    }

    /// The external streams this instance watches, through nested
    /// instances too, each once with the events asked of it (the union of
    /// its entries'), for a front end to observe before and while it
    /// waits. O(1) for an instance that holds neither an external stream
    /// nor another instance (eventfds alone), O(registered) otherwise.
    pub fn external_files(&self) -> Vec<(Arc<ExternalFile>, PollMask)> {
        self.watched(|file| match file {
            PollFile::External(file) => Some(file),
            _ => None,
        })
    }

    /// Whether an entry watches an external stream or another instance
    /// (which may hold one): O(1), so that a wait over eventfds alone
    /// asks nothing more.
    pub fn watches_externals(&self) -> bool {
        self.shared.externals.load(Ordering::SeqCst) != 0
    }

    /// The sockets this instance watches, through nested instances too,
    /// each once with the events asked of it, for a waiter to poll for
    /// their edges ([`Socket::poll_edge`]) while it waits. O(1) for an
    /// instance of eventfds alone, as [`external_files`](Self::external_files).
    pub fn sockets(&self) -> Vec<(Arc<Socket>, PollMask)> {
        self.watched(|file| match file {
            PollFile::Socket(socket) => Some(socket),
            _ => None,
        })
    }

    /// The files `pick` takes of [`collect_others`](Self::collect_others)'s
    /// walk; for an instance of eventfds alone (the common case: every
    /// `epoll_wait` asks for both kinds) no walk, no set (its first insert
    /// allocates and hashes), no allocation.
    fn watched<X>(&self, pick: fn(PollFile) -> Option<Arc<X>>) -> Vec<(Arc<X>, PollMask)> {
        let mut out = Vec::new();
        if self.watches_externals() {
            self.collect_others(&mut out, &mut HashSet::new(), 0, pick);
        }
        out
    }

    /// Collects into `out` the files `pick` takes of this instance's
    /// entries (external streams or sockets), through nested instances,
    /// each once with the union of the events its entries ask. Entries of
    /// eventfds alone are not kept in `others`, so these are not walked.
    fn collect_others<X>(
        &self,
        out: &mut Vec<(Arc<X>, PollMask)>,
        seen: &mut HashSet<usize>,
        level: usize,
        pick: fn(PollFile) -> Option<Arc<X>>,
    ) {
        if level > MAX_NESTS
            || !seen.insert(self as *const Epoll as usize)
            || self.shared.externals.load(Ordering::SeqCst) == 0
        {
            return;
        }
        let files: Vec<(PollFile, u32)> = self
            .interest()
            .others
            .values()
            .filter(|item| item.events.load(Ordering::SeqCst) & !PRIVATE_BITS != 0)
            .filter_map(|item| Some((item.file.upgrade()?, item.events.load(Ordering::SeqCst))))
            .collect();
        for (file, events) in files {
            let found = match file {
                PollFile::Epoll(epoll) => {
                    epoll.collect_others(out, seen, level + 1, pick);
                    continue;
                }
                file => pick(file),
            };
            if let Some(found) = found {
                let asked = PollMask::from_bits_truncate(events);
                match out.iter_mut().find(|(known, _)| Arc::ptr_eq(known, &found)) {
                    Some((_, union)) => *union |= asked,
                    None => out.push((found, asked)),
                }
            }
        }
    }
}

impl Drop for Epoll {
    /// The instance's last reference went (`ep_free`): every entry leaves
    /// its file's watch list, and the ready list lets go of them.
    fn drop(&mut self) {
        let items: Vec<Arc<Item>> =
            std::mem::take(self.interest.get_mut().unwrap_or_else(|p| p.into_inner()))
                .all
                .into_values()
                .collect();
        let mut files = Vec::with_capacity(items.len());
        for item in &items {
            files.extend(item.detach());
        }
        self.shared.ready().clear();
        drop(files);
        // Entries of other instances watching this one leave theirs.
        self.shared.watchers.release_all();
    }
}

impl std::fmt::Debug for Epoll {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Epoll")
            .field("registrations", &self.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::eventfd::CreateFlags;
    use crate::DescriptionTable;

    const IN: u32 = PollMask::IN.bits();
    const OUT: u32 = PollMask::OUT.bits();

    fn epoll() -> Arc<Epoll> {
        Epoll::new(WatchBudget::new(1 << 20))
    }

    fn eventfd(table: &DescriptionTable, initval: u32) -> crate::Descriptor {
        table.create(initval, CreateFlags::NONBLOCK).unwrap()
    }

    fn file(descriptor: &crate::Descriptor) -> PollFile {
        PollFile::Eventfd(Arc::clone(descriptor.description()))
    }

    fn add(ep: &Arc<Epoll>, fd: u32, file: &PollFile, events: u32, data: u64) {
        ep.ctl(EPOLL_CTL_ADD, fd, file, events, data).unwrap();
    }

    fn ev(events: u32, data: u64) -> EpollEvent {
        EpollEvent { events, data }
    }

    /// Two threads wake each other through `epoll_wait` (each writes the
    /// other's eventfd, waits on its own instance, reads its eventfd) while
    /// a third polls both instances all along, as the deadlock check and a
    /// nested instance do. A poll that let go of the ready list between
    /// taking an entry off and putting it back let a wait find the list
    /// empty and park for good: the round trips then never finish.
    #[test]
    fn polling_an_instance_while_it_is_waited_on_loses_no_wake_up() {
        const ROUNDS: u32 = 20_000;
        let table = DescriptionTable::new();
        let (ping, pong) = (eventfd(&table, 0), eventfd(&table, 0));
        let (ping_ep, pong_ep) = (epoll(), epoll());
        add(&ping_ep, 3, &file(&ping), IN, 1);
        add(&pong_ep, 3, &file(&pong), IN, 2);
        let playing = std::sync::atomic::AtomicUsize::new(2);
        let (done, finished) = std::sync::mpsc::channel();
        let play =
            |mine: &Arc<crate::Description>, theirs: &Arc<crate::Description>, ep: &Arc<Epoll>| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .unwrap();
                runtime.block_on(async {
                    for _ in 0..ROUNDS {
                        theirs.try_write(1).unwrap();
                        ep.wait(1).await;
                        mine.try_read().unwrap();
                    }
                });
                // The other may still wait for this one's last write.
                theirs.try_write(1).unwrap();
                playing.fetch_sub(1, Ordering::SeqCst);
            };
        std::thread::scope(|scope| {
            let (ping_d, pong_d) = (ping.description(), pong.description());
            for (mine, theirs, ep) in [(ping_d, pong_d, &ping_ep), (pong_d, ping_d, &pong_ep)] {
                let done = done.clone();
                scope.spawn(move || {
                    play(mine, theirs, ep);
                    done.send(()).unwrap();
                });
            }
            scope.spawn(|| {
                while playing.load(Ordering::SeqCst) > 0 {
                    ping_ep.is_ready();
                    pong_ep.is_ready();
                }
            });
            for _ in 0..2 {
                if finished
                    .recv_timeout(std::time::Duration::from_secs(60))
                    .is_err()
                {
                    // The players hang: end the process rather than the
                    // scope, which would wait for them forever.
                    eprintln!("a wait lost its wake-up");
                    std::process::exit(1);
                }
            }
        });
    }

    #[test]
    fn level_triggered_reports_while_ready_with_data_as_given() {
        let table = DescriptionTable::new();
        let efd = eventfd(&table, 0);
        let ep = epoll();
        add(&ep, 3, &file(&efd), IN | OUT, 0xdead_beef_0000_0001);
        assert_eq!(ep.wait_events(8), [ev(OUT, 0xdead_beef_0000_0001)]);
        efd.description().try_write(1).unwrap();
        assert_eq!(ep.wait_events(8), [ev(IN | OUT, 0xdead_beef_0000_0001)]);
        assert_eq!(ep.wait_events(8), [ev(IN | OUT, 0xdead_beef_0000_0001)]);
        efd.description().try_read().unwrap();
        add(&ep, 4, &file(&efd), IN, 7);
        assert_eq!(ep.wait_events(8), [ev(OUT, 0xdead_beef_0000_0001)]);
    }

    #[test]
    fn edge_triggered_reports_each_write_once_even_if_already_readable() {
        // Miri libc-epoll-no-blocking: test_epoll_eventfd; the reference
        // notes: a write is a new event even when the count was non-zero.
        let table = DescriptionTable::new();
        let efd = eventfd(&table, 0);
        let ep = epoll();
        add(&ep, 3, &file(&efd), IN | OUT | EPOLLET, 1);
        assert_eq!(ep.wait_events(8), [ev(OUT, 1)]);
        assert_eq!(ep.wait_events(8), []);
        efd.description().try_write(1).unwrap();
        assert_eq!(ep.wait_events(8), [ev(IN | OUT, 1)]);
        assert_eq!(ep.wait_events(8), []);
        efd.description().try_write(1).unwrap();
        assert_eq!(ep.wait_events(8), [ev(IN | OUT, 1)]);
        // A read is a new EPOLLOUT event.
        efd.description().try_read().unwrap();
        assert_eq!(ep.wait_events(8), [ev(OUT, 1)]);
    }

    #[test]
    fn edge_triggered_in_only_ignores_reads() {
        let table = DescriptionTable::new();
        let efd = eventfd(&table, 2);
        let ep = epoll();
        add(&ep, 3, &file(&efd), IN | EPOLLET, 1);
        assert_eq!(ep.wait_events(8), [ev(IN, 1)]);
        efd.description().try_read().unwrap();
        efd.description().try_write(1).unwrap();
        efd.description().try_read().unwrap();
        assert_eq!(ep.wait_events(8), [], "written then read: not ready now");
    }

    #[test]
    fn a_mod_to_other_events_is_woken_by_their_changes() {
        // The watch list skips changes no entry asked for: what MOD asks
        // must count from then on.
        let table = DescriptionTable::new();
        let efd = eventfd(&table, 0);
        efd.description()
            .try_write(crate::kernel::eventfd::MAX_COUNT)
            .unwrap();
        let ep = epoll();
        let f = file(&efd);
        add(&ep, 3, &f, IN | EPOLLET, 1);
        assert_eq!(ep.wait_events(8), [ev(IN, 1)]);
        ep.ctl(EPOLL_CTL_MOD, 3, &f, OUT | EPOLLET, 2).unwrap();
        assert_eq!(ep.wait_events(8), [], "full: not writable");
        efd.description().try_read().unwrap();
        assert_eq!(ep.wait_events(8), [ev(OUT, 2)], "a read made room");
        assert_eq!(ep.wait_events(8), []);
    }

    #[test]
    fn oneshot_disarms_until_mod() {
        let table = DescriptionTable::new();
        let efd = eventfd(&table, 1);
        let ep = epoll();
        let f = file(&efd);
        add(&ep, 3, &f, IN | EPOLLONESHOT, 5);
        assert_eq!(ep.wait_events(8), [ev(IN, 5)]);
        assert_eq!(ep.wait_events(8), []);
        efd.description().try_write(1).unwrap();
        assert_eq!(ep.wait_events(8), [], "disarmed");
        assert!(!ep.is_ready());
        ep.ctl(EPOLL_CTL_MOD, 3, &f, IN | EPOLLONESHOT, 6).unwrap();
        assert_eq!(ep.wait_events(8), [ev(IN, 6)]);
        assert_eq!(ep.wait_events(8), []);
    }

    #[test]
    fn ctl_errors_are_linuxs() {
        // LTP epoll_ctl02 (EEXIST, ENOENT, EINVAL), epoll_ctl03 (event bits).
        let table = DescriptionTable::new();
        let efd = eventfd(&table, 0);
        let ep = epoll();
        let f = file(&efd);
        assert_eq!(ep.ctl(EPOLL_CTL_MOD, 3, &f, IN, 0), Err(EpollError::Noent));
        assert_eq!(ep.ctl(EPOLL_CTL_DEL, 3, &f, IN, 0), Err(EpollError::Noent));
        add(&ep, 3, &f, IN, 0);
        assert_eq!(ep.ctl(EPOLL_CTL_ADD, 3, &f, IN, 0), Err(EpollError::Exist));
        // The same file under another number is another registration.
        add(&ep, 4, &f, IN, 0);
        assert_eq!(ep.ctl(99, 3, &f, IN, 0), Err(EpollError::Inval));
        let me = PollFile::Epoll(Arc::clone(&ep));
        assert_eq!(ep.ctl(EPOLL_CTL_ADD, 5, &me, IN, 0), Err(EpollError::Inval));
        // EPOLLEXCLUSIVE: never with MOD, only with IN/OUT/ERR/HUP/ET, not
        // on an epoll (checked on the kernel).
        let x = EPOLLEXCLUSIVE;
        assert_eq!(
            ep.ctl(EPOLL_CTL_MOD, 3, &f, IN | x, 0),
            Err(EpollError::Inval)
        );
        let other = eventfd(&table, 0);
        let g = file(&other);
        for bad in [EPOLLONESHOT, PollMask::RDNORM.bits()] {
            assert_eq!(
                ep.ctl(EPOLL_CTL_ADD, 6, &g, IN | x | bad, 0),
                Err(EpollError::Inval)
            );
        }
        add(&ep, 6, &g, IN | x | EPOLLET, 0);
        assert_eq!(ep.ctl(EPOLL_CTL_MOD, 6, &g, IN, 0), Err(EpollError::Inval));
        ep.ctl(EPOLL_CTL_DEL, 6, &g, 0, 0).unwrap();
        let inner = PollFile::Epoll(epoll());
        assert_eq!(
            ep.ctl(EPOLL_CTL_ADD, 7, &inner, IN | x, 0),
            Err(EpollError::Inval)
        );
        ep.ctl(EPOLL_CTL_DEL, 3, &f, 0, 0).unwrap();
        assert_eq!(ep.len(), 1);
    }

    #[test]
    fn more_ready_than_maxevents_come_out_in_turn() {
        let table = DescriptionTable::new();
        let ep = epoll();
        let fds: Vec<_> = (0..3).map(|_| eventfd(&table, 1)).collect();
        for (i, efd) in fds.iter().enumerate() {
            add(&ep, 3 + i as u32, &file(efd), IN, i as u64);
        }
        let order: Vec<u64> = (0..6).map(|_| ep.wait_events(1)[0].data).collect();
        assert_eq!(order, [0, 1, 2, 0, 1, 2]);
        assert_eq!(
            ep.wait_events(2).iter().map(|e| e.data).collect::<Vec<_>>(),
            [0, 1]
        );
        assert_eq!(
            ep.wait_events(2).iter().map(|e| e.data).collect::<Vec<_>>(),
            [2, 0]
        );
    }

    #[test]
    fn an_epoll_is_pollable_and_nests() {
        let table = DescriptionTable::new();
        let efd = eventfd(&table, 0);
        let inner = epoll();
        let outer = epoll();
        add(&inner, 3, &file(&efd), IN, 1);
        add(&outer, 4, &PollFile::Epoll(Arc::clone(&inner)), IN, 2);
        assert_eq!(inner.poll_mask(), PollMask::empty());
        assert_eq!(outer.wait_events(8), []);
        efd.description().try_write(1).unwrap();
        assert_eq!(inner.poll_mask(), PollMask::IN | PollMask::RDNORM);
        assert_eq!(outer.wait_events(8), [ev(IN, 2)]);
        efd.description().try_read().unwrap();
        assert_eq!(outer.wait_events(8), []);
        assert_eq!(inner.poll_mask(), PollMask::empty());
    }

    #[test]
    fn nesting_deeper_than_five_or_in_a_loop_is_eloop() {
        // LTP epoll_ctl05 (ELOOP for a chain past EP_MAX_NESTS), epoll_ctl04.
        let chain: Vec<Arc<Epoll>> = (0..7).map(|_| epoll()).collect();
        let mut results = Vec::new();
        for (i, pair) in chain.windows(2).enumerate() {
            let [inner, outer] = pair else { continue };
            let inner = PollFile::Epoll(Arc::clone(inner));
            results.push(outer.ctl(EPOLL_CTL_ADD, i as u32, &inner, IN, 0));
        }
        // The kernel: the fifth addition of a chain (six instances) fails.
        assert_eq!(
            results,
            [
                Ok(()),
                Ok(()),
                Ok(()),
                Ok(()),
                Err(EpollError::Loop),
                Ok(())
            ]
        );
        let (a, b) = (epoll(), epoll());
        add(&a, 3, &PollFile::Epoll(Arc::clone(&b)), IN, 0);
        assert_eq!(
            b.ctl(EPOLL_CTL_ADD, 3, &PollFile::Epoll(Arc::clone(&a)), IN, 0),
            Err(EpollError::Loop)
        );
    }

    #[test]
    fn a_registration_goes_with_the_files_last_reference() {
        let table = DescriptionTable::new();
        let efd = eventfd(&table, 1);
        let dup = efd.dup();
        let ep = epoll();
        add(&ep, 3, &file(&efd), IN, 9);
        drop(efd);
        assert_eq!(ep.len(), 1, "a dup keeps the description open");
        assert_eq!(ep.wait_events(8), [ev(IN, 9)]);
        drop(dup);
        assert_eq!(ep.len(), 0);
        assert_eq!(ep.budget.used(), 0);
        assert_eq!(ep.wait_events(8), []);
        assert!(table.is_empty());
    }

    #[test]
    fn closing_an_epoll_leaves_the_files_watch_lists() {
        let table = DescriptionTable::new();
        let efd = eventfd(&table, 0);
        let budget = WatchBudget::new(16);
        let ep = Epoll::new(Arc::clone(&budget));
        let outer = epoll();
        add(&ep, 3, &file(&efd), IN, 0);
        add(&outer, 4, &PollFile::Epoll(Arc::clone(&ep)), IN, 0);
        let weak = Arc::downgrade(&ep);
        drop(ep);
        assert!(weak.upgrade().is_none(), "nothing keeps the instance");
        assert_eq!(outer.len(), 0);
        assert_eq!(budget.used(), 0);
        assert!(efd.description().watchers().watching_epolls().is_empty());
        efd.description().try_write(1).unwrap();
    }

    #[test]
    fn registrations_are_bounded_by_the_budget() {
        let table = DescriptionTable::new();
        let efd = eventfd(&table, 0);
        let ep = Epoll::new(WatchBudget::new(2));
        let f = file(&efd);
        add(&ep, 3, &f, IN, 0);
        add(&ep, 4, &f, IN, 0);
        assert_eq!(ep.ctl(EPOLL_CTL_ADD, 5, &f, IN, 0), Err(EpollError::Nospc));
        ep.ctl(EPOLL_CTL_DEL, 3, &f, 0, 0).unwrap();
        add(&ep, 5, &f, IN, 0);
    }

    #[test]
    fn a_wait_over_65536_registrations_touches_only_the_ready() {
        let table = DescriptionTable::new();
        let ep = Epoll::new(WatchBudget::new(1 << 17));
        let fds: Vec<_> = (0..65_536).map(|_| eventfd(&table, 0)).collect();
        for (i, efd) in fds.iter().enumerate() {
            add(&ep, i as u32, &file(efd), IN, i as u64);
        }
        assert_eq!(ep.shared.ready().len(), 0, "nothing ready, nothing queued");
        fds[40_000].description().try_write(1).unwrap();
        fds[7].description().try_write(1).unwrap();
        // The ready list holds what woke, and the wait reads only that.
        assert_eq!(ep.shared.ready().len(), 2);
        assert_eq!(ep.wait_events(8), [ev(IN, 40_000), ev(IN, 7)]);
    }

    #[test]
    fn an_exclusive_change_wakes_one_instance_with_a_waiter() {
        // LTP epoll_wait16 (one waiter woken per event) and epoll_wait15
        // (without EPOLLEXCLUSIVE, every one).
        let table = DescriptionTable::new();
        let efd = eventfd(&table, 0);
        let f = file(&efd);
        let idle = epoll();
        let (a, b) = (epoll(), epoll());
        let plain = epoll();
        for ep in [&idle, &a, &b] {
            add(ep, 3, &f, IN | EPOLLET | EPOLLEXCLUSIVE, 1);
        }
        add(&plain, 3, &f, IN | EPOLLET, 2);
        // Waiters on a and b (and on plain); none on idle, which is told
        // of the change but does not end the wake-up.
        let (_wa, _wb, _wp) = (a.listen(), b.listen(), plain.listen());
        efd.description().try_write(1).unwrap();
        let ready = |ep: &Epoll| ep.shared.ready().len();
        assert_eq!(
            [ready(&idle), ready(&a), ready(&b), ready(&plain)],
            [1, 1, 0, 1]
        );
        drop(_wa);
        a.wait_events(1);
        idle.wait_events(1);
        plain.wait_events(1);
        let _wa = a.listen();
        efd.description().try_write(1).unwrap();
        assert_eq!(
            [ready(&idle), ready(&a), ready(&b), ready(&plain)],
            [1, 1, 0, 1],
            "the first in order with a waiter, again"
        );
        drop(_wa);
        a.wait_events(1);
        idle.wait_events(1);
        efd.description().try_write(1).unwrap();
        assert_eq!([ready(&idle), ready(&a), ready(&b)], [1, 1, 1]);
    }

    #[test]
    fn an_external_stream_is_ready_as_last_observed() {
        let stream = ExternalFile::new(0, PollMask::IN);
        let f = PollFile::External(Arc::clone(&stream));
        let (lt, et, nested) = (epoll(), epoll(), epoll());
        add(&lt, 0, &f, IN, 1);
        add(&et, 0, &f, IN | EPOLLET, 2);
        add(&nested, 5, &PollFile::Epoll(Arc::clone(&lt)), IN, 3);
        assert_eq!(lt.wait_events(4), [], "not ready until observed");
        assert_eq!(nested.external_files().len(), 1, "seen through nesting");
        stream.observed(PollMask::IN, PollMask::IN);
        assert_eq!(lt.wait_events(4), [ev(IN, 1)]);
        assert_eq!(nested.wait_events(4), [ev(IN, 3)]);
        assert_eq!(et.wait_events(4), [ev(IN, 2)]);
        // Still ready: level-triggered reports again, edge-triggered not.
        stream.observed(PollMask::IN, PollMask::IN);
        assert_eq!(lt.wait_events(4), [ev(IN, 1)]);
        assert_eq!(et.wait_events(4), []);
        // Seen not ready, then ready again: a new edge.
        stream.observed(PollMask::IN, PollMask::empty());
        assert_eq!(lt.wait_events(4), []);
        stream.observed(PollMask::IN, PollMask::IN);
        assert_eq!(et.wait_events(4), [ev(IN, 2)]);
        // A wait on it is not a wait on eventfds alone.
        assert!(lt.watched_eventfds().is_none());
        drop(f);
        drop(stream);
        assert_eq!((lt.len(), et.len()), (0, 0), "gone with the stream");
        assert!(lt.external_files().is_empty());
    }

    #[tokio::test]
    async fn a_blocked_wait_wakes_on_a_write_from_another_task() {
        let table = DescriptionTable::new();
        let efd = eventfd(&table, 0);
        let ep = epoll();
        add(&ep, 3, &file(&efd), IN, 42);
        let waiter = tokio::spawn({
            let ep = Arc::clone(&ep);
            async move { ep.wait(4).await }
        });
        for _ in 0..1000 {
            if ep.shared.waiters.waiting() == 1 {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert!(!waiter.is_finished());
        efd.description().try_write(3).unwrap();
        assert_eq!(waiter.await.unwrap(), [ev(IN, 42)]);
    }
}
