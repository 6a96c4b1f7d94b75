//! The guest crate on wasm32-wasip1: `EventFd` is an `OwnedFd` of the one
//! fd table, read and written with `std::io` as any fd. Run with
//! `--eventfd shared=5`; prints what each call gave.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};

use wasi_eventfd_guest::{EventFd, Flags};

fn main() -> std::io::Result<()> {
    let efd = EventFd::new(0, Flags::NONBLOCK | Flags::SEMAPHORE)?;
    println!("new: fd {}", efd.as_raw_fd());
    println!("read of 0: {:?}", efd.read());
    efd.write(2)?;
    println!("semaphore reads: {} {}", efd.read()?, efd.read()?);
    println!("write of u64::MAX: {:?}", efd.write(u64::MAX));

    let shared = EventFd::preopened("shared")?;
    println!(
        "preopened: fd {}, read {}",
        shared.as_raw_fd(),
        shared.read()?
    );
    let copy = shared.try_clone()?;
    copy.write(7)?;
    println!(
        "dup: fd {}, read through the original {}",
        copy.as_raw_fd(),
        shared.read()?
    );
    // O_NONBLOCK is the description's: set through the dup, the original
    // sees it (a read of 0 would wait otherwise).
    copy.set_nonblocking(true);
    println!(
        "non-blocking through the dup, read of 0: {:?}",
        shared.read()
    );

    // Any fd API takes it: here std's File, 8 bytes at a time.
    let mut file = std::fs::File::from(OwnedFd::from(copy));
    file.write_all(&9u64.to_le_bytes())?;
    let mut bytes = [0u8; 8];
    (&shared).read_exact(&mut bytes)?;
    println!("File write, Read: {}", u64::from_le_bytes(bytes));
    println!(
        "write of 4 bytes: {:?}",
        file.write(&[1, 2, 3, 4]).map_err(|e| e.kind())
    );
    drop(file);
    println!(
        "after closing, a new eventfd takes fd {}",
        EventFd::new(0, Flags::empty())?.as_raw_fd()
    );
    println!("missing: {}", EventFd::preopened("missing").unwrap_err());
    Ok(())
}
