//! Bindings generated from the WIT in `wit/` by [`wasmtime::component::bindgen!`].
//!
//! For world `imports` (`types`, `preopens`) every import is `async`, so
//! that a read or write that has to wait suspends the calling guest (its
//! fiber) instead of a host thread. The host calls make their own `debug`
//! spans (in `p2/host.rs`): bindgen's `tracing` option wraps every call in
//! spans and events that cost a fifth of an eventfd call even when no one
//! listens.
//!
//! [`sync`] has world `imports` once more with plain (blocking) host calls,
//! for embedders that drive wasmtime without async, as wasmtime-wasi's
//! `bindings::sync` does.

mod generated {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "wasi-eventfd:eventfd/imports",
        imports: { default: async | trappable },
        with: {
            "wasi:io": wasmtime_wasi::p2::bindings::io,
            "wasi-eventfd:eventfd/types.eventfd": crate::Descriptor,
        },
    });
}

pub use self::generated::wasi_eventfd::eventfd::*;
// The world's instantiation helpers, so that their generated docs, which
// name one another, have their links.
pub use self::generated::{Imports, ImportsIndices, ImportsPre};

/// World `imports` with synchronous host calls (see
/// [`add_to_linker_sync`](crate::add_to_linker_sync)): a read or write that
/// has to wait blocks the calling thread.
pub mod sync {
    mod generated {
        wasmtime::component::bindgen!({
            path: "wit",
            world: "wasi-eventfd:eventfd/imports",
            imports: { default: trappable | tracing },
            with: {
                "wasi:io": wasmtime_wasi::p2::bindings::sync::io,
                "wasi-eventfd:eventfd/types.eventfd": crate::Descriptor,
            },
            require_store_data_send: true,
        });
    }

    pub use self::generated::wasi_eventfd::eventfd::*;
}
