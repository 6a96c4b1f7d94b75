//! Posts JOBS jobs (default 1000) on `jobs`, waits until `done` has counted
//! them all, then tells the workers to quit.

use std::time::Instant;

use worker_pool::preopen;

fn main() {
    let jobs_total: u64 = match std::env::args().nth(1).map(|n| n.parse()) {
        None => 1000,
        Some(Ok(n)) => n,
        Some(Err(_)) => {
            eprintln!("usage: dispatcher [JOBS]");
            std::process::exit(2);
        }
    };
    let (jobs, done, quit) = (preopen("jobs"), preopen("done"), preopen("quit"));
    if !jobs.info().semaphore {
        eprintln!("`jobs` must be a semaphore eventfd: --eventfd jobs=0,semaphore,nonblock");
        std::process::exit(2);
    }
    let start = Instant::now();
    // One write posts every job: the semaphore hands them out one by one.
    jobs.write(jobs_total).expect("post jobs");
    let mut finished = 0;
    while finished < jobs_total {
        // Blocks until some worker reports; returns everything reported since.
        finished += done.read().expect("read done");
    }
    quit.write(1).expect("write quit");
    println!(
        "dispatcher: {jobs_total} jobs done in {:.1} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
}
