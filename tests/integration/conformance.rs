//! The eventfd suites of LTP, gVisor and Miri, ported: each test is named
//! after the case it ports and runs the `conformance` guest with that case.
//! Where a case forks or starts threads, several guests share preopens.

use std::future::Future;

use wasi_eventfd::runner::{GuestSpec, Outcome, Runner};
use wasi_eventfd::MAX_COUNT;

use crate::guests::guest;
use crate::library::{assert_all_succeeded, run_alongside, runner_with, until, within};

fn case(name: &str) -> GuestSpec {
    GuestSpec::new(guest("conformance"), [name.to_string()])
}

/// Runs `first`; once `ready` holds (they have reached their blocking
/// point), runs `then` alongside; returns all their outcomes.
async fn staged(
    runner: &Runner,
    first: Vec<GuestSpec>,
    ready: impl Fn() -> bool,
    then: Vec<GuestSpec>,
) -> Vec<Outcome> {
    let later = async {
        until("the first guests to block", ready).await;
        runner.run(&then).await.unwrap()
    };
    let (outcomes, later) = within("the case", async {
        tokio::join!(runner.run(&first), later)
    })
    .await;
    let mut outcomes = outcomes.unwrap();
    outcomes.extend(later);
    outcomes
}

fn joined<F: Future>(future: F) -> F::Output {
    tokio::runtime::Runtime::new().unwrap().block_on(future)
}

macro_rules! single_guest_cases {
    ($($name:ident),* $(,)?) => {$(
        #[test]
        fn $name() {
            let runner = Runner::new().unwrap();
            let outcomes = joined(runner.run(&[case(stringify!($name))])).unwrap();
            assert_all_succeeded(&outcomes);
            assert!(runner.descriptions().is_empty());
        }
    )*};
}

single_guest_cases!(
    ltp_eventfd01,
    ltp_eventfd02,
    ltp_eventfd03,
    ltp_eventfd04,
    ltp_eventfd2_01,
    ltp_eventfd2_02,
    gvisor_nonblock,
    gvisor_notify_non_zero,
    gvisor_epoll_all_writable,
    gvisor_epoll_last_readable,
    gvisor_epoll_last_non_writable,
    gvisor_fcntl_dup_cloexec,
    miri_test_read_write,
    miri_test_initval,
);

#[tokio::test(flavor = "multi_thread")]
async fn ltp_eventfd05() {
    // fork: the child writes and exits, the parent reaps it, then reads.
    let (runner, _fds) = runner_with(&["shared=0"]);
    assert_all_succeeded(&runner.run(&[case("ltp_eventfd05_child")]).await.unwrap());
    assert_all_succeeded(&runner.run(&[case("ltp_eventfd05_parent")]).await.unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn ltp_eventfd2_03() {
    let (runner, fds) = runner_with(&["fd1=0,semaphore", "fd2=0,semaphore"]);
    let outcomes = within(
        "the two players",
        runner.run(&[case("ltp_eventfd2_03_a"), case("ltp_eventfd2_03_b")]),
    )
    .await
    .unwrap();
    assert_all_succeeded(&outcomes);
    assert_eq!((fds[0].info().count, fds[1].info().count), (0, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn gvisor_blocking_write() {
    let (runner, fds) = runner_with(&["sem=0,semaphore"]);
    let sem = fds[0].description().clone();
    let outcomes = staged(
        &runner,
        vec![case("gvisor_blocking_write_reader")],
        || sem.readers_waiting() == 1,
        vec![case("gvisor_blocking_write_writer")],
    )
    .await;
    assert_all_succeeded(&outcomes);
    assert_eq!(sem.count(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn gvisor_epoll_wait_then_unblock() {
    let (runner, fds) = runner_with(&["shared=0"]);
    let shared = fds[0].description().clone();
    let host = async {
        until("the guest polls", || shared.readers_waiting() == 1).await;
        fds[0].write(1).await.unwrap();
    };
    let outcomes = run_alongside(&runner, vec![case("gvisor_epoll_wait_then_unblock")], host).await;
    assert_all_succeeded(&outcomes);
}

#[tokio::test(flavor = "multi_thread")]
async fn miri_test_blocking_read() {
    let (runner, fds) = runner_with(&["shared=0"]);
    let shared = fds[0].description().clone();
    let outcomes = staged(
        &runner,
        vec![case("miri_test_blocking_read_reader")],
        || shared.readers_waiting() == 1,
        vec![case("miri_test_blocking_read_writer")],
    )
    .await;
    assert_all_succeeded(&outcomes);
}

async fn blocked_writers_then_reader(writers: usize) {
    let (runner, fds) = runner_with(&["shared=0"]);
    fds[0].write(MAX_COUNT).await.unwrap();
    let shared = fds[0].description().clone();
    let outcomes = staged(
        &runner,
        (0..writers)
            .map(|_| case("miri_test_blocking_write_writer"))
            .collect(),
        || shared.writers_waiting() == writers,
        vec![case("miri_test_blocking_write_reader")],
    )
    .await;
    assert_all_succeeded(&outcomes);
    assert_eq!(
        shared.count(),
        writers as u64,
        "each blocked write added its 1"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn miri_test_blocking_write() {
    blocked_writers_then_reader(1).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn miri_test_two_threads_blocked_on_eventfd() {
    blocked_writers_then_reader(2).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn miri_test_close_while_blocked() {
    let (runner, fds) = runner_with(&["shared=0"]);
    let shared = fds[0].description().clone();
    let outcomes = staged(
        &runner,
        vec![case("miri_test_close_while_blocked_reader")],
        || shared.readers_waiting() == 1,
        vec![case("miri_test_close_while_blocked_closer")],
    )
    .await;
    assert_all_succeeded(&outcomes);
}
