//! The integer-fd ABI for core modules: import module `wasi_eventfd`, whose
//! functions mirror Linux's system calls, on the same description table as
//! the component interface.
//!
//! Every parameter and result is `i32`; a negative result is `-errno` with
//! Linux's numbers. Descriptor numbers are this ABI's own (not WASI
//! preview 1's), held per guest in an [`FdTable`].
//!
//! | function | result |
//! |---|---|
//! | `eventfd(initval, flags)` | a new fd; unknown flag bits: `-EINVAL` |
//! | `read(fd, buf, len)` | 8, the value little-endian at `buf`; `len < 8`: `-EINVAL`; `buf` outside memory: `-EFAULT` without consuming |
//! | `write(fd, buf, len)` | 8; `len != 8` or the value `u64::MAX`: `-EINVAL` |
//! | `close(fd)` / `dup(fd)` | 0 / the lowest free fd, close-on-exec clear |
//! | `fcntl(fd, cmd, arg)` | `F_GETFD` 1, `F_SETFD` 2, `F_GETFL` 3, `F_SETFL` 4 |
//! | `poll(fds, nfds, timeout_ms)` | how many `struct pollfd` entries have events |
//! | `preopen(name, name_len)` | a fresh fd of the named preopen, or `-ENOENT` |

use std::collections::{BTreeSet, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use tracing::Instrument as _;
use wasmtime::{Caller, Linker, Memory};

use crate::description::{CreateFlags, Description, Errno, MAX_COUNT};
use crate::waits::{Interest, Waiting};
use crate::Readiness;
use crate::{Descriptor, EventfdCtx};

/// The import module name.
pub const MODULE: &str = "wasi_eventfd";

const F_GETFD: i32 = 1;
const F_SETFD: i32 = 2;
const F_GETFL: i32 = 3;
const F_SETFL: i32 = 4;
const FD_CLOEXEC: i32 = 1;
const O_RDWR: i32 = 2;
const O_NONBLOCK: i32 = 0o4000;

const POLLIN: i16 = 0x1;
const POLLOUT: i16 = 0x4;
const POLLERR: i16 = 0x8;
const POLLHUP: i16 = 0x10;
const POLLNVAL: i16 = 0x20;
/// The size of Linux's `struct pollfd { int fd; short events; short revents; }`.
const POLLFD_SIZE: u32 = 8;
/// Linux refuses more entries than the fd limit; so do we, to bound the work.
const MAX_POLL_FDS: u32 = 1 << 16;

/// One guest's integer descriptors, like a process's fd table: each number
/// names a [`Descriptor`], and new ones take the lowest free number, in
/// O(log n).
#[derive(Debug, Default)]
pub struct FdTable {
    /// Indexed by fd; never ends with a free slot.
    slots: Vec<Option<Descriptor>>,
    /// The free numbers below `slots.len()`: the lowest free number is the
    /// first of them, or `slots.len()` when there is none.
    free: BTreeSet<usize>,
    open: usize,
    /// The guest's exported `memory`, found on first use: looking an export
    /// up by name costs a hash of the name on every call otherwise.
    memory: Option<Memory>,
}

impl FdTable {
    /// Stores `descriptor` under the lowest free number.
    pub fn insert(&mut self, descriptor: Descriptor) -> i32 {
        self.open += 1;
        let free_slot = self
            .free
            .pop_first()
            .and_then(|free| Some(free).zip(self.slots.get_mut(free)));
        let fd = match free_slot {
            Some((free, slot)) => {
                *slot = Some(descriptor);
                free
            }
            None => {
                self.slots.push(Some(descriptor));
                self.slots.len() - 1
            }
        };
        // The table never holds more than i32::MAX entries: each insert is
        // one guest call and memory runs out long before.
        i32::try_from(fd).unwrap_or(i32::MAX)
    }

    /// The descriptor numbered `fd`, or `EBADF`.
    pub fn get(&self, fd: i32) -> Result<&Descriptor, AbiErrno> {
        let index = usize::try_from(fd).map_err(|_| AbiErrno::Badf)?;
        self.slots
            .get(index)
            .and_then(Option::as_ref)
            .ok_or(AbiErrno::Badf)
    }

    fn get_mut(&mut self, fd: i32) -> Result<&mut Descriptor, AbiErrno> {
        let index = usize::try_from(fd).map_err(|_| AbiErrno::Badf)?;
        self.slots
            .get_mut(index)
            .and_then(Option::as_mut)
            .ok_or(AbiErrno::Badf)
    }

    /// Takes the descriptor numbered `fd` out of the table, or `EBADF`.
    pub fn remove(&mut self, fd: i32) -> Result<Descriptor, AbiErrno> {
        let index = usize::try_from(fd).map_err(|_| AbiErrno::Badf)?;
        let descriptor = self
            .slots
            .get_mut(index)
            .and_then(Option::take)
            .ok_or(AbiErrno::Badf)?;
        self.open -= 1;
        self.free.insert(index);
        // Free slots at the end go, so that `free` holds only numbers below
        // the highest open one; each was inserted once, so this is O(log n)
        // per call over time.
        while self.slots.last().is_some_and(Option::is_none) {
            self.slots.pop();
            self.free.remove(&self.slots.len());
        }
        Ok(descriptor)
    }

    /// How many descriptors are open.
    pub fn len(&self) -> usize {
        self.open
    }

    /// Whether no descriptor is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

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
}

impl AbiErrno {
    /// The Linux errno number (`EBADF` is 9, and so on).
    pub fn raw(self) -> i32 {
        match self {
            AbiErrno::Eventfd(errno) => errno.raw(),
            AbiErrno::Badf => 9,
            AbiErrno::Fault => 14,
            AbiErrno::Noent => 2,
        }
    }
}

impl From<Errno> for AbiErrno {
    fn from(errno: Errno) -> Self {
        AbiErrno::Eventfd(errno)
    }
}

/// How the integer-fd ABI finds a guest's context in its store's data.
pub type GetCtx<T> = fn(&mut T) -> &mut EventfdCtx;

/// Adds the `wasi_eventfd` import module to a core-module `linker`, for
/// stores driven with wasmtime's async API. `get` finds each guest's
/// [`EventfdCtx`] (its [`FdTable`] and preopens) in the store's data, as
/// `wasmtime_wasi::p1::add_to_linker_async` finds its `WasiP1Ctx`: a core
/// module holds integer fds, so no `ResourceTable` is involved.
///
/// ```ignore
/// wasi_eventfd::abi::add_to_linker_async(&mut linker, |state: &mut MyState| &mut state.eventfd)?;
/// ```
pub fn add_to_linker_async<T: Send + 'static>(
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
    linker.func_wrap(
        MODULE,
        "close",
        move |mut caller: Caller<'_, T>, fd: i32| {
            let _span = tracing::debug_span!("close", fd).entered();
            result(fds(&mut caller, get).remove(fd).map(|_| 0))
        },
    )?;
    linker.func_wrap(MODULE, "dup", move |mut caller: Caller<'_, T>, fd: i32| {
        let _span = tracing::debug_span!("dup", fd).entered();
        let ctx = get(caller.data_mut());
        let dup = match ctx.fds.get(fd) {
            Ok(descriptor) => ctx.dup_descriptor(descriptor).map_err(AbiErrno::from),
            Err(errno) => Err(errno),
        };
        result(dup.map(|dup| ctx.fds.insert(dup)))
    })?;
    linker.func_wrap(
        MODULE,
        "fcntl",
        move |mut caller: Caller<'_, T>, fd: i32, cmd: i32, arg: i32| {
            let _span = tracing::debug_span!("fcntl", fd, cmd, arg).entered();
            result(fcntl(fds(&mut caller, get), fd, cmd, arg))
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
    Ok(())
}

