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

/// Two guests waking each other through `epoll_wait` on two threads, so
/// that the deadlock check polls each instance while the other thread's
/// guest waits on it. Such a poll once took an entry off the ready list
/// and put it back under two locks: a wait in between found the list
/// empty and parked for good (a hang, here the timeout's 124).
#[test]
fn an_epoll_ping_pong_on_two_threads_finishes() {
    let guest = test_wat("bench_epoll_ping_pong.wat");
    let guest = guest.to_str().expect("a UTF-8 path");
    for _ in 0..3 {
        let output = wasi_eventfd(&[
            "run",
            "--threads",
            "2",
            "--timeout",
            "60",
            "--eventfd",
            "ping=0",
            "--eventfd",
            "pong=0",
            "--with",
            guest,
            guest,
            "20000",
        ]);
        let out = succeeded(&output);
        assert!(out.starts_with("elapsed_ns "), "{out}");
    }
}
