//! Cases ported from the well-known eventfd test suites, run through the
//! component interface. `conformance CASE` runs one case; cases that need
//! two processes (fork, threads) have one role per guest, sharing preopens.
//!
//! - LTP: testcases/kernel/syscalls/eventfd/eventfd01-05, eventfd2/eventfd2_01-03
//! - gVisor: test/syscalls/linux/eventfd.cc and the eventfd parts of epoll.cc,
//!   fcntl.cc and dup.cc (epoll becomes `wasi:io/poll` with the pollables)
//! - Miri: tests/pass-dep/libc/libc-eventfd.rs
//!
//! Byte-level cases (4-byte reads, 128-byte reads and writes) have no
//! meaning for the typed interface; the core-module ABI tests port those.

use eventfd_test_programs::{args, poll, preopen, CreateFlags, ErrorCode, Eventfd, MAX_COUNT};

fn nonblock() -> CreateFlags {
    CreateFlags::NONBLOCK
}

/// `poll` on `pollables`, without waiting, ready indices ascending.
fn ready_now(pollables: &[&poll::Pollable]) -> Vec<u32> {
    (0..pollables.len() as u32)
        .filter(|&i| pollables[i as usize].ready())
        .collect()
}

fn run(case: &str) {
    match case {
        // LTP eventfd01: the initval is read back, then EAGAIN.
        "ltp_eventfd01" => {
            let fd = Eventfd::create(10, nonblock()).unwrap();
            assert_eq!(fd.read(), Ok(10));
            assert_eq!(fd.read(), Err(ErrorCode::WouldBlock));
        }
        // LTP eventfd02: write/read, the maximum, EAGAIN past it, EINVAL for u64::MAX.
        "ltp_eventfd02" => {
            let fd = Eventfd::create(0, nonblock()).unwrap();
            fd.write(12).unwrap();
            assert_eq!(fd.read(), Ok(12));
            fd.write(MAX_COUNT).unwrap();
            assert_eq!(fd.write(MAX_COUNT), Err(ErrorCode::WouldBlock));
            assert_eq!(fd.write(u64::MAX), Err(ErrorCode::InvalidArgument));
        }
        // LTP eventfd03: select-readable iff the counter is above 0.
        "ltp_eventfd03" => {
            let fd = Eventfd::create(0, nonblock()).unwrap();
            let readable = fd.subscribe_readable();
            fd.write(10).unwrap();
            assert!(readable.ready());
            fd.read().unwrap();
            assert!(!readable.ready());
        }
        // LTP eventfd04: select-writable until the counter is at the maximum.
        "ltp_eventfd04" => {
            let fd = Eventfd::create(0, nonblock()).unwrap();
            let writable = fd.subscribe_writable();
            fd.write(10).unwrap();
            assert!(writable.ready());
            fd.read().unwrap();
            fd.write(MAX_COUNT).unwrap();
            assert!(!writable.ready());
        }
        // LTP eventfd05 (fork): the child writes 0xdeadbeef to the shared
        // counter; the parent reads it.
        "ltp_eventfd05_child" => preopen("shared").write(0xdead_beef).unwrap(),
        "ltp_eventfd05_parent" => assert_eq!(preopen("shared").read(), Ok(0xdead_beef)),
        // LTP eventfd2_01: EFD_CLOEXEC shows as close-on-exec, and only then.
        "ltp_eventfd2_01" => {
            assert!(!Eventfd::create(1, CreateFlags::empty()).unwrap().info().cloexec);
            assert!(Eventfd::create(1, CreateFlags::CLOEXEC).unwrap().info().cloexec);
        }
        // LTP eventfd2_02: EFD_NONBLOCK shows as non-blocking, and only then.
        "ltp_eventfd2_02" => {
            assert!(!Eventfd::create(1, CreateFlags::empty()).unwrap().info().nonblocking);
            assert!(Eventfd::create(1, CreateFlags::NONBLOCK).unwrap().info().nonblocking);
        }
        // LTP eventfd2_03: two semaphore players cross-post without deadlock.
        "ltp_eventfd2_03_a" | "ltp_eventfd2_03_b" => {
            let (mine, theirs) = if case.ends_with('a') { ("fd1", "fd2") } else { ("fd2", "fd1") };
            let (mine, theirs) = (preopen(mine), preopen(theirs));
            mine.write(1).unwrap();
            assert_eq!(theirs.read(), Ok(1));
            mine.write(5).unwrap();
            for _ in 0..5 {
                assert_eq!(theirs.read(), Ok(1));
            }
        }
        // gVisor eventfd.cc Nonblock.
        "gvisor_nonblock" => {
            let fd = Eventfd::create(0, CreateFlags::NONBLOCK | CreateFlags::SEMAPHORE).unwrap();
            assert_eq!(fd.read(), Err(ErrorCode::WouldBlock));
            fd.write(1).unwrap();
            assert_eq!(fd.read(), Ok(1));
            assert_eq!(fd.read(), Err(ErrorCode::WouldBlock));
        }
        // gVisor eventfd.cc BlockingWrite (blocking reads woken by writes):
        // the reader role does three blocking semaphore reads.
        "gvisor_blocking_write_reader" => {
            let fd = preopen("sem");
            for _ in 0..3 {
                assert_eq!(fd.read(), Ok(1));
            }
        }
        "gvisor_blocking_write_writer" => {
            let fd = preopen("sem");
            for _ in 0..3 {
                fd.write(1).unwrap();
            }
        }
        // gVisor eventfd.cc NotifyNonZero: a non-zero counter is readable,
        // and a write to a still non-zero counter keeps it readable.
        "gvisor_notify_non_zero" => {
            let fd = Eventfd::create(7, CreateFlags::NONBLOCK | CreateFlags::SEMAPHORE).unwrap();
            let readable = fd.subscribe_readable();
            assert_eq!(poll::poll(&[&readable]), [0]);
            assert_eq!(fd.read(), Ok(1));
            assert_eq!(fd.info().count, 6);
            fd.write(1).unwrap();
            assert_eq!(poll::poll(&[&readable]), [0]);
            assert_eq!(fd.read(), Ok(1));
        }
        // gVisor epoll.cc AllWritable / LastReadable / LastNonWritable.
        "gvisor_epoll_all_writable" | "gvisor_epoll_last_readable" | "gvisor_epoll_last_non_writable" => {
            const N: usize = 8;
            let fds: Vec<Eventfd> = (0..N).map(|_| Eventfd::create(0, nonblock()).unwrap()).collect();
            let readable: Vec<_> = fds.iter().map(|fd| fd.subscribe_readable()).collect();
            let writable: Vec<_> = fds.iter().map(|fd| fd.subscribe_writable()).collect();
            let all: Vec<u32> = (0..N as u32).collect();
            let rs: Vec<&poll::Pollable> = readable.iter().collect();
            let ws: Vec<&poll::Pollable> = writable.iter().collect();
            match case {
                "gvisor_epoll_all_writable" => {
                    assert_eq!(ready_now(&ws), all);
                    assert_eq!(ready_now(&rs), Vec::<u32>::new());
                }
                "gvisor_epoll_last_readable" => {
                    fds[N - 1].write(1).unwrap();
                    assert_eq!(ready_now(&rs), [N as u32 - 1]);
                    assert_eq!(ready_now(&ws), all);
                }
                _ => {
                    fds[N - 1].write(MAX_COUNT).unwrap();
                    assert_eq!(ready_now(&rs), [N as u32 - 1]);
                    assert_eq!(ready_now(&ws), all[..N - 1]);
                    fds[N - 1].read().unwrap();
                    assert_eq!(ready_now(&ws), all);
                    assert_eq!(ready_now(&rs), Vec::<u32>::new());
                }
            }
        }
        // gVisor epoll.cc WaitThenUnblock: a poll waiting on an idle
        // eventfd returns once another program writes it.
        "gvisor_epoll_wait_then_unblock" => {
            let fd = preopen("shared");
            let readable = fd.subscribe_readable();
            assert_eq!(poll::poll(&[&readable]), [0]);
            assert_eq!(fd.read(), Ok(1));
        }
        // gVisor fcntl.cc and dup.cc: close-on-exec per descriptor.
        "gvisor_fcntl_dup_cloexec" => {
            let fd = Eventfd::create(0, CreateFlags::CLOEXEC).unwrap();
            assert!(fd.info().cloexec);
            fd.set_cloexec(false);
            assert!(!fd.info().cloexec);
            fd.set_cloexec(true);
            let dup = fd.dup().unwrap();
            assert!(!dup.info().cloexec, "dup clears close-on-exec");
            dup.set_cloexec(true);
            fd.set_cloexec(false);
            assert!(dup.info().cloexec && !fd.info().cloexec, "descriptor flags are independent");
        }
        // Miri libc-eventfd.rs test_read_write.
        "miri_test_read_write" => {
            let fd = Eventfd::create(0, CreateFlags::NONBLOCK | CreateFlags::CLOEXEC).unwrap();
            fd.write(1).unwrap();
            fd.write(0).unwrap();
            assert_eq!(fd.read(), Ok(1));
            assert_eq!(fd.read(), Err(ErrorCode::WouldBlock));
            fd.write(2).unwrap();
            assert_eq!(fd.read(), Ok(2));
            assert_eq!(fd.write(u64::MAX), Err(ErrorCode::InvalidArgument));
        }
        // Miri test_initval.
        "miri_test_initval" => {
            assert_eq!(Eventfd::create(10, CreateFlags::empty()).unwrap().read(), Ok(10));
        }
        // Miri test_blocking_read: the reader blocks until the writer writes.
        "miri_test_blocking_read_reader" => assert_eq!(preopen("shared").read(), Ok(1)),
        "miri_test_blocking_read_writer" => preopen("shared").write(1).unwrap(),
        // Miri test_blocking_write / test_two_threads_blocked_on_eventfd: the
        // counter is full (the host fills it); writers of 1 block until the
        // reader empties it.
        "miri_test_blocking_write_writer" => preopen("shared").write(1).unwrap(),
        "miri_test_blocking_write_reader" => assert_eq!(preopen("shared").read(), Ok(MAX_COUNT)),
        // Miri test_close_while_blocked: a read blocked on one descriptor is
        // completed through another after the first was closed elsewhere.
        "miri_test_close_while_blocked_reader" => assert_eq!(preopen("shared").read(), Ok(1)),
        "miri_test_close_while_blocked_closer" => {
            let fd = preopen("shared");
            let dup = fd.dup().unwrap();
            drop(fd);
            dup.write(1).unwrap();
        }
        other => panic!("no case named {other}"),
    }
}

fn main() {
    let case = args().into_iter().next().expect("usage: conformance CASE");
    run(&case);
    println!("ok {case}");
}
