//! Benchmark guest for the contention row: `bench_contend write K` writes
//! 1 to preopen `shared` K times, `bench_contend read K` reads it K times
//! (blocking; `shared` is a semaphore, so each read takes 1). Both first
//! wait for a count on preopen `go`, so that the host times only the
//! contended part.

use eventfd_test_programs::{args, preopen};

fn main() {
    let args = args();
    let times: u64 = args
        .get(1)
        .and_then(|k| k.parse().ok())
        .expect("usage: bench_contend write|read K");
    let shared = preopen("shared");
    preopen("go").read().expect("read go");
    match args.first().map(String::as_str) {
        Some("write") => (0..times).for_each(|_| shared.write(1).expect("write")),
        Some("read") => (0..times).for_each(|_| assert_eq!(shared.read(), Ok(1))),
        _ => panic!("usage: bench_contend write|read K"),
    }
}
