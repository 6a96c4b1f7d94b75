//! Seeded schedules (`--seed`, `--explore`): a run is a function of its
//! seed and inputs, different seeds interleave guests differently, and
//! the failing schedule an exploration finds replays.

use std::process::Output;
use std::time::{Duration, Instant};

use wasi_eventfd::runner::{GuestSpec, Outcome, RunOptions, Runner, Seeded};
use wasi_eventfd::CreateFlags;

use crate::cli::{stderr, stdout, wasi_eventfd};
use crate::guests::{guest, test_wat, Scratch};

/// A run file of copies of the WAT test guest `wat`, one per name in
/// `names` (its argv[1]), each granted `eventfds`, after `header` (the
/// eventfds' tables).
fn run_file(scratch: &Scratch, file: &str, header: &str, wat: &str, guests: &[&[&str]]) -> String {
    let mut text = header.to_string();
    for args in guests {
        let args: Vec<String> = args.iter().map(|a| format!("{a:?}")).collect();
        text.push_str(&format!(
            "\n[[guest]]\nfile = {:?}\nargs = [{}]\neventfds = [\"a\", \"b\", \"tokens\"]\n",
            test_wat(wat).display().to_string(),
            args.join(", ")
        ));
    }
    scratch.file(file, &text).display().to_string()
}

const EVENTFDS: &str = "[eventfd.a]\ninitval = 1\nsemaphore = true\n\n\
                        [eventfd.b]\ninitval = 1\nsemaphore = true\n\n\
                        [eventfd.tokens]\ninitval = 10\nsemaphore = true\nnonblock = true\n";

/// Two copies racing to print twenty lines each.
fn print_race(scratch: &Scratch) -> String {
    run_file(
        scratch,
        "print-race.toml",
        EVENTFDS,
        "seeded_print_race.wat",
        &[&["A"], &["B"]],
    )
}

/// Three copies racing for ten tokens of a semaphore eventfd.
fn token_race(scratch: &Scratch) -> String {
    run_file(
        scratch,
        "token-race.toml",
        EVENTFDS,
        "seeded_token_race.wat",
        &[&["A"], &["B"], &["C"]],
    )
}

/// Two guests taking the locks `a` and `b` in opposite orders.
fn opposite_locks(scratch: &Scratch) -> String {
    run_file(
        scratch,
        "locks.toml",
        EVENTFDS,
        "seeded_locks.wat",
        &[&["a", "b"], &["b", "a"]],
    )
}

fn seeded(seed: u64, extra: &[&str], rest: &[&str]) -> Output {
    let seed = seed.to_string();
    let mut args = vec!["run", "--seed", &seed];
    args.extend_from_slice(extra);
    args.extend_from_slice(rest);
    wasi_eventfd(&args)
}

/// Stdout, stderr and status of a run, to compare runs whole.
fn whole(output: &Output) -> (Vec<u8>, Vec<u8>, Option<i32>) {
    (
        output.stdout.clone(),
        output.stderr.clone(),
        output.status.code(),
    )
}

#[test]
fn the_same_seed_gives_the_same_output_and_status() {
    let scratch = Scratch::new("seeded-same");
    let runs = [print_race(&scratch), token_race(&scratch)];
    for config in &runs {
        for seed in [0, 7, 12345] {
            let rest = ["--preemption-rate", "0.3", "--config", config.as_str()];
            let first = seeded(seed, &[], &rest);
            assert!(first.status.success(), "{}", stderr(&first));
            assert!(!first.stdout.is_empty());
            let second = seeded(seed, &[], &rest);
            assert_eq!(
                whole(&first),
                whole(&second),
                "seed {seed} of {config} ran two ways"
            );
        }
    }
}

