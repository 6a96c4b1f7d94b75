//! Guests' stdout and stderr: whole lines while a guest runs, everything
//! as soon as it waits.
//!
//! Guests run concurrently and share the host's stdout; a guest's libc may
//! write one line in several pieces (wasi-libc's `printf` does), and those
//! pieces would interleave with other guests' lines. So each guest gets its
//! own buffer that passes on complete lines only, each in one write.
//!
//! A partial line must not be held back for long, though: a prompt such as
//! `READY` (no newline) has to show before the guest waits for its input.
//! A guest's partial line is therefore released when the guest blocks (on
//! stdin, an eventfd, a poll, a sleep: whenever its task parks, see
//! [`ReleaseWhenParked`]) and when it ends. A flush alone cannot be the
//! signal: wasmtime's preview 1 `fd_write` flushes after every write, and
//! so does Rust's standard library on WASI 0.2, so a line written in pieces
//! is flushed piece by piece. Instead a flushed partial line goes out once
//! the guest has computed for [`STALE_AFTER`] (5 ms, half a scheduler tick)
//! without adding to it: a prompt shows within about 20 ms even if the
//! guest then computes without waiting, while a guest still writing its
//! line is never cut off mid-line by it. What counts is the CPU time the
//! guest itself used (in its task's polls that ended in an epoch yield),
//! not how many yields it made nor the time on the clock: a guest resumed
//! after other guests ran a tick yields again at once, having run for
//! microseconds, and a guest the OS deschedules between two pieces of a
//! line may yield as soon as it runs again.
//!
//! A guest waiting for room in the host's stream (below) is not released:
//! it waits in the middle of a write (wasmtime's preview 1 `fd_write` and
//! Rust's standard library write a long line in 4096-byte pieces, each after
//! a wait for room), and its partial line would be split from the rest.
//!
//! (`std::io::LineWriter` would do the buffering, but it writes a buffered
//! partial line and the rest of the line in two writes, between which
//! another guest's line can land.)
//!
//! # Bounds
//!
//! Everything held is bounded in bytes, whatever the guest does:
//!
//! - a guest stream's partial line: at most [`MAX_PENDING`] (64 KiB);
//! - a write: at most what the last `check-write` permitted, at most
//!   [`PERMIT`] (64 KiB). A bigger one breaks the `wasi:io/streams` contract
//!   and stops the guest with an error, as wasmtime's own streams do; WASI 0.3 writes are taken
//!   64 KiB at a time;
//! - the queue of a host stream (stdout, stderr): `check-write` permits
//!   nothing (and WASI 0.3 writes wait) while [`MAX_QUEUED`] (1 MiB) minus a
//!   permit is queued, so it holds at most 1 MiB plus, for each guest stream
//!   that was permitted or released before it filled, one permit and one
//!   partial line (128 KiB).
//!
//! # Errors
//!
//! The host's streams are written on threads of their own, after the guest's
//! write has returned, so a failed write (a closed pipe, as with `| head`; a
//! full disk, as with `> /dev/full`) cannot fail the write that caused it.
//! It fails every later write, flush and `check-write` of every guest stream
//! of that host stream, and ends every wait for room, as a pipe whose reader
//! has gone keeps failing; from then on nothing more is written to it. The
//! error is wasmtime's own for its stdout: a closed pipe closes the stream
//! (preview 1 `fd_write`: `EIO`, errno 29; WASI 0.3: `error-code.pipe`),
//! any other error fails the operation with the OS error (`/dev/full`:
//! preview 1 `ENOSPC`, errno 51; WASI 0.3: `error-code.io`).

use std::future::Future;
use std::io::{self, Write};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError, StreamResult};

/// A guest that never ends a line still gets its output through once this
/// much is pending: a guest stream never holds more.
const MAX_PENDING: usize = 64 * 1024;

/// How long a guest must compute, adding nothing to a flushed partial line,
/// for the line to go out (see the module docs).
const STALE_AFTER: Duration = Duration::from_millis(5);

