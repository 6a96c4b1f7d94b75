//! An async guest on [wstd](https://docs.rs/wstd), the async runtime for
//! WASI 0.2 components, awaiting an eventfd that another guest writes,
//! while its other task keeps running on a timer.
//!
//! ```text
//! wasi-eventfd run --eventfd events=0 --eventfd ack=0 --with poster.wasm waiter.wasm [COUNT]
//! ```
//!
//! `poster [COUNT]` (default 5, what a `--with` guest gets) writes 1, 2, …,
//! COUNT to `events`, pausing before each and waiting for the waiter's
//! `ack` after each, so that every value is read on its own (an eventfd
//! adds up writes that nobody has read yet). It is a plain blocking guest.
//!
//! `waiter [COUNT]` runs two tasks in one guest: one awaits `events`
//! (`read_async`: the wstd reactor waits on the eventfd's pollable) and
//! acknowledges each value; the other ticks on a wstd timer meanwhile. A
//! blocking `read` would suspend the whole guest, ticks included.

/// How many values `poster` writes, and `waiter` reads, without an
/// argument.
pub const DEFAULT_COUNT: u64 = 5;

/// COUNT from the command line, or a usage message and exit status 2.
pub fn count(program: &str) -> u64 {
    match std::env::args().nth(1).map(|n| n.parse()) {
        None => DEFAULT_COUNT,
        Some(Ok(n)) => n,
        Some(Err(_)) => {
            eprintln!("usage: {program} [COUNT]");
            std::process::exit(2)
        }
    }
}
