//! `nudge [COUNT]`: wakes the `waker`'s event loop COUNT times (default 3,
//! which is what a `--with` guest gets: it has no arguments), writing 1 to
//! the shared eventfd `wake` each time.

use std::process::exit;
use std::time::Duration;

use waker::preopen;

/// Nudges when run without arguments.
const DEFAULT_COUNT: u64 = 3;
/// The pause before each nudge: long enough for the waker to be back in
/// its `poll` most of the time, so each nudge shows as a wake-up of its
/// own. (Nudges that land together are still all counted.)
const PAUSE: Duration = Duration::from_millis(100);

fn main() {
    let count = match std::env::args().nth(1).map(|n| n.parse()) {
        None => DEFAULT_COUNT,
        Some(Ok(n)) => n,
        Some(Err(_)) => {
            eprintln!("usage: nudge [COUNT]");
            exit(2)
        }
    };
    let wake = preopen("wake");
    for _ in 0..count {
        // On wasm32-wasip2 this sleeps in `wasi:clocks`; other guests run.
        std::thread::sleep(PAUSE);
        if let Err(e) = wake.write(1) {
            eprintln!("nudge: cannot write to eventfd `wake`: {e}");
            exit(1)
        }
    }
    println!("nudge: wrote 1 to `wake` {count} times");
}
