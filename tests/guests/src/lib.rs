//! Bindings and helpers shared by the guest test programs.

wit_bindgen::generate!({
    path: "../../wit",
    world: "wasi-eventfd:eventfd/imports",
    generate_all,
});

pub use wasi::io::poll;
pub use wasi_eventfd::eventfd::preopens::get_eventfds;
pub use wasi_eventfd::eventfd::types::{CreateFlags, ErrorCode, Eventfd, Info};

/// The largest counter value a write can reach.
pub const MAX_COUNT: u64 = u64::MAX - 1;

/// The descriptor of the preopened eventfd `name`; panics (traps) when the
/// host did not share one under that name.
pub fn preopen(name: &str) -> Eventfd {
    get_eventfds()
        .into_iter()
        .find_map(|(fd, n)| (n == name).then_some(fd))
        .unwrap_or_else(|| panic!("the host shares no eventfd named `{name}`"))
}

/// The guest's arguments after `argv[0]`.
pub fn args() -> Vec<String> {
    std::env::args().skip(1).collect()
}
