//! One worker of the stress test: `stress OPS SEED` does OPS random
//! operations on the shared eventfds `sem` (semaphore, blocking) and `nb`
//! (counter, non-blocking), then adds what it wrote and what it read to the
//! counters `total_written` and `total_read`.
//!
//! Blocking semaphore reads never outnumber this guest's own semaphore
//! writes, so together the guests can never wait forever.

use eventfd_test_programs::{args, preopen, ErrorCode};

fn main() {
    let args = args();
    let ops: u64 = args.first().map_or(100_000, |n| n.parse().expect("ops"));
    let mut state: u64 = args.get(1).map_or(1, |s| s.parse().expect("seed")) | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (sem, nb) = (preopen("sem"), preopen("nb"));
    let (mut written, mut read) = (0u64, 0u64);
    let (mut sem_writes, mut sem_reads) = (0u64, 0u64);
    for _ in 0..ops {
        match next() % 4 {
            0 => {
                let v = next() % 4 + 1;
                sem.write(v).expect("write sem");
                written += v;
                sem_writes += v;
            }
            1 if sem_reads < sem_writes => {
                // Blocking: another guest may have taken the units we wrote.
                read += sem.read().expect("read sem");
                sem_reads += 1;
            }
            2 => {
                let v = next() % 100;
                nb.write(v).expect("write nb");
                written += v;
            }
            _ => match nb.read() {
                Ok(v) => read += v,
                Err(ErrorCode::WouldBlock) => {}
                Err(e) => panic!("read nb: {e:?}"),
            },
        }
    }
    preopen("total_written").write(written).expect("report written");
    preopen("total_read").write(read).expect("report read");
}
