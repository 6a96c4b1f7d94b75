//! Linux `eventfd(2)` for WebAssembly components on [wasmtime].
//!
//! An eventfd is a 64-bit counter used to wake one program from another. This
//! crate gives components the `wasi-eventfd:eventfd` interface (its WIT is in
//! the repository's `wit/` folder) with Linux's semantics bit for bit, and
//! lets several guests of one host, and the host itself, share eventfds.
//!
//! # The two levels
//!
//! As in a kernel, a guest's `eventfd` resource is a [`Descriptor`]; it
//! points to a shared [`Description`] (the counter, the semaphore bit and the
//! non-blocking bit) registered in a [`DescriptionTable`] that every guest of
//! a host shares. `dup` adds a descriptor to the same description, and the
//! description is freed with its last descriptor. Close-on-exec belongs to
//! the descriptor, non-blocking to the description.
//!
//! # Blocking without threads
//!
//! A read of an empty counter, or a write that does not fit, suspends the
//! calling guest: the host calls are `async`, so a waiting guest is a pending
//! future on wasmtime's fiber, not a parked thread. Other guests, and host
//! code holding descriptors, keep running and can wake it. Pollables from
//! `subscribe-readable` / `subscribe-writable` mix with any other `wasi:io`
//! pollable in one `poll`.
//!
//! # Embedding
//!
//! Add the interface to your [`Linker`] next to wasmtime-wasi. Your store's
//! data implements both [`WasiView`](wasmtime_wasi::WasiView) and
//! [`EventfdView`], and both views must return the **same**
//! [`ResourceTable`], or `wasi:io/poll` cannot see eventfd pollables.
//!
//! ```no_run
//! use wasmtime::component::{Component, Linker, ResourceTable};
//! use wasmtime::{Engine, Result, Store};
//! use wasmtime_wasi::p2::bindings::Command;
//! use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
//! use wasi_eventfd::{CreateFlags, DescriptionTable, EventfdCtx, EventfdCtxView, EventfdView};
//!
//! struct MyState {
//!     wasi: WasiCtx,
//!     eventfd: EventfdCtx,
//!     table: ResourceTable,
//! }
//!
//! impl WasiView for MyState {
//!     fn ctx(&mut self) -> WasiCtxView<'_> {
//!         WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
//!     }
//! }
//!
//! impl EventfdView for MyState {
//!     fn eventfd(&mut self) -> EventfdCtxView<'_> {
//!         EventfdCtxView { ctx: &mut self.eventfd, table: &mut self.table }
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<()> {
//!     let engine = Engine::default();
//!     let mut linker = Linker::<MyState>::new(&engine);
//!     wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
//!     wasi_eventfd::add_to_linker_async(&mut linker)?;
//!
//!     // One table per host; every guest's context shares it.
//!     let descriptions = DescriptionTable::new();
//!     // The host keeps a descriptor of "wake" and hands the guest its own.
//!     let wake = descriptions.create(0, CreateFlags::default())?;
//!     let state = MyState {
//!         wasi: WasiCtx::builder().inherit_stdio().build(),
//!         eventfd: EventfdCtx::builder(&descriptions).preopen("wake", &wake).build(),
//!         table: ResourceTable::new(),
//!     };
//!
//!     let mut store = Store::new(&engine, state);
//!     let component = Component::from_file(&engine, "guest.wasm")?;
//!     let command = Command::instantiate_async(&mut store, &component, &linker).await?;
//!
//!     // Host code takes part too: this wakes a guest blocked reading "wake".
//!     wake.write(1).await?;
//!
//!     command
//!         .wasi_cli_run()
//!         .call_run(&mut store)
//!         .await?
//!         .map_err(|()| wasmtime::format_err!("the guest failed"))
//! }
//! ```
//!
//! # Component-model async (WASI 0.3), experimental
//!
//! The WIT's second world, `async-imports`, gives guests written with
//! component-model async the same eventfds with `read`, `write`,
//! `readable` and `writable` as `async func`s: many in flight in one guest,
//! each suspending only the guest task that awaits it, and a cancelled
//! pending read consumes nothing. Add it with [`add_to_linker_concurrent`]
//! (and `wasmtime_wasi::p3::add_to_linker`), and call such a guest's
//! `wasi:cli/run@0.3.0` inside [`Store::run_concurrent`](wasmtime::Store::run_concurrent),
//! as [`runner`] does. Guests of both worlds share one [`DescriptionTable`].
//!
//! To run guests without writing a host, use the `wasi-eventfd run` command,
//! or the [`runner`] module it is built on.

#![deny(missing_docs)]
// Guest-reachable code returns errors; it never panics the host.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod abi;
#[allow(missing_docs)] // generated from the WIT, whose comments become the docs
pub mod bindings;
mod description;
mod host;
mod host_async;
mod host_sync;
#[cfg(feature = "runner")]
mod output;
#[cfg(feature = "runner")]
pub mod runner;
mod table;
pub mod waits;

use std::sync::Arc;

use wasmtime::component::{HasData, Linker, ResourceTable};

pub use crate::description::{CreateFlags, Description, Errno, ParkObserver, MAX_COUNT};
pub use crate::table::{DescriptionTable, Descriptor, Info};

/// The eventfd state of one guest: the host's shared table and the eventfds
/// handed to this guest by name.
pub struct EventfdCtx {
    table: DescriptionTable,
    preopens: Vec<(String, Descriptor)>,
    /// The integer descriptors of a core-module guest ([`abi`]).
    fds: abi::FdTable,
    /// How many `eventfd` resources a component guest holds now.
    descriptors: usize,
    /// At most this many descriptors per guest (`EMFILE` beyond).
    max_descriptors: usize,
    /// Where this guest's waits are recorded, when someone looks for deadlocks.
    waits: Option<Arc<waits::GuestWaits>>,
}

impl EventfdCtx {
    /// The default limit on descriptors per guest: Linux's usual soft
    /// limit on open files.
    pub const DEFAULT_MAX_DESCRIPTORS: usize = 1024;

    /// Starts a context on the host's shared description table.
    pub fn builder(table: &DescriptionTable) -> EventfdCtxBuilder {
        EventfdCtxBuilder {
            ctx: EventfdCtx {
                table: table.clone(),
                preopens: Vec::new(),
                fds: abi::FdTable::default(),
                descriptors: 0,
                max_descriptors: Self::DEFAULT_MAX_DESCRIPTORS,
                waits: None,
            },
        }
    }

    /// The description table this guest creates its eventfds in.
    pub fn table(&self) -> &DescriptionTable {
        &self.table
    }

    /// How many descriptors this guest holds (component resources and
    /// core-module fds).
    pub fn descriptors(&self) -> usize {
        self.descriptors + self.fds.len()
    }

    /// An observer of one wait of this guest on `description`, if its waits
    /// are recorded.
    fn observer<'a>(
        &'a self,
        description: &'a Arc<Description>,
        interest: waits::Interest,
    ) -> Option<waits::WaitObserver<'a>> {
        self.waits
            .as_deref()
            .map(|waits| waits.observer(description, interest))
    }

    /// `EMFILE` unless the guest may hold one more descriptor.
    fn check_descriptor_limit(&self) -> Result<(), Errno> {
        if self.descriptors() >= self.max_descriptors {
            Err(Errno::Mfile)
        } else {
            Ok(())
        }
    }
}

