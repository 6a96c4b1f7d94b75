//! `poster [COUNT]`: writes 1, 2, …, COUNT to `events`, one at a time, each
//! after a pause and once `ack` says the previous one was read.

use std::time::Duration;

use wasi_eventfd_guest::EventFd;

/// The pause before each write: the waiter's timer task ticks meanwhile.
const PAUSE: Duration = Duration::from_millis(20);

fn main() -> std::io::Result<()> {
    let count = wstd_waiter::count("poster");
    let events = EventFd::preopened("events")?;
    let ack = EventFd::preopened("ack")?;
    for value in 1..=count {
        // On wasm32-wasip2 this sleeps in `wasi:clocks`; other guests run.
        std::thread::sleep(PAUSE);
        events.write(value)?;
        // Blocks (suspends this guest) until the waiter has read `value`.
        ack.read()?;
    }
    println!("poster: wrote 1 to {count} to `events`");
    Ok(())
}
