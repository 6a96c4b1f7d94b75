//! Every preview 1 import, on the one fd table: eventfds are served here,
//! other files are handed to wasmtime-wasi under their numbers there.
//!
//! What an eventfd answers to each call is what Linux answers to the
//! system call wasi-libc makes of it, checked on this machine's kernel
//! (6.x): `read`/`write` as `fs/eventfd.c`; `lseek` succeeds and stays at 0
//! (`noop_llseek`); `pread`/`pwrite` `ESPIPE`; `fsync`/`fdatasync`/
//! `ftruncate` `EINVAL`; `fallocate` `ENODEV`; `futimens` `EOPNOTSUPP`;
//! `posix_fadvise` succeeds; every `*at` call with it as the directory
//! `ENOTDIR`, as `getdents`; socket calls `ENOTSOCK`; `fstat` a file of no
//! type (an anonymous inode), size 0, one link. An epoll fd answers the
//! same, but `read`/`write` are `EINVAL` (checked on the kernel).

use std::future::Future;
use std::sync::Arc;
use std::task::Poll;

use tracing::Instrument as _;
use wasmtime::{AsContextMut as _, Caller, Extern, Linker};
use wasmtime_wasi::p1::types;
use wasmtime_wasi::p1::wasi_snapshot_preview1::{self, WasiSnapshotPreview1};
use wiggle::{GuestError, GuestMemory, GuestPtr};

use super::{EventfdP1Ctx, GetCtx, Target};
use crate::kernel::eventfd::Errno;
use crate::kernel::socket::Socket;
use crate::Interest;
use crate::{Description, EventfdCtx};

/// The eventfd semantics' errors as preview 1 numbers them.
impl From<Errno> for types::Error {
    fn from(errno: Errno) -> Self {
        types::Errno::from(errno).into()
    }
}

impl From<Errno> for types::Errno {
    fn from(errno: Errno) -> Self {
        match errno {
            Errno::Inval => types::Errno::Inval,
            Errno::Again => types::Errno::Again,
            Errno::Mfile => types::Errno::Mfile,
            Errno::Nfile => types::Errno::Nfile,
        }
    }
}

/// The rights an eventfd's `fd_fdstat_get` reports: those of an fd open for
/// reading and writing (wasi-libc's `fcntl(F_GETFL)` makes `O_RDWR` of
/// them), seekable as `lseek` succeeds, and not a terminal.
fn eventfd_rights() -> types::Rights {
    types::Rights::FD_READ
        | types::Rights::FD_WRITE
        | types::Rights::FD_SEEK
        | types::Rights::FD_TELL
        | types::Rights::FD_ADVISE
        | types::Rights::FD_FDSTAT_SET_FLAGS
        | types::Rights::FD_FILESTAT_GET
        | types::Rights::POLL_FD_READWRITE
}

impl EventfdP1Ctx {
    /// `read(2)` of an eventfd into `iovs` (`readv`): the 8 bytes of the
    /// counter spread over the buffers in order; `EINVAL` when they hold
    /// fewer than 8 bytes in all (`eventfd_read`).
    async fn eventfd_read(
        &mut self,
        memory: &mut GuestMemory<'_>,
        description: &Arc<Description>,
        iovs: types::IovecArray,
    ) -> Result<types::Size, types::Error> {
        // The places the 8 bytes go, checked before the read so that a bad
        // buffer never consumes the count: at most 8 of them, each at
        // least a byte, so no allocation on this hot path.
        let mut places: [Option<GuestPtr<[u8]>>; 8] = [None; 8];
        let mut slots = places.iter_mut();
        let mut room = 0u32;
        for iov in iovs.iter() {
            if room >= 8 {
                break;
            }
            let iov = memory.read(iov?)?;
            let take = iov.buf_len.min(8 - room);
            if take == 0 {
                continue;
            }
            let place = iov.buf.as_array(take);
            // Fails (a trap, as preview 1 has it) outside memory.
            memory.as_cow(place)?;
            if let Some(slot) = slots.next() {
                *slot = Some(place);
            }
            room += take;
        }
        drop(slots);
        if room < 8 {
            return Err(Errno::Inval.into());
        }
        // A read that need not wait is done here; one that must (a zero
        // counter, blocking) waits in a future of its own, boxed, so that
        // the common call carries none of the waiting's state. The wait
        // loop tries once more before it parks: the same answers as one
        // `read_observed`.
        let value = match description.read_now() {
            Some(done) => done?,
            None => Box::pin(eventfd_wait_read(&self.eventfd, description)).await?,
        };
        let mut bytes = &value.to_le_bytes()[..];
        for place in places.into_iter().flatten() {
            let (now, rest) = bytes.split_at(place.len() as usize);
            memory.copy_from_slice(now, place)?;
            bytes = rest;
        }
        Ok(8)
    }

    /// `write(2)` of `ciovs` to an eventfd (`writev`): Linux's eventfd has
    /// no `write_iter`, so each buffer is one `write` of its own, which
    /// must be exactly 8 bytes (`EINVAL`); the first failure ends the call,
    /// an error only if nothing was written yet.
    async fn eventfd_write(
        &mut self,
        memory: &mut GuestMemory<'_>,
        description: &Arc<Description>,
        ciovs: types::CiovecArray,
    ) -> Result<types::Size, types::Error> {
        let mut written: types::Size = 0;
        for ciov in ciovs.iter() {
            let ciov = memory.read(ciov?)?;
            let result = if ciov.buf_len != 8 {
                Err(Errno::Inval)
            } else {
                let mut bytes = [0u8; 8];
                bytes.copy_from_slice(&memory.as_cow(ciov.buf.as_array(8))?);
                let value = u64::from_le_bytes(bytes);
                // As in `eventfd_read`: only a write that must wait waits,
                // in a future of its own.
                match description.write_now(value) {
                    Some(done) => done,
                    None => Box::pin(eventfd_wait_write(&self.eventfd, description, value)).await,
                }
            };
            match result {
                Ok(()) => written += 8,
                Err(errno) if written == 0 => return Err(errno.into()),
                Err(_) => break,
            }
        }
        // (`writev` of no buffers writes nothing, and is no error.)
        Ok(written)
    }
}

/// A blocking `read` of an eventfd that found its counter at 0: the kernel
/// layer's wait loop, with the deadlock detector told (through `eventfd`,
/// the guest's context) whenever the guest parks.
async fn eventfd_wait_read(
    eventfd: &EventfdCtx,
    description: &Arc<Description>,
) -> Result<u64, Errno> {
    let observer = eventfd.observer(description, Interest::Read);
    description.read_observed(&observer).await
}

/// A blocking `write` of `value` that found no room, as
/// [`eventfd_wait_read`].
async fn eventfd_wait_write(
    eventfd: &EventfdCtx,
    description: &Arc<Description>,
    value: u64,
) -> Result<(), Errno> {
    let observer = eventfd.observer(description, Interest::Write(value));
    description.write_observed(value, &observer).await
}

/// `ENOTDIR`: an eventfd given where a directory is wanted.
fn not_a_directory<T>() -> Result<T, types::Error> {
    Err(types::Errno::Notdir.into())
}

/// `fd_fdstat_get`'s answer for a file of ours: its type, the status
/// flags `F_GETFL` would show (`O_NONBLOCK`, `O_APPEND`) and its rights.
fn fdstat(
    filetype: types::Filetype,
    nonblocking: bool,
    append: bool,
    rights: types::Rights,
) -> types::Fdstat {
    let mut fs_flags = types::Fdflags::empty();
    fs_flags.set(types::Fdflags::NONBLOCK, nonblocking);
    fs_flags.set(types::Fdflags::APPEND, append);
    types::Fdstat {
        fs_filetype: filetype,
        fs_flags,
        fs_rights_base: rights,
        fs_rights_inheriting: types::Rights::empty(),
    }
}