/// What one `check-write` permits (wasmtime's stdout permits as much), and
/// the most a WASI 0.3 write takes at once.
const PERMIT: usize = 64 * 1024;

/// How many bytes of guests' output may wait for one of the host's
/// streams before guests writing to it wait for room: a reader that keeps
/// up never makes a guest wait; one that stops (`| less`, a full pipe)
/// makes the writing guests wait, parked, not the runner's threads.
const MAX_QUEUED: usize = 1 << 20;

/// A host stream's failed write, kept to fail every later use of it (see
/// the module docs, Errors). `io::Error` is not `Clone`: this is what makes
/// one again.
#[derive(Debug, Clone, Copy)]
struct Failure {
    raw_os_error: Option<i32>,
    kind: io::ErrorKind,
}

impl Failure {
    fn of(error: &io::Error) -> Self {
        Failure {
            raw_os_error: error.raw_os_error(),
            kind: error.kind(),
        }
    }

    /// The error again, with its OS code when it had one.
    fn io_error(self) -> io::Error {
        match self.raw_os_error {
            Some(code) => io::Error::from_raw_os_error(code),
            None => io::Error::from(self.kind),
        }
    }

    /// As wasmtime reports an error of its own stdout (`stream_error_from`
    /// in wasmtime-wasi 48's `cli.rs`): a broken pipe closes the stream
    /// (preview 1 maps that to `EIO`), any other error fails the operation
    /// (preview 1 maps its OS code to the errno, e.g. `ENOSPC`).
    fn stream_error(self) -> StreamError {
        if self.kind == io::ErrorKind::BrokenPipe {
            StreamError::Closed
        } else {
            StreamError::LastOperationFailed(self.io_error().into())
        }
    }
}

/// Which of the host's streams a guest stream goes to.
#[derive(Debug, Clone, Copy)]
enum Sink {
    Stdout,
    Stderr,
}

impl Sink {
    /// The thread that writes to this stream.
    fn writer(self) -> &'static Writer {
        static STDOUT: OnceLock<Writer> = OnceLock::new();
        static STDERR: OnceLock<Writer> = OnceLock::new();
        match self {
            Sink::Stdout => STDOUT.get_or_init(|| Writer::start(self)),
            Sink::Stderr => STDERR.get_or_init(|| Writer::start(self)),
        }
    }

    fn write_all(self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Sink::Stdout => {
                let mut out = io::stdout().lock();
                out.write_all(bytes)?;
                out.flush()
            }
            Sink::Stderr => io::stderr().lock().write_all(bytes),
        }
    }

    fn is_terminal(self) -> bool {
        match self {
            Sink::Stdout => io::IsTerminal::is_terminal(&io::stdout()),
            Sink::Stderr => io::IsTerminal::is_terminal(&io::stderr()),
        }
    }
}

/// Writes guests' output to one of the host's streams on a thread of its
/// own, in the order it was queued. A write to a pipe nobody reads blocks
/// this thread only: guests wait for room asynchronously (see
/// [`Writer::room`]), so deadlines, other guests and the runner go on.
struct Writer {
    queue: std::sync::mpsc::Sender<Vec<u8>>,
    /// Bytes queued and not yet written.
    queued: AtomicUsize,
    /// Notified whenever queued bytes have been written (or dropped after a
    /// failure).
    written: tokio::sync::Notify,
    /// The first failed write, if any: sticky.
    failed: OnceLock<Failure>,
}

impl Writer {
    fn start(sink: Sink) -> Writer {
        let (queue, chunks) = std::sync::mpsc::channel::<Vec<u8>>();
        let spawned = std::thread::Builder::new()
            .name(format!("guest-{sink:?}").to_lowercase())
            .spawn(move || {
                for chunk in chunks {
                    let writer = sink.writer();
                    // After a failure the bytes are dropped, as a closed
                    // pipe would: the guests hear of it on their next use.
                    if writer.failed.get().is_none() {
                        if let Err(error) = sink.write_all(&chunk) {
                            writer.fail(sink, &error);
                        }
                    }
                    writer.queued.fetch_sub(chunk.len(), Ordering::AcqRel);
                    writer.written.notify_waiters();
                }
            });
        if let Err(e) = spawned {
            tracing::warn!("cannot start the guest output thread ({e}); writing directly");
        }
        Writer {
            queue,
            queued: AtomicUsize::new(0),
            written: tokio::sync::Notify::new(),
            failed: OnceLock::new(),
        }
    }