#[test]
fn components_replay_too_clocks_included() {
    // ping measures its round trips with the monotonic clock and prints
    // the time: virtual under --seed, so the same every run.
    let (ping, pong) = (guest("ping"), guest("pong"));
    let (ping, pong) = (ping.display().to_string(), pong.display().to_string());
    let run = || {
        seeded(
            3,
            &[],
            &[
                "--eventfd",
                "ping=0",
                "--eventfd",
                "pong=0",
                "--with",
                &pong,
                &ping,
                "200",
            ],
        )
    };
    let first = run();
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        stdout(&first).contains("200 round trips in"),
        "{}",
        stdout(&first)
    );
    assert_eq!(whole(&first), whole(&run()));
}

#[test]
fn different_seeds_interleave_a_racy_program_differently() {
    let scratch = Scratch::new("seeded-differ");
    for config in [print_race(&scratch), token_race(&scratch)] {
        let outputs: std::collections::HashSet<Vec<u8>> = (0..8)
            .map(|seed| {
                let run = seeded(seed, &["--preemption-rate", "0.3"], &["--config", &config]);
                assert!(run.status.success(), "{}", stderr(&run));
                run.stdout
            })
            .collect();
        assert!(
            outputs.len() >= 2,
            "eight seeds of {config} all interleaved alike"
        );
    }
}

#[test]
fn locks_taken_in_opposite_orders_deadlock_under_some_seed_which_the_report_names() {
    let scratch = Scratch::new("seeded-locks");
    let config = opposite_locks(&scratch);
    let mut statuses = Vec::new();
    for seed in 0..40 {
        let run = seeded(seed, &["--preemption-rate", "0.5"], &["--config", &config]);
        statuses.push(run.status.code());
        if run.status.code() == Some(3) {
            let err = stderr(&run);
            assert!(
                err.contains(&format!(
                    "error: deadlock: every guest left waits on an eventfd that none of them can \
                     change (seed {seed})"
                )),
                "{err}"
            );
            assert!(err.contains("waits: read on eventfd `b`"), "{err}");
            assert!(err.contains("waits: read on eventfd `a`"), "{err}");
            // And it replays.
            let again = seeded(seed, &["--preemption-rate", "0.5"], &["--config", &config]);
            assert_eq!(whole(&run), whole(&again));
            return;
        }
        assert!(run.status.success(), "seed {seed}: {}", stderr(&run));
    }
    panic!("no seed of 40 deadlocked: {statuses:?}");
}

#[test]
fn a_guest_sleeping_a_minute_finishes_at_once_in_virtual_time() {
    let start = Instant::now();
    let run = seeded(1, &[], &[test_wat("seeded_sleep.wat").to_str().unwrap()]);
    let took = start.elapsed();
    assert!(run.status.success(), "{}", stderr(&run));
    // The guest's own clock saw the minute pass.
    assert_eq!(stdout(&run), "slept 60 s\n");
    assert!(took < Duration::from_secs(1), "took {took:?}");
}

#[test]
fn random_bytes_come_from_the_seed() {
    let wat = test_wat("seeded_random.wat");
    let bytes = |seed| {
        let run = seeded(seed, &[], &[wat.to_str().unwrap()]);
        assert!(run.status.success(), "{}", stderr(&run));
        stdout(&run)
    };
    let (first, again, other) = (bytes(7), bytes(7), bytes(8));
    assert_eq!(first.len(), 33, "{first}");
    assert_eq!(first, again);
    assert_ne!(first, other);
}

