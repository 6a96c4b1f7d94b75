//! `post NAME COUNT`: writes 1 to the shared eventfd NAME, COUNT times
//! (default 100), a millisecond apart, for `epoll-loop` to add up.

use std::time::Duration;

use wasi_eventfd_guest::EventFd;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_else(|| "left".into());
    let count: u64 = match args.next().map(|n| n.parse()) {
        None => 100,
        Some(Ok(n)) => n,
        Some(Err(_)) => {
            eprintln!("usage: post NAME [COUNT]");
            std::process::exit(2);
        }
    };
    let target = EventFd::preopened(&name)?;
    for _ in 0..count {
        target.write(1)?;
        std::thread::sleep(Duration::from_millis(1));
    }
    println!("post: wrote 1 to {name} {count} times");
    Ok(())
}
