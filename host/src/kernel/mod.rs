//! The kernel layer: what Linux's `fs/` does for eventfds, with no wasm in
//! it. Front ends (WASI 0.2 and 0.3 resources, preview 1's fds, host code)
//! are thin layers over it.
//!
//! - [`fd_table`]: a process's numbers for its open files (`fs/file.c`).
//!
//! The eventfd semantics ([`crate::Description`], `fs/eventfd.c`) and the
//! table of open descriptions ([`crate::DescriptionTable`]) are the rest of
//! this layer.

pub mod fd_table;
