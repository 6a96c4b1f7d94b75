//! **Experimental**, as component-model async is in wasmtime: eventfds for
//! guests written with component-model async (WASI 0.3), world
//! `wasi-eventfd:eventfd/async-imports`.
//!
//! [`EventFd::read`], [`write`](EventFd::write),
//! [`readable`](EventFd::readable) and [`writable`](EventFd::writable) are
//! futures of the component model: a guest can have many in flight, in any
//! of its tasks, and while one waits only the task awaiting it waits. The
//! descriptions are the same shared ones as those of the WASI 0.2
//! [`EventFd`](crate::EventFd).
//!
//! They can only be awaited inside a component-model async task: the guest
//! exports `wasi:cli/run@0.3.0` with an `async fn run` (its own
//! `wit_bindgen::generate!` of a world with `export wasi:cli/run@0.3.0`;
//! the WASI 0.3 WIT that wasmtime 48 implements is in the repository's
//! `guest-examples/wasi-0.3`). `guest-examples/rust/async-pong` is one.
//!
//! Dropping a pending [`EventFd::read`] consumes nothing; a read the host
//! has already completed has taken its count even if the guest drops it
//! unread. So keep reads in flight across `select`s, or select on
//! [`EventFd::readable`] and read afterwards.
//!
//! A guest that waits for a job on the shared `jobs` and passes it on to
//! an eventfd of its own. The `run` export comes from the WASI 0.3 WIT that
//! wasmtime 48 implements, in the repository's `guest-examples/wasi-0.3`
//! (here in a clone next to the package, as `wasi-eventfd`).
//!
//! `Cargo.toml`:
//!
//! ```toml
//! [package]
//! name = "p3-waiter"
//! version = "0.1.0"
//! edition = "2021"
//!
//! [dependencies]
//! wasi-eventfd-guest = { path = "../wasi-eventfd/guest/rust", features = ["p3"] }
//! wit-bindgen = "0.60"
//! ```
//!
//! `src/main.rs`:
//!
//! ```no_run
//! use wasi_eventfd_guest::p3::{EventFd, Flags};
//! use wasi_eventfd_guest::Error;
//!
//! wit_bindgen::generate!({
//!     inline: "
//!         package my:p3-waiter;
//!         world p3-waiter { export wasi:cli/run@0.3.0; }
//!     ",
//!     path: "../wasi-eventfd/guest-examples/wasi-0.3",
//!     world: "my:p3-waiter/p3-waiter",
//!     generate_all,
//! });
//!
//! struct Waiter;
//! export!(Waiter);
//!
//! impl exports::wasi::cli::run::Guest for Waiter {
//!     async fn run() -> Result<(), ()> {
//!         let waited = async {
//!             let jobs = EventFd::preopened("jobs")?;
//!             jobs.readable().await; // only this task waits
//!             let job = jobs.read().await?;
//!             let mine = EventFd::new(0, Flags::SEMAPHORE)?;
//!             mine.write(job).await?;
//!             println!("took {job}, passed it on");
//!             Ok::<_, Error>(())
//!         };
//!         waited.await.map_err(|e| eprintln!("p3-waiter: {e}"))
//!     }
//! }
//!
//! // A Rust binary needs a `main`; the host calls `run` above.
//! fn main() {}
//! ```
//!
//! ```sh
//! cargo build --release --target wasm32-wasip2
//! wasi-eventfd run --eventfd jobs=2 target/wasm32-wasip2/release/p3-waiter.wasm
//! ```

use crate::Result;
use bindings::wasi_eventfd::eventfd::{async_preopens, async_types};

/// The generated bindings of world `wasi-eventfd:eventfd/async-imports`.
#[allow(missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "wit",
        world: "wasi-eventfd:eventfd/async-imports",
        generate_all,
    });
}

/// Flags for [`EventFd::new`], as [`crate::Flags`].
pub use async_types::CreateFlags as Flags;
/// A snapshot of a descriptor and its description ([`EventFd::info`]).
pub use async_types::Info;

eventfd_type! {
    /// A descriptor of an eventfd, as [`crate::EventFd`], whose reads,
    /// writes and readiness are futures.
    raw: async_types::Eventfd,
    get_eventfds: async_preopens::get_eventfds,
    flags: Flags,
    info: Info,
}

impl EventFd {
    /// `read(2)`, as [`crate::EventFd::read`]; while it waits for a write,
    /// only the task that awaits it waits. Dropped before it completes, it
    /// consumes nothing.
    pub async fn read(&self) -> Result<u64> {
        Ok(self.raw.read().await?)
    }

    /// `write(2)`, as [`crate::EventFd::write`]; while it waits for room,
    /// only the task that awaits it waits.
    pub async fn write(&self, value: u64) -> Result<()> {
        Ok(self.raw.write(value).await?)
    }

    /// Returns once the counter is above 0 (a read would not wait), at
    /// once if it already is; consumes nothing (`EPOLLIN`).
    pub async fn readable(&self) {
        self.raw.readable().await;
    }

    /// Returns once writing 1 would not wait (`EPOLLOUT`).
    pub async fn writable(&self) {
        self.raw.writable().await;
    }
}
