//! Computes without ever waiting until preopen `stop` is non-zero. It only
//! looks at `stop` (a call that never blocks), so it never suspends on its
//! own: other guests progress only if the host preempts it.

use eventfd_test_programs::preopen;

fn main() {
    let stop = preopen("stop");
    let mut x = 1u64;
    while stop.info().count == 0 {
        for i in 0..100_000u64 {
            x = (x ^ i).wrapping_mul(0x100_0000_01b3);
        }
    }
    println!("spin: stopped ({x:x})");
}
