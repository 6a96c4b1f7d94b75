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
//! Add the interface to your [`Linker`](wasmtime::component::Linker) next to wasmtime-wasi. Your store's
//! data implements both [`WasiView`](wasmtime_wasi::WasiView) and
//! [`EventfdView`], and both views must return the **same**
//! [`ResourceTable`](wasmtime::component::ResourceTable), or `wasi:io/poll` cannot see eventfd pollables.
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
mod ctx;
mod description;
pub mod kernel;
#[cfg(feature = "runner")]
mod output;
pub mod p1;
pub mod p2;
pub mod p3;
#[cfg(feature = "runner")]
pub mod runner;
mod table;
pub mod waits;

use wasmtime::component::HasData;

pub use crate::ctx::{EventfdCtx, EventfdCtxBuilder, EventfdCtxView, EventfdView};
pub use crate::description::{CreateFlags, Description, Errno, ParkObserver, Readiness, MAX_COUNT};
pub use crate::p2::{add_to_linker_async, add_to_linker_sync, bindings};
pub use crate::p3::add_to_linker_concurrent;
pub use crate::table::{DescriptionTable, Descriptor, Info};

/// Names [`EventfdCtxView`] as the data of the generated host traits: with
/// it an embedder can link the interfaces one at a time, as
/// `bindings::types::add_to_linker::<T, Eventfd>(linker, T::eventfd)`.
pub struct Eventfd;

impl HasData for Eventfd {
    type Data<'a> = EventfdCtxView<'a>;
}
