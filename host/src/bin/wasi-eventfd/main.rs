//! `wasi-eventfd`: runs WebAssembly guests with WASI and eventfd, several
//! at once, as `wasmtime run` runs one.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod args;
mod run_file;

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use wasi_eventfd::runner::{
    guest_labels, DirGrant, GuestSpec, Outcome, Pool, RunOptions, Runner, Schedule, Seeded,
};
use wasi_eventfd::{DescriptionTable, EventfdCtx};

use crate::args::{EnvVar, EventfdSpec, WasiGrants, WasiSwitches};
use crate::run_file::RunFile;

/// The command's allocator. Every async host call allocates twice inside
/// wasmtime (`Func::wrap_async` boxes the host's future and its own), and
/// glibc's malloc and free cost about 135 instructions a pair there: a
/// fifth of a preview 1 eventfd op pair under callgrind. mimalloc's fast
/// paths are a few dozen. The library leaves the choice to its embedders.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Writes a message to stderr, like `eprintln!`, but each of its lines cut
/// to [`MAX_LINE_CHARS`] characters, and a stderr that is gone (a closed
/// pipe, a full disk) does not panic: the exit status still tells the story.
macro_rules! report {
    ($($arg:tt)*) => {
        print_bounded(&format!($($arg)*))
    };
}

/// Characters of one line the command prints about a run: a guest's name
/// or an eventfd's comes from the user and may be megabytes long.
const MAX_LINE_CHARS: usize = 2000;

fn print_bounded(message: &str) {
    use std::io::Write as _;
    let mut text = String::with_capacity(message.len().min(4 * MAX_LINE_CHARS));
    for line in message.lines() {
        text.push_str(&args::shortened(line, MAX_LINE_CHARS));
        text.push('\n');
    }
    // One write, so that the message is not split by a guest's line.
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// Stderr for the log, where a write that fails (stderr closed, or full)
/// is dropped as the command's own messages are: tracing-subscriber would
/// report the failure with `eprintln!`, which panics on that same stderr.
struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = std::io::stderr().lock().write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        Ok(())
    }
}

/// Exit status for bad input: a missing or invalid file, a bad option.
const EXIT_USAGE: u8 = 2;
/// Exit status when the runner itself cannot work (no async runtime, no
/// wasmtime engine).
const EXIT_RUNNER_FAILED: u8 = 1;

#[derive(Parser)]
#[command(
    name = "wasi-eventfd",
    version,
    about = "Linux eventfd(2) for WebAssembly guests"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a guest, and any `--with` guests concurrently, sharing eventfds.
    ///
    /// A guest is a `wasi:cli/command` component (WASI 0.2, or 0.3 with
    /// component-model async) or a core module with a `_start` export (WASI
    /// preview 1 plus the `wasi_eventfd` integer-fd ABI), as binary `.wasm`
    /// or as `.wat` text. As with `wasmtime run`, guests get nothing of the
    /// host unless granted: no environment variables, directories or network.
    /// Every argument after the guest's file goes to the guest.
    ///
    /// The exit status is the guest's own (a trap gives 134); with several
    /// guests, that of the first in order that did not succeed. The runner's
    /// own: 2 bad input, 3 deadlock, 124 timeout.
    #[command(
        override_usage = "wasi-eventfd run [OPTIONS] GUEST.wasm [ARGS]...\n       \
                                wasi-eventfd run [LIMITS] --config RUN.toml"
    )]
    Run(Box<RunArgs>),
}

#[derive(clap::Args)]
struct RunArgs {
    /// A named eventfd shared with every guest: NAME=INITVAL[,semaphore][,nonblock].
    #[arg(long = "eventfd", value_name = "NAME=INITVAL[,FLAG]...")]
    eventfds: Vec<EventfdSpec>,

    /// Grant access of a host directory to the guests, under GUEST_DIR (default: the same name).
    #[arg(long = "dir", value_name = "HOST_DIR[::GUEST_DIR]", value_parser = args::parse_dir)]
    dirs: Vec<DirGrant>,