    /// Notes the first failed write to the host's stream.
    fn fail(&self, sink: Sink, error: &io::Error) {
        if self.failed.set(Failure::of(error)).is_ok() {
            tracing::debug!(?sink, %error, "guests' output can no longer be written");
        }
    }

    /// The sticky failure, as the error for a guest's stream operation.
    fn check(&self) -> Result<(), Failure> {
        match self.failed.get() {
            Some(failure) => Err(*failure),
            None => Ok(()),
        }
    }

    /// Queues whole lines (or a released partial one), to go out in one
    /// write. Never waits; [`Writer::room`] is how guests are held back.
    /// On a thread where [`WriteHere`] is on, writes them now instead.
    fn send(&self, sink: Sink, chunk: Vec<u8>) -> Result<(), Failure> {
        self.check()?;
        if WRITE_HERE.get() {
            return sink.write_all(&chunk).map_err(|e| {
                self.fail(sink, &e);
                Failure::of(&e)
            });
        }
        let len = chunk.len();
        self.queued.fetch_add(len, Ordering::AcqRel);
        if let Err(unsent) = self.queue.send(chunk) {
            // No writer thread: write here.
            self.queued.fetch_sub(len, Ordering::AcqRel);
            return sink.write_all(&unsent.0).map_err(|e| {
                self.fail(sink, &e);
                Failure::of(&e)
            });
        }
        Ok(())
    }

    /// How many bytes a guest may write now: a whole [`PERMIT`] or nothing.
    fn room(&self) -> usize {
        if self.queued.load(Ordering::Acquire) + PERMIT <= MAX_QUEUED {
            PERMIT
        } else {
            0
        }
    }

    /// Whether a guest waiting for room may go on: there is room, or the
    /// stream has failed (the guest then gets the error).
    fn ready(&self) -> bool {
        self.failed.get().is_some() || self.room() > 0
    }

    /// Waits until `done` says so, re-checking whenever bytes are written.
    async fn until(&self, done: impl Fn(&Writer) -> bool) {
        loop {
            let written = self.written.notified();
            tokio::pin!(written);
            // Registered before the check: a write between the two still
            // wakes us.
            written.as_mut().enable();
            if done(self) {
                return;
            }
            written.await;
        }
    }
}

