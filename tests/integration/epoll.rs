//! epoll through the `wasi_eventfd` module at the byte level (the C
//! library's programs are in `posix_c`): wasm32's `struct epoll_event`,
//! bad pointers, the kernel's order of errors, the registrations' bound.

use crate::cli::{stderr, succeeded, wasi_eventfd};
use crate::guests::test_wat;

#[test]
fn the_epoll_abi_lays_out_events_checks_pointers_and_bounds_registrations() {
    let guest = test_wat("epoll_abi.wat");
    let output = wasi_eventfd(&[
        "run",
        "--max-descriptors",
        "8",
        &guest.display().to_string(),
    ]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "a failed check exits with its number: {}",
        stderr(&output)
    );
    assert_eq!(succeeded(&output), "epoll_abi: ok\n");
}
