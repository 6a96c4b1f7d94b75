//! Prints `started_ms MS` (the wall clock, in milliseconds since the Unix
//! epoch, when it started), then computes forever without waiting: only
//! the host can stop it.

use std::time::{SystemTime, UNIX_EPOCH};

fn main() {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("a clock after 1970");
    println!("started_ms {}", now.as_millis());
    let mut x = 1u64;
    loop {
        for i in 0..100_000u64 {
            x = (x ^ i).wrapping_mul(0x100_0000_01b3);
        }
        std::hint::black_box(x);
    }
}
