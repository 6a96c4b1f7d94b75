//! WASI preview 1 with eventfds as ordinary fds: one fd table per core
//! module, in which stdio, preopened directories, files and eventfds are
//! numbers side by side, as in a Linux process.
//!
//! wasmtime-wasi's [`WasiP1Ctx`] keeps a table of its own, which knows only
//! its own kinds of file. [`EventfdP1Ctx`] wraps it and answers every
//! preview 1 import itself: each fd a guest passes is looked up in the one
//! table ([`FdTable`]); an eventfd is served here from its
//! [`Description`], anything else is handed to
//! wasmtime-wasi under the number it has there. So a C program written for
//! Linux uses plain `read`, `write`, `poll`, `select`, `fcntl`, `lseek`,
//! `fstat` and `close` on an eventfd, and `eventfd()` after `open()` never
//! returns a number in use.
//!
//! The number is all a guest has of a file: every preview 1 function that
//! takes or returns an fd (35 of 46, plus the fds inside `poll_oneoff`'s
//! subscriptions) goes through the table. Functions that take none
//! (arguments, environment, clocks, random) go straight to wasmtime-wasi.
//!
//! The `wasi_eventfd` import module ([`crate::abi`]) adds what preview 1
//! lacks on the same table: `eventfd`, named preopens, `dup` and `dup3`.
//!
//! ```
//! use wasi_eventfd::p1::EventfdP1Ctx;
//! use wasi_eventfd::{DescriptionTable, EventfdCtx};
//! use wasmtime::{Config, Engine, Linker, Module, Store};
//! use wasmtime_wasi::WasiCtx;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> wasmtime::Result<()> {
//! let mut config = Config::new();
//! config.async_support(true);
//! let engine = Engine::new(&config)?;
//!
//! // A guest that creates an eventfd, writes 7 to it with preview 1's
//! // fd_write, and exits with the number it got (0..2 are stdio).
//! let module = Module::new(&engine, r#"(module
//!     (import "wasi_eventfd" "eventfd" (func $eventfd (param i32 i32) (result i32)))
//!     (import "wasi_snapshot_preview1" "fd_write"
//!         (func $fd_write (param i32 i32 i32 i32) (result i32)))
//!     (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
//!     (memory (export "memory") 1)
//!     (data (i32.const 0) "\07\00\00\00\00\00\00\00")  ;; the value 7
//!     (data (i32.const 8) "\00\00\00\00\08\00\00\00")  ;; one iovec: 8 bytes at 0
//!     (func (export "_start") (local $fd i32)
//!         (local.set $fd (call $eventfd (i32.const 0) (i32.const 0)))
//!         (drop (call $fd_write (local.get $fd) (i32.const 8) (i32.const 1) (i32.const 16)))
//!         (call $exit (local.get $fd))))"#)?;
//!
//! let mut linker = Linker::new(&engine);
//! wasi_eventfd::p1::add_to_linker_async(&mut linker, |ctx: &mut EventfdP1Ctx| ctx)?;
//!
//! let descriptions = DescriptionTable::new();
//! let ctx = EventfdP1Ctx::new(
//!     WasiCtx::builder().build_p1(),
//!     EventfdCtx::builder(&descriptions).build(),
//! );
//! let mut store = Store::new(&engine, ctx);
//! let instance = linker.instantiate_async(&mut store, &module).await?;
//! let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
//! let exit = start.call_async(&mut store, ()).await.unwrap_err();
//! let status = exit.downcast_ref::<wasmtime_wasi::I32Exit>().map(|e| e.0);
//! assert_eq!(status, Some(3), "the eventfd took the lowest free number, after stdio");
//! let fd3 = store.data().eventfd(3).expect("fd 3 is an eventfd");
//! assert_eq!(fd3.info().count, 7);
//! # Ok(())
//! # }
//! ```

mod host;
mod poll;

pub(crate) use poll::until_woken_or_edge;

use std::sync::Arc;

use wasmtime::{Linker, Memory};
use wasmtime_wasi::p1::wasi_snapshot_preview1::WasiSnapshotPreview1 as _;
use wasmtime_wasi::p1::{types, WasiP1Ctx};
use wiggle::GuestMemory;

use crate::kernel::epoll::{Epoll, WatchBudget};
use crate::kernel::fd_table::FdTable;
use crate::kernel::poll::{ExternalFile, PollMask};
use crate::kernel::socket::Socket;
use crate::{Description, Descriptor, EventfdCtx};

