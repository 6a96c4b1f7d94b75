//! Faults and limits: guests that trap, exit, time out or hoard eventfds
//! leave the shared table as it was, and get errors instead of exhausting
//! the host.

use std::process::Output;
use std::time::Duration;

use wasi_eventfd::runner::{GuestSpec, Outcome, RunOptions, Runner};

use crate::library::{assert_all_succeeded, runner_with, runner_with_options, within};

use crate::cli::wasi_eventfd;
use crate::guests::{guest, test_wat, Scratch};

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn a_guest_gets_too_many_descriptors_at_its_limit() {
    let hoard = guest("hoard").display().to_string();
    let output = wasi_eventfd(&["run", "--max-descriptors", "50", &hoard, "until-error"]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        stdout(&output),
        "hoard: 50 descriptors, then too-many-descriptors\n"
    );
}

#[test]
fn the_host_gives_too_many_descriptions_at_its_limit() {
    let hoard = guest("hoard").display().to_string();
    let output = wasi_eventfd(&["run", "--max-descriptions", "20", &hoard, "until-error"]);
    assert!(output.status.success(), "{output:?}");
    // Each description comes with a dup: 20 descriptions, 40 descriptors.
    assert_eq!(
        stdout(&output),
        "hoard: 40 descriptors, then too-many-descriptions\n"
    );
}

#[test]
fn core_modules_get_emfile_and_enfile() {
    let hoard = test_wat("hoard.wat").display().to_string();
    let output = wasi_eventfd(&["run", "--max-descriptors", "30", &hoard]);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("exited with code 24"), "EMFILE: {err}");
    let output = wasi_eventfd(&["run", "--max-descriptions", "5", &hoard]);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("exited with code 23"), "ENFILE: {err}");
}

#[test]
fn core_module_dups_count_against_the_descriptor_limit() {
    let scratch = Scratch::new("dup");
    // One eventfd, then dups of it until dup fails: exits with that errno.
    let path = scratch.file(
        "dups.wat",
        r#"(module
             (import "wasi_eventfd" "eventfd" (func $eventfd (param i32 i32) (result i32)))
             (import "wasi_eventfd" "dup" (func $dup (param i32) (result i32)))
             (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
             (memory (export "memory") 1)
             (func (export "_start") (local $fd i32) (local $r i32)
               (local.set $fd (call $eventfd (i32.const 0) (i32.const 0)))
               (loop $more
                 (local.set $r (call $dup (local.get $fd)))
                 (br_if $more (i32.ge_s (local.get $r) (i32.const 0))))
               (call $exit (i32.sub (i32.const 0) (local.get $r)))))"#,
    );
    let output = wasi_eventfd(&[
        "run",
        "--max-descriptors",
        "30",
        &path.display().to_string(),
    ]);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("exited with code 24"), "EMFILE: {err}");
    // The guest's exit code is the runner's, as with `wasmtime run`.
    assert_eq!(output.status.code(), Some(24));
}

#[test]
fn a_guest_cannot_grow_memory_past_the_limit() {
    let scratch = Scratch::new("mem");
    // Grows by 128 MiB (2048 pages): memory.grow returns -1 under the limit,
    // and the module exits with 5 in that case.
    let path = scratch.file(
        "grow.wat",
        r#"(module (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
           (memory (export "memory") 1)
           (func (export "_start")
             (if (i32.eq (memory.grow (i32.const 2048)) (i32.const -1))
               (then (call $exit (i32.const 5))))))"#,
    );
    let path = path.display().to_string();
    let limited = wasi_eventfd(&["run", "--max-memory", "64", &path]);
    assert!(
        String::from_utf8_lossy(&limited.stderr).contains("exited with code 5"),
        "{limited:?}"
    );
    let unlimited = wasi_eventfd(&["run", "--max-memory", "256", &path]);
    assert!(unlimited.status.success(), "{unlimited:?}");
}

