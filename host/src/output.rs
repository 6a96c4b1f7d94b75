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
//! the guest has written nothing more to that stream for a whole scheduler
//! tick (10 ms of computing, two epoch yields): a prompt shows within about
//! 20 ms even if the guest then computes without waiting, while a guest
//! still writing its line is never cut off mid-line by it.
//!
//! (`std::io::LineWriter` would do the buffering, but it writes a buffered
//! partial line and the rest of the line in two writes, between which
//! another guest's line can land.)

use std::future::Future;
use std::io::{self, Write};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Wake, Waker};

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError, StreamResult};

/// A guest that never ends a line still gets its output through once this
/// much is pending.
const MAX_PENDING: usize = 64 * 1024;

/// How many bytes of guests' output may wait for one of the host's
/// streams before guests writing to it wait for room: a reader that keeps
/// up never makes a guest wait; one that stops (`| less`, a full pipe)
/// makes the writing guests wait, parked, not the runner's threads.
const MAX_QUEUED: usize = 1 << 20;

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
    /// Notified whenever queued bytes have been written.
    written: tokio::sync::Notify,
}

impl Writer {
    fn start(sink: Sink) -> Writer {
        let (queue, chunks) = std::sync::mpsc::channel::<Vec<u8>>();
        let spawned = std::thread::Builder::new()
            .name(format!("guest-{sink:?}").to_lowercase())
            .spawn(move || {
                for chunk in chunks {
                    // Nowhere to report a failed write: the bytes are gone
                    // as they would be for a process writing to a closed pipe.
                    let _ = sink.write_all(&chunk);
                    let writer = sink.writer();
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
        }
    }

    /// Queues whole lines (or a released partial one), to go out in one
    /// write. Never waits; [`Writer::room`] is how guests are held back.
    fn send(&self, sink: Sink, chunk: Vec<u8>) -> io::Result<()> {
        let len = chunk.len();
        self.queued.fetch_add(len, Ordering::AcqRel);
        if let Err(unsent) = self.queue.send(chunk) {
            // No writer thread: write here.
            self.queued.fetch_sub(len, Ordering::AcqRel);
            return sink.write_all(&unsent.0);
        }
        Ok(())
    }

    /// How many bytes a guest may write now: all or nothing, so that a
    /// line is never taken in two pieces with a wait for room between them
    /// (a waiting guest's partial line is released, and would be split).
    fn room(&self) -> usize {
        if self.queued.load(Ordering::Acquire) + MAX_PENDING <= MAX_QUEUED {
            MAX_PENDING
        } else {
            0
        }
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

    /// Passes on every partial line now: the guest is waiting.
    fn release(&self) {
        // Nowhere to report a failed write to: the guest is not running.
        let _ = self.stdout.release();
        let _ = self.stderr.release();
    }

    /// The guest yielded while computing: passes on a flushed partial line
    /// that nothing was added to since the last yield.
    fn yielded(&self) {
        let _ = self.stdout.release_if_stale();
        let _ = self.stderr.release_if_stale();
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
}

impl<F> ReleaseWhenParked<F> {
    pub(crate) fn new(output: GuestOutput, task: F) -> Self {
        ReleaseWhenParked {
            task: Box::pin(task),
            output,
            waker: None,
        }
    }
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
        let poll = this.task.as_mut().poll(&mut Context::from_waker(waker));
        if poll.is_pending() {
            if flagging.woken.load(Ordering::Acquire) {
                this.output.yielded();
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
}

/// The start of a line not yet ended, and what the guest did since.
#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    /// The guest flushed the stream since these bytes were written.
    flushed: bool,
    /// A yield saw them flushed, and the guest has written nothing since.
    stale: bool,
}

impl LineBuffer {
    fn new(sink: Sink) -> Self {
        LineBuffer {
            sink,
            pending: Mutex::new(Pending::default()),
            has_pending: AtomicBool::new(false),
        }
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        // Each critical section leaves `Pending` whole: a panic elsewhere
        // cannot leave it half-updated.
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self, bytes: &[u8]) -> io::Result<()> {
        let mut guard = self.pending();
        let pending = &mut *guard;
        pending.stale = false;
        let complete = match bytes.iter().rposition(|&b| b == b'\n') {
            Some(newline) => pending.bytes.len() + newline + 1,
            None if pending.bytes.len() + bytes.len() > MAX_PENDING => {
                pending.bytes.len() + bytes.len()
            }
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
    fn release(&self) -> io::Result<()> {
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

    /// Writes out a flushed partial line on the second yield that finds
    /// nothing added to it.
    fn release_if_stale(&self) -> io::Result<()> {
        if !self.has_pending.load(Ordering::Acquire) {
            return Ok(());
        }
        let mut pending = self.pending();
        if !pending.flushed {
            return Ok(());
        }
        if !pending.stale {
            pending.stale = true;
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

    fn room(&self) -> usize {
        self.buffer.sink.writer().room()
    }

    fn wait_for_room(&self) -> RoomFuture {
        let writer = self.buffer.sink.writer();
        Box::pin(writer.until(|w| w.room() > 0))
    }
}

#[async_trait::async_trait]
impl Pollable for LineStream {
    async fn ready(&mut self) {
        self.wait_for_room().await
    }
}

#[async_trait::async_trait]
impl OutputStream for LineStream {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.buffer
            .write(&bytes)
            .map_err(|e| StreamError::LastOperationFailed(e.into()))
    }

    fn flush(&mut self) -> StreamResult<()> {
        // Not a release: preview 1 and Rust's std flush after every write
        // (see the module docs).
        self.buffer.flush();
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        // 0 while the queue is full: the guest then waits on `ready`.
        Ok(self.room())
    }
}

impl AsyncWrite for LineStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        while self.room() == 0 {
            let mut room = self.room.take().unwrap_or_else(|| self.wait_for_room());
            if room.as_mut().poll(cx).is_pending() {
                self.room = Some(room);
                return Poll::Pending;
            }
        }
        self.room = None;
        let take = buf.len().min(self.room());
        let Some(taken) = buf.get(..take) else {
            return Poll::Ready(Ok(0));
        };
        Poll::Ready(self.buffer.write(taken).map(|()| take))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        // wasmtime's WASI 0.3 stdout flushes after every write, not when
        // the guest asks: releasing here would split lines. A waiting
        // guest's partial line goes out when its task parks.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.buffer.release())
    }
}
