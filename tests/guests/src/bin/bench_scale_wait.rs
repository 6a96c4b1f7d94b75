//! Benchmark guest for the scale rows: posts 1 to preopen `ready`, blocks
//! reading preopen `go` (a semaphore eventfd shared by thousands of these),
//! then posts 1 to preopen `done` and ends. `bench_scale_waker` times it.

use eventfd_test_programs::preopen;

fn main() {
    let (ready, go, done) = (preopen("ready"), preopen("go"), preopen("done"));
    ready.write(1).expect("post ready");
    assert_eq!(go.read(), Ok(1));
    done.write(1).expect("post done");
}
