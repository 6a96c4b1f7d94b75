//! Bindings generated from the WIT in `wit/` by [`wasmtime::component::bindgen!`].
//!
//! Every import is `async` so that a read or write that has to wait suspends
//! the calling guest (its fiber) instead of a host thread, and `tracing`
//! so that every host call gets a span.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "wasi-eventfd:eventfd/imports",
    imports: { default: async | trappable | tracing },
    with: {
        "wasi:io": wasmtime_wasi::p2::bindings::io,
        "wasi-eventfd:eventfd/types.eventfd": crate::Descriptor,
    },
});

pub use self::wasi_eventfd::eventfd::*;
