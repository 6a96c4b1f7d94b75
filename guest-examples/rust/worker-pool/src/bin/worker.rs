//! Takes jobs from `jobs` one at a time until `quit` is signalled, waiting
//! on both at once with `wasi:io/poll`.

use worker_pool::{poll, preopen, work, Error};

fn main() {
    let (jobs, done, quit) = (preopen("jobs"), preopen("done"), preopen("quit"));
    let job_ready = jobs.subscribe_readable();
    let quit_ready = quit.subscribe_readable();
    let mut taken = 0u64;
    let mut checksum = 0u64;
    loop {
        // `jobs` is non-blocking: another worker may take the job we were
        // woken for, and then this read says so instead of waiting.
        match jobs.read() {
            Ok(_one) => {
                checksum ^= work(taken);
                taken += 1;
                done.write(1).expect("report done");
                continue;
            }
            Err(Error::WouldBlock) => {}
            Err(e) => panic!("read jobs: {e}"),
        }
        if quit_ready.ready() {
            break;
        }
        poll::poll(&[&job_ready, &quit_ready]);
    }
    drop((job_ready, quit_ready));
    println!("worker: took {taken} jobs (checksum {checksum:x})");
}
