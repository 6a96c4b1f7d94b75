//! The eventfd rules through the experimental component-model async
//! interface (`async-types`), and what only it can do: many reads in flight
//! in one guest, reads and writes that wait while other tasks run, and
//! cancelled reads that consume nothing. Prints `ok <rule>` per rule;
//! panics (traps) on the first that does not hold.

use std::future::Future;
use std::pin::Pin;

use eventfd_test_programs::p3::{CreateFlags, ErrorCode, Eventfd};
use eventfd_test_programs::MAX_COUNT;
use futures::future::join_all;
use futures::{join, poll};

struct Component;

eventfd_test_programs::p3::export!(Component);

impl eventfd_test_programs::p3::exports::wasi::cli::run::Guest for Component {
    async fn run() -> Result<(), ()> {
        rules().await;
        many_reads_in_flight().await;
        cancelled_reads_consume_nothing().await;
        waits_let_other_tasks_run().await;
        readiness().await;
        Ok(())
    }
}

fn main() {}

fn create(initval: u32, flags: CreateFlags) -> Eventfd {
    Eventfd::create(initval, flags).expect("create")
}

fn ok(rule: &str) {
    println!("ok {rule}");
}

/// Starts `future` (the call is made at its first poll) and checks that it
/// waits.
async fn started<F: Future>(future: F) -> Pin<Box<F>> {
    let mut future = Box::pin(future);
    assert!(poll!(future.as_mut()).is_pending(), "the call did not wait");
    future
}

async fn rules() {
    let fd = create(0, CreateFlags::NONBLOCK);
    assert_eq!(fd.read().await, Err(ErrorCode::WouldBlock));
    ok("read of 0 on a non-blocking eventfd is would-block");

    assert_eq!(fd.write(u64::MAX).await, Err(ErrorCode::InvalidArgument));
    assert_eq!(fd.info().count, 0);
    ok("write of u64::MAX is invalid-argument and changes nothing");

    fd.write(MAX_COUNT).await.expect("write up to the maximum");
    assert_eq!(fd.write(1).await, Err(ErrorCode::WouldBlock));
    fd.write(0).await.expect("write of 0 when full");
    assert_eq!(fd.read().await, Ok(MAX_COUNT));
    ok("a write past the maximum is would-block and adds nothing");

    let semaphore = create(3, CreateFlags::SEMAPHORE | CreateFlags::NONBLOCK);
    for _ in 0..3 {
        assert_eq!(semaphore.read().await, Ok(1));
    }
    assert_eq!(semaphore.read().await, Err(ErrorCode::WouldBlock));
    ok("semaphore mode reads 1 and decrements");

    let original = create(7, CreateFlags::CLOEXEC);
    let dup = original.dup().expect("dup");
    assert_eq!(original.info().id, dup.info().id);
    assert!(original.info().cloexec && !dup.info().cloexec);
    dup.set_nonblocking(true);
    assert!(original.info().nonblocking);
    assert_eq!(dup.read().await, Ok(7));
    assert_eq!(original.read().await, Err(ErrorCode::WouldBlock));
    original.set_cloexec(false);
    assert!(!original.info().cloexec);
    ok("dup shares the description: counter and non-blocking; close-on-exec is per descriptor");

    assert_eq!(
        Eventfd::create(0, CreateFlags::all()).map(|fd| fd.info().semaphore),
        Ok(true)
    );
    ok("create takes every flag");
}

async fn many_reads_in_flight() {
    const READS: usize = 64;
    let fd = create(0, CreateFlags::SEMAPHORE);
    let reads = join_all((0..READS).map(|_| fd.read()));
    let writes = async {
        for _ in 0..READS {
            fd.write(1).await.expect("write 1");
        }
    };
    let (results, ()) = join!(reads, writes);
    assert_eq!(results.len(), READS);
    assert!(results.iter().all(|r| *r == Ok(1)), "{results:?}");
    assert_eq!(fd.info().count, 0);
    ok("64 concurrent reads of a semaphore, 64 writes of 1: each read completes once, with 1");

    let reads = join_all((0..READS).map(|_| fd.read()));
    let write_all = async { fd.write(READS as u64).await.expect("write 64") };
    let (results, ()) = join!(reads, write_all);
    assert!(results.iter().all(|r| *r == Ok(1)), "{results:?}");
    assert_eq!(fd.info().count, 0);
    ok("64 concurrent reads of a semaphore, one write of 64: all complete, counter 0");
}

async fn cancelled_reads_consume_nothing() {
    let fd = create(0, CreateFlags::empty());
    let pending = started(fd.read()).await;
    drop(pending);
    fd.write(5).await.expect("write 5");
    assert_eq!(fd.info().count, 5);
    assert_eq!(fd.read().await, Ok(5));
    ok("a cancelled pending read consumes nothing");

    let semaphore = create(0, CreateFlags::SEMAPHORE);
    let mut pending = Vec::new();
    for _ in 0..32 {
        pending.push(started(semaphore.read()).await);
    }
    let kept = pending.split_off(16);
    drop(pending); // cancels 16 of them
    let results = join!(join_all(kept), async {
        semaphore.write(32).await.expect("write 32")
    })
    .0;
    assert!(results.iter().all(|r| *r == Ok(1)), "{results:?}");
    assert_eq!(semaphore.info().count, 16);
    ok("16 of 32 pending semaphore reads cancelled, then a write of 32: 16 complete, 16 counts left");
}

async fn waits_let_other_tasks_run() {
    let fd = create(0, CreateFlags::empty());
    fd.write(MAX_COUNT).await.expect("fill");
    let blocked_write = started(fd.write(5)).await;
    // This task runs while the write waits for room.
    assert_eq!(fd.info().count, MAX_COUNT);
    let (written, read) = join!(blocked_write, fd.read());
    assert_eq!((written, read), (Ok(()), Ok(MAX_COUNT)));
    assert_eq!(fd.info().count, 5);
    ok("a write that does not fit waits, then completes after a read makes room");

    let empty = create(0, CreateFlags::empty());
    let blocked_read = started(empty.read()).await;
    empty.write(3).await.expect("write 3");
    assert_eq!(blocked_read.await, Ok(3));
    ok("a read of 0 waits, then completes with the count of the write");
}

async fn readiness() {
    let fd = create(0, CreateFlags::empty());
    let readable = started(fd.readable()).await;
    fd.write(2).await.expect("write 2");
    readable.await;
    assert_eq!(fd.info().count, 2);
    fd.readable().await; // ready at once
    ok("readable waits for a count and consumes nothing");

    fd.write(MAX_COUNT - 2).await.expect("fill");
    let writable = started(fd.writable()).await;
    assert_eq!(fd.read().await, Ok(MAX_COUNT));
    writable.await;
    fd.writable().await; // ready at once
    ok("writable waits for room");
}
