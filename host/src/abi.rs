//! The integer-fd ABI for core modules: import module `wasi_eventfd`, whose
//! functions mirror Linux's system calls, on the same description table as
//! the component interface.
//!
//! Every parameter and result is `i32`; a negative result is `-errno` with
//! Linux's numbers. Its fd numbers are those of the guest's one fd table
//! ([`crate::p1`]), beside stdio, directories and files: preview 1's own
//! `fd_read`, `fd_write`, `poll_oneoff`, `fd_fdstat_*`, `fd_close` work on
//! an eventfd from here, and this module's `dup`, `dup3` and `close` on
//! every kind of fd. Its `read`, `write`, `fcntl(F_GETFL/F_SETFL)` and
//! `poll` serve eventfds only (`-EINVAL`, `POLLNVAL` for another kind):
//! preview 1's calls are the general ones.
//!
//! | function | result |
//! |---|---|
//! | `eventfd(initval, flags)` | a new fd; unknown flag bits: `-EINVAL` |
//! | `read(fd, buf, len)` | 8, the value little-endian at `buf`; `len < 8`: `-EINVAL`; `buf` outside memory: `-EFAULT` without consuming |
//! | `write(fd, buf, len)` | 8; `len != 8` or the value `u64::MAX`: `-EINVAL` |
//! | `close(fd)` / `dup(fd)` | 0 / the lowest free fd, close-on-exec clear; any kind of fd |
//! | `dup3(oldfd, newfd, flags)` | `newfd`, what it named closed first; `flags` `O_CLOEXEC` or 0, else `-EINVAL`; `oldfd == newfd`: `-EINVAL`; `newfd` at or above the fd limit: `-EBADF` |
//! | `fcntl(fd, cmd, arg)` | `F_GETFD` 1, `F_SETFD` 2, `F_GETFL` 3, `F_SETFL` 4 |
//! | `poll(fds, nfds, timeout_ms)` | how many `struct pollfd` entries have events |
//! | `preopen(name, name_len)` | a fresh fd of the named preopen, or `-ENOENT` |
//! | `epoll_create1(flags)` | a new epoll fd; flags other than `EPOLL_CLOEXEC` (`O_CLOEXEC`): `-EINVAL` |
//! | `epoll_ctl(epfd, op, fd, event)` | 0; Linux's errors in the kernel's order: `-EFAULT`, `-EBADF`, `-EPERM` (not an eventfd, epoll fd or stdio stream), `-EINVAL`, `-ELOOP`, `-EEXIST`/`-ENOENT`, `-ENOSPC` |
//! | `epoll_wait(epfd, events, maxevents, timeout_ms)` | how many events were stored at `events` (0 at the timeout; a negative timeout waits); `-EINVAL` (`maxevents`), `-EFAULT`, `-EBADF`, `-EINVAL` (not an epoll fd) |
//!
//! `event` / `events` point to `struct epoll_event` as wasm32 lays it out
//! (Linux packs it only on x86-64): `u32 events` at 0, `u64 data` at 8,
//! 16 bytes each.

use std::sync::Arc;
use std::time::Duration;

use tracing::Instrument as _;
use wasmtime::{Caller, Linker, Memory};
use wasmtime_wasi::p1::wasi_snapshot_preview1::WasiSnapshotPreview1 as _;

use crate::kernel::epoll::{Epoll, EpollError, EPOLL_CTL_DEL};
use crate::kernel::eventfd::{until_any_woken, CreateFlags, Description, Errno};
use crate::kernel::fd_table::{FdError, FdTable};
use crate::kernel::poll::PollFile;
use crate::p1::{EventfdP1Ctx, File, GetCtx};
use crate::waits::{Interest, Waiting};
use crate::Readiness;

/// The import module name.
pub const MODULE: &str = "wasi_eventfd";

const F_GETFD: i32 = 1;
const F_SETFD: i32 = 2;
const F_GETFL: i32 = 3;
const F_SETFL: i32 = 4;
const FD_CLOEXEC: i32 = 1;
const O_CLOEXEC: i32 = 0o2000000;
const O_RDWR: i32 = 2;
const O_NONBLOCK: i32 = 0o4000;
const O_APPEND: i32 = 0o2000;

