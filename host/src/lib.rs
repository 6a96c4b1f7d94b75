//! Linux `eventfd(2)` for WebAssembly components on [wasmtime].
//!
//! An eventfd is a 64-bit counter used to wake one program from another. This
//! crate gives components the `wasi-eventfd:eventfd` interface (its WIT is in
//! the repository's `wit/` folder) with Linux's semantics bit for bit, and
//! lets several guests of one host, and the host itself, share eventfds.
//! WASI preview 1 core modules get them as ordinary fds, numbered in one fd
//! table with stdio, directories and files, so C programs written for Linux
//! use `read`, `write`, `poll` and `close` on them ([`p1`]).
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
//! Add the interface to your [`Linker`](wasmtime::component::Linker) next to
//! wasmtime-wasi. Your store's data implements both
//! [`WasiView`](wasmtime_wasi::WasiView) and [`EventfdView`], and both views
//! must return the **same** [`ResourceTable`](wasmtime::component::ResourceTable),
//! or `wasi:io/poll` cannot see eventfd pollables (a guest that subscribes
//! then traps, with an error saying so). Host code holds [`Descriptor`]s of
//! the same eventfds and takes part as one more party.
//!
//! This host plays `ping` against a guest that plays `pong`, both running:
//! each `write` of the host wakes the guest blocked in its `read`, and the
//! guest's answer wakes the host. The guest is
//! `guest-examples/wat/pong-component.wat` from the repository, a component
//! written in text (wasmtime reads it as is). The dependencies, as a whole
//! `Cargo.toml`, are in the README's "Embedding" section.
//!
//! ```
//! use std::time::Instant;
//!
//! use wasi_eventfd::{CreateFlags, DescriptionTable, EventfdCtx, EventfdCtxView, EventfdView};
//! use wasmtime::component::{Component, Linker, ResourceTable};
//! use wasmtime::{Engine, Result, Store};
//! use wasmtime_wasi::p2::bindings::Command;
//! use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
//!
//! /// One guest's store data: WASI and eventfd on one resource table.
//! struct MyState {
//!     wasi: WasiCtx,
//!     eventfd: EventfdCtx,
//!     table: ResourceTable,
//! }
//!
//! impl WasiView for MyState {
//!     fn ctx(&mut self) -> WasiCtxView<'_> {
//!         WasiCtxView {
//!             ctx: &mut self.wasi,
//!             table: &mut self.table,
//!         }
//!     }
//! }
//!
//! impl EventfdView for MyState {
//!     fn eventfd(&mut self) -> EventfdCtxView<'_> {
//!         EventfdCtxView {
//!             ctx: &mut self.eventfd,
//!             table: &mut self.table,
//!         }
//!     }
//! }
//!
//! // On one thread the host and the guest take turns without crossing
//! // threads: a round trip costs about 2 µs. On the multi-thread runtime
//! // (plain `#[tokio::main]`) every wake-up crosses threads: about 30 µs.
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<()> {
//! #   std::env::set_current_dir("../guest-examples/wat")?;
//!     let engine = Engine::default();
//!     let mut linker = Linker::<MyState>::new(&engine);
//!     wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
//!     wasi_eventfd::add_to_linker_async(&mut linker)?;
//!
//!     // One description table per host. The host keeps a descriptor of
//!     // each eventfd and hands the guest its own, by name.
//!     let descriptions = DescriptionTable::new();
//!     let ping = descriptions.create(0, CreateFlags::empty())?;
//!     let pong = descriptions.create(0, CreateFlags::empty())?;
//!     let state = MyState {
//!         wasi: WasiCtx::builder().inherit_stdio().build(),
//!         eventfd: EventfdCtx::builder(&descriptions)
//!             .preopen("ping", &ping)
//!             .preopen("pong", &pong)
//!             .build(),
//!         table: ResourceTable::new(),
//!     };
//!
//!     // The guest blocks reading "ping" and answers each 1 with a 1 on
//!     // "pong", until it reads 2. Its store moves into a task of its own,
//!     // so that it runs while this task plays.
//!     let component = Component::from_file(&engine, "pong-component.wat")?;
//!     let mut guest = tokio::spawn(async move {
//!         let mut store = Store::new(&engine, state);
//!         let command = Command::instantiate_async(&mut store, &component, &linker).await?;
//!         command.wasi_cli_run().call_run(&mut store).await
//!     });
//!
//!     let rounds = 10_000;
//!     let start = Instant::now();
//!     for _ in 0..rounds {
//!         ping.write(1).await?; // wakes the guest...
//!         tokio::select! {
//!             ball = pong.read() => assert_eq!(ball?, 1), // ...whose answer wakes us
//!             ended = &mut guest => wasmtime::bail!("the guest ended early: {ended:?}"),
//!         }
//!     }
//!     let per_round = start.elapsed() / rounds;
//!     println!("{rounds} round trips, {per_round:?} each");
//!
//!     ping.write(2).await?; // the end of the game
//!     guest
//!         .await??
//!         .map_err(|()| wasmtime::format_err!("the guest failed"))
//! }
//! ```
//!
//! # Without async
//!
//! With [`add_to_linker_sync`] (and `wasmtime_wasi::p2::add_to_linker_sync`)
//! a guest runs on wasmtime's synchronous API, and a `read` of an empty
//! counter or a `write` that does not fit blocks the **thread** that runs it.
//! Host code then uses [`Descriptor::read_blocking`] and
//! [`Descriptor::write_blocking`], which block the calling thread the same
//! way: no async runtime is needed on either side, only a thread per party
//! that may wait. (Those two are not for async code: on a runtime's thread
//! they would block the tasks that could wake them.)
//!
//! ```
//! # use wasi_eventfd::{CreateFlags, DescriptionTable, EventfdCtx, EventfdCtxView, EventfdView};
//! # use wasmtime::component::{Component, Linker, ResourceTable};
//! # use wasmtime::{Engine, Result, Store};
//! # use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
//! # struct MyState {
//! #     wasi: WasiCtx,
//! #     eventfd: EventfdCtx,
//! #     table: ResourceTable,
//! # }
//! # impl WasiView for MyState {
//! #     fn ctx(&mut self) -> WasiCtxView<'_> {
//! #         WasiCtxView {
//! #             ctx: &mut self.wasi,
//! #             table: &mut self.table,
//! #         }
//! #     }
//! # }
//! # impl EventfdView for MyState {
//! #     fn eventfd(&mut self) -> EventfdCtxView<'_> {
//! #         EventfdCtxView {
//! #             ctx: &mut self.eventfd,
//! #             table: &mut self.table,
//! #         }
//! #     }
//! # }
//! use wasmtime_wasi::p2::bindings::sync::Command;
//!
//! // MyState as above.
//! fn main() -> Result<()> {
//! #   std::env::set_current_dir("../guest-examples/wat")?;
//!     let engine = Engine::default();
//!     let mut linker = Linker::<MyState>::new(&engine);
//!     wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
//!     wasi_eventfd::add_to_linker_sync(&mut linker)?;
//!
//!     let descriptions = DescriptionTable::new();
//!     let ping = descriptions.create(0, CreateFlags::empty())?;
//!     let pong = descriptions.create(0, CreateFlags::empty())?;
//!     let state = MyState {
//!         wasi: WasiCtx::builder().inherit_stdio().build(),
//!         eventfd: EventfdCtx::builder(&descriptions)
//!             .preopen("ping", &ping)
//!             .preopen("pong", &pong)
//!             .build(),
//!         table: ResourceTable::new(),
//!     };
//!
//!     // The guest's reads block its own thread; the host plays from this one.
//!     // A guest that ends early never answers: its thread then writes an
//!     // answer no round expects, so that the host's read cannot wait forever.
//!     let component = Component::from_file(&engine, "pong-component.wat")?;
//!     let unblock = pong.dup();
//!     let guest = std::thread::spawn(move || {
//!         let mut store = Store::new(&engine, state);
//!         let run = Command::instantiate(&mut store, &component, &linker)
//!             .and_then(|command| command.wasi_cli_run().call_run(&mut store));
//!         if !matches!(run, Ok(Ok(()))) {
//!             unblock.write_blocking(2)?;
//!         }
//!         run
//!     });
//!     for _ in 0..1000 {
//!         ping.write_blocking(1)?;
//!         assert_eq!(pong.read_blocking()?, 1);
//!     }
//!     ping.write_blocking(2)?;
//!     let run = guest
//!         .join()
//!         .map_err(|_| wasmtime::format_err!("the guest's thread panicked"))?;
//!     run?.map_err(|()| wasmtime::format_err!("the guest failed"))
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
//! as the `runner` module does. Guests of both worlds share one
//! [`DescriptionTable`].
//!
//! To run guests without writing a host, use the `wasi-eventfd run` command,
//! or the `runner` module it is built on (cargo feature `runner`, in the
//! default features).

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
mod conv;
mod ctx;
pub mod kernel;
pub mod p1;
pub mod p2;
pub mod p3;
#[cfg(feature = "runner")]
pub mod runner;

use wasmtime::component::HasData;

pub use crate::ctx::{EventfdCtx, EventfdCtxBuilder, EventfdCtxView, EventfdView};
pub use crate::kernel::description_table::{DescriptionTable, Descriptor, Info};
pub use crate::kernel::eventfd::{
    CreateFlags, Description, Errno, ParkObserver, PollEvents, Readiness, MAX_COUNT,
};
pub use crate::kernel::waits::{GuestParkObserver, Interest, Waiting};
pub use crate::p2::{add_to_linker_async, add_to_linker_sync, bindings};
pub use crate::p3::add_to_linker_concurrent;

/// Names [`EventfdCtxView`] as the data of the generated host traits: with
/// it an embedder can link the interfaces one at a time, as
/// `bindings::types::add_to_linker::<T, Eventfd>(linker, T::eventfd)`.
pub struct Eventfd;

impl HasData for Eventfd {
    type Data<'a> = EventfdCtxView<'a>;
}
