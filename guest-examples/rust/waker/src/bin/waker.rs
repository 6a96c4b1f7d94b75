//! `waker ADDR ROUNDS`: an event loop woken by a client connecting to ADDR
//! or by a write to the eventfd `wake`, both waited for in one `poll`;
//! stops after ROUNDS wake-ups (see the crate documentation).

use std::fmt::Display;
use std::net::SocketAddr;
use std::process::exit;

use waker::{from_wasi, listen, poll, preopen, EventFd, EventfdError, NetError, TcpSocket};
use wasip2::io::streams::StreamError;

fn main() {
    let (addr, rounds) = args();
    let wake = preopen("wake");
    let listener = listen(addr)
        .unwrap_or_else(|(step, e)| fail(format_args!("cannot {step} {addr}"), e.name()));
    // With port 0 the system picks one: show which.
    match listener.local_address() {
        Ok(local) => println!("waker: listening on {}", from_wasi(local)),
        Err(e) => fail("cannot read the listening address", e.name()),
    }

    // Subscribe once and poll the same pollables on every turn. The
    // listener's is ready while a connection waits to be accepted; the
    // eventfd's while its counter is above 0 (level-triggered, as with
    // epoll), so nothing that arrives between two polls is missed.
    let connection_ready = listener.subscribe();
    let wake_ready = wake.subscribe_readable();
    let (mut connections, mut nudges) = (0u64, 0u64);
    while connections + nudges < rounds {
        // The only place the loop sleeps: one call for both sources. It
        // returns the indices of the pollables that are ready.
        for index in poll(&[&connection_ready, &wake_ready]) {
            match index {
                0 => connections += serve(&listener),
                _ => nudges += take_nudges(&wake),
            }
        }
    }
    // Pollables are children of their socket and eventfd: drop them first.
    drop((connection_ready, wake_ready));

    println!(
        "waker: {} wake-ups ({connections} connections, {nudges} eventfd)",
        connections + nudges
    );
}

/// Accepts one waiting client, greets it and hangs up. Returns the number
/// of connections served: 0 if the client gave up before we got to it.
fn serve(listener: &TcpSocket) -> u64 {
    let (client, input, output) = match listener.accept() {
        Ok(accepted) => accepted,
        Err(NetError::WouldBlock | NetError::ConnectionAborted) => return 0,
        Err(e) => fail("accept failed", e.name()),
    };
    let peer = match client.remote_address() {
        Ok(peer) => from_wasi(peer).to_string(),
        Err(e) => format!("an unknown peer ({})", e.name()),
    };
    println!("waker: connection from {peer}");
    if let Err(e) = output.blocking_write_and_flush(b"hello\n") {
        // A client that went away is not the event loop's problem.
        let why = match e {
            StreamError::Closed => "closed".to_string(),
            StreamError::LastOperationFailed(e) => e.to_debug_string(),
        };
        eprintln!("waker: cannot reply to {peer}: {why}");
    }
    // The streams are children of the socket, so they go first; dropping
    // the socket closes the connection.
    drop((input, output));
    drop(client);
    1
}

/// Reads (and so resets) `wake`'s counter: how many nudges, of 1 each,
/// arrived since the last read.
fn take_nudges(wake: &EventFd) -> u64 {
    match wake.read() {
        Ok(count) => {
            println!("waker: woken by eventfd (count {count})");
            count
        }
        // Only if `wake` is non-blocking and another reader took the count
        // between our poll and this read: a wake-up for someone else.
        Err(EventfdError::WouldBlock) => 0,
        Err(e) => fail("cannot read eventfd `wake`", e),
    }
}

/// ADDR and ROUNDS from the command line, or a usage message.
fn args() -> (SocketAddr, u64) {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parsed = match args.as_slice() {
        [addr, rounds] => addr.parse().ok().zip(rounds.parse().ok()),
        _ => None,
    };
    parsed.unwrap_or_else(|| {
        eprintln!("usage: waker ADDR ROUNDS   (e.g. waker 127.0.0.1:40123 4)");
        exit(2)
    })
}

/// Reports what failed and why, and exits with status 1.
fn fail(what: impl Display, why: impl Display) -> ! {
    eprintln!("waker: {what}: {why}");
    exit(1)
}
