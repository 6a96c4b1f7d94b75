//! `waiter [COUNT]`: awaits COUNT values on `events` in one wstd task,
//! acknowledging each on `ack`, while another task ticks on a timer.

use std::cell::Cell;
use std::time::Duration;

use wasi_eventfd_guest::EventFd;
use wstd::task::sleep;

/// The ticking task's period.
const TICK: Duration = Duration::from_millis(5);

#[wstd::main]
async fn main() -> std::io::Result<()> {
    let count = wstd_waiter::count("waiter");
    let events = EventFd::preopened("events")?;
    let ack = EventFd::preopened("ack")?;
    let finished = Cell::new(false);

    let reading = async {
        let mut values = Vec::new();
        for _ in 0..count {
            // Only this task waits; the reactor polls the eventfd's
            // pollable together with the ticker's timer.
            let value = events.read_async().await?;
            println!("waiter: read {value}");
            values.push(value);
            ack.write_async(1).await?;
        }
        finished.set(true);
        Ok::<_, wasi_eventfd_guest::Error>(values)
    };
    let ticking = async {
        let mut ticks = 0u64;
        while !finished.get() {
            sleep(TICK.into()).await;
            ticks += 1;
        }
        ticks
    };

    let (values, ticks) = futures::join!(reading, ticking);
    let values = values?;
    println!(
        "waiter: read {} values (sum {}) while the timer task ticked {ticks} times",
        values.len(),
        values.iter().sum::<u64>()
    );
    Ok(())
}
