//! Differential test: the same random operations on our descriptions and on
//! the real kernel's eventfds, compared result by result (values, errnos,
//! whether the operation would wait) and state by state (count, flags,
//! sharing, as `/proc/self/fdinfo` shows the kernel's).

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use wasi_eventfd::{CreateFlags, DescriptionTable, Descriptor, Errno, MAX_COUNT};

/// A small deterministic generator (splitmix64), so a failing seed replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A kernel eventfd descriptor, closed on drop.
struct KernelFd(i32);

impl Drop for KernelFd {
    fn drop(&mut self) {
        // SAFETY: the descriptor is ours and closed only here.
        unsafe { libc::close(self.0) };
    }
}

/// What `/proc/self/fdinfo` says of a kernel eventfd.
#[derive(Debug, PartialEq)]
struct KernelInfo {
    count: u64,
    id: u64,
    semaphore: bool,
    nonblocking: bool,
    cloexec: bool,
}

impl KernelFd {
    fn info(&self) -> KernelInfo {
        let text = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", self.0)).unwrap();
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .map(str::trim)
                .unwrap_or_else(|| panic!("no {name} in fdinfo:\n{text}"))
        };
        let flags = u32::from_str_radix(field("flags:"), 8).unwrap();
        KernelInfo {
            count: u64::from_str_radix(field("eventfd-count:"), 16).unwrap(),
            id: field("eventfd-id:").parse().unwrap(),
            semaphore: field("eventfd-semaphore:") == "1",
            nonblocking: flags & libc::O_NONBLOCK as u32 != 0,
            cloexec: flags & libc::O_CLOEXEC as u32 != 0,
        }
    }
}

fn errno() -> Errno {
    match std::io::Error::last_os_error().raw_os_error() {
        Some(libc::EINVAL) => Errno::Inval,
        Some(libc::EAGAIN) => Errno::Again,
        other => panic!("unexpected errno {other:?}"),
    }
}

/// Polls a future once: `None` if it would wait.
fn poll_once<T>(future: impl Future<Output = T>) -> Option<T> {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(value) => Some(value),
        Poll::Pending => None,
    }
}

struct Pair {
    ours: Descriptor,
    kernel: KernelFd,
}

