//! Linux [`eventfd(2)`](https://man7.org/linux/man-pages/man2/eventfd.2.html)
//! for Rust WebAssembly guests of a wasi-eventfd host (the `wasi-eventfd`
//! crate's `wasi-eventfd run` command, or a wasmtime host that links its
//! interface): a 64-bit counter that one guest (or the host) writes to wake
//! another.
//!
//! This crate is the way to write a Rust guest. It holds the bindings of
//! the `wasi-eventfd:eventfd` WIT interface (generated with wit-bindgen
//! 0.60, [`bindings`]), so a guest copies no WIT and runs no `generate!`,
//! and wraps them in [`EventFd`], whose errors are an [`Error`] that `?`
//! turns into a [`std::io::Error`]. Build for `wasm32-wasip2`; the result is
//! a WASI 0.2 component that `wasi-eventfd run` (or an embedder's host)
//! runs.
//!
//! # Depending on it
//!
//! The crate is **not on crates.io yet**: depend on it by path, on a clone
//! of the wasi-eventfd repository (below, cloned next to your package as
//! `wasi-eventfd`), or as a `git` dependency on that repository. Build
//! for `wasm32-wasip2` (`rustup target add wasm32-wasip2` once); for a
//! target that is not WebAssembly the crate does not compile, and says so.
//!
//! - no feature: blocking calls and `wasi:io/poll` pollables;
//! - feature `wstd`: futures on [wstd](https://docs.rs/wstd); your package
//!   depends on `wstd` too (`wstd = "0.6.8"`), whose runtime and
//!   `#[wstd::main]` run them (Cargo makes both the same 0.6 release);
//! - feature `p3` (**experimental**): the WASI 0.3 async world.
//!
//! # Example
//!
//! A worker that takes jobs from the shared semaphore eventfd `jobs` until
//! `quit` is written, waiting for both at once with `wasi:io/poll`, and
//! counts each finished job on `done`.
//!
//! `Cargo.toml`:
//!
//! ```toml
//! [package]
//! name = "pool-worker"
//! version = "0.1.0"
//! edition = "2021"
//!
//! [dependencies]
//! wasi-eventfd-guest = { path = "../wasi-eventfd/guest/rust" }
//! ```
//!
//! `src/main.rs`:
//!
//! ```no_run
//! use wasi_eventfd_guest::{poll, Error, EventFd};
//!
//! fn main() -> std::io::Result<()> {
//!     let jobs = EventFd::preopened("jobs")?; // shared by the host, by name
//!     let done = EventFd::preopened("done")?;
//!     let quit = EventFd::preopened("quit")?;
//!     // `jobs` is shared by several workers: non-blocking, so that a read
//!     // that another worker beat to the job says so instead of waiting.
//!     jobs.set_nonblocking(true);
//!
//!     // Pollables are level-triggered: ready while a read would not wait.
//!     let job_ready = jobs.subscribe_readable();
//!     let quit_ready = quit.subscribe_readable();
//!     let mut taken = 0;
//!     loop {
//!         match jobs.read() {
//!             Ok(_one) => {
//!                 taken += 1; // ... the job's work ...
//!                 done.write(1)?;
//!                 continue;
//!             }
//!             Err(Error::WouldBlock) => {}
//!             Err(e) => return Err(e.into()),
//!         }
//!         if quit_ready.ready() {
//!             break;
//!         }
//!         poll::poll(&[&job_ready, &quit_ready]); // sleeps until either is ready
//!     }
//!     // Pollables are children of their eventfd: drop them first.
//!     drop((job_ready, quit_ready));
//!     println!("worker: took {taken} jobs");
//!     Ok(())
//! }
//! ```
//!
//! Build it, and run two of it with the repository's dispatcher (built in
//! the clone by `cargo xtask demo`), which posts 100 jobs on `jobs`, reads
//! `done` until all are done, then writes `quit`; the runner creates the
//! eventfds:
//!
//! ```sh
//! cargo build --release --target wasm32-wasip2
//! wasi-eventfd run --eventfd jobs=0,semaphore,nonblock --eventfd done=0 --eventfd quit=0 \
//!     --with target/wasm32-wasip2/release/pool-worker.wasm \
//!     --with target/wasm32-wasip2/release/pool-worker.wasm \
//!     ../wasi-eventfd/target/wasm-guests/wasm32-wasip2/release/dispatcher.wasm 100
//! ```
//!
//! A guest can also make its own eventfds ([`EventFd::new`] with
//! [`Flags`]) and pass them on with [`EventFd::try_clone`] (`dup`).
#![cfg_attr(
    not(all(target_os = "wasi", target_env = "p1")),
    doc = "[`EventFd::info`] looks at one."
)]
//! Every call follows Linux's semantics, as the host's README describes.
//!
//! # Async guests
//!
//! **wstd** (feature `wstd`):
// Linked only where the feature makes them: a link to a missing item is a
// rustdoc warning.
#![cfg_attr(
    feature = "wstd",
    doc = "[`EventFd::readable`], [`writable`](EventFd::writable), \
           [`read_async`](EventFd::read_async) and [`write_async`](EventFd::write_async)"
)]
#![cfg_attr(
    not(feature = "wstd"),
    doc = "`EventFd::readable`, `writable`, `read_async` and `write_async`"
)]
//! are futures for
//! [wstd](https://docs.rs/wstd), the async runtime for WASI 0.2 components:
//! its reactor waits on the eventfd's pollable together with timers,
//! sockets and other eventfds, so while one task awaits an eventfd the
//! guest's other tasks run. The guest depends on `wstd` itself, for its
//! runtime.
//!
//! `Cargo.toml`:
//!
//! ```toml
//! [package]
//! name = "waiter"
//! version = "0.1.0"
//! edition = "2021"
//!
//! [dependencies]
//! wasi-eventfd-guest = { path = "../wasi-eventfd/guest/rust", features = ["wstd"] }
//! wstd = "0.6.8"
//! ```
//!
//! `src/main.rs`:
//!
//! ```no_run
//! use wasi_eventfd_guest::EventFd;
//!
//! #[wstd::main]
//! async fn main() -> std::io::Result<()> {
//!     let events = EventFd::preopened("events")?;
//!     let value = events.read_async().await?; // other tasks run meanwhile
//!     println!("read {value}");
//!     Ok(())
//! }
//! ```
//!
//! Run with `events` created holding 3, it prints `read 3`:
//!
//! ```sh
//! cargo build --release --target wasm32-wasip2
//! wasi-eventfd run --eventfd events=3 target/wasm32-wasip2/release/waiter.wasm
//! ```
//!
//! **WASI 0.3** (feature `p3`, **experimental**):
#![cfg_attr(feature = "p3", doc = "[`p3::EventFd`],")]
#![cfg_attr(not(feature = "p3"), doc = "`p3::EventFd`,")]
//! on the component-model async world `async-imports`, for guests that
//! export `wasi:cli/run@0.3.0`: reads and writes are component-model
//! futures.
//!
//! # Core modules (`wasm32-wasip1`)
//!
//! Built for `wasm32-wasip1` (`rustup target add wasm32-wasip1`), the crate
//! makes a WASI preview 1 core module, where an eventfd is an ordinary fd of
//! the guest's one fd table: `EventFd` is an `OwnedFd` underneath
//! (`AsFd`, `AsRawFd`, `From<EventFd> for OwnedFd`, `std::io::Read` and
//! `Write` 8 bytes at a time), so `std::fs::File::from(OwnedFd::from(efd))`
//! works, and `poll` takes it beside files and stdin. It has `new`,
//! `preopened`, `try_clone`, `read`, `write`, `set_nonblocking` and
//! `set_cloexec` with the same `Flags`; no pollables, futures or `info`
//! (those are the component worlds'), and the features do not apply.
//!
//! There an event loop waits with `Epoll` (wasm32-wasip1 only), Linux's
//! [`epoll(7)`](https://man7.org/linux/man-pages/man7/epoll.7.html) over
//! the host's `epoll_*` calls: `Epoll::new(EpollFlags::CLOEXEC)`, then
//! `add`, `modify` and `delete` of any `AsFd` source (eventfds, other
//! epolls, stdin, stdout, stderr) with an `Events` interest (`IN`, `OUT`,
//! `ET`, `ONESHOT`, `EXCLUSIVE`, … with Linux's bit values) and a `u64` of
//! data per registration, and `wait(&mut [Event], Option<Duration>)`,
//! which suspends the guest until an entry is ready (another guest's write
//! wakes it) and returns how many `Event`s it filled; errors are
//! `std::io::Error`s with preview 1's errno. The repository's
//! `guest-examples/rust/epoll-loop` is such a loop.
//!
//! # Raw bindings
//!
// The components' items: on wasm32-wasip1 there are none, and the links
// would be broken.
#![cfg_attr(
    not(all(target_os = "wasi", target_env = "p1")),
    doc = "[`bindings`] has the generated interface; [`EventFd::as_raw`], \
           [`EventFd::into_raw`] and `EventFd::from` convert. Its `wasi:io/poll` \
           is the [`wasip2`] crate's, re-exported as [`poll`], so an eventfd's \
           pollables poll together with those of other WASI 0.2 bindings."
)]
#![cfg_attr(
    all(target_os = "wasi", target_env = "p1"),
    doc = "For components only (`wasm32-wasip2`): on `wasm32-wasip1` an eventfd \
           is an fd, and `EventFd` and `Epoll` call the host's `wasi_eventfd` \
           import module.\n\n[`bindings`]: #raw-bindings"
)]
#![warn(missing_docs)]