const POLLIN: i16 = 0x1;
const POLLOUT: i16 = 0x4;
const POLLERR: i16 = 0x8;
const POLLHUP: i16 = 0x10;
const POLLNVAL: i16 = 0x20;
/// The size of Linux's `struct pollfd { int fd; short events; short revents; }`.
const POLLFD_SIZE: u32 = 8;
/// Linux refuses more entries than the fd limit; so do we, to bound the work.
const MAX_POLL_FDS: u32 = 1 << 16;

/// The ABI's errors: the semantics' [`Errno`]s, and those only an
/// integer-fd ABI has (components get handles that wasmtime checks, and
/// pass no pointers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AbiErrno {
    /// An error of the eventfd itself, or of a limit.
    Eventfd(Errno),
    /// `EBADF`: no such descriptor.
    Badf,
    /// `EFAULT`: a buffer outside the guest's memory.
    Fault,
    /// `ENOENT`: no preopen of that name.
    Noent,
    /// An error of an epoll operation.
    Epoll(EpollError),
    /// `EPERM`: `epoll_ctl` on a file that cannot be polled.
    Perm,
    /// `EIO`: wasmtime-wasi failed to tell a watched stdio stream's
    /// readiness.
    Io,
}

impl From<EpollError> for AbiErrno {
    fn from(error: EpollError) -> Self {
        AbiErrno::Epoll(error)
    }
}

impl AbiErrno {
    /// The Linux errno number (`EBADF` is 9, and so on).
    pub fn raw(self) -> i32 {
        match self {
            AbiErrno::Eventfd(errno) => errno.raw(),
            AbiErrno::Badf => 9,
            AbiErrno::Fault => 14,
            AbiErrno::Noent => 2,
            AbiErrno::Epoll(error) => error.raw(),
            AbiErrno::Perm => 1,
            AbiErrno::Io => 5,
        }
    }
}

impl From<Errno> for AbiErrno {
    fn from(errno: Errno) -> Self {
        AbiErrno::Eventfd(errno)
    }
}

