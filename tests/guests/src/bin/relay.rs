//! Reads preopen `in` (blocking) and writes each value read to preopen `out`
//! (blocking), as many times as the first argument says (default 1).

use eventfd_test_programs::{args, preopen};

fn main() {
    let rounds: u64 = args().first().map_or(1, |n| n.parse().expect("rounds"));
    let (input, output) = (preopen("in"), preopen("out"));
    for _ in 0..rounds {
        let value = input.read().expect("read `in`");
        output.write(value).expect("write `out`");
    }
}