/// The fd of each import, translated: `$wasi` is wasmtime-wasi's number of
/// the guest's `$fd`, or the call returns what `$eventfd` (and `$epoll`)
/// says. With `|_|` for the eventfd, an epoll answers the same: both are
/// anonymous inodes, alike in every call but read, write and their flags
/// (checked on the kernel).
macro_rules! on_fd {
    ($self:ident, $fd:expr, |$wasi:ident| $on_wasi:expr, |_| $on_anon:expr) => {
        match $self.target($fd)? {
            Target::Wasi($wasi) => {
                $self.refuel();
                $on_wasi
            }
            Target::Eventfd(_) | Target::Epoll(_) | Target::Socket => $on_anon,
        }
    };
    ($self:ident, $fd:expr, |$wasi:ident| $on_wasi:expr, |$eventfd:pat_param| $on_eventfd:expr,
     |$epoll:pat_param| $on_epoll:expr) => {
        match $self.target($fd)? {
            Target::Wasi($wasi) => {
                $self.refuel();
                $on_wasi
            }
            Target::Eventfd($eventfd) => $on_eventfd,
            Target::Epoll($epoll) => $on_epoll,
            // Callers of this form serve sockets before it.
            Target::Socket => Err(types::Errno::Notsup.into()),
        }
    };
}

impl WasiSnapshotPreview1 for EventfdP1Ctx {
    fn set_hostcall_fuel(&mut self, fuel: usize) {
        self.fuel = fuel;
        self.wasi.set_hostcall_fuel(fuel);
    }

    fn args_get(
        &mut self,
        memory: &mut GuestMemory<'_>,
        argv: GuestPtr<GuestPtr<u8>>,
        argv_buf: GuestPtr<u8>,
    ) -> Result<(), types::Error> {
        self.wasi.args_get(memory, argv, argv_buf)
    }

    fn args_sizes_get(
        &mut self,
        memory: &mut GuestMemory<'_>,
    ) -> Result<(types::Size, types::Size), types::Error> {
        self.wasi.args_sizes_get(memory)
    }

    fn environ_get(
        &mut self,
        memory: &mut GuestMemory<'_>,
        environ: GuestPtr<GuestPtr<u8>>,
        environ_buf: GuestPtr<u8>,
    ) -> Result<(), types::Error> {
        self.wasi.environ_get(memory, environ, environ_buf)
    }

    fn environ_sizes_get(
        &mut self,
        memory: &mut GuestMemory<'_>,
    ) -> Result<(types::Size, types::Size), types::Error> {
        self.wasi.environ_sizes_get(memory)
    }

    fn clock_res_get(
        &mut self,
        memory: &mut GuestMemory<'_>,
        id: types::Clockid,
    ) -> Result<types::Timestamp, types::Error> {
        self.wasi.clock_res_get(memory, id)
    }

    fn clock_time_get(
        &mut self,
        memory: &mut GuestMemory<'_>,
        id: types::Clockid,
        precision: types::Timestamp,
    ) -> Result<types::Timestamp, types::Error> {
        self.wasi.clock_time_get(memory, id, precision)
    }

    async fn fd_advise(
        &mut self,
        memory: &mut GuestMemory<'_>,
        fd: types::Fd,
        offset: types::Filesize,
        len: types::Filesize,
        advice: types::Advice,
    ) -> Result<(), types::Error> {
        on_fd!(
            self,
            fd,
            |inner| self
                .wasi
                .fd_advise(memory, inner, offset, len, advice)
                .await,
            // `posix_fadvise` of an eventfd succeeds (it has no page cache
            // to advise, and is no pipe).
            |_| Ok(())
        )
    }

    fn fd_allocate(
        &mut self,
        memory: &mut GuestMemory<'_>,
        fd: types::Fd,
        offset: types::Filesize,
        len: types::Filesize,
    ) -> Result<(), types::Error> {
        on_fd!(
            self,
            fd,
            |inner| self.wasi.fd_allocate(memory, inner, offset, len),
            // `fallocate` of an anonymous inode.
            |_| Err(types::Errno::Nodev.into())
        )
    }

    async fn fd_close(
        &mut self,
        memory: &mut GuestMemory<'_>,
        fd: types::Fd,
    ) -> Result<(), types::Error> {
        let span = tracing::debug_span!("fd_close", fd = u32::from(fd));
        let file = self.fds.remove(fd.into()).ok_or(types::Errno::Badf)?;
        self.release(memory, file).instrument(span).await
    }

    async fn fd_datasync(
        &mut self,
        memory: &mut GuestMemory<'_>,
        fd: types::Fd,
    ) -> Result<(), types::Error> {
        on_fd!(
            self,
            fd,
            |inner| self.wasi.fd_datasync(memory, inner).await,
            |_| Err(types::Errno::Inval.into())
        )
    }

    async fn fd_fdstat_get(
        &mut self,
        memory: &mut GuestMemory<'_>,
        fd: types::Fd,
    ) -> Result<types::Fdstat, types::Error> {
        if let Some(socket) = self.socket(fd) {
            return Ok(fdstat(
                types::Filetype::SocketStream,
                socket.is_nonblocking(),
                false,
                socket_rights(),
            ));
        }
        on_fd!(
            self,
            fd,
            |inner| self.wasi.fd_fdstat_get(memory, inner).await,
            |description| Ok(fdstat(
                types::Filetype::Unknown,
                description.is_nonblocking(),
                description.is_append(),
                eventfd_rights(),
            )),
            // An epoll is open for reading and writing too (`F_GETFL`
            // says O_RDWR), and keeps the status flags it is given.
            |epoll| Ok(fdstat(
                types::Filetype::Unknown,
                epoll.is_nonblocking(),
                epoll.is_append(),
                eventfd_rights(),
            ))
        )
    }

    fn fd_fdstat_set_flags(
        &mut self,
        memory: &mut GuestMemory<'_>,
        fd: types::Fd,
        flags: types::Fdflags,
    ) -> Result<(), types::Error> {
        if let Some(socket) = self.socket(fd) {
            // `fcntl(F_SETFL)`: of the flags preview 1 carries, a socket
            // keeps O_NONBLOCK (O_APPEND too on Linux, with no effect).
            socket.set_nonblocking(flags.contains(types::Fdflags::NONBLOCK));
            return Ok(());
        }
        on_fd!(
            self,
            fd,
            |inner| self.wasi.fd_fdstat_set_flags(memory, inner, flags),
            |description| {
                // `fcntl(F_SETFL)` keeps O_APPEND and O_NONBLOCK on the
                // description and ignores the sync flags (`SETFL_MASK`).
                description.set_nonblocking(flags.contains(types::Fdflags::NONBLOCK));
                description.set_append(flags.contains(types::Fdflags::APPEND));
                Ok(())
            },
            |epoll| {
                epoll.set_status(
                    flags.contains(types::Fdflags::NONBLOCK),
                    flags.contains(types::Fdflags::APPEND),
                );
                Ok(())
            }
        )
    }

    fn fd_fdstat_set_rights(
        &mut self,
        memory: &mut GuestMemory<'_>,
        fd: types::Fd,
        fs_rights_base: types::Rights,
        fs_rights_inheriting: types::Rights,
    ) -> Result<(), types::Error> {
        on_fd!(
            self,
            fd,
            |inner| self.wasi.fd_fdstat_set_rights(
                memory,
                inner,
                fs_rights_base,
                fs_rights_inheriting
            ),
            // As wasmtime-wasi answers for every fd: rights are not kept.
            |_| Err(types::Errno::Notsup.into())
        )
    }

    async fn fd_filestat_get(
        &mut self,
        memory: &mut GuestMemory<'_>,
        fd: types::Fd,
    ) -> Result<types::Filestat, types::Error> {
        if self.socket(fd).is_some() {
            // A sockfs inode: S_IFSOCK, size 0, one link.
            return Ok(types::Filestat {
                dev: 0,
                ino: 0,
                filetype: types::Filetype::SocketStream,
                nlink: 1,
                size: 0,
                atim: 0,
                mtim: 0,
                ctim: 0,
            });
        }
        on_fd!(
            self,
            fd,
            |inner| self.wasi.fd_filestat_get(memory, inner).await,
            // An anonymous inode: no type bits, no size, one link. (Linux
            // gives every eventfd the same inode of the anon_inode file
            // system; here device and inode are 0 for all of them.)
            |_| Ok(types::Filestat {
                dev: 0,
                ino: 0,
                filetype: types::Filetype::Unknown,
                nlink: 1,
                size: 0,
                atim: 0,
                mtim: 0,
                ctim: 0,
            })
        )
    }

    async fn fd_filestat_set_size(
        &mut self,
        memory: &mut GuestMemory<'_>,
        fd: types::Fd,
        size: types::Filesize,
    ) -> Result<(), types::Error> {
        on_fd!(
            self,
            fd,
            |inner| self.wasi.fd_filestat_set_size(memory, inner, size).await,
            |_| Err(types::Errno::Inval.into())
        )
    }