// Natively the bindings compile, but each import is an `unreachable!()`
// that panics at run time: fail the build instead, naming the target.
#[cfg(not(target_family = "wasm"))]
compile_error!(
    "wasi-eventfd-guest is for WebAssembly components: build with `--target wasm32-wasip2` \
     (`cargo build --release --target wasm32-wasip2`; once: `rustup target add wasm32-wasip2`)"
);

// WASI 0.2 components (and 0.3 with `p3`): the WIT bindings.
#[cfg(not(all(target_os = "wasi", target_env = "p1")))]
#[macro_use]
mod common;
#[cfg(not(all(target_os = "wasi", target_env = "p1")))]
pub mod bindings;
mod error;
#[cfg(not(all(target_os = "wasi", target_env = "p1")))]
mod eventfd;
#[cfg(all(feature = "p3", not(all(target_os = "wasi", target_env = "p1"))))]
pub mod p3;
// WASI preview 1 core modules: an eventfd is an ordinary fd, and epoll
// watches it beside other fds.
#[cfg(all(target_os = "wasi", target_env = "p1"))]
mod epoll;
#[cfg(all(target_os = "wasi", target_env = "p1"))]
mod wasip1;

#[cfg(all(target_os = "wasi", target_env = "p1"))]
pub use epoll::{Epoll, EpollFlags, Event, Events};
pub use error::{Error, Result};
#[cfg(not(all(target_os = "wasi", target_env = "p1")))]
pub use eventfd::{EventFd, Flags, Info};
#[cfg(all(target_os = "wasi", target_env = "p1"))]
pub use wasip1::{EventFd, Flags};
#[cfg(not(all(target_os = "wasi", target_env = "p1")))]
/// `wasi:io/poll` ([`wasip2`]'s): [`poll::poll`] waits for any of several
/// pollables; [`poll::Pollable`] is what the `subscribe_*` methods give.
pub use wasip2::io::poll;
#[cfg(not(all(target_os = "wasi", target_env = "p1")))]
pub use wasip2::io::poll::Pollable;
