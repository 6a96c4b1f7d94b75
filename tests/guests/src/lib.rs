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

/// Bindings of the experimental component-model async world
/// (`async-imports`), for guests that export `wasi:cli/run@0.3.0`.
pub mod p3 {
    wit_bindgen::generate!({
        inline: "
            package eventfd-tests:p3;

            world async-guest {
                include wasi-eventfd:eventfd/async-imports@0.1.0;
                export wasi:cli/run@0.3.0;
            }
        ",
        path: ["../../wit", "../../guest-examples/wasi-0.3"],
        world: "eventfd-tests:p3/async-guest",
        default_bindings_module: "eventfd_test_programs::p3",
        pub_export_macro: true,
        generate_all,
    });

    pub use self::wasi_eventfd::eventfd::async_preopens::get_eventfds;
    pub use self::wasi_eventfd::eventfd::async_types::{CreateFlags, ErrorCode, Eventfd};
}
