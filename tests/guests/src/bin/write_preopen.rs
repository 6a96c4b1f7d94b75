//! Writes each argument's value to preopen `out` (blocking).
//! With no arguments, writes 1.

use eventfd_test_programs::{args, preopen};

fn main() {
    let out = preopen("out");
    let values: Vec<u64> = args().iter().map(|v| v.parse().expect("value")).collect();
    for value in if values.is_empty() { vec![1] } else { values } {
        out.write(value).expect("write `out`");
    }
}
