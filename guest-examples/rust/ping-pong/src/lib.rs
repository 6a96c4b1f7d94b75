//! Two guests bounce a counter through two shared eventfds, `ping` and
//! `pong`: `ping` writes 1 to `ping` and blocks reading `pong`; `pong`
//! blocks reading `ping` and writes 1 back to `pong`.
//!
//! ```text
//! wasi-eventfd run --eventfd ping=0 --eventfd pong=0 --with pong.wasm ping.wasm [ROUNDS]
//! ```

wit_bindgen::generate!({
    // The interface lives at the repository root; copy `wit/` next to your
    // project and point this at it.
    path: "../../../wit",
    world: "wasi-eventfd:eventfd/imports",
    generate_all,
});

pub use wasi_eventfd::eventfd::types::Eventfd;

/// The value `ping` writes to ask for one more round trip.
pub const BALL: u64 = 1;
/// The value `ping` writes to tell `pong` to finish.
pub const STOP: u64 = 2;

/// The shared eventfd the host preopened under `name`.
pub fn preopen(name: &str) -> Eventfd {
    wasi_eventfd::eventfd::preopens::get_eventfds()
        .into_iter()
        .find_map(|(fd, n)| (n == name).then_some(fd))
        .unwrap_or_else(|| {
            eprintln!("no eventfd named `{name}`: run with --eventfd {name}=0");
            std::process::exit(2)
        })
}
