//! Benchmark guest for the floor row: `bench_floor N` times N iterations
//! of two calls of a do-nothing host function with the signature of
//! `eventfd.read` (`host/benches/floor.wit`) and prints `elapsed_ns NS`.
//! Its loop is `bench_pair`'s, with the floor's call in place of each
//! eventfd call.

use std::time::Instant;

wit_bindgen::generate!({
    path: "../../host/benches/floor.wit",
    world: "wasi-eventfd-bench:floor/floor-guest",
});

use wasi_eventfd_bench::floor::floor::Handle;

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .map_or(100_000, |n| n.parse().expect("iterations"));
    let handle = Handle::open().expect("open");
    let start = Instant::now();
    for _ in 0..n {
        assert_eq!(handle.read(), Ok(1));
        assert_eq!(handle.read(), Ok(1));
    }
    let elapsed = start.elapsed().as_nanos() as u64;
    println!("elapsed_ns {elapsed}");
}
