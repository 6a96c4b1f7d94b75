//! The generated bindings of world `wasi-eventfd:eventfd/imports`, for what
//! [`EventFd`](crate::EventFd) does not wrap.
//!
//! `wasi:io/poll` is the [`wasip2`] crate's, so the pollables made here are
//! [`wasip2::io::poll::Pollable`]s: they poll together with those of every
//! other WASI 0.2 binding and runtime (sockets, clocks, streams, wstd).
//!
//! [`EventFd::as_raw`](crate::EventFd::as_raw) and
//! [`EventFd::into_raw`](crate::EventFd::into_raw) give the
//! [`Eventfd`](wasi_eventfd::eventfd::types::Eventfd) resource behind an
//! `EventFd`; `EventFd::from` takes one back.

#![allow(missing_docs)]

wit_bindgen::generate!({
    path: "wit",
    world: "wasi-eventfd:eventfd/imports",
    with: {
        "wasi:io/poll@0.2.12": wasip2::io::poll,
    },
    generate_all,
});
