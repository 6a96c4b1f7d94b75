//! Two guests bounce a counter through two shared eventfds, `ping` and
//! `pong`: `ping` writes 1 to `ping` and blocks reading `pong`; `pong`
//! blocks reading `ping` and writes 1 back to `pong`.
//!
//! ```text
//! wasi-eventfd run --eventfd ping=0 --eventfd pong=0 --with pong.wasm ping.wasm [ROUNDS]
//! ```

pub use wasi_eventfd_guest::EventFd;

/// The value `ping` writes to ask for one more round trip.
pub const BALL: u64 = 1;
/// The value `ping` writes to tell `pong` to finish.
pub const STOP: u64 = 2;

/// The shared eventfd the host preopened under `name`, or a hint and exit
/// status 2.
pub fn preopen(name: &str) -> EventFd {
    EventFd::preopened(name).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2)
    })
}
