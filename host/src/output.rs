//! Guest stdout and stderr that reach the host's a whole line at a time.
//!
//! Guests run concurrently and share the host's stdout; a guest's libc may
//! write one line in several pieces (wasi-libc's `printf` does), and those
//! pieces would interleave with other guests' lines. Each guest instead gets
//! its own buffer that passes on complete lines only, in one write each.

use std::io::{self, Write};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError, StreamResult};

/// A guest that never ends a line still gets its output through once this
/// much is pending.
const MAX_PENDING: usize = 64 * 1024;

/// Which of the host's streams a guest stream goes to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Sink {
    Stdout,
    Stderr,
}

impl Sink {
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
}

/// One guest's stdout or stderr (a [`StdoutStream`] for its `WasiCtx`).
pub(crate) struct LineOutput(Arc<LineBuffer>);

impl LineOutput {
    pub(crate) fn new(sink: Sink) -> Self {
        LineOutput(Arc::new(LineBuffer {
            sink,
            pending: Mutex::new(Vec::new()),
        }))
    }
}

struct LineBuffer {
    sink: Sink,
    /// The start of a line not yet ended.
    pending: Mutex<Vec<u8>>,
}

impl LineBuffer {
    fn write(&self, bytes: &[u8]) -> io::Result<()> {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.extend_from_slice(bytes);
        let complete = match pending.iter().rposition(|&b| b == b'\n') {
            Some(newline) => newline + 1,
            None if pending.len() > MAX_PENDING => pending.len(),
            None => return Ok(()),
        };
        let rest = pending.split_off(complete);
        let lines = std::mem::replace(&mut *pending, rest);
        self.sink.write_all(&lines)
    }
}

impl Drop for LineBuffer {
    fn drop(&mut self) {
        // The guest is gone: pass on what it left unfinished.
        let pending = self.pending.get_mut().unwrap_or_else(|p| p.into_inner());
        if !pending.is_empty() {
            let _ = self.sink.write_all(pending);
        }
    }
}

impl IsTerminal for LineOutput {
    fn is_terminal(&self) -> bool {
        match self.0.sink {
            Sink::Stdout => io::IsTerminal::is_terminal(&io::stdout()),
            Sink::Stderr => io::IsTerminal::is_terminal(&io::stderr()),
        }
    }
}

impl StdoutStream for LineOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(LineStream(Arc::clone(&self.0)))
    }

    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(LineStream(Arc::clone(&self.0)))
    }
}

struct LineStream(Arc<LineBuffer>);

#[async_trait::async_trait]
impl Pollable for LineStream {
    async fn ready(&mut self) {}
}

#[async_trait::async_trait]
impl OutputStream for LineStream {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.0
            .write(&bytes)
            .map_err(|e| StreamError::LastOperationFailed(e.into()))
    }

    fn flush(&mut self) -> StreamResult<()> {
        // Lines go out as they end; a partial line waits for its end (or
        // for the guest to finish), so it cannot be split by other guests.
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(MAX_PENDING)
    }
}

impl AsyncWrite for LineStream {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(self.0.write(buf).map(|()| buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