/// Folds a result into the ABI's `i32`: the value, or `-errno`.
fn result(result: Result<i32, AbiErrno>) -> i32 {
    let value = result.unwrap_or_else(|errno| -errno.raw());
    tracing::debug!(result = value);
    value
}

fn fds<'a, T>(caller: &'a mut Caller<'_, T>, get: GetCtx<T>) -> &'a mut FdTable {
    &mut get(caller.data_mut()).fds
}

fn description<T>(
    caller: &mut Caller<'_, T>,
    get: GetCtx<T>,
    fd: i32,
) -> Result<Arc<Description>, AbiErrno> {
    Ok(Arc::clone(fds(caller, get).get(fd)?.description()))
}

/// The guest's exported memory and the byte range `[ptr, ptr + len)` in it,
/// or `EFAULT` when there is no memory or the range is not inside it.
fn memory_range<T>(
    caller: &mut Caller<'_, T>,
    get: GetCtx<T>,
    ptr: u32,
    len: u32,
) -> Result<(Memory, usize), AbiErrno> {
    let memory = match fds(caller, get).memory {
        Some(memory) => memory,
        None => {
            let memory = caller
                .get_export("memory")
                .and_then(|export| export.into_memory())
                .ok_or(AbiErrno::Fault)?;
            fds(caller, get).memory = Some(memory);
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
    let descriptor = ctx.new_descriptor(initval, flags)?;
    Ok(ctx.fds.insert(descriptor))
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
        let observer = ctx.observer(&description, Interest::Read);
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
    let observer = ctx.observer(&description, Interest::Write(value));
    description.write_observed(value, &observer).await?;
    Ok(8)
}

fn fcntl(fds: &mut FdTable, fd: i32, cmd: i32, arg: i32) -> Result<i32, AbiErrno> {
    let descriptor = fds.get_mut(fd)?;
    match cmd {
        F_GETFD => Ok(if descriptor.cloexec() { FD_CLOEXEC } else { 0 }),
        F_SETFD => {
            descriptor.set_cloexec(arg & FD_CLOEXEC != 0);
            Ok(0)
        }
        F_GETFL => {
            let nonblocking = descriptor.description().is_nonblocking();
            Ok(O_RDWR | if nonblocking { O_NONBLOCK } else { 0 })
        }
        F_SETFL => {
            descriptor.set_nonblocking(arg & O_NONBLOCK != 0);
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
    let dup = ctx.preopened(&name).ok_or(AbiErrno::Noent)??;
    Ok(ctx.fds.insert(dup))
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
    /// An fd this guest does not have (`POLLNVAL`).
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
                let count = d.count();
                let mut ready = 0;
                if count > 0 {
                    ready |= POLLIN;
                }
                if count < MAX_COUNT {
                    ready |= POLLOUT;
                }
                if count == u64::MAX {
                    ready |= POLLERR;
                }
                ready & (self.events | POLLERR | POLLHUP)
            }
        }
    }
}

/// What the entries wait for: each description with `POLLIN` and/or
/// `POLLOUT` asked of it, once however many entries ask it. The kernel
/// queues a wait per entry; one per distinct description and interest is
/// woken by the same reads and writes, and spares a poll over 65536
/// entries of one fd 65536 listeners and 65536 waits in the wait graph.
fn interests(entries: &[PollEntry]) -> Vec<Waiting> {
    let mut seen = HashSet::new();
    let mut interests = Vec::new();
    for entry in entries {
        let PollTarget::Eventfd(description) = &entry.target else {
            continue;
        };
        for (flag, interest) in [(POLLIN, Interest::Readable), (POLLOUT, Interest::Writable)] {
            if entry.events & flag != 0 && seen.insert((description.id(), interest)) {
                interests.push(Waiting {
                    description: Arc::clone(description),
                    interest,
                });
            }
        }
    }
    interests
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
    let interests = interests(&entries);
    let waits = get(caller.data_mut()).waits.clone();

    let deadline = u64::try_from(timeout_ms)
        .ok()
        .map(|ms| tokio::time::Instant::now() + Duration::from_millis(ms));
    let revents = loop {
        // Listen first, then check, so no change between the two is missed.
        let mut listeners: Vec<_> = interests
            .iter()
            .map(|waiting| match waiting.interest {
                Interest::Readable => waiting.description.listen(Readiness::Readable),
                _ => waiting.description.listen(Readiness::Writable),
            })
            .collect();
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
        let any_event = std::future::poll_fn(|cx| {
            if listeners
                .iter_mut()
                .any(|l| Pin::new(l).poll(cx).is_ready())
            {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        });
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DescriptionTable;

    #[test]
    fn fds_take_the_lowest_free_number() {
        let table = DescriptionTable::new();
        let mut fds = FdTable::default();
        let fd = |fds: &mut FdTable| fds.insert(table.create(0, CreateFlags::default()).unwrap());
        assert_eq!([fd(&mut fds), fd(&mut fds), fd(&mut fds)], [0, 1, 2]);
        fds.remove(1).unwrap();
        assert_eq!(fds.get(1).map(|_| ()), Err(AbiErrno::Badf));
        assert_eq!(fd(&mut fds), 1);
        fds.remove(2).unwrap();
        fds.remove(1).unwrap();
        assert_eq!(fds.len(), 1);
        assert_eq!(fd(&mut fds), 1);
        assert_eq!(fds.remove(-1).map(|_| ()), Err(AbiErrno::Badf));
        assert_eq!(fds.remove(7).map(|_| ()), Err(AbiErrno::Badf));
        drop(fds);
        assert!(table.is_empty(), "dropping the table closes every fd");
    }

    #[test]
    fn fds_follow_the_lowest_free_rule_under_any_order_of_calls() {
        // Against a model that scans for the lowest free number.
        let table = DescriptionTable::new();
        let mut fds = FdTable::default();
        let mut model: Vec<bool> = Vec::new();
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let fd = (seed % 64) as usize;
            if seed.is_multiple_of(3) {
                let open = model.get(fd).copied().unwrap_or(false);
                assert_eq!(fds.remove(fd as i32).is_ok(), open, "close({fd})");
                if open {
                    model[fd] = false;
                }
            } else {
                let lowest = model.iter().position(|open| !open).unwrap_or(model.len());
                let got = fds.insert(table.create(0, CreateFlags::default()).unwrap());
                assert_eq!(got, lowest as i32);
                match model.get_mut(lowest) {
                    Some(slot) => *slot = true,
                    None => model.push(true),
                }
            }
            assert_eq!(fds.len(), model.iter().filter(|open| **open).count());
        }
    }

    #[test]
    fn fcntl_flags_split_between_descriptor_and_description() {
        let table = DescriptionTable::new();
        let mut fds = FdTable::default();
        let flags = CreateFlags::CLOEXEC;
        let a = fds.insert(table.create(0, flags).unwrap());
        let b = fds.insert(fds.get(a).unwrap().dup());
        assert_eq!(fcntl(&mut fds, a, F_GETFD, 0), Ok(FD_CLOEXEC));
        assert_eq!(fcntl(&mut fds, b, F_GETFD, 0), Ok(0));
        assert_eq!(fcntl(&mut fds, b, F_SETFL, O_NONBLOCK), Ok(0));
        assert_eq!(fcntl(&mut fds, a, F_GETFL, 0), Ok(O_RDWR | O_NONBLOCK));
        assert_eq!(fcntl(&mut fds, a, F_SETFD, 0), Ok(0));
        assert_eq!(fcntl(&mut fds, a, F_GETFD, 0), Ok(0));
        assert_eq!(fcntl(&mut fds, a, 1234, 0), Err(Errno::Inval.into()));
        assert_eq!(fcntl(&mut fds, 9, F_GETFD, 0), Err(AbiErrno::Badf));
    }
}
