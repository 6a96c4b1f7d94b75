//! Benchmark guest for the scale rows: `bench_scale_waker N` waits until N
//! `bench_scale_wait` guests have posted `ready` and prints `waiting
//! startup_ns NS` (from its own start); then it waits for a line on stdin
//! (the benchmark reads the runner's memory meanwhile), writes N to the
//! semaphore eventfd `go` at once, waits until all N have posted `done`,
//! and prints `elapsed_ns NS`: from the write until every guest has
//! returned from its read and acted.

use std::io::{BufRead, Write};
use std::time::Instant;

use eventfd_test_programs::{args, preopen};

/// Reads the counter-mode eventfd `fd` until it has given `total` in all.
fn collect(fd: &eventfd_test_programs::Eventfd, total: u64) {
    let mut seen = 0;
    while seen < total {
        seen += fd.read().expect("read");
    }
}

fn main() {
    let start = Instant::now();
    let n: u64 = args().first().map_or(10_000, |n| n.parse().expect("guests"));
    let (ready, go, done) = (preopen("ready"), preopen("go"), preopen("done"));
    collect(&ready, n);
    println!("waiting startup_ns {}", start.elapsed().as_nanos());
    std::io::stdout().flush().expect("flush");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).expect("stdin");
    let woken = Instant::now();
    if n > 0 {
        go.write(n).expect("write go");
    }
    collect(&done, n);
    println!("elapsed_ns {}", woken.elapsed().as_nanos());
}
