//! `EventFd` of world `imports` (WASI 0.2): blocking calls, pollables and,
//! with the `wstd` feature, futures.

use crate::bindings::wasi_eventfd::eventfd::{preopens, types};
use crate::Result;
use wasip2::io::poll::Pollable;

/// Flags for [`EventFd::new`]: `CLOEXEC`, `NONBLOCK` and `SEMAPHORE`, as
/// `EFD_*` (a bit set: `Flags::SEMAPHORE | Flags::NONBLOCK`,
/// `Flags::empty()`).
pub use types::CreateFlags as Flags;
/// A snapshot of a descriptor and its description ([`EventFd::info`]).
pub use types::Info;

eventfd_type! {
    /// A descriptor of an eventfd: a 64-bit counter shared with whoever
    /// holds a descriptor of the same description (other guests, the host).
    ///
    /// Dropping it closes the descriptor; the description lives until its
    /// last descriptor is gone. Calls that wait ([`read`](Self::read) of a
    /// zero counter, [`write`](Self::write) that does not fit) suspend the
    /// whole guest until another guest or the host makes room, unless the
    /// description is non-blocking; to wait for several things at once,
    /// poll [`subscribe_readable`](Self::subscribe_readable) /
    /// [`subscribe_writable`](Self::subscribe_writable) with
    /// [`poll`](crate::poll::poll), or use the `wstd` futures.
    raw: types::Eventfd,
    get_eventfds: preopens::get_eventfds,
    flags: Flags,
    info: Info,
}

impl EventFd {
    /// `read(2)`: in counter mode the counter, which becomes 0; in
    /// semaphore mode 1, taken from it. A zero counter gives
    /// [`Error::WouldBlock`](crate::Error::WouldBlock) if the description
    /// is non-blocking, and otherwise waits (suspending the guest) for a
    /// write.
    pub fn read(&self) -> Result<u64> {
        Ok(self.raw.read()?)
    }

    /// `write(2)`: adds `value` to the counter. `u64::MAX` gives
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument); a sum
    /// past `u64::MAX - 1` gives
    /// [`Error::WouldBlock`](crate::Error::WouldBlock) if the description
    /// is non-blocking, and otherwise waits for reads to make room. Never
    /// adds part of `value`.
    pub fn write(&self, value: u64) -> Result<()> {
        Ok(self.raw.write(value)?)
    }

    /// A pollable that is ready while the counter is above 0, i.e. while a
    /// read would not wait (`EPOLLIN`, level-triggered). Drop it before
    /// the eventfd: pollables are children of their descriptor.
    pub fn subscribe_readable(&self) -> Pollable {
        self.raw.subscribe_readable()
    }

    /// A pollable that is ready while writing 1 would not wait
    /// (`EPOLLOUT`, level-triggered). Drop it before the eventfd.
    pub fn subscribe_writable(&self) -> Pollable {
        self.raw.subscribe_writable()
    }
}

/// Futures for guests on [`wstd`](https://docs.rs/wstd), whose reactor
/// waits on `wasi:io` pollables: while one task awaits an eventfd, the
/// guest's other tasks (timers, sockets, other eventfds) keep running.
/// They must be awaited inside the wstd runtime (`#[wstd::main]`,
/// `wstd::runtime::block_on`).
#[cfg(feature = "wstd")]
impl EventFd {
    /// Returns once the counter is above 0 (a read would not wait), at
    /// once if it already is; consumes nothing (`EPOLLIN`).
    pub async fn readable(&self) {
        wait(self.subscribe_readable()).await;
    }

    /// Returns once writing 1 would not wait, at once if it would not
    /// already (`EPOLLOUT`).
    pub async fn writable(&self) {
        wait(self.subscribe_writable()).await;
    }

    /// [`read`](Self::read) as a future: awaits [`readable`](Self::readable),
    /// then reads. On a non-blocking description a read that another
    /// reader beat to the count awaits readiness again. On a blocking one
    /// that other readers share, the read after readiness can still lose
    /// that race and then waits as a blocking read does (suspending the
    /// guest): make an eventfd several readers share non-blocking, as
    /// with `epoll`.
    pub async fn read_async(&self) -> Result<u64> {
        loop {
            self.readable().await;
            match self.read() {
                Err(crate::Error::WouldBlock) => continue,
                done => return done,
            }
        }
    }

    /// [`write`](Self::write) as a future: awaits
    /// [`writable`](Self::writable), then writes. On a non-blocking
    /// description a write that does not fit awaits readiness again; as
    /// readiness only says that 1 fits, a larger `value` that still does
    /// not is retried every millisecond (a wstd timer) until reads make
    /// room. On a blocking description that other writers fill, the write
    /// after readiness can still wait as a blocking write does (see
    /// [`read_async`](Self::read_async)).
    pub async fn write_async(&self, value: u64) -> Result<()> {
        loop {
            self.writable().await;
            match self.write(value) {
                Err(crate::Error::WouldBlock) if value > 1 => {
                    wstd::task::sleep(wstd::time::Duration::from_millis(1)).await;
                }
                Err(crate::Error::WouldBlock) => {}
                done => return done,
            }
        }
    }
}

/// Waits in the wstd reactor for `pollable`, dropping it afterwards.
#[cfg(feature = "wstd")]
async fn wait(pollable: Pollable) {
    wstd::runtime::AsyncPollable::new(pollable).wait_for().await;
}