    async fn fd_filestat_set_times(
        &mut self,
        memory: &mut GuestMemory<'_>,
        fd: types::Fd,
        atim: types::Timestamp,
        mtim: types::Timestamp,
        fst_flags: types::Fstflags,
    ) -> Result<(), types::Error> {
        if self.socket(fd).is_some() {
            // `futimens` of a socket succeeds on Linux (a sockfs inode);
            // its times are not kept here (`fd_filestat_get` gives 0).
            return Ok(());
        }
        on_fd!(
            self,
            fd,
            |inner| self
                .wasi
                .fd_filestat_set_times(memory, inner, atim, mtim, fst_flags)
                .await,
            |_| Err(types::Errno::Notsup.into())
        )
    }

    async fn fd_read(
        &mut self,
        memory: &mut GuestMemory<'_>,
        fd: types::Fd,
        iovs: types::IovecArray,
    ) -> Result<types::Size, types::Error> {
        if let Some(socket) = self.socket(fd) {
            // `read(2)` of a socket is `recv` with no flags.
            let span = tracing::debug_span!("socket read", fd = u32::from(fd));
            return socket_read(memory, &socket, iovs).instrument(span).await;
        }
        on_fd!(
            self,
            fd,
            |inner| self.wasi.fd_read(memory, inner, iovs).await,
            |description| {
                let span = tracing::debug_span!("eventfd read", fd = u32::from(fd));
                self.eventfd_read(memory, &description, iovs)
                    .instrument(span)
                    .await
            },
            // An epoll has no read (`EINVAL`, as the kernel's `vfs_read`
            // of a file without one).
            |_| Err(types::Errno::Inval.into())
        )
    }

    async fn fd_pread(
        &mut self,
        memory: &mut GuestMemory<'_>,
        fd: types::Fd,
        iovs: types::IovecArray,
        offset: types::Filesize,
    ) -> Result<types::Size, types::Error> {
        on_fd!(
            self,
            fd,
            |inner| self.wasi.fd_pread(memory, inner, iovs, offset).await,
            |_| Err(types::Errno::Spipe.into())
        )
    }

    async fn fd_write(
        &mut self,
        memory: &mut GuestMemory<'_>,
        fd: types::Fd,
        ciovs: types::CiovecArray,
    ) -> Result<types::Size, types::Error> {
        if let Some(socket) = self.socket(fd) {
            let span = tracing::debug_span!("socket write", fd = u32::from(fd));
            return socket_send(memory, &socket, ciovs).instrument(span).await;
        }
        on_fd!(
            self,
            fd,
            |inner| self.wasi.fd_write(memory, inner, ciovs).await,
            |description| {
                let span = tracing::debug_span!("eventfd write", fd = u32::from(fd));
                self.eventfd_write(memory, &description, ciovs)
                    .instrument(span)
                    .await
            },
            |_| Err(types::Errno::Inval.into())
        )
    }

    async fn fd_pwrite(
        &mut self,
        memory: &mut GuestMemory<'_>,
        fd: types::Fd,
        ciovs: types::CiovecArray,
        offset: types::Filesize,
    ) -> Result<types::Size, types::Error> {
        on_fd!(
            self,
            fd,
            |inner| self.wasi.fd_pwrite(memory, inner, ciovs, offset).await,
            |_| Err(types::Errno::Spipe.into())
        )
    }

    fn fd_prestat_get(
        &mut self,
        memory: &mut GuestMemory<'_>,
        fd: types::Fd,
    ) -> Result<types::Prestat, types::Error> {
        on_fd!(
            self,
            fd,
            |inner| self.wasi.fd_prestat_get(memory, inner),
            // Not a preopened directory: wasi-libc's scan of the preopens
            // passes over it.
            |_| Err(types::Errno::Badf.into())
        )
    }

    fn fd_prestat_dir_name(
        &mut self,
        memory: &mut GuestMemory<'_>,
        fd: types::Fd,
        path: GuestPtr<u8>,
        path_max_len: types::Size,
    ) -> Result<(), types::Error> {
        on_fd!(
            self,
            fd,
            |inner| self
                .wasi
                .fd_prestat_dir_name(memory, inner, path, path_max_len),
            |_| not_a_directory()
        )
    }

    async fn fd_renumber(
        &mut self,
        memory: &mut GuestMemory<'_>,
        from: types::Fd,
        to: types::Fd,
    ) -> Result<(), types::Error> {
        tracing::debug!(from = u32::from(from), to = u32::from(to), "fd_renumber");
        // As wasmtime-wasi: both must be open. The number `from` moves to
        // `to`, and what `to` named is closed.
        let (from, to) = (u32::from(from), u32::from(to));
        if self.fds.get(from).is_none() || self.fds.get(to).is_none() {
            return Err(types::Errno::Badf.into());
        }
        if from == to {
            return Ok(());
        }
        let file = self.fds.remove(from).ok_or(types::Errno::Badf)?;
        match self.fds.replace(to, file) {
            Ok(Some(old)) => self.release(memory, old).await,
            Ok(None) => Ok(()),
            Err(_) => Err(types::Errno::Badf.into()),
        }
    }

    async fn fd_seek(
        &mut self,
        memory: &mut GuestMemory<'_>,
        fd: types::Fd,
        offset: types::Filedelta,
        whence: types::Whence,
    ) -> Result<types::Filesize, types::Error> {
        if self.socket(fd).is_some() {
            // Sockets have no llseek.
            return Err(types::Errno::Spipe.into());
        }
        on_fd!(
            self,
            fd,
            |inner| self.wasi.fd_seek(memory, inner, offset, whence).await,
            // `noop_llseek`: any valid whence succeeds and stays at 0 (an
            // invalid one never gets here: preview 1 refuses it, EINVAL).
            |_| Ok(0)
        )
    }

    async fn fd_sync(
        &mut self,
        memory: &mut GuestMemory<'_>,
        fd: types::Fd,
    ) -> Result<(), types::Error> {
        on_fd!(
            self,
            fd,
            |inner| self.wasi.fd_sync(memory, inner).await,
            |_| Err(types::Errno::Inval.into())
        )
    }

    fn fd_tell(
        &mut self,
        memory: &mut GuestMemory<'_>,
        fd: types::Fd,
    ) -> Result<types::Filesize, types::Error> {
        if self.socket(fd).is_some() {
            return Err(types::Errno::Spipe.into());
        }
        on_fd!(self, fd, |inner| self.wasi.fd_tell(memory, inner), |_| Ok(
            0
        ))
    }

    async fn fd_readdir(
        &mut self,
        memory: &mut GuestMemory<'_>,
        fd: types::Fd,
        buf: GuestPtr<u8>,
        buf_len: types::Size,
        cookie: types::Dircookie,
    ) -> Result<types::Size, types::Error> {
        on_fd!(
            self,
            fd,
            |inner| self
                .wasi
                .fd_readdir(memory, inner, buf, buf_len, cookie)
                .await,
            |_| not_a_directory()
        )
    }

    async fn path_create_directory(
        &mut self,
        memory: &mut GuestMemory<'_>,
        dirfd: types::Fd,
        path: GuestPtr<str>,
    ) -> Result<(), types::Error> {
        on_fd!(
            self,
            dirfd,
            |inner| self.wasi.path_create_directory(memory, inner, path).await,
            |_| not_a_directory()
        )
    }

    async fn path_filestat_get(
        &mut self,
        memory: &mut GuestMemory<'_>,
        dirfd: types::Fd,
        flags: types::Lookupflags,
        path: GuestPtr<str>,
    ) -> Result<types::Filestat, types::Error> {
        on_fd!(
            self,
            dirfd,
            |inner| self
                .wasi
                .path_filestat_get(memory, inner, flags, path)
                .await,
            |_| not_a_directory()
        )
    }

    async fn path_filestat_set_times(
        &mut self,
        memory: &mut GuestMemory<'_>,
        dirfd: types::Fd,
        flags: types::Lookupflags,
        path: GuestPtr<str>,
        atim: types::Timestamp,
        mtim: types::Timestamp,
        fst_flags: types::Fstflags,
    ) -> Result<(), types::Error> {
        on_fd!(
            self,
            dirfd,
            |inner| self
                .wasi
                .path_filestat_set_times(memory, inner, flags, path, atim, mtim, fst_flags)
                .await,
            |_| not_a_directory()
        )
    }

