//! A seeded run's `wasi:filesystem` streams, read and written on the
//! scheduler's thread.
//!
//! wasmtime-wasi 48 serves a WASI 0.2 component's
//! `[method]descriptor.read-via-stream`, `write-via-stream` and
//! `append-via-stream` with streams (`FileInputStream`, `FileOutputStream`
//! in its `p2/filesystem.rs`) whose non-blocking `read` and `write`, and
//! whose pollables, hand the I/O to `tokio::task::spawn_blocking` whatever
//! `allow_blocking_current_thread` says: the guest is then woken by a
//! thread of tokio's, at a moment the host decides, and the run may not
//! replay. A seeded run links these three methods to [`SeededFileInput`]
//! and [`SeededFileOutput`] instead, which make the same system calls
//! inline, on the scheduler's thread, at the guest's call (a read of at
//! most 64 KiB, a write of what the guest was allowed: a regular file's
//! read or write of that size does not wait on anything another guest
//! does).
//!
//! Everything else is wasmtime-wasi's, mirrored state for state: a
//! non-blocking `read` that starts a read returns no bytes, and the data
//! comes after the stream's pollable is ready; a `write` leaves
//! `check-write` at 0 (and a second `write` a trap) until the pollable is
//! ready; the end of the file is `closed`; an I/O error is
//! `last-operation-failed` carrying the `std::io::Error` (so that
//! `filesystem-error-code` maps it as wasmtime-wasi does), once, and the
//! stream is closed after it; offsets, appends (`pwritev2` with
//! `RWF_APPEND`) and the 64 KiB budgets are the same. Only *when* the
//! system call happens differs: at the guest's call here, at some moment
//! between the call and the pollable's readiness there. The tests below
//! run both on the same files and compare every answer.
//!
//! WASI 0.3 components need none of this: wasmtime-wasi's p3 file streams
//! and directory listings do their I/O inline when blocking the current
//! thread is allowed (its `p3/filesystem/host.rs`, `as_blocking_file`), as
//! a seeded run's guests are. Preview 1 core modules always read and write
//! files with blocking calls (`BlockingMode` in its `p1.rs`), inline too,
//! and their `poll_oneoff` answers a regular file at once (our `p1::poll`).

use std::io;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use wasmtime::component::{Linker, Resource, ResourceTable};
use wasmtime::StoreContextMut;
use wasmtime_wasi::filesystem::Descriptor;
use wasmtime_wasi::p2::bindings::filesystem::types::ErrorCode;
use wasmtime_wasi::p2::{
    DynInputStream, DynOutputStream, InputStream, OutputStream, Pollable, StreamError, StreamResult,
};
use wasmtime_wasi::WasiView;

/// The interface whose three methods are replaced, as wasmtime-wasi 48
/// registers it (a guest importing an earlier 0.2 version is matched to it
/// by the linker's semver rules).
const FILESYSTEM_TYPES: &str = "wasi:filesystem/types@0.2.12";

/// The most one read fetches, and the `check-write` budget of a file
/// stream: wasmtime-wasi's `MAX_READ_SIZE_ALLOC` (64 KiB), which is both.
const BUDGET: usize = 64 * 1024;

/// What a pollable's readiness reads when the guest waits on a stream it
/// has not asked to read from (wasmtime-wasi's `DEFAULT_READ_SIZE`).
const DEFAULT_READ_SIZE: usize = 4096;

