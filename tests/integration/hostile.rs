//! Hostile guests, through the `wasi-eventfd` binary: work that must stay
//! linear in what a guest asks (a `poll_oneoff` over 65536 subscriptions,
//! 200 000 descriptors), deadlocks that must not hide (a pollable listed
//! twice), a poll of nothing refused, and reports that must stay short. Every run has a
//! `--timeout`, so a run that hangs or crawls fails instead of blocking;
//! none of the work here takes more than a fraction of it.

use crate::cli::{stderr, stdout, succeeded, wasi_eventfd};
use crate::guests::{guest, test_wat};

const DEADLOCK: &str =
    "error: deadlock: every guest left waits on an eventfd that none of them can change\n";

fn path(file: std::path::PathBuf) -> String {
    file.display().to_string()
}

/// Runs `wasi-eventfd run` with `args`; asserts it ended with `status`,
/// showing both streams otherwise, and returns stderr.
fn run_expecting(status: i32, args: &[&str]) -> String {
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    assert!(all.contains(&"--timeout"), "every run here has a deadline");
    let output = wasi_eventfd(&all);
    assert_eq!(
        output.status.code(),
        Some(status),
        "stdout:\n{}\nstderr:\n{}",
        stdout(&output),
        stderr(&output)
    );
    stderr(&output)
}

#[test]
fn waking_a_poll_over_65536_entries_costs_a_pass_over_them() {
    // Five rounds: the waker sleeps 100 ms so that the poller waits on its
    // 65536 entries, then wakes it. Each wake-up resumed every entry's wait
    // with a pass over all the others (minutes in all in a debug build).
    let output = wasi_eventfd(&[
        "run",
        "--timeout",
        "20",
        "--eventfd",
        "e=0",
        "--eventfd",
        "ack=0",
        "--with",
        &path(test_wat("big_poll_waker.wat")),
        &path(test_wat("big_poll.wat")),
    ]);
    // The poller checks every round's count (65536) and revents itself.
    succeeded(&output);
}

#[test]
fn a_timeout_stops_a_guest_waiting_on_65536_entries() {
    // `spin` keeps the run from being a deadlock; the poller waits on
    // 65536 entries when `--timeout` stops both, dropping every wait.
    let err = run_expecting(
        124,
        &[
            "--timeout",
            "2",
            "--eventfd",
            "e=0",
            "--eventfd",
            "ack=0",
            "--eventfd",
            "stop=0",
            "--with",
            &path(guest("spin")),
            &path(test_wat("big_poll.wat")),
        ],
    );
    assert!(
        err.contains("error: guest `big_poll.wat` timed out"),
        "{err}"
    );
}

#[test]
fn a_poll_over_65536_entries_of_one_eventfd_is_reported_as_one_wait() {
    // Nobody writes `e`: a deadlock, whose report was 65536 copies of the
    // same wait on one line (3.5 MB).
    let err = run_expecting(
        3,
        &[
            "--timeout",
            "20",
            "--eventfd",
            "e=0",
            "--eventfd",
            "ack=0",
            &path(test_wat("big_poll.wat")),
        ],
    );
    assert_eq!(
        err,
        format!(
            "{DEADLOCK}  guest `big_poll.wat` waits: poll for readable on eventfd `e` (id 1, \
             count 0)\n"
        )
    );
}

#[test]
fn a_deadlock_report_names_a_few_distinct_waits_and_counts_the_rest() {
    // 2000 eventfds of its own, spread over 65536 entries: 2000 distinct
    // waits, of which the report names the first few.
    let err = run_expecting(
        3,
        &[
            "--timeout",
            "20",
            "--max-descriptors",
            "2003",
            &path(test_wat("poll_stuck_many.wat")),
        ],
    );
    let waits: String = (1..=8)
        .map(|id| format!("poll for readable on an unnamed eventfd (id {id}, count 0)"))
        .collect::<Vec<_>>()
        .join(", or ");
    assert_eq!(
        err,
        format!("{DEADLOCK}  guest `poll_stuck_many.wat` waits: {waits}, or any of 1992 more\n")
    );
}

