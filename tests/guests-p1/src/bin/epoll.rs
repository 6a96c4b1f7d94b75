//! The guest crate's `Epoll` on wasm32-wasip1, used as an event loop uses
//! it: two eventfds registered with different `data`, one level- and one
//! edge-triggered, timeouts of 0, of 30 ms and of 100 µs (rounded up to
//! 1 ms), `ONESHOT` re-armed by `modify`, errors as `io::Error`s, an epoll
//! inside another, stdout as a source, and a blocking wait woken by
//! `epoll-writer`'s write to the shared eventfd `wake` (it writes 50 ms
//! after this guest posts `ready`). Run with `--eventfd ready=0 --eventfd
//! wake=0 --with epoll-writer.wasm`; prints what each call gave. The
//! single-guest sequence printed the same natively on Linux (a C program
//! of the same calls, run on the machine the test was written on).

use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use wasi_eventfd_guest::{Epoll, EpollFlags, Event, EventFd, Events, Flags};

#[link(wasm_import_module = "wasi_eventfd")]
extern "C" {
    fn fcntl(fd: i32, cmd: i32, arg: i32) -> i32;
}

/// `fcntl(fd, F_GETFD)`: whether the number has close-on-exec.
fn cloexec(fd: &impl AsRawFd) -> bool {
    // SAFETY: a call of the host's import with plain integers.
    unsafe { fcntl(fd.as_raw_fd(), 1, 0) == 1 }
}

/// A wait of `max` events, that only looks; `(events, data)` of each.
fn look(epoll: &Epoll, max: usize) -> std::io::Result<Vec<(u32, u64)>> {
    let mut events = [Event::default(); 4];
    let n = epoll.wait(&mut events[..max], Some(Duration::ZERO))?;
    Ok(events[..n]
        .iter()
        .map(|e| (e.events().bits(), e.data()))
        .collect())
}

fn main() -> std::io::Result<()> {
    let epoll = Epoll::new(EpollFlags::CLOEXEC)?;
    let plain = Epoll::new(EpollFlags::empty())?;
    println!(
        "epoll: fd {}, close-on-exec {}; without the flag {}",
        epoll.as_raw_fd(),
        cloexec(&epoll),
        cloexec(&plain)
    );
    drop(plain);

    let level = EventFd::new(0, Flags::NONBLOCK)?;
    let edge = EventFd::new(0, Flags::NONBLOCK)?;
    epoll.add(&level, Events::IN, 1)?;
    epoll.add(&edge, Events::IN | Events::ET, 2)?;
    println!("none: {:?}", look(&epoll, 4)?);

    let mut events = [Event::default(); 4];
    let start = Instant::now();
    let n = epoll.wait(&mut events, Some(Duration::from_millis(30)))?;
    println!(
        "timeout 30 ms: {n} events, waited 30 ms or more: {}",
        start.elapsed() >= Duration::from_millis(30)
    );
    let start = Instant::now();
    let n = epoll.wait(&mut events, Some(Duration::from_micros(100)))?;
    println!(
        "timeout 100 µs: {n} events, waited 1 ms or more: {}",
        start.elapsed() >= Duration::from_millis(1)
    );

    level.write(1)?;
    edge.write(1)?;
    println!("both written: {:?}", look(&epoll, 4)?);
    println!("again: {:?}", look(&epoll, 4)?);
    edge.write(1)?;
    println!("edge written again: {:?}", look(&epoll, 4)?);
    println!("max 1: {:?}", look(&epoll, 1)?);
    println!("max 1: {:?}", look(&epoll, 1)?);
    edge.write(1)?;
    println!("max 1: {:?}", look(&epoll, 1)?);
    println!("max 1: {:?}", look(&epoll, 1)?);
    level.read()?;
    edge.read()?;
    println!("both read: {:?}", look(&epoll, 4)?);

    epoll.modify(&edge, Events::IN | Events::ONESHOT, 3)?;
    println!("oneshot armed, counter 0: {:?}", look(&epoll, 4)?);
    edge.write(1)?;
    println!("oneshot written: {:?}", look(&epoll, 4)?);
    edge.write(1)?;
    println!("oneshot written again: {:?}", look(&epoll, 4)?);
    epoll.modify(&edge, Events::IN, 4)?;
    println!("re-armed: {:?}", look(&epoll, 4)?);
    epoll.delete(&edge)?;
    println!("deleted: {:?}", look(&epoll, 4)?);

    let error = |e: std::io::Error| format!("{:?} {:?}", e.kind(), e.raw_os_error());
    println!(
        "add twice: {}",
        error(epoll.add(&level, Events::IN, 1).unwrap_err())
    );
    println!("delete twice: {}", error(epoll.delete(&edge).unwrap_err()));
    println!(
        "modify of a file not in the list: {}",
        error(epoll.modify(&edge, Events::IN, 1).unwrap_err())
    );
    println!(
        "add of itself: {}",
        error(epoll.add(&epoll, Events::IN, 1).unwrap_err())
    );
    println!(
        "wait with no room: {}",
        error(epoll.wait(&mut [], None).unwrap_err())
    );

    // An epoll is a source: readable while an entry is ready (`level`
    // holds 0 now; stdout is writable at once).
    let outer = Epoll::new(EpollFlags::CLOEXEC)?;
    outer.add(&epoll, Events::IN, 7)?;
    println!("nested, nothing ready: {:?}", look(&outer, 4)?);
    level.write(1)?;
    println!("nested, level written: {:?}", look(&outer, 4)?);
    outer.add(std::io::stdout(), Events::OUT, 8)?;
    level.read()?;
    println!("stdout: {:?}", look(&outer, 4)?);

    // A blocking wait, woken by the other guest.
    let ready = EventFd::preopened("ready")?;
    let wake = EventFd::preopened("wake")?;
    epoll.add(&wake, Events::IN, 5)?;
    let start = Instant::now();
    ready.write(1)?;
    let n = epoll.wait(&mut events, None)?;
    println!(
        "woken: {:?}, after 50 ms or more: {}",
        events[..n]
            .iter()
            .map(|e| (e.events().bits(), e.data()))
            .collect::<Vec<_>>(),
        start.elapsed() >= Duration::from_millis(50)
    );

    // Into an OwnedFd: closing it frees the number.
    let number = epoll.as_raw_fd();
    drop(OwnedFd::from(epoll));
    println!(
        "closed as an OwnedFd, fd {number} is free: {}",
        EventFd::new(0, Flags::empty())?.as_raw_fd() == number
    );
    Ok(())
}