thread_local! {
    /// Whether guests' output is written by the thread that runs them.
    static WRITE_HERE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// While alive, guests' output is written by this thread as they write it
/// (a seeded run's, whose order must not depend on a writer thread; a
/// reader that stalls stalls the run). Off again when dropped.
pub(crate) struct WriteHere(());

impl WriteHere {
    pub(crate) fn start() -> Self {
        WRITE_HERE.set(true);
        WriteHere(())
    }
}

impl Drop for WriteHere {
    fn drop(&mut self) {
        WRITE_HERE.set(false);
    }
}

/// Waits until every byte guests have written so far has reached the
/// host's stdout and stderr, or until `deadline`.
pub(crate) async fn drained(deadline: Option<tokio::time::Instant>) {
    let all = async {
        for sink in [Sink::Stdout, Sink::Stderr] {
            sink.writer()
                .until(|w| w.queued.load(Ordering::Acquire) == 0)
                .await;
        }
    };
    match deadline {
        Some(deadline) => {
            let _ = tokio::time::timeout_at(deadline, all).await;
        }
        None => all.await,
    }
}

/// One guest's stdout and stderr buffers.
#[derive(Clone)]
pub(crate) struct GuestOutput {
    stdout: Arc<LineBuffer>,
    stderr: Arc<LineBuffer>,
}

impl GuestOutput {
    pub(crate) fn new() -> Self {
        GuestOutput {
            stdout: Arc::new(LineBuffer::new(Sink::Stdout)),
            stderr: Arc::new(LineBuffer::new(Sink::Stderr)),
        }
    }

    /// The guest's stdout, for its `WasiCtx`.
    pub(crate) fn stdout(&self) -> LineOutput {
        LineOutput(Arc::clone(&self.stdout))
    }

    /// The guest's stderr, for its `WasiCtx`.
    pub(crate) fn stderr(&self) -> LineOutput {
        LineOutput(Arc::clone(&self.stderr))
    }

    /// Passes on every partial line now: the guest is waiting (but not of
    /// a stream it waits to write more to, see the module docs).
    fn release(&self) {
        // Every park of every guest comes here; most have nothing pending.
        if !self.has_pending() {
            return;
        }
        for buffer in [&self.stdout, &self.stderr] {
            if !buffer.waiting_for_room() {
                // Nowhere to report a failed write to: the guest is not
                // running. It gets the error on its next use of the stream.
                let _ = buffer.release();
            }
        }
    }

    /// The guest yielded while computing, after running for `ran` since it
    /// was resumed (zero when nothing was pending then): passes on a
    /// flushed partial line that it has added nothing to for
    /// [`STALE_AFTER`] of running.
    fn yielded(&self, ran: Duration) {
        for buffer in [&self.stdout, &self.stderr] {
            if !buffer.waiting_for_room() {
                let _ = buffer.release_if_stale(ran);
            }
        }
    }

    /// How many hold the guest's stdout: these buffers, and its WASI
    /// context while it has one.
    #[cfg(test)]
    pub(crate) fn stdout_holders(&self) -> usize {
        Arc::strong_count(&self.stdout)
    }

    /// Whether either stream holds a partial line.
    fn has_pending(&self) -> bool {
        self.stdout.has_pending.load(Ordering::Acquire)
            || self.stderr.has_pending.load(Ordering::Acquire)
    }
}

/// Runs a guest's task and releases its partial lines whenever the task
/// parks: the guest waits for something (input, an eventfd, a timer), so
/// no more of that line is coming soon.
///
/// A task that only yields (wasmtime's epoch yield, which lets other guests
/// run while this one computes) is not waiting: it wakes itself before it
/// returns `Pending`, and its partial line stays held, unless the guest
/// flushed it and has added nothing since the previous yield.
pub(crate) struct ReleaseWhenParked<F> {
    task: Pin<Box<F>>,
    output: GuestOutput,
    /// The flagging waker handed to the task, and the same as a `Waker`.
    waker: Option<(Arc<FlaggingWaker>, Waker)>,
    /// Each yield counts as [`STALE_AFTER`] of computing, instead of the
    /// CPU time the thread measured (a seeded run's: the same every run).
    counting_yields: bool,
}

impl<F> ReleaseWhenParked<F> {
    pub(crate) fn new(output: GuestOutput, task: F) -> Self {
        ReleaseWhenParked {
            task: Box::pin(task),
            output,
            waker: None,
            counting_yields: false,
        }
    }

    /// Counts yields, not CPU time: a flushed partial line goes out at the
    /// second yield that added nothing to it.
    pub(crate) fn counting_yields(mut self) -> Self {
        self.counting_yields = true;
        self
    }
}

/// The CPU time the calling thread has used. A task is polled on one
/// thread, and a guest's code and host calls run inside its poll, so the
/// difference across a poll is what the guest computed: not the time the
/// OS ran other threads meanwhile, which on a busy machine can be longer
/// than a tick and would make a guest between two pieces of a line look
/// idle.
fn thread_cpu_time() -> Duration {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(
        u64::try_from(now.tv_sec).unwrap_or(0),
        u32::try_from(now.tv_nsec).unwrap_or(0),
    )
}

/// A task's waker that notes whether it was woken.
struct FlaggingWaker {
    inner: Waker,
    woken: AtomicBool,
}

impl Wake for FlaggingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.inner.wake_by_ref();
    }
}

