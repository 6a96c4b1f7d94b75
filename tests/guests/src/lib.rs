//! Bindings and helpers shared by the guest test programs. The bindings are
//! the guest crate's (`guest/rust`, `wasi-eventfd-guest`), used raw: the
//! tests call the interface operation by operation.

use wasi_eventfd_guest::{p3::EventFd as AsyncEventFd, EventFd};

pub use wasi_eventfd::eventfd::preopens::get_eventfds;
pub use wasi_eventfd::eventfd::types::{CreateFlags, ErrorCode, Eventfd, Info};
pub use wasi_eventfd_guest::bindings::wasi_eventfd;
pub use wasi_eventfd_guest::poll;

/// `wasi:io`, as the bindings call it (`wasi::io::poll`).
pub mod wasi {
    /// `wasi:io/poll`.
    pub mod io {
        pub use wasi_eventfd_guest::poll;
    }
}

/// The largest counter value a write can reach.
pub const MAX_COUNT: u64 = u64::MAX - 1;

/// The descriptor of the preopened eventfd `name`; panics (traps) when the
/// host did not share one under that name.
pub fn preopen(name: &str) -> Eventfd {
    EventFd::preopened(name)
        .map(EventFd::into_raw)
        .unwrap_or_else(|_| panic!("the host shares no eventfd named `{name}`"))
}

/// Reports a benchmark's elapsed nanoseconds: on stdout as `elapsed_ns NS`
/// (for runs through the `wasi-eventfd` binary), and added to the
/// preopened eventfd `result` when the host shares one (for the
/// benchmark's in-process runs, whose output is discarded).
pub fn report_elapsed(nanos: u64) {
    println!("elapsed_ns {nanos}");
    if let Some((result, _)) = get_eventfds().into_iter().find(|(_, name)| name == "result") {
        result.write(nanos).expect("report into `result`");
    }
}

/// The guest's arguments after `argv[0]`.
pub fn args() -> Vec<String> {
    std::env::args().skip(1).collect()
}

/// Bindings of the experimental component-model async world
/// (`async-imports`, the guest crate's `p3`), with the `wasi:cli/run@0.3.0`
/// export for guests to implement.
pub mod p3 {
    wit_bindgen::generate!({
        inline: "
            package eventfd-tests:p3;

            world async-guest {
                export wasi:cli/run@0.3.0;
            }
        ",
        path: "../../guest-examples/wasi-0.3",
        world: "eventfd-tests:p3/async-guest",
        default_bindings_module: "eventfd_test_programs::p3",
        pub_export_macro: true,
        generate_all,
    });

    pub use wasi_eventfd::eventfd::async_preopens::get_eventfds;
    pub use wasi_eventfd::eventfd::async_types::{CreateFlags, ErrorCode, Eventfd};
    pub use wasi_eventfd_guest::p3::bindings::wasi_eventfd;

    /// The descriptor of the preopened eventfd `name`; panics (traps) when
    /// the host did not share one under that name.
    pub fn preopen(name: &str) -> Eventfd {
        super::AsyncEventFd::preopened(name)
            .map(super::AsyncEventFd::into_raw)
            .unwrap_or_else(|e| panic!("{e}"))
    }
}