/// Adds the `wasi_eventfd` import module to a core-module `linker`, for
/// stores driven with wasmtime's async API, on the fd table of the
/// [`EventfdP1Ctx`] that `get` finds in the store's data. Called by
/// [`crate::p1::add_to_linker_async`], which adds preview 1 on the same
/// table: the two go together.
pub(crate) fn add_to_linker_async<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: GetCtx<T>,
) -> wasmtime::Result<()> {
    linker.func_wrap(
        MODULE,
        "eventfd",
        move |mut caller: Caller<'_, T>, initval: i32, flags: i32| {
            let _span = tracing::debug_span!("eventfd", initval, flags).entered();
            // initval is an unsigned int in C: reinterpret the bits.
            result(eventfd(&mut caller, get, initval as u32, flags as u32))
        },
    )?;
    linker.func_wrap_async(
        MODULE,
        "read",
        move |mut caller: Caller<'_, T>, (fd, buf, len): (i32, i32, i32)| {
            let span = tracing::debug_span!("read", fd, buf, len);
            Box::new(
                async move { result(read(&mut caller, get, fd, buf as u32, len as u32).await) }
                    .instrument(span),
            )
        },
    )?;
    linker.func_wrap_async(
        MODULE,
        "write",
        move |mut caller: Caller<'_, T>, (fd, buf, len): (i32, i32, i32)| {
            let span = tracing::debug_span!("write", fd, buf, len);
            Box::new(
                async move { result(write(&mut caller, get, fd, buf as u32, len as u32).await) }
                    .instrument(span),
            )
        },
    )?;
    linker.func_wrap_async(
        MODULE,
        "close",
        move |mut caller: Caller<'_, T>, (fd,): (i32,)| {
            let span = tracing::debug_span!("close", fd);
            Box::new(
                async move {
                    let ctx = get(caller.data_mut());
                    let file = number(fd).and_then(|fd| ctx.fds.remove(fd).ok_or(AbiErrno::Badf));
                    let closed = match file {
                        Ok(file) => release(ctx, file).await,
                        Err(errno) => Err(errno),
                    };
                    result(closed.map(|()| 0))
                }
                .instrument(span),
            )
        },
    )?;
    linker.func_wrap(MODULE, "dup", move |mut caller: Caller<'_, T>, fd: i32| {
        let _span = tracing::debug_span!("dup", fd).entered();
        result(dup(get(caller.data_mut()), fd))
    })?;
    linker.func_wrap_async(
        MODULE,
        "dup3",
        move |mut caller: Caller<'_, T>, (old, new, flags): (i32, i32, i32)| {
            let span = tracing::debug_span!("dup3", old, new, flags);
            Box::new(
                async move { result(dup3(get(caller.data_mut()), old, new, flags).await) }
                    .instrument(span),
            )
        },
    )?;
    linker.func_wrap(
        MODULE,
        "fcntl",
        move |mut caller: Caller<'_, T>, fd: i32, cmd: i32, arg: i32| {
            let _span = tracing::debug_span!("fcntl", fd, cmd, arg).entered();
            result(fcntl(&mut get(caller.data_mut()).fds, fd, cmd, arg))
        },
    )?;
    linker.func_wrap_async(
        MODULE,
        "poll",
        move |mut caller: Caller<'_, T>, (ptr, nfds, timeout): (i32, i32, i32)| {
            let span = tracing::debug_span!("poll", ptr, nfds, timeout);
            Box::new(
                async move { result(poll(&mut caller, get, ptr as u32, nfds as u32, timeout).await) }
                    .instrument(span),
            )
        },
    )?;
    linker.func_wrap(
        MODULE,
        "preopen",
        move |mut caller: Caller<'_, T>, name: i32, len: i32| {
            let _span = tracing::debug_span!("preopen", name, len).entered();
            result(preopen(&mut caller, get, name as u32, len as u32))
        },
    )?;
    linker.func_wrap(
        MODULE,
        "epoll_create1",
        move |mut caller: Caller<'_, T>, flags: i32| {
            let _span = tracing::debug_span!("epoll_create1", flags).entered();
            result(epoll_create1(get(caller.data_mut()), flags))
        },
    )?;
    linker.func_wrap(
        MODULE,
        "epoll_ctl",
        move |mut caller: Caller<'_, T>, epfd: i32, op: i32, fd: i32, event: i32| {
            let _span = tracing::debug_span!("epoll_ctl", epfd, op, fd, event).entered();
            result(epoll_ctl(&mut caller, get, epfd, op, fd, event as u32))
        },
    )?;
    linker.func_wrap_async(
        MODULE,
        "epoll_wait",
        move |mut caller: Caller<'_, T>, (epfd, events, max, timeout): (i32, i32, i32, i32)| {
            let span = tracing::debug_span!("epoll_wait", epfd, events, max, timeout);
            Box::new(
                async move {
                    // A trap of wasmtime-wasi's while it watched a stream
                    // stops the guest; anything else is the result.
                    epoll_wait(&mut caller, get, epfd, events as u32, max, timeout)
                        .await
                        .map(result)
                }
                .instrument(span),
            )
        },
    )?;
    Ok(())
}

/// Folds a result into the ABI's `i32`: the value, or `-errno`.
fn result(result: Result<i32, AbiErrno>) -> i32 {
    let value = result.unwrap_or_else(|errno| -errno.raw());
    tracing::debug!(result = value);
    value
}

/// A guest's fd as the table's number: `EBADF` when negative.
fn number(fd: i32) -> Result<u32, AbiErrno> {
    u32::try_from(fd).map_err(|_| AbiErrno::Badf)
}

/// A table number as the ABI's result.
fn fd_result(fd: u32) -> i32 {
    // Numbers are below the table's limit, itself at most i32::MAX.
    i32::try_from(fd).unwrap_or(i32::MAX)
}

/// The number `EMFILE` stands for when a new one cannot be had.
fn emfile(_: FdError) -> AbiErrno {
    AbiErrno::Eventfd(Errno::Mfile)
}

/// Closes what a number referred to, once nothing else refers to it.
async fn release(ctx: &mut EventfdP1Ctx, file: File) -> Result<(), AbiErrno> {
    let mut no_memory = wiggle::GuestMemory::Unshared(&mut []);
    // wasmtime-wasi's close fails only for a number it does not have,
    // which the table never hands it.
    ctx.release(&mut no_memory, file)
        .await
        .map_err(|_| AbiErrno::Badf)
}

/// `dup(fd)`: the lowest free number for the same file, any kind.
fn dup(ctx: &mut EventfdP1Ctx, fd: i32) -> Result<i32, AbiErrno> {
    let file = ctx.fds.get(number(fd)?).ok_or(AbiErrno::Badf)?.dup();
    ctx.fds.insert(file).map(fd_result).map_err(emfile)
}

