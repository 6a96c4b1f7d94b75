//! Guests' eventfds against the kernel's, measured side by side in one run.
//!
//! `cargo bench -p wasi-eventfd` prints a Markdown table and writes it, and
//! the same figures as JSON, to `target/bench/eventfd.{md,json}`.
//! `cargo bench -p wasi-eventfd -- --quick` is a smoke run for CI: it
//! checks that everything runs, not how fast. Words after `--` other than
//! `--quick` pick rows by name (`pair`, `ping-pong`, `contention`, `scale`).
//!
//! Each row is measured REPEATS times; the table gives the median and the
//! range, the ratio of the medians (ours / native) and the goal.

use std::time::Instant;

use wasi_eventfd::runner::{GuestSpec, Pool, RunOptions, Runner};
use wasi_eventfd::Descriptor;

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
}

/// Writers and readers in the contention row.
const WRITERS: usize = 2;
const READERS: usize = 2;

/// Nanoseconds per operation over the repeats.
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
    name: &'static str,
    unit: &'static str,
    ours: Stats,
    native: Stats,
    goal: f64,
}

fn repeat(times: usize, mut measure: impl FnMut() -> f64) -> Stats {
    Stats((0..times).map(|_| measure()).collect())
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

fn native_ping_pong(round_trips: u64) -> f64 {
    let (ping, pong) = (eventfd(0), eventfd(0));
    let other = std::thread::spawn(move || loop {
        if read_u64(ping) == 2 {
            break;
        }
        write_u64(pong, 1);
    });
    let start = Instant::now();
    for _ in 0..round_trips {
        write_u64(ping, 1);
        read_u64(pong);
    }
    let ns = start.elapsed().as_nanos() as f64 / round_trips as f64;
    write_u64(ping, 2);
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

// --- guests -------------------------------------------------------------

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
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
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
    let pong = GuestSpec::new(guests::guest("pong"), []);
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
        let (outcomes, start) = tokio::join!(runner.run(&specs), host);
        let elapsed = start.elapsed().as_nanos() as f64;
        let outcomes = outcomes.expect("load");
        assert!(outcomes.iter().all(|o| o.is_success()), "{outcomes:?}");
        elapsed / (2 * writes * WRITERS as u64) as f64
    })
}

/// The scale row: many guests blocked reading one semaphore eventfd.
struct Scale {
    /// From the first instantiation until every guest waits.
    start: f64,
    /// Resident memory added per waiting guest, in bytes.
    rss_per_guest: f64,
    /// From one write of `guests` until every guest has finished.
    wake_all: f64,
}

fn resident_bytes() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0.0);
    pages * 4096.0
}

fn scale(guests: usize, pool: bool) -> Scale {
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
    runtime.block_on(async {
        let before = resident_bytes();
        let start = Instant::now();
        let host = async {
            until_all_wait(&go, guests).await;
            let started = start.elapsed().as_secs_f64();
            let rss = (resident_bytes() - before) / guests as f64;
            let woken = Instant::now();
            go.write(guests as u64).await.expect("write");
            (started, rss, woken)
        };
        let (outcomes, (start, rss_per_guest, woken)) = tokio::join!(runner.run(&specs), host);
        let wake_all = woken.elapsed().as_secs_f64();
        let outcomes = outcomes.expect("load");
        assert!(
            outcomes.iter().all(|o| o.is_success()),
            "a scale guest failed"
        );
        Scale {
            start,
            rss_per_guest,
            wake_all,
        }
    })
}

/// One scale run in a fresh process of this benchmark, so that each run's
/// resident memory starts from the same state and no run reuses memory
/// another freed.
fn scale_in_child(guests: usize, pool: bool) -> Scale {
    let output = std::process::Command::new(std::env::current_exe().expect("own path"))
        .args([
            SCALE_CHILD,
            &guests.to_string(),
            if pool { "pooling" } else { "on-demand" },
        ])
        .output()
        .expect("run the scale child");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "scale run failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let figures: Vec<f64> = stdout
        .split_whitespace()
        .map(|f| f.parse().expect("a figure"))
        .collect();
    let [start, rss_per_guest, wake_all] = figures[..] else {
        panic!("scale child printed {stdout}");
    };
    Scale {
        start,
        rss_per_guest,
        wake_all,
    }
}

/// The argument that makes this benchmark one scale run: `SCALE_CHILD
/// GUESTS on-demand|pooling`; it prints start, RSS per guest and wake-all.
const SCALE_CHILD: &str = "--scale-child";

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
    format!("{cpu}, {cores} cores, Linux")
}