#[test]
fn a_pollable_listed_twice_is_waited_on_once_and_can_deadlock() {
    let program = path(guest("poll_same_twice"));
    // Nobody can write `e`: stuck, however many times the pollable is listed.
    let err = run_expecting(3, &["--timeout", "10", "--eventfd", "e=0", &program]);
    assert_eq!(
        err,
        format!(
            "{DEADLOCK}  guest `poll_same_twice.wasm` waits: poll for readable on eventfd \
             `e` (id 1, count 0)\n"
        )
    );
    // Ready, it is reported at both places, as wasmtime does.
    let output = wasi_eventfd(&["run", "--timeout", "10", "--eventfd", "e=2", &program]);
    assert_eq!(succeeded(&output), "ready: [0, 1]\nread: 2\n");
}

#[test]
fn a_poll_of_nothing_is_refused_instead_of_waiting_forever() {
    // Linux's poll(NULL, 0, -1) sleeps until a signal, which a guest cannot
    // get; preview 1's poll_oneoff refuses no subscriptions with EINVAL
    // (28) at once, as wasmtime-wasi's does, and the guest exits with it.
    let err = run_expecting(
        28,
        &["--timeout", "10", &path(test_wat("poll_nothing.wat"))],
    );
    assert_eq!(err, "error: guest `poll_nothing.wat` exited with code 28\n");
}

#[test]
fn the_lowest_free_fd_of_200000_is_found_without_a_scan() {
    // 200 000 dups, each the lowest free number, then holes filled lowest
    // first; the guest checks every number (a linear search per call took
    // minutes in all).
    let output = wasi_eventfd(&[
        "run",
        "--timeout",
        "20",
        "--max-descriptors",
        "200005",
        &path(test_wat("dup_many.wat")),
    ]);
    succeeded(&output);
}

/// The milliseconds `sleeper` reports its sleeps took, from its stdout.
fn slept_ms(output: &std::process::Output) -> u64 {
    let out = stdout(output);
    // The looping core module's `READY` has no newline: the line may follow it.
    out.lines()
        .find_map(|line| line.split_once("sleeper: 20 sleeps of 10 ms took "))
        .map(|(_, rest)| rest)
        .and_then(|rest| rest.strip_suffix(" ms"))
        .and_then(|ms| ms.parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "no sleeper line\nstdout:\n{out}\nstderr:\n{}",
                stderr(output)
            )
        })
}

#[test]
fn a_computing_guest_does_not_delay_another_guests_timers() {
    // 20 sleeps of 10 ms (0.2 s and a little alone) beside guests that
    // compute without waiting: the timers were checked every 61 task
    // polls, one epoch slice (10 ms) each, so every sleep took 0.6 s (14 s
    // in all in a debug build). Now each ends at the first slice's end
    // after it is due: 10 to 20 ms, 0.5 s in all in a debug build; the
    // bound leaves room for a busy machine. With one, then four components
    // computing; and beside a core module looping forever (`--timeout` ends
    // that run).
    let sleeper = path(guest("sleeper"));
    let spin = path(guest("spin"));
    // On two threads too (each worker then checks timers before every
    // task it polls: 6.6 s -> 0.6 s beside three computing guests).
    for (threads, spinners) in [("1", 1), ("1", 4), ("2", 3)] {
        let mut args = vec![
            "run",
            "--threads",
            threads,
            "--timeout",
            "60",
            "--eventfd",
            "stop=0",
        ];
        for _ in 0..spinners {
            args.extend(["--with", &spin]);
        }
        args.extend([sleeper.as_str(), "20", "10"]);
        let output = wasi_eventfd(&args);
        succeeded(&output);
        let ms = slept_ms(&output);
        assert!(
            ms < 4000,
            "on {threads} threads beside {spinners} computing guests: {ms} ms"
        );
    }
    let looping = path(test_wat("wasi_prompt_then_spin.wat"));
    let output = wasi_eventfd(&[
        "run",
        "--timeout",
        "4",
        "--with",
        &looping,
        &sleeper,
        "20",
        "10",
    ]);
    assert_eq!(output.status.code(), Some(124), "{}", stderr(&output));
    let ms = slept_ms(&output);
    assert!(ms < 4000, "beside a core module: {ms} ms");
}