impl<F: Future> Future for ReleaseWhenParked<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        // One waker for the task's life (a task's waker rarely changes).
        let (flagging, waker) = match &this.waker {
            Some((flagging, waker)) if flagging.inner.will_wake(cx.waker()) => (flagging, waker),
            _ => {
                let flagging = Arc::new(FlaggingWaker {
                    inner: cx.waker().clone(),
                    woken: AtomicBool::new(false),
                });
                let waker = Waker::from(Arc::clone(&flagging));
                let (flagging, waker) = this.waker.insert((flagging, waker));
                (&*flagging, &*waker)
            }
        };
        flagging.woken.store(false, Ordering::Release);
        // Timed only when a partial line may be going stale: most polls
        // (a ping-pong's) have nothing pending.
        let resumed = (this.output.has_pending() && !this.counting_yields).then(thread_cpu_time);
        let poll = this.task.as_mut().poll(&mut Context::from_waker(waker));
        if poll.is_pending() {
            if flagging.woken.load(Ordering::Acquire) {
                let ran = match resumed {
                    _ if this.counting_yields => STALE_AFTER,
                    Some(at) => thread_cpu_time().saturating_sub(at),
                    None => Duration::ZERO,
                };
                this.output.yielded(ran);
            } else {
                this.output.release();
            }
        }
        poll
    }
}

/// One guest's stdout or stderr (a [`StdoutStream`] for its `WasiCtx`).
pub(crate) struct LineOutput(Arc<LineBuffer>);

struct LineBuffer {
    sink: Sink,
    pending: Mutex<Pending>,
    /// Whether `pending` holds anything: a parked guest with nothing
    /// pending (the common case) costs one load, not a lock.
    has_pending: AtomicBool,
    /// Bytes the guest may still write under the last `check-write`'s
    /// permit. One for all its streams to this sink (a guest may open
    /// many), so that they cannot add up permits.
    permit: AtomicUsize,
    /// How many of the guest's streams to this sink wait for room in its
    /// queue: while one does, its partial line is not released.
    waiting: AtomicUsize,
}

/// The start of a line not yet ended, and what the guest did since.
#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    /// The guest flushed the stream since these bytes were written.
    flushed: bool,
    /// The guest wrote to the stream since its last yield.
    touched: bool,
    /// How long the guest has run since, adding nothing, in whole runs
    /// between yields (a run in which it wrote does not count).
    idle: Duration,
}

impl LineBuffer {
    fn new(sink: Sink) -> Self {
        LineBuffer {
            sink,
            pending: Mutex::new(Pending::default()),
            has_pending: AtomicBool::new(false),
            permit: AtomicUsize::new(0),
            waiting: AtomicUsize::new(0),
        }
    }

    fn waiting_for_room(&self) -> bool {
        self.waiting.load(Ordering::Acquire) > 0
    }

