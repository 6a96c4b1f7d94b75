//! Guests' eventfds against the kernel's, measured side by side in one run.
//!
//! `cargo bench -p wasi-eventfd` prints Markdown tables and writes them, the
//! same figures as JSON and a chart of the ratios, to
//! `target/bench/eventfd.{md,json,svg}`. `cargo bench -p wasi-eventfd --
//! --quick` is the smoke run CI does: small counts, and it fails unless
//! every picked row ran; it never checks a timing. Words after `--` other
//! than `--quick` pick rows: a row runs when a word is part of its id
//! (`binary-pair-component`, `binary-pair-core`, `binary-ping-pong`,
//! `binary-epoll-ping-pong`, `floor-async`, `floor-sync`,
//! `in-process-pair-component`, `in-process-pair-core`,
//! `in-process-ping-pong-single`, `in-process-ping-pong-multi`,
//! `in-process-contention`, `file-write-in-process`, `file-write-binary`,
//! `seeded-explore`, `scale`), so `binary`, `pair`, `ping-pong`, `floor`,
//! `in-process` or `file-write` pick groups (`epoll` the epoll row).
//!
//! Rows:
//! - **through the binary**: the `wasi-eventfd` command of this build's
//!   profile (`CARGO_BIN_EXE_wasi-eventfd`: release under `cargo bench`, the
//!   test build under `--profile dev`), run with its default options as a
//!   user runs it; the guests time themselves and print `elapsed_ns NS`;
//! - **the floor**: the op-pair guest's loop calling, instead of write and
//!   read, twice a host function with the signature of `eventfd.read`
//!   (`borrow<handle>` in, `result<u64, error-code>` out) that does nothing
//!   (`benches/floor.wit`, guest `bench_floor`), on an engine configured as
//!   the runner's WASI 0.2 engine, in this process: what wasmtime's call
//!   path costs before our code runs. Bound as the eventfd interface is
//!   (async import), and once more as a sync import for comparison;
//! - **in-process**: guests run by the library's `Runner` in this process;
//! - **file write** (issue 18): 8-byte preview 1 `fd_write`s to a regular
//!   file (guest `bench_file_write.wat`) through the one fd table against
//!   wasmtime-wasi's preview 1 alone: the same module, run by two minimal
//!   hosts in this process that differ only in their linker and store data
//!   (`wasi_eventfd::p1::add_to_linker_async` with an `EventfdP1Ctx`, or
//!   `wasmtime_wasi::p1::add_to_linker_async` with a `WasiP1Ctx`), on the
//!   floor's engine (the runner's) and a one-thread runtime (the binary's
//!   default); and, for reference, the binary with `--dir` against the same
//!   wasmtime-wasi samples;
//! - **seeded schedules** (issue 19): the worker pool of the seeded tests
//!   (three workers, a dispatcher handing out 4 jobs) explored with
//!   `--explore K` in one process, its wall time ÷ K, against one separate
//!   `wasi-eventfd run --seed 0` of the same guests (each a whole process,
//!   start-up and compilation included): what reusing compiled code and
//!   the process buys a search of interleavings;
//! - **native anchors**: the kernel's eventfd from Rust threads (ping-pong
//!   also with both threads pinned to one CPU, as `taskset -c 0`), and for
//!   the scale row 10 000 threads (64 KiB stacks) blocked on one semaphore
//!   eventfd, with the guests' measure: from one write until every one has
//!   returned from its read and posted `done`.
//!
//! - **100 000 guests** (opt-in, long: `WASI_EVENTFD_BENCH_100K=1 cargo
//!   bench -p wasi-eventfd -- scale-100k`, or with any run that picks
//!   `scale-100k`): the scale row's components, 99 999 waiting and the
//!   waker (a run's most), through the binary with default options, once;
//!   the table gives start-up,
//!   resident memory per guest and wake-all, or what stopped the run. It
//!   needs about 403 000 memory maps (four a guest), so raise the limit
//!   for it first, as root: `sysctl -w vm.max_map_count=1048576` (the
//!   default 65 530 holds about 15 500 guests; below what the run needs it
//!   stops at once with exit 2 and a message naming `vm.max_map_count`).
//!   Measured 2026-11-30 (2 busy cores, 24 GiB): start-up 21.3 s, 48.4 KiB
//!   resident per blocked guest, wake-all 4 584 ms, peak 4.63 GiB; the row
//!   took 1 min 30 s. After issue 21's round 3, the binaries before and
//!   after side by side on a busier machine (load average 10): start-up
//!   171.4 -> 31.9 s, wake-all 23.3 -> 8.6 s, 52.3 -> 48.4 KiB a guest.
//!
//! Each row is measured 7 times (2 with `--quick`), ours and the anchor
//! alternately; the file-write rows 21 times (2), their three measures taking
//! turns in rotating order. The tables give the median and the range, the
//! ratio of the medians and the goal (issue 13's goals apply to the rows
//! through the binary, issue 18's to the core module's op pair, now made
//! of preview 1's `fd_write` and `fd_read`, and to the in-process
//! file-write row). Each row's name says which calls it makes: a
//! component's `eventfd.write`/`eventfd.read` (the WIT interface), a core
//! module's preview 1 `fd_write`/`fd_read` on an eventfd of its fd table
//! (the `wasi_eventfd` module only creates and names eventfds).

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use wasi_eventfd::runner::{GuestSpec, Pool, RunOptions, Runner};
use wasi_eventfd::Descriptor;

/// The binary's allocator (see its `main.rs`), so that the in-process rows
/// and the floor pay what the rows through the binary pay for wasmtime's
/// two allocations per async host call.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "../../tests/integration/eventfds.rs"]
mod eventfds;
#[allow(dead_code)] // the C-guest helpers are the tests'
#[path = "../../tests/integration/guests.rs"]
mod guests;

struct Settings {
    repeats: usize,
    scale_guests: usize,
    scale_repeats: usize,
    pairs: u64,
    round_trips: u64,
    /// Operations per writer guest / thread in the contention row.
    contended_writes: u64,
    /// `fd_write`s per run in the file-write rows.
    file_writes: u64,
    /// Runs of each in the file-write rows: more and shorter than the
    /// others', as a write's time (a hand-off to a blocking thread and
    /// back) swings with the machine's load and the ratio sought is small.
    file_repeats: usize,
    /// Schedules per `--explore` in the seeded row.
    schedules: u64,
}

/// Writers and readers in the contention row.
const WRITERS: usize = 2;
const READERS: usize = 2;

/// The scale row's goal: from the write until every guest has acted.
const SCALE_GOAL_S: f64 = 0.050;

/// The floor is what wasmtime alone costs; above this share of the native
/// pair the op-pair goal (0.5×) cannot be met by our own code.
const FLOOR_WARNING: f64 = 0.5;

/// Nanoseconds per operation over the repeats.
#[derive(Clone)]
struct Stats(Vec<f64>);

impl Stats {
    fn sorted(&self) -> Vec<f64> {
        let mut v = self.0.clone();
        v.sort_by(f64::total_cmp);
        v
    }
    fn median(&self) -> f64 {
        let v = self.sorted();
        v[v.len() / 2]
    }
    fn range(&self) -> (f64, f64) {
        let v = self.sorted();
        (v[0], v[v.len() - 1])
    }
    fn show(&self) -> String {
        let (lo, hi) = self.range();
        format!(
            "{:.3} µs ({:.3}–{:.3})",
            self.median() / 1e3,
            lo / 1e3,
            hi / 1e3
        )
    }
}

struct Row {
    id: &'static str,
    name: &'static str,
    unit: &'static str,
    ours: Stats,
    /// The anchor: the kernel's eventfd from native threads, or in the
    /// file-write rows wasmtime-wasi's preview 1 alone.
    native: Stats,
    /// The goal on ours ÷ native, if the row has one.
    goal: Option<f64>,
}

impl Row {
    fn ratio(&self) -> f64 {
        self.ours.median() / self.native.median()
    }
    fn met(&self) -> Option<bool> {
        self.goal.map(|goal| self.ratio() <= goal)
    }
}

/// Runs each of `measures` `times` times, taking turns, so that a busy
/// spell of the (shared) machine falls on all of them alike.
fn interleaved<const N: usize>(times: usize, measures: [&mut dyn FnMut() -> f64; N]) -> [Stats; N] {
    let mut measures = measures;
    let mut samples: [Vec<f64>; N] = std::array::from_fn(|_| Vec::with_capacity(times));
    for _ in 0..times {
        for (measure, samples) in measures.iter_mut().zip(samples.iter_mut()) {
            samples.push(measure());
        }
    }
    samples.map(Stats)
}

/// As [`interleaved`], but each round starts one measure later than the
/// one before, so that every measure takes every place in a round equally
/// often: what runs right after a process exits, or first on a fresh
/// runtime, is not always the same measure.
fn interleaved_rotating<const N: usize>(
    times: usize,
    measures: [&mut dyn FnMut() -> f64; N],
) -> [Stats; N] {
    let mut samples: [Vec<f64>; N] = std::array::from_fn(|_| Vec::with_capacity(times));
    for round in 0..times {
        for turn in 0..N {
            let i = (round + turn) % N;
            samples[i].push(measures[i]());
        }
    }
    samples.map(Stats)
}

// --- native: the kernel's eventfd from Rust threads ---------------------

