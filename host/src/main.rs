//! `wasi-eventfd`: runs WebAssembly components with WASI 0.2 and eventfd.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use std::time::Duration;

use wasi_eventfd::runner::{EventfdSpec, GuestSpec, Outcome, RunOptions, Runner};
use wasi_eventfd::{DescriptionTable, EventfdCtx};

/// Exit code for bad input: a missing or invalid file, a bad option.
const EXIT_USAGE: u8 = 2;
/// Exit code when a guest failed (exited non-zero or trapped).
const EXIT_GUEST_FAILED: u8 = 1;
/// Exit code when the guests deadlocked: all waiting on eventfds that
/// none of them could change.
const EXIT_DEADLOCK: u8 = 3;
/// Exit code when a guest was stopped at the `--timeout` deadline (as
/// coreutils' `timeout` does).
const EXIT_TIMED_OUT: u8 = 124;

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
    /// A guest is a `wasi:cli/command` component or a core module with a
    /// `_start` export (WASI preview 1 plus the `wasi_eventfd` integer-fd
    /// ABI), as binary `.wasm` or as `.wat` text.
    Run(RunArgs),
}

#[derive(clap::Args)]
struct RunArgs {
    /// A named eventfd shared with every guest: NAME=INITVAL[,semaphore][,nonblock].
    #[arg(long = "eventfd", value_name = "NAME=INITVAL[,FLAG]...")]
    eventfds: Vec<EventfdSpec>,

    /// Stop any guest still running (or waiting) after SECONDS.
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    timeout: Option<Duration>,

    /// Descriptors one guest may hold at once (more: too-many-descriptors / EMFILE).
    #[arg(long, value_name = "N", default_value_t = EventfdCtx::DEFAULT_MAX_DESCRIPTORS)]
    max_descriptors: usize,

    /// Eventfd descriptions all guests together may keep alive (more: too-many-descriptions / ENFILE).
    #[arg(long, value_name = "N", default_value_t = DescriptionTable::DEFAULT_MAX_DESCRIPTIONS)]
    max_descriptions: usize,

    /// Linear memory one guest may grow to, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 1024)]
    max_memory: usize,

    /// Reserve wasmtime's pooling allocator for N guests at once: faster start-up and
    /// teardown of thousands of guests; guests beyond N fail to start.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pool: Option<u32>,

    /// Compile every guest afresh instead of using wasmtime's cache of compiled code
    /// (~/.cache/wasmtime).
    #[arg(long)]
    no_cache: bool,

    /// Another guest to run at the same time (no arguments; argv[0] is its file name).
    #[arg(long = "with", value_name = "GUEST.wasm")]
    with: Vec<PathBuf>,

    /// The main guest.
    #[arg(value_name = "GUEST.wasm")]
    guest: PathBuf,

    /// Arguments for the main guest.
    #[arg(
        value_name = "ARGS",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    args: Vec<String>,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
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
        Command::Run(args) => run(args),
    }
}

fn run(args: RunArgs) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let options = RunOptions {
        max_descriptions: args.max_descriptions,
        max_descriptors: args.max_descriptors,
        max_memory: args.max_memory.saturating_mul(1 << 20),
        timeout: args.timeout,
        inherit_stdio: true,
        // Only guests touch the eventfds while they run: when all of them
        // wait on eventfds nobody can change, nothing ever will.
        detect_deadlocks: true,
        pool: args.pool,
        cache: !args.no_cache,
    };
    let mut runner = match Runner::with_options(options) {
        Ok(runner) => runner,
        Err(e) => {
            eprintln!("error: cannot set up wasmtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    for spec in &args.eventfds {
        if let Err(e) = runner.add_eventfd(spec) {
            eprintln!("error: cannot create eventfd `{}`: {e}", spec.name);
            return ExitCode::from(EXIT_USAGE);
        }
    }
    let mut guests = vec![GuestSpec::new(&args.guest, args.args)];
    guests.extend(args.with.iter().map(|path| GuestSpec::new(path, [])));

    let outcomes = match runtime.block_on(runner.run(&guests)) {
        Ok(outcomes) => outcomes,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let mut code = ExitCode::SUCCESS;
    if outcomes.iter().any(|o| matches!(o, Outcome::Deadlocked(_))) {
        eprintln!(
            "error: deadlock: every guest left waits on an eventfd that none of them can change"
        );
        for outcome in &outcomes {
            if let Outcome::Deadlocked(stuck) = outcome {
                eprintln!("  {stuck}");
            }
        }
        code = ExitCode::from(EXIT_DEADLOCK);
    }
    for (guest, outcome) in guests.iter().zip(&outcomes) {
        match outcome {
            Outcome::Success | Outcome::Deadlocked(_) => {}
            Outcome::TimedOut(_) => {
                eprintln!("error: guest `{}` {outcome}", guest.name());
                code = ExitCode::from(EXIT_TIMED_OUT);
            }
            _ => {
                eprintln!("error: guest `{}` {outcome}", guest.name());
                if code == ExitCode::SUCCESS {
                    code = ExitCode::from(EXIT_GUEST_FAILED);
                }
            }
        }
    }
    code
}

fn parse_seconds(text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0)
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| format!("`{text}` is not a number of seconds above 0"))
}
