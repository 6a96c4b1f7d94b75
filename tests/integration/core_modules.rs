//! Core-module guests (WAT here; C in `c_guests`) on the integer-fd ABI,
//! alone and together with components and host code.

use wasi_eventfd::runner::{GuestSpec, Outcome, Runner};
use wasi_eventfd::MAX_COUNT;

use crate::cli::wasi_eventfd;
use crate::guests::{example_wat, guest, test_wat, Scratch};
use crate::library::{assert_all_succeeded, run_alongside, runner_with, until};

#[tokio::test(flavor = "multi_thread")]
async fn wat_basics_follow_the_abi() {
    let runner = Runner::new().unwrap();
    let outcomes = runner
        .run(&[GuestSpec::new(example_wat("eventfd-basics.wat"), [])])
        .await
        .unwrap();
    assert_all_succeeded(&outcomes);
}

#[tokio::test(flavor = "multi_thread")]
async fn wat_error_paths_give_linux_errnos_and_free_everything() {
    let runner = Runner::new().unwrap();
    let outcomes = runner
        .run(&[GuestSpec::new(example_wat("eventfd-errors.wat"), [])])
        .await
        .unwrap();
    // A failed check exits with its number: Exit(n) names the check.
    assert_all_succeeded(&outcomes);
    assert!(
        runner.descriptions().is_empty(),
        "the guest's open fds are released when it ends: {:?}",
        runner.descriptions().ids()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_into_a_buffer_outside_memory_stops_the_guest_and_consumes_nothing() {
    // wasmtime-wasi's preview 1 stops the guest with an error for a buffer
    // outside memory (where the integer-fd ABI's own read, now gone, said
    // EFAULT), as `wasmtime run` does; the places are checked before the
    // counter is taken.
    let (runner, fds) = runner_with(&["e=3"]);
    let outcomes = runner
        .run(&[GuestSpec::new(test_wat("read_bad_buffer.wat"), [])])
        .await
        .unwrap();
    assert!(
        matches!(&outcomes[..], [Outcome::Failed(error)] if error.contains("out of bounds")),
        "{outcomes:?}"
    );
    assert_eq!(fds[0].description().count(), 3, "nothing was consumed");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_core_guest_blocked_in_read_is_woken_by_the_host() {
    let (runner, fds) = runner_with(&["ping=0", "pong=0"]);
    let ping = fds[0].description().clone();
    let host = async {
        for _ in 0..3 {
            until("the core guest blocks reading `ping`", || {
                ping.readers_waiting() == 1
            })
            .await;
            assert_eq!(fds[1].description().count(), 0);
            fds[0].write(1).await.unwrap();
            assert_eq!(fds[1].read().await, Ok(1));
        }
        fds[0].write(2).await.unwrap();
    };
    let outcomes = run_alongside(
        &runner,
        vec![GuestSpec::new(example_wat("pong.wat"), [])],
        host,
    )
    .await;
    assert_all_succeeded(&outcomes);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_core_guest_blocked_in_write_waits_for_a_read() {
    let (runner, fds) = runner_with(&["full=0"]);
    let full = fds[0].description().clone();
    fds[0].write(MAX_COUNT).await.unwrap();
    let host = async {
        until("the core guest blocks writing", || {
            full.writers_waiting() == 1
        })
        .await;
        assert_eq!(full.count(), MAX_COUNT);
        assert_eq!(fds[0].read().await, Ok(MAX_COUNT));
    };
    let outcomes = run_alongside(
        &runner,
        vec![GuestSpec::new(test_wat("write_blocks.wat"), [])],
        host,
    )
    .await;
    assert_all_succeeded(&outcomes);
    assert_eq!(full.count(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_core_guest_in_poll_wakes_on_a_write() {
    let (runner, fds) = runner_with(&["in=0"]);
    let input = fds[0].description().clone();
    let host = async {
        until("the core guest polls", || input.readers_waiting() == 1).await;
        fds[0].write(42).await.unwrap();
    };
    let outcomes = run_alongside(
        &runner,
        vec![GuestSpec::new(test_wat("poll_blocks.wat"), [])],
        host,
    )
    .await;
    assert_all_succeeded(&outcomes);
    assert_eq!(input.count(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_core_module_and_a_component_play_ping_pong() {
    let (runner, _fds) = runner_with(&["ping=0", "pong=0"]);
    let outcomes = runner
        .run(&[
            GuestSpec::new(guest("ping"), ["500".to_string()]),
            GuestSpec::new(example_wat("pong.wat"), []),
        ])
        .await
        .unwrap();
    assert_all_succeeded(&outcomes);
}

#[test]
fn bad_wat_and_modules_without_start_are_one_line_errors() {
    let scratch = Scratch::new("wat");
    let cases = [
        (
            "broken.wat",
            "(module (func $f (result i32)",
            "not a WebAssembly file (nor valid WebAssembly text)",
        ),
        (
            "no-start.wat",
            "(module (memory (export \"memory\") 1))",
            "needs a `_start` export",
        ),
        (
            "unknown-import.wat",
            "(module (import \"wasi_eventfd\" \"nope\" (func)) (func (export \"_start\")))",
            "cannot be linked",
        ),
    ];
    for (name, text, expected) in cases {
        let path = scratch.file(name, text).display().to_string();
        let output = wasi_eventfd(&["run", &path]);
        let err = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{name}: {err}");
        assert_eq!(err.lines().count(), 1, "{name}: {err}");
        assert!(
            err.contains(expected),
            "{name}: expected `{expected}` in {err}"
        );
    }
}

#[test]
fn a_core_module_exit_code_is_reported_exactly() {
    let runner = Runner::new().unwrap();
    let scratch = Scratch::new("exit");
    let path = scratch.file(
        "exit7.wat",
        r#"(module (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
           (memory (export "memory") 1)
           (func (export "_start") (call $exit (i32.const 7))))"#,
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let outcomes = runtime
        .block_on(runner.run(&[GuestSpec::new(&path, [])]))
        .unwrap();
    assert_eq!(outcomes, [Outcome::Exit(7)]);
}