fn eventfd(flags: i32) -> i32 {
    // SAFETY: plain system call.
    let fd = unsafe { libc::eventfd(0, flags) };
    assert!(fd >= 0, "eventfd failed");
    fd
}

fn write_u64(fd: i32, value: u64) {
    // SAFETY: writes 8 bytes from a live u64.
    let n = unsafe { libc::write(fd, (&value as *const u64).cast(), 8) };
    assert_eq!(n, 8);
}

fn read_u64(fd: i32) -> u64 {
    let mut value = 0u64;
    // SAFETY: reads 8 bytes into a live u64.
    let n = unsafe { libc::read(fd, (&mut value as *mut u64).cast(), 8) };
    assert_eq!(n, 8);
    value
}

fn close(fd: i32) {
    // SAFETY: closes a descriptor this benchmark owns.
    unsafe { libc::close(fd) };
}

/// Reads the counter-mode eventfd `fd` until it has given `total` in all.
fn collect(fd: i32, total: u64) {
    let mut seen = 0;
    while seen < total {
        seen += read_u64(fd);
    }
}

fn native_pair(pairs: u64) -> f64 {
    let fd = eventfd(libc::EFD_NONBLOCK);
    let start = Instant::now();
    for _ in 0..pairs {
        write_u64(fd, 1);
        read_u64(fd);
    }
    let ns = start.elapsed().as_nanos() as f64 / pairs as f64;
    close(fd);
    ns
}

/// The first CPU this process may run on (CPU 0 unless restricted): where
/// the pinned ping-pong runs, as `taskset -c 0` would put it.
fn first_cpu() -> usize {
    // SAFETY: an all-zero cpu_set_t is a valid empty set, filled in by the
    // kernel for this thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        let got = libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set);
        assert_eq!(got, 0, "sched_getaffinity failed");
        (0..libc::CPU_SETSIZE as usize)
            .find(|&cpu| libc::CPU_ISSET(cpu, &set))
            .expect("a CPU to run on")
    }
}

/// Pins the calling thread to `cpu`.
fn pin_to(cpu: usize) {
    // SAFETY: a set with one CPU, applied to the calling thread only.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        let set_size = std::mem::size_of::<libc::cpu_set_t>();
        assert_eq!(
            libc::sched_setaffinity(0, set_size, &set),
            0,
            "sched_setaffinity failed"
        );
    }
}

/// Two threads bouncing a ball through two eventfds; `pinned`: both run on
/// that one CPU (a same-core switch, as under `taskset -c 0`), otherwise
/// wherever the scheduler puts them.
fn native_ping_pong(round_trips: u64, pinned: Option<usize>) -> f64 {
    let (ping, pong) = (eventfd(0), eventfd(0));
    let other = std::thread::spawn(move || {
        pinned.into_iter().for_each(pin_to);
        loop {
            if read_u64(ping) == 2 {
                break;
            }
            write_u64(pong, 1);
        }
    });
    // The measuring thread is a fresh one too, so that pinning it leaves
    // the benchmark's main thread free.
    let ns = std::thread::spawn(move || {
        pinned.into_iter().for_each(pin_to);
        let start = Instant::now();
        for _ in 0..round_trips {
            write_u64(ping, 1);
            read_u64(pong);
        }
        let ns = start.elapsed().as_nanos() as f64 / round_trips as f64;
        write_u64(ping, 2);
        ns
    })
    .join()
    .expect("ping thread");
    other.join().expect("pong thread");
    close(ping);
    close(pong);
    ns
}

/// Nanoseconds per operation (each write and each read counts one) with
/// WRITERS threads writing 1 `writes` times each and READERS threads
/// taking the counts one by one from one semaphore eventfd, all blocking.
fn native_contention(writes: u64) -> f64 {
    let shared = eventfd(libc::EFD_SEMAPHORE);
    let reads = writes * WRITERS as u64 / READERS as u64;
    let start = Instant::now();
    let threads: Vec<_> = (0..WRITERS)
        .map(|_| std::thread::spawn(move || (0..writes).for_each(|_| write_u64(shared, 1))))
        .chain((0..READERS).map(|_| {
            std::thread::spawn(move || (0..reads).for_each(|_| assert_eq!(read_u64(shared), 1)))
        }))
        .collect();
    for thread in threads {
        thread.join().expect("contention thread");
    }
    let ns = start.elapsed().as_nanos() as f64 / (2 * writes * WRITERS as u64) as f64;
    close(shared);
    ns
}

/// Stack of each thread of the native scale row.
const NATIVE_SCALE_STACK: usize = 64 << 10;

/// The native anchor of the scale row (run in a fresh process): `threads`
/// threads (64 KiB stacks) each post `ready`, block reading one semaphore
/// eventfd `go`, then post `done`; one write of `threads` to `go` wakes
/// them, timed until every thread has posted `done` (the guests' measure).
fn native_scale(threads: usize) -> Scale {
    let (ready, go, done) = (eventfd(0), eventfd(libc::EFD_SEMAPHORE), eventfd(0));
    let before = resident_bytes(std::process::id());
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            std::thread::Builder::new()
                .stack_size(NATIVE_SCALE_STACK)
                .spawn(move || {
                    write_u64(ready, 1);
                    assert_eq!(read_u64(go), 1);
                    write_u64(done, 1);
                })
                .expect("spawn a thread")
        })
        .collect();
    collect(ready, threads as u64);
    let started = start.elapsed().as_secs_f64();
    // The last threads to post `ready` are about to block in `read`; the
    // guests' runs leave them as long (the benchmark reads the runner's
    // memory and answers through its stdin).
    std::thread::sleep(Duration::from_millis(20));
    let rss_per_guest = (resident_bytes(std::process::id()) - before) / threads as f64;
    let woken = Instant::now();
    write_u64(go, threads as u64);
    collect(done, threads as u64);
    let wake_all = woken.elapsed().as_secs_f64();
    for handle in handles {
        handle.join().expect("scale thread");
    }
    [ready, go, done].into_iter().for_each(close);
    Scale {
        start: started,
        launch: None,
        rss_per_guest,
        wake_all,
    }
}

// --- through the binary: `wasi-eventfd run`, default options -------------

/// The `wasi-eventfd` command of this build (same profile as the bench).
const BINARY: &str = env!("CARGO_BIN_EXE_wasi-eventfd");

/// The longest a run of the binary may take before the benchmark gives up.
const BINARY_LIMIT: Duration = Duration::from_secs(600);

/// A running `wasi-eventfd` whose stdout lines arrive on a channel.
struct Launched {
    child: Child,
    lines: mpsc::Receiver<String>,
    stderr: std::thread::JoinHandle<String>,
    what: String,
}

/// Starts `wasi-eventfd ARGS`; with `stdin`, its stdin is a pipe.
fn launch(args: &[String], stdin: bool) -> Launched {
    let mut child = Command::new(BINARY)
        .args(args)
        .stdin(if stdin { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {BINARY}: {e}"));
    let stdout = child.stdout.take().expect("stdout");
    let (send, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if send.send(line).is_err() {
                break;
            }
        }
    });
    let mut stderr = child.stderr.take().expect("stderr");
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        text
    });
    Launched {
        child,
        lines,
        stderr,
        what: format!("wasi-eventfd {}", args.join(" ")),
    }
}

impl Launched {
    /// The number after `KEY ` in the next line of stdout that has it.
    fn figure(&mut self, key: &str) -> u64 {
        let deadline = Instant::now() + BINARY_LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let mut words = line.split_whitespace();
                    while let Some(word) = words.next() {
                        if word == key {
                            if let Some(figure) = words.next().and_then(|f| f.parse().ok()) {
                                return figure;
                            }
                        }
                    }
                }
                Err(e) => self.fail(&format!("no `{key} N` on stdout ({e})")),
            }
        }
    }

    fn answer(&mut self, line: &str) {
        let stdin = self.child.stdin.as_mut().expect("a piped stdin");
        writeln!(stdin, "{line}").expect("write to the runner's stdin");
        stdin.flush().expect("flush the runner's stdin");
    }

    /// Waits for the runner to end; it must succeed.
    fn finish(mut self) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + BINARY_LIMIT;
        loop {
            match self.child.try_wait().expect("wait for the runner") {
                Some(status) if status.success() => return,
                Some(status) => self.fail(&format!("it ended with {status}")),
                None if Instant::now() > deadline => self.fail("it did not end"),
                None => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    }

    fn fail(&mut self, why: &str) -> ! {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let stderr = std::mem::replace(&mut self.stderr, std::thread::spawn(String::new));
        let stderr = stderr.join().unwrap_or_default();
        panic!("{}: {why}; its stderr:\n{stderr}", self.what)
    }
}

/// Runs `wasi-eventfd ARGS` and returns the `elapsed_ns` its main guest
/// printed.
fn binary_elapsed(args: &[String]) -> f64 {
    let mut run = launch(args, false);
    let ns = run.figure("elapsed_ns");
    run.finish();
    ns as f64
}

fn path_arg(path: &Path) -> String {
    path.display().to_string()
}

fn binary_pair_component(pairs: u64) -> f64 {
    let guest = path_arg(&guests::guest("bench_pair"));
    binary_elapsed(&["run".into(), guest, pairs.to_string()]) / pairs as f64
}

