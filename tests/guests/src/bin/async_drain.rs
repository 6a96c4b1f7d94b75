//! A WASI 0.3 guest with N reads of the shared semaphore eventfd `jobs` in
//! flight at once (N is its argument); when all have completed it adds
//! their sum to `done`. Whoever writes `jobs` (another guest, the host)
//! wakes its reads.

use eventfd_test_programs::p3::{get_eventfds, Eventfd};
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

fn preopen(name: &str) -> Eventfd {
    get_eventfds()
        .into_iter()
        .find_map(|(fd, n)| (n == name).then_some(fd))
        .unwrap_or_else(|| panic!("no eventfd named `{name}`"))
}

fn main() {}
