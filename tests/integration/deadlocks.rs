//! Deadlock reports: when every guest left waits on an eventfd that none of
//! them can change, the run stops and says who waits on what. Miri's
//! deadlock cases, ported; and runs that must never be reported.

use wasi_eventfd::runner::{GuestSpec, Outcome, RunOptions, Runner};
use wasi_eventfd::{Descriptor, MAX_COUNT};

use crate::cli::wasi_eventfd;
use crate::guests::{example_wat, guest, Scratch};
use crate::library::{assert_all_succeeded, runner_with_options, within};

fn detecting(specs: &[&str]) -> (Runner, Vec<Descriptor>) {
    let options = RunOptions {
        detect_deadlocks: true,
        ..RunOptions::default()
    };
    runner_with_options(options, specs)
}

fn op(args: &[&str]) -> GuestSpec {
    GuestSpec::new(guest("op"), args.iter().map(|a| a.to_string()))
}

fn deadlocked(outcomes: &[Outcome]) -> Vec<String> {
    outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Deadlocked(stuck) => Some(stuck.waits_on.join(" | ")),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn miri_eventfd_block_read_twice() {
    let (runner, _fds) = detecting(&["shared=0"]);
    let outcomes = within(
        "the deadlock report",
        runner.run(&[
            op(&["read", "shared"]),
            op(&["read", "shared"]),
            op(&["write", "shared", "1"]),
        ]),
    )
    .await
    .unwrap();
    // One reader took the 1; the other waits forever.
    assert_eq!(
        deadlocked(&outcomes),
        ["read on eventfd `shared` (id 1, count 0)"]
    );
    assert_eq!(
        outcomes.iter().filter(|o| o.is_success()).count(),
        2,
        "{outcomes:?}"
    );
    assert_eq!(
        runner.descriptions().len(),
        1,
        "the stuck guest's descriptors are released"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn miri_eventfd_block_write_twice() {
    let (runner, fds) = detecting(&["shared=0"]);
    fds[0].write(MAX_COUNT).await.unwrap();
    let max = MAX_COUNT.to_string();
    let outcomes = within(
        "the deadlock report",
        runner.run(&[
            op(&["write", "shared", &max]),
            op(&["write", "shared", &max]),
            op(&["read", "shared"]),
        ]),
    )
    .await
    .unwrap();
    assert_eq!(
        deadlocked(&outcomes),
        [format!(
            "write of {MAX_COUNT} on eventfd `shared` (id 1, count {MAX_COUNT})"
        )]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn miri_eventfd_close_while_blocked() {
    // The guest blocks reading an eventfd only it holds: nobody can write it.
    let (runner, _fds) = detecting(&[]);
    let outcomes = within("the deadlock report", runner.run(&[op(&["read-own"])]))
        .await
        .unwrap();
    assert_eq!(
        deadlocked(&outcomes),
        ["read on an unnamed eventfd (id 1, count 0)"]
    );
    assert!(runner.descriptions().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_poll_on_eventfds_nobody_writes_is_a_deadlock() {
    let (runner, _fds) = detecting(&["in=0", "out=0", "stop=0"]);
    let outcomes = within(
        "the deadlock report",
        runner.run(&[GuestSpec::new(guest("poll_relay"), [])]),
    )
    .await
    .unwrap();
    assert_eq!(
        deadlocked(&outcomes),
        ["poll for readable on eventfd `in` (id 1, count 0) | poll for readable on eventfd `stop` (id 3, count 0)"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_core_module_blocked_alone_is_a_deadlock() {
    let (runner, _fds) = detecting(&["ping=0", "pong=0"]);
    let pong = example_wat("pong.wat");
    let outcomes = within(
        "the deadlock report",
        runner.run(&[GuestSpec::new(pong, [])]),
    )
    .await
    .unwrap();
    assert_eq!(
        deadlocked(&outcomes),
        ["read on eventfd `ping` (id 1, count 0)"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn busy_runs_are_never_reported() {
    // Ping-pong (component and core module), a worker pool and the stress
    // test block constantly, but someone can always wake someone.
    let (runner, _fds) = detecting(&["ping=0", "pong=0"]);
    let pong_wat = example_wat("pong.wat");
    for pong in [
        GuestSpec::new(guest("pong"), []),
        GuestSpec::new(pong_wat, []),
    ] {
        let outcomes = runner
            .run(&[GuestSpec::new(guest("ping"), ["2000".to_string()]), pong])
            .await
            .unwrap();
        assert_all_succeeded(&outcomes);
    }

    let (runner, _fds) = detecting(&["jobs=0,semaphore,nonblock", "done=0", "quit=0"]);
    let mut pool = vec![GuestSpec::new(guest("dispatcher"), ["500".to_string()])];
    pool.extend((0..3).map(|_| GuestSpec::new(guest("worker"), [])));
    assert_all_succeeded(&runner.run(&pool).await.unwrap());

    let (runner, _fds) = detecting(&[
        "sem=0,semaphore",
        "nb=0,nonblock",
        "total_written=0",
        "total_read=0",
    ]);
    let stress: Vec<_> = (0..4)
        .map(|i| GuestSpec::new(guest("stress"), ["20000".to_string(), (i + 3).to_string()]))
        .collect();
    assert_all_succeeded(&runner.run(&stress).await.unwrap());
}

#[test]
fn the_cli_reports_a_deadlock_with_its_own_exit_code() {
    let pong = example_wat("pong.wat").display().to_string();
    let output = wasi_eventfd(&["run", "--eventfd", "ping=0", "--eventfd", "pong=0", &pong]);
    assert_eq!(output.status.code(), Some(3));
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        err,
        "error: deadlock: every guest left waits on an eventfd that none of them can change\n  \
         guest `pong.wat` waits: read on eventfd `ping` (id 1, count 0)\n"
    );
}

#[test]
fn copies_of_one_guest_are_named_apart_in_every_message() {
    // Two copies of one file were both `guest `op.wasm``: which one waits,
    // which one failed? Copies are named by their position in the run;
    // copies that end alike are told once.
    let scratch = Scratch::new("named-apart");
    let op = guest("op").display().to_string().replace('\\', "\\\\");
    // #1 reads `e` (1) and ends; #2 then waits on it forever, #3 on an
    // eventfd of its own, #4 and #5 like #2.
    let run = scratch.file(
        "copies.toml",
        &format!(
            "[eventfd.e]\ninitval = 1\n\n\
             [[guest]]\nfile = \"{op}\"\nargs = [\"read\", \"e\"]\neventfds = [\"e\"]\n\n\
             [[guest]]\nfile = \"{op}\"\nargs = [\"read\", \"e\"]\neventfds = [\"e\"]\n\n\
             [[guest]]\nfile = \"{op}\"\nargs = [\"read-own\"]\n\n\
             [[guest]]\nfile = \"{op}\"\nargs = [\"read\", \"e\"]\neventfds = [\"e\"]\ncount = 2\n"
        ),
    );
    let output = wasi_eventfd(&["run", "--config", &run.display().to_string()]);
    assert_eq!(output.status.code(), Some(3));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "error: deadlock: every guest left waits on an eventfd that none of them can change\n  \
         guest #2 (`op.wasm`) waits: read on eventfd `e` (id 1, count 0) (and 2 more guests \
         alike)\n  guest #3 (`op.wasm`) waits: read on an unnamed eventfd (id 2, count 0)\n"
    );
}