/// The op pair of a core module: preview 1's `fd_write` and `fd_read` on
/// an eventfd of the one table (the one way a core module reads and writes
/// an eventfd).
fn binary_pair_core(pairs: u64) -> f64 {
    let guest = path_arg(&guests::test_wat("bench_pair_p1.wat"));
    binary_elapsed(&["run".into(), guest, pairs.to_string()]) / pairs as f64
}

/// Nanoseconds per 8-byte `fd_write` to a file in `dir`, through
/// `wasi-eventfd run --dir DIR` with its default options.
fn binary_file_write(writes: u64, dir: &Path) -> f64 {
    let guest = path_arg(&guests::test_wat("bench_file_write.wat"));
    let args = [
        "run".into(),
        "--dir".into(),
        path_arg(dir),
        guest,
        writes.to_string(),
    ];
    binary_elapsed(&args) / writes as f64
}

fn binary_ping_pong(round_trips: u64) -> f64 {
    binary_round_trips(
        &guests::guest("bench_pong"),
        &guests::guest("bench_ping"),
        round_trips,
    )
}

/// Nanoseconds per round trip of two guests through `wasi-eventfd run`
/// sharing the eventfds `ping` and `pong`: `with` beside `main`, which is
/// told the count of round trips.
fn binary_round_trips(with: &Path, main: &Path, round_trips: u64) -> f64 {
    let args = [
        "run",
        "--eventfd",
        "ping=0",
        "--eventfd",
        "pong=0",
        "--with",
        &path_arg(with),
        &path_arg(main),
        &round_trips.to_string(),
    ];
    binary_elapsed(&args.map(String::from)) / round_trips as f64
}

/// The seeded rows' guests (issue 19): a correct worker pool of three
/// workers and a dispatcher handing out 4 jobs, as the seeded tests run it.
fn worker_pool_args(mode: &[&str]) -> Vec<String> {
    let worker = path_arg(&guests::guest("worker"));
    let dispatcher = path_arg(&guests::guest("dispatcher"));
    let mut args: Vec<String> = ["run"].iter().chain(mode).map(|a| a.to_string()).collect();
    for eventfd in ["jobs=0,semaphore,nonblock", "done=0", "quit=0"] {
        args.extend(["--eventfd".into(), eventfd.into()]);
    }
    for _ in 0..3 {
        args.extend(["--with".into(), worker.clone()]);
    }
    args.extend([dispatcher, "4".into()]);
    args
}

/// Wall time of the whole `wasi-eventfd` process, in nanoseconds; it must
/// succeed.
fn binary_wall(args: &[String]) -> f64 {
    let started = Instant::now();
    let output = Command::new(BINARY)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {BINARY}: {e}"));
    let ns = started.elapsed().as_nanos() as f64;
    assert!(
        output.status.success(),
        "wasi-eventfd {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    ns
}

/// One schedule of `--explore schedules` over the worker pool: the whole
/// process (start-up and compilation included, once) ÷ `schedules`.
fn binary_explore(schedules: u64) -> f64 {
    let count = schedules.to_string();
    binary_wall(&worker_pool_args(&["--explore", &count])) / schedules as f64
}

/// One separate seeded run of the worker pool, the whole process: what a
/// schedule would cost without `--explore`.
fn binary_seeded_once() -> f64 {
    binary_wall(&worker_pool_args(&["--seed", "0"]))
}

/// Resident memory of process `pid` (`VmRSS`), in bytes.
fn resident_bytes(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/PID/status");
    kib * 1024.0
}

/// What one run of the scale row found.
struct Scale {
    /// From the first guest's start (the waker's, through the binary)
    /// until every guest waits, in seconds.
    start: f64,
    /// From launching `wasi-eventfd` until every guest waits (binary only).
    launch: Option<f64>,
    /// Resident memory added per waiting guest, in bytes.
    rss_per_guest: f64,
    /// From one write of `guests` until every guest has acted, in seconds.
    wake_all: f64,
}

/// One scale run through the binary, from a run file with default
/// options: `bench_scale_waker` and `guests` copies of `waiter`, all
/// sharing `go` (semaphore), `ready` and `done`. Returns the waker's
/// figures and the runner's resident memory once all wait.
fn binary_scale_once(waiter: &Path, guests: usize, scratch: &Path) -> (Scale, f64) {
    let waker = guests::guest("bench_scale_waker");
    let file = scratch.join(format!("scale-{guests}.toml"));
    let run_file = format!(
        r#"[eventfd.go]
semaphore = true

[eventfd.ready]

[eventfd.done]

[[guest]]
file = "{waker}"
args = ["{guests}"]
stdin = true
eventfds = ["go", "ready", "done"]

[[guest]]
file = "{waiter}"
count = {guests}
eventfds = ["go", "ready", "done"]
"#,
        waker = waker.display(),
        waiter = waiter.display(),
    );
    std::fs::write(&file, run_file).expect("write the run file");
    let launched = Instant::now();
    let mut run = launch(&["run".into(), "--config".into(), path_arg(&file)], true);
    let start = run.figure("startup_ns") as f64 / 1e9;
    let launch = launched.elapsed().as_secs_f64();
    let rss = resident_bytes(run.child.id());
    run.answer("go");
    let wake_all = run.figure("elapsed_ns") as f64 / 1e9;
    run.finish();
    let scale = Scale {
        start,
        launch: Some(launch),
        rss_per_guest: 0.0,
        wake_all,
    };
    (scale, rss)
}

/// The scale row through the binary: `guests` copies of `waiter` (a
/// component or a core module), and the memory each adds to the runner
/// (against a run of the same with one waiter).
fn binary_scale(waiter: &Path, guests: usize) -> Scale {
    let scratch = guests::Scratch::new("bench-scale");
    // The first run may compile the guests into wasmtime's cache, which
    // leaves the compiler's memory resident: a warm-up, then the baseline.
    binary_scale_once(waiter, 1, scratch.path());
    let (_, one) = binary_scale_once(waiter, 1, scratch.path());
    let (mut scale, all) = binary_scale_once(waiter, guests, scratch.path());
    scale.rss_per_guest = (all - one) / (guests.max(2) - 1) as f64;
    scale
}

// --- the floor: do-nothing host calls, runner's engine configuration ------

/// Runs `f` while a thread ticks `engine`'s epoch every 10 ms, as the
/// runner's ticker does (guests yield at each tick).
fn with_epoch_ticks<R>(engine: &wasmtime::Engine, f: impl FnOnce() -> R) -> R {
    let (stop, stopped) = mpsc::channel::<()>();
    let ticking = engine.clone();
    let ticker = std::thread::spawn(move || {
        while let Err(mpsc::RecvTimeoutError::Timeout) =
            stopped.recv_timeout(Duration::from_millis(10))
        {
            ticking.increment_epoch();
        }
    });
    let result = f();
    drop(stop);
    ticker.join().expect("ticker");
    result
}

/// The `NS` of the `elapsed_ns NS` a guest printed.
fn elapsed_in(output: &[u8]) -> f64 {
    let out = String::from_utf8_lossy(output);
    out.split_whitespace()
        .skip_while(|w| *w != "elapsed_ns")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the guest printed {out:?}"))
}

mod floor {
    //! A host for `benches/floor.wit`: its `read` has the signature of
    //! `eventfd.read` and does nothing. Two bindings of it: with async
    //! imports, as the eventfd interface is bound (`read` may wait), and
    //! with plain (sync) ones, what a call that cannot wait could use.

    use std::sync::OnceLock;

    use wasmtime::component::{Component, HasSelf, Linker, Resource, ResourceTable};
    use wasmtime::{Config, Engine, Store};
    use wasmtime_wasi::p2::bindings::CommandPre;
    use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
    use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

    /// What a `handle` resource stands for: nothing.
    pub struct Handle;

    mod with_async {
        wasmtime::component::bindgen!({
            path: "benches/floor.wit",
            world: "wasi-eventfd-bench:floor/floor-guest",
            imports: { default: async | trappable },
            with: { "wasi-eventfd-bench:floor/floor.handle": super::Handle },
        });
        pub use self::wasi_eventfd_bench::floor::floor::*;
    }

    mod with_sync {
        wasmtime::component::bindgen!({
            path: "benches/floor.wit",
            world: "wasi-eventfd-bench:floor/floor-guest",
            imports: { default: trappable },
            with: { "wasi-eventfd-bench:floor/floor.handle": super::Handle },
        });
        pub use self::wasi_eventfd_bench::floor::floor::*;
    }

    pub struct State {
        wasi: WasiCtx,
        table: ResourceTable,
    }

    impl WasiView for State {
        fn ctx(&mut self) -> WasiCtxView<'_> {
            WasiCtxView {
                ctx: &mut self.wasi,
                table: &mut self.table,
            }
        }
    }

    type Floor<T, E> = wasmtime::Result<Result<T, E>>;

    impl with_async::Host for State {}

    impl with_async::HostHandle for State {
        async fn open(&mut self) -> Floor<Resource<Handle>, with_async::ErrorCode> {
            Ok(Ok(Resource::new_own(0)))
        }
        async fn read(&mut self, _: Resource<Handle>) -> Floor<u64, with_async::ErrorCode> {
            Ok(Ok(1))
        }
        async fn drop(&mut self, _: Resource<Handle>) -> wasmtime::Result<()> {
            Ok(())
        }
    }

    impl with_sync::Host for State {}

    impl with_sync::HostHandle for State {
        fn open(&mut self) -> Floor<Resource<Handle>, with_sync::ErrorCode> {
            Ok(Ok(Resource::new_own(0)))
        }
        fn read(&mut self, _: Resource<Handle>) -> Floor<u64, with_sync::ErrorCode> {
            Ok(Ok(1))
        }
        fn drop(&mut self, _: Resource<Handle>) -> wasmtime::Result<()> {
            Ok(())
        }
    }

    /// The engine of `host/src/runner/engines.rs` that runs WASI 0.2
    /// components (keep the two alike): component model, epoch
    /// interruption (a yield every tick), component-model concurrency off;
    /// allocation on demand, as for a run of one guest. Its cache only
    /// saves compiling the guest again.
    pub fn engine() -> &'static Engine {
        static ENGINE: OnceLock<Engine> = OnceLock::new();
        ENGINE.get_or_init(|| {
            let mut config = Config::new();
            config.wasm_component_model(true);
            config.epoch_interruption(true);
            if let Ok(cache) = wasmtime::Cache::from_file(None) {
                config.cache(Some(cache));
            }
            config.concurrency_support(false);
            Engine::new(&config).expect("the floor's engine")
        })
    }

    /// The floor guest, linked with WASI 0.2 and one binding of the floor.
    fn guest(sync: bool) -> CommandPre<State> {
        static GUESTS: OnceLock<[CommandPre<State>; 2]> = OnceLock::new();
        let [with_async, with_sync] = GUESTS.get_or_init(|| {
            let component = Component::from_file(engine(), super::guests::guest("bench_floor"))
                .expect("compile the floor guest");
            let pre = |sync: bool| {
                let mut linker = Linker::<State>::new(engine());
                wasmtime_wasi::p2::add_to_linker_async(&mut linker).expect("link WASI");
                if sync {
                    with_sync::add_to_linker::<State, HasSelf<State>>(&mut linker, |s| s)
                } else {
                    with_async::add_to_linker::<State, HasSelf<State>>(&mut linker, |s| s)
                }
                .expect("link the floor");
                let pre = linker
                    .instantiate_pre(&component)
                    .expect("link the floor guest");
                CommandPre::new(pre).expect("a command")
            };
            [pre(false), pre(true)]
        });
        if sync {
            with_sync.clone()
        } else {
            with_async.clone()
        }
    }

    /// Nanoseconds per iteration (two do-nothing calls) of the floor guest,
    /// as the runner runs a guest: a task on a multi-threaded runtime,
    /// with an epoch tick every 10 ms.
    pub fn per_iteration(iterations: u64, sync: bool) -> f64 {
        let pre = guest(sync);
        let stdout = MemoryOutputPipe::new(4096);
        let wasi = WasiCtx::builder()
            .args(&["bench_floor".to_string(), iterations.to_string()])
            .stdout(stdout.clone())
            .build();
        let state = State {
            wasi,
            table: ResourceTable::new(),
        };
        let ran = super::with_epoch_ticks(engine(), || {
            let runtime = super::multi_thread_runtime();
            runtime.block_on(async move {
                tokio::spawn(async move {
                    let mut store = Store::new(engine(), state);
                    store.epoch_deadline_async_yield_and_update(1);
                    let command = pre.instantiate_async(&mut store).await?;
                    command.wasi_cli_run().call_run(&mut store).await
                })
                .await
                .expect("the floor task")
            })
        });
        assert!(matches!(ran, Ok(Ok(()))), "the floor guest failed: {ran:?}");
        super::elapsed_in(&stdout.contents()) / iterations as f64
    }
}

