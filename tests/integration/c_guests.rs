//! C guests (core modules built with clang and wasi-libc) through the
//! `wasi-eventfd` binary, alone and paired with Rust components.

use crate::cli::{ping_pong, succeeded, wasi_eventfd};
use crate::guests::{c_guest, guest};

#[test]
fn c_sees_errors_as_libc_errno_constants() {
    let errors = c_guest("errors").display().to_string();
    let out = succeeded(&wasi_eventfd(&["run", &errors]));
    assert!(!out.contains("FAIL"), "{out}");
    for line in [
        "ok read of 0 on a non-blocking eventfd: Resource temporarily unavailable",
        "ok write past the maximum: Resource temporarily unavailable",
        "ok read of a closed fd: Bad file descriptor",
        "ok preopen of an unknown name: No such file or directory",
    ] {
        assert!(out.contains(line), "missing `{line}` in:\n{out}");
    }
}

#[test]
fn c_ping_plays_with_the_rust_pong_component() {
    let ping = c_guest("ping").display().to_string();
    let pong = guest("pong").display().to_string();
    let out = succeeded(&ping_pong(&[], &pong, &ping, "300"));
    assert!(out.contains("ping-pong (C ping): 300 round trips"), "{out}");
    assert!(out.contains("pong: answered 300 balls"), "{out}");
}

#[test]
fn c_producer_feeds_c_consumers_and_a_rust_worker() {
    let consumer = c_guest("consumer").display().to_string();
    let worker = guest("worker").display().to_string();
    let producer = c_guest("producer").display().to_string();
    let out = succeeded(&wasi_eventfd(&[
        "run",
        "--eventfd",
        "jobs=0,semaphore,nonblock",
        "--eventfd",
        "done=0",
        "--eventfd",
        "quit=0",
        "--with",
        &consumer,
        "--with",
        &consumer,
        "--with",
        &worker,
        &producer,
        "400",
    ]));
    assert!(out.contains("producer: 400 jobs posted and done"), "{out}");
    let taken: u64 = out
        .lines()
        .filter_map(|l| {
            l.strip_prefix("consumer: took ")
                .or_else(|| l.strip_prefix("worker: took "))
        })
        .map(|rest| rest.split(' ').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(taken, 400, "every job taken exactly once:\n{out}");
}