/// `dup3(old, new, flags)`, which `dup2` is made of: see the module docs.
/// Errors in the kernel's order (`ksys_dup3`): flags, `old == new`, `new`
/// past the limit, then `old`.
async fn dup3(ctx: &mut EventfdP1Ctx, old: i32, new: i32, flags: i32) -> Result<i32, AbiErrno> {
    if flags & !O_CLOEXEC != 0 || old == new {
        return Err(Errno::Inval.into());
    }
    let new_number = match number(new) {
        Ok(fd) if (fd as usize) < ctx.fds.limit() => fd,
        _ => return Err(AbiErrno::Badf),
    };
    let mut file = ctx.fds.get(number(old)?).ok_or(AbiErrno::Badf)?.dup();
    file.set_cloexec(flags & O_CLOEXEC != 0);
    match ctx.fds.replace(new_number, file) {
        Ok(Some(closed)) => {
            // As Linux's dup2: an error closing what was there is not
            // reported.
            let _ = release(ctx, closed).await;
        }
        Ok(None) => {}
        Err(_) => return Err(AbiErrno::Badf),
    }
    Ok(new)
}

/// The eventfd description `fd` names: `EBADF` for no file, `EINVAL` for
/// another kind (as the kernel's `eventfd_ctx_fdget`).
fn description<T>(
    caller: &mut Caller<'_, T>,
    get: GetCtx<T>,
    fd: i32,
) -> Result<Arc<Description>, AbiErrno> {
    match get(caller.data_mut()).fds.get(number(fd)?) {
        Some(File::Eventfd(descriptor)) => Ok(Arc::clone(descriptor.description())),
        Some(File::Wasi { .. } | File::Epoll { .. }) => Err(Errno::Inval.into()),
        None => Err(AbiErrno::Badf),
    }
}

/// The guest's exported memory and the byte range `[ptr, ptr + len)` in it,
/// or `EFAULT` when there is no memory or the range is not inside it.
fn memory_range<T>(
    caller: &mut Caller<'_, T>,
    get: GetCtx<T>,
    ptr: u32,
    len: u32,
) -> Result<(Memory, usize), AbiErrno> {
    let memory = match get(caller.data_mut()).memory {
        Some(memory) => memory,
        None => {
            let memory = caller
                .get_export("memory")
                .and_then(|export| export.into_memory())
                .ok_or(AbiErrno::Fault)?;
            get(caller.data_mut()).memory = Some(memory);
            memory
        }
    };
    let end = u64::from(ptr) + u64::from(len);
    if end > memory.data_size(&*caller) as u64 {
        return Err(AbiErrno::Fault);
    }
    Ok((memory, ptr as usize))
}

fn eventfd<T>(
    caller: &mut Caller<'_, T>,
    get: GetCtx<T>,
    initval: u32,
    flags: u32,
) -> Result<i32, AbiErrno> {
    // Unknown bits: EINVAL, as eventfd2 checks before it allocates anything.
    let flags = CreateFlags::from_bits(flags).ok_or(Errno::Inval)?;
    let ctx = get(caller.data_mut());
    let descriptor = ctx.eventfd.new_descriptor(initval, flags)?;
    let fd = ctx.fds.insert(File::Eventfd(descriptor)).map_err(emfile)?;
    Ok(fd_result(fd))
}

async fn read<T>(
    caller: &mut Caller<'_, T>,
    get: GetCtx<T>,
    fd: i32,
    buf: u32,
    len: u32,
) -> Result<i32, AbiErrno> {
    let description = description(caller, get, fd)?;
    if len < 8 {
        return Err(Errno::Inval.into());
    }
    // Checked before the read, so a bad buffer never consumes the count.
    let (memory, at) = memory_range(caller, get, buf, len)?;
    let value = {
        let ctx = get(caller.data_mut());
        let observer = ctx.eventfd.observer(&description, Interest::Read);
        description.read_observed(&observer).await?
    };
    // Wasm memories never shrink, so the range checked above still fits.
    memory
        .write(&mut *caller, at, &value.to_le_bytes())
        .map_err(|_| AbiErrno::Fault)?;
    Ok(8)
}