    async fn path_link(
        &mut self,
        memory: &mut GuestMemory<'_>,
        src_fd: types::Fd,
        src_flags: types::Lookupflags,
        src_path: GuestPtr<str>,
        target_fd: types::Fd,
        target_path: GuestPtr<str>,
    ) -> Result<(), types::Error> {
        match (self.target(src_fd)?, self.target(target_fd)?) {
            (Target::Wasi(src), Target::Wasi(target)) => {
                self.refuel();
                self.wasi
                    .path_link(memory, src, src_flags, src_path, target, target_path)
                    .await
            }
            _ => not_a_directory(),
        }
    }

    async fn path_open(
        &mut self,
        memory: &mut GuestMemory<'_>,
        dirfd: types::Fd,
        dirflags: types::Lookupflags,
        path: GuestPtr<str>,
        oflags: types::Oflags,
        fs_rights_base: types::Rights,
        fs_rights_inheriting: types::Rights,
        fdflags: types::Fdflags,
    ) -> Result<types::Fd, types::Error> {
        // Fail before opening anything when there is no number to give.
        if self.fds.len() >= self.fds.limit() {
            self.target(dirfd)?;
            return Err(types::Errno::Mfile.into());
        }
        let inner = on_fd!(
            self,
            dirfd,
            |inner| self
                .wasi
                .path_open(
                    memory,
                    inner,
                    dirflags,
                    path,
                    oflags,
                    fs_rights_base,
                    fs_rights_inheriting,
                    fdflags,
                )
                .await?,
            |_| return not_a_directory()
        );
        self.install_wasi(memory, inner).await
    }

    async fn path_readlink(
        &mut self,
        memory: &mut GuestMemory<'_>,
        dirfd: types::Fd,
        path: GuestPtr<str>,
        buf: GuestPtr<u8>,
        buf_len: types::Size,
    ) -> Result<types::Size, types::Error> {
        on_fd!(
            self,
            dirfd,
            |inner| self
                .wasi
                .path_readlink(memory, inner, path, buf, buf_len)
                .await,
            |_| not_a_directory()
        )
    }

    async fn path_remove_directory(
        &mut self,
        memory: &mut GuestMemory<'_>,
        dirfd: types::Fd,
        path: GuestPtr<str>,
    ) -> Result<(), types::Error> {
        on_fd!(
            self,
            dirfd,
            |inner| self.wasi.path_remove_directory(memory, inner, path).await,
            |_| not_a_directory()
        )
    }

    async fn path_rename(
        &mut self,
        memory: &mut GuestMemory<'_>,
        src_fd: types::Fd,
        src_path: GuestPtr<str>,
        dest_fd: types::Fd,
        dest_path: GuestPtr<str>,
    ) -> Result<(), types::Error> {
        match (self.target(src_fd)?, self.target(dest_fd)?) {
            (Target::Wasi(src), Target::Wasi(dest)) => {
                self.refuel();
                self.wasi
                    .path_rename(memory, src, src_path, dest, dest_path)
                    .await
            }
            _ => not_a_directory(),
        }
    }

    async fn path_symlink(
        &mut self,
        memory: &mut GuestMemory<'_>,
        src_path: GuestPtr<str>,
        dirfd: types::Fd,
        dest_path: GuestPtr<str>,
    ) -> Result<(), types::Error> {
        on_fd!(
            self,
            dirfd,
            |inner| self
                .wasi
                .path_symlink(memory, src_path, inner, dest_path)
                .await,
            |_| not_a_directory()
        )
    }

    async fn path_unlink_file(
        &mut self,
        memory: &mut GuestMemory<'_>,
        dirfd: types::Fd,
        path: GuestPtr<str>,
    ) -> Result<(), types::Error> {
        on_fd!(
            self,
            dirfd,
            |inner| self.wasi.path_unlink_file(memory, inner, path).await,
            |_| not_a_directory()
        )
    }

    async fn poll_oneoff(
        &mut self,
        memory: &mut GuestMemory<'_>,
        subs: GuestPtr<types::Subscription>,
        events: GuestPtr<types::Event>,
        nsubscriptions: types::Size,
    ) -> Result<types::Size, types::Error> {
        let span = tracing::debug_span!("poll_oneoff", nsubscriptions);
        self.poll(memory, subs, events, nsubscriptions)
            .instrument(span)
            .await
    }

    fn proc_exit(
        &mut self,
        memory: &mut GuestMemory<'_>,
        status: types::Exitcode,
    ) -> wasmtime::Error {
        self.wasi.proc_exit(memory, status)
    }

    fn proc_raise(
        &mut self,
        memory: &mut GuestMemory<'_>,
        sig: types::Signal,
    ) -> Result<(), types::Error> {
        self.wasi.proc_raise(memory, sig)
    }

    fn sched_yield(&mut self, memory: &mut GuestMemory<'_>) -> Result<(), types::Error> {
        self.wasi.sched_yield(memory)
    }

    fn random_get(
        &mut self,
        memory: &mut GuestMemory<'_>,
        buf: GuestPtr<u8>,
        buf_len: types::Size,
    ) -> Result<(), types::Error> {
        self.wasi.random_get(memory, buf, buf_len)
    }

    fn sock_accept(
        &mut self,
        memory: &mut GuestMemory<'_>,
        fd: types::Fd,
        flags: types::Fdflags,
    ) -> Result<types::Fd, types::Error> {
        // wasmtime-wasi 48 accepts nothing (ENOTSOCK for every fd), so no
        // new number can come back to install.
        on_fd!(
            self,
            fd,
            |inner| self.wasi.sock_accept(memory, inner, flags),
            |_| Err(types::Errno::Notsock.into())
        )
    }

    fn sock_recv(
        &mut self,
        memory: &mut GuestMemory<'_>,
        fd: types::Fd,
        ri_data: types::IovecArray,
        ri_flags: types::Riflags,
    ) -> Result<(types::Size, types::Roflags), types::Error> {
        on_fd!(
            self,
            fd,
            |inner| self.wasi.sock_recv(memory, inner, ri_data, ri_flags),
            |_| Err(types::Errno::Notsock.into())
        )
    }

    fn sock_send(
        &mut self,
        memory: &mut GuestMemory<'_>,
        fd: types::Fd,
        si_data: types::CiovecArray,
        si_flags: types::Siflags,
    ) -> Result<types::Size, types::Error> {
        on_fd!(
            self,
            fd,
            |inner| self.wasi.sock_send(memory, inner, si_data, si_flags),
            |_| Err(types::Errno::Notsock.into())
        )
    }

    fn sock_shutdown(
        &mut self,
        memory: &mut GuestMemory<'_>,
        fd: types::Fd,
        how: types::Sdflags,
    ) -> Result<(), types::Error> {
        if let Some(socket) = self.socket(fd) {
            let _span = tracing::debug_span!("sock_shutdown", fd = u32::from(fd)).entered();
            // Preview 1's RD (1) and WR (2) are SHUT_RD + 1 and SHUT_WR + 1.
            let how = match (
                how.contains(types::Sdflags::RD),
                how.contains(types::Sdflags::WR),
            ) {
                (true, true) => libc::SHUT_RDWR,
                (true, false) => libc::SHUT_RD,
                (false, true) => libc::SHUT_WR,
                (false, false) => return Err(types::Errno::Inval.into()),
            };
            return socket.shutdown(how).map_err(host_errno);
        }
        on_fd!(
            self,
            fd,
            |inner| self.wasi.sock_shutdown(memory, inner, how),
            |_| Err(types::Errno::Notsock.into())
        )
    }
}

// --- fd_read and fd_write, linked without wasmtime-wasi's glue ------------
//
// wasmtime-wasi's generated glue for each preview 1 import looks the
// caller's `memory` export up by name, wraps it in wiggle's `GuestMemory`
// and calls the generic function of the module, which calls the trait. For
// `fd_read` and `fd_write`, the calls a program makes most, these functions
// take the place of that glue: they reach a kept memory directly
// ([`EventfdP1Ctx::keep_memory`]), serve an eventfd's 8 bytes at once, and
// hand every other kind of file to the same generated function the glue
// calls, with the same memory and fuel. What the guest sees (results,
// errnos, the bytes written back, traps) is the glue's.

/// The module preview 1's imports live in.
const PREVIEW1: &str = "wasi_snapshot_preview1";