/// Links the seeded streams in place of wasmtime-wasi's
/// `[method]descriptor.read-via-stream`, `write-via-stream` and
/// `append-via-stream` of `wasi:filesystem/types@0.2.12`. Call after
/// `wasmtime_wasi::p2::add_to_linker_async`.
pub(super) fn add_to_linker<T: WasiView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let mut types = linker.instance(FILESYSTEM_TYPES)?;
    types.func_wrap(
        "[method]descriptor.read-via-stream",
        |mut store: StoreContextMut<'_, T>, (fd, offset): (Resource<Descriptor>, u64)| {
            let _span = tracing::debug_span!("read-via-stream", offset).entered();
            Ok((read_via_stream(store.data_mut().ctx().table, fd, offset)?,))
        },
    )?;
    types.func_wrap(
        "[method]descriptor.write-via-stream",
        |mut store: StoreContextMut<'_, T>, (fd, offset): (Resource<Descriptor>, u64)| {
            let _span = tracing::debug_span!("write-via-stream", offset).entered();
            let mode = Mode::Position(offset);
            Ok((write_via_stream(store.data_mut().ctx().table, fd, mode)?,))
        },
    )?;
    types.func_wrap(
        "[method]descriptor.append-via-stream",
        |mut store: StoreContextMut<'_, T>, (fd,): (Resource<Descriptor>,)| {
            let _span = tracing::debug_span!("append-via-stream").entered();
            Ok((write_via_stream(
                store.data_mut().ctx().table,
                fd,
                Mode::Append,
            )?,))
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

/// `read-via-stream`: an input stream reading `fd` from `offset`.
/// Errors as wasmtime-wasi's: `is-directory` for a directory; a handle not
/// in the table traps. (Reading is not checked against the descriptor's
/// permissions there either: a write-only file fails at the read, `EBADF`.)
fn read_via_stream(
    table: &mut ResourceTable,
    fd: Resource<Descriptor>,
    offset: u64,
) -> wasmtime::Result<Result<Resource<DynInputStream>, ErrorCode>> {
    let file = match table.get(&fd)? {
        Descriptor::File(f) => Arc::clone(&f.file),
        Descriptor::Dir(_) => return Ok(Err(ErrorCode::IsDirectory)),
    };
    let stream: DynInputStream = Box::new(SeededFileInput::new(file, offset));
    Ok(Ok(table.push(stream)?))
}

/// `write-via-stream` and `append-via-stream`: an output stream writing
/// `fd` as `mode` says. Errors as wasmtime-wasi's: `bad-descriptor` for a
/// directory, `not-permitted` for a file opened without write permission;
/// a handle not in the table traps.
fn write_via_stream(
    table: &mut ResourceTable,
    fd: Resource<Descriptor>,
    mode: Mode,
) -> wasmtime::Result<Result<Resource<DynOutputStream>, ErrorCode>> {
    let file = match table.get(&fd)? {
        Descriptor::File(f) if f.perms.write_not_permitted() => {
            return Ok(Err(ErrorCode::NotPermitted))
        }
        Descriptor::File(f) => Arc::clone(&f.file),
        Descriptor::Dir(_) => return Ok(Err(ErrorCode::BadDescriptor)),
    };
    let stream: DynOutputStream = Box::new(SeededFileOutput::new(file, mode));
    Ok(Ok(table.push(stream)?))
}

/// A file's input stream in a seeded run (see the module docs).
pub(super) struct SeededFileInput {
    file: Arc<std::fs::File>,
    /// The offset of the next byte the guest gets.
    position: u64,
    state: ReadState,
}

/// wasmtime-wasi's `ReadState`, with `Waiting` holding the read's result
/// (already made) until the pollable is ready.
enum ReadState {
    Idle,
    Waiting(Box<ReadState>),
    DataAvailable(Bytes),
    Error(io::Error),
    Closed,
}

impl SeededFileInput {
    fn new(file: Arc<std::fs::File>, position: u64) -> Self {
        SeededFileInput {
            file,
            position,
            state: ReadState::Idle,
        }
    }

    /// `pread` of up to `size` bytes (at most [`BUDGET`]) at `offset`,
    /// retried on `EINTR`: 0 bytes is the end of the file.
    fn read_at(&self, offset: u64, size: usize) -> ReadState {
        use std::os::unix::fs::FileExt as _;
        let mut buf = BytesMut::zeroed(size.min(BUDGET));
        loop {
            match self.file.read_at(&mut buf, offset) {
                Ok(0) => return ReadState::Closed,
                Ok(n) => {
                    buf.truncate(n);
                    return ReadState::DataAvailable(buf.freeze());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return ReadState::Error(e),
            }
        }
    }

    /// Where wasmtime-wasi awaits its read task: the result is taken.
    fn complete(&mut self) {
        if let ReadState::Waiting(_) = self.state {
            if let ReadState::Waiting(done) = std::mem::replace(&mut self.state, ReadState::Idle) {
                self.state = *done;
            }
        }
    }
}

#[async_trait::async_trait]
impl InputStream for SeededFileInput {
    fn read(&mut self, size: usize) -> StreamResult<Bytes> {
        match &mut self.state {
            ReadState::Idle => {
                if size == 0 {
                    return Ok(Bytes::new());
                }
                let read = self.read_at(self.position, size);
                self.state = ReadState::Waiting(Box::new(read));
                Ok(Bytes::new())
            }
            ReadState::DataAvailable(b) => {
                let chunk = b.split_to(b.len().min(size));
                if b.is_empty() {
                    self.state = ReadState::Idle;
                }
                self.position = self.position.saturating_add(chunk.len() as u64);
                Ok(chunk)
            }
            ReadState::Waiting(_) => Ok(Bytes::new()),
            ReadState::Error(_) => match std::mem::replace(&mut self.state, ReadState::Closed) {
                ReadState::Error(e) => Err(StreamError::LastOperationFailed(e.into())),
                _ => Err(StreamError::Closed),
            },
            ReadState::Closed => Err(StreamError::Closed),
        }
    }

    async fn blocking_read(&mut self, size: usize) -> StreamResult<Bytes> {
        self.complete();
        if let ReadState::Idle = self.state {
            self.state = self.read_at(self.position, size);
        }
        self.read(size)
    }

    async fn cancel(&mut self) {
        self.state = ReadState::Closed;
    }
}

#[async_trait::async_trait]
impl Pollable for SeededFileInput {
    async fn ready(&mut self) {
        if let ReadState::Idle = self.state {
            // Waited on without a read asked for: read for the guest, as
            // wasmtime-wasi does.
            self.state = self.read_at(self.position, DEFAULT_READ_SIZE);
        }
        self.complete();
    }
}

/// Where a file output stream writes.
#[derive(Clone, Copy, Debug)]
enum Mode {
    /// At this offset, which advances by what was written.
    Position(u64),
    /// At the end of the file, whatever its offset (`RWF_APPEND`).
    Append,
}

/// A file's output stream in a seeded run (see the module docs).
pub(super) struct SeededFileOutput {
    file: Arc<std::fs::File>,
    mode: Mode,
    state: WriteState,
}

/// wasmtime-wasi's `OutputState`, with `Waiting` holding the write's
/// result (already made) until the pollable is ready.
enum WriteState {
    Ready,
    Waiting(io::Result<usize>),
    Error(io::Error),
    Closed,
}

impl SeededFileOutput {
    fn new(file: Arc<std::fs::File>, mode: Mode) -> Self {
        SeededFileOutput {
            file,
            mode,
            state: WriteState::Ready,
        }
    }

    /// Writes all of `buf` as `mode` says: bytes written, or the first
    /// error (wasmtime-wasi's `blocking_write`).
    fn write_all(&self, mut buf: &[u8]) -> io::Result<usize> {
        use std::os::unix::fs::FileExt as _;
        let mut total = 0usize;
        loop {
            let written = match self.mode {
                Mode::Position(at) => self.file.write_at(buf, at.saturating_add(total as u64))?,
                Mode::Append => append(&self.file, buf)?,
            };
            total += written;
            buf = buf.get(written..).unwrap_or_default();
            if buf.is_empty() {
                return Ok(total);
            }
            if written == 0 {
                // Where wasmtime-wasi would loop for ever (a file that
                // takes nothing without an error): std's `write_all` error.
                return Err(io::ErrorKind::WriteZero.into());
            }
        }
    }

    /// A write has completed: the offset advances past it.
    fn wrote(&mut self, written: usize) {
        if let Mode::Position(at) = &mut self.mode {
            *at = at.saturating_add(written as u64);
        }
    }

    /// Takes a stored error, closing the stream (wasmtime-wasi reports it
    /// once).
    fn take_error(&mut self) -> StreamError {
        match std::mem::replace(&mut self.state, WriteState::Closed) {
            WriteState::Error(e) => StreamError::LastOperationFailed(e.into()),
            _ => StreamError::Closed,
        }
    }
}

/// One append of `data` at the end of `file`: `pwritev2(RWF_APPEND)`, or,
/// on a kernel without it (before 4.16), `O_APPEND` set around a `write`,
/// as wasmtime-wasi's `append_cursor_unspecified`.
fn append(file: &std::fs::File, data: &[u8]) -> io::Result<usize> {
    use rustix::io::{Errno, ReadWriteFlags};
    match rustix::io::pwritev2(file, &[io::IoSlice::new(data)], 0, ReadWriteFlags::APPEND) {
        Err(Errno::NOSYS) | Err(Errno::NOTSUP) => {}
        done => return Ok(done?),
    }
    let flags = rustix::fs::fcntl_getfl(file)?;
    rustix::fs::fcntl_setfl(file, flags | rustix::fs::OFlags::APPEND)?;
    let written = rustix::io::write(file, data);
    rustix::fs::fcntl_setfl(file, flags)?;
    Ok(written?)
}

#[async_trait::async_trait]
impl OutputStream for SeededFileOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        match self.state {
            WriteState::Ready => {}
            WriteState::Closed => return Err(StreamError::Closed),
            WriteState::Waiting(_) | WriteState::Error(_) => {
                // wasmtime-wasi's words for the same trap.
                return Err(StreamError::Trap(wasmtime::format_err!(
                    "write not permitted: check_write not called first"
                )));
            }
        }
        self.state = WriteState::Waiting(self.write_all(&bytes));
        Ok(())
    }

    async fn blocking_write_and_flush(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.ready().await;
        match self.state {
            WriteState::Ready => {}
            WriteState::Closed => return Err(StreamError::Closed),
            WriteState::Error(_) => return Err(self.take_error()),
            WriteState::Waiting(_) => return Err(StreamError::Closed),
        }
        match self.write_all(&bytes) {
            Ok(written) => {
                self.wrote(written);
                Ok(())
            }
            Err(e) => {
                self.state = WriteState::Closed;
                Err(StreamError::LastOperationFailed(e.into()))
            }
        }
    }

    fn flush(&mut self) -> StreamResult<()> {
        match self.state {
            // Nothing is buffered: a write is in the file once made.
            WriteState::Ready | WriteState::Waiting(_) => Ok(()),
            WriteState::Closed => Err(StreamError::Closed),
            WriteState::Error(_) => Err(self.take_error()),
        }
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        match self.state {
            WriteState::Ready => Ok(BUDGET),
            WriteState::Closed => Err(StreamError::Closed),
            WriteState::Error(_) => Err(self.take_error()),
            WriteState::Waiting(_) => Ok(0),
        }
    }

    async fn cancel(&mut self) {
        self.state = WriteState::Closed;
    }
}

