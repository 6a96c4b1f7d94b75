//! Capability safety: a guest given no preopens finds none, and the
//! eventfd it creates is its own. `isolated VALUE` writes VALUE to its own
//! eventfd, lets other guests run for a while, and must read back exactly
//! VALUE: nobody else could reach the counter.

use eventfd_test_programs::{args, get_eventfds, CreateFlags, Eventfd};

fn main() {
    let value: u64 = args().first().map_or(1, |v| v.parse().expect("value"));
    assert!(get_eventfds().is_empty(), "no preopens were shared");
    let own = Eventfd::create(0, CreateFlags::NONBLOCK).expect("create");
    own.write(value).expect("write");
    let mut spin = 0u64;
    for i in 0..200_000u64 {
        spin = spin.wrapping_add(i ^ own.info().count);
    }
    assert_eq!(own.read(), Ok(value), "spin {spin}");
}