async fn write<T>(
    caller: &mut Caller<'_, T>,
    get: GetCtx<T>,
    fd: i32,
    buf: u32,
    len: u32,
) -> Result<i32, AbiErrno> {
    let description = description(caller, get, fd)?;
    if len != 8 {
        return Err(Errno::Inval.into());
    }
    let (memory, at) = memory_range(caller, get, buf, len)?;
    let mut bytes = [0; 8];
    memory
        .read(&*caller, at, &mut bytes)
        .map_err(|_| AbiErrno::Fault)?;
    let value = u64::from_le_bytes(bytes);
    let ctx = get(caller.data_mut());
    let observer = ctx.eventfd.observer(&description, Interest::Write(value));
    description.write_observed(value, &observer).await?;
    Ok(8)
}

/// `fcntl(fd, cmd, arg)`: `F_GETFD`/`F_SETFD` on any kind of fd (the
/// number's close-on-exec), `F_GETFL`/`F_SETFL` on an eventfd (`O_RDWR`,
/// and the description's `O_NONBLOCK` and `O_APPEND`).
fn fcntl(fds: &mut FdTable<File>, fd: i32, cmd: i32, arg: i32) -> Result<i32, AbiErrno> {
    let file = fds.get_mut(number(fd)?).ok_or(AbiErrno::Badf)?;
    match (cmd, &*file) {
        (F_GETFD, _) => Ok(if file.cloexec() { FD_CLOEXEC } else { 0 }),
        (F_SETFD, _) => {
            file.set_cloexec(arg & FD_CLOEXEC != 0);
            Ok(0)
        }
        (F_GETFL, File::Eventfd(descriptor)) => {
            let description = descriptor.description();
            let mut flags = O_RDWR;
            if description.is_nonblocking() {
                flags |= O_NONBLOCK;
            }
            if description.is_append() {
                flags |= O_APPEND;
            }
            Ok(flags)
        }
        (F_SETFL, File::Eventfd(descriptor)) => {
            let description = descriptor.description();
            description.set_nonblocking(arg & O_NONBLOCK != 0);
            description.set_append(arg & O_APPEND != 0);
            Ok(0)
        }
        _ => Err(Errno::Inval.into()),
    }
}

fn preopen<T>(
    caller: &mut Caller<'_, T>,
    get: GetCtx<T>,
    name: u32,
    len: u32,
) -> Result<i32, AbiErrno> {
    let (memory, at) = memory_range(caller, get, name, len)?;
    let name = memory
        .data(&*caller)
        .get(at..at + len as usize)
        .ok_or(AbiErrno::Fault)?
        .to_vec();
    let ctx = get(caller.data_mut());
    let dup = ctx.eventfd.preopened(&name).ok_or(AbiErrno::Noent)??;
    let fd = ctx.fds.insert(File::Eventfd(dup)).map_err(emfile)?;
    Ok(fd_result(fd))
}

/// One `struct pollfd` entry: where it is, what it asks for and of what.
struct PollEntry {
    at: usize,
    events: i16,
    target: PollTarget,
}

/// What a `struct pollfd` entry's fd names.
enum PollTarget {
    /// A negative fd: the entry is ignored.
    Ignored,
    /// An fd this guest does not have, or not an eventfd (`POLLNVAL`:
    /// this `poll` serves eventfds only; preview 1's `poll_oneoff` serves
    /// every kind).
    Bad,
    Eventfd(Arc<Description>),
}

impl PollEntry {
    /// The kernel's `eventfd_poll` mask, filtered by the requested events
    /// (`POLLERR` and `POLLHUP` are always reported, `POLLNVAL` for a bad fd).
    fn revents(&self) -> i16 {
        match &self.target {
            PollTarget::Ignored => 0,
            PollTarget::Bad => POLLNVAL,
            PollTarget::Eventfd(d) => {
                let events = d.poll();
                let mut ready = 0;
                if events.readable {
                    ready |= POLLIN;
                }
                if events.writable {
                    ready |= POLLOUT;
                }
                if events.error {
                    ready |= POLLERR;
                }
                ready & (self.events | POLLERR | POLLHUP)
            }
        }
    }
}

