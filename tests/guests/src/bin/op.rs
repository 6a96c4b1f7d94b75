//! One blocking eventfd operation, for deadlock cases:
//! `op read NAME`, `op write NAME VALUE`, or `op read-own` (reads an
//! eventfd it creates itself, which nobody else can reach).

use eventfd_test_programs::{args, preopen, CreateFlags, Eventfd};

fn main() {
    let args = args();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["read", name] => println!("op: read {}", preopen(name).read().expect("read")),
        ["write", name, value] => {
            preopen(name).write(value.parse().expect("value")).expect("write");
            println!("op: wrote {value}");
        }
        ["read-own"] => {
            let own = Eventfd::create(0, CreateFlags::empty()).expect("create");
            println!("op: read {}", own.read().expect("read"));
        }
        _ => panic!("usage: op read NAME | op write NAME VALUE | op read-own"),
    }
}