#[async_trait::async_trait]
impl Pollable for SeededFileOutput {
    async fn ready(&mut self) {
        if let WriteState::Waiting(_) = self.state {
            if let WriteState::Waiting(done) = std::mem::replace(&mut self.state, WriteState::Ready)
            {
                match done {
                    Ok(written) => self.wrote(written),
                    Err(e) => self.state = WriteState::Error(e),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! wasmtime-wasi's streams and ours, driven through the same calls on
    //! the same files: every answer, and the files after, must be alike.
    //! wasmtime-wasi's are made as an unseeded run makes them (its I/O on
    //! tokio's blocking threads); their answers do not depend on when that
    //! I/O finishes, only on the calls, so the two compare exactly.

    use super::*;
    use wasmtime_wasi::filesystem::WasiFilesystemView as _;
    use wasmtime_wasi::p2::bindings::filesystem::preopens::Host as _;
    use wasmtime_wasi::p2::bindings::filesystem::types::{
        DescriptorFlags, HostDescriptor, OpenFlags, PathFlags,
    };
    use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxView};

    struct Host {
        ctx: WasiCtx,
        table: ResourceTable,
        /// The read-write preopen, then the read-only one.
        dirs: Vec<Resource<Descriptor>>,
        scratch: tempdir::Scratch,
    }

    impl WasiView for Host {
        fn ctx(&mut self) -> WasiCtxView<'_> {
            WasiCtxView {
                ctx: &mut self.ctx,
                table: &mut self.table,
            }
        }
    }

    mod tempdir {
        /// A directory of this test's own, removed when dropped.
        pub(super) struct Scratch(pub(super) std::path::PathBuf);

        impl Scratch {
            pub(super) fn new(name: &str) -> Self {
                let path = std::env::temp_dir().join(format!(
                    "wasi-eventfd-seeded-files-{name}-{}",
                    std::process::id()
                ));
                let _ = std::fs::remove_dir_all(&path);
                std::fs::create_dir_all(path.join("ro")).unwrap();
                Scratch(path)
            }
        }

        impl Drop for Scratch {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    fn host(name: &str, files: &[(&str, &[u8])]) -> Host {
        let scratch = tempdir::Scratch::new(name);
        for (file, contents) in files {
            std::fs::write(scratch.0.join(file), contents).unwrap();
        }
        let mut builder = WasiCtx::builder();
        builder
            .preopened_dir(&scratch.0, "/", FsPerms::ReadWrite)
            .unwrap()
            .preopened_dir(scratch.0.join("ro"), "/ro", FsPerms::ReadOnly)
            .unwrap();
        let mut host = Host {
            ctx: builder.build(),
            table: ResourceTable::new(),
            dirs: Vec::new(),
            scratch,
        };
        host.dirs = host
            .filesystem()
            .get_directories()
            .unwrap()
            .into_iter()
            .map(|(dir, _)| dir)
            .collect();
        host
    }

    impl Host {
        async fn open(
            &mut self,
            dir: usize,
            path: &str,
            flags: DescriptorFlags,
        ) -> Resource<Descriptor> {
            let dir = Resource::new_borrow(self.dirs[dir].rep());
            let mut view = self.filesystem();
            HostDescriptor::open_at(
                &mut view,
                dir,
                PathFlags::empty(),
                path.into(),
                OpenFlags::empty(),
                flags,
            )
            .await
            .unwrap()
        }

        fn path(&self, file: &str) -> std::path::PathBuf {
            self.scratch.0.join(file)
        }
    }

    /// wasmtime-wasi's stream or ours.
    #[derive(Clone, Copy, Debug)]
    enum Which {
        Theirs,
        Ours,
    }

    fn borrow<T: 'static>(r: &Resource<T>) -> Resource<T> {
        Resource::new_borrow(r.rep())
    }

    fn input(
        host: &mut Host,
        which: Which,
        fd: &Resource<Descriptor>,
        offset: u64,
    ) -> Result<Resource<DynInputStream>, ErrorCode> {
        match which {
            Which::Theirs => {
                let mut view = host.filesystem();
                HostDescriptor::read_via_stream(&mut view, borrow(fd), offset)
                    .map_err(|e| e.downcast().unwrap())
            }
            Which::Ours => read_via_stream(&mut host.table, borrow(fd), offset).unwrap(),
        }
    }

    fn output(
        host: &mut Host,
        which: Which,
        fd: &Resource<Descriptor>,
        mode: Mode,
    ) -> Result<Resource<DynOutputStream>, ErrorCode> {
        match (which, mode) {
            (Which::Theirs, Mode::Position(at)) => {
                let mut view = host.filesystem();
                HostDescriptor::write_via_stream(&mut view, borrow(fd), at)
                    .map_err(|e| e.downcast().unwrap())
            }
            (Which::Theirs, Mode::Append) => {
                let mut view = host.filesystem();
                HostDescriptor::append_via_stream(&mut view, borrow(fd))
                    .map_err(|e| e.downcast().unwrap())
            }
            (Which::Ours, mode) => write_via_stream(&mut host.table, borrow(fd), mode).unwrap(),
        }
    }

    /// An answer, as the guest could tell it.
    fn show<T: std::fmt::Debug>(answer: StreamResult<T>) -> String {
        match answer {
            Ok(value) => format!("{value:?}"),
            Err(StreamError::Closed) => "closed".into(),
            Err(StreamError::LastOperationFailed(e)) => match e.downcast_ref::<io::Error>() {
                Some(io) => format!("failed: errno {:?}", io.raw_os_error()),
                None => format!("failed: {e}"),
            },
            Err(StreamError::Trap(e)) => format!("trap: {e}"),
        }
    }

    enum In {
        Read(usize),
        BlockingRead(usize),
        Skip(usize),
        Ready,
        Drop,
    }

    async fn run_input(
        host: &mut Host,
        stream: Resource<DynInputStream>,
        script: &[In],
    ) -> Vec<String> {
        let mut answers = Vec::new();
        let mut stream = Some(stream);
        for op in script {
            let Some(s) = &stream else { break };
            let s: &mut DynInputStream = host.table.get_mut(s).unwrap();
            answers.push(match op {
                In::Read(n) => show(s.read(*n)),
                In::BlockingRead(n) => show(s.blocking_read(*n).await),
                In::Skip(n) => show(s.skip(*n)),
                In::Ready => {
                    s.ready().await;
                    "ready".into()
                }
                In::Drop => {
                    let mut s = host.table.delete(stream.take().unwrap()).unwrap();
                    s.cancel().await;
                    "dropped".into()
                }
            });
        }
        answers
    }

    enum Out {
        CheckWrite,
        Write(&'static [u8]),
        BlockingWriteAndFlush(&'static [u8]),
        Flush,
        Ready,
    }

    /// Runs `script` on `stream`, then drops it. (A script does not end
    /// with a write whose pollable was not awaited: wasmtime-wasi's drop
    /// then aborts the write if its thread has not started it, ours has
    /// made it; the file would differ by a race of theirs.)
    async fn run_output(
        host: &mut Host,
        stream: Resource<DynOutputStream>,
        script: &[Out],
    ) -> Vec<String> {
        let mut answers = Vec::new();
        for op in script {
            let s: &mut DynOutputStream = host.table.get_mut(&stream).unwrap();
            answers.push(match op {
                Out::CheckWrite => show(s.check_write()),
                Out::Write(bytes) => show(s.write(Bytes::from_static(bytes))),
                Out::BlockingWriteAndFlush(bytes) => {
                    show(s.blocking_write_and_flush(Bytes::from_static(bytes)).await)
                }
                Out::Flush => show(s.flush()),
                Out::Ready => {
                    s.ready().await;
                    "ready".into()
                }
            });
        }
        let mut s = host.table.delete(stream).unwrap();
        s.cancel().await;
        answers
    }

    const TEXT: &[u8] = b"hello, seeded world\n";

    /// Reads `file` (`flags`) from `offset` with `script`, both ways.
    async fn both_read(
        name: &str,
        file: &str,
        flags: DescriptorFlags,
        offset: u64,
        script: &[In],
    ) -> Vec<String> {
        let big = vec![7u8; 100 * 1024];
        let mut host = host(name, &[("text", TEXT), ("big", &big), ("empty", b"")]);
        let fd = host.open(0, file, flags).await;
        let mut seen = Vec::new();
        for which in [Which::Theirs, Which::Ours] {
            let answers = match input(&mut host, which, &fd, offset) {
                Ok(stream) => run_input(&mut host, stream, script).await,
                Err(code) => vec![format!("{code:?}")],
            };
            seen.push(answers);
        }
        assert_eq!(seen[0], seen[1], "wasmtime-wasi's answers, then ours");
        seen.swap_remove(0)
    }

    #[tokio::test]
    async fn reads_answer_as_wasmtime_wasi_s() {
        use In::*;
        let r = DescriptorFlags::READ;
        // Non-blocking reads: nothing until the pollable is ready, then
        // the data in pieces, then the end of the file as `closed`.
        let answers = both_read(
            "nonblocking",
            "text",
            r,
            0,
            &[
                Read(0),
                Read(5),
                Read(5),
                Ready,
                Read(3),
                Read(100),
                Read(4),
                Ready,
                Read(4),
                Read(1),
                Ready,
                Read(1),
                BlockingRead(100),
                BlockingRead(100),
                Read(1),
            ],
        )
        .await;
        assert_eq!(
            answers[4],
            format!("{:?}", Bytes::from_static(b"hel")),
            "{answers:?}"
        );
        assert_eq!(answers.last().unwrap(), "closed", "{answers:?}");
        // Blocking reads, an offset, a pollable with no read asked for
        // (4 096 bytes), skips, and a read capped at 64 KiB.
        both_read(
            "blocking",
            "text",
            r,
            7,
            &[
                BlockingRead(6),
                BlockingRead(0),
                Skip(2),
                Ready,
                Skip(100),
                BlockingRead(9),
                BlockingRead(9),
            ],
        )
        .await;
        let big = both_read(
            "big",
            "big",
            r,
            0,
            &[
                BlockingRead(200_000),
                Ready,
                Read(200_000),
                BlockingRead(200_000),
            ],
        )
        .await;
        assert!(big[0].len() > 1000, "{big:?}");
        both_read("empty", "empty", r, 0, &[BlockingRead(10), Read(10), Ready]).await;
        both_read("past-end", "text", r, 1 << 40, &[Ready, Read(10)]).await;
        // A stream dropped with a read started (wasmtime-wasi waits for it).
        both_read("drop", "text", r, 0, &[Read(4), Drop]).await;
        // Errors: a write-only file fails at the read (EBADF), once, and
        // is closed after; an offset past what a file can hold, EINVAL.
        let failed = both_read(
            "write-only",
            "text",
            DescriptorFlags::WRITE,
            0,
            &[Read(4), Ready, Read(4), Read(4)],
        )
        .await;
        assert_eq!(
            failed[2],
            format!("failed: errno Some({})", libc::EBADF),
            "{failed:?}"
        );
        both_read(
            "huge-offset",
            "text",
            r,
            u64::MAX,
            &[BlockingRead(4), Read(4)],
        )
        .await;
        // A directory is `is-directory` at once.
        let mut host = host("dir", &[]);
        let dir = Resource::new_borrow(host.dirs[0].rep());
        for which in [Which::Theirs, Which::Ours] {
            assert_eq!(
                input(&mut host, which, &dir, 0).err(),
                Some(ErrorCode::IsDirectory)
            );
        }
    }

    /// Writes `file` (`flags`, under preopen `dir`) as `mode` with
    /// `script`, both ways, each on its own copy of the same files:
    /// returns the answers and what the file holds after.
    async fn both_write(
        name: &str,
        dir: usize,
        file: &str,
        flags: DescriptorFlags,
        mode: Mode,
        script: &[Out],
    ) -> (Vec<String>, Vec<u8>) {
        let mut seen = Vec::new();
        for which in [Which::Theirs, Which::Ours] {
            let mut host = host(
                &format!("{name}-{which:?}"),
                &[("text", TEXT), ("ro/text", TEXT)],
            );
            let fd = host.open(dir, file, flags).await;
            let answers = match output(&mut host, which, &fd, mode) {
                Ok(stream) => run_output(&mut host, stream, script).await,
                Err(code) => vec![format!("{code:?}")],
            };
            let path = if dir == 0 {
                host.path(file)
            } else {
                host.path(&format!("ro/{file}"))
            };
            seen.push((answers, std::fs::read(path).unwrap()));
        }
        assert_eq!(
            seen[0], seen[1],
            "wasmtime-wasi's answers and file, then ours"
        );
        seen.swap_remove(0)
    }

    #[tokio::test]
    async fn writes_answer_as_wasmtime_wasi_s() {
        use Out::*;
        let rw = DescriptorFlags::READ | DescriptorFlags::WRITE;
        // The budget is 0 after a write until the pollable is ready; a
        // second write before it traps; the offset advances.
        let (answers, file) = both_write(
            "position",
            0,
            "text",
            rw,
            Mode::Position(7),
            &[
                CheckWrite,
                Write(b"SEEDED"),
                CheckWrite,
                Flush,
                Write(b"x"),
                Ready,
                CheckWrite,
                Write(b" W"),
                Ready,
                BlockingWriteAndFlush(b"ORLD!\n"),
                CheckWrite,
            ],
        )
        .await;
        assert_eq!(answers[0], "65536", "{answers:?}");
        assert_eq!(answers[2], "0", "{answers:?}");
        assert!(
            answers[4].starts_with("trap: write not permitted"),
            "{answers:?}"
        );
        assert_eq!(file, b"hello, SEEDED WORLD!\n");
        // Appends go to the end whatever was written before.
        let (_, file) = both_write(
            "append",
            0,
            "text",
            rw,
            Mode::Append,
            &[
                Write(b"one "),
                Ready,
                BlockingWriteAndFlush(b"two\n"),
                CheckWrite,
            ],
        )
        .await;
        assert_eq!(file, b"hello, seeded world\none two\n");
        // Past the end: a hole of zeros.
        let (_, file) = both_write(
            "hole",
            0,
            "text",
            rw,
            Mode::Position(24),
            &[BlockingWriteAndFlush(b"!")],
        )
        .await;
        assert_eq!(file.len(), 25);
        // An I/O error (a file opened for reading: EBADF) shows at the
        // first check after the pollable is ready, once, then `closed`.
        let (answers, _) = both_write(
            "read-only-fd",
            0,
            "text",
            DescriptorFlags::READ,
            Mode::Position(0),
            &[
                CheckWrite,
                Write(b"no"),
                Flush,
                Ready,
                CheckWrite,
                CheckWrite,
            ],
        )
        .await;
        assert_eq!(
            answers[4],
            format!("failed: errno Some({})", libc::EBADF),
            "{answers:?}"
        );
        let (answers, _) = both_write(
            "read-only-fd-blocking",
            0,
            "text",
            DescriptorFlags::READ,
            Mode::Append,
            &[BlockingWriteAndFlush(b"no"), CheckWrite],
        )
        .await;
        assert_eq!(
            answers[0],
            format!("failed: errno Some({})", libc::EBADF),
            "{answers:?}"
        );
        // A read-only directory's file: `not-permitted` at once.
        let (answers, _) = both_write(
            "read-only-dir",
            1,
            "text",
            DescriptorFlags::READ,
            Mode::Append,
            &[],
        )
        .await;
        assert_eq!(answers, [format!("{:?}", ErrorCode::NotPermitted)]);
        // A directory: `bad-descriptor`.
        let mut host = host("dir-write", &[]);
        let dir = Resource::new_borrow(host.dirs[0].rep());
        for which in [Which::Theirs, Which::Ours] {
            for mode in [Mode::Position(0), Mode::Append] {
                assert_eq!(
                    output(&mut host, which, &dir, mode).err(),
                    Some(ErrorCode::BadDescriptor)
                );
            }
        }
    }
}