mod file_write {
    //! Two minimal hosts for the same core module, `bench_file_write.wat`:
    //! one on the one fd table (`wasi_eventfd::p1`, as the runner links
    //! core modules), one on wasmtime-wasi's preview 1 alone. Everything
    //! else is shared: the engine (the floor's, a copy of the runner's),
    //! the store's set-up (an epoch yield every tick), a one-thread
    //! runtime (the binary's default), the guest's arguments, stdout and
    //! scratch directory. So their ratio is the one table's cost.

    use std::path::Path;
    use std::sync::OnceLock;

    use wasi_eventfd::p1::EventfdP1Ctx;
    use wasi_eventfd::{DescriptionTable, EventfdCtx};
    use wasmtime::{Instance, InstancePre, Linker, Module, Store};
    use wasmtime_wasi::p1::WasiP1Ctx;
    use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
    use wasmtime_wasi::{FsPerms, WasiCtx};

    use super::floor::engine;

    /// Whose preview 1 the guest runs on.
    #[derive(Clone, Copy)]
    pub enum Host {
        /// `wasi_eventfd::p1` on an `EventfdP1Ctx`: every call through the
        /// one fd table.
        OneTable,
        /// `wasmtime_wasi::p1` on a `WasiP1Ctx`, as an embedder without
        /// eventfds has it.
        WasiAlone,
    }

    struct Linked {
        one_table: InstancePre<EventfdP1Ctx>,
        wasi_alone: InstancePre<WasiP1Ctx>,
    }

    fn linked() -> &'static Linked {
        static LINKED: OnceLock<Linked> = OnceLock::new();
        LINKED.get_or_init(|| {
            let wasm = wat::parse_file(super::guests::test_wat("bench_file_write.wat"))
                .expect("the file-write guest parses");
            let module = Module::new(engine(), wasm).expect("compile the file-write guest");
            let mut one_table = Linker::new(engine());
            wasi_eventfd::p1::add_to_linker_async(&mut one_table, |ctx: &mut EventfdP1Ctx| ctx)
                .expect("link the one table");
            let mut wasi_alone = Linker::new(engine());
            wasmtime_wasi::p1::add_to_linker_async(&mut wasi_alone, |ctx: &mut WasiP1Ctx| ctx)
                .expect("link wasmtime-wasi");
            Linked {
                one_table: one_table
                    .instantiate_pre(&module)
                    .expect("link the guest to the one table"),
                wasi_alone: wasi_alone
                    .instantiate_pre(&module)
                    .expect("link the guest to wasmtime-wasi"),
            }
        })
    }

    /// Runs `_start` of `pre` with `data` as the runner runs a core module:
    /// a store that yields at every epoch tick, ticks every 10 ms; `ready`
    /// sees the instance first.
    fn run<T: Send + 'static>(pre: &InstancePre<T>, data: T, ready: fn(&mut Store<T>, &Instance)) {
        let ran = super::with_epoch_ticks(engine(), || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let mut store = Store::new(engine(), data);
                store.epoch_deadline_async_yield_and_update(1);
                let instance = pre.instantiate_async(&mut store).await?;
                ready(&mut store, &instance);
                let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
                start.call_async(&mut store, ()).await
            })
        });
        if let Err(e) = ran {
            panic!("the file-write guest failed: {e:?}");
        }
    }

    /// Nanoseconds per 8-byte `fd_write` to a file in `dir`, over `writes`
    /// writes, on `host`'s preview 1.
    pub fn per_write(writes: u64, host: Host, dir: &Path) -> f64 {
        let stdout = MemoryOutputPipe::new(4096);
        let mut wasi = WasiCtx::builder();
        wasi.args(&["bench_file_write.wat".to_string(), writes.to_string()])
            .stdout(stdout.clone())
            .preopened_dir(dir, "scratch", FsPerms::ReadWrite)
            .expect("preopen the scratch directory");
        let linked = linked();
        match host {
            Host::OneTable => {
                let descriptions = DescriptionTable::new();
                let eventfd = EventfdCtx::builder(&descriptions).build();
                // As the runner: the store's one instance, its memory kept.
                run(
                    &linked.one_table,
                    EventfdP1Ctx::new(wasi.build_p1(), eventfd),
                    |store, instance| {
                        let memory = instance.get_memory(&mut *store, "memory");
                        if let Some(memory) = memory {
                            store.data_mut().keep_memory(memory);
                        }
                    },
                );
            }
            Host::WasiAlone => run(&linked.wasi_alone, wasi.build_p1(), |_, _| {}),
        }
        super::elapsed_in(&stdout.contents()) / writes as f64
    }
}

// --- in-process: the library's runner -----------------------------------

fn multi_thread_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// A runner whose guests' output is discarded, with `options` otherwise.
fn quiet_runner(options: RunOptions) -> Runner {
    Runner::with_options(RunOptions {
        inherit_stdio: false,
        ..options
    })
    .expect("runner")
}