#[test]
fn max_memory_bounds_a_guests_memories_and_tables_together() {
    let scratch = Scratch::new("mem-sum");
    // Three memories of 1 page, each grown by 96 MiB (1536 pages): under
    // 256 MiB in all the third growth fails, and the module exits with the
    // number of growths that succeeded.
    let memories = scratch.file(
        "memories.wat",
        r#"(module (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
           (memory $a 1) (memory $b 1) (memory $c 1)
           (export "memory" (memory $a))
           (func (export "_start") (local $grown i32)
             (if (i32.ne (memory.grow $a (i32.const 1536)) (i32.const -1))
               (then (local.set $grown (i32.add (local.get $grown) (i32.const 1)))))
             (if (i32.ne (memory.grow $b (i32.const 1536)) (i32.const -1))
               (then (local.set $grown (i32.add (local.get $grown) (i32.const 1)))))
             (if (i32.ne (memory.grow $c (i32.const 1536)) (i32.const -1))
               (then (local.set $grown (i32.add (local.get $grown) (i32.const 1)))))
             (call $exit (local.get $grown))))"#,
    );
    let memories = memories.display().to_string();
    let limited = wasi_eventfd(&["run", "--max-memory", "256", &memories]);
    assert_eq!(limited.status.code(), Some(2), "{limited:?}");
    let roomy = wasi_eventfd(&["run", "--max-memory", "512", &memories]);
    assert_eq!(roomy.status.code(), Some(3), "{roomy:?}");

    // A table grown by 64 Mi entries (512 MiB of references) under a
    // 1 MiB limit: the growth fails (exit 5) instead of taking the memory.
    let table = scratch.file(
        "table.wat",
        r#"(module (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
           (memory (export "memory") 1)
           (table $t 1 funcref)
           (func (export "_start")
             (if (i32.eq (table.grow $t (ref.null func) (i32.const 0x4000000)) (i32.const -1))
               (then (call $exit (i32.const 5))))))"#,
    );
    let table = table.display().to_string();
    let limited = wasi_eventfd(&["run", "--max-memory", "1", &table]);
    assert_eq!(limited.status.code(), Some(5), "{limited:?}");
}

#[test]
fn a_guest_past_its_timeout_is_stopped_with_a_clear_message() {
    // `spin` computes until `stop` is written, which nobody does. (A guest
    // that only waits on an eventfd would be reported as a deadlock.)
    let spin = guest("spin").display().to_string();
    let output = wasi_eventfd(&["run", "--timeout", "0.3", "--eventfd", "stop=0", &spin]);
    assert_eq!(output.status.code(), Some(124));
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        err.trim(),
        "error: guest `spin.wasm` timed out: stopped after 0.3 s"
    );
    let bad = wasi_eventfd(&["run", "--timeout", "soon", &spin]);
    assert_eq!(bad.status.code(), Some(2));
}

fn runner(timeout: Option<Duration>) -> (Runner, wasi_eventfd::Descriptor) {
    let options = RunOptions {
        timeout,
        // Hundreds of trapping guests would fill the log with panics.
        inherit_stdio: false,
        ..RunOptions::default()
    };
    let (runner, mut fds) = runner_with_options(options, &["in=0"]);
    (runner, fds.remove(0))
}

