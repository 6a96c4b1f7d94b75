//! `Epoll` for WASI preview 1 core modules (`wasm32-wasip1`): Linux's
//! [`epoll(7)`](https://man7.org/linux/man-pages/man7/epoll.7.html) on the
//! guest's one fd table, through the host's `wasi_eventfd` import module
//! (`epoll_create1`, `epoll_ctl`, `epoll_wait`). What an event loop needs:
//! an interest list of fds, each with the events it is watched for and a
//! `u64` given back with its events, and a wait for whichever is ready
//! first.
//!
//! An epoll watches eventfds, other epolls (nesting up to five deep, as on
//! Linux) and stdin, stdout and stderr; a regular file or a directory is
//! `EPERM`, as on Linux (and so is a socket, which Linux would take:
//! preview 1 cannot watch one).

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// The host's `wasi_eventfd` module: Linux's flag values and `-errno`
/// results, numbers of the one fd table.
mod abi {
    #[link(wasm_import_module = "wasi_eventfd")]
    extern "C" {
        pub fn epoll_create1(flags: i32) -> i32;
        /// `event` points to wasm32's `struct epoll_event` ([`super::Event`]);
        /// not read for `EPOLL_CTL_DEL`.
        pub fn epoll_ctl(epfd: i32, op: i32, fd: i32, event: i32) -> i32;
        /// `events` points to `maxevents` of [`super::Event`].
        pub fn epoll_wait(epfd: i32, events: i32, maxevents: i32, timeout: i32) -> i32;
    }

    /// `EPOLL_CLOEXEC`, Linux's `O_CLOEXEC`.
    pub const EPOLL_CLOEXEC: i32 = 0o2000000;
    pub const EPOLL_CTL_ADD: i32 = 1;
    pub const EPOLL_CTL_DEL: i32 = 2;
    pub const EPOLL_CTL_MOD: i32 = 3;
    /// Linux's `EP_MAX_EVENTS`: `INT_MAX / sizeof(struct epoll_event)`.
    pub const EP_MAX_EVENTS: i32 = i32::MAX / 16;
}

bitflags::bitflags! {
    /// Flags for [`Epoll::new`], as `epoll_create1(2)`'s.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct EpollFlags: u32 {
        /// `EPOLL_CLOEXEC`: close-on-exec on the new descriptor (WASI has
        /// no exec: it only shows in `fcntl(F_GETFD)`). Set it unless you
        /// mean to hand the fd on, as mio and Rust's standard library do
        /// for every fd they make.
        const CLOEXEC = 1 << 0;
    }
}

bitflags::bitflags! {
    /// `EPOLL*` bits, with Linux's values (`include/uapi/linux/eventpoll.h`):
    /// what an entry of the interest list is watched for ([`Epoll::add`],
    /// [`Epoll::modify`]) and what [`Epoll::wait`] reports of it
    /// ([`Event::events`]).
    ///
    /// An eventfd is [`IN`](Events::IN) while its counter is above 0 and
    /// [`OUT`](Events::OUT) while a write of 1 would not wait;
    /// [`ERR`](Events::ERR) and [`HUP`](Events::HUP) are always reported
    /// when they hold, asked for or not. Bits Linux does not define are
    /// kept as given (`EINVAL` from the host where Linux refuses them).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct Events: u32 {
        /// `EPOLLIN`: a read would not wait.
        const IN = 0x001;
        /// `EPOLLPRI`: urgent data (never, on the files an epoll here
        /// watches).
        const PRI = 0x002;
        /// `EPOLLOUT`: a write would not wait.
        const OUT = 0x004;
        /// `EPOLLERR`: an error condition (reported without being asked).
        const ERR = 0x008;
        /// `EPOLLHUP`: hang-up (reported without being asked).
        const HUP = 0x010;
        /// `EPOLLRDNORM`: as `IN`, for normal data.
        const RDNORM = 0x040;
        /// `EPOLLRDBAND`: priority data readable.
        const RDBAND = 0x080;
        /// `EPOLLWRNORM`: as `OUT`, for normal data.
        const WRNORM = 0x100;
        /// `EPOLLWRBAND`: priority data writable.
        const WRBAND = 0x200;
        /// `EPOLLMSG`: unused by Linux.
        const MSG = 0x400;
        /// `EPOLLRDHUP`: the peer shut down writing (sockets).
        const RDHUP = 0x2000;
        /// `EPOLLEXCLUSIVE`: when several epolls wait on one file, an event
        /// wakes one of them (only with [`Epoll::add`]: `EINVAL` with
        /// [`Epoll::modify`], as on Linux).
        const EXCLUSIVE = 1 << 28;
        /// `EPOLLWAKEUP`: dropped by the host, as Linux drops it for a
        /// process without `CAP_BLOCK_SUSPEND`.
        const WAKEUP = 1 << 29;
        /// `EPOLLONESHOT`: after one event the entry is disabled until
        /// [`Epoll::modify`] re-arms it.
        const ONESHOT = 1 << 30;
        /// `EPOLLET`: edge-triggered: an entry is reported when an event
        /// arrives, not again while it stays ready (for an eventfd, as on
        /// Linux, each write is a new `IN` event and each read a new `OUT`
        /// event, even while it was ready already). Without it,
        /// level-triggered: at every wait while ready.
        const ET = 1 << 31;
    }
}