/// One core-module guest's preview 1 and eventfd state: wasmtime-wasi's
/// context, the guest's eventfd context, and the one fd table that numbers
/// both.
pub struct EventfdP1Ctx {
    /// wasmtime-wasi's preview 1: files, stdio, clocks, everything but
    /// eventfds. Its own fd numbers never reach the guest.
    pub(crate) wasi: WasiP1Ctx,
    /// The guest's eventfds: the shared description table, named preopens,
    /// limits and the deadlock detector's record of this guest.
    pub(crate) eventfd: EventfdCtx,
    /// The guest's fd table: every number it holds, of every kind.
    pub(crate) fds: FdTable<File>,
    /// The guest's epoll registrations, in all its instances: at most as
    /// many as it may hold descriptors (`ENOSPC` beyond).
    pub(crate) watches: Arc<WatchBudget>,
    /// The most recent `set_hostcall_fuel`, handed again to wasmtime-wasi
    /// before each call made for the guest: it spends fuel per call, and a
    /// `poll_oneoff` may make several.
    fuel: usize,
    /// The guest's exported memory, for the `wasi_eventfd` module, found on
    /// first use.
    pub(crate) memory: Option<Memory>,
    /// The memory of the one instance this context serves, when its host
    /// said which ([`EventfdP1Ctx::keep_memory`]): preview 1's `fd_read`
    /// and `fd_write` reach it without looking the export up per call.
    pub(crate) kept_memory: Option<Memory>,
}

/// What one number of the fd table refers to.
#[derive(Debug)]
pub(crate) enum File {
    /// A file, directory, stdio stream or socket of wasmtime-wasi.
    Wasi {
        file: Arc<WasiFile>,
        /// `FD_CLOEXEC`, on the number (a dup has it clear).
        cloexec: bool,
    },
    /// An eventfd (its descriptor holds `FD_CLOEXEC`).
    Eventfd(Descriptor),
    /// An epoll instance, shared by every number `dup` made of it.
    Epoll {
        epoll: Arc<Epoll>,
        /// `FD_CLOEXEC`, on the number.
        cloexec: bool,
    },
    /// A TCP socket (a granted listener or a connection accepted from
    /// one), shared by every number `dup` made of it.
    Socket {
        socket: Arc<Socket>,
        /// `FD_CLOEXEC`, on the number.
        cloexec: bool,
    },
}

/// One open file of wasmtime-wasi, shared by every number that `dup` made
/// of it, as Linux's numbers share an open file description (and with it
/// the offset). wasmtime-wasi closes it when the last number goes.
#[derive(Debug)]
pub(crate) struct WasiFile {
    /// Its number in wasmtime-wasi's table.
    pub(crate) fd: u32,
    /// Regular files and directories are always ready for `poll`, as POSIX
    /// has it (wasmtime-wasi reports a file readable only after a read in
    /// the background, and a directory not at all).
    pub(crate) always_ready: bool,
    /// For stdin, stdout and stderr, what epoll watches of them: their
    /// readiness as wasmtime-wasi's `poll_oneoff` last reported it. (Other
    /// kinds are `EPERM` to `epoll_ctl`: files and directories as on
    /// Linux; sockets, which preview 1's `poll_oneoff` cannot watch.)
    pub(crate) external: Option<Arc<ExternalFile>>,
}

/// What a guest's fd names, for one call.
pub(crate) enum Target {
    /// wasmtime-wasi's number of the file.
    Wasi(types::Fd),
    Eventfd(Arc<Description>),
    Epoll(Arc<Epoll>),
    /// A socket: callers serve sockets before looking here.
    Socket,
}

impl File {
    /// Another number of the same open file (`dup`): close-on-exec clear.
    pub(crate) fn dup(&self) -> File {
        match self {
            File::Wasi { file, .. } => File::Wasi {
                file: Arc::clone(file),
                cloexec: false,
            },
            File::Eventfd(descriptor) => File::Eventfd(descriptor.dup()),
            File::Epoll { epoll, .. } => File::Epoll {
                epoll: Arc::clone(epoll),
                cloexec: false,
            },
            File::Socket { socket, .. } => File::Socket {
                socket: Arc::clone(socket),
                cloexec: false,
            },
        }
    }

    /// `FD_CLOEXEC`.
    pub(crate) fn cloexec(&self) -> bool {
        match self {
            File::Wasi { cloexec, .. }
            | File::Epoll { cloexec, .. }
            | File::Socket { cloexec, .. } => *cloexec,
            File::Eventfd(descriptor) => descriptor.cloexec(),
        }
    }

