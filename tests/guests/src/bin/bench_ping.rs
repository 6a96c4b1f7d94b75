//! Benchmark guest: `bench_ping N` bounces N balls through preopens `ping`
//! and `pong` (a `pong` guest answers), then writes STOP (2) to `ping` and
//! reports the elapsed nanoseconds (`report_elapsed`).

use std::time::Instant;

use eventfd_test_programs::{args, preopen, report_elapsed};

fn main() {
    let n: u64 = args().first().map_or(10_000, |n| n.parse().expect("rounds"));
    let (ping, pong) = (preopen("ping"), preopen("pong"));
    let start = Instant::now();
    for _ in 0..n {
        ping.write(1).expect("write ping");
        assert_eq!(pong.read(), Ok(1));
    }
    let elapsed = start.elapsed().as_nanos() as u64;
    ping.write(2).expect("stop");
    report_elapsed(elapsed);
}