/// Waits until `guests` guests wait reading `go`.
async fn until_all_wait(go: &Descriptor, guests: usize) {
    while go.description().readers_waiting() < guests {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Runs the guests' `run` and the host's part `host` together, as `join!`
/// does, but a run that ends first (refused at load, say a run beyond
/// `vm.max_map_count`, or guests that exited early) fails the benchmark
/// with its outcome, instead of leaving the host waiting for guests that
/// will never wait.
async fn run_beside<R: std::fmt::Debug, H>(
    run: impl std::future::Future<Output = R>,
    host: impl std::future::Future<Output = H>,
) -> (R, H) {
    tokio::pin!(run);
    tokio::pin!(host);
    tokio::select! {
        biased;
        done = &mut host => (run.await, done),
        outcome = &mut run => panic!("the run ended before the host's part: {outcome:?}"),
    }
}

/// Runs `guests` with the named eventfds on a fresh runtime and returns
/// the count of `result` afterwards (the guest's own timing, in ns).
fn run_guests(multi_thread: bool, eventfds: &[&str], guests: Vec<GuestSpec>) -> u64 {
    let runtime = if multi_thread {
        multi_thread_runtime()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    };
    let mut runner = quiet_runner(RunOptions::default());
    let mut result = None;
    for spec in eventfds {
        let fd = eventfds::add_eventfd(&mut runner, spec);
        if spec.starts_with("result=") {
            result = Some(fd);
        }
    }
    let outcomes = runtime.block_on(runner.run(&guests)).expect("load");
    assert!(outcomes.iter().all(|o| o.is_success()), "{outcomes:?}");
    result.expect("a result eventfd").info().count
}

fn guest_pair_component(pairs: u64) -> f64 {
    let spec = GuestSpec::new(guests::guest("bench_pair"), [pairs.to_string()]);
    run_guests(true, &["result=0"], vec![spec]) as f64 / pairs as f64
}

fn guest_pair_core(pairs: u64) -> f64 {
    let wat = guests::test_wat("bench_pair.wat");
    let pairs_spec = format!("pairs={pairs}");
    let ns = run_guests(
        true,
        &["result=0", &pairs_spec],
        vec![GuestSpec::new(wat, [])],
    );
    ns as f64 / pairs as f64
}

fn guest_ping_pong(round_trips: u64, multi_thread: bool) -> f64 {
    let ping = GuestSpec::new(guests::guest("bench_ping"), [round_trips.to_string()]);
    let pong = GuestSpec::new(guests::guest("bench_pong"), []);
    let ns = run_guests(
        multi_thread,
        &["ping=0", "pong=0", "result=0"],
        vec![ping, pong],
    );
    ns as f64 / round_trips as f64
}

/// The contention row with guests: WRITERS + READERS components on the
/// multi-threaded runtime, timed from the host's `go` until all finished.
fn guest_contention(writes: u64) -> f64 {
    let runtime = multi_thread_runtime();
    let mut runner = quiet_runner(RunOptions::default());
    let go = eventfds::add_eventfd(&mut runner, "go=0,semaphore");
    eventfds::add_eventfd(&mut runner, "shared=0,semaphore");
    let reads = writes * WRITERS as u64 / READERS as u64;
    let guest = |role: &str, times: u64| {
        GuestSpec::new(
            guests::guest("bench_contend"),
            [role.to_string(), times.to_string()],
        )
    };
    let specs: Vec<_> = (0..WRITERS)
        .map(|_| guest("write", writes))
        .chain((0..READERS).map(|_| guest("read", reads)))
        .collect();
    let all = specs.len();
    runtime.block_on(async {
        let host = async {
            until_all_wait(&go, all).await;
            let start = Instant::now();
            go.write(all as u64).await.expect("write go");
            start
        };
        let (outcomes, start) = run_beside(runner.run(&specs), host).await;
        let elapsed = start.elapsed().as_nanos() as f64;
        let outcomes = outcomes.expect("load");
        assert!(outcomes.iter().all(|o| o.is_success()), "{outcomes:?}");
        elapsed / (2 * writes * WRITERS as u64) as f64
    })
}

/// The in-process scale run: `guests` core modules blocked reading one
/// semaphore eventfd, woken by the host, timed until the run is over
/// (every guest finished and torn down).
fn in_process_scale(guests: usize, pool: bool) -> Scale {
    let runtime = multi_thread_runtime();
    let mut runner = quiet_runner(RunOptions {
        // The guests have one page each; small slots keep the pool's
        // address-space reservation small.
        max_memory: 1 << 20,
        pool: if pool {
            Pool::Slots(guests as u32)
        } else {
            Pool::OnDemand
        },
        ..RunOptions::default()
    });
    let go = eventfds::add_eventfd(&mut runner, "go=0,semaphore");
    let wat = guests::test_wat("bench_wait.wat");
    let specs = vec![GuestSpec::new(wat, []); guests];
    let me = std::process::id();
    runtime.block_on(async {
        let before = resident_bytes(me);
        let start = Instant::now();
        let host = async {
            until_all_wait(&go, guests).await;
            let started = start.elapsed().as_secs_f64();
            let rss = (resident_bytes(me) - before) / guests as f64;
            let woken = Instant::now();
            go.write(guests as u64).await.expect("write");
            (started, rss, woken)
        };
        let (outcomes, (start, rss_per_guest, woken)) = run_beside(runner.run(&specs), host).await;
        let wake_all = woken.elapsed().as_secs_f64();
        let outcomes = outcomes.expect("load");
        assert!(
            outcomes.iter().all(|o| o.is_success()),
            "a scale guest failed"
        );
        Scale {
            start,
            launch: None,
            rss_per_guest,
            wake_all,
        }
    })
}

/// The argument that makes this benchmark one scale run in a fresh
/// process: `SCALE_CHILD GUESTS on-demand|pooling|native`; it prints
/// start, RSS per guest and wake-all.
const SCALE_CHILD: &str = "--scale-child";

/// One scale run in a fresh process of this benchmark, so that each run's
/// resident memory starts from the same state and no run reuses memory
/// another freed.
fn scale_in_child(guests: usize, kind: &str) -> Scale {
    scale_in_child_or_why(guests, kind)
        .unwrap_or_else(|why| panic!("scale run ({kind}) failed: {why}"))
}

/// As [`scale_in_child`], or what the child printed when it failed.
fn scale_in_child_or_why(guests: usize, kind: &str) -> Result<Scale, String> {
    let output = Command::new(std::env::current_exe().expect("own path"))
        .args([SCALE_CHILD, &guests.to_string(), kind])
        .output()
        .expect("run the scale child");
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "{stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let figures: Vec<f64> = stdout
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    let [start, rss_per_guest, wake_all] = figures[..] else {
        return Err(format!("scale child printed {stdout}"));
    };
    Ok(Scale {
        start,
        launch: None,
        rss_per_guest,
        wake_all,
    })
}

/// The environment variable that adds the 100 000-guest row.
const HUGE_SCALE_VAR: &str = "WASI_EVENTFD_BENCH_100K";

/// Waiting guests in the opt-in row: with the waker, 100 000 components,
/// the most one run takes.
const HUGE_SCALE_GUESTS: usize = 99_999;

/// The opt-in row: [`HUGE_SCALE_GUESTS`] components through the binary with
/// default options, once, in a child process (a failure is reported, not
/// a panic of the benchmark): start until all wait, resident memory per
/// guest, wake-all; or the first lines of what stopped it.
fn huge_scale_row() -> String {
    let head = format!(
        "\n| scale: 100 000 components ({HUGE_SCALE_GUESTS} blocked reading one semaphore \
         eventfd, and the waker), `wasi-eventfd run`, default options (one run) | result |\n\
         |---|---|\n"
    );
    match scale_in_child_or_why(HUGE_SCALE_GUESTS, "binary-component") {
        Ok(run) => {
            head + &format!(
                "| start-up: from the first guest's start until all wait | {:.1} s |\n\
                 | resident memory per blocked guest | {:.1} KiB |\n\
                 | wake-all: one write until every guest has posted `done` | {:.1} ms |\n",
                run.start,
                run.rss_per_guest / 1024.0,
                run.wake_all * 1e3
            )
        }
        Err(why) => {
            // The lines that say why, without a backtrace or the command.
            let why: Vec<&str> = why
                .lines()
                .filter(|l| l.contains("error") || l.contains("failed") || l.contains("panicked"))
                .take(3)
                .map(|l| l.trim())
                .collect();
            head + &format!(
                "| did not run | {} |\n",
                why.join(" / ").replace('|', "\\|")
            )
        }
    }
}

/// The columns of the scale table, in order.
/// Components block in `eventfd.read` and post with `eventfd.write`; core
/// modules block in preview 1's `fd_read` and post with `fd_write`.
const SCALE_VARIANTS: [(&str, &str); 5] = [
    (
        "binary-component",
        "components (`eventfd.read`), `wasi-eventfd run`",
    ),
    (
        "binary-core",
        "core modules (`fd_read`), `wasi-eventfd run`",
    ),
    ("native", "native threads (64 KiB stacks)"),
    (
        "in-process-on-demand",
        "core modules (`fd_read`), in-process, on demand",
    ),
    (
        "in-process-pooling",
        "core modules (`fd_read`), in-process, `--pool`",
    ),
];

fn scale_run(variant: &str, guests: usize) -> Scale {
    match variant {
        "binary-component" => binary_scale(&guests::guest("bench_scale_wait"), guests),
        "binary-core" => binary_scale(&guests::test_wat("bench_scale_wait.wat"), guests),
        "native" => scale_in_child(guests, "native"),
        "in-process-on-demand" => scale_in_child(guests, "on-demand"),
        "in-process-pooling" => scale_in_child(guests, "pooling"),
        other => unreachable!("scale variant {other}"),
    }
}

// --- report -------------------------------------------------------------

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|m| m.trim_start_matches([' ', '\t', ':']).to_string())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|r| r.trim().to_string())
        .unwrap_or_default();
    format!("{cpu}, {cores} cores, Linux {kernel}")
}

/// One bar of the chart: a ratio and its goal.
struct Bar {
    name: String,
    ratio: f64,
    goal: Option<f64>,
    met: Option<bool>,
}

