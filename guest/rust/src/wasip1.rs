//! `EventFd` for WASI preview 1 core modules (`wasm32-wasip1`): an eventfd
//! is an ordinary fd of the guest's one fd table, so `EventFd` is an
//! [`OwnedFd`] underneath. Reads and writes are preview 1's `fd_read` and
//! `fd_write` (what `std::io` makes of them), `O_NONBLOCK` its
//! `fd_fdstat_get`/`fd_fdstat_set_flags`; creating, naming, duplicating
//! and close-on-exec go through the host's `wasi_eventfd` import module.
//!
//! Hand it to anything that takes an fd: `std::fs::File::from(OwnedFd::from(efd))`
//! reads and writes the counter 8 bytes at a time, as on Linux.

use std::io::{self, Read, Write};
use std::mem::ManuallyDrop;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use crate::{Error, Result};

bitflags::bitflags! {
    /// Flags for [`EventFd::new`]: `CLOEXEC`, `NONBLOCK` and `SEMAPHORE`, as
    /// `EFD_*` (a bit set: `Flags::SEMAPHORE | Flags::NONBLOCK`,
    /// `Flags::empty()`), the same names as on WASI 0.2.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct Flags: u8 {
        /// `EFD_CLOEXEC`: close-on-exec on the new descriptor.
        const CLOEXEC = 1 << 0;
        /// `EFD_NONBLOCK`: the new description is non-blocking.
        const NONBLOCK = 1 << 1;
        /// `EFD_SEMAPHORE`: reads return 1 and decrement.
        const SEMAPHORE = 1 << 2;
    }
}

/// The host's `wasi_eventfd` module: Linux's flag values and `-errno`
/// results, numbers of the one fd table.
mod abi {
    #[link(wasm_import_module = "wasi_eventfd")]
    extern "C" {
        pub fn eventfd(initval: i32, flags: i32) -> i32;
        pub fn dup(fd: i32) -> i32;
        pub fn fcntl(fd: i32, cmd: i32, arg: i32) -> i32;
        pub fn preopen(name: i32, len: i32) -> i32;
    }

    pub const EFD_SEMAPHORE: i32 = 0x1;
    pub const EFD_NONBLOCK: i32 = 0x800;
    pub const EFD_CLOEXEC: i32 = 0x80000;
    pub const F_SETFD: i32 = 2;
    pub const FD_CLOEXEC: i32 = 1;
}

/// Preview 1's own calls for an fd's status flags, which `std` does not
/// offer on a raw fd (wasi-libc's `fcntl(F_GETFL/F_SETFL)` makes the same).
mod p1 {
    #[link(wasm_import_module = "wasi_snapshot_preview1")]
    extern "C" {
        /// Fills the 24-byte, 8-aligned `fdstat` at `fdstat`: the status
        /// flags are its `u16` at byte 2. Returns preview 1's errno.
        pub fn fd_fdstat_get(fd: i32, fdstat: *mut u64) -> i32;
        pub fn fd_fdstat_set_flags(fd: i32, flags: i32) -> i32;
    }

    /// `__WASI_FDFLAGS_NONBLOCK`.
    pub const FDFLAGS_NONBLOCK: u16 = 4;
}

/// Linux's `-errno` from the module, as this crate's [`Error`].
fn from_linux(result: i32) -> Result<i32> {
    match result {
        fd if fd >= 0 => Ok(fd),
        -11 => Err(Error::WouldBlock),
        -24 => Err(Error::TooManyDescriptors),
        -23 => Err(Error::TooManyDescriptions),
        // Preview 1's number, as `Error::Os` holds.
        other => Err(Error::Os(crate::epoll::wasi_errno(other.saturating_neg()))),
    }
}

/// A preview 1 error of `fd_read` / `fd_write`, as this crate's [`Error`]
/// (preview 1 numbers: `EAGAIN` 6, `EINVAL` 28).
fn from_io(error: io::Error) -> Error {
    match error.raw_os_error() {
        Some(6) => Error::WouldBlock,
        Some(28) => Error::InvalidArgument,
        Some(code) => Error::Os(code),
        None => Error::Os(0),
    }
}

/// A descriptor of an eventfd: a 64-bit counter shared with whoever holds
/// a descriptor of the same description (other guests, the host). An fd
/// of the guest's table like any other: dropping it closes it.
///
/// Calls that wait ([`read`](Self::read) of a zero counter,
/// [`write`](Self::write) that does not fit) suspend the guest until
/// another guest or the host makes room, unless the description is
/// non-blocking; to wait for several fds at once, `poll` them (preview 1's
/// `poll_oneoff`, which takes eventfds beside files and stdin).
#[derive(Debug)]
pub struct EventFd {
    fd: OwnedFd,
}

