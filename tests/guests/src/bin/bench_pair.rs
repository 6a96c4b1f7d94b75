//! Benchmark guest: `bench_pair N` times N non-blocking `write(1)` +
//! `read()` pairs on an eventfd of its own and reports the elapsed
//! nanoseconds (`report_elapsed`).

use std::time::Instant;

use eventfd_test_programs::{args, report_elapsed, CreateFlags, Eventfd};

fn main() {
    let n: u64 = args().first().map_or(100_000, |n| n.parse().expect("pairs"));
    let fd = Eventfd::create(0, CreateFlags::NONBLOCK).expect("create");
    let start = Instant::now();
    for _ in 0..n {
        fd.write(1).expect("write");
        assert_eq!(fd.read(), Ok(1));
    }
    let elapsed = start.elapsed().as_nanos() as u64;
    report_elapsed(elapsed);
}