/// A bar chart of the ratios (log scale) with each goal marked, as SVG.
fn chart(bars: &[Bar]) -> String {
    const WIDTH: f64 = 900.0;
    const LABEL: f64 = 470.0;
    const BAR: f64 = 22.0;
    // Log scale from 0.01x to 100x.
    let x = |ratio: f64| {
        LABEL + (ratio.clamp(0.01, 100.0).log10() + 2.0) / 4.0 * (WIDTH - LABEL - 40.0)
    };
    let height = 60.0 + bars.len() as f64 * (BAR + 10.0);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" \
         font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"10\" y=\"20\" font-size=\"14\">wasi-eventfd ÷ native kernel eventfd, ÷ the floor or \
         ÷ wasmtime-wasi alone (lower is faster; log scale; | marks the goal; grey: no goal)</text>\n"
    );
    for tick in [0.01, 0.1, 1.0, 10.0, 100.0] {
        svg += &format!(
            "<line x1=\"{0:.1}\" y1=\"32\" x2=\"{0:.1}\" y2=\"{1:.1}\" stroke=\"#ccc\"/>\
             <text x=\"{0:.1}\" y=\"{2:.1}\" text-anchor=\"middle\">{3}×</text>\n",
            x(tick),
            height - 22.0,
            height - 8.0,
            tick
        );
    }
    for (i, bar) in bars.iter().enumerate() {
        let y = 40.0 + i as f64 * (BAR + 10.0);
        let colour = match bar.met {
            Some(true) => "#3a7d44",
            Some(false) => "#c0392b",
            None => "#999999",
        };
        let (text_y, ratio) = (y + BAR / 2.0 + 4.0, bar.ratio);
        let name = bar
            .name
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('`', "");
        // The figure goes right of the bar and of its goal mark.
        let label_x = x(ratio).max(bar.goal.map_or(0.0, x)) + 4.0;
        let bar_width = (x(ratio) - LABEL).max(1.0);
        svg += &format!(
            "<text x=\"10\" y=\"{text_y:.1}\">{name}</text>\
             <rect x=\"{LABEL}\" y=\"{y:.1}\" width=\"{bar_width:.1}\" height=\"{BAR}\" fill=\"{colour}\"/>\
             <text x=\"{label_x:.1}\" y=\"{text_y:.1}\">{ratio:.2}×</text>\n"
        );
        if let Some(goal) = bar.goal {
            let (goal_x, goal_top, goal_bottom) = (x(goal), y - 3.0, y + BAR + 3.0);
            svg += &format!(
                "<line x1=\"{goal_x:.1}\" y1=\"{goal_top:.1}\" x2=\"{goal_x:.1}\" y2=\"{goal_bottom:.1}\" \
                 stroke=\"black\" stroke-width=\"2\"/>\n"
            );
        }
    }
    svg + "</svg>\n"
}

fn goal_cell(goal: Option<f64>) -> String {
    goal.map_or("—".into(), |g| format!("≤ {g}×"))
}

fn met_cell(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "met",
        Some(false) => "not met",
        None => "—",
    }
}

/// A row of a table: name (unit), ours, the anchor, the ratio with `note`,
/// the goal and whether it is met.
fn row_md(row: &Row, note: &str) -> String {
    format!(
        "| {} ({}) | {} | {} | {:.2}×{note} | {} | {} |\n",
        row.name,
        row.unit,
        row.ours.show(),
        row.native.show(),
        row.ratio(),
        goal_cell(row.goal),
        met_cell(row.met()),
    )
}

/// A row's samples and ratio as JSON (`native_ns`: the anchor's samples).
fn row_json(row: &Row) -> String {
    format!(
        "{{\"id\":{:?},\"name\":{:?},\"unit\":{:?},\"ours_ns\":{:?},\"native_ns\":{:?},\"ratio\":{:.4},\"goal\":{},\"met\":{}}}",
        row.id,
        row.name,
        row.unit,
        row.ours.0,
        row.native.0,
        row.ratio(),
        row.goal.map_or("null".into(), |g| g.to_string()),
        row.met().map_or("null".into(), |m| m.to_string()),
    )
}