impl EventFd {
    /// `eventfd(initval, flags)`: a new description with counter `initval`
    /// and a descriptor of it, the lowest free fd.
    pub fn new(initval: u32, flags: Flags) -> Result<EventFd> {
        let mut linux = 0;
        if flags.contains(Flags::SEMAPHORE) {
            linux |= abi::EFD_SEMAPHORE;
        }
        if flags.contains(Flags::NONBLOCK) {
            linux |= abi::EFD_NONBLOCK;
        }
        if flags.contains(Flags::CLOEXEC) {
            linux |= abi::EFD_CLOEXEC;
        }
        // SAFETY: a call of the host's import with plain integers; initval
        // is an unsigned int in C, passed as its bits.
        let fd = from_linux(unsafe { abi::eventfd(initval as i32, linux) })?;
        Ok(Self::owning(fd))
    }

    /// The eventfd the host shares with this guest under `name`, as a new
    /// descriptor; [`Error::NotPreopened`] if there is none.
    pub fn preopened(name: &str) -> Result<EventFd> {
        let len = i32::try_from(name.len()).map_err(|_| Error::NotPreopened(name.into()))?;
        // SAFETY: the host reads `len` bytes at `name`, which live for the
        // call.
        let result = unsafe { abi::preopen(name.as_ptr() as i32, len) };
        match result {
            -2 => Err(Error::NotPreopened(name.into())),
            result => Ok(Self::owning(from_linux(result)?)),
        }
    }

    /// `dup(2)`: another descriptor of the same description, the lowest free
    /// fd, close-on-exec clear.
    pub fn try_clone(&self) -> Result<EventFd> {
        // SAFETY: a call of the host's import with this guest's own fd.
        let fd = from_linux(unsafe { abi::dup(self.fd.as_raw_fd()) })?;
        Ok(Self::owning(fd))
    }

    /// `read(2)`: in counter mode the counter, which becomes 0; in
    /// semaphore mode 1, taken from it. A zero counter gives
    /// [`Error::WouldBlock`] if the description is non-blocking, and
    /// otherwise waits (suspending the guest) for a write.
    pub fn read(&self) -> Result<u64> {
        let mut bytes = [0u8; 8];
        let read = self.file().read(&mut bytes).map_err(from_io)?;
        match read {
            8 => Ok(u64::from_le_bytes(bytes)),
            _ => Err(Error::InvalidArgument),
        }
    }

    /// `write(2)`: adds `value` to the counter. `u64::MAX` gives
    /// [`Error::InvalidArgument`]; a sum past `u64::MAX - 1` gives
    /// [`Error::WouldBlock`] if the description is non-blocking, and
    /// otherwise waits for reads to make room. Never adds part of `value`.
    pub fn write(&self, value: u64) -> Result<()> {
        let written = self.file().write(&value.to_le_bytes()).map_err(from_io)?;
        match written {
            8 => Ok(()),
            _ => Err(Error::InvalidArgument),
        }
    }

    /// `fcntl(F_SETFL, O_NONBLOCK)`: on the description, so every
    /// descriptor of it, in every guest, sees the change.
    pub fn set_nonblocking(&self, nonblocking: bool) {
        let fd = self.fd.as_raw_fd();
        let mut fdstat = [0u64; 3];
        // SAFETY: preview 1 calls with this guest's own fd and a buffer of
        // the fdstat's size and alignment; an fd this value owns cannot be
        // bad, so neither fails.
        unsafe {
            if p1::fd_fdstat_get(fd, fdstat.as_mut_ptr()) != 0 {
                return;
            }
            // Little-endian: bytes 2 and 3 of the first word.
            let flags = (fdstat[0] >> 16) as u16;
            let flags = if nonblocking {
                flags | p1::FDFLAGS_NONBLOCK
            } else {
                flags & !p1::FDFLAGS_NONBLOCK
            };
            p1::fd_fdstat_set_flags(fd, i32::from(flags));
        }
    }

    /// `fcntl(F_SETFD, FD_CLOEXEC)`: on this descriptor only.
    pub fn set_cloexec(&self, cloexec: bool) {
        let arg = if cloexec { abi::FD_CLOEXEC } else { 0 };
        // SAFETY: a call of the host's import with this guest's own fd.
        unsafe { abi::fcntl(self.fd.as_raw_fd(), abi::F_SETFD, arg) };
    }

    /// An `EventFd` owning the fresh fd `fd` the host just handed out.
    fn owning(fd: i32) -> EventFd {
        // SAFETY: the host made `fd` for this call and nothing else owns it.
        EventFd {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        }
    }

    /// The fd as a `File` for one call, without giving up ownership.
    fn file(&self) -> ManuallyDrop<std::fs::File> {
        // SAFETY: the fd is open for as long as `self`, and the File is
        // never dropped (ManuallyDrop), so it never closes it.
        ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(self.fd.as_raw_fd()) })
    }
}

impl AsFd for EventFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for EventFd {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl From<EventFd> for OwnedFd {
    fn from(efd: EventFd) -> OwnedFd {
        efd.fd
    }
}

/// `read(2)` of the counter into `buf` (8 bytes or more: `EINVAL` below),
/// as any fd is read.
impl Read for &EventFd {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.file().read(buf)
    }
}

impl Read for EventFd {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.file().read(buf)
    }
}

/// `write(2)` of 8 bytes of `buf` to the counter (exactly 8: `EINVAL`
/// otherwise), as any fd is written.
impl Write for &EventFd {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file().write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Write for EventFd {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file().write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