/// Runs `ops` random operations from `seed` and panics at the first
/// divergence, naming the seed and the step. Returns how many operations
/// were compared: all of them, each by its result (an operation that would
/// block in the kernel is compared as "both would wait" and not issued).
pub fn run(seed: u64, ops: usize) -> usize {
    let mut compared = 0;
    let mut rng = Rng(seed);
    let table = DescriptionTable::new();
    let mut pairs: Vec<Pair> = Vec::new();
    for step in 0..ops {
        compared += 1;
        let ctx = |what: &str| format!("seed {seed}, step {step}: {what}");
        let op = rng.below(100);
        if pairs.is_empty() || op < 8 {
            // create, sometimes with an unknown flag bit
            let initval = match rng.below(4) {
                0 => 0,
                1 => rng.below(4) as u32,
                2 => u32::MAX,
                _ => rng.next() as u32,
            };
            let mut bits = 0u32;
            for flag in [
                CreateFlags::SEMAPHORE,
                CreateFlags::NONBLOCK,
                CreateFlags::CLOEXEC,
            ] {
                if rng.below(2) == 0 {
                    bits |= flag.bits();
                }
            }
            if rng.below(10) == 0 {
                bits |= 1 << rng.below(32);
            }
            let ours = CreateFlags::from_bits(bits)
                .ok_or(Errno::Inval)
                .and_then(|flags| table.create(initval, flags));
            // SAFETY: plain system call.
            let fd = unsafe { libc::eventfd(initval, bits as i32) };
            match ours {
                Ok(ours) => {
                    assert!(
                        fd >= 0,
                        "{}",
                        ctx(&format!(
                            "eventfd({initval}, {bits:#x}) failed in the kernel only"
                        ))
                    );
                    pairs.push(Pair {
                        ours,
                        kernel: KernelFd(fd),
                    });
                }
                Err(e) => {
                    assert_eq!(
                        fd,
                        -1,
                        "{}",
                        ctx(&format!("eventfd({initval}, {bits:#x}) failed only here"))
                    );
                    assert_eq!(errno(), e, "{}", ctx("create errno"));
                }
            }
            continue;
        }
        let i = rng.below(pairs.len() as u64) as usize;
        let kernel_before = pairs[i].kernel.info();
        match op {
            8..=37 => {
                // write
                let count = kernel_before.count;
                let value = match rng.below(8) {
                    0 => 0,
                    1 => 1,
                    2 => u64::MAX,
                    3 => MAX_COUNT,
                    4 => MAX_COUNT - count,
                    5 => (MAX_COUNT - count).saturating_add(1),
                    6 => rng.below(1000),
                    _ => rng.next(),
                };
                let ours = poll_once(pairs[i].ours.write(value));
                let kernel_would_wait = !kernel_before.nonblocking
                    && value != u64::MAX
                    && count.checked_add(value).is_none_or(|sum| sum > MAX_COUNT);
                if kernel_would_wait {
                    assert_eq!(
                        ours,
                        None,
                        "{}",
                        ctx(&format!("write({value}) at {count} must wait"))
                    );
                    continue;
                }
                // SAFETY: writes 8 bytes from a live u64.
                let n = unsafe { libc::write(pairs[i].kernel.0, (&value as *const u64).cast(), 8) };
                let kernel = if n == 8 { Ok(()) } else { Err(errno()) };
                assert_eq!(
                    ours,
                    Some(kernel),
                    "{}",
                    ctx(&format!("write({value}) at count {count}"))
                );
            }
            38..=67 => {
                // read
                let ours = poll_once(pairs[i].ours.read());
                if !kernel_before.nonblocking && kernel_before.count == 0 {
                    assert_eq!(ours, None, "{}", ctx("a blocking read of 0 must wait"));
                    continue;
                }
                let mut value = 0u64;
                // SAFETY: reads 8 bytes into a live u64.
                let n =
                    unsafe { libc::read(pairs[i].kernel.0, (&mut value as *mut u64).cast(), 8) };
                let kernel = if n == 8 { Ok(value) } else { Err(errno()) };
                assert_eq!(
                    ours,
                    Some(kernel),
                    "{}",
                    ctx(&format!("read at count {}", kernel_before.count))
                );
            }
            68..=77 => {
                // dup
                // SAFETY: plain system call on a live descriptor.
                let fd = unsafe { libc::dup(pairs[i].kernel.0) };
                assert!(fd >= 0);
                let ours = pairs[i].ours.dup();
                pairs.push(Pair {
                    ours,
                    kernel: KernelFd(fd),
                });
            }
            _ if pairs.len() > 24 && op.is_multiple_of(2) => {
                // keep the set small enough to compare fully at every step
                pairs.swap_remove(i);
            }
            78..=87 => {
                // close
                pairs.swap_remove(i);
            }
            88..=93 => {
                // fcntl(F_SETFL), with or without O_NONBLOCK
                let on = rng.below(2) == 0;
                let fd = pairs[i].kernel.0;
                // SAFETY: plain system calls on a live descriptor.
                unsafe {
                    let flags = libc::fcntl(fd, libc::F_GETFL);
                    let flags = if on {
                        flags | libc::O_NONBLOCK
                    } else {
                        flags & !libc::O_NONBLOCK
                    };
                    assert_eq!(libc::fcntl(fd, libc::F_SETFL, flags), 0);
                }
                pairs[i].ours.set_nonblocking(on);
            }
            _ => {
                // fcntl(F_SETFD), with or without FD_CLOEXEC
                let on = rng.below(2) == 0;
                // SAFETY: plain system call on a live descriptor.
                let r = unsafe {
                    libc::fcntl(
                        pairs[i].kernel.0,
                        libc::F_SETFD,
                        if on { libc::FD_CLOEXEC } else { 0 },
                    )
                };
                assert_eq!(r, 0);
                pairs[i].ours.set_cloexec(on);
            }
        }
        compare_state(&table, &pairs, &ctx(""));
    }
    compared
}

/// Every descriptor's state, and which descriptors share a description,
/// must match the kernel's.
fn compare_state(table: &DescriptionTable, pairs: &[Pair], ctx: &str) {
    // Our description id for each kernel description id: sharing must be a
    // one-to-one match.
    let mut ids = std::collections::HashMap::new();
    let mut ours_seen = std::collections::HashSet::new();
    for (i, pair) in pairs.iter().enumerate() {
        let ours = pair.ours.info();
        let kernel = pair.kernel.info();
        assert_eq!(
            (ours.count, ours.semaphore, ours.nonblocking, ours.cloexec),
            (
                kernel.count,
                kernel.semaphore,
                kernel.nonblocking,
                kernel.cloexec
            ),
            "{ctx} descriptor {i} (count, semaphore, nonblocking, cloexec)"
        );
        match ids.get(&kernel.id) {
            Some(&id) => assert_eq!(
                id, ours.id,
                "{ctx} descriptor {i} shares a description in the kernel only"
            ),
            None => {
                assert!(
                    ours_seen.insert(ours.id),
                    "{ctx} descriptor {i} shares a description here only"
                );
                ids.insert(kernel.id, ours.id);
            }
        }
    }
    assert_eq!(table.len(), ids.len(), "{ctx} live descriptions");
}

#[test]
fn differential_against_the_kernel() {
    let compared: usize = (1..=8).map(|seed| run(seed, 3000)).sum();
    assert_eq!(compared, 8 * 3000);
}

/// The long run: `cargo xtask test -- --ignored differential_long --nocapture`.
#[test]
#[ignore = "long: a million operations"]
fn differential_long() {
    let seeds = 1000u64..1100;
    let runs = seeds.end - seeds.start;
    // run() panics at the first divergence, so finishing means none.
    let compared: usize = seeds.map(|seed| run(seed, 10_000)).sum();
    println!("differential: {compared} operations in {runs} runs compared with the kernel, 0 divergences");
}