#[tokio::test(flavor = "multi_thread")]
async fn trapping_exiting_and_stopped_guests_release_every_descriptor() {
    let (runner, input) = runner(Some(Duration::from_millis(500)));
    let hoard = |end: &str| GuestSpec::new(guest("hoard"), ["5".to_string(), end.to_string()]);
    let outcomes = runner
        .run(&[
            hoard("return"),
            hoard("exit"),
            hoard("trap"),
            hoard("block"),
        ])
        .await
        .unwrap();
    assert_eq!(outcomes[0], Outcome::Success);
    assert_eq!(outcomes[1], Outcome::Exit(1));
    assert!(matches!(outcomes[2], Outcome::Trap(_)), "{:?}", outcomes[2]);
    assert_eq!(outcomes[3], Outcome::TimedOut(Duration::from_millis(500)));
    assert_eq!(
        runner.descriptions().ids(),
        [input.info().id],
        "only the preopen is left"
    );
    // The shared description is intact and still works for everyone.
    input.write(2).await.unwrap();
    assert_eq!(input.read().await, Ok(2));
    assert_eq!(
        input.description().readers_waiting(),
        0,
        "the stopped read left no waiter"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn thousands_of_guests_come_and_go_without_leaks() {
    let (runner, input) = runner(None);
    let ends = ["return", "exit", "trap"];
    for batch in 0..8 {
        let guests: Vec<GuestSpec> = (0..250)
            .map(|i| {
                GuestSpec::new(
                    guest("hoard"),
                    ["3".to_string(), ends[(batch + i) % 3].to_string()],
                )
            })
            .collect();
        let outcomes = runner.run(&guests).await.unwrap();
        let returned = (0..250).filter(|i| (batch + i) % 3 == 0).count();
        assert_eq!(outcomes.iter().filter(|o| o.is_success()).count(), returned);
        assert_eq!(
            runner.descriptions().len(),
            1,
            "batch {batch} left descriptions behind"
        );
    }
    assert_eq!(input.info().count, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn stress_eight_guests_lose_and_invent_nothing() {
    const GUESTS: usize = 8;
    const OPS: u64 = 100_000;
    let (runner, fds) = runner_with(&[
        "sem=0,semaphore",
        "nb=0,nonblock",
        "total_written=0",
        "total_read=0",
    ]);
    let (sem, nb, total_written, total_read) = (&fds[0], &fds[1], &fds[2], &fds[3]);
    let guests: Vec<GuestSpec> = (0..GUESTS)
        .map(|i| {
            GuestSpec::new(
                guest("stress"),
                [OPS.to_string(), (i * 7919 + 1).to_string()],
            )
        })
        .collect();
    let start = std::time::Instant::now();
    let outcomes = within("the stress run", runner.run(&guests)).await.unwrap();
    let elapsed = start.elapsed();
    assert_all_succeeded(&outcomes);
    assert_eq!(
        sem.description().readers_waiting(),
        0,
        "no guest is left waiting"
    );
    let left = sem.info().count + nb.info().count;
    let (written, read) = (total_written.info().count, total_read.info().count);
    assert!(written > 0 && read > 0);
    assert_eq!(
        read + left,
        written,
        "every unit written was read once or is still there"
    );
    println!(
        "stress: {GUESTS} guests x {OPS} operations in {:.2} s: {:.0} ops/s",
        elapsed.as_secs_f64(),
        (GUESTS as u64 * OPS) as f64 / elapsed.as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn guests_without_a_shared_preopen_cannot_touch_each_others_counters() {
    // No call takes a raw id: a guest reaches only what it created, was
    // handed, or dup'd. Each guest reads back exactly its own value.
    let runner = Runner::with_options(RunOptions {
        inherit_stdio: false,
        ..RunOptions::default()
    })
    .unwrap();
    let guests: Vec<GuestSpec> = (1..=4)
        .map(|v| GuestSpec::new(guest("isolated"), [(v * 1000).to_string()]))
        .collect();
    let outcomes = within("the isolated guests", runner.run(&guests))
        .await
        .unwrap();
    assert_all_succeeded(&outcomes);
}

/// A run file of `count` copies of `file` (`in_turn`, or its core-module
/// twin) with `args`, taking turns on a semaphore eventfd `turn` that holds
/// one token.
fn in_turn_run(scratch: &Scratch, file: &std::path::Path, count: u32, args: &[&str]) -> String {
    let args = args
        .iter()
        .map(|a| format!("\"{a}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let name = file
        .file_name()
        .map_or("guest".into(), |n| n.to_string_lossy());
    let file = file.display().to_string().replace('\\', "\\\\");
    let run = scratch.file(
        &format!("in-turn-{name}-{count}.toml"),
        &format!(
            "[eventfd.turn]\ninitval = 1\nsemaphore = true\n\n[[guest]]\nfile = \"{file}\"\n\
             args = [{args}]\ncount = {count}\neventfds = [\"turn\"]\n"
        ),
    );
    run.display().to_string()
}

/// Runs `wasi-eventfd` with `args` and returns its output with its peak
/// resident memory in bytes (the kernel's, from `wait4`).
// The child is reaped by `wait4` below, which std does not see.
#[allow(clippy::zombie_processes)]
fn run_measuring_peak(args: &[&str]) -> (Output, u64) {
    use std::io::Read as _;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_wasi-eventfd"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run wasi-eventfd");
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut stdout_pipe = child.stdout.take().expect("piped");
    let mut stderr_pipe = child.stderr.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut err = Vec::new();
        let _ = stderr_pipe.read_to_end(&mut err);
        err
    });
    let _ = stdout_pipe.read_to_end(&mut out);
    err.extend(reader.join().expect("stderr reader"));
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value; wait4 fills it in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child, with valid pointers; `child` is not
    // waited for again (std would reap it only on `wait`).
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as libc::pid_t, "wait4");
    let output = Output {
        status: std::os::unix::process::ExitStatusExt::from_raw(status),
        stdout: out,
        stderr: err,
    };
    // ru_maxrss is in KiB on Linux.
    (output, usage.ru_maxrss as u64 * 1024)
}

#[test]
fn guests_ending_one_after_another_do_not_pile_up_their_memory() {
    // 250 guests take turns, each touching 4 MiB: each ends as the next
    // starts, every few ms, so the reaper never saw a quiet moment and
    // held every store (with 8 MiB each, 2.0 GB at the peak where one guest
    // needs 23 MB; 320-410 MiB in a debug build on a busy machine, where
    // guests end slower). Against a run of one such guest, the peak may
    // only grow by what the reaper lets pile up (128 MiB of resident
    // memory, checked every 20 ms) and some slack.
    let scratch = Scratch::new("in-turn-memory");
    let one = in_turn_run(&scratch, &guest("in_turn"), 1, &["touch", "4"]);
    let many = in_turn_run(&scratch, &guest("in_turn"), 250, &["touch", "4"]);
    let (output, one_peak) = run_measuring_peak(&["run", "--timeout", "120", "--config", &one]);
    assert!(output.status.success(), "{output:?}");
    let (output, peak) = run_measuring_peak(&["run", "--timeout", "120", "--config", &many]);
    assert!(output.status.success(), "{output:?}");
    let grown = peak.saturating_sub(one_peak) >> 20;
    assert!(
        grown < 256,
        "250 guests in turn: peak {} MiB, one guest's {} MiB",
        peak >> 20,
        one_peak >> 20
    );
}

#[test]
fn a_guests_eventfds_are_released_when_it_ends() {
    // Ten guests take turns, each creating 500 eventfds under a limit of
    // 2000 descriptions and exiting without closing them: only what the
    // guests alive hold counts, so each gets its 500. Their stores waited
    // for a quiet moment, holding the descriptions: seven of ten got
    // ENFILE. Components, then core modules.
    let scratch = Scratch::new("in-turn-eventfds");
    let runs = [
        in_turn_run(&scratch, &guest("in_turn"), 10, &["eventfds", "500"]),
        in_turn_run(&scratch, &test_wat("in_turn.wat"), 10, &[]),
    ];
    for run in runs {
        let output = wasi_eventfd(&[
            "run",
            "--timeout",
            "60",
            "--max-descriptions",
            "2000",
            "--config",
            &run,
        ]);
        assert!(
            output.status.success(),
            "{run}: stdout:\n{}\nstderr:\n{}",
            stdout(&output),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn limits_are_the_same_with_the_pool_and_without() {
    // A guest grows its memory as far as it may (in halving steps down to
    // a page) and prints where it stopped: the same with `--pool` as
    // without. Past 4 GiB the pool refused to set up at all (its memory
    // slots are 4 GiB), while without it the limit is simply never reached.
    let grow = guest("grow").display().to_string();
    for mib in ["64", "4095", "4096", "4097", "8192"] {
        let alone = wasi_eventfd(&["run", "--max-memory", mib, &grow]);
        let pooled = wasi_eventfd(&["run", "--pool", "2", "--max-memory", mib, &grow]);
        assert!(alone.status.success(), "--max-memory {mib}: {alone:?}");
        assert!(
            pooled.status.success(),
            "--max-memory {mib} --pool 2: {pooled:?}"
        );
        assert_eq!(stdout(&alone), stdout(&pooled), "--max-memory {mib}");
    }
    // 64 MiB, less the table's bytes (the limit counts both); a 32-bit
    // memory's 65536 pages once the limit is past them.
    let at = |mib: &str| stdout(&wasi_eventfd(&["run", "--max-memory", mib, &grow]));
    assert_eq!(at("64"), "grow: 1023 pages\n");
    assert_eq!(at("8192"), "grow: 65536 pages\n");

    // A table grows to 2^20 elements and no further, with the pool or
    // without (the pool held 20 000 at most; without it, only memory
    // bounded a table). Exit 0: both as expected; 5: the first growth
    // failed; 6: the second did not.
    let scratch = Scratch::new("table-limit");
    let table = scratch.file(
        "table.wat",
        r#"(module (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
           (memory (export "memory") 1)
           (table $t 1 funcref)
           (func (export "_start")
             (if (i32.eq (table.grow $t (ref.null func) (i32.const 0xfffff)) (i32.const -1))
               (then (call $exit (i32.const 5))))
             (if (i32.ne (table.grow $t (ref.null func) (i32.const 1)) (i32.const -1))
               (then (call $exit (i32.const 6))))))"#,
    );
    let table = table.display().to_string();
    for pool in [&[][..], &["--pool", "2"][..]] {
        let mut args = vec!["run"];
        args.extend_from_slice(pool);
        args.push(&table);
        let output = wasi_eventfd(&args);
        assert_eq!(output.status.code(), Some(0), "{pool:?}: {output:?}");
    }
}
