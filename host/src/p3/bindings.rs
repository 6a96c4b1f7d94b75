//! Bindings generated from the WIT in `wit/` by
//! [`wasmtime::component::bindgen!`] for world `async-imports`
//! (`async-types`, `async-preopens`): the WIT's own `async func`s become
//! wasmtime's concurrent host calls (they take an `Accessor`, and the guest
//! keeps running while they wait); the rest are plain calls. Every import
//! is `tracing`, so each host call gets a span.

mod generated {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "wasi-eventfd:eventfd/async-imports",
        imports: { default: trappable | tracing },
        with: {
            "wasi-eventfd:eventfd/async-types.eventfd": crate::Descriptor,
        },
    });
}

pub use self::generated::wasi_eventfd::eventfd::{async_preopens, async_types};