/// Replaces the `fd_read` and `fd_write` that wasmtime-wasi's
/// `add_to_linker` defined in `linker` (which must allow shadowing).
pub(super) fn add_fast_paths<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: GetCtx<T>,
) -> wasmtime::Result<()> {
    linker.func_wrap_async(
        PREVIEW1,
        "fd_read",
        move |mut caller: Caller<'_, T>, (fd, iovs, iovs_len, nread): (i32, i32, i32, i32)| {
            if let Some(answer) = fd_read_now(&mut caller, get, fd, iovs, iovs_len, nread) {
                return answer.boxed();
            }
            Box::new(async move { fd_read_fast(&mut caller, get, fd, iovs, iovs_len, nread).await })
        },
    )?;
    linker.func_wrap_async(
        PREVIEW1,
        "fd_write",
        move |mut caller: Caller<'_, T>, (fd, ciovs, ciovs_len, nwritten): (i32, i32, i32, i32)| {
            if let Some(answer) = fd_write_now(&mut caller, get, fd, ciovs, ciovs_len, nwritten) {
                return answer.boxed();
            }
            Box::new(async move {
                fd_write_fast(&mut caller, get, fd, ciovs, ciovs_len, nwritten).await
            })
        },
    )?;
    Ok(())
}

/// The guest memory of one call, and the context, as the generated glue
/// makes them: the kept memory, or else the caller's `memory` export (a
/// shared one included); no such export is the glue's error. The fuel of
/// the store is handed to the context first (wasmtime-wasi spends it on
/// some calls and fails them with `ENOMEM` without it).
macro_rules! with_memory {
    ($caller:ident, $get:ident, |$ctx:ident, $memory:ident| $call:expr) => {{
        let fuel = $caller.as_context_mut().hostcall_fuel();
        let kept = $get($caller.data_mut()).kept_memory;
        let export = match kept {
            Some(memory) => Some(Extern::Memory(memory)),
            None => $caller.get_export("memory"),
        };
        match export {
            Some(Extern::Memory(memory)) => {
                let (bytes, data) = memory.data_and_store_mut(&mut *$caller);
                let $ctx = $get(data);
                $ctx.set_hostcall_fuel(fuel);
                let $memory = &mut GuestMemory::Unshared(bytes);
                $call
            }
            Some(Extern::SharedMemory(memory)) => {
                let $ctx = $get($caller.data_mut());
                $ctx.set_hostcall_fuel(fuel);
                let $memory = &mut GuestMemory::Shared(memory.data());
                $call
            }
            _ => Err(wasmtime::format_err!("missing required memory export")),
        }
    }};
}

/// What the generated function makes of the trait's result: `Ok` writes
/// the size to `at` (a trap, as the glue's, when it cannot) and returns
/// errno 0; an errno is returned; a trap stays one.
fn size_result(
    memory: &mut GuestMemory<'_>,
    result: Result<types::Size, types::Error>,
    func: &'static str,
    at: i32,
) -> wasmtime::Result<i32> {
    match result {
        Ok(size) => {
            memory
                .write(GuestPtr::<types::Size>::new(at as u32), size)
                .map_err(|e| GuestError::InFunc {
                    modulename: PREVIEW1,
                    funcname: func,
                    location: "write size",
                    err: Box::new(e),
                })?;
            Ok(types::Errno::Success as i32)
        }
        Err(error) => Ok(error.downcast()? as i32),
    }
}

/// A call's errno, known before its future is made (a direct path's).
struct Answer(i32);

impl Answer {
    /// The call's future: errno 0, the usual answer, is a future of no
    /// size, which `Box` does not allocate (wasmtime boxes every async host
    /// call's future; a heap allocation is a good part of a direct call).
    fn boxed<'a>(self) -> Box<dyn Future<Output = wasmtime::Result<i32>> + Send + 'a> {
        match self.0 {
            0 => Box::new(Succeeded),
            errno => Box::new(std::future::ready(Ok(errno))),
        }
    }
}

/// Errno 0 at once.
struct Succeeded;

impl Future for Succeeded {
    type Output = wasmtime::Result<i32>;

    fn poll(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> Poll<Self::Output> {
        Poll::Ready(Ok(types::Errno::Success as i32))
    }
}

/// What a guest's fd names, for the fast paths.
enum Fast {
    Eventfd(Arc<Description>),
    /// wasmtime-wasi's number of the file.
    Wasi(i32),
    /// Another kind of ours (an epoll fd): the trait's general path.
    Other,
    /// No file: `EBADF`.
    Closed,
}

fn fast_target(ctx: &EventfdP1Ctx, fd: i32) -> Fast {
    match ctx.fds.get(fd as u32) {
        Some(super::File::Eventfd(descriptor)) => {
            Fast::Eventfd(Arc::clone(descriptor.description()))
        }
        // wasmtime-wasi's numbers are its table's, below 2^31.
        Some(super::File::Wasi { file, .. }) => Fast::Wasi(file.fd as i32),
        Some(super::File::Epoll { .. } | super::File::Socket { .. }) => Fast::Other,
        None => Fast::Closed,
    }
}

// The direct paths: the call a program makes almost every time (one
// buffer of 8 bytes, every pointer in memory and aligned, a counter that
// need not wait) done on the memory's bytes, without wiggle's pointer
// checks, `Cow`s and error values. Anything else (a second buffer, a
// pointer outside memory or misaligned, a read or write that must wait)
// answers `None` before touching anything and takes the general path,
// which gives wiggle's errors and traps and the wait as they are.

/// The little-endian `u32` at `at`, when it is in memory and 4-aligned as
/// wiggle requires of preview 1's `u32`s, pointers and sizes.
fn guest_word(bytes: &[u8], at: u32) -> Option<u32> {
    if !at.is_multiple_of(4) {
        return None;
    }
    let at = at as usize;
    let word = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(word.try_into().ok()?))
}

/// The one buffer of a call (`iovs` holds one iovec: a buffer's offset
/// and length) as its offset and length, when the iovec, the buffer's
/// first 8 bytes and the size's place `size_at` are all in memory.
fn lone_buffer(bytes: &[u8], iovs: i32, iovs_len: i32, size_at: i32) -> Option<(usize, u32)> {
    if iovs_len != 1 {
        return None;
    }
    let buf = guest_word(bytes, iovs as u32)? as usize;
    let len = guest_word(bytes, (iovs as u32).checked_add(4)?)?;
    guest_word(bytes, size_at as u32)?;
    bytes.get(buf..buf.checked_add(8)?)?;
    Some((buf, len))
}

/// Answers the call with `size` bytes moved: the size stored at `size_at`
/// (checked by `lone_buffer`) and errno 0.
fn done_with_size(bytes: &mut [u8], size_at: i32, size: u32) -> i32 {
    let at = size_at as u32 as usize;
    if let Some(place) = bytes.get_mut(at..at.saturating_add(4)) {
        place.copy_from_slice(&size.to_le_bytes());
    }
    types::Errno::Success as i32
}

/// `fd_read` of an eventfd into one buffer of 8 bytes or more, directly
/// (see above); `None` when the call takes the general path.
fn eventfd_read_direct(
    bytes: &mut [u8],
    description: &Description,
    iovs: i32,
    iovs_len: i32,
    size_at: i32,
) -> Option<i32> {
    let (buf, len) = lone_buffer(bytes, iovs, iovs_len, size_at)?;
    if len < 8 {
        return None;
    }
    let value = match description.read_now()? {
        Ok(value) => value,
        Err(errno) => return Some(types::Errno::from(errno) as i32),
    };
    bytes
        .get_mut(buf..buf + 8)?
        .copy_from_slice(&value.to_le_bytes());
    Some(done_with_size(bytes, size_at, 8))
}

/// `fd_write` of one buffer of exactly 8 bytes to an eventfd, directly
/// (see above); `None` when the call takes the general path.
fn eventfd_write_direct(
    bytes: &mut [u8],
    description: &Description,
    iovs: i32,
    iovs_len: i32,
    size_at: i32,
) -> Option<i32> {
    let (buf, len) = lone_buffer(bytes, iovs, iovs_len, size_at)?;
    if len != 8 {
        return None;
    }
    let value = u64::from_le_bytes(bytes.get(buf..buf + 8)?.try_into().ok()?);
    Some(match description.write_now(value)? {
        Ok(()) => done_with_size(bytes, size_at, 8),
        Err(errno) => types::Errno::from(errno) as i32,
    })
}

