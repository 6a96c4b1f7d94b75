//! Creates eventfds (each with a dup) and holds them, then ends as told:
//!
//! - `hoard N [end]`: creates N eventfds, then ends: `return` (default),
//!   `exit` (exit code 3), `trap`, or `block` (a blocking read of preopen
//!   `in` while holding everything).
//! - `hoard until-error`: creates until `create` or `dup` fails and prints
//!   `hoard: N descriptors, then <error>`.

use eventfd_test_programs::{args, preopen, CreateFlags, Eventfd};

fn main() {
    let args = args();
    let mut held: Vec<Eventfd> = Vec::new();
    if args.first().map(String::as_str) == Some("until-error") {
        let error = loop {
            let fd = match Eventfd::create(0, CreateFlags::empty()) {
                Ok(fd) => fd,
                Err(e) => break e,
            };
            let dup = fd.dup();
            held.push(fd);
            match dup {
                Ok(dup) => held.push(dup),
                Err(e) => break e,
            }
        };
        println!("hoard: {} descriptors, then {}", held.len(), error.name());
        return;
    }
    let n: usize = args.first().map_or(10, |n| n.parse().expect("count"));
    for _ in 0..n {
        let fd = Eventfd::create(1, CreateFlags::SEMAPHORE).expect("create");
        held.push(fd.dup().expect("dup"));
        held.push(fd);
    }
    match args.get(1).map(String::as_str) {
        None | Some("return") => {}
        Some("exit") => std::process::exit(3),
        Some("trap") => panic!("trapping while holding {} descriptors", held.len()),
        Some("block") => {
            preopen("in").read().expect("read");
        }
        Some(other) => panic!("unknown ending {other}"),
    }
}