/// A bar chart of the ratios (ours / native, log scale) with each goal
/// marked, as SVG.
fn chart(rows: &[Row]) -> String {
    const WIDTH: f64 = 760.0;
    const LABEL: f64 = 330.0;
    const BAR: f64 = 26.0;
    // Log scale from 0.01x to 10x.
    let x =
        |ratio: f64| LABEL + (ratio.clamp(0.01, 10.0).log10() + 2.0) / 3.0 * (WIDTH - LABEL - 20.0);
    let height = 60.0 + rows.len() as f64 * (BAR + 14.0);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" \
         font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"10\" y=\"20\" font-size=\"14\">wasi-eventfd / native kernel eventfd \
         (lower is faster; log scale; | marks the goal)</text>\n"
    );
    for tick in [0.01, 0.1, 1.0, 10.0] {
        svg += &format!(
            "<line x1=\"{0:.1}\" y1=\"32\" x2=\"{0:.1}\" y2=\"{1:.1}\" stroke=\"#ccc\"/>\
             <text x=\"{0:.1}\" y=\"{2:.1}\" text-anchor=\"middle\">{3}×</text>\n",
            x(tick),
            height - 22.0,
            height - 8.0,
            tick
        );
    }
    for (i, row) in rows.iter().enumerate() {
        let y = 40.0 + i as f64 * (BAR + 14.0);
        let ratio = row.ours.median() / row.native.median();
        let colour = if ratio <= row.goal {
            "#3a7d44"
        } else {
            "#c0392b"
        };
        let (text_y, name, goal_x) = (y + BAR / 2.0 + 4.0, row.name, x(row.goal));
        let (bar_width, label_x) = ((x(ratio) - LABEL).max(1.0), x(ratio) + 4.0);
        let (goal_top, goal_bottom) = (y - 3.0, y + BAR + 3.0);
        svg += &format!(
            "<text x=\"10\" y=\"{text_y:.1}\">{name}</text>\
             <rect x=\"{LABEL}\" y=\"{y:.1}\" width=\"{bar_width:.1}\" height=\"{BAR}\" fill=\"{colour}\"/>\
             <line x1=\"{goal_x:.1}\" y1=\"{goal_top:.1}\" x2=\"{goal_x:.1}\" y2=\"{goal_bottom:.1}\" \
             stroke=\"black\" stroke-width=\"2\"/>\
             <text x=\"{label_x:.1}\" y=\"{text_y:.1}\">{ratio:.2}×</text>\n"
        );
    }
    svg + "</svg>\n"
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, guests, allocator] = &args[..] {
        if flag == SCALE_CHILD {
            let run = scale(guests.parse().expect("guests"), allocator == "pooling");
            println!("{} {} {}", run.start, run.rss_per_guest, run.wake_all);
            return;
        }
    }
    let quick = std::env::args().any(|a| a == "--quick");
    // `cargo bench` passes `--bench`; any other word picks rows by name.
    let picked: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wanted = |name: &str| picked.is_empty() || picked.iter().any(|p| name.contains(p.as_str()));
    let settings = if quick {
        Settings {
            repeats: 2,
            scale_guests: 100,
            scale_repeats: 1,
            pairs: 2_000,
            round_trips: 200,
            contended_writes: 2_000,
        }
    } else {
        Settings {
            repeats: 7,
            scale_guests: 10_000,
            scale_repeats: 3,
            pairs: 200_000,
            round_trips: 20_000,
            contended_writes: 100_000,
        }
    };
    let s = &settings;
    let started = Instant::now();
    let mut rows = Vec::new();
    let mut row = |name: &'static str,
                   unit: &'static str,
                   goal: f64,
                   ours: &mut dyn FnMut() -> f64,
                   native: &mut dyn FnMut() -> f64| {
        if wanted(name) {
            rows.push(Row {
                name,
                unit,
                ours: repeat(s.repeats, ours),
                native: repeat(s.repeats, native),
                goal,
            });
        }
    };
    row(
        "op pair (write 1 + read), component",
        "per pair",
        0.5,
        &mut || guest_pair_component(s.pairs),
        &mut || native_pair(s.pairs),
    );
    row(
        "op pair (write 1 + read), core module",
        "per pair",
        0.5,
        &mut || guest_pair_core(s.pairs),
        &mut || native_pair(s.pairs),
    );
    row(
        "ping-pong, single-threaded runtime",
        "per round trip",
        0.1,
        &mut || guest_ping_pong(s.round_trips, false),
        &mut || native_ping_pong(s.round_trips),
    );
    row(
        "ping-pong, multi-threaded runtime",
        "per round trip",
        1.0,
        &mut || guest_ping_pong(s.round_trips, true),
        &mut || native_ping_pong(s.round_trips),
    );
    row(
        "contention (2 writers, 2 readers)",
        "per operation",
        1.0,
        &mut || guest_contention(s.contended_writes),
        &mut || native_contention(s.contended_writes),
    );

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
        if cfg!(debug_assertions) { "unoptimized (figures not meaningful)" } else { "optimized" },
        if quick { " -- --quick" } else { "" },
    );
    // Both allocators, a few times each: one run of 10 000 guests is
    // one sample, and the machine is shared.
    let scale_runs = |pool: bool| -> Vec<Scale> {
        (0..s.scale_repeats)
            .map(|_| scale_in_child(s.scale_guests, pool))
            .collect()
    };
    let scale = wanted("scale").then(|| [scale_runs(false), scale_runs(true)]);
    let mut json: Vec<String> = scale
        .iter()
        .flatten()
        .zip(["on-demand", "pooling"])
        .map(|(runs, allocator)| {
            let samples = |f: fn(&Scale) -> f64| {
                runs.iter().map(|r| format!("{:.6}", f(r))).collect::<Vec<_>>().join(",")
            };
            format!(
                "{{\"name\":\"scale\",\"allocator\":{allocator:?},\"guests\":{},\"wake_all_s\":[{}],\"rss_per_guest_bytes\":[{}],\"start_s\":[{}]}}",
                s.scale_guests,
                samples(|r| r.wake_all),
                samples(|r| r.rss_per_guest),
                samples(|r| r.start),
            )
        })
        .collect();
    for row in &rows {
        let ratio = row.ours.median() / row.native.median();
        let met = ratio <= row.goal;
        md += &format!(
            "| {} ({}) | {} | {} | {:.2}× | ≤ {}× | {} |\n",
            row.name,
            row.unit,
            row.ours.show(),
            row.native.show(),
            ratio,
            row.goal,
            if met { "met" } else { "not met" }
        );
        json.push(format!(
            "{{\"name\":{:?},\"unit\":{:?},\"ours_ns\":{:?},\"native_ns\":{:?},\"ratio\":{:.4},\"goal\":{},\"met\":{}}}",
            row.name, row.unit, row.ours.0, row.native.0, ratio, row.goal, met
        ));
    }
    if let Some([on_demand, pooling]) = &scale {
        let stats = |runs: &[Scale], f: fn(&Scale) -> f64| Stats(runs.iter().map(f).collect());
        let cell = |runs: &[Scale], f: fn(&Scale) -> f64, scale: f64, unit: &str| {
            let stats = stats(runs, f);
            let (lo, hi) = stats.range();
            format!(
                "{:.1} {unit} ({:.1}–{:.1})",
                stats.median() * scale,
                lo * scale,
                hi * scale
            )
        };
        let best_wake = stats(pooling, |r| r.wake_all)
            .median()
            .min(stats(on_demand, |r| r.wake_all).median());
        let rate = |runs: &[Scale]| s.scale_guests as f64 / stats(runs, |r| r.start).median();
        md += &format!(
            "\n| scale: {guests} guests blocked reading one semaphore eventfd ({repeats} runs each) | \
             on-demand allocator | pooling allocator (`--pool`) | goal | met |\n\
             |---|---|---|---|---|\n\
             | wake-all: one write of {guests} until every guest has finished | {} | {} | ≤ 50 ms | {} |\n\
             | resident memory per blocked guest (core module, 1 page) | {} | {} | as small as wasmtime allows | — |\n\
             | start-up until all wait | {} ({:.0} guests/s) | {} ({:.0} guests/s) | — | — |\n",
            cell(on_demand, |r| r.wake_all, 1e3, "ms"),
            cell(pooling, |r| r.wake_all, 1e3, "ms"),
            if best_wake <= 0.050 { "met" } else { "not met" },
            cell(on_demand, |r| r.rss_per_guest, 1.0 / 1024.0, "KiB"),
            cell(pooling, |r| r.rss_per_guest, 1.0 / 1024.0, "KiB"),
            cell(on_demand, |r| r.start, 1.0, "s"),
            rate(on_demand),
            cell(pooling, |r| r.start, 1.0, "s"),
            rate(pooling),
            guests = s.scale_guests,
            repeats = s.scale_repeats,
        );
    }
    println!("{md}");
    println!("(measured in {:.1} s)", started.elapsed().as_secs_f64());
    let dir = guests::repo_root().join("target").join("bench");
    let written = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(dir.join("eventfd.md"), &md))
        .and_then(|()| std::fs::write(dir.join("eventfd.svg"), chart(&rows)))
        .and_then(|()| {
            std::fs::write(
                dir.join("eventfd.json"),
                format!(
                    "{{\"machine\":{:?},\"quick\":{quick},\"rows\":[{}]}}\n",
                    machine(),
                    json.join(",")
                ),
            )
        });
    match written {
        Ok(()) => println!("wrote {}/eventfd.{{md,json,svg}}", dir.display()),
        Err(e) => eprintln!("cannot write the report: {e}"),
    }
}
