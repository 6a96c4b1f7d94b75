//! An event loop on epoll (wasm32-wasip1): waits with one `Epoll` on the
//! shared eventfds `left` and `right`, which two `post` guests write to,
//! and adds up what each brings until both have brought COUNT (default
//! 100). Each eventfd is registered edge-triggered with its index as the
//! `data`, as mio registers a source with its token: an event says which
//! source woke the loop, and the loop reads it until it would block.

use std::time::Duration;

use wasi_eventfd_guest::{Epoll, EpollFlags, Error, Event, EventFd, Events};

/// The eventfds, in the order of their `data`.
const NAMES: [&str; 2] = ["left", "right"];

/// How long the loop waits for the next write before giving up on the
/// posters.
const QUIET: Duration = Duration::from_secs(10);

fn main() -> std::io::Result<()> {
    let count: u64 = match std::env::args().nth(1).map(|n| n.parse()) {
        None => 100,
        Some(Ok(n)) => n,
        Some(Err(_)) => {
            eprintln!("usage: epoll-loop [COUNT]   (COUNT: what each poster brings)");
            std::process::exit(2);
        }
    };
    let epoll = Epoll::new(EpollFlags::CLOEXEC)?;
    let mut sources = Vec::new();
    for (token, name) in NAMES.iter().enumerate() {
        let source = EventFd::preopened(name)?;
        // Edge-triggered: read until the read would block, not wait.
        source.set_nonblocking(true);
        epoll.add(&source, Events::IN | Events::ET, token as u64)?;
        sources.push(source);
    }

    let mut totals = [0u64; NAMES.len()];
    let mut wake_ups = 0u64;
    let mut events = [Event::default(); 8];
    while totals.iter().any(|&total| total < count) {
        // Suspends this guest until a poster writes (the other guests run).
        let ready = epoll.wait(&mut events, Some(QUIET))?;
        if ready == 0 {
            eprintln!("epoll-loop: no write for {QUIET:?}, totals {totals:?}");
            std::process::exit(1);
        }
        wake_ups += 1;
        for event in &events[..ready] {
            let token = event.data() as usize;
            let (Some(source), Some(total)) = (sources.get(token), totals.get_mut(token)) else {
                continue;
            };
            loop {
                match source.read() {
                    Ok(value) => *total += value,
                    Err(Error::WouldBlock) => break,
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
    println!(
        "epoll-loop: {} {}, {} {}, in {wake_ups} wake-ups",
        NAMES[0], totals[0], NAMES[1], totals[1]
    );
    Ok(())
}
