//! Checks `get-eventfds` against a preopen `shared` with count 0: every call
//! hands out fresh descriptors of the same description, with close-on-exec
//! clear. Leaves the description non-blocking with count 2, for the host to
//! check.

use eventfd_test_programs::{get_eventfds, preopen, ErrorCode};

fn main() {
    let first = preopen("shared");
    let second = preopen("shared");
    let names: Vec<String> = get_eventfds().into_iter().map(|(_, name)| name).collect();
    assert_eq!(names, ["shared"]);
    let (a, b) = (first.info(), second.info());
    assert_eq!(a.id, b.id, "both calls reach the same description");
    assert!(!a.cloexec && !b.cloexec);
    assert_eq!(a.count, 0);
    first.set_cloexec(true);
    assert!(
        !second.info().cloexec,
        "fresh descriptors have their own close-on-exec"
    );
    second.set_nonblocking(true);
    assert_eq!(first.read(), Err(ErrorCode::WouldBlock));
    first.write(1).unwrap();
    second.write(1).unwrap();
    assert_eq!(first.info().count, 2);
}