/// One `struct epoll_event` as wasm32 lays it out (`events` at 0, `data`
/// at 8, 16 bytes; Linux packs it only on x86-64): what [`Epoll::wait`]
/// fills in. Make a buffer of them with `[Event::default(); N]`.
#[repr(C)]
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Event {
    events: u32,
    data: u64,
}

// The layout the host reads and writes.
const _: () = assert!(std::mem::size_of::<Event>() == 16);
const _: () = assert!(std::mem::offset_of!(Event, data) == 8);

impl Event {
    /// An event with these bits and this `data`.
    pub fn new(events: Events, data: u64) -> Event {
        Event {
            events: events.bits(),
            data,
        }
    }

    /// What the entry is ready for (`IN`, `OUT`, `ERR`, `HUP`).
    pub fn events(&self) -> Events {
        Events::from_bits_retain(self.events)
    }

    /// The `data` the entry was registered with, as given.
    pub fn data(&self) -> u64 {
        self.data
    }
}

impl std::fmt::Debug for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Event")
            .field("events", &self.events())
            .field("data", &self.data)
            .finish()
    }
}

/// An epoll instance: an interest list of open files and a ready list, as
/// Linux's ([`epoll(7)`](https://man7.org/linux/man-pages/man7/epoll.7.html)).
/// An fd of the guest's table like any other: dropping it closes it, and
/// it is itself an [`AsFd`] source, readable while an entry is ready, so
/// epolls nest.
///
/// The interest list holds the open file description, not the number: a
/// registration outlives the `close` of one fd while another fd of the
/// same file (a `dup`, another guest's, the host's) is open, and goes with
/// the last. Close a registered fd only after [`delete`](Self::delete), or
/// expect its events to go on.
///
/// Errors are [`io::Error`]s holding preview 1's errno (the number wasi-libc
/// gives `errno`, as `std`'s own calls give), so [`io::Error::kind`] and
/// [`io::Error::raw_os_error`] answer as for any call of `std`.
#[derive(Debug)]
pub struct Epoll {
    fd: OwnedFd,
}

