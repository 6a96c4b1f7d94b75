//! World `imports` (interfaces `types` and `preopens`) for WASI 0.2
//! components: the generated [`bindings`] (async, and [`bindings::sync`]),
//! the host calls, and the functions that add them to a linker.

#[expect(
    missing_docs,
    reason = "generated from the WIT, whose comments become the docs"
)]
pub mod bindings;
pub(crate) mod host;
mod host_sync;

use wasmtime::component::Linker;

use crate::{Eventfd, EventfdView};

/// Adds the `wasi-eventfd:eventfd` interfaces (`types` and `preopens`) to
/// `linker`, for stores driven with wasmtime's async API.
///
/// `wasi:io/poll` comes from wasmtime-wasi: add it with
/// [`wasmtime_wasi::p2::add_to_linker_async`] as well.
pub fn add_to_linker_async<T: EventfdView + 'static>(
    linker: &mut Linker<T>,
) -> wasmtime::Result<()> {
    bindings::types::add_to_linker::<T, Eventfd>(linker, T::eventfd)?;
    bindings::preopens::add_to_linker::<T, Eventfd>(linker, T::eventfd)?;
    Ok(())
}

/// Adds the `wasi-eventfd:eventfd` interfaces (`types` and `preopens`) to
/// `linker`, for stores driven with wasmtime's synchronous API.
///
/// A `read` of an empty counter or a `write` that does not fit blocks the
/// **calling thread** until another thread's guest or host code makes it
/// possible (or fails with `would-block` on a non-blocking description):
/// guests that wake each other must then run on threads of their own.
/// Add `wasi:io` and the rest of WASI with
/// [`wasmtime_wasi::p2::add_to_linker_sync`]. Like wasmtime-wasi's sync
/// bindings, the calls run their waits on a tokio runtime: the ambient one
/// if the thread is inside one, otherwise wasmtime-wasi's own.
pub fn add_to_linker_sync<T: EventfdView + 'static>(
    linker: &mut Linker<T>,
) -> wasmtime::Result<()> {
    bindings::sync::types::add_to_linker::<T, Eventfd>(linker, T::eventfd)?;
    bindings::sync::preopens::add_to_linker::<T, Eventfd>(linker, T::eventfd)?;
    Ok(())
}
