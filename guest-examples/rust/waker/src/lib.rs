//! An event loop that another program can wake, for tokio/mio-style
//! guests on WASI: `waker` waits in ONE `wasi:io/poll` `poll` on a TCP
//! listener and on the shared eventfd `wake` at once, and is woken by
//! whichever comes first: a client connecting, or another guest (`nudge`)
//! writing to `wake`. Without eventfds, such loops wake themselves through
//! a socket pair.
//!
//! ```text
//! wasi-eventfd run -S inherit-network --eventfd wake=0 --with nudge.wasm \
//!     waker.wasm 127.0.0.1:40123 4
//! nc 127.0.0.1 40123        # in another terminal: the fourth wake-up
//! ```
//!
//! `waker ADDR ROUNDS` stops after ROUNDS wake-ups and prints how many of
//! each kind it had. A wake-up is a connection accepted, or one unit of
//! `wake`'s counter: every nudge writes 1, and a read returns (and resets)
//! the sum of the writes since the previous read, so nudges that arrive
//! before the waker gets to read still count one by one. `nudge [COUNT]`
//! writes 1 to `wake` COUNT times (default 3), pausing before each.
//!
//! The network is the host's to grant: without `-S inherit-network`, the
//! bind fails with `access-denied` and `waker` exits with status 1.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

// The eventfd comes from the guest crate, the TCP socket from `wasip2` (the
// pre-generated WASI 0.2 bindings): both give `wasip2` pollables, so one
// `poll` waits for both. std provides the rest (args, stdio, clocks).
pub use wasi_eventfd_guest::{poll::poll, Error as EventfdError, EventFd};
pub use wasip2::sockets::network::ErrorCode as NetError;
pub use wasip2::sockets::tcp::TcpSocket;

use wasip2::sockets::network::{
    IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress,
};

/// The shared eventfd the host preopened under `name`, or a hint and exit
/// status 2.
pub fn preopen(name: &str) -> EventFd {
    EventFd::preopened(name).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2)
    })
}

/// A TCP socket listening on `addr`, or the step that failed and why.
pub fn listen(addr: SocketAddr) -> Result<TcpSocket, (&'static str, NetError)> {
    let family = match addr {
        SocketAddr::V4(_) => IpAddressFamily::Ipv4,
        SocketAddr::V6(_) => IpAddressFamily::Ipv6,
    };
    let socket = wasip2::sockets::tcp_create_socket::create_tcp_socket(family)
        .map_err(|e| ("create a socket for", e))?;
    // The network is a capability: binding is checked against what the
    // host granted this guest (`-S inherit-network` grants every address).
    let network = wasip2::sockets::instance_network::instance_network();
    socket
        .start_bind(&network, to_wasi(addr))
        .map_err(|e| ("bind", e))?;
    finish(&socket, TcpSocket::finish_bind).map_err(|e| ("bind", e))?;
    socket.start_listen().map_err(|e| ("listen on", e))?;
    finish(&socket, TcpSocket::finish_listen).map_err(|e| ("listen on", e))?;
    Ok(socket)
}

/// Completes a `start-*` operation. WASI splits bind and listen in two so
/// that neither blocks: `finish-*` says `would-block` until the socket's
/// pollable is ready.
fn finish(
    socket: &TcpSocket,
    finish: fn(&TcpSocket) -> Result<(), NetError>,
) -> Result<(), NetError> {
    let ready = socket.subscribe();
    loop {
        match finish(socket) {
            Err(NetError::WouldBlock) => ready.block(),
            done => return done,
        }
    }
}

/// A std address as `wasi:sockets` spells it.
pub fn to_wasi(addr: SocketAddr) -> IpSocketAddress {
    match addr {
        SocketAddr::V4(a) => {
            let [b0, b1, b2, b3] = a.ip().octets();
            IpSocketAddress::Ipv4(Ipv4SocketAddress {
                port: a.port(),
                address: (b0, b1, b2, b3),
            })
        }
        SocketAddr::V6(a) => {
            let [s0, s1, s2, s3, s4, s5, s6, s7] = a.ip().segments();
            IpSocketAddress::Ipv6(Ipv6SocketAddress {
                port: a.port(),
                flow_info: a.flowinfo(),
                address: (s0, s1, s2, s3, s4, s5, s6, s7),
                scope_id: a.scope_id(),
            })
        }
    }
}

/// A `wasi:sockets` address as std's, which can be printed.
pub fn from_wasi(addr: IpSocketAddress) -> SocketAddr {
    match addr {
        IpSocketAddress::Ipv4(a) => {
            let (b0, b1, b2, b3) = a.address;
            SocketAddrV4::new(Ipv4Addr::new(b0, b1, b2, b3), a.port).into()
        }
        IpSocketAddress::Ipv6(a) => {
            let (s0, s1, s2, s3, s4, s5, s6, s7) = a.address;
            let ip = Ipv6Addr::new(s0, s1, s2, s3, s4, s5, s6, s7);
            SocketAddrV6::new(ip, a.port, a.flow_info, a.scope_id).into()
        }
    }
}
