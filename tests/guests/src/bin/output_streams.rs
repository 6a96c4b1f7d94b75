//! Uses `wasi:cli/stdout`'s output stream directly (the `wasip2` crate's
//! bindings, no standard library buffering), to test what the runner does
//! with guests' output. The first argument picks what it does:
//!
//! - `yes`: writes `y\n` with `blocking-write-and-flush` until a write
//!   fails, then prints the error to stderr (`stdout: closed` or `stdout:
//!   last-operation-failed: DEBUG`) and exits with failure;
//! - `flood N`: writes 16 MiB, N times, with `write` and never asks
//!   `check-write`, against the stream contract; if every write is taken
//!   it prints `flood: N writes taken` to stderr and exits 0, and a write
//!   that fails prints its error and exits with failure. (A write over the
//!   permit traps: the runner then exits 134.)
//!
//! Failure is exit status 1, all a WASI 0.2 component can give (`exit`
//! takes a `result`).

use wasip2::cli::stdout::get_stdout;
use wasip2::io::streams::StreamError;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let count = |i: usize| -> usize {
        args.get(i)
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| usage())
    };
    match args.get(1).map(String::as_str) {
        Some("yes") => yes(),
        Some("flood") => flood(count(2)),
        _ => usage(),
    }
}

fn usage() -> ! {
    eprintln!("usage: output_streams yes | flood N");
    std::process::exit(1)
}

fn fail(what: &str, error: StreamError) -> ! {
    match error {
        StreamError::Closed => eprintln!("{what}: closed"),
        StreamError::LastOperationFailed(e) => {
            eprintln!("{what}: last-operation-failed: {}", e.to_debug_string())
        }
    }
    std::process::exit(1)
}

fn yes() -> ! {
    let stdout = get_stdout();
    loop {
        if let Err(error) = stdout.blocking_write_and_flush(b"y\n") {
            fail("stdout", error);
        }
    }
}

fn flood(times: usize) {
    let stdout = get_stdout();
    let mut chunk = vec![b'x'; 16 << 20];
    if let Some(last) = chunk.last_mut() {
        *last = b'\n';
    }
    for _ in 0..times {
        if let Err(error) = stdout.write(&chunk) {
            fail("flood", error);
        }
    }
    eprintln!("flood: {times} writes taken");
}