impl Epoll {
    /// `epoll_create1(flags)` ([`epoll_create1(2)`](https://man7.org/linux/man-pages/man2/epoll_create1.2.html)):
    /// a new epoll with an empty interest list, at the lowest free fd.
    ///
    /// Errors: `EMFILE` when the guest holds as many fds as the host
    /// allows (`--max-descriptors`).
    pub fn new(flags: EpollFlags) -> io::Result<Epoll> {
        let linux = if flags.contains(EpollFlags::CLOEXEC) {
            abi::EPOLL_CLOEXEC
        } else {
            0
        };
        // SAFETY: a call of the host's import with a plain integer.
        let fd = result(unsafe { abi::epoll_create1(linux) })?;
        // SAFETY: the host made `fd` for this call and nothing else owns it.
        Ok(Epoll {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// `epoll_ctl(EPOLL_CTL_ADD)` ([`epoll_ctl(2)`](https://man7.org/linux/man-pages/man2/epoll_ctl.2.html)):
    /// watches `source`'s open file for `interest`; each event of it gives
    /// back `data`.
    ///
    /// Errors (Linux's): `EEXIST` ([`io::ErrorKind::AlreadyExists`]) if the
    /// file is already in the list; `EPERM` for a file that cannot be
    /// watched (a regular file, a directory); `EINVAL` for the epoll
    /// itself or a bad combination of bits (`EXCLUSIVE` with `ONESHOT`);
    /// `ELOOP` for an epoll that would nest more than five deep or in a
    /// loop; `ENOSPC` past the guest's registrations (as many as its
    /// descriptor limit, in all its epolls).
    pub fn add(&self, source: impl AsFd, interest: Events, data: u64) -> io::Result<()> {
        let event = Event::new(interest, data);
        self.ctl(abi::EPOLL_CTL_ADD, source.as_fd(), Some(&event))
    }

    /// `epoll_ctl(EPOLL_CTL_MOD)`: watches `source` for `interest` instead,
    /// with `data` instead, and re-arms an entry a `ONESHOT` event
    /// disabled. Errors: `ENOENT` ([`io::ErrorKind::NotFound`]) if it is
    /// not in the list; `EINVAL` for an entry added with `EXCLUSIVE`, or
    /// `EXCLUSIVE` in `interest`; as [`add`](Self::add) otherwise.
    pub fn modify(&self, source: impl AsFd, interest: Events, data: u64) -> io::Result<()> {
        let event = Event::new(interest, data);
        self.ctl(abi::EPOLL_CTL_MOD, source.as_fd(), Some(&event))
    }

    /// `epoll_ctl(EPOLL_CTL_DEL)`: stops watching `source`'s open file.
    /// Errors: `ENOENT` ([`io::ErrorKind::NotFound`]) if it is not in the
    /// list.
    pub fn delete(&self, source: impl AsFd) -> io::Result<()> {
        self.ctl(abi::EPOLL_CTL_DEL, source.as_fd(), None)
    }

    /// `epoll_wait` ([`epoll_wait(2)`](https://man7.org/linux/man-pages/man2/epoll_wait.2.html)):
    /// waits until an entry is ready or `timeout` passes, fills the start
    /// of `events` and returns how many it filled (0 when the timeout
    /// passed first). While it waits the guest is suspended (other guests
    /// run); another guest's or the host's write to a watched eventfd
    /// wakes it.
    ///
    /// `timeout`: `None` waits for ever, `Some(Duration::ZERO)` only looks.
    /// It is rounded **up** to whole milliseconds, as mio does, so that
    /// 100 µs waits 1 ms instead of not at all, and a timeout past
    /// `i32::MAX` ms (about 24.8 days) is that.
    ///
    /// More ready entries than `events.len()` come out in turn over
    /// successive waits (round-robin, as Linux's ready list). A
    /// level-triggered entry is reported at every wait while it is ready;
    /// read an eventfd (or make it not ready) before waiting again, or it
    /// will be reported again at once.
    ///
    /// Errors: `EINVAL` ([`io::ErrorKind::InvalidInput`]) for an empty
    /// `events`. Slices longer than Linux's `EP_MAX_EVENTS` are filled up
    /// to it.
    pub fn wait(&self, events: &mut [Event], timeout: Option<Duration>) -> io::Result<usize> {
        let max = i32::try_from(events.len())
            .unwrap_or(i32::MAX)
            .min(abi::EP_MAX_EVENTS);
        // SAFETY: the host writes at most `max` events of 16 bytes at
        // `events`, which holds `events.len() >= max` of them.
        let n = result(unsafe {
            abi::epoll_wait(
                self.fd.as_raw_fd(),
                events.as_mut_ptr() as i32,
                max,
                timeout_ms(timeout),
            )
        })?;
        // The host stores at most `max`: a larger count would be its bug,
        // kept within the slice.
        Ok((n as usize).min(events.len()))
    }

    /// One `epoll_ctl` with `event` (null for `None`).
    fn ctl(&self, op: i32, fd: BorrowedFd<'_>, event: Option<&Event>) -> io::Result<()> {
        let event = event.map_or(0, |event| event as *const Event as i32);
        // SAFETY: the host reads 16 bytes at `event`, which live for the
        // call (and reads nothing for `EPOLL_CTL_DEL`, passed null).
        result(unsafe { abi::epoll_ctl(self.fd.as_raw_fd(), op, fd.as_raw_fd(), event) }).map(drop)
    }
}

impl AsFd for Epoll {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for Epoll {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl From<Epoll> for OwnedFd {
    fn from(epoll: Epoll) -> OwnedFd {
        epoll.fd
    }
}

/// `epoll_wait`'s timeout in milliseconds: -1 for none, rounded up
/// (`Duration::as_millis` truncates), at most `i32::MAX`; as mio's
/// `Selector::select`.
fn timeout_ms(timeout: Option<Duration>) -> i32 {
    timeout.map_or(-1, |timeout| {
        let ms = timeout
            .checked_add(Duration::from_nanos(999_999))
            .unwrap_or(timeout)
            .as_millis();
        i32::try_from(ms).unwrap_or(i32::MAX)
    })
}

/// A result of the `wasi_eventfd` module: a value, or Linux's `-errno` as an
/// [`io::Error`] with preview 1's number for it.
fn result(value: i32) -> io::Result<i32> {
    if value >= 0 {
        Ok(value)
    } else {
        Err(io::Error::from_raw_os_error(wasi_errno(
            value.saturating_neg(),
        )))
    }
}

/// Preview 1's (wasi-libc's) number for Linux's errno `linux`, for the
/// errors the `wasi_eventfd` module gives (its documentation's table);
/// `EIO` for any other, as the C library's `__wasi_eventfd_result`.
pub(crate) fn wasi_errno(linux: i32) -> i32 {
    match linux {
        1 => libc::EPERM,
        2 => libc::ENOENT,
        5 => libc::EIO,
        9 => libc::EBADF,
        11 => libc::EAGAIN,
        14 => libc::EFAULT,
        17 => libc::EEXIST,
        22 => libc::EINVAL,
        23 => libc::ENFILE,
        24 => libc::EMFILE,
        28 => libc::ENOSPC,
        40 => libc::ELOOP,
        _ => libc::EIO,
    }
}