    /// Waits until the sink has room or has failed, marked as waiting for
    /// room meanwhile.
    async fn wait_for_room(self: Arc<Self>) {
        let writer = self.sink.writer();
        if writer.ready() {
            return;
        }
        /// Unmarks the buffer however the wait ends (done or dropped).
        struct Waiting<'a>(&'a LineBuffer);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.waiting.fetch_sub(1, Ordering::AcqRel);
            }
        }
        self.waiting.fetch_add(1, Ordering::AcqRel);
        let _waiting = Waiting(&self);
        writer.until(Writer::ready).await
    }

    /// `check-write`: the sink's room (or its failure), which the next
    /// writes may use up.
    fn check_write(&self) -> StreamResult<usize> {
        let writer = self.sink.writer();
        writer.check().map_err(Failure::stream_error)?;
        let room = writer.room();
        self.permit.store(room, Ordering::Release);
        Ok(room)
    }

    /// Takes `len` bytes of the permit; a write over it traps, as the
    /// `wasi:io/streams` contract says and wasmtime's own streams do.
    fn take_permit(&self, len: usize) -> StreamResult<()> {
        self.permit
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |permit| {
                permit.checked_sub(len)
            })
            .map(drop)
            .map_err(|permit| {
                StreamError::Trap(wasmtime::format_err!(
                    "write of {len} bytes to {:?} exceeds the {permit} bytes check-write permitted",
                    self.sink
                ))
            })
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        // Each critical section leaves `Pending` whole: a panic elsewhere
        // cannot leave it half-updated.
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self, bytes: &[u8]) -> Result<(), Failure> {
        let mut guard = self.pending();
        let pending = &mut *guard;
        pending.touched = true;
        pending.idle = Duration::ZERO;
        let total = pending.bytes.len() + bytes.len();
        let complete = match bytes.iter().rposition(|&b| b == b'\n') {
            // What follows the last newline stays pending, unless that
            // would hold more than MAX_PENDING.
            Some(newline) if bytes.len() - newline - 1 <= MAX_PENDING => {
                pending.bytes.len() + newline + 1
            }
            Some(_) => total,
            None if total > MAX_PENDING => total,
            None => {
                pending.bytes.extend_from_slice(bytes);
                pending.flushed = false;
                self.has_pending.store(true, Ordering::Release);
                return Ok(());
            }
        };
        let lines = if pending.bytes.is_empty() {
            // The common case, whole lines: no copy.
            let (lines, rest) = bytes.split_at(complete);
            pending.bytes.extend_from_slice(rest);
            std::borrow::Cow::Borrowed(lines)
        } else {
            pending.bytes.extend_from_slice(bytes);
            let rest = pending.bytes.split_off(complete);
            std::borrow::Cow::Owned(std::mem::replace(&mut pending.bytes, rest))
        };
        pending.flushed = false;
        self.has_pending
            .store(!pending.bytes.is_empty(), Ordering::Release);
        self.sink.writer().send(self.sink, lines.into_owned())
    }

    /// The guest flushed the stream.
    fn flush(&self) {
        if self.has_pending.load(Ordering::Acquire) {
            self.pending().flushed = true;
        }
    }

    /// Writes out whatever is pending, ended or not.
    fn release(&self) -> Result<(), Failure> {
        if !self.has_pending.load(Ordering::Acquire) {
            return Ok(());
        }
        let mut pending = self.pending();
        self.has_pending.store(false, Ordering::Release);
        let bytes = std::mem::take(&mut *pending).bytes;
        if bytes.is_empty() {
            return Ok(());
        }
        self.sink.writer().send(self.sink, bytes)
    }

    /// At a yield, after the guest ran for `ran`: writes out a flushed
    /// partial line once the guest has run for [`STALE_AFTER`] without
    /// adding to it.
    fn release_if_stale(&self, ran: Duration) -> Result<(), Failure> {
        if !self.has_pending.load(Ordering::Acquire) {
            return Ok(());
        }
        let mut pending = self.pending();
        if std::mem::take(&mut pending.touched) || !pending.flushed {
            return Ok(());
        }
        pending.idle = pending.idle.saturating_add(ran);
        if pending.idle < STALE_AFTER {
            return Ok(());
        }
        drop(pending);
        self.release()
    }
}

impl Drop for LineBuffer {
    fn drop(&mut self) {
        // The guest is gone: pass on what it left unfinished.
        let _ = self.release();
    }
}

impl IsTerminal for LineOutput {
    fn is_terminal(&self) -> bool {
        self.0.sink.is_terminal()
    }
}

impl StdoutStream for LineOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(LineStream::new(&self.0))
    }

    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(LineStream::new(&self.0))
    }
}

/// A waiting guest's future of room in its sink's queue.
type RoomFuture = Pin<Box<dyn Future<Output = ()> + Send + Sync>>;

struct LineStream {
    buffer: Arc<LineBuffer>,
    /// For `AsyncWrite`: the wait for room, while there is none.
    room: Option<RoomFuture>,
}

impl LineStream {
    fn new(buffer: &Arc<LineBuffer>) -> Self {
        LineStream {
            buffer: Arc::clone(buffer),
            room: None,
        }
    }

    fn writer(&self) -> &'static Writer {
        self.buffer.sink.writer()
    }
}