async fn poll<T>(
    caller: &mut Caller<'_, T>,
    get: GetCtx<T>,
    ptr: u32,
    nfds: u32,
    timeout_ms: i32,
) -> Result<i32, AbiErrno> {
    if nfds > MAX_POLL_FDS {
        return Err(Errno::Inval.into());
    }
    let (memory, base) = memory_range(caller, get, ptr, nfds * POLLFD_SIZE)?;
    let mut entries = Vec::with_capacity(nfds as usize);
    for i in 0..nfds as usize {
        let at = base + i * POLLFD_SIZE as usize;
        let mut raw = [0u8; 8];
        memory
            .read(&*caller, at, &mut raw)
            .map_err(|_| AbiErrno::Fault)?;
        let fd = i32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]);
        let events = i16::from_le_bytes([raw[4], raw[5]]);
        let target = if fd < 0 {
            PollTarget::Ignored
        } else {
            description(caller, get, fd).map_or(PollTarget::Bad, PollTarget::Eventfd)
        };
        entries.push(PollEntry { at, events, target });
    }
    // One wait per description and readiness asked, however many entries
    // ask it.
    let interests = Waiting::distinct(entries.iter().flat_map(|entry| {
        let description = match &entry.target {
            PollTarget::Eventfd(description) => Some(description),
            _ => None,
        };
        [
            (POLLIN, Readiness::Readable),
            (POLLOUT, Readiness::Writable),
        ]
        .into_iter()
        .filter(move |(flag, _)| entry.events & flag != 0)
        .filter_map(move |(_, readiness)| Some((description?, readiness)))
    }));
    let waits = get(caller.data_mut()).eventfd.waits.clone();

    let deadline = u64::try_from(timeout_ms)
        .ok()
        .map(|ms| tokio::time::Instant::now() + Duration::from_millis(ms));
    let revents = loop {
        // Listen first, then check, so no change between the two is missed.
        let mut listeners: Vec<_> = interests.iter().map(Waiting::listen).collect();
        let revents: Vec<i16> = entries.iter().map(PollEntry::revents).collect();
        if revents.iter().any(|&r| r != 0)
            || deadline.is_some_and(|d| d <= tokio::time::Instant::now())
        {
            break revents;
        }
        // Without a timeout the guest waits on these interests alone, all
        // parked at once; with none (nfds 0, events 0, only negative fds)
        // it waits forever, as Linux sleeps until a signal no guest can
        // get, and is stuck all the same: a deadlock report names it.
        let _parked = match (deadline, &waits) {
            (None, Some(waits)) => Some(waits.park_poll(interests.clone())),
            _ => None,
        };
        let any_event = until_any_woken(&mut listeners);
        match deadline {
            Some(deadline) => {
                let _ = tokio::time::timeout_at(deadline, any_event).await;
            }
            None => any_event.await,
        }
    };

    for (entry, revents) in entries.iter().zip(&revents) {
        memory
            .write(&mut *caller, entry.at + 6, &revents.to_le_bytes())
            .map_err(|_| AbiErrno::Fault)?;
    }
    let ready = revents.iter().filter(|&&r| r != 0).count();
    Ok(i32::try_from(ready).unwrap_or(i32::MAX))
}

/// The size of wasm32's `struct epoll_event { uint32_t events; uint64_t
/// data; }`: 4 bytes of padding after `events`.
const EPOLL_EVENT_SIZE: u32 = 16;
/// Linux's `EP_MAX_EVENTS`: `INT_MAX / sizeof(struct epoll_event)`.
const EP_MAX_EVENTS: i32 = i32::MAX / EPOLL_EVENT_SIZE as i32;

/// `epoll_create1(flags)`: a new instance at the lowest free number;
/// `EINVAL` for flags other than `EPOLL_CLOEXEC`, `EMFILE` when out of
/// numbers (`do_epoll_create`).
fn epoll_create1(ctx: &mut EventfdP1Ctx, flags: i32) -> Result<i32, AbiErrno> {
    if flags & !O_CLOEXEC != 0 {
        return Err(Errno::Inval.into());
    }
    let file = File::Epoll {
        epoll: Epoll::new(Arc::clone(&ctx.watches)),
        cloexec: flags & O_CLOEXEC != 0,
    };
    ctx.fds.insert(file).map(fd_result).map_err(emfile)
}