#[test]
fn the_network_is_refused_in_a_seeded_run_naming_the_grant() {
    let wat = test_wat("seeded_random.wat");
    let wat = wat.to_str().unwrap();
    for (grant, named) in [
        ("inherit-network", "`-S inherit-network`"),
        ("allow-ip-name-lookup", "`-S allow-ip-name-lookup`"),
    ] {
        for mode in [["--seed", "4"], ["--explore", "3"]] {
            let run = wasi_eventfd(&["run", mode[0], mode[1], "-S", grant, wat]);
            assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
            let err = stderr(&run);
            assert!(err.contains(named), "{err}");
            assert!(err.contains("cannot be part of a seeded run"), "{err}");
            assert_eq!(err.lines().count(), 1, "{err}");
            assert!(run.stdout.is_empty());
        }
    }
    // In a run file too.
    let scratch = Scratch::new("seeded-network");
    let config = scratch.file(
        "net.toml",
        &format!("[[guest]]\nfile = {wat:?}\ninherit-network = true\n"),
    );
    let run = wasi_eventfd(&["run", "--seed", "1", "--config", config.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
    assert!(
        stderr(&run).contains("`-S inherit-network`"),
        "{}",
        stderr(&run)
    );
}

#[test]
fn seeded_options_need_a_seed() {
    let wat = test_wat("seeded_random.wat");
    let run = wasi_eventfd(&["run", "--preemption-rate", "0.5", wat.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(2));
    assert!(stderr(&run).contains("--seed"), "{}", stderr(&run));
    for bad in ["1.5", "-0.1", "x"] {
        let run = wasi_eventfd(&["run", "--seed", "1", "--preemption-rate", bad, "x.wat"]);
        assert_eq!(run.status.code(), Some(2), "{bad}");
    }
    for bad in ["pct", "pct:0", "pct:2:0", "walk"] {
        let run = wasi_eventfd(&["run", "--seed", "1", "--schedule", bad, "x.wat"]);
        assert_eq!(run.status.code(), Some(2), "{bad}");
    }
}

#[test]
fn explore_finds_the_lock_order_deadlock_and_its_replay_command_reproduces_it() {
    let scratch = Scratch::new("seeded-explore");
    let config = opposite_locks(&scratch);
    let explored = wasi_eventfd(&[
        "run",
        "--explore",
        "1000",
        "--threads",
        "2",
        "--config",
        &config,
    ]);
    assert_eq!(explored.status.code(), Some(3), "{}", stderr(&explored));
    let err = stderr(&explored);
    let failed = err
        .lines()
        .find(|l| l.starts_with("error: schedule with seed "))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(failed.contains("failed: deadlock: guest #"), "{err}");
    let replay = err
        .lines()
        .find_map(|l| l.strip_prefix("replay it with: "))
        .unwrap_or_else(|| panic!("{err}"));
    let words: Vec<&str> = replay.split(' ').collect();
    assert_eq!(words.first(), Some(&"wasi-eventfd"), "{replay}");
    assert!(!replay.contains("--explore"), "{replay}");
    let seed = failed
        .trim_start_matches("error: schedule with seed ")
        .split(' ')
        .next()
        .unwrap();
    assert!(replay.contains(&format!("--seed {seed}")), "{replay}");
    // The command, run (the paths have no characters that need quotes).
    for _ in 0..3 {
        let again = wasi_eventfd(words.get(1..).unwrap());
        assert_eq!(again.status.code(), Some(3), "{}", stderr(&again));
        assert!(
            stderr(&again).contains(&format!("(seed {seed})")),
            "{}",
            stderr(&again)
        );
    }
    // The lowest failing seed, whatever the threads.
    let alone = wasi_eventfd(&["run", "--explore", "1000", "--config", &config]);
    assert_eq!(stderr(&alone).lines().next(), Some(failed));
}

#[test]
fn explore_says_when_no_schedule_failed() {
    let scratch = Scratch::new("seeded-explore-pass");
    let config = token_race(&scratch);
    let run = wasi_eventfd(&[
        "run",
        "--explore",
        "30",
        "--seed",
        "100",
        "--config",
        &config,
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert_eq!(stderr(&run), "explored 30 schedules, no failure\n");
    assert!(
        run.stdout.is_empty(),
        "explored guests' output is discarded"
    );
}

#[test]
fn the_library_runs_seeded_and_refuses_a_seeded_runner_on_its_async_run() {
    let options = RunOptions {
        inherit_stdio: false,
        detect_deadlocks: true,
        seeded: Some(Seeded::new(9)),
        ..RunOptions::default()
    };
    let mut runner = Runner::with_options(options).unwrap();
    runner
        .add_eventfd("tokens", 10, CreateFlags::SEMAPHORE | CreateFlags::NONBLOCK)
        .unwrap();
    let racer = |name: &str| {
        let mut spec = GuestSpec::new(test_wat("seeded_token_race.wat"), [name.to_string()]);
        spec.eventfds = Some(vec!["tokens".into()]);
        spec
    };
    let guests = [racer("A"), racer("B")];
    let first = runner.run_seeded(&guests).unwrap();
    assert_eq!(first.outcomes, [Outcome::Success, Outcome::Success]);
    assert_eq!(first.foreign_wakes, 0);
    assert!(first.steps >= 2);
    // Every run starts from fresh eventfds: the same again.
    let second = runner.run_seeded(&guests).unwrap();
    assert_eq!(first.steps, second.steps);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let refused = runtime.block_on(runner.run(&guests)).unwrap_err();
    assert!(refused.to_string().contains("run_seeded"), "{refused}");
    // Inside a runtime, a seeded run is refused, not a panic.
    let inside = runtime
        .block_on(async { runner.run_seeded(&guests) })
        .unwrap_err();
    assert!(
        inside.to_string().contains("outside any async runtime"),
        "{inside}"
    );
}

/// Schedules `--explore` ran on `config` with `schedule` from each of
/// `starts` until the first failure (a failure must come within 5 000).
fn schedules_to_failure(config: &str, schedule: &str, start: u64) -> u64 {
    let start_text = start.to_string();
    let run = wasi_eventfd(&[
        "run",
        "--explore",
        "5000",
        "--seed",
        &start_text,
        "--schedule",
        schedule,
        "--config",
        config,
    ]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    let err = stderr(&run);
    let seed: u64 = err
        .strip_prefix("error: schedule with seed ")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|seed| seed.parse().ok())
        .unwrap_or_else(|| panic!("{err}"));
    assert!(
        err.contains("guest `seeded_window_check.wat` exited with code 1"),
        "{err}"
    );
    seed - start + 1
}

#[test]
fn pct_finds_a_depth_two_bug_in_fewer_schedules_than_the_random_walk() {
    // The checker fails only when its one look falls between two
    // consecutive host calls of the setter, after its 40 others: a bug of
    // depth 2 (set before the look, the look before the take).
    let scratch = Scratch::new("seeded-pct");
    let wat = |name: &str| test_wat(name).display().to_string();
    let config = scratch.file(
        "window.toml",
        &format!(
            "[eventfd.flag]\nnonblock = true\n\n\
             [[guest]]\nfile = {:?}\neventfds = [\"flag\"]\n\n\
             [[guest]]\nfile = {:?}\neventfds = [\"flag\"]\n",
            wat("seeded_window_set.wat"),
            wat("seeded_window_check.wat")
        ),
    );
    let config = config.to_str().unwrap();
    let starts = [0, 10_000, 20_000, 30_000, 40_000, 50_000, 60_000, 70_000];
    let count = |schedule: &str| -> Vec<u64> {
        starts
            .iter()
            .map(|&start| schedules_to_failure(config, schedule, start))
            .collect()
    };
    let random = count("random");
    let pct = count("pct:2:50");
    let (random_total, pct_total) = (random.iter().sum::<u64>(), pct.iter().sum::<u64>());
    let counts = format!(
        "schedules until the failure from {} starting seeds: random walk {random:?} \
         (total {random_total}), PCT depth 2 over 50 steps {pct:?} (total {pct_total})",
        starts.len()
    );
    eprintln!("{counts}");
    assert!(pct.iter().all(|&n| n <= 1000), "{counts}");
    assert!(pct_total * 2 < random_total, "{counts}");
}

#[test]
fn explore_finds_a_lost_update_in_a_file_and_its_seed_replays_it() {
    // Two guests add 1 five times each to a counter in a file, each add a
    // read then a write (two host calls); a third checks the total once
    // both are done, and sets the file back to 0 for the next schedule.
    let scratch = Scratch::new("seeded-counter");
    let data = scratch.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("count"), [0u8; 8]).unwrap();
    let wat = format!("{:?}", test_wat("seeded_counter.wat").display().to_string());
    let guest = |role: &str| {
        format!(
            "\n[[guest]]\nfile = {wat}\nargs = [\"{role}\"]\ndirs = [\"data::data\"]\n\
             eventfds = [\"done\"]\n"
        )
    };
    let config = scratch.file(
        "counter.toml",
        &format!(
            "[eventfd.done]\nsemaphore = true\n{}{}{}",
            guest("inc"),
            guest("inc"),
            guest("check")
        ),
    );
    let config = config.to_str().unwrap();
    let explored = wasi_eventfd(&["run", "--explore", "1000", "--config", config]);
    assert_eq!(explored.status.code(), Some(1), "{}", stderr(&explored));
    let err = stderr(&explored);
    let seed = err
        .strip_prefix("error: schedule with seed ")
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("{err}"))
        .to_string();
    assert!(
        err.contains("guest #3 (`seeded_counter.wat`) exited with code 1"),
        "{err}"
    );
    let replays: Vec<Output> = (0..3)
        .map(|_| seeded(seed.parse().unwrap(), &[], &["--config", config]))
        .collect();
    for replay in &replays {
        assert_eq!(replay.status.code(), Some(1), "{}", stderr(replay));
        assert!(
            stdout(replay).starts_with("lost updates: "),
            "{}",
            stdout(replay)
        );
        assert!(
            !stderr(replay).contains("may not replay"),
            "{}",
            stderr(replay)
        );
        assert_eq!(whole(replay), whole(&replays[0]));
    }
    // Files are served in scheduler order: a schedule with no lost update
    // replays as well.
    let clean = (0..50)
        .map(|seed| seeded(seed, &[], &["--config", config]))
        .find(|run| run.status.success())
        .expect("some schedule of 50 loses no update");
    assert!(clean.stdout.is_empty(), "{}", stdout(&clean));
}

#[test]
fn a_correct_worker_pool_passes_300_schedules() {
    let (dispatcher, worker) = (guest("dispatcher"), guest("worker"));
    let (dispatcher, worker) = (
        dispatcher.display().to_string(),
        worker.display().to_string(),
    );
    let run = wasi_eventfd(&[
        "run",
        "--explore",
        "300",
        "--threads",
        "2",
        "--eventfd",
        "jobs=0,semaphore,nonblock",
        "--eventfd",
        "done=0",
        "--eventfd",
        "quit=0",
        "--with",
        &worker,
        "--with",
        &worker,
        "--with",
        &worker,
        &dispatcher,
        "4",
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert_eq!(stderr(&run), "explored 300 schedules, no failure\n");
}

/// The WASI 0.2 files guest (`wasi_files`) under `--seed`, in a fresh
/// directory holding `input.txt`: its output.
fn files_guest_seeded(seed: u64, tag: &str, guest_args: &[&str]) -> Output {
    let scratch = Scratch::new(tag);
    scratch.file("input.txt", "hello\n");
    let dir = format!("{}::/data", scratch.path().display());
    let mut rest = guest_args.to_vec();
    rest.push("/data");
    seeded(seed, &["--dir", &dir], &rest)
}

#[test]
fn a_component_s_file_streams_replay_in_scheduler_order() {
    // wasmtime-wasi serves a WASI 0.2 component's file streams on tokio's
    // blocking threads; a seeded run serves them inline: the run replays,
    // and says nothing of another thread.
    let files = guest("wasi_files");
    let files = files.to_str().unwrap();
    let first = files_guest_seeded(1, "seeded-streams-1", &[files]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        stdout(&first).contains("input: hello"),
        "{}",
        stdout(&first)
    );
    assert!(
        stdout(&first).contains("read back: hello from the guest"),
        "{}",
        stdout(&first)
    );
    assert_eq!(stderr(&first), "", "no warning that the run may not replay");
    let second = files_guest_seeded(1, "seeded-streams-2", &[files]);
    assert_eq!(whole(&first), whole(&second));

    // The same with the library: no wake-up came from another thread.
    let scratch = Scratch::new("seeded-streams-lib");
    scratch.file("input.txt", "hello\n");
    let mut spec = GuestSpec::new(guest("wasi_files"), ["/data".to_string()]);
    spec.dirs = vec![wasi_eventfd::runner::DirGrant {
        host: scratch.path().to_path_buf(),
        guest: "/data".into(),
    }];
    let runner = Runner::with_options(RunOptions {
        inherit_stdio: false,
        seeded: Some(Seeded::new(1)),
        ..RunOptions::default()
    })
    .unwrap();
    let run = runner.run_seeded(&[spec]).unwrap();
    assert_eq!(run.outcomes, [Outcome::Success]);
    assert_eq!(run.foreign_wakes, 0);
}

#[test]
fn a_wasi_0_3_component_s_file_streams_replay_too() {
    // wasmtime-wasi's WASI 0.3 streams do their I/O inline when blocking
    // the current thread is allowed, as in a seeded run.
    let p3 = guest("wasi_p3");
    let p3 = p3.to_str().unwrap();
    let first = files_guest_seeded(2, "seeded-p3-streams-1", &[p3, "files"]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        stdout(&first).contains("read back: hello from the guest"),
        "{}",
        stdout(&first)
    );
    assert_eq!(stderr(&first), "", "no warning that the run may not replay");
    let second = files_guest_seeded(2, "seeded-p3-streams-2", &[p3, "files"]);
    assert_eq!(whole(&first), whole(&second));
}

/// Two components appending `count` lines each to one log file under a
/// fresh directory, seeded with `seed` at preemption rate 0.5: the log,
/// and the run's output.
fn two_loggers(seed: u64, tag: &str) -> (String, Output) {
    let scratch = Scratch::new(tag);
    let dir = format!("{}::/data", scratch.path().display());
    let log = guest("seeded_file_log");
    let log = log.to_str().unwrap();
    let config = scratch.file(
        "loggers.toml",
        &format!(
            "[[guest]]\nfile = {log:?}\nargs = [\"/data\", \"A\", \"20\"]\ndirs = [{dir:?}]\n\n\
             [[guest]]\nfile = {log:?}\nargs = [\"/data\", \"B\", \"20\"]\ndirs = [{dir:?}]\n"
        ),
    );
    let run = seeded(
        seed,
        &["--preemption-rate", "0.5"],
        &["--config", config.to_str().unwrap()],
    );
    let text = std::fs::read_to_string(scratch.path().join("log.txt")).unwrap_or_default();
    (text, run)
}

#[test]
fn components_writing_one_file_interleave_as_the_seed_says() {
    let (log, run) = two_loggers(5, "seeded-log-5a");
    assert!(run.status.success(), "{}", stderr(&run));
    assert_eq!(stderr(&run), "", "no warning that the run may not replay");
    assert_eq!(log.lines().count(), 40, "{log}");
    let (again, rerun) = two_loggers(5, "seeded-log-5b");
    assert_eq!(log, again, "the same seed, the same order of appends");
    assert_eq!(whole(&run), whole(&rerun));
    // Another seed, another order (among a few seeds, one differs).
    let other = (6..12)
        .map(|seed| two_loggers(seed, &format!("seeded-log-{seed}")).0)
        .find(|other| *other != log);
    assert!(
        other.is_some(),
        "six other seeds all appended as seed 5:\n{log}"
    );
}
