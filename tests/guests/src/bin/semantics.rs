//! Every eventfd rule that one guest can observe on its own, checked through
//! the component interface. Prints `ok NAME` per case; any failure traps.
//! With an argument, runs only the case of that name.

use eventfd_test_programs::{args, poll, CreateFlags, ErrorCode, Eventfd, MAX_COUNT};

/// The indices `poll` reports ready, in ascending order (`poll` itself
/// promises no order).
fn ready(pollables: &[&poll::Pollable]) -> Vec<u32> {
    let mut ready = poll::poll(pollables);
    ready.sort_unstable();
    ready
}

fn nonblocking(initval: u32) -> Eventfd {
    Eventfd::create(initval, CreateFlags::NONBLOCK).expect("create")
}

fn counter_read_returns_and_resets() {
    let fd = nonblocking(0);
    fd.write(1).unwrap();
    fd.write(0).unwrap();
    fd.write(41).unwrap();
    assert_eq!(fd.read(), Ok(42));
    assert_eq!(fd.info().count, 0);
    assert_eq!(fd.read(), Err(ErrorCode::WouldBlock));
}

fn initval_is_the_first_count() {
    let fd = Eventfd::create(10, CreateFlags::empty()).unwrap();
    assert_eq!(fd.info().count, 10);
    assert_eq!(fd.read(), Ok(10));
    let fd = nonblocking(u32::MAX);
    assert_eq!(fd.read(), Ok(u64::from(u32::MAX)));
}

fn semaphore_reads_one_and_decrements() {
    let fd = Eventfd::create(3, CreateFlags::SEMAPHORE | CreateFlags::NONBLOCK).unwrap();
    assert!(fd.info().semaphore);
    for left in [2, 1, 0] {
        assert_eq!(fd.read(), Ok(1));
        assert_eq!(fd.info().count, left);
    }
    assert_eq!(fd.read(), Err(ErrorCode::WouldBlock));
    fd.write(5).unwrap();
    assert_eq!(fd.read(), Ok(1));
    assert_eq!(fd.info().count, 4);
}

fn blocking_read_of_nonzero_does_not_wait() {
    let fd = Eventfd::create(7, CreateFlags::empty()).unwrap();
    assert_eq!(fd.read(), Ok(7));
    let sem = Eventfd::create(2, CreateFlags::SEMAPHORE).unwrap();
    assert_eq!(sem.read(), Ok(1));
    assert_eq!(sem.read(), Ok(1));
}

fn write_max_is_invalid_before_anything_else() {
    // Non-blocking and empty, non-blocking and full, and blocking and full:
    // u64::MAX is rejected first, so the last one must not wait.
    let fd = nonblocking(0);
    assert_eq!(fd.write(u64::MAX), Err(ErrorCode::InvalidArgument));
    assert_eq!(fd.info().count, 0);
    fd.write(MAX_COUNT).unwrap();
    assert_eq!(fd.write(u64::MAX), Err(ErrorCode::InvalidArgument));
    let full = Eventfd::create(0, CreateFlags::empty()).unwrap();
    full.write(MAX_COUNT).unwrap();
    assert_eq!(full.write(u64::MAX), Err(ErrorCode::InvalidArgument));
    assert_eq!(full.info().count, MAX_COUNT);
}

fn write_past_max_count_would_block_and_adds_nothing() {
    let fd = nonblocking(0);
    fd.write(MAX_COUNT - 5).unwrap();
    assert_eq!(fd.write(6), Err(ErrorCode::WouldBlock));
    assert_eq!(fd.info().count, MAX_COUNT - 5);
    fd.write(5).unwrap();
    assert_eq!(fd.info().count, MAX_COUNT);
    assert_eq!(fd.write(1), Err(ErrorCode::WouldBlock));
    fd.write(0).unwrap();
    assert_eq!(fd.info().count, MAX_COUNT);
    assert_eq!(fd.read(), Ok(MAX_COUNT));
    fd.write(MAX_COUNT).unwrap();
}

fn dup_shares_the_description() {
    let a = Eventfd::create(0, CreateFlags::NONBLOCK | CreateFlags::CLOEXEC).unwrap();
    let b = a.dup().unwrap();
    let (ia, ib) = (a.info(), b.info());
    assert_eq!(ia.id, ib.id);
    assert!(
        ia.cloexec,
        "EFD_CLOEXEC sets close-on-exec on the new descriptor"
    );
    assert!(!ib.cloexec, "dup clears close-on-exec");
    b.write(3).unwrap();
    assert_eq!(a.info().count, 3);
    assert_eq!(a.read(), Ok(3));
    assert_eq!(b.read(), Err(ErrorCode::WouldBlock));
    let other = nonblocking(0);
    assert_ne!(
        other.info().id,
        ia.id,
        "each create makes a new description"
    );
}