/// `epoll_ctl(epfd, op, fd, event)`, errors in the kernel's order
/// (`do_epoll_ctl`, checked on it): `EFAULT` for an `event` outside memory
/// (not read for `EPOLL_CTL_DEL`), `EBADF` for `epfd` then `fd`, `EPERM`
/// for a file that cannot be polled (regular files, directories; here
/// also sockets, which preview 1's `poll_oneoff` cannot watch),
/// `EINVAL` when `epfd` is not an epoll or is `fd`, then
/// [`Epoll::ctl`]'s (`EEXIST`, `ENOENT`, `ELOOP`, `ENOSPC`, `EINVAL`).
fn epoll_ctl<T>(
    caller: &mut Caller<'_, T>,
    get: GetCtx<T>,
    epfd: i32,
    op: i32,
    fd: i32,
    event: u32,
) -> Result<i32, AbiErrno> {
    let (events, data) = if op != EPOLL_CTL_DEL {
        let (memory, at) = memory_range(caller, get, event, EPOLL_EVENT_SIZE)?;
        let mut raw = [0u8; EPOLL_EVENT_SIZE as usize];
        memory
            .read(&*caller, at, &mut raw)
            .map_err(|_| AbiErrno::Fault)?;
        let (events, rest) = raw.split_at(4);
        let events = u32::from_le_bytes(events.try_into().map_err(|_| AbiErrno::Fault)?);
        let data = rest.get(4..12).ok_or(AbiErrno::Fault)?;
        let data = u64::from_le_bytes(data.try_into().map_err(|_| AbiErrno::Fault)?);
        (events, data)
    } else {
        (0, 0)
    };
    let fds = &get(caller.data_mut()).fds;
    let epoll = fds.get(number(epfd)?).ok_or(AbiErrno::Badf)?;
    let target = number(fd)?;
    let file = match fds.get(target).ok_or(AbiErrno::Badf)? {
        File::Eventfd(descriptor) => PollFile::Eventfd(Arc::clone(descriptor.description())),
        File::Epoll { epoll, .. } => PollFile::Epoll(Arc::clone(epoll)),
        File::Wasi { file, .. } => match &file.external {
            Some(stream) => PollFile::External(Arc::clone(stream)),
            None => return Err(AbiErrno::Perm),
        },
    };
    let File::Epoll { epoll, .. } = epoll else {
        return Err(Errno::Inval.into());
    };
    let epoll = Arc::clone(epoll);
    epoll.ctl(op, target, &file, events, data)?;
    Ok(0)
}