fn json_list(values: &[f64]) -> String {
    values
        .iter()
        .map(|v| format!("{v:.6}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, guests, kind] = &args[..] {
        if flag == SCALE_CHILD {
            let guests = guests.parse().expect("guests");
            let run = match kind.as_str() {
                "native" => native_scale(guests),
                "binary-component" => binary_scale(&guests::guest("bench_scale_wait"), guests),
                kind => in_process_scale(guests, kind == "pooling"),
            };
            println!("{} {} {}", run.start, run.rss_per_guest, run.wake_all);
            return;
        }
    }
    let quick = args.iter().any(|a| a == "--quick");
    // `cargo bench` passes `--bench`; any other word picks rows by id.
    let picked: Vec<&String> = args
        .iter()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wanted = |id: &str| picked.is_empty() || picked.iter().any(|p| id.contains(p.as_str()));
    let settings = if quick {
        Settings {
            repeats: 2,
            scale_guests: 100,
            scale_repeats: 1,
            pairs: 2_000,
            round_trips: 200,
            contended_writes: 2_000,
            file_writes: 2_000,
            file_repeats: 2,
            schedules: 10,
        }
    } else {
        Settings {
            repeats: 7,
            scale_guests: 10_000,
            scale_repeats: 5,
            pairs: 200_000,
            round_trips: 20_000,
            contended_writes: 100_000,
            file_writes: 20_000,
            file_repeats: 21,
            schedules: 200,
        }
    };
    let s = &settings;
    let started = Instant::now();
    let cpu = first_cpu();
    let mut rows: Vec<Row> = Vec::new();
    // Rows that compare with the native pair.
    let mut pair_row = |id: &'static str,
                        name: &'static str,
                        unit: &'static str,
                        goal: Option<f64>,
                        ours: &mut dyn FnMut() -> f64| {
        if wanted(id) {
            let [ours, native] = interleaved(s.repeats, [ours, &mut || native_pair(s.pairs)]);
            rows.push(Row {
                id,
                name,
                unit,
                ours,
                native,
                goal,
            });
        }
    };
    pair_row(
        "binary-pair-component",
        "op pair (`eventfd.write` 1 + `eventfd.read`), component, `wasi-eventfd run`",
        "per pair",
        Some(0.5),
        &mut || binary_pair_component(s.pairs),
    );
    pair_row(
        "binary-pair-core",
        "op pair (`fd_write` 1 + `fd_read`), core module, preview 1, `wasi-eventfd run`",
        "per pair",
        Some(0.5),
        &mut || binary_pair_core(s.pairs),
    );
    pair_row(
        "floor-async",
        "floor: 2 do-nothing host calls (async import), runner's engine; floor ÷ native",
        "per iteration",
        None,
        &mut || floor::per_iteration(s.pairs, false),
    );
    pair_row(
        "floor-sync",
        "floor: 2 do-nothing host calls (sync import), runner's engine; floor ÷ native",
        "per iteration",
        None,
        &mut || floor::per_iteration(s.pairs, true),
    );
    pair_row(
        "in-process-pair-component",
        "op pair (`eventfd.write` 1 + `eventfd.read`), component, in-process runner",
        "per pair",
        None,
        &mut || guest_pair_component(s.pairs),
    );
    pair_row(
        "in-process-pair-core",
        "op pair (`fd_write` 1 + `fd_read`), core module, preview 1, in-process runner",
        "per pair",
        None,
        &mut || guest_pair_core(s.pairs),
    );
    // Ping-pong through the binary against native threads pinned to one
    // CPU (the goal's anchor) and unpinned (for reference), same samples.
    if wanted("binary-ping-pong") {
        let [ours, pinned, unpinned] = interleaved(
            s.repeats,
            [
                &mut || binary_ping_pong(s.round_trips),
                &mut || native_ping_pong(s.round_trips, Some(cpu)),
                &mut || native_ping_pong(s.round_trips, None),
            ],
        );
        rows.push(Row {
            id: "binary-ping-pong",
            name: "ping-pong, two components, `wasi-eventfd run`; native pinned to one core",
            unit: "per round trip",
            ours: ours.clone(),
            native: pinned,
            goal: Some(0.25),
        });
        rows.push(Row {
            id: "binary-ping-pong-unpinned",
            name: "ping-pong, two components, `wasi-eventfd run`; native unpinned",
            unit: "per round trip",
            ours,
            native: unpinned,
            goal: None,
        });
    }
    if wanted("binary-epoll-ping-pong") {
        rows.push(epoll_ping_pong::row(s.repeats, s.round_trips, cpu));
    }
    for (id, name, multi_thread) in [
        (
            "in-process-ping-pong-single",
            "ping-pong, in-process, single-threaded runtime; native pinned to one core",
            false,
        ),
        (
            "in-process-ping-pong-multi",
            "ping-pong, in-process, multi-threaded runtime; native pinned to one core",
            true,
        ),
    ] {
        if wanted(id) {
            let [ours, native] = interleaved(
                s.repeats,
                [
                    &mut || guest_ping_pong(s.round_trips, multi_thread),
                    &mut || native_ping_pong(s.round_trips, Some(cpu)),
                ],
            );
            rows.push(Row {
                id,
                name,
                unit: "per round trip",
                ours,
                native,
                goal: None,
            });
        }
    }
    if wanted("in-process-contention") {
        let [ours, native] = interleaved(
            s.repeats,
            [&mut || guest_contention(s.contended_writes), &mut || {
                native_contention(s.contended_writes)
            }],
        );
        rows.push(Row {
            id: "in-process-contention",
            name: "contention (2 writers, 2 readers), in-process",
            unit: "per operation",
            ours,
            native,
            goal: Some(1.0),
        });
    }
    // The one fd table against wasmtime-wasi alone: 8-byte fd_writes to a
    // file, all three taking turns in rotating order; both rows share
    // wasmtime-wasi's samples.
    let mut file_rows: Vec<Row> = Vec::new();
    let file_ids = ["file-write-in-process", "file-write-binary"];
    if file_ids.iter().any(|id| wanted(id)) {
        let scratch = guests::repo_root()
            .join("target")
            .join("bench")
            .join("scratch");
        std::fs::create_dir_all(&scratch).expect("the scratch directory");
        let [one_table, wasi_alone, binary] = interleaved_rotating(
            s.file_repeats,
            [
                &mut || file_write::per_write(s.file_writes, file_write::Host::OneTable, &scratch),
                &mut || file_write::per_write(s.file_writes, file_write::Host::WasiAlone, &scratch),
                &mut || binary_file_write(s.file_writes, &scratch),
            ],
        );
        // Only the guest's file was in it.
        let _ = std::fs::remove_dir_all(&scratch);
        let measured = [
            (
                file_ids[0],
                "8-byte `fd_write` to a file, in-process: one fd table (`wasi_eventfd::p1`) ÷ \
                 wasmtime-wasi alone, same engine, store set-up and one-thread runtime",
                one_table,
                Some(1.05),
            ),
            (
                file_ids[1],
                "8-byte `fd_write` to a file: `wasi-eventfd run --dir` ÷ wasmtime-wasi alone in-process",
                binary,
                None,
            ),
        ];
        for (id, name, ours, goal) in measured {
            if wanted(id) {
                file_rows.push(Row {
                    id,
                    name,
                    unit: "per write",
                    ours,
                    native: wasi_alone.clone(),
                    goal,
                });
            }
        }
    }
    // Seeded schedules: a schedule of an exploration against a separate
    // seeded run of the same guests, taking turns.
    let mut seeded_rows: Vec<Row> = Vec::new();
    if wanted("seeded-explore") {
        let [ours, once] = interleaved(
            s.repeats,
            [&mut || binary_explore(s.schedules), &mut binary_seeded_once],
        );
        seeded_rows.push(Row {
            id: "seeded-explore",
            name:
                "one schedule of `wasi-eventfd run --explore K` (worker pool: 3 workers, 4 jobs) ÷ \
                   one separate `wasi-eventfd run --seed 0` of the same guests, whole processes",
            unit: "per schedule",
            ours,
            native: once,
            goal: Some(0.5),
        });
    }
    // Scale: every variant once per repeat, taking turns.
    let scale: Option<Vec<(&str, &str, Vec<Scale>)>> = wanted("scale").then(|| {
        let mut runs: Vec<(&str, &str, Vec<Scale>)> = SCALE_VARIANTS
            .iter()
            .map(|&(id, name)| (id, name, Vec::new()))
            .collect();
        for _ in 0..s.scale_repeats {
            for (id, _, samples) in runs.iter_mut() {
                samples.push(scale_run(id, s.scale_guests));
            }
        }
        runs
    });

    // Every picked row ran (the smoke run's check; never a timing).
    let expected = [
        "binary-pair-component",
        "binary-pair-core",
        "floor-async",
        "floor-sync",
        "in-process-pair-component",
        "in-process-pair-core",
        "binary-ping-pong",
        "binary-ping-pong-unpinned",
        "in-process-ping-pong-single",
        "in-process-ping-pong-multi",
        "in-process-contention",
        "file-write-in-process",
        "file-write-binary",
        "seeded-explore",
    ];
    for id in expected.iter().filter(|id| wanted(id)) {
        let row = rows
            .iter()
            .chain(&file_rows)
            .chain(&seeded_rows)
            .find(|r| r.id == *id);
        let row = row.unwrap_or_else(|| panic!("row {id} did not run"));
        let repeats = if id.starts_with("file-write") {
            s.file_repeats
        } else {
            s.repeats
        };
        assert!(
            row.ours.0.len() == repeats && row.native.0.len() == repeats,
            "row {id} is missing samples"
        );
        assert!(
            row.ours
                .0
                .iter()
                .chain(&row.native.0)
                .all(|v| v.is_finite() && *v > 0.0),
            "row {id} has an empty sample"
        );
    }
    if let Some(scale) = &scale {
        for (id, _, runs) in scale {
            assert_eq!(runs.len(), s.scale_repeats, "scale {id} did not run");
            assert!(
                runs.iter().all(|r| r.wake_all > 0.0 && r.start > 0.0),
                "scale {id} has an empty sample"
            );
        }
    }

    // The tables.
    let mut md = format!(
        "Machine: {}. Mode: {}, {} repeats, {} build. Command: `cargo bench -p wasi-eventfd{}`.\n\n\
         | benchmark | wasi-eventfd | native kernel eventfd | ratio | goal | met |\n\
         |---|---|---|---|---|---|\n",
        machine(),
        if quick {
            "quick (smoke run, figures not meaningful)"
        } else {
            "full"
        },
        s.repeats,
        if cfg!(debug_assertions) {
            "unoptimized (figures not meaningful)"
        } else {
            "optimized"
        },
        if quick { " -- --quick" } else { "" },
    );
    let mut json_rows = Vec::new();
    let mut bars = Vec::new();
    for row in &rows {
        let ratio = row.ratio();
        let floor_note = if row.id.starts_with("floor") && ratio > FLOOR_WARNING {
            format!(" (above {FLOOR_WARNING}×)")
        } else {
            String::new()
        };
        md += &row_md(row, &floor_note);
        json_rows.push(row_json(row));
        bars.push(Bar {
            name: row.name.split(';').next().unwrap_or(row.name).to_string()
                + if row.id.contains("unpinned") {
                    " (÷ native unpinned)"
                } else if row.id.contains("ping-pong") {
                    " (÷ native pinned)"
                } else {
                    ""
                },
            ratio,
            goal: row.goal,
            met: row.met(),
        });
    }

    // Our own cost: op pair ÷ floor (async import, as the eventfd
    // interface is bound), through the binary (the goal) and in-process.
    let find = |id: &str| rows.iter().find(|r| r.id == id);
    let mut json_floor = Vec::new();
    if let Some(floor) = find("floor-async") {
        let pairs = [
            (
                "binary-pair-component",
                "through `wasi-eventfd run`",
                Some(1.1),
            ),
            ("in-process-pair-component", "in-process runner", None),
        ];
        let mut table = String::new();
        for (id, label, goal) in pairs {
            let Some(pair) = find(id) else { continue };
            let ratio = pair.ours.median() / floor.ours.median();
            let met = goal.map(|g| ratio <= g);
            table += &format!(
                "| component op pair ÷ floor, {label} | {} | {} | {ratio:.2}× | {} | {} |\n",
                pair.ours.show(),
                floor.ours.show(),
                goal_cell(goal),
                met_cell(met),
            );
            if goal.is_some() {
                bars.push(Bar {
                    name: format!("component op pair ÷ floor, {label}"),
                    ratio,
                    goal,
                    met,
                });
            }
            json_floor.push(format!(
                "{{\"pair\":{id:?},\"floor\":\"floor-async\",\"ratio\":{ratio:.4},\"goal\":{},\"met\":{}}}",
                goal.map_or("null".into(), |g| g.to_string()),
                met.map_or("null".into(), |m| m.to_string()),
            ));
        }
        if !table.is_empty() {
            md += &format!(
                "\n| our own cost (per pair) | op pair | floor (async import) | ratio | goal | met |\n\
                 |---|---|---|---|---|---|\n{table}"
            );
        }
    }

    // The one fd table against wasmtime-wasi alone.
    let mut json_file = Vec::new();
    if !file_rows.is_empty() {
        md += &format!(
            "\n| one fd table ÷ wasmtime-wasi alone ({} runs each) | one fd table | wasmtime-wasi alone | ratio | goal | met |\n\
             |---|---|---|---|---|---|\n",
            s.file_repeats
        );
        for row in &file_rows {
            md += &row_md(row, "");
            json_file.push(row_json(row));
            bars.push(Bar {
                name: if row.goal.is_some() {
                    "8-byte fd_write to a file, in-process (÷ wasmtime-wasi alone)"
                } else {
                    "8-byte fd_write to a file, wasi-eventfd run (÷ wasmtime-wasi alone)"
                }
                .to_string(),
                ratio: row.ratio(),
                goal: row.goal,
                met: row.met(),
            });
        }
    }

    // Seeded schedules against separate runs.
    let mut json_seeded = Vec::new();
    for row in &seeded_rows {
        md += &format!(
            "\n| seeded schedules ({} schedules per exploration; schedules per second = 1 ÷ ours) | a schedule | a separate run | ratio | goal | met |\n\
             |---|---|---|---|---|---|\n",
            s.schedules
        );
        md += &row_md(row, "");
        json_seeded.push(row_json(row));
        bars.push(Bar {
            name: "a schedule of --explore (÷ a separate seeded run)".to_string(),
            ratio: row.ratio(),
            goal: row.goal,
            met: row.met(),
        });
    }

    let mut json_scale = Vec::new();
    if let Some(scale) = &scale {
        let stats = |runs: &[Scale], f: &dyn Fn(&Scale) -> f64| Stats(runs.iter().map(f).collect());
        let cell = |runs: &[Scale], f: &dyn Fn(&Scale) -> f64, times: f64, unit: &str| {
            let stats = stats(runs, f);
            let (lo, hi) = stats.range();
            let digits = if times >= 1e3 || unit == "KiB" { 1 } else { 2 };
            format!(
                "{:.digits$} {unit} ({:.digits$}–{:.digits$})",
                stats.median() * times,
                lo * times,
                hi * times
            )
        };
        let runs_of = |id: &str| {
            scale
                .iter()
                .find(|(v, _, _)| *v == id)
                .map(|(_, _, runs)| runs.as_slice())
                .expect("every scale variant ran")
        };
        let native_wake = stats(runs_of("native"), &|r| r.wake_all).median();
        let components_wake = stats(runs_of("binary-component"), &|r| r.wake_all).median();
        let met = components_wake <= SCALE_GOAL_S;
        let header: Vec<&str> = scale.iter().map(|(_, name, _)| *name).collect();
        let line = |label: &str, cells: Vec<String>, goal: &str, met: &str| {
            format!("| {label} | {} | {goal} | {met} |\n", cells.join(" | "))
        };
        let each = |f: &dyn Fn(&[Scale]) -> String| -> Vec<String> {
            scale.iter().map(|(_, _, runs)| f(runs)).collect()
        };
        md += &format!(
            "\n| scale: {guests} guests blocked reading one semaphore eventfd ({repeats} runs each) | {} | goal | met |\n\
             |---|{}---|---|\n",
            header.join(" | "),
            "---|".repeat(header.len()),
            guests = s.scale_guests,
            repeats = s.scale_repeats,
        );
        md += &line(
            &format!(
                "wake-all: one write of {} until every guest has returned from its read and posted \
                 `done` (in-process: until every guest has ended)",
                s.scale_guests
            ),
            each(&|runs| cell(runs, &|r| r.wake_all, 1e3, "ms")),
            "≤ 50 ms (components, `wasi-eventfd run`)",
            if met { "met" } else { "not met" },
        );
        md += &line(
            "wake-all ÷ native threads",
            each(&|runs| {
                format!(
                    "{:.1}×",
                    stats(runs, &|r| r.wake_all).median() / native_wake
                )
            }),
            "—",
            "—",
        );
        md += &line(
            "resident memory per blocked guest",
            each(&|runs| cell(runs, &|r| r.rss_per_guest, 1.0 / 1024.0, "KiB")),
            "—",
            "—",
        );
        md += &line(
            "start-up: from the first guest's start until all wait",
            each(&|runs| {
                let rate = s.scale_guests as f64 / stats(runs, &|r| r.start).median();
                format!("{} ({rate:.0}/s)", cell(runs, &|r| r.start, 1e3, "ms"))
            }),
            "—",
            "—",
        );
        md += &line(
            "from launching `wasi-eventfd run` until all wait",
            each(&|runs| match runs.iter().all(|r| r.launch.is_some()) {
                true => cell(runs, &|r| r.launch.unwrap_or(0.0), 1e3, "ms"),
                false => "—".into(),
            }),
            "—",
            "—",
        );
        for (id, name, runs) in scale {
            let samples = |f: &dyn Fn(&Scale) -> f64| json_list(&stats(runs, f).0);
            json_scale.push(format!(
                "{{\"variant\":{id:?},\"name\":{name:?},\"guests\":{},\"wake_all_s\":[{}],\"rss_per_guest_bytes\":[{}],\"start_s\":[{}],\"launch_s\":[{}]}}",
                s.scale_guests,
                samples(&|r| r.wake_all),
                samples(&|r| r.rss_per_guest),
                samples(&|r| r.start),
                samples(&|r| r.launch.unwrap_or(f64::NAN)).replace("NaN", "null"),
            ));
        }
        bars.push(Bar {
            name: format!(
                "scale wake-all ÷ native, {} components, wasi-eventfd run (| 50 ms)",
                s.scale_guests
            ),
            ratio: components_wake / native_wake,
            goal: Some(SCALE_GOAL_S / native_wake),
            met: Some(met),
        });
    }
    // The opt-in row, last: it is long, and on a machine with the default
    // vm.max_map_count it stops at the map limit (see its table).
    if std::env::var_os(HUGE_SCALE_VAR).is_some() && wanted("scale-100k") {
        md += &huge_scale_row();
    }
    println!("{md}");
    println!("(measured in {:.1} s)", started.elapsed().as_secs_f64());
    let dir = guests::repo_root().join("target").join("bench");
    let json = format!(
        "{{\"machine\":{:?},\"quick\":{quick},\"repeats\":{},\"binary\":{:?},\"rows\":[{}],\"floor\":[{}],\"file_write\":[{}],\"seeded\":[{}],\"scale\":[{}]}}\n",
        machine(),
        s.repeats,
        BINARY,
        json_rows.join(","),
        json_floor.join(","),
        json_file.join(","),
        json_seeded.join(","),
        json_scale.join(","),
    );
    let written = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(dir.join("eventfd.md"), &md))
        .and_then(|()| std::fs::write(dir.join("eventfd.svg"), chart(&bars)))
        .and_then(|()| std::fs::write(dir.join("eventfd.json"), json));
    match written {
        Ok(()) => println!("wrote {}/eventfd.{{md,json,svg}}", dir.display()),
        Err(e) => eprintln!("cannot write the report: {e}"),
    }
}

