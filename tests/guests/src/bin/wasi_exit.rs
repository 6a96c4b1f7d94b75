//! Returns the exit code given as its argument from `main`
//! (`ExitCode::from`). WASI 0.2 has no exit codes, only success and failure
//! (`wasi:cli/exit.exit(result)`; `exit-with-code` is unstable and off), so
//! any non-zero code reaches the runner as a failure: exit status 1, as with
//! `wasmtime run`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let code: u8 = std::env::args()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("usage: wasi_exit CODE (0-255)");
    ExitCode::from(code)
}
