//! The integer-fd ABI for core modules: import module `wasi_eventfd`, what
//! preview 1 lacks for eventfds (creating one, a named one, `dup`), on the
//! same description table as the component interface.
//!
//! Every parameter and result is `i32`; a negative result is `-errno` with
//! Linux's numbers. Its fd numbers are those of the guest's one fd table
//! ([`crate::p1`]), beside stdio, directories and files. Everything else
//! is preview 1's, on the same numbers, so there is one way to do each
//! thing: `fd_read` and `fd_write` (8 bytes, as `read(2)` and `write(2)`),
//! `fd_fdstat_get` and `fd_fdstat_set_flags` (`O_NONBLOCK`, as `fcntl`'s
//! `F_GETFL`/`F_SETFL`), `poll_oneoff` (every kind of fd at once),
//! `fd_close`. Its `fcntl` does only what preview 1 has no call for: the
//! number's close-on-exec.
//!
//! | function | result |
//! |---|---|
//! | `eventfd(initval, flags)` | a new fd; unknown flag bits: `-EINVAL` |
//! | `preopen(name, name_len)` | a fresh fd of the named preopen, or `-ENOENT`; the name outside memory: `-EFAULT` |
//! | `dup(fd)` | the lowest free fd, close-on-exec clear; any kind of fd |
//! | `dup3(oldfd, newfd, flags)` | `newfd`, what it named closed first; `flags` `O_CLOEXEC` or 0, else `-EINVAL`; `oldfd == newfd`: `-EINVAL`; `newfd` at or above the fd limit: `-EBADF` |
//! | `close(fd)` | 0; any kind of fd (as preview 1's `fd_close`) |
//! | `fcntl(fd, cmd, arg)` | `F_GETFD` (1): `FD_CLOEXEC` (1) or 0; `F_SETFD` (2): 0; any kind of fd; other commands (`F_GETFL`/`F_SETFL` are `fd_fdstat_get`/`fd_fdstat_set_flags`): `-EINVAL` |
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

use crate::kernel::epoll::{Epoll, EpollError, EpollEvent, EPOLL_CTL_DEL};
use crate::kernel::eventfd::{CreateFlags, Errno};
use crate::kernel::fd_table::{FdError, FdTable};
use crate::kernel::poll::PollFile;
use crate::kernel::waits::PollParked;
use crate::p1::{EventfdP1Ctx, File, GetCtx};

/// The import module name.
pub const MODULE: &str = "wasi_eventfd";

const F_GETFD: i32 = 1;
const F_SETFD: i32 = 2;
const FD_CLOEXEC: i32 = 1;
const O_CLOEXEC: i32 = 0o2000000;

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
            let start = span.in_scope(|| {
                epoll_wait_start(&mut caller, get, epfd, events as u32, max, timeout)
                    .map_err(result)
            });
            match start {
                Ok(wait) => Box::new(
                    async move {
                        // A trap of wasmtime-wasi's while it watched a
                        // stream stops the guest; anything else is the
                        // result.
                        wait.wait(&mut caller, get).await.map(result)
                    }
                    .instrument(span),
                ),
                Err(answer) => Box::new(std::future::ready(Ok(answer))),
            }
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