/// Preview 1's `fd_read` / `fd_write` linked past the glue, stamped once
/// for each (the two differ only in the generated function, the eventfd
/// operation and the span): with a kept memory, an eventfd is served here
/// and a file of wasmtime-wasi's is handed to wasmtime-wasi's generated
/// function under its own number (what the trait's `fd_read` / `fd_write`
/// would do, one lookup and one call sooner); without one, as the glue.
macro_rules! fast_io {
    (
        $(#[$doc:meta])* $name:ident, $now:ident, $generated:ident, $eventfd:ident, $direct:ident,
        $span:literal
    ) => {
        /// The direct path of the call (see above) on the kept memory, done
        /// before the call's future is made: its answer, or `None` for the
        /// general path (no kept memory, not an eventfd, or `$direct` says
        /// so), which then starts from the beginning as if this never ran.
        fn $now<T>(
            caller: &mut Caller<'_, T>,
            get: GetCtx<T>,
            fd: i32,
            iovs: i32,
            iovs_len: i32,
            size_at: i32,
        ) -> Option<Answer> {
            let memory = get(caller.data_mut()).kept_memory?;
            let (bytes, data) = memory.data_and_store_mut(&mut *caller);
            let Some(super::File::Eventfd(descriptor)) = get(data).fds.get(fd as u32) else {
                return None;
            };
            let _span = tracing::debug_span!($span, fd).entered();
            $direct(bytes, descriptor.description(), iovs, iovs_len, size_at).map(Answer)
        }

        $(#[$doc])*
        async fn $name<T>(
            caller: &mut Caller<'_, T>,
            get: GetCtx<T>,
            fd: i32,
            iovs: i32,
            iovs_len: i32,
            size_at: i32,
        ) -> wasmtime::Result<i32> {
            let fuel = caller.as_context_mut().hostcall_fuel();
            let Some(memory) = get(caller.data_mut()).kept_memory else {
                return with_memory!(caller, get, |ctx, memory| {
                    wasi_snapshot_preview1::$generated(ctx, memory, fd, iovs, iovs_len, size_at)
                        .await
                });
            };
            let (bytes, data) = memory.data_and_store_mut(&mut *caller);
            let ctx = get(data);
            let memory = &mut GuestMemory::Unshared(bytes);
            match fast_target(ctx, fd) {
                Fast::Eventfd(description) => {
                    let span = tracing::debug_span!($span, fd);
                    let iovs = GuestPtr::new((iovs as u32, iovs_len as u32));
                    let result = ctx
                        .$eventfd(memory, &description, iovs)
                        .instrument(span)
                        .await;
                    size_result(memory, result, stringify!($generated), size_at)
                }
                Fast::Wasi(inner) => {
                    ctx.set_hostcall_fuel(fuel);
                    wasi_snapshot_preview1::$generated(
                        &mut ctx.wasi,
                        memory,
                        inner,
                        iovs,
                        iovs_len,
                        size_at,
                    )
                    .await
                }
                Fast::Other => {
                    ctx.set_hostcall_fuel(fuel);
                    wasi_snapshot_preview1::$generated(ctx, memory, fd, iovs, iovs_len, size_at)
                        .await
                }
                Fast::Closed => Ok(types::Errno::Badf as i32),
            }
        }
    };
}

fast_io!(
    /// Preview 1's `fd_read(fd, iovs, iovs_len, nread) -> errno` (see
    /// `fast_io!`).
    fd_read_fast,
    fd_read_now,
    fd_read,
    eventfd_read,
    eventfd_read_direct,
    "eventfd read"
);
fast_io!(
    /// Preview 1's `fd_write(fd, ciovs, ciovs_len, nwritten) -> errno` (see
    /// `fast_io!`).
    fd_write_fast,
    fd_write_now,
    fd_write,
    eventfd_write,
    eventfd_write_direct,
    "eventfd write"
);

// --- sockets -----------------------------------------------------------
//
// wasmtime-wasi 48's preview 1 has no sockets, and its trait's
// `sock_accept`, `sock_recv` and `sock_send` cannot wait (they are not
// async there): they are linked here instead, async, and park the guest
// while a blocking call waits. A socket is the kernel layer's
// ([`Socket`]): every answer is the host kernel's, errnos included.

/// The most bytes one `recv`, `send`, `read` or `write` of a socket moves:
/// a stream socket may always move fewer than asked, and a guest's buffers
/// (up to 4 GiB) never become a host allocation of their size.
const SOCKET_CHUNK: u32 = 64 * 1024;

/// The rights a socket's `fd_fdstat_get` reports: read, write, poll,
/// status flags, shutdown and accept (wasi-libc's `fcntl(F_GETFL)` makes
/// `O_RDWR` of them).
fn socket_rights() -> types::Rights {
    types::Rights::FD_READ
        | types::Rights::FD_WRITE
        | types::Rights::FD_FDSTAT_SET_FLAGS
        | types::Rights::FD_FILESTAT_GET
        | types::Rights::POLL_FD_READWRITE
        | types::Rights::SOCK_SHUTDOWN
        | types::Rights::SOCK_ACCEPT
}

/// A host kernel errno as preview 1 numbers it (the errnos socket calls
/// give; any other is `EIO`).
pub(crate) fn host_errno(errno: i32) -> types::Error {
    let errno = match errno {
        libc::EAGAIN => types::Errno::Again,
        libc::EBADF => types::Errno::Badf,
        libc::ECONNRESET => types::Errno::Connreset,
        libc::ECONNABORTED => types::Errno::Connaborted,
        libc::ECONNREFUSED => types::Errno::Connrefused,
        libc::EPIPE => types::Errno::Pipe,
        libc::ENOTCONN => types::Errno::Notconn,
        libc::EINVAL => types::Errno::Inval,
        libc::EMFILE => types::Errno::Mfile,
        libc::ENFILE => types::Errno::Nfile,
        libc::ENOBUFS => types::Errno::Nobufs,
        libc::ENOMEM => types::Errno::Nomem,
        libc::ETIMEDOUT => types::Errno::Timedout,
        libc::EOPNOTSUPP => types::Errno::Notsup,
        libc::EINTR => types::Errno::Intr,
        libc::ENOTSOCK => types::Errno::Notsock,
        libc::EHOSTUNREACH => types::Errno::Hostunreach,
        libc::ENETDOWN => types::Errno::Netdown,
        libc::ENETUNREACH => types::Errno::Netunreach,
        libc::EPROTO => types::Errno::Proto,
        libc::EPERM => types::Errno::Perm,
        _ => types::Errno::Io,
    };
    errno.into()
}

/// The guest buffers of `iovs`, in order, holding at most `SOCKET_CHUNK`
/// bytes in all (the rest left out), each checked to lie in memory.
fn socket_buffers<T>(
    memory: &mut GuestMemory<'_>,
    iovs: GuestPtr<[T]>,
    buf_of: impl Fn(T) -> (u32, u32),
) -> Result<Vec<GuestPtr<[u8]>>, types::Error>
where
    T: wiggle::GuestType,
{
    let mut places = Vec::new();
    let mut room = 0u32;
    for iov in iovs.iter() {
        if room >= SOCKET_CHUNK {
            break;
        }
        let (ptr, len) = buf_of(memory.read(iov?)?);
        let take = len.min(SOCKET_CHUNK - room);
        if take == 0 {
            continue;
        }
        let place = GuestPtr::<u8>::new(ptr).as_array(take);
        memory.as_cow(place)?;
        places.push(place);
        room += take;
    }
    Ok(places)
}

/// `recv(2)` (or `read`) of `socket` into the guest's `iovs` with host
/// `flags` (`MSG_PEEK`, `MSG_WAITALL`): the bytes received, 0 at EOF.
async fn socket_recv(
    memory: &mut GuestMemory<'_>,
    socket: &Arc<Socket>,
    iovs: types::IovecArray,
    flags: i32,
) -> Result<types::Size, types::Error> {
    let places = socket_buffers(memory, iovs, |iov: types::Iovec| {
        (iov.buf.offset(), iov.buf_len)
    })?;
    let total: u32 = places.iter().map(|p| p.len()).sum();
    let mut bytes = vec![0u8; total as usize];
    let mut got = socket.recv(&mut bytes, flags).await.map_err(host_errno)?;
    if flags & libc::MSG_WAITALL != 0 {
        // The host's MSG_WAITALL waits only in a blocking call: fill the
        // rest here, until EOF or an error (as Linux, what came is kept).
        while got < bytes.len() {
            let rest = bytes.get_mut(got..).unwrap_or_default();
            match socket.recv(rest, flags & !libc::MSG_WAITALL).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n,
            }
        }
    }
    let mut data = bytes.get(..got).unwrap_or_default();
    for place in places {
        if data.is_empty() {
            break;
        }
        let n = (place.len() as usize).min(data.len());
        let (now, rest) = data.split_at(n);
        memory.copy_from_slice(now, place.as_ptr().as_array(n as u32))?;
        data = rest;
    }
    Ok(got as types::Size)
}

/// `read(2)` of `socket`: `recv` with no flags, but a read of no bytes is
/// 0 at once whatever the socket (`sock_read_iter`; checked on the kernel:
/// `recv` of no bytes on a listener is `ENOTCONN`, `read` 0).
async fn socket_read(
    memory: &mut GuestMemory<'_>,
    socket: &Arc<Socket>,
    iovs: types::IovecArray,
) -> Result<types::Size, types::Error> {
    let mut any = false;
    for iov in iovs.iter() {
        if memory.read(iov?)?.buf_len > 0 {
            any = true;
            break;
        }
    }
    if !any {
        return Ok(0);
    }
    socket_recv(memory, socket, iovs, 0).await
}

/// `send(2)` (or `write`) of the guest's `ciovs` to `socket`: the bytes
/// sent, maybe fewer than given.
async fn socket_send(
    memory: &mut GuestMemory<'_>,
    socket: &Arc<Socket>,
    ciovs: types::CiovecArray,
) -> Result<types::Size, types::Error> {
    let places = socket_buffers(memory, ciovs, |ciov: types::Ciovec| {
        (ciov.buf.offset(), ciov.buf_len)
    })?;
    let mut bytes = Vec::new();
    for place in places {
        bytes.extend_from_slice(&memory.as_cow(place)?);
    }
    let sent = socket.send(&bytes).await.map_err(host_errno)?;
    Ok(sent as types::Size)
}

impl EventfdP1Ctx {
    /// The socket `fd` names, if it names one.
    pub(crate) fn socket(&self, fd: types::Fd) -> Option<Arc<Socket>> {
        match self.fds.get(u32::from(fd)) {
            Some(super::File::Socket { socket, .. }) => Some(Arc::clone(socket)),
            _ => None,
        }
    }

    /// `sock_accept(fd, flags)`: `accept4` of a listening socket, the new
    /// connection at the lowest free number, `O_NONBLOCK` as `flags` says
    /// (any other flag `EINVAL`, as `accept4`). `EMFILE` with no number to
    /// give, before accepting (the connection stays pending, as Linux);
    /// `ENOTSOCK` for a file that is no socket, `EBADF` for no file.
    async fn sock_accept_socket(
        &mut self,
        socket: &Arc<Socket>,
        flags: u32,
    ) -> Result<types::Fd, types::Error> {
        let nonblock = types::Fdflags::NONBLOCK.bits() as u32;
        if flags & !nonblock != 0 {
            return Err(types::Errno::Inval.into());
        }
        if self.fds.len() >= self.fds.limit() {
            return Err(types::Errno::Mfile.into());
        }
        let conn = socket
            .accept(flags & nonblock != 0)
            .await
            .map_err(host_errno)?;
        let file = super::File::Socket {
            socket: conn,
            cloexec: false,
        };
        match self.fds.insert(file) {
            Ok(fd) => Ok(fd.into()),
            Err(_) => Err(types::Errno::Mfile.into()),
        }
    }
}

/// Writes `value` at `at` (a trap, as the generated glue's, when it
/// cannot) and gives errno 0; or gives the call's errno.
fn socket_result<V: wiggle::GuestType>(
    memory: &mut GuestMemory<'_>,
    result: Result<V, types::Error>,
    func: &'static str,
    at: i32,
) -> wasmtime::Result<i32> {
    match result {
        Ok(value) => {
            memory
                .write(GuestPtr::<V>::new(at as u32), value)
                .map_err(|e| GuestError::InFunc {
                    modulename: PREVIEW1,
                    funcname: func,
                    location: "write result",
                    err: Box::new(e),
                })?;
            Ok(types::Errno::Success as i32)
        }
        Err(error) => Ok(error.downcast()? as i32),
    }
}

/// Replaces wasmtime-wasi's `sock_accept`, `sock_recv` and `sock_send` in
/// `linker` (which must allow shadowing) with async ones that serve the
/// guest's sockets; for any other fd they answer as the trait does
/// (`ENOTSOCK`, `EBADF`).
pub(super) fn add_socket_calls<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: GetCtx<T>,
) -> wasmtime::Result<()> {
    linker.func_wrap_async(
        PREVIEW1,
        "sock_accept",
        move |mut caller: Caller<'_, T>, (fd, flags, out): (i32, i32, i32)| {
            Box::new(async move {
                let caller = &mut caller;
                with_memory!(caller, get, |ctx, memory| {
                    let span = tracing::debug_span!("sock_accept", fd);
                    let fd = types::Fd::from(fd as u32);
                    let result = match ctx.socket(fd) {
                        Some(socket) => {
                            ctx.sock_accept_socket(&socket, flags as u32)
                                .instrument(span)
                                .await
                        }
                        None => match types::Fdflags::from_bits(flags as u16) {
                            Some(flags) if flags.bits() as i32 == flags.bits() as i32 => {
                                ctx.sock_accept(memory, fd, flags)
                            }
                            _ => Err(types::Errno::Inval.into()),
                        },
                    };
                    socket_result(memory, result, "sock_accept", out)
                })
            })
        },
    )?;
    linker.func_wrap_async(
        PREVIEW1,
        "sock_recv",
        move |mut caller: Caller<'_, T>,
              (fd, iovs, iovs_len, ri_flags, out_len, out_flags): (
            i32,
            i32,
            i32,
            i32,
            i32,
            i32,
        )| {
            Box::new(async move {
                let caller = &mut caller;
                with_memory!(caller, get, |ctx, memory| {
                    let span = tracing::debug_span!("sock_recv", fd);
                    let fd = types::Fd::from(fd as u32);
                    let iovs = GuestPtr::new((iovs as u32, iovs_len as u32));
                    let known = (types::Riflags::RECV_PEEK | types::Riflags::RECV_WAITALL).bits();
                    let result = match ctx.socket(fd) {
                        Some(_) if ri_flags as u32 & !(known as u32) != 0 => {
                            Err(types::Errno::Inval.into())
                        }
                        Some(socket) => {
                            let mut flags = 0;
                            if ri_flags as u32 & types::Riflags::RECV_PEEK.bits() as u32 != 0 {
                                flags |= libc::MSG_PEEK;
                            }
                            if ri_flags as u32 & types::Riflags::RECV_WAITALL.bits() as u32 != 0 {
                                flags |= libc::MSG_WAITALL;
                            }
                            socket_recv(memory, &socket, iovs, flags)
                                .instrument(span)
                                .await
                        }
                        None => ctx
                            .sock_recv(memory, fd, iovs, types::Riflags::empty())
                            .map(|(size, _)| size),
                    };
                    match result {
                        Ok(size) => {
                            // No datagrams: never truncated.
                            let flags = socket_result(
                                memory,
                                Ok(types::Roflags::empty()),
                                "sock_recv",
                                out_flags,
                            )?;
                            debug_assert_eq!(flags, 0);
                            socket_result(memory, Ok(size), "sock_recv", out_len)
                        }
                        Err(error) => {
                            socket_result::<u32>(memory, Err(error), "sock_recv", out_len)
                        }
                    }
                })
            })
        },
    )?;
    linker.func_wrap_async(
        PREVIEW1,
        "sock_send",
        move |mut caller: Caller<'_, T>,
              (fd, ciovs, ciovs_len, si_flags, out): (i32, i32, i32, i32, i32)| {
            Box::new(async move {
                let caller = &mut caller;
                with_memory!(caller, get, |ctx, memory| {
                    let span = tracing::debug_span!("sock_send", fd);
                    let fd = types::Fd::from(fd as u32);
                    let ciovs = GuestPtr::new((ciovs as u32, ciovs_len as u32));
                    let result = match ctx.socket(fd) {
                        // Preview 1 defines no send flags.
                        Some(_) if si_flags != 0 => Err(types::Errno::Inval.into()),
                        Some(socket) => socket_send(memory, &socket, ciovs).instrument(span).await,
                        None => ctx.sock_send(memory, fd, ciovs, 0),
                    };
                    socket_result(memory, result, "sock_send", out)
                })
            })
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use wasmtime::{Config, Engine, Linker, Module, Store};
    use wasmtime_wasi::WasiCtx;

    use super::super::{add_to_linker_async, EventfdP1Ctx};
    use crate::{DescriptionTable, EventfdCtx};

    /// A guest whose `call(op, fd, iovs, iovs_len, out)` makes one
    /// `fd_write` (op 0) or `fd_read` (op 1) with exactly those arguments.
    /// Memory: 0..8 the value 5; 8: an iovec of it; 16: an iovec of the
    /// 4 bytes at 64; 24: an iovec of 8 bytes at 64; 32: two iovecs (4
    /// bytes at 64, 4 at 72); 112: an iovec of the 8 bytes of all ones at
    /// 120; 56: an iovec of 8 bytes at 65532, past the end; 200: an iovec of
    /// 16 bytes at 64; 208: an iovec of 9 bytes at 64; 65535: the last
    /// byte.
    const GUEST: &str = r#"(module
        (import "wasi_eventfd" "eventfd" (func $eventfd (param i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "fd_write"
            (func $fd_write (param i32 i32 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "fd_read"
            (func $fd_read (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 0) "\05\00\00\00\00\00\00\00")
        (data (i32.const 8) "\00\00\00\00\08\00\00\00")
        (data (i32.const 16) "\40\00\00\00\04\00\00\00")
        (data (i32.const 24) "\40\00\00\00\08\00\00\00")
        (data (i32.const 32) "\40\00\00\00\04\00\00\00\48\00\00\00\04\00\00\00")
        (data (i32.const 112) "\78\00\00\00\08\00\00\00\ff\ff\ff\ff\ff\ff\ff\ff")
        (data (i32.const 56) "\fc\ff\00\00\08\00\00\00")
        (data (i32.const 200) "\40\00\00\00\10\00\00\00\40\00\00\00\09\00\00\00")
        (func (export "eventfd") (param i32) (result i32)
            (call $eventfd (i32.const 0) (local.get 0)))
        (func (export "call") (param $op i32) (param $fd i32) (param $iovs i32)
                (param $len i32) (param $out i32) (result i32)
            (if (result i32) (local.get $op)
                (then (call $fd_read (local.get $fd) (local.get $iovs) (local.get $len) (local.get $out)))
                (else (call $fd_write (local.get $fd) (local.get $iovs) (local.get $len) (local.get $out))))))"#;

    /// Each call's errno, or its trap, and the guest's bytes 64..100 after
    /// it, for one run of `calls` on a fresh guest whose fd 3 is a
    /// non-blocking eventfd; `keep` keeps the guest's memory.
    async fn outcomes(keep: bool, calls: &[[i32; 5]]) -> Vec<(Result<i32, String>, Vec<u8>)> {
        let engine = Engine::new(&Config::new()).expect("engine");
        let module = Module::new(&engine, GUEST).expect("the guest compiles");
        let mut linker = Linker::new(&engine);
        add_to_linker_async(&mut linker, |ctx: &mut EventfdP1Ctx| ctx).expect("link");
        let descriptions = DescriptionTable::new();
        let ctx = EventfdP1Ctx::new(
            WasiCtx::builder().build_p1(),
            EventfdCtx::builder(&descriptions).build(),
        );
        let mut store = Store::new(&engine, ctx);
        let instance = linker
            .instantiate_async(&mut store, &module)
            .await
            .expect("instantiate");
        let memory = instance.get_memory(&mut store, "memory").expect("a memory");
        if keep {
            store.data_mut().keep_memory(memory);
        }
        let eventfd = instance
            .get_typed_func::<i32, i32>(&mut store, "eventfd")
            .expect("eventfd");
        // EFD_NONBLOCK
        assert_eq!(eventfd.call_async(&mut store, 0x800).await.ok(), Some(3));
        let call = instance
            .get_typed_func::<(i32, i32, i32, i32, i32), i32>(&mut store, "call")
            .expect("call");
        let mut seen = Vec::new();
        for &[op, fd, iovs, len, out] in calls {
            let result = call
                .call_async(&mut store, (op, fd, iovs, len, out))
                .await
                // The message and its causes, without a host backtrace (its
                // frames differ between the two paths).
                .map_err(|trap| format!("{trap:#}"));
            let bytes = memory
                .data(&store)
                .get(64..100)
                .unwrap_or_default()
                .to_vec();
            seen.push((result, bytes));
        }
        seen
    }

    /// The fast `fd_read`/`fd_write` with a kept memory answer every call
    /// as wasmtime-wasi's glue path does: errnos, bytes, traps.
    #[tokio::test]
    async fn kept_memory_answers_as_the_glue() {
        const WRITE: i32 = 0;
        const READ: i32 = 1;
        let calls = [
            [WRITE, 3, 8, 1, 96],     // writes 5: errno 0, nwritten 8 at 96
            [READ, 3, 24, 1, 96],     // reads 5 into 64..72
            [READ, 3, 24, 1, 96],     // EAGAIN: nothing to read
            [WRITE, 3, 8, 1, 96],     // 5 again
            [READ, 3, 16, 1, 96],     // EINVAL: 4 bytes of room
            [READ, 3, 32, 2, 96],     // 8 bytes spread over two buffers
            [WRITE, 3, 16, 1, 96],    // EINVAL: a 4-byte write
            [WRITE, 9, 8, 1, 96],     // EBADF
            [WRITE, -1, 8, 1, 96],    // EBADF
            [WRITE, 3, 8, 0, 96],     // no buffers: 0 written
            [WRITE, 3, 9, 1, 96],     // a misaligned iovec: trap
            [WRITE, 3, 65536, 1, 96], // iovec outside memory: trap
            [WRITE, 3, 8, 1, 65534],  // nwritten outside memory: trap
            [READ, 3, 24, 1, 97],     // nread misaligned: trap (after the read)
            [WRITE, 1, 8, 1, 96],     // stdout: wasmtime-wasi's, 8 written
            [READ, 0, 24, 1, 96],     // stdin (empty): 0 read
            [WRITE, 3, 112, 1, 96],   // EINVAL: 2^64 - 1
            [WRITE, 3, 8, 1, 96],     // 5
            [WRITE, 3, 56, 1, 96],    // the value outside memory: trap
            [READ, 3, 56, 1, 96],     // the buffer outside memory: trap, 5 kept
            [WRITE, 3, 208, 1, 96],   // EINVAL: a 9-byte write
            [READ, 3, 200, 1, 100],   // reads 5 into 16 bytes of room
            [READ, 3, 200, 1, 96],    // EAGAIN
        ];
        let kept = outcomes(true, &calls).await;
        let glue = outcomes(false, &calls).await;
        for (i, (kept, glue)) in kept.iter().zip(&glue).enumerate() {
            assert_eq!(kept, glue, "call {i}: {:?}", calls.get(i));
        }
        let errno = |i: usize| kept.get(i).and_then(|(r, _)| r.clone().ok());
        let bytes = |i: usize| kept.get(i).map(|(_, b)| b.clone()).unwrap_or_default();
        assert_eq!(errno(0), Some(0));
        assert_eq!(bytes(0).get(32..36), Some(&8u32.to_le_bytes()[..]));
        assert_eq!(errno(1), Some(0));
        assert_eq!(bytes(1).get(0..8), Some(&5u64.to_le_bytes()[..]));
        assert_eq!(errno(2), Some(6), "EAGAIN");
        assert_eq!(errno(4), Some(28), "EINVAL");
        assert_eq!(errno(5), Some(0));
        assert_eq!(errno(6), Some(28), "EINVAL");
        assert_eq!(errno(7), Some(8), "EBADF");
        assert_eq!(errno(8), Some(8), "EBADF");
        assert_eq!(errno(9), Some(0));
        assert_eq!(bytes(9).get(32..36), Some(&0u32.to_le_bytes()[..]));
        for trap in 10..14 {
            assert!(
                kept.get(trap).is_some_and(|(r, _)| r.is_err()),
                "call {trap} traps: {:?}",
                kept.get(trap)
            );
        }
        assert_eq!(errno(14), Some(0));
        assert_eq!(errno(15), Some(0));
        assert_eq!(errno(16), Some(28), "EINVAL");
        assert_eq!(errno(17), Some(0));
        for trap in 18..20 {
            assert!(kept.get(trap).is_some_and(|(r, _)| r.is_err()));
        }
        assert_eq!(errno(20), Some(28), "EINVAL");
        assert_eq!(errno(21), Some(0));
        assert_eq!(bytes(21).get(0..8), Some(&5u64.to_le_bytes()[..]));
        assert_eq!(errno(22), Some(6), "EAGAIN");
    }
}