    /// `fcntl(F_SETFD)`.
    pub(crate) fn set_cloexec(&mut self, enabled: bool) {
        match self {
            File::Wasi { cloexec, .. }
            | File::Epoll { cloexec, .. }
            | File::Socket { cloexec, .. } => *cloexec = enabled,
            File::Eventfd(descriptor) => descriptor.set_cloexec(enabled),
        }
    }
}

impl EventfdP1Ctx {
    /// The preview 1 context of one core module: `wasi` (built with
    /// [`WasiCtxBuilder::build_p1`](wasmtime_wasi::WasiCtxBuilder::build_p1))
    /// for stdio, arguments, environment, directories and clocks, and
    /// `eventfd` for its eventfds. The fd table starts as wasmtime-wasi's
    /// does: 0, 1 and 2 are stdin, stdout and stderr, then the preopened
    /// directories in order. Its numbers stay below
    /// [`EventfdCtx::max_descriptors`] (`EMFILE`).
    pub fn new(wasi: WasiP1Ctx, eventfd: EventfdCtx) -> Self {
        Self::with_listeners(wasi, eventfd, Vec::new())
    }

    /// As [`new`](Self::new), with `listeners` (TCP listening sockets,
    /// made with [`Socket::listener`]) preopened in order at the numbers
    /// after the preopened directories (fd 3, 4, ... when there are none).
    /// After, not before: wasi-libc finds a program's directories by
    /// asking `fd_prestat_get` from fd 3 up and stops at the first fd that
    /// is not one, so a listener before them would hide every directory.
    pub fn with_listeners(
        mut wasi: WasiP1Ctx,
        eventfd: EventfdCtx,
        listeners: Vec<Arc<Socket>>,
    ) -> Self {
        let mut fds = FdTable::with_limit(eventfd.max_descriptors);
        let mut memory = GuestMemory::Unshared(&mut []);
        // wasmtime-wasi lists its preopens nowhere public, but numbers them
        // from 3 on, right after stdio: ask from 3 until one is not a
        // preopen. (Asking also makes it set up its table.)
        let mut fd = 3;
        while wasi.fd_prestat_get(&mut memory, fd.into()).is_ok() {
            fd += 1;
        }
        // wasmtime-wasi's numbers are kept: stdio 0..2, then the directories.
        for inner in 0..fd {
            let file = File::Wasi {
                file: Arc::new(WasiFile {
                    fd: inner,
                    // Stdio streams have a readiness of their own;
                    // preopens are directories.
                    always_ready: inner > 2,
                    // stdin can become readable, stdout and stderr writable.
                    external: match inner {
                        0 => Some(ExternalFile::new(inner, PollMask::IN)),
                        1 | 2 => Some(ExternalFile::new(inner, PollMask::OUT)),
                        _ => None,
                    },
                }),
                cloexec: false,
            };
            // A limit below the starting table leaves out what does not fit,
            // as a process whose RLIMIT_NOFILE is lower than its open fds
            // keeps them but gets no more.
            if fds.replace(inner, file).is_err() {
                break;
            }
        }
        for (number, socket) in (fd.max(3)..).zip(listeners) {
            let file = File::Socket {
                socket,
                cloexec: false,
            };
            if fds.replace(number, file).is_err() {
                break;
            }
        }
        EventfdP1Ctx {
            wasi,
            watches: WatchBudget::new(eventfd.max_descriptors),
            eventfd,
            fds,
            fuel: 0,
            memory: None,
            kept_memory: None,
        }
    }

    /// Keeps `memory`, the `memory` export of the one instance this context
    /// serves, for preview 1's `fd_read` and `fd_write`: they then reach the
    /// guest's bytes directly, where wasmtime-wasi's generated glue looks
    /// the caller's export up by name on every call. Results, errnos and
    /// traps are the same either way.
    ///
    /// Only for a store that holds one instance importing preview 1, as the
    /// runner's stores do (call it after instantiating): a second
    /// instance's calls would reach this memory instead of its own. Without
    /// it every call finds the calling instance's export itself.
    pub fn keep_memory(&mut self, memory: Memory) {
        self.kept_memory = Some(memory);
    }

    /// wasmtime-wasi's preview 1 context, for what this crate does not do
    /// (its own `WasiP1Ctx` methods).
    pub fn wasi(&mut self) -> &mut WasiP1Ctx {
        &mut self.wasi
    }

    /// The guest's eventfd context.
    pub fn eventfd_ctx(&mut self) -> &mut EventfdCtx {
        &mut self.eventfd
    }

    /// The eventfd the guest holds as `fd`, if `fd` is one: for host code
    /// that takes part in a guest's eventfds.
    pub fn eventfd(&self, fd: u32) -> Option<&Descriptor> {
        match self.fds.get(fd)? {
            File::Eventfd(descriptor) => Some(descriptor),
            File::Wasi { .. } | File::Epoll { .. } | File::Socket { .. } => None,
        }
    }