/// `epoll_wait(epfd, events, maxevents, timeout_ms)`: waits until an entry
/// is ready or `timeout_ms` passes (0: not at all; negative: no timeout),
/// stores at most `maxevents` events at `events` and returns how many (0
/// at the timeout). Errors in the kernel's order (`do_epoll_wait`):
/// `EINVAL` for `maxevents <= 0` or past `EP_MAX_EVENTS`, `EFAULT` for
/// `events` not inside memory, `EBADF`, `EINVAL` for a non-epoll `epfd`.
/// Without a timeout on eventfds alone the guest is parked for the
/// deadlock detector as a `poll` is. Stdio streams in the interest list
/// (through nested instances too) are asked of wasmtime-wasi before each
/// look at the ready list, and waited on with it: whichever comes first
/// ends the wait.
async fn epoll_wait<T>(
    caller: &mut Caller<'_, T>,
    get: GetCtx<T>,
    epfd: i32,
    events_ptr: u32,
    max: i32,
    timeout_ms: i32,
) -> wasmtime::Result<Result<i32, AbiErrno>> {
    if max <= 0 || max > EP_MAX_EVENTS {
        return Ok(Err(Errno::Inval.into()));
    }
    let max = max as u32;
    let (memory, base) = match memory_range(caller, get, events_ptr, max * EPOLL_EVENT_SIZE) {
        Ok(range) => range,
        Err(errno) => return Ok(Err(errno)),
    };
    let fds = &get(caller.data_mut()).fds;
    let epoll = match number(epfd).ok().and_then(|fd| fds.get(fd)) {
        Some(File::Epoll { epoll, .. }) => Arc::clone(epoll),
        Some(_) => return Ok(Err(Errno::Inval.into())),
        None => return Ok(Err(AbiErrno::Badf)),
    };
    let waits = get(caller.data_mut()).eventfd.waits.clone();
    let deadline = u64::try_from(timeout_ms)
        .ok()
        .map(|ms| tokio::time::Instant::now() + Duration::from_millis(ms));
    // The fuel wasmtime-wasi spends on a poll of the streams: what a
    // preview 1 call gets (this module's calls do not set it).
    let fuel = wasmtime::AsContextMut::as_context_mut(&mut *caller).hostcall_fuel();
    get(caller.data_mut()).set_hostcall_fuel(fuel);
    let events = loop {
        let streams = epoll.external_files();
        if !streams.is_empty() {
            // What the watched stdio streams are now.
            let seen = get(caller.data_mut())
                .observe_streams(&streams, None, &mut [])
                .await;
            if let Err(errno) = stream_error(seen)? {
                return Ok(Err(errno));
            }
        }
        // Listen first, then take, so no wake-up between the two is missed.
        let listener = epoll.listen();
        let events = epoll.wait_events(max as usize);
        let now = tokio::time::Instant::now();
        if !events.is_empty() || deadline.is_some_and(|d| d <= now) {
            break events;
        }
        if !streams.is_empty() {
            // Whichever comes first: a stream, a wake-up, the timeout.
            let timeout = deadline.map(|d| d.saturating_duration_since(now));
            let seen = get(caller.data_mut())
                .observe_streams(&streams, Some(timeout), &mut [listener])
                .await;
            if let Err(errno) = stream_error(seen)? {
                return Ok(Err(errno));
            }
            continue;
        }
        let _parked = match (deadline, &waits) {
            (None, Some(waits)) => epoll.watched_eventfds().map(|watched| {
                let parked = Waiting::distinct(watched.iter().map(|(d, r)| (d, *r)));
                waits.park_poll(parked)
            }),
            _ => None,
        };
        match deadline {
            Some(deadline) => {
                let _ = tokio::time::timeout_at(deadline, listener).await;
            }
            None => listener.await,
        }
    };
    let mut raw = Vec::with_capacity(events.len() * EPOLL_EVENT_SIZE as usize);
    for event in &events {
        raw.extend_from_slice(&event.events.to_le_bytes());
        raw.extend_from_slice(&[0; 4]);
        raw.extend_from_slice(&event.data.to_le_bytes());
    }
    // Wasm memories never shrink: the range checked above still fits.
    if memory.write(&mut *caller, base, &raw).is_err() {
        return Ok(Err(AbiErrno::Fault));
    }
    Ok(Ok(i32::try_from(events.len()).unwrap_or(i32::MAX)))
}

/// What wasmtime-wasi's poll of the watched stdio streams ended with: a
/// trap stops the guest, a preview 1 error is `EIO`.
fn stream_error(
    seen: Result<(), wasmtime_wasi::p1::types::Error>,
) -> wasmtime::Result<Result<(), AbiErrno>> {
    match seen {
        Ok(()) => Ok(Ok(())),
        Err(error) => match error.downcast() {
            Ok(_) => Ok(Err(AbiErrno::Io)),
            Err(trap) => Err(trap),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DescriptionTable;

    #[test]
    fn fcntl_flags_split_between_descriptor_and_description() {
        let table = DescriptionTable::new();
        let mut fds = FdTable::with_limit(16);
        let flags = CreateFlags::CLOEXEC;
        let a = fds
            .insert(File::Eventfd(table.create(0, flags).unwrap()))
            .unwrap();
        let b = fds.insert(fds.get(a).unwrap().dup()).unwrap();
        let (a, b) = (a as i32, b as i32);
        assert_eq!(fcntl(&mut fds, a, F_GETFD, 0), Ok(FD_CLOEXEC));
        assert_eq!(fcntl(&mut fds, b, F_GETFD, 0), Ok(0));
        assert_eq!(fcntl(&mut fds, b, F_SETFL, O_NONBLOCK | O_APPEND), Ok(0));
        assert_eq!(
            fcntl(&mut fds, a, F_GETFL, 0),
            Ok(O_RDWR | O_NONBLOCK | O_APPEND)
        );
        assert_eq!(fcntl(&mut fds, a, F_SETFD, 0), Ok(0));
        assert_eq!(fcntl(&mut fds, a, F_GETFD, 0), Ok(0));
        assert_eq!(fcntl(&mut fds, a, 1234, 0), Err(Errno::Inval.into()));
        assert_eq!(fcntl(&mut fds, 9, F_GETFD, 0), Err(AbiErrno::Badf));
        assert_eq!(fcntl(&mut fds, -1, F_GETFD, 0), Err(AbiErrno::Badf));
    }
}
