//! Bindings generated from the WIT in `wit/` by [`wasmtime::component::bindgen!`].
//!
//! For world `imports` (`types`, `preopens`) every import is `async`, so
//! that a read or write that has to wait suspends the calling guest (its
//! fiber) instead of a host thread. For world `async-imports`
//! (`async-types`, `async-preopens`) the WIT's own `async func`s become
//! wasmtime's concurrent host calls (they take an `Accessor`, and the guest
//! keeps running while they wait); the rest are plain calls. Every import
//! is `tracing`, so each host call gets a span.
//!
//! [`sync`] has world `imports` once more with plain (blocking) host calls,
//! for embedders that drive wasmtime without async, as wasmtime-wasi's
//! `bindings::sync` does.

wasmtime::component::bindgen!({
    path: "wit",
    world: "wasi-eventfd:eventfd/imports",
    imports: { default: async | trappable | tracing },
    with: {
        "wasi:io": wasmtime_wasi::p2::bindings::io,
        "wasi-eventfd:eventfd/types.eventfd": crate::Descriptor,
    },
});

pub use self::wasi_eventfd::eventfd::*;

/// The component-model async world, generated apart so that its
/// interfaces do not collide with those above.
mod concurrent {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "wasi-eventfd:eventfd/async-imports",
        imports: { default: trappable | tracing },
        with: {
            "wasi-eventfd:eventfd/async-types.eventfd": crate::Descriptor,
        },
    });
}

pub use self::concurrent::wasi_eventfd::eventfd::{async_preopens, async_types};

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
