//! The `pong` half of ping-pong, written with component-model async
//! (WASI 0.3, **experimental**): it uses the `async-types` interface and
//! exports `wasi:cli/run@0.3.0`, and plays with the WASI 0.2 `ping` of the
//! `ping-pong` example (or the C one) through the same shared eventfds.
//!
//! ```text
//! wasi-eventfd run --eventfd ping=0 --eventfd pong=0 --with async-pong.wasm ping.wasm [ROUNDS]
//! ```
//!
//! One guest, two tasks: while the answering task waits on two eventfds at
//! once (`ping`, shared, and `beats`, its own), a heartbeat task sleeps on a
//! timer and writes `beats` every 10 ms. Neither blocks the other: a read
//! that waits suspends only the task that awaits it.
//!
//! The answering task keeps its two reads in flight across loop turns and
//! never drops one: a read the host has already completed holds a count,
//! and dropping it would throw that count away (a read that is still
//! pending consumes nothing when dropped). So every beat written is read
//! once, which the guest checks at the end.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;

use futures::future::{select, Either};
use futures::join;

// The eventfds come from the guest crate (`wasi_eventfd_guest::p3`); this
// program generates only what it adds: a WASI 0.3 clock and the `run`
// export. WASI 0.3.0 (as wasmtime 48 has it) is next to the examples; copy
// it next to your project.
wit_bindgen::generate!({
    inline: "
        package wasi-eventfd:async-pong;

        world async-pong {
            import wasi:clocks/monotonic-clock@0.3.0;
            export wasi:cli/run@0.3.0;
        }
    ",
    path: "../../wasi-0.3",
    world: "wasi-eventfd:async-pong/async-pong",
    generate_all,
});

use wasi::clocks::monotonic_clock;
use wasi_eventfd_guest::p3::{EventFd, Flags};
use wasi_eventfd_guest::Error;

/// What `ping` writes for one more round trip, and to finish (as in the
/// `ping-pong` example).
const BALL: u64 = 1;
const STOP: u64 = 2;

/// How often the heartbeat task writes `beats`, in nanoseconds.
const HEARTBEAT: u64 = 10_000_000;

struct AsyncPong;

export!(AsyncPong);

impl exports::wasi::cli::run::Guest for AsyncPong {
    async fn run() -> Result<(), ()> {
        let (Ok(ping), Ok(pong)) = (EventFd::preopened("ping"), EventFd::preopened("pong")) else {
            eprintln!("async-pong: run with --eventfd ping=0 --eventfd pong=0");
            return Err(());
        };
        let beats = EventFd::new(0, Flags::empty()).map_err(|e| fail("create", e))?;
        let stopped = Cell::new(false);

        let heartbeat = async {
            let mut written = 0u64;
            loop {
                monotonic_clock::wait_for(HEARTBEAT).await;
                beats.write(1).await.map_err(|e| fail("write beats", e))?;
                written += 1;
                // One last beat after the answering task stopped, so that
                // its pending read of `beats` completes.
                if stopped.get() {
                    return Ok(written);
                }
            }
        };

        let answering = async {
            let (mut balls, mut beats_read, mut turns) = (0u64, 0u64, 0u64);
            let mut ping_read: Pin<Box<dyn Future<Output = _>>> = Box::pin(ping.read());
            let mut beat_read: Pin<Box<dyn Future<Output = _>>> = Box::pin(beats.read());
            loop {
                turns += 1;
                match select(ping_read.as_mut(), beat_read.as_mut()).await {
                    Either::Left((ball, _)) => {
                        match ball.map_err(|e| fail("read ping", e))? {
                            BALL => pong.write(BALL).await.map_err(|e| fail("write pong", e))?,
                            STOP => break,
                            other => {
                                eprintln!("async-pong: unexpected value {other} on ping");
                                return Err(());
                            }
                        }
                        balls += 1;
                        ping_read = Box::pin(ping.read());
                    }
                    Either::Right((beat, _)) => {
                        beats_read += beat.map_err(|e| fail("read beats", e))?;
                        beat_read = Box::pin(beats.read());
                    }
                }
            }
            stopped.set(true);
            beats_read += beat_read.await.map_err(|e| fail("read beats", e))?;
            Ok((balls, beats_read, turns))
        };

        let (answered, heartbeat) = join!(answering, heartbeat);
        let ((balls, mut beats_read, turns), beats_written) = (answered?, heartbeat?);
        // Nothing is in flight any more: take what the last beats left.
        beats.set_nonblocking(true);
        match beats.read().await {
            Ok(left) => beats_read += left,
            Err(Error::WouldBlock) => {}
            Err(e) => {
                fail("read beats", e);
                return Err(());
            }
        }
        println!(
            "async-pong: answered {balls} balls in {turns} waits on two eventfds at once; \
             meanwhile the heartbeat task wrote {beats_written} beats, and {beats_read} were read"
        );
        if beats_read != beats_written {
            eprintln!("async-pong: beats lost or invented");
            return Err(());
        }
        Ok(())
    }
}

fn fail(what: &str, error: Error) {
    eprintln!("async-pong: {what}: {error}");
}

// A Rust binary needs a `main`; the guest's entry point is `run` above
// (`wasi:cli/run@0.3.0`), which the host prefers.
fn main() {}