fn nonblock_is_the_descriptions_cloexec_the_descriptors() {
    let a = Eventfd::create(0, CreateFlags::empty()).unwrap();
    let b = a.dup().unwrap();
    assert!(!a.info().nonblocking);
    b.set_nonblocking(true);
    assert!(a.info().nonblocking, "set-nonblocking is seen by every dup");
    assert_eq!(a.read(), Err(ErrorCode::WouldBlock));
    a.set_nonblocking(false);
    assert!(!b.info().nonblocking);
    b.set_cloexec(true);
    assert!(b.info().cloexec);
    assert!(!a.info().cloexec, "set-cloexec changes one descriptor only");
    a.set_cloexec(true);
    b.set_cloexec(false);
    assert!(a.info().cloexec && !b.info().cloexec);
}

fn description_outlives_dropped_descriptors() {
    let a = nonblocking(0);
    let b = a.dup().unwrap();
    let id = a.info().id;
    drop(a);
    b.write(9).unwrap();
    assert_eq!(b.info().id, id);
    assert_eq!(b.read(), Ok(9));
}

fn pollables_are_level_triggered() {
    let fd = nonblocking(0);
    let readable = fd.subscribe_readable();
    let writable = fd.subscribe_writable();
    assert!(!readable.ready());
    assert!(writable.ready());
    fd.write(2).unwrap();
    assert!(readable.ready());
    assert!(readable.ready(), "still ready: nothing has read it");
    assert_eq!(ready(&[&readable, &writable]), [0, 1]);
    fd.read().unwrap();
    assert!(!readable.ready());
    fd.write(MAX_COUNT - 1).unwrap();
    assert!(
        writable.ready(),
        "count MAX_COUNT-1: a write of 1 still fits"
    );
    fd.write(1).unwrap();
    assert!(
        !writable.ready(),
        "count MAX_COUNT: a write of 1 would block"
    );
    assert_eq!(ready(&[&readable, &writable]), [0]);
    fd.read().unwrap();
    assert!(writable.ready());
    drop((readable, writable));
}

fn poll_waits_for_any_of_several() {
    let (a, b) = (nonblocking(0), nonblocking(0));
    let ra = a.subscribe_readable();
    let rb = b.subscribe_readable();
    b.write(1).unwrap();
    assert_eq!(ready(&[&ra, &rb]), [1]);
    a.write(1).unwrap();
    assert_eq!(ready(&[&ra, &rb]), [0, 1]);
    // A pollable on a dup sees the shared counter.
    let dup = a.dup().unwrap();
    let rdup = dup.subscribe_readable();
    a.read().unwrap();
    assert!(!rdup.ready());
    drop((ra, rb, rdup));
}

const CASES: &[(&str, fn())] = &[
    (
        "counter_read_returns_and_resets",
        counter_read_returns_and_resets,
    ),
    ("initval_is_the_first_count", initval_is_the_first_count),
    (
        "semaphore_reads_one_and_decrements",
        semaphore_reads_one_and_decrements,
    ),
    (
        "blocking_read_of_nonzero_does_not_wait",
        blocking_read_of_nonzero_does_not_wait,
    ),
    (
        "write_max_is_invalid_before_anything_else",
        write_max_is_invalid_before_anything_else,
    ),
    (
        "write_past_max_count_would_block_and_adds_nothing",
        write_past_max_count_would_block_and_adds_nothing,
    ),
    ("dup_shares_the_description", dup_shares_the_description),
    (
        "nonblock_is_the_descriptions_cloexec_the_descriptors",
        nonblock_is_the_descriptions_cloexec_the_descriptors,
    ),
    (
        "description_outlives_dropped_descriptors",
        description_outlives_dropped_descriptors,
    ),
    (
        "pollables_are_level_triggered",
        pollables_are_level_triggered,
    ),
    (
        "poll_waits_for_any_of_several",
        poll_waits_for_any_of_several,
    ),
];

fn main() {
    let only = args().into_iter().next();
    let mut ran = 0;
    for (name, case) in CASES {
        if only.as_deref().is_some_and(|o| o != *name) {
            continue;
        }
        case();
        println!("ok {name}");
        ran += 1;
    }
    assert!(ran > 0, "no case named {only:?}");
}