/// Builds an [`EventfdCtx`].
pub struct EventfdCtxBuilder {
    ctx: EventfdCtx,
}

impl EventfdCtxBuilder {
    /// Shares the description of `descriptor` with the guest under `name`.
    ///
    /// The context keeps a descriptor of its own (a dup), and every call of
    /// the guest's `get-eventfds` hands out fresh ones.
    pub fn preopen(mut self, name: impl Into<String>, descriptor: &Descriptor) -> Self {
        self.ctx.preopens.push((name.into(), descriptor.dup()));
        self
    }

    /// Limits the guest to `max` descriptors at once; calls that would
    /// make more fail with `EMFILE` (`too-many-descriptors`).
    pub fn max_descriptors(mut self, max: usize) -> Self {
        self.ctx.max_descriptors = max;
        self
    }

    /// Records the guest's waits in a [`waits::WaitGraph`].
    pub fn waits(mut self, waits: Arc<waits::GuestWaits>) -> Self {
        self.ctx.waits = Some(waits);
        self
    }

    /// The finished context.
    pub fn build(self) -> EventfdCtx {
        self.ctx
    }
}

/// What eventfd host calls borrow from the store: the guest's context and
/// the store's resource table (the same one wasmtime-wasi uses).
pub struct EventfdCtxView<'a> {
    /// The guest's eventfd context.
    pub ctx: &'a mut EventfdCtx,
    /// The store's resource table, shared with [`wasmtime_wasi::WasiView`].
    pub table: &'a mut ResourceTable,
}

/// Implemented by a store's data to give eventfd host calls their view.
pub trait EventfdView: Send {
    /// The eventfd context and the resource table of this store.
    fn eventfd(&mut self) -> EventfdCtxView<'_>;
}

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

/// Adds the experimental component-model async interfaces
/// (`async-types` and `async-preopens`, world `async-imports`) to
/// `linker`: the same shared descriptions as [`add_to_linker_async`], for
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

/// Names [`EventfdCtxView`] as the data of the generated host traits: with
/// it an embedder can link the interfaces one at a time, as
/// `bindings::types::add_to_linker::<T, Eventfd>(linker, T::eventfd)`.
pub struct Eventfd;

impl HasData for Eventfd {
    type Data<'a> = EventfdCtxView<'a>;
}
