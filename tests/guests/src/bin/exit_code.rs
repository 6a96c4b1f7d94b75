//! Exits with the code given as the first argument, or traps when it is
//! `trap`: exercises how the runner reports failing guests.

use eventfd_test_programs::args;

fn main() {
    match args().first().map(String::as_str) {
        Some("trap") => panic!("guest asked to trap"),
        Some(code) => std::process::exit(code.parse().expect("exit code")),
        None => {}
    }
}
