//! A WASI 0.3 guest with N reads of the shared semaphore eventfd `jobs` in
//! flight at once (N is its argument); when all have completed it adds
//! their sum to `done`. Whoever writes `jobs` (another guest, the host)
//! wakes its reads.

use eventfd_test_programs::p3::preopen;
use futures::future::join_all;

struct Component;

eventfd_test_programs::p3::export!(Component);

impl eventfd_test_programs::p3::exports::wasi::cli::run::Guest for Component {
    async fn run() -> Result<(), ()> {
        let reads: usize = eventfd_test_programs::args()
            .first()
            .and_then(|n| n.parse().ok())
            .expect("usage: async_drain READS");
        let (jobs, done) = (preopen("jobs"), preopen("done"));
        let taken: u64 = join_all((0..reads).map(|_| jobs.read()))
            .await
            .into_iter()
            .map(|read| read.expect("read jobs"))
            .sum();
        done.write(taken).await.expect("write done");
        println!("async_drain: {reads} reads in flight at once took {taken}");
        Ok(())
    }
}

fn main() {}
