//! How a guest ended, and the exit status that stands for it.

use std::fmt;
use std::time::Duration;

use wasmtime_wasi::I32Exit;

use super::deadlock::StuckGuest;

/// How a guest ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It returned from `run` with success, or called `exit(0)`.
    Success,
    /// It returned failure from `run` (exit code 1) or called `exit(code)`.
    Exit(i32),
    /// It trapped; the message says why.
    Trap(String),
    /// The host stopped it with an error that is not a trap (a preview 1
    /// `proc_exit` status outside 0..126, say); the message says why.
    Failed(String),
    /// It could not be instantiated (e.g. the pool was full, or the kernel
    /// refused memory); the message says why.
    NotStarted(String),
    /// It was still running (or waiting) at the deadline and was stopped.
    TimedOut(Duration),
    /// It waited on an eventfd that no guest left could change (with
    /// [`RunOptions::detect_deadlocks`](super::RunOptions::detect_deadlocks)),
    /// and was stopped.
    Deadlocked(StuckGuest),
}

impl Outcome {
    /// The exit status of a trap, as `wasmtime run` gives it on Unix: that
    /// of a process killed by `SIGABRT`.
    pub const TRAP_STATUS: u8 = 134;
    /// The exit status of a guest that could not start, or that the host
    /// stopped with an error other than a trap (as `wasmtime run` exits
    /// for an error it does not recognise).
    pub const NOT_STARTED_STATUS: u8 = 1;
    /// The exit status of a guest stopped at the deadline (as coreutils'
    /// `timeout` exits).
    pub const TIMED_OUT_STATUS: u8 = 124;
    /// The exit status of a deadlocked guest.
    pub const DEADLOCK_STATUS: u8 = 3;

    /// Whether the guest succeeded.
    pub fn is_success(&self) -> bool {
        *self == Outcome::Success
    }

    /// The process exit status that stands for this outcome: the guest's
    /// own exit code (its low 8 bits, as the OS keeps them), 1 for a `run`
    /// that returned failure, and the constants above for the rest.
    pub fn exit_status(&self) -> u8 {
        match self {
            Outcome::Success => 0,
            // Truncation is what an exiting process gets from the OS too.
            Outcome::Exit(code) => *code as u8,
            Outcome::Trap(_) => Self::TRAP_STATUS,
            Outcome::NotStarted(_) | Outcome::Failed(_) => Self::NOT_STARTED_STATUS,
            Outcome::TimedOut(_) => Self::TIMED_OUT_STATUS,
            Outcome::Deadlocked(_) => Self::DEADLOCK_STATUS,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Success => f.write_str("succeeded"),
            Outcome::Exit(code) => write!(f, "exited with code {code}"),
            Outcome::Trap(message) => write!(f, "trapped: {message}"),
            Outcome::NotStarted(message) => write!(f, "could not start: {message}"),
            Outcome::Failed(message) => write!(f, "failed: {message}"),
            Outcome::Deadlocked(stuck) => write!(f, "deadlocked: {}", stuck.waits()),
            Outcome::TimedOut(after) => {
                write!(f, "timed out: stopped after {} s", after.as_secs_f64())
            }
        }
    }
}

/// How a guest ended, from what its entry point returned: `Ok(Err(code))`
/// is a failure it reported, `Err` an exit or a trap.
pub(super) fn outcome(result: wasmtime::Result<Result<(), i32>>) -> Outcome {
    let outcome = match result {
        Ok(Ok(())) => Outcome::Success,
        Ok(Err(code)) => Outcome::Exit(code),
        Err(e) => match e.downcast_ref::<I32Exit>() {
            Some(I32Exit(0)) => Outcome::Success,
            Some(I32Exit(code)) => Outcome::Exit(*code),
            None if is_trap(&e) => {
                // The message stays one line; the whole error, with the
                // guest's backtrace, goes to the log.
                tracing::info!("guest trapped: {e:?}");
                Outcome::Trap(root_cause(&e))
            }
            None => {
                tracing::info!("guest stopped by an error: {e:?}");
                Outcome::Failed(root_cause(&e))
            }
        },
    };
    tracing::debug!(%outcome, "guest finished");
    outcome
}

/// A guest that could not be instantiated, with what to do about it when
/// the kernel refused memory.
pub(super) fn not_started(error: &wasmtime::Error) -> Outcome {
    let cause = root_cause(error);
    // A trap while instantiating (in a start function) is a trap, as
    // `wasmtime run` finds it anywhere in the error's chain.
    if is_trap(error) {
        tracing::info!("guest trapped while starting: {error:?}");
        return Outcome::Trap(cause);
    }
    // wasmtime words an `mmap` that failed with ENOMEM this way.
    let refused = cause.contains("Cannot allocate memory") || cause.contains("os error 12");
    if !refused {
        return Outcome::NotStarted(cause);
    }
    // Each guest allocated on demand takes several memory maps; with many
    // guests the per-process limit on them, not memory, runs out first.
    let limit = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .map(|text| text.trim().to_string())
        .unwrap_or_else(|_| "?".into());
    Outcome::NotStarted(format!(
        "{cause}: the kernel refused a memory map; this process may hold at most \
         vm.max_map_count = {limit} of them, and each guest takes several. Run the guests \
         with `--pool N` (N at least the number of guests: one reservation for all), or raise \
         the limit (`sysctl -w vm.max_map_count=1048576`, as root)"
    ))
}

/// Whether `error` is (or was caused by) a wasm trap, as `wasmtime run`
/// tells a trap (exit 134) from other errors (exit 1).
fn is_trap(error: &wasmtime::Error) -> bool {
    error.chain().any(|cause| cause.is::<wasmtime::Trap>())
}

/// The innermost cause of `error`, one line.
pub(super) fn root_cause(error: &wasmtime::Error) -> String {
    error
        .chain()
        .last()
        .map(ToString::to_string)
        .unwrap_or_default()
}
