//! Sleeps N times for MS milliseconds (`sleeper N MS`, a monotonic-clock
//! wait each, through `wasi:io/poll`), prints `sleeper: N sleeps of MS ms
//! took T ms`, then writes 1 to preopen `stop` if the host shares one
//! (which ends `spin` guests).

use std::time::{Duration, Instant};

use eventfd_test_programs::{args, get_eventfds};

fn main() {
    let args = args();
    let number = |i: usize| -> u64 { args.get(i).and_then(|n| n.parse().ok()).expect("sleeper N MS") };
    let (times, ms) = (number(0), number(1));
    let start = Instant::now();
    for _ in 0..times {
        std::thread::sleep(Duration::from_millis(ms));
    }
    println!(
        "sleeper: {times} sleeps of {ms} ms took {} ms",
        start.elapsed().as_millis()
    );
    if let Some((stop, _)) = get_eventfds().into_iter().find(|(_, name)| name == "stop") {
        stop.write(1).expect("write stop");
    }
}
