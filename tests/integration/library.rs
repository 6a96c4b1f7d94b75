//! Guests run through the library's `Runner`, with host code taking part
//! through its own descriptors of the same descriptions.

use std::future::Future;
use std::time::Duration;

use wasi_eventfd::runner::{GuestSpec, Outcome, RunOptions, Runner};
use wasi_eventfd::{Description, Descriptor, MAX_COUNT};

use crate::guests::guest;

/// How long a test waits for a condition before it fails.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Waits until `condition` holds: guests reach their blocking points at
/// their own pace, so tests wait for the state rather than for a time.
pub async fn until(what: &str, condition: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Fails the test instead of hanging when a future never completes.
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(PATIENCE, future)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// Runs guests and host code side by side until both are done.
pub async fn run_alongside(
    runner: &Runner,
    specs: Vec<GuestSpec>,
    host: impl Future<Output = ()>,
) -> Vec<Outcome> {
    let (outcomes, ()) = within("the guests and the host", async {
        tokio::join!(runner.run(&specs), host)
    })
    .await;
    outcomes.expect("guests load")
}

pub fn runner_with(specs: &[&str]) -> (Runner, Vec<Descriptor>) {
    runner_with_options(RunOptions::default(), specs)
}

/// A runner with `options` sharing the eventfds of `specs` (as given to
/// `--eventfd`), and the host's descriptors of them, in order.
pub fn runner_with_options(options: RunOptions, specs: &[&str]) -> (Runner, Vec<Descriptor>) {
    let mut runner = Runner::with_options(options).expect("runner");
    let descriptors = specs
        .iter()
        .map(|spec| crate::eventfds::add_eventfd(&mut runner, spec))
        .collect();
    (runner, descriptors)
}

fn guests(name: &str, count: usize, args: &[&str]) -> Vec<GuestSpec> {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    (0..count)
        .map(|_| GuestSpec::new(guest(name), args.clone()))
        .collect()
}

pub fn assert_all_succeeded(outcomes: &[Outcome]) {
    for (i, outcome) in outcomes.iter().enumerate() {
        assert_eq!(*outcome, Outcome::Success, "guest {i} {outcome}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn semantics_guest_passes_every_case() {
    let runner = Runner::new().unwrap();
    let outcomes = runner.run(&guests("semantics", 1, &[])).await.unwrap();
    assert_all_succeeded(&outcomes);
    assert!(
        runner.descriptions().is_empty(),
        "every description the guest made is freed with its last descriptor: {:?}",
        runner.descriptions().ids()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn host_write_wakes_a_guest_blocked_in_read() {
    let (runner, fds) = runner_with(&["in=0", "out=0"]);
    let (input, output) = (fds[0].description().clone(), fds[1].description().clone());
    let host = async {
        until("the guest blocks reading `in`", || {
            input.readers_waiting() == 1
        })
        .await;
        assert_eq!(output.count(), 0, "the guest must not get past a read of 0");
        fds[0].write(5).await.unwrap();
        assert_eq!(fds[1].read().await, Ok(5));
    };
    assert_all_succeeded(&run_alongside(&runner, guests("relay", 1, &[]), host).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn guest_blocked_in_write_waits_for_room() {
    let (runner, fds) = runner_with(&["in=1", "out=0"]);
    let output: &Description = fds[1].description();
    fds[1].write(MAX_COUNT).await.unwrap();
    let host = async {
        until("the guest blocks writing `out`", || {
            output.writers_waiting() == 1
        })
        .await;
        assert_eq!(output.count(), MAX_COUNT, "a blocked write adds nothing");
        assert_eq!(fds[1].read().await, Ok(MAX_COUNT));
    };
    assert_all_succeeded(&run_alongside(&runner, guests("relay", 1, &[]), host).await);
    assert_eq!(output.count(), 1, "the woken write added its whole value");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_write_wakes_every_reader_but_only_one_takes_the_count() {
    const READERS: usize = 4;
    let (runner, fds) = runner_with(&["in=0", "out=0"]);
    let (input, output) = (fds[0].description().clone(), fds[1].description().clone());
    let host = async {
        until("every reader blocks", || input.readers_waiting() == READERS).await;
        fds[0].write(7).await.unwrap();
        assert_eq!(
            fds[1].read().await,
            Ok(7),
            "one reader took the whole count"
        );
        // The others were woken too, found 0 and went back to waiting.
        until("the others wait again", || {
            input.readers_waiting() == READERS - 1
        })
        .await;
        assert_eq!(output.count(), 0);
        for left in (0..READERS - 1).rev() {
            fds[0].write(1).await.unwrap();
            assert_eq!(fds[1].read().await, Ok(1));
            until("one fewer reader waits", || input.readers_waiting() == left).await;
        }
    };
    assert_all_succeeded(&run_alongside(&runner, guests("relay", READERS, &[]), host).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn one_semaphore_write_releases_as_many_readers_as_its_value() {
    const READERS: usize = 8;
    let (runner, fds) = runner_with(&["in=0,semaphore", "out=0"]);
    let (input, output) = (fds[0].description().clone(), fds[1].description().clone());
    let host = async {
        until("every reader blocks", || input.readers_waiting() == READERS).await;
        fds[0].write(READERS as u64).await.unwrap();
    };
    assert_all_succeeded(&run_alongside(&runner, guests("relay", READERS, &[]), host).await);
    assert_eq!(output.count(), READERS as u64, "each reader read exactly 1");
    assert_eq!(input.count(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pollable_wakes_on_a_write_from_the_host() {
    let (runner, fds) = runner_with(&["in=0", "out=0", "stop=0"]);
    let input = fds[0].description().clone();
    let host = async {
        for value in [3, 4] {
            until("the guest polls `in`", || input.readers_waiting() >= 1).await;
            fds[0].write(value).await.unwrap();
            assert_eq!(fds[1].read().await, Ok(value));
        }
        fds[2].write(1).await.unwrap();
    };
    assert_all_succeeded(&run_alongside(&runner, guests("poll_relay", 1, &[]), host).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn guests_share_descriptions_through_preopens() {
    let (runner, fds) = runner_with(&["shared=0"]);
    let outcomes = runner.run(&guests("preopens", 1, &[])).await.unwrap();
    assert_all_succeeded(&outcomes);
    let shared = fds[0].description();
    assert!(
        shared.is_nonblocking(),
        "the guest's set-nonblocking changed the shared description"
    );
    assert!(
        !fds[0].cloexec(),
        "the guest's set-cloexec changed only its own descriptor"
    );
    assert_eq!(
        shared.count(),
        2,
        "the guest wrote 1 through each of two descriptors"
    );
    assert_eq!(runner.descriptions().len(), 1, "only the preopen is left");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_guests_ping_pong() {
    let (runner, _fds) = runner_with(&["ping=0", "pong=0"]);
    let outcomes = within(
        "ping-pong",
        runner.run(&[
            GuestSpec::new(guest("ping"), ["300".to_string()]),
            GuestSpec::new(guest("pong"), []),
        ]),
    )
    .await
    .unwrap();
    assert_all_succeeded(&outcomes);
}

#[tokio::test(flavor = "multi_thread")]
async fn worker_pool_does_every_job_once() {
    let (runner, fds) = runner_with(&["jobs=0,semaphore,nonblock", "done=0", "quit=0"]);
    let mut all = guests("dispatcher", 1, &["500"]);
    all.extend(guests("worker", 3, &[]));
    let outcomes = within("the worker pool", runner.run(&all)).await.unwrap();
    assert_all_succeeded(&outcomes);
    assert_eq!(fds[0].description().count(), 0, "no job left");
    assert_eq!(
        fds[1].description().count(),
        0,
        "the dispatcher read every report"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn guest_exit_codes_and_traps_are_reported() {
    let runner = Runner::new().unwrap();
    let outcomes = runner
        .run(&[
            GuestSpec::new(guest("exit_code"), []),
            GuestSpec::new(guest("exit_code"), ["0".to_string()]),
            GuestSpec::new(guest("exit_code"), ["3".to_string()]),
            GuestSpec::new(guest("exit_code"), ["trap".to_string()]),
        ])
        .await
        .unwrap();
    // Rust's std on wasip2 exits through `wasi:cli/exit.exit`, which carries
    // only failure, not the code (`exit-with-code` would): wasmtime reports 1.
    assert_eq!(
        outcomes[..3],
        [Outcome::Success, Outcome::Success, Outcome::Exit(1)]
    );
    assert!(
        matches!(&outcomes[3], Outcome::Trap(m) if m.contains("unreachable")),
        "{:?}",
        outcomes[3]
    );
}

#[test]
fn a_guest_that_never_waits_cannot_starve_the_others() {
    // One runtime thread for everything: the host code, a guest that spins
    // and a guest that writes. Only preemption (epoch yields) lets the
    // writer and the host run while the spinner computes.
    let (done, outcome) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let outcomes = runtime.block_on(async {
            let (runner, fds) = runner_with(&["stop=0", "out=0"]);
            let host = async {
                assert_eq!(fds[1].read().await, Ok(1));
                fds[0].write(1).await.unwrap();
            };
            let mut specs = guests("spin", 1, &[]);
            specs.extend(guests("write_preopen", 1, &[]));
            run_alongside(&runner, specs, host).await
        });
        let _ = done.send(outcomes);
    });
    let outcomes = outcome
        .recv_timeout(PATIENCE)
        .expect("the spinning guest starved the others");
    assert_all_succeeded(&outcomes);
}