/// `fcntl(fd, cmd, arg)` for what preview 1 has no call for: `F_GETFD`
/// and `F_SETFD`, the number's close-on-exec, on any kind of fd. Every
/// other command is `-EINVAL`: `F_GETFL`/`F_SETFL` are preview 1's
/// `fd_fdstat_get`/`fd_fdstat_set_flags` (wasi-libc's `fcntl` makes them),
/// one way to do each thing.
fn fcntl(fds: &mut FdTable<File>, fd: i32, cmd: i32, arg: i32) -> Result<i32, AbiErrno> {
    let file = fds.get_mut(number(fd)?).ok_or(AbiErrno::Badf)?;
    match cmd {
        F_GETFD => Ok(if file.cloexec() { FD_CLOEXEC } else { 0 }),
        F_SETFD => {
            file.set_cloexec(arg & FD_CLOEXEC != 0);
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
        File::Socket { socket, .. } => PollFile::Socket(Arc::clone(socket)),
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
///
/// This part never waits: it checks the arguments and, on an instance of
/// eventfds alone, takes what is ready (as `ep_poll` looks before it
/// joins the wait queue). `Ok` is the wait to make
/// ([`EpollWait::wait`]); `Err` the call's answer, known before its future
/// is made.
fn epoll_wait_start<T>(
    caller: &mut Caller<'_, T>,
    get: GetCtx<T>,
    epfd: i32,
    events_ptr: u32,
    max: i32,
    timeout_ms: i32,
) -> Result<EpollWait, Result<i32, AbiErrno>> {
    if max <= 0 || max > EP_MAX_EVENTS {
        return Err(Err(Errno::Inval.into()));
    }
    let max = max as u32;
    let (memory, base) =
        memory_range(caller, get, events_ptr, max * EPOLL_EVENT_SIZE).map_err(Err)?;
    let epoll = match number(epfd)
        .ok()
        .and_then(|fd| get(caller.data_mut()).fds.get(fd))
    {
        Some(File::Epoll { epoll, .. }) => Arc::clone(epoll),
        Some(_) => return Err(Err(Errno::Inval.into())),
        None => return Err(Err(AbiErrno::Badf)),
    };
    let wait = EpollWait {
        epoll,
        memory,
        base,
        max,
        deadline: u64::try_from(timeout_ms)
            .ok()
            .map(|ms| tokio::time::Instant::now() + Duration::from_millis(ms)),
    };
    // Watched streams are asked of wasmtime-wasi before the first look.
    if wait.epoll.watches_externals() {
        return Ok(wait);
    }
    match wait.send_events(caller) {
        None => Err(Err(AbiErrno::Fault)),
        Some(sent) if sent > 0 || timeout_ms == 0 => {
            Err(Ok(i32::try_from(sent).unwrap_or(i32::MAX)))
        }
        Some(_) => Ok(wait),
    }
}

/// An `epoll_wait` that found nothing ready: the instance, where the events
/// go, and when it gives up.
struct EpollWait {
    epoll: Arc<Epoll>,
    memory: Memory,
    /// The offset of the first `struct epoll_event` in `memory`, with room
    /// for `max` of them (checked).
    base: usize,
    max: u32,
    /// `None`: no timeout.
    deadline: Option<tokio::time::Instant>,
}

impl EpollWait {
    /// Waits for events (see [`epoll_wait_start`]): on eventfds alone, in
    /// a small future of its own (an event loop's every wait); with
    /// streams or sockets in the interest list, in the general one, boxed
    /// apart so that its size is not the small one's.
    async fn wait<T>(
        self,
        caller: &mut Caller<'_, T>,
        get: GetCtx<T>,
    ) -> wasmtime::Result<Result<i32, AbiErrno>> {
        if self.epoll.watches_externals() {
            return Box::pin(self.wait_with_externals(caller, get)).await;
        }
        let sent = loop {
            // Listen, then take, so no wake-up between the two is missed.
            let listener = self.epoll.listen();
            let Some(sent) = self.send_events(caller) else {
                return Ok(Err(AbiErrno::Fault));
            };
            if sent > 0
                || self
                    .deadline
                    .is_some_and(|d| d <= tokio::time::Instant::now())
            {
                break sent;
            }
            // The guest is parked for the detector only without a
            // timeout. The observer is borrowed from the context while the
            // guest waits (nothing else uses the caller then), not cloned.
            let observer = match self.deadline {
                None => get(caller.data_mut()).eventfd.park_observer(),
                Some(_) => None,
            };
            let _parked = observer.map(|observer| PollParked::epoll(&**observer, &self.epoll));
            match self.deadline {
                Some(deadline) => {
                    // The timer's state is boxed apart, so that it is not
                    // part of (and moved with) every wait's future.
                    let _ = Box::pin(tokio::time::timeout_at(deadline, listener)).await;
                }
                None => listener.await,
            }
            drop(_parked);
            // Woken: what woke it is usually there to take, without joining
            // the queue again first (nothing is lost: if the list is empty,
            // the loop listens, then looks once more).
            let Some(sent) = self.send_events(caller) else {
                return Ok(Err(AbiErrno::Fault));
            };
            if sent > 0 {
                break sent;
            }
        };
        Ok(Ok(i32::try_from(sent).unwrap_or(i32::MAX)))
    }

    /// [`wait`](Self::wait) on an instance that watches stdio streams,
    /// sockets or other instances: the streams are asked of wasmtime-wasi
    /// before each look at the ready list, and the wait ends with whichever
    /// comes first of a wake-up, a stream, a socket's edge and the timeout.
    async fn wait_with_externals<T>(
        self,
        caller: &mut Caller<'_, T>,
        get: GetCtx<T>,
    ) -> wasmtime::Result<Result<i32, AbiErrno>> {
        let epoll = &self.epoll;
        let deadline = self.deadline;
        let observed = get(caller.data_mut()).eventfd.park_observer.is_some();
        // The fuel wasmtime-wasi spends on a poll of the streams: what a
        // preview 1 call gets (this module's calls do not set it).
        let fuel = wasmtime::AsContextMut::as_context_mut(&mut *caller).hostcall_fuel();
        get(caller.data_mut()).set_hostcall_fuel(fuel);
        let sent = loop {
            let streams = epoll.external_files();
            // Sockets in the interest list: polled for edges while waiting.
            let sockets = epoll.sockets();
            if !streams.is_empty() {
                // What the watched stdio streams are now.
                let seen = get(caller.data_mut())
                    .observe_streams(&streams, None, &mut [], &[])
                    .await;
                if let Err(errno) = stream_error(seen)? {
                    return Ok(Err(errno));
                }
            }
            // Take what is ready first, and listen only when nothing is (as
            // `ep_poll` joins the wait queue only then).
            let Some(sent) = self.send_events(caller) else {
                return Ok(Err(AbiErrno::Fault));
            };
            // The clock is read only for a wait with a timeout.
            let now = deadline.map(|_| tokio::time::Instant::now());
            if sent > 0 || deadline.zip(now).is_some_and(|(d, now)| d <= now) {
                break sent;
            }
            // Listen, then take again, so no wake-up between the two is missed.
            let listener = epoll.listen();
            let Some(sent) = self.send_events(caller) else {
                return Ok(Err(AbiErrno::Fault));
            };
            if sent > 0 {
                break sent;
            }
            if !streams.is_empty() {
                // Whichever comes first: a stream, a wake-up, the timeout.
                let timeout = deadline
                    .zip(now)
                    .map(|(d, now)| d.saturating_duration_since(now));
                let seen = get(caller.data_mut())
                    .observe_streams(&streams, Some(timeout), &mut [listener], &sockets)
                    .await;
                if let Err(errno) = stream_error(seen)? {
                    return Ok(Err(errno));
                }
                continue;
            }
            // Without a timeout, on eventfds alone (in nested instances:
            // `waits` is `None` with a socket), the guest is parked as one
            // wait on them all (O(registered): only for a host that
            // observes). The watched descriptions move into the waits, and
            // the waits to the observer (no copy of either).
            let parked = match deadline {
                None if observed => epoll.waits(),
                _ => None,
            };
            let ctx = get(caller.data_mut());
            let _parked = parked
                .zip(ctx.eventfd.park_observer())
                .map(|(waits, observer)| PollParked::new(&**observer, waits));
            let mut listeners = [listener];
            let woken = crate::p1::until_woken_or_edge(&mut listeners, &sockets);
            match deadline {
                Some(deadline) => {
                    let _ = tokio::time::timeout_at(deadline, woken).await;
                }
                None => woken.await,
            }
        };
        Ok(Ok(i32::try_from(sent).unwrap_or(i32::MAX)))
    }

    /// The instance's ready events, at most `max`, written straight into
    /// the guest's memory at `base` as `ep_send_events` copies them out (no
    /// buffer of ours); how many. The memory is looked up for each event,
    /// so that a look at an empty ready list (most of an event loop's)
    /// does not touch it. `None` if an event's place left the memory
    /// (never: wasm memories do not shrink, and the range was checked).
    fn send_events<T>(&self, caller: &mut Caller<'_, T>) -> Option<usize> {
        let size = EPOLL_EVENT_SIZE as usize;
        let mut left_memory = false;
        let sent = self.epoll.send_events(self.max as usize, |i, event| {
            let at = self.base + i * size;
            match self.memory.data_mut(&mut *caller).get_mut(at..at + size) {
                Some(slot) => slot.copy_from_slice(&epoll_event_bytes(event)),
                None => left_memory = true,
            }
        });
        (!left_memory).then_some(sent)
    }
}

/// One `struct epoll_event` as wasm32 lays it out: `events` (little
/// endian) at 0, 4 bytes of padding (zeroed), `data` at 8.
fn epoll_event_bytes(event: EpollEvent) -> [u8; EPOLL_EVENT_SIZE as usize] {
    let mut raw = [0u8; EPOLL_EVENT_SIZE as usize];
    let (events, rest) = raw.split_at_mut(4);
    events.copy_from_slice(&event.events.to_le_bytes());
    if let Some(data) = rest.get_mut(4..) {
        data.copy_from_slice(&event.data.to_le_bytes());
    }
    raw
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
    fn fcntl_keeps_close_on_exec_per_number_and_leaves_status_flags_to_preview_1() {
        let table = DescriptionTable::new();
        let mut fds = FdTable::with_limit(16);
        let flags = CreateFlags::CLOEXEC;
        let a = fds
            .insert(File::Eventfd(table.create(0, flags).unwrap()))
            .unwrap();
        let b = fds.insert(fds.get(a).unwrap().dup()).unwrap();
        let (a, b) = (a as i32, b as i32);
        assert_eq!(fcntl(&mut fds, a, F_GETFD, 0), Ok(FD_CLOEXEC));
        assert_eq!(fcntl(&mut fds, b, F_GETFD, 0), Ok(0), "a dup has it clear");
        assert_eq!(fcntl(&mut fds, a, F_SETFD, 0), Ok(0));
        assert_eq!(fcntl(&mut fds, a, F_GETFD, 0), Ok(0));
        assert_eq!(fcntl(&mut fds, b, F_SETFD, FD_CLOEXEC), Ok(0));
        assert_eq!(fcntl(&mut fds, b, F_GETFD, 0), Ok(FD_CLOEXEC));
        // F_GETFL (3) and F_SETFL (4) are preview 1's fd_fdstat calls.
        for cmd in [3, 4, 1234] {
            assert_eq!(fcntl(&mut fds, a, cmd, 0), Err(Errno::Inval.into()));
        }
        assert_eq!(fcntl(&mut fds, 9, F_GETFD, 0), Err(AbiErrno::Badf));
        assert_eq!(fcntl(&mut fds, -1, F_GETFD, 0), Err(AbiErrno::Badf));
    }
}
