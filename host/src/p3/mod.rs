//! World `async-imports` (interfaces `async-types` and `async-preopens`,
//! experimental) for components written with component-model async (WASI
//! 0.3): the generated [`bindings`], the host calls, and the function that
//! adds them to a linker.

#[expect(
    missing_docs,
    reason = "generated from the WIT, whose comments become the docs"
)]
pub mod bindings;
mod host;

use wasmtime::component::Linker;

use crate::{Eventfd, EventfdView};

/// Adds the experimental component-model async interfaces
/// (`async-types` and `async-preopens`, world `async-imports`) to
/// `linker`: the same shared descriptions as [`add_to_linker_async`](crate::add_to_linker_async), for
/// guests that await reads and writes as futures.
///
/// The engine needs component-model async (on by default in wasmtime 48,
/// [`Config::wasm_component_model_async`](wasmtime::Config::wasm_component_model_async)),
/// and guests that export `wasi:cli/run@0.3.0` run inside
/// [`Store::run_concurrent`](wasmtime::Store::run_concurrent).
pub fn add_to_linker_concurrent<T: EventfdView + 'static>(
    linker: &mut Linker<T>,
) -> wasmtime::Result<()> {
    bindings::async_types::add_to_linker::<T, Eventfd>(linker, T::eventfd)?;
    bindings::async_preopens::add_to_linker::<T, Eventfd>(linker, T::eventfd)?;
    Ok(())
}