mod epoll_ping_pong {
    //! The epoll row (issue 20): a round trip of two guests that wake each
    //! other through `epoll_wait` and eventfds, against the same two native
    //! threads pinned to one core (goal ≤ 0.5×). Each side waits on an
    //! epoll fd watching its own eventfd (`EPOLLIN`, level-triggered), then
    //! reads that eventfd and writes the other's: through the binary, two
    //! copies of `tests/guests/wat/bench_epoll_ping_pong.wat` (the
    //! `wasi_eventfd` module's `epoll_wait`, preview 1's `fd_read` and
    //! `fd_write`), with its default options.

    use std::time::Instant;

    use super::{
        binary_round_trips, close, eventfd, guests, interleaved, pin_to, read_u64, write_u64, Row,
    };

    /// The row, measured `repeats` times each, taking turns.
    pub(super) fn row(repeats: usize, round_trips: u64, cpu: usize) -> Row {
        let [ours, native] = interleaved(
            repeats,
            [&mut || binary(round_trips), &mut || {
                native(round_trips, cpu)
            }],
        );
        Row {
            id: "binary-epoll-ping-pong",
            name: "epoll ping-pong (epoll_wait, then fd_read + fd_write), two core modules, \
                   `wasi-eventfd run`; native epoll pinned to one core (goal ≤ 0.5×)",
            unit: "per round trip",
            ours,
            native,
            goal: Some(0.5),
        }
    }

    /// Nanoseconds per round trip through `wasi-eventfd run`.
    fn binary(round_trips: u64) -> f64 {
        let guest = guests::test_wat("bench_epoll_ping_pong.wat");
        binary_round_trips(&guest, &guest, round_trips)
    }

    /// A new epoll fd watching `fd` for `EPOLLIN`.
    fn watch(fd: i32) -> i32 {
        // SAFETY: plain system calls on descriptors this benchmark owns,
        // with a live event.
        unsafe {
            let epoll = libc::epoll_create1(libc::EPOLL_CLOEXEC);
            assert!(epoll >= 0, "epoll_create1 failed");
            let mut event = libc::epoll_event {
                events: libc::EPOLLIN as u32,
                u64: 0,
            };
            let added = libc::epoll_ctl(epoll, libc::EPOLL_CTL_ADD, fd, &mut event);
            assert_eq!(added, 0, "epoll_ctl failed");
            epoll
        }
    }

    /// Waits without a timeout until `epoll`'s one entry is ready.
    fn wait(epoll: i32) {
        let mut event = libc::epoll_event { events: 0, u64: 0 };
        // SAFETY: room for the one event asked for.
        let ready = unsafe { libc::epoll_wait(epoll, &mut event, 1, -1) };
        assert_eq!(ready, 1, "epoll_wait failed");
    }

    /// Nanoseconds per round trip of two threads pinned to `cpu`, each
    /// waiting in `epoll_wait` before its read, as the guests do.
    fn native(round_trips: u64, cpu: usize) -> f64 {
        let (ping, pong) = (eventfd(0), eventfd(0));
        let other = std::thread::spawn(move || {
            pin_to(cpu);
            let epoll = watch(ping);
            loop {
                wait(epoll);
                if read_u64(ping) == 2 {
                    break;
                }
                write_u64(pong, 1);
            }
            close(epoll);
        });
        let ns = std::thread::spawn(move || {
            pin_to(cpu);
            let epoll = watch(pong);
            let start = Instant::now();
            for _ in 0..round_trips {
                write_u64(ping, 1);
                wait(epoll);
                read_u64(pong);
            }
            let ns = start.elapsed().as_nanos() as f64 / round_trips as f64;
            write_u64(ping, 2);
            close(epoll);
            ns
        })
        .join()
        .expect("ping thread");
        other.join().expect("pong thread");
        close(ping);
        close(pong);
        ns
    }
}
