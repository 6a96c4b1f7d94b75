//! World `imports` (interfaces `types` and `preopens`) for WASI 0.2
//! components: the generated [`bindings`] (async, and [`bindings::sync`]),
//! the host calls, and the functions that add them to a linker.

#[expect(
    missing_docs,
    reason = "generated from the WIT, whose comments become the docs"
)]
pub mod bindings;
mod host;
mod host_sync;

use wasmtime::component::{Linker, ResourceTable};
use wasmtime_wasi::WasiView;

use crate::{Eventfd, EventfdCtxView, EventfdView};

/// Adds the `wasi-eventfd:eventfd` interfaces (`types` and `preopens`) to
/// `linker`, for stores driven with wasmtime's async API.
///
/// `wasi:io/poll` comes from wasmtime-wasi: add it with
/// [`wasmtime_wasi::p2::add_to_linker_async`] as well. The store's data
/// implements both [`WasiView`] and [`EventfdView`], and both must return the
/// **same** [`ResourceTable`]: eventfd pollables go into it for `wasi:io/poll`
/// to find. A store whose views return different tables traps at the
/// guest's first `subscribe-readable` / `subscribe-writable`, with an error
/// that says so.
///
/// `read` and `write`, the calls a guest makes most, replace the glue
/// bindgen generates for them with their own: a call that need not wait
/// is done without building a future for the wait. To do so this turns the
/// linker's shadowing on and leaves it off, wasmtime's default, on return.
pub fn add_to_linker_async<T: WasiView + EventfdView + 'static>(
    linker: &mut Linker<T>,
) -> wasmtime::Result<()> {
    bindings::types::add_to_linker::<T, Eventfd>(linker, checked_view::<T>)?;
    bindings::preopens::add_to_linker::<T, Eventfd>(linker, T::eventfd)?;
    // `read` and `write` once more, over the generated glue: the calls
    // that need not wait are most calls.
    linker.allow_shadowing(true);
    let replaced = host::add_fast_paths(linker);
    linker.allow_shadowing(false);
    replaced
}

/// Adds the `wasi-eventfd:eventfd` interfaces (`types` and `preopens`) to
/// `linker`, for stores driven with wasmtime's synchronous API.
///
/// A `read` of an empty counter or a `write` that does not fit blocks the
/// **calling thread** until another thread's guest or host code makes it
/// possible (or fails with `would-block` on a non-blocking description):
/// guests that wake each other must then run on threads of their own.
/// Add `wasi:io` and the rest of WASI with
/// [`wasmtime_wasi::p2::add_to_linker_sync`]; the store's views follow the
/// same rule as for [`add_to_linker_async`] (one [`ResourceTable`]).
///
/// A synchronous host needs no async runtime of its own: eventfd waits
/// park the calling thread, and host code on other threads takes part with
/// [`Descriptor::read_blocking`](crate::Descriptor::read_blocking) and
/// [`Descriptor::write_blocking`](crate::Descriptor::write_blocking).
/// (wasmtime-wasi runs its own `wasi:io/poll` waits on a tokio runtime it
/// starts itself.)
pub fn add_to_linker_sync<T: WasiView + EventfdView + 'static>(
    linker: &mut Linker<T>,
) -> wasmtime::Result<()> {
    bindings::sync::types::add_to_linker::<T, Eventfd>(linker, checked_view::<T>)?;
    bindings::sync::preopens::add_to_linker::<T, Eventfd>(linker, T::eventfd)?;
    Ok(())
}

/// The eventfd view of `state`, noting whether its resource table is the
/// one `wasi:io/poll` looks pollables up in ([`WasiView`]'s). If it is not,
/// `subscribe-readable` / `subscribe-writable` trap naming the cause, instead
/// of `wasi:io/poll` failing later with only "resource not present" (or
/// finding another resource under the same index).
fn checked_view<T: WasiView + EventfdView>(state: &mut T) -> EventfdCtxView<'_> {
    let wasi_table: *const ResourceTable = state.ctx().table;
    let view = state.eventfd();
    view.ctx.wasi_table_differs = !std::ptr::eq(wasi_table, view.table);
    view
}