    /// Pass an environment variable to the guests; `--env NAME` passes the host's value.
    #[arg(long = "env", value_name = "NAME[=VAL]", value_parser = args::parse_env)]
    env: Vec<EnvVar>,

    /// WASI options, as wasmtime's: inherit-env, inherit-network, allow-ip-name-lookup
    /// (KEY[=y|n], comma-separated; `-S help` lists them).
    #[arg(short = 'S', long = "wasi", value_name = "KEY[=VAL[,..]]", value_parser = args::parse_wasi)]
    wasi: Vec<WasiSwitches>,

    /// argv[0] of the main guest (default: its file's base name).
    #[arg(long, value_name = "NAME")]
    argv0: Option<String>,

    /// Run what a run file (TOML) names instead: its eventfds, and its guests each with
    /// their own arguments, environment, directories and eventfds.
    #[arg(long = "config", value_name = "FILE",
          conflicts_with_all = ["eventfds", "dirs", "env", "wasi", "argv0", "with", "guest"])]
    config: Option<PathBuf>,

    /// Stop any guest still running (or waiting) after SECONDS.
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    timeout: Option<Duration>,

    /// Descriptors one guest may hold at once (more: too-many-descriptors / EMFILE).
    /// For a core module, the bound on its fd numbers, stdio and directories
    /// included, as RLIMIT_NOFILE.
    #[arg(long, value_name = "N", default_value_t = EventfdCtx::DEFAULT_MAX_DESCRIPTORS)]
    max_descriptors: usize,

    /// Eventfd descriptions all guests together may keep alive (more: too-many-descriptions / ENFILE).
    #[arg(long, value_name = "N", default_value_t = DescriptionTable::DEFAULT_MAX_DESCRIPTIONS)]
    max_descriptions: usize,

    /// Linear memory one guest may grow to, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 1024)]
    max_memory: usize,

    /// Reserve wasmtime's pooling allocator for N guests at once (default: for every guest
    /// of the run when there are many); guests beyond N fail to start.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pool: Option<u32>,

    /// Threads guests run on: 1 (the default) runs guests that wake each other back to back
    /// on one core; more lets guests that compute run in parallel, at the cost of wake-ups
    /// that cross cores.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1024))]
    threads: u16,

    /// Compile every guest afresh instead of using wasmtime's cache of compiled code
    /// (~/.cache/wasmtime).
    #[arg(long)]
    no_cache: bool,

    /// Run seeded: the run becomes a function of N and its inputs (same seed, same output and
    /// exit status). Guests take turns as a PRNG seeded with N chooses, clocks are virtual,
    /// random numbers come from N; the network cannot be granted.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,

    /// Run K seeded schedules (seeds from --seed, default 0, on) on --threads threads, and
    /// stop at the first that fails, printing the command that replays it.
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(1..))]
    explore: Option<u64>,

    /// With --seed or --explore: the probability (0 to 1) that a guest gives way to another
    /// at a host call [default: 0.01, as Miri's]
    #[arg(long, value_name = "P", value_parser = parse_rate)]
    preemption_rate: Option<f64>,

    /// With --seed or --explore: `random` (a random walk, the default) or `pct:D[:STEPS]`
    /// (PCT aiming at bugs that need D ordered switches, among STEPS host calls, default 1000).
    #[arg(long, value_name = "random|pct:D[:STEPS]", value_parser = parse_schedule)]
    schedule: Option<Schedule>,

    /// Another guest to run at the same time: no arguments, no stdin; the same --dir, --env
    /// and -S grants.
    #[arg(long = "with", value_name = "GUEST.wasm")]
    with: Vec<PathBuf>,

    /// The main guest (it reads stdin), then its arguments: every word after the file goes to
    /// the guest as it is, options and `--` included, as with `wasmtime run`.
    #[arg(
        id = "guest",
        value_name = "GUEST.wasm [ARGS]",
        required_unless_present = "config",
        trailing_var_arg = true
    )]
    guest_and_args: Vec<OsString>,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(log_filter())
        .with_writer(|| LogWriter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let usage_error = e.use_stderr();
            // Prints help and version to stdout, usage errors to stderr.
            let _ = e.print();
            return if usage_error {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli.command {
        Command::Run(args) => match run(*args) {
            Ok(status) => ExitCode::from(status),
            Err((status, message)) => {
                report!("error: {message}");
                ExitCode::from(status)
            }
        },
    }
}

/// The log's filter from `RUST_LOG`, as tracing-subscriber's
/// `EnvFilter::from_default_env` makes it (errors only by default; a bad
/// directive is ignored), but a bad directive is reported through
/// [`report!`]: tracing-subscriber reports it with `eprintln!`, which
/// panics when stderr is closed.
fn log_filter() -> tracing_subscriber::EnvFilter {
    use tracing_subscriber::filter::{Directive, LevelFilter};
    let spec = std::env::var_os("RUST_LOG").unwrap_or_default();
    let spec = spec.to_string_lossy();
    let mut valid = Vec::new();
    for directive in spec.split(',').filter(|d| !d.is_empty()) {
        match directive.parse::<Directive>() {
            Ok(_) => valid.push(directive),
            Err(e) => report!(
                "ignoring RUST_LOG directive {}: {e}",
                args::quoted(directive)
            ),
        }
    }
    let builder =
        tracing_subscriber::EnvFilter::builder().with_default_directive(LevelFilter::ERROR.into());
    builder
        .parse(valid.join(","))
        .unwrap_or_else(|_| builder.parse_lossy(""))
}

/// What to run: from a run file, or from the command line.
fn plan(args: &RunArgs) -> Result<RunFile, String> {
    if let Some(path) = &args.config {
        return RunFile::read(path);
    }
    let mut words = args.guest_and_args.iter();
    let Some(main) = words.next() else {
        return Err("no guest to run: give GUEST.wasm or --config FILE".into());
    };
    // WASI passes arguments as UTF-8 strings, as `wasmtime run` does.
    let guest_args = words
        .enumerate()
        .map(|(index, word)| {
            word.to_str().map(str::to_string).ok_or_else(|| {
                format!(
                    "argument {} of the guest, {}, is not valid UTF-8",
                    index + 1,
                    args::quoted(&word.to_string_lossy())
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let guests = 1 + args.with.len();
    if guests > args::MAX_GUESTS {
        return Err(format!(
            "{guests} guests: a run has at most {} guests",
            args::MAX_GUESTS
        ));
    }
    let grants = WasiGrants::from_switches(&args.wasi);
    let env = args::guest_env(grants.inherit_env, &args.env)?;
    for dir in &args.dirs {
        if !dir.host.is_dir() {
            return Err(format!("--dir {}: no such directory", dir.host.display()));
        }
    }
    // Each `-S tcplisten` is bound once, here (a bad or busy address is an
    // input error), and shared by the guests: one listening socket.
    let mut listeners = Vec::new();
    for addr in &grants.tcplisten {
        let listener = std::net::TcpListener::bind(addr)
            .map_err(|e| format!("-S tcplisten={addr}: cannot listen: {e}"))?;
        listeners.push(std::sync::Arc::new(listener));
    }
    let grant = |mut guest: GuestSpec| {
        guest.tcplisten = listeners.clone();
        guest.env = env.clone();
        guest.dirs = args.dirs.clone();
        guest.inherit_network = grants.inherit_network;
        guest.allow_ip_name_lookup = grants.allow_ip_name_lookup;
        guest
    };
    let mut first = grant(GuestSpec::new(Path::new(main), guest_args));
    if let (Some(argv0), Some(slot)) = (&args.argv0, first.args.first_mut()) {
        *slot = argv0.clone();
    }
    first.stdin = true;
    let mut guests = vec![first];
    guests.extend(args.with.iter().map(|path| grant(GuestSpec::new(path, []))));
    Ok(RunFile {
        eventfds: args.eventfds.clone(),
        guests,
    })
}

/// Runs the guests; the exit status, or an error's status and message.
fn run(args: RunArgs) -> Result<u8, (u8, String)> {
    let usage = |message: String| (EXIT_USAGE, message);
    let plan = plan(&args).map_err(usage)?;
    let seeded = seeded(&args).map_err(usage)?;
    if seeded.is_some() {
        if let Some((guest, grant)) = plan
            .guests
            .iter()
            .find_map(|g| Some((g, g.nondeterministic_grant()?)))
        {
            return Err(usage(format!(
                "{grant} (granted to guest {}) cannot be part of a seeded run (--seed, \
                 --explore): the network is outside the run and cannot be replayed",
                args::quoted(guest.name())
            )));
        }
    }
    let runtime = match args.threads {
        // One thread: guests that wake each other take turns on it, with no
        // trip to another core; blocking work (files, DNS) still gets
        // tokio's blocking pool, and epoch yields keep computing guests fair.
        1 => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        // Several threads: each worker checks timers and sockets before
        // every task it polls (tokio's default is every 61 polls, each up to
        // a 10 ms slice of a computing guest: sleeps beside computing guests
        // took 0.6 s each). The slice gate of one thread (`Turns`) does not
        // apply here; this does the same job at a syscall per poll.
        threads => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(usize::from(threads))
            // Each thread maps wasmtime's signal stack as it starts (the
            // workers before any guest), not when it first runs a guest,
            // when a run of many guests may have used up vm.max_map_count.
            .on_thread_start(wasmtime::Engine::tls_eager_initialize)
            .event_interval(1)
            .enable_all()
            .build(),
    }
    .map_err(|e| {
        (
            EXIT_RUNNER_FAILED,
            format!("cannot start the async runtime: {e}"),
        )
    })?;
    let options = RunOptions {
        max_descriptions: args.max_descriptions,
        max_descriptors: args.max_descriptors,
        max_memory: args.max_memory.saturating_mul(1 << 20),
        timeout: args.timeout,
        inherit_stdio: true,
        // Only guests touch the eventfds while they run: when all of them
        // wait on eventfds nobody can change, nothing ever will.
        detect_deadlocks: true,
        pool: args.pool.map_or(Pool::Auto, Pool::Slots),
        cache: !args.no_cache,
        seeded,
    };
    let mut runner = Runner::with_options(options)
        .map_err(|e| (EXIT_RUNNER_FAILED, format!("cannot set up wasmtime: {e}")))?;
    // Run files cannot repeat a name (TOML refuses a table defined twice);
    // `--eventfd` can.
    let mut names = HashSet::with_capacity(plan.eventfds.len());
    for spec in &plan.eventfds {
        if !names.insert(spec.name.as_str()) {
            return Err(usage(format!(
                "eventfd {} is given twice",
                args::quoted(&spec.name)
            )));
        }
        runner
            .add_eventfd(&spec.name, spec.initval, spec.flags)
            .map_err(|e| {
                usage(format!(
                    "cannot create eventfd {}: {e}",
                    args::quoted(&spec.name)
                ))
            })?;
    }
    if let Some(count) = args.explore {
        drop(runtime);
        return explore(&runner, &plan.guests, count, usize::from(args.threads));
    }
    if let Some(seeded) = seeded {
        drop(runtime);
        let run = runner
            .run_seeded(&plan.guests)
            .map_err(|e| usage(e.to_string()))?;
        if run.foreign_wakes > 0 {
            let plural = if run.foreign_wakes == 1 { "" } else { "s" };
            report!(
                "warning: this run may not replay: {} wake-up{plural} of guests came from another \
                 thread than the scheduler's (a host call served off it; please report it)",
                run.foreign_wakes
            );
        }
        return Ok(report(&plan.guests, &run.outcomes, Some(seeded.seed)));
    }
    let outcomes = runtime
        .block_on(runner.run(&plan.guests))
        .map_err(|e| usage(e.to_string()))?;
    Ok(report(&plan.guests, &outcomes, None))
}

/// The seeded settings of `--seed`, `--explore`, `--preemption-rate` and
/// `--schedule`; none without `--seed` or `--explore`.
fn seeded(args: &RunArgs) -> Result<Option<Seeded>, String> {
    if args.seed.is_none() && args.explore.is_none() {
        if args.preemption_rate.is_some() || args.schedule.is_some() {
            return Err(
                "--preemption-rate and --schedule apply to seeded runs: give --seed N or --explore K"
                    .into(),
            );
        }
        return Ok(None);
    }
    let mut seeded = Seeded::new(args.seed.unwrap_or(0));
    if let Some(rate) = args.preemption_rate {
        seeded.preemption_rate = rate;
    }
    if let Some(schedule) = args.schedule {
        seeded.schedule = schedule;
    }
    Ok(Some(seeded))
}

/// `--explore K`: runs the schedules, and prints the first that failed with
/// the command that replays it (its status is the exit status), or that
/// none did (0).
fn explore(
    runner: &Runner,
    guests: &[GuestSpec],
    count: u64,
    threads: usize,
) -> Result<u8, (u8, String)> {
    use std::io::{IsTerminal as _, Write as _};
    let terminal = std::io::stderr().is_terminal();
    let shown = std::sync::Mutex::new(std::time::Instant::now());
    // On a terminal, a line that counts up, at most ten times a second.
    let progress = |done: u64| {
        if !terminal {
            return;
        }
        let mut last = shown.lock().unwrap_or_else(|p| p.into_inner());
        if last.elapsed() >= Duration::from_millis(100) || done == count {
            *last = std::time::Instant::now();
            let _ = write!(std::io::stderr(), "\rexplored {done} of {count} schedules");
        }
    };
    let found = runner
        .explore(guests, count, threads, &progress)
        .map_err(|e| (EXIT_USAGE, e.to_string()))?;
    if terminal {
        let _ = write!(std::io::stderr(), "\r\x1b[K");
    }
    let Some((seed, run)) = found.failure else {
        report!("explored {} schedules, no failure", found.explored);
        return Ok(0);
    };
    let labels = guest_labels(guests);
    let cause = stopped_by(&run.outcomes)
        .map(|(index, outcome)| match outcome {
            Outcome::Deadlocked(_) => format!(
                "deadlock: {}",
                run.outcomes
                    .iter()
                    .filter_map(|o| match o {
                        Outcome::Deadlocked(stuck) => Some(stuck.to_string()),
                        _ => None,
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            outcome => format!(
                "guest {} {outcome}",
                labels.get(index).map_or("", String::as_str)
            ),
        })
        .unwrap_or_default();
    report!("error: schedule with seed {seed} failed: {cause}");
    report!("replay it with: {}", replay_command(seed));
    Ok(stopped_by(&run.outcomes).map_or(0, |(_, o)| o.exit_status()))
}

/// Options of `run` that take a value (the next word, unless given as
/// `--name=value`): what tells an option's value from the guest's file.
const OPTIONS_WITH_VALUES: &[&str] = &[
    "--eventfd",
    "--dir",
    "--env",
    "-S",
    "--wasi",
    "--argv0",
    "--config",
    "--timeout",
    "--max-descriptors",
    "--max-descriptions",
    "--max-memory",
    "--pool",
    "--threads",
    "--with",
    "--seed",
    "--explore",
    "--preemption-rate",
    "--schedule",
];

/// This command as the user gave it, with `--seed SEED` instead of its
/// `--seed` and `--explore`, quoted for a POSIX shell. The guest's own
/// words (after its file) are left as they are.
fn replay_command(seed: u64) -> String {
    let words: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|w| w.to_string_lossy().into_owned())
        .collect();
    let mut kept = vec!["wasi-eventfd".to_string()];
    let mut rest = words.into_iter();
    let mut options_over = false;
    while let Some(word) = rest.next() {
        if options_over {
            kept.push(word);
            continue;
        }
        if word == "run" && kept.len() == 1 {
            kept.push(word);
            kept.push("--seed".into());
            kept.push(seed.to_string());
            continue;
        }
        let name = word.split_once('=').map_or(word.as_str(), |(name, _)| name);
        let dropped = name == "--seed" || name == "--explore";
        let takes_value = OPTIONS_WITH_VALUES.contains(&word.as_str());
        if word == "--" || !word.starts_with('-') {
            // The guest's file: everything after it is the guest's.
            options_over = true;
        }
        if !dropped {
            kept.push(word);
        }
        if takes_value {
            if let Some(value) = rest.next() {
                if !dropped {
                    kept.push(value);
                }
            }
        }
    }
    kept.iter()
        .map(|word| shell_quoted(word))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `word` as a POSIX shell reads it back: as it is when it holds only
/// characters a shell leaves alone, otherwise in single quotes.
fn shell_quoted(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// `--preemption-rate P`: a probability from 0 to 1.
fn parse_rate(text: &str) -> Result<f64, String> {
    text.parse::<f64>()
        .ok()
        .filter(|p| (0.0..=1.0).contains(p))
        .ok_or_else(|| format!("{} is not a probability from 0 to 1", args::quoted(text)))
}

/// `--schedule random` or `--schedule pct:D[:STEPS]`.
fn parse_schedule(text: &str) -> Result<Schedule, String> {
    if text == "random" {
        return Ok(Schedule::RandomWalk);
    }
    let bad = || {
        format!(
            "{} is not a schedule: `random`, or `pct:D[:STEPS]` with a depth D from 1 to 100 \
             and STEPS from 1",
            args::quoted(text)
        )
    };
    let spec = text.strip_prefix("pct:").ok_or_else(bad)?;
    let (depth, steps) = match spec.split_once(':') {
        Some((depth, steps)) => (depth, Some(steps)),
        None => (spec, None),
    };
    let depth = depth
        .parse::<u32>()
        .ok()
        .filter(|d| (1..=100).contains(d))
        .ok_or_else(bad)?;
    let steps = match steps {
        Some(steps) => steps
            .parse::<u64>()
            .ok()
            .filter(|s| *s >= 1)
            .ok_or_else(bad)?,
        None => DEFAULT_PCT_STEPS,
    };
    Ok(Schedule::Pct { depth, steps })
}

/// The switch points PCT draws its change points among when not told.
const DEFAULT_PCT_STEPS: u64 = 1000;

/// The outcome that makes a run's exit status, with the guest's index:
/// a deadlock, then a timeout, then the first guest that did not succeed.
fn stopped_by(outcomes: &[Outcome]) -> Option<(usize, &Outcome)> {
    let find = |stop: fn(&Outcome) -> bool| outcomes.iter().enumerate().find(|(_, o)| stop(o));
    find(|o| matches!(o, Outcome::Deadlocked(_)))
        .or_else(|| find(|o| matches!(o, Outcome::TimedOut(_))))
        .or_else(|| find(|o| !o.is_success()))
}

/// Prints what went wrong, and returns the run's exit status:
/// - a deadlock (3) or a deadline (124) stopped the run: that code;
/// - otherwise the status of the first guest, in the order given (the main
///   guest first), that did not succeed: its exit code, 134 for a trap, 1
///   for a guest that could not start;
/// - 0 when every guest succeeded.
///
/// A seeded run's deadlock report names its seed.
fn report(guests: &[GuestSpec], outcomes: &[Outcome], seed: Option<u64>) -> u8 {
    // Guests are named apart (copies of one file by position); copies that
    // ended alike are told once, keyed by file name and outcome.
    let labels = guest_labels(guests);
    let name = |index: usize| guests.get(index).map_or("", GuestSpec::name);
    let deadlocked = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Deadlocked(stuck) => Some(stuck),
            _ => None,
        })
        .collect::<Vec<_>>();
    if !deadlocked.is_empty() {
        let under = seed.map_or(String::new(), |seed| format!(" (seed {seed})"));
        report!(
            "error: deadlock: every guest left waits on an eventfd that none of them can \
             change{under}"
        );
        print_alike(deadlocked.iter().map(|stuck| {
            let alike = format!("{} {}", name(stuck.id as usize), stuck.waits());
            (alike, format!("  {stuck}"))
        }));
    }
    print_alike(
        labels
            .iter()
            .zip(outcomes)
            .enumerate()
            .filter(|(_, (_, outcome))| {
                !matches!(outcome, Outcome::Success | Outcome::Deadlocked(_))
            })
            .map(|(index, (label, outcome))| {
                let alike = format!("{} {outcome}", name(index));
                (alike, format!("error: guest {label} {outcome}"))
            }),
    );
    stopped_by(outcomes).map_or(0, |(_, outcome)| outcome.exit_status())
}

/// Prints the first line of each kind of `(kind, line)` to stderr, in order
/// of first appearance, with how many more there were: thousands of copies
/// of a guest may fail or wait alike (found by a map: linear time).
fn print_alike(lines: impl Iterator<Item = (String, String)>) {
    let mut distinct: Vec<(String, usize)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (kind, line) in lines {
        match index.get(&kind) {
            Some(&at) => {
                if let Some((_, times)) = distinct.get_mut(at) {
                    *times += 1;
                }
            }
            None => {
                index.insert(kind, distinct.len());
                distinct.push((line, 1));
            }
        }
    }
    for (line, times) in distinct {
        match times {
            1 => report!("{line}"),
            _ => report!("{line} (and {} more guests alike)", times - 1),
        }
    }
}

/// The longest `--timeout`, in seconds (about 136 years): a deadline is
/// an `Instant`, and one too far away does not exist.
const MAX_TIMEOUT_SECONDS: f64 = u32::MAX as f64;

/// `--timeout SECONDS`: a decimal number from 0.001 to
/// [`MAX_TIMEOUT_SECONDS`].
fn parse_seconds(text: &str) -> Result<Duration, String> {
    // Below a millisecond a deadline is a typo, not a plan (1e-300 would
    // stop every guest before it starts).
    text.parse::<f64>()
        .ok()
        .filter(|s| (0.001..=MAX_TIMEOUT_SECONDS).contains(s))
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| {
            format!(
                "{} is not a number of seconds from 0.001 to {MAX_TIMEOUT_SECONDS}",
                args::quoted(text)
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_words_are_quoted_only_when_a_shell_would_change_them() {
        assert_eq!(shell_quoted("--seed"), "--seed");
        assert_eq!(shell_quoted("a/b.wasm"), "a/b.wasm");
        assert_eq!(shell_quoted("two words"), "'two words'");
        assert_eq!(shell_quoted("it's"), "'it'\\''s'");
        assert_eq!(shell_quoted(""), "''");
        assert_eq!(shell_quoted("$HOME"), "'$HOME'");
    }

    #[test]
    fn schedules_parse_as_documented() {
        assert_eq!(parse_schedule("random"), Ok(Schedule::RandomWalk));
        assert_eq!(
            parse_schedule("pct:3"),
            Ok(Schedule::Pct {
                depth: 3,
                steps: DEFAULT_PCT_STEPS
            })
        );
        assert_eq!(
            parse_schedule("pct:2:50"),
            Ok(Schedule::Pct {
                depth: 2,
                steps: 50
            })
        );
        for bad in [
            "", "pct", "pct:", "pct:0", "pct:101", "pct:2:0", "pct:2:x", "walk",
        ] {
            assert!(parse_schedule(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_rate("0"), Ok(0.0));
        assert_eq!(parse_rate("1"), Ok(1.0));
        assert!(parse_rate("NaN").is_err());
        assert!(parse_rate("1.01").is_err());
    }
}
