//! The other half of `epoll`: waits for `ready`, then 50 ms later writes 1
//! to `wake`, which `epoll` is then blocked in `Epoll::wait` on.

use std::time::Duration;

use wasi_eventfd_guest::EventFd;

fn main() -> std::io::Result<()> {
    let ready = EventFd::preopened("ready")?;
    let wake = EventFd::preopened("wake")?;
    ready.read()?;
    std::thread::sleep(Duration::from_millis(50));
    wake.write(1)?;
    Ok(())
}
