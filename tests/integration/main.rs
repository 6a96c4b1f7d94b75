//! Integration tests: guest components built from `tests/guests` and
//! `guest-examples/rust`, run through the library and through the
//! `wasi-eventfd` binary, and a differential test against the kernel.

mod async_guests;
mod c_guests;
mod cli;
mod conformance;
mod core_modules;
mod deadlocks;
mod differential;
mod epoll;
mod eventfds;
mod faults;
mod guest_crate;
mod guests;
mod hostile;
mod languages;
mod library;
mod output;
mod posix_c;
mod readme_examples;
mod run_files;
mod scale;
mod seeded;
mod sockets;
mod waker;
mod wasi_runtime;