#[test]
fn a_timeout_is_met_beside_100_computing_guests() {
    // 100 components that compute without waiting; `--timeout 1` must end
    // the run 1 s after the guests start, give or take a slice: the
    // overshoot grew with every guest added (a slice of 10 ms per guest
    // between timer checks, and each guest's deadline counted from its own
    // start; 1.47 s late with these 100 in a debug build). The first guest
    // prints the wall clock as it starts: the overshoot is measured from
    // there, start-up (a debug build, a busy machine) left out.
    let spin = path(guest("spin"));
    let clock = path(guest("clock_spin"));
    let mut args = vec!["run", "--eventfd", "stop=0", "--timeout", "1"];
    for _ in 0..99 {
        args.extend(["--with", &spin]);
    }
    args.push(&clock);
    let output = wasi_eventfd(&args);
    let ended = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_millis();
    assert_eq!(output.status.code(), Some(124), "{}", stderr(&output));
    let out = stdout(&output);
    let started: u128 = out
        .lines()
        .find_map(|line| line.strip_prefix("started_ms "))
        .and_then(|ms| ms.parse().ok())
        .unwrap_or_else(|| panic!("no start time in {out:?}"));
    let overshoot = ended.saturating_sub(started + 1000);
    // The issue asks for 100 ms; the margin is for a busy machine (and
    // includes the process's exit).
    assert!(overshoot < 300, "--timeout 1 ended {overshoot} ms late");
}

#[test]
fn a_run_beyond_vm_max_map_count_is_refused_before_it_starts_naming_the_limit() {
    let limit: usize = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .expect("Linux's /proc")
        .trim()
        .parse()
        .expect("a number");
    let refused = |err: &str, run: &str| {
        // Refused from the guests' files and the options alone: nothing
        // was compiled or started, no thread panicked.
        assert!(
            err.starts_with(&format!("error: this run of {run} needs about ")),
            "{err}"
        );
        assert!(
            err.contains(&format!(
                "more than the kernel's per-process limit vm.max_map_count = {limit}; run \
                 fewer guests at once, or raise the limit, as root: \
                 `sysctl -w vm.max_map_count="
            )),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(!err.contains("panicked"), "{err}");
    };
    let op = path(guest("op"));
    // A pool of 4 000 000 000 slots maps two pages of stack for each,
    // more than any limit the kernel takes (at most 2^31 - 1).
    let err = run_expecting(
        2,
        &[
            "--timeout",
            "60",
            "--pool",
            "4000000000",
            "--eventfd",
            "go=1",
            &op,
            "read",
            "go",
        ],
    );
    refused(&err, "1 guest in a pool of 4000000000 slots");
    // Each guest takes at least four maps (its memory and its fiber
    // stack, each split from its reservation), so half the limit in guests
    // is twice what it allows; a run has at most 100 000 guests, so this
    // part needs a limit below 200 000 (the default is 65 530).
    let guests = limit / 2;
    if guests > 100_000 {
        eprintln!("vm.max_map_count = {limit}: 100 000 guests fit; the run of many is not tried");
        return;
    }
    let scratch = crate::guests::Scratch::new("hostile-maps");
    let file = scratch.file(
        "maps.toml",
        &format!(
            "[eventfd.go]\n\n[[guest]]\nfile = {op:?}\nargs = [\"read\", \"go\"]\ncount = {guests}\n"
        ),
    );
    let err = run_expecting(2, &["--timeout", "60", "--config", &path(file)]);
    refused(&err, &format!("{guests} guests"));
}