#[async_trait::async_trait]
impl Pollable for LineStream {
    async fn ready(&mut self) {
        Arc::clone(&self.buffer).wait_for_room().await
    }
}

#[async_trait::async_trait]
impl OutputStream for LineStream {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.writer().check().map_err(Failure::stream_error)?;
        self.buffer.take_permit(bytes.len())?;
        // The host stream may have failed since the check above.
        self.buffer.write(&bytes).map_err(Failure::stream_error)
    }

    fn flush(&mut self) -> StreamResult<()> {
        self.writer().check().map_err(Failure::stream_error)?;
        // Not a release: preview 1 and Rust's std flush after every write
        // (see the module docs).
        self.buffer.flush();
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        // 0 while the queue is full: the guest then waits on `ready`.
        self.buffer.check_write()
    }
}

impl AsyncWrite for LineStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            if let Err(failure) = self.writer().check() {
                self.room = None;
                return Poll::Ready(Err(failure.io_error()));
            }
            if self.writer().room() > 0 {
                break;
            }
            let mut room = match self.room.take() {
                Some(room) => room,
                None => Box::pin(Arc::clone(&self.buffer).wait_for_room()),
            };
            if room.as_mut().poll(cx).is_pending() {
                self.room = Some(room);
                return Poll::Pending;
            }
        }
        self.room = None;
        let take = buf.len().min(PERMIT);
        let Some(taken) = buf.get(..take) else {
            return Poll::Ready(Ok(0));
        };
        Poll::Ready(
            self.buffer
                .write(taken)
                .map(|()| take)
                .map_err(Failure::io_error),
        )
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        // wasmtime's WASI 0.3 stdout flushes after every write, not when
        // the guest asks: releasing here would split lines. A waiting
        // guest's partial line goes out when its task parks.
        Poll::Ready(self.writer().check().map_err(Failure::io_error))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.buffer.release().map_err(Failure::io_error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The errno of a failure's stream error, as preview 1's `fd_write`
    /// would report it: `None` for a closed stream (wasmtime-wasi maps
    /// that to `EIO`).
    fn os_error(failure: Failure) -> Option<i32> {
        match failure.stream_error() {
            StreamError::Closed => None,
            StreamError::LastOperationFailed(e) => e
                .downcast::<io::Error>()
                .ok()
                .and_then(|e| e.raw_os_error()),
            StreamError::Trap(e) => panic!("a failed host stream traps: {e}"),
        }
    }

    #[test]
    fn a_broken_pipe_closes_the_stream_and_other_errors_keep_their_os_code() {
        let epipe = io::Error::from_raw_os_error(libc::EPIPE);
        assert_eq!(os_error(Failure::of(&epipe)), None);
        // A broken pipe made without an OS code (Rust's own) is one too.
        let broken = io::Error::from(io::ErrorKind::BrokenPipe);
        assert_eq!(os_error(Failure::of(&broken)), None);
        let enospc = io::Error::from_raw_os_error(libc::ENOSPC);
        assert_eq!(os_error(Failure::of(&enospc)), Some(libc::ENOSPC));
        // WASI 0.3 guests get the io::Error itself, code and all.
        let again = Failure::of(&enospc).io_error();
        assert_eq!(again.raw_os_error(), Some(libc::ENOSPC));
        assert_eq!(
            Failure::of(&epipe).io_error().kind(),
            io::ErrorKind::BrokenPipe
        );
    }

    #[test]
    fn a_write_over_the_permit_traps_and_takes_nothing() {
        let buffer = LineBuffer::new(Sink::Stderr);
        buffer.permit.store(10, Ordering::Release);
        assert!(matches!(buffer.take_permit(11), Err(StreamError::Trap(_))));
        // The failed write took none of the permit.
        assert!(buffer.take_permit(6).is_ok());
        assert!(buffer.take_permit(4).is_ok());
        assert!(matches!(buffer.take_permit(1), Err(StreamError::Trap(_))));
        assert!(buffer.take_permit(0).is_ok());
    }
}