    /// How many numbers the guest holds, of every kind.
    pub fn open_fds(&self) -> usize {
        self.fds.len()
    }

    /// What `fd` names, or `EBADF`.
    pub(crate) fn target(&self, fd: types::Fd) -> Result<Target, types::Error> {
        match self.fds.get(u32::from(fd)) {
            Some(File::Wasi { file, .. }) => Ok(Target::Wasi(file.fd.into())),
            Some(File::Eventfd(descriptor)) => {
                Ok(Target::Eventfd(Arc::clone(descriptor.description())))
            }
            Some(File::Epoll { epoll, .. }) => Ok(Target::Epoll(Arc::clone(epoll))),
            Some(File::Socket { .. }) => Ok(Target::Socket),
            None => Err(types::Errno::Badf.into()),
        }
    }

    /// Hands wasmtime-wasi the guest's fuel for the call it is about to make.
    pub(crate) fn refuel(&mut self) {
        self.wasi.set_hostcall_fuel(self.fuel);
    }

    /// A file wasmtime-wasi just opened as its `inner`, numbered in the one
    /// table; `EMFILE` (and wasmtime-wasi's file closed) when full.
    pub(crate) async fn install_wasi(
        &mut self,
        memory: &mut GuestMemory<'_>,
        inner: types::Fd,
    ) -> Result<types::Fd, types::Error> {
        let always_ready = match self.wasi.fd_fdstat_get(memory, inner).await {
            Ok(stat) => matches!(
                stat.fs_filetype,
                types::Filetype::RegularFile | types::Filetype::Directory
            ),
            Err(_) => false,
        };
        let file = File::Wasi {
            file: Arc::new(WasiFile {
                fd: inner.into(),
                always_ready,
                external: None,
            }),
            cloexec: false,
        };
        match self.fds.insert(file) {
            Ok(fd) => Ok(fd.into()),
            Err(_) => {
                self.refuel();
                // Already out of numbers: its close has nothing to report.
                let _ = self.wasi.fd_close(memory, inner).await;
                Err(types::Errno::Mfile.into())
            }
        }
    }

    /// Closes what a number referred to, once nothing else refers to it:
    /// wasmtime-wasi's file when its last number goes, an eventfd's
    /// description when its last descriptor anywhere goes, an epoll
    /// instance (and its interest list) when its last number goes.
    pub(crate) async fn release(
        &mut self,
        memory: &mut GuestMemory<'_>,
        file: File,
    ) -> Result<(), types::Error> {
        match file {
            File::Eventfd(descriptor) => {
                drop(descriptor);
                Ok(())
            }
            File::Epoll { epoll, .. } => {
                drop(epoll);
                Ok(())
            }
            // The host socket closes with its last number.
            File::Socket { socket, .. } => {
                drop(socket);
                Ok(())
            }
            File::Wasi { file, .. } => match Arc::into_inner(file) {
                Some(last) => {
                    self.refuel();
                    self.wasi.fd_close(memory, last.fd.into()).await
                }
                None => Ok(()),
            },
        }
    }
}

/// How the linker finds a guest's [`EventfdP1Ctx`] in its store's data.
pub type GetCtx<T> = fn(&mut T) -> &mut EventfdP1Ctx;

/// Adds WASI preview 1 (`wasi_snapshot_preview1`) and the `wasi_eventfd`
/// module to a core-module `linker` for stores driven with wasmtime's async
/// API, both on the one fd table of the [`EventfdP1Ctx`] that `get` finds
/// in the store's data. Use it instead of
/// `wasmtime_wasi::p1::add_to_linker_async`, not beside it.
///
/// `fd_read` and `fd_write`, the calls a program makes most, replace the
/// glue wasmtime-wasi generates for them with their own (see
/// [`EventfdP1Ctx::keep_memory`]); to do so this turns the linker's
/// shadowing on and leaves it off, wasmtime's default, on return.
pub fn add_to_linker_async<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: GetCtx<T>,
) -> wasmtime::Result<()> {
    wasmtime_wasi::p1::wasi_snapshot_preview1::add_to_linker(linker, get)?;
    linker.allow_shadowing(true);
    let replaced = host::add_fast_paths(linker, get);
    linker.allow_shadowing(false);
    replaced?;
    linker.allow_shadowing(true);
    let replaced = host::add_socket_calls(linker, get);
    linker.allow_shadowing(false);
    replaced?;
    crate::abi::add_to_linker_async(linker, get)
}
