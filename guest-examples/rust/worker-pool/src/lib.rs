//! A semaphore eventfd hands out work items to a pool of worker guests.
//!
//! - `jobs` (semaphore, non-blocking): its counter is the number of jobs
//!   waiting; each read takes exactly one.
//! - `done` (counter): workers add 1 per finished job; the dispatcher reads
//!   the sum.
//! - `quit` (counter): the dispatcher writes it once all jobs are done.
//!
//! ```text
//! wasi-eventfd run --eventfd jobs=0,semaphore,nonblock --eventfd done=0 --eventfd quit=0 \
//!     --with worker.wasm --with worker.wasm --with worker.wasm dispatcher.wasm [JOBS]
//! ```

pub use wasi_eventfd_guest::{poll, Error, EventFd};

/// The shared eventfd the host preopened under `name`, or a hint and exit
/// status 2.
pub fn preopen(name: &str) -> EventFd {
    EventFd::preopened(name).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2)
    })
}

/// One job's work: something that takes a little CPU time.
pub fn work(seed: u64) -> u64 {
    (0..200_000u64).fold(seed, |h, i| (h ^ i).wrapping_mul(0x100_0000_01b3))
}
