//! The Rust guest crate (`guest/rust`, `wasi-eventfd-guest`) in guests:
//! its `wstd` futures, through the `wstd-waiter` example
//! (`guest-examples/rust/wstd-waiter`), its errors as `std::io::Error`s, and
//! its refusal to build for anything but WebAssembly, and on wasm32-wasip1
//! its `EventFd` as an `OwnedFd` and its `Epoll`.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use crate::cli::{stderr, stdout, succeeded, wasi_eventfd};
use crate::guests::{cargo_build, guest, repo_root};

/// How many values `poster` writes when run as a `--with` guest, which gets
/// no arguments.
const VALUES: u64 = 5;

#[test]
fn a_wstd_guest_awaits_an_eventfd_another_guest_writes() {
    let (poster, waiter) = (guest("poster"), guest("waiter"));
    let output = wasi_eventfd(&[
        "run",
        "--timeout",
        "60",
        "--eventfd",
        "events=0",
        "--eventfd",
        "ack=0",
        "--with",
        &poster.display().to_string(),
        &waiter.display().to_string(),
    ]);
    let out = succeeded(&output);

    // Every value the poster wrote, read on its own and in order: the
    // poster waits for the waiter's `ack` before writing the next one.
    let read: Vec<u64> = out
        .lines()
        .filter_map(|line| line.strip_prefix("waiter: read "))
        .filter_map(|value| value.parse().ok())
        .collect();
    assert_eq!(read, (1..=VALUES).collect::<Vec<_>>(), "{out}");
    assert!(out.contains("poster: wrote 1 to 5 to `events`\n"), "{out}");

    // The timer task ran while the reading task awaited the eventfd: a read
    // that suspended the whole guest would leave it one tick, taken after
    // the last value (the poster pauses 20 ms before each of its writes;
    // the timer ticks every 5 ms).
    let summary = out
        .lines()
        .find_map(|line| {
            line.strip_prefix("waiter: read 5 values (sum 15) while the timer task ticked ")
        })
        .unwrap_or_else(|| panic!("no summary line:\n{out}"));
    let ticks: u64 = summary
        .strip_suffix(" times")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no tick count in {summary:?}"));
    assert!(ticks >= 2, "the timer task ticked {ticks} times:\n{out}");
}

#[test]
fn a_missing_preopen_is_an_io_error_of_kind_not_found() {
    // `main` returns `std::io::Result`: `?` turned the crate's error into an
    // `io::Error` that keeps it.
    let output = wasi_eventfd(&[
        "run",
        "--timeout",
        "60",
        &guest("waiter").display().to_string(),
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    // What `main` prints is the `io::Error`'s Debug, with the crate's
    // error inside: it names the eventfd and how to grant it.
    let err = stderr(&output);
    assert!(
        err.contains(
            r#"Error: Custom { kind: NotFound, error: no eventfd named "events" was granted to this guest (wasi-eventfd run --eventfd events=0 …, or in a run file [eventfd.events] and eventfds = ["events"] in the guest's [[guest]]) }"#
        ),
        "{err}"
    );
}

#[test]
fn a_native_build_of_the_guest_crate_fails_naming_the_target() {
    // Built for the host, the bindings would compile and panic at run time
    // ("entered unreachable code"): the crate refuses to compile instead.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(&cargo)
        .args(["check", "--locked", "--all-features", "--target-dir"])
        .arg(repo_root().join("target").join("guest-native"))
        // Run from the crate so that rustup honours rust-toolchain.toml.
        .current_dir(repo_root().join("guest").join("rust"))
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .expect("run cargo");
    let err = stderr(&output);
    assert!(!output.status.success(), "a native build succeeded:\n{err}");
    assert!(
        err.contains(
            "wasi-eventfd-guest is for WebAssembly components: build with `--target wasm32-wasip2`"
        ),
        "{err}"
    );
}

/// The guests of `tests/guests-p1`, built once for wasm32-wasip1 (core
/// modules); the path of the one named `name`.
fn p1_guest(name: &str) -> PathBuf {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let dir = BUILT
        .get_or_init(|| {
            let target_dir = repo_root().join("target").join("wasm-guests-p1");
            cargo_build("tests/guests-p1", "wasm32-wasip1", &target_dir)
        })
        .as_ref()
        .unwrap_or_else(|e| panic!("{e}"));
    dir.join(format!("{name}.wasm"))
}

#[test]
fn on_wasip1_an_eventfd_is_an_owned_fd_read_and_written_as_any_fd() {
    let wasm = p1_guest("eventfd-test-program-p1");
    let output = wasi_eventfd(&["run", "--eventfd", "shared=5", &wasm.display().to_string()]);
    assert_eq!(
        succeeded(&output),
        "new: fd 3\n\
         read of 0: Err(WouldBlock)\n\
         semaphore reads: 1 1\n\
         write of u64::MAX: Err(InvalidArgument)\n\
         preopened: fd 4, read 5\n\
         dup: fd 5, read through the original 7\n\
         non-blocking through the dup, read of 0: Err(WouldBlock)\n\
         File write, Read: 9\n\
         write of 4 bytes: Err(InvalidInput)\n\
         after closing, a new eventfd takes fd 5\n\
         missing: no eventfd named \"missing\" was granted to this guest (wasi-eventfd run \
         --eventfd missing=0 …, or in a run file [eventfd.missing] and eventfds = \
         [\"missing\"] in the guest's [[guest]])\n"
    );
}

#[test]
fn on_wasip1_epoll_waits_on_eventfds_as_linux_and_is_woken_by_another_guest() {
    // tests/guests-p1/src/bin/epoll.rs; the lines up to `deleted` are what
    // a C program of the same calls printed natively on Linux.
    let output = wasi_eventfd(&[
        "run",
        "--timeout",
        "60",
        "--eventfd",
        "ready=0",
        "--eventfd",
        "wake=0",
        "--with",
        &p1_guest("epoll-writer").display().to_string(),
        &p1_guest("epoll").display().to_string(),
    ]);
    assert_eq!(
        succeeded(&output),
        "epoll: fd 3, close-on-exec true; without the flag false\n\
         none: []\n\
         timeout 30 ms: 0 events, waited 30 ms or more: true\n\
         timeout 100 µs: 0 events, waited 1 ms or more: true\n\
         both written: [(1, 1), (1, 2)]\n\
         again: [(1, 1)]\n\
         edge written again: [(1, 1), (1, 2)]\n\
         max 1: [(1, 1)]\n\
         max 1: [(1, 1)]\n\
         max 1: [(1, 1)]\n\
         max 1: [(1, 2)]\n\
         both read: []\n\
         oneshot armed, counter 0: []\n\
         oneshot written: [(1, 3)]\n\
         oneshot written again: []\n\
         re-armed: [(1, 4)]\n\
         deleted: []\n\
         add twice: AlreadyExists Some(20)\n\
         delete twice: NotFound Some(44)\n\
         modify of a file not in the list: NotFound Some(44)\n\
         add of itself: InvalidInput Some(28)\n\
         wait with no room: InvalidInput Some(28)\n\
         nested, nothing ready: []\n\
         nested, level written: [(1, 7)]\n\
         stdout: [(4, 8)]\n\
         woken: [(1, 5)], after 50 ms or more: true\n\
         closed as an OwnedFd, fd 3 is free: true\n"
    );
}
