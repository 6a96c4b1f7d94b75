//! Guests of the experimental component-model async interface
//! (`async-types`, exporting `wasi:cli/run@0.3.0`): the rules, many reads
//! in flight in one guest, cancelled reads, and WASI 0.2 guests, core
//! modules and the host on the same eventfds.

use wasi_eventfd::runner::{GuestSpec, Runner};

use crate::cli::{ping_pong, succeeded, wasi_eventfd};
use crate::guests::{c_guest, guest};
use crate::library::{assert_all_succeeded, run_alongside, runner_with, until};

fn path(name: &str) -> String {
    guest(name).display().to_string()
}

#[test]
fn every_rule_holds_through_the_async_interface() {
    let out = succeeded(&wasi_eventfd(&["run", &path("async_semantics")]));
    for rule in [
        "ok read of 0 on a non-blocking eventfd is would-block",
        "ok write of u64::MAX is invalid-argument and changes nothing",
        "ok a write past the maximum is would-block and adds nothing",
        "ok semaphore mode reads 1 and decrements",
        "ok dup shares the description: counter and non-blocking; close-on-exec is per descriptor",
        "ok 64 concurrent reads of a semaphore, 64 writes of 1: each read completes once, with 1",
        "ok 64 concurrent reads of a semaphore, one write of 64: all complete, counter 0",
        "ok a cancelled pending read consumes nothing",
        "ok 16 of 32 pending semaphore reads cancelled, then a write of 32: 16 complete, 16 counts left",
        "ok a write that does not fit waits, then completes after a read makes room",
        "ok a read of 0 waits, then completes with the count of the write",
        "ok readable waits for a count and consumes nothing",
        "ok writable waits for room",
    ] {
        assert!(out.contains(rule), "missing `{rule}` in:\n{out}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_async_guest_frees_every_description_it_made() {
    let runner = Runner::new().unwrap();
    let outcomes = runner
        .run(&[GuestSpec::new(guest("async_semantics"), [])])
        .await
        .unwrap();
    assert_all_succeeded(&outcomes);
    assert!(
        runner.descriptions().is_empty(),
        "{:?}",
        runner.descriptions().ids()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_host_wakes_many_reads_in_flight_in_one_guest() {
    const READS: usize = 50;
    let (runner, fds) = runner_with(&["jobs=0,semaphore", "done=0"]);
    let jobs = fds[0].description().clone();
    let host = async {
        // All 50 reads wait at once, in one guest.
        until("the guest has 50 reads in flight", || {
            jobs.readers_waiting() == READS
        })
        .await;
        fds[0].write(20).await.unwrap();
        until("20 reads are left", || jobs.readers_waiting() == READS - 20).await;
        fds[0].write(30).await.unwrap();
        assert_eq!(fds[1].read().await, Ok(READS as u64));
        assert_eq!(jobs.count(), 0, "each count taken exactly once");
    };
    let guests = vec![GuestSpec::new(guest("async_drain"), [READS.to_string()])];
    assert_all_succeeded(&run_alongside(&runner, guests, host).await);
}

#[test]
fn a_wasi_0_2_guest_wakes_a_wasi_0_3_guest_and_back() {
    let async_pong = path("async-pong");
    let ping = path("ping");
    let out = succeeded(&ping_pong(&[], &async_pong, &ping, "500"));
    assert!(out.contains("ping-pong: 500 round trips"), "{out}");
    assert!(out.contains("async-pong: answered 500 balls"), "{out}");
}

#[test]
fn a_c_core_module_plays_with_a_wasi_0_3_guest() {
    let async_pong = path("async-pong");
    let ping = c_guest("ping").display().to_string();
    let out = succeeded(&ping_pong(&[], &async_pong, &ping, "200"));
    assert!(out.contains("ping-pong (C ping): 200 round trips"), "{out}");
    assert!(out.contains("async-pong: answered 200 balls"), "{out}");
}

#[test]
fn a_waiting_async_guest_with_tasks_running_is_not_a_deadlock() {
    // Alone, async-pong waits on `ping` forever, but its heartbeat task
    // keeps running: the run times out (124), it is not a deadlock (3).
    let output = wasi_eventfd(&[
        "run",
        "--timeout",
        "0.5",
        "--eventfd",
        "ping=0",
        "--eventfd",
        "pong=0",
        &path("async-pong"),
    ]);
    assert_eq!(
        output.status.code(),
        Some(124),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
