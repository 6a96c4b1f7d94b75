//! TCP sockets: a listener a host granted and the connections accepted
//! from it, as open file descriptions a front end numbers in its fd table.
//!
//! Every operation is the host kernel's own system call on a non-blocking
//! socket (`accept4`, `recv`, `send`, `shutdown`, `poll`), so a guest sees
//! Linux's answers and readiness bit for bit (`net/ipv4/tcp.c`,
//! `inet_accept`, `tcp_poll`). A call that would block, on a description
//! without `O_NONBLOCK`, waits on tokio's reactor ([`AsyncFd`]): the
//! guest's task parks, no thread waits, nothing spins.
//!
//! For epoll, a socket's readiness now is `poll(2)` of the host socket with
//! no timeout ([`Socket::poll_mask`]); changes reach its watch list when a
//! waiter sees an edge of the reactor ([`Socket::poll_edge`]): the epoll or
//! `poll_oneoff` that waits on it polls that alongside its other wake-ups.
//! So `EPOLLET` reports each arrival the reactor reports (as Linux reports
//! each `sk_data_ready`), and at most once more after a registration.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use crate::kernel::poll::{PollMask, WatchList};

/// The host socket of a [`Socket`]: a listener or a connection.
#[derive(Debug)]
enum Host {
    Listener(std::net::TcpListener),
    Stream(std::net::TcpStream),
}

impl AsRawFd for Host {
    fn as_raw_fd(&self) -> RawFd {
        match self {
            Host::Listener(listener) => listener.as_raw_fd(),
            Host::Stream(stream) => stream.as_raw_fd(),
        }
    }
}

/// One open socket description: shared by every number `dup` made of it,
/// with its `O_NONBLOCK` status flag. Closed when the last number goes.
pub struct Socket {
    io: AsyncFd<Host>,
    nonblocking: AtomicBool,
    watchers: WatchList,
}

/// What a socket call failed with: the host kernel's errno (`EAGAIN` for a
/// non-blocking call that would wait).
pub type SocketResult<T> = Result<T, i32>;

fn errno_of(error: &io::Error) -> i32 {
    error.raw_os_error().unwrap_or(libc::EIO)
}

fn last_errno() -> i32 {
    errno_of(&io::Error::last_os_error())
}

impl Socket {
    /// A listening socket, as granted (`wasmtime run -S tcplisten`): made
    /// non-blocking on the host, registered with the current tokio
    /// runtime's reactor (an error outside one, or without its I/O driver).
    /// The description starts without `O_NONBLOCK`.
    pub fn listener(listener: std::net::TcpListener) -> io::Result<Arc<Self>> {
        listener.set_nonblocking(true)?;
        Self::new(Host::Listener(listener), false)
    }

    fn new(host: Host, nonblocking: bool) -> io::Result<Arc<Self>> {
        // tokio panics without a runtime: refuse instead.
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(io::Error::other("sockets need a tokio runtime"));
        }
        // SAFETY: `host` owns its fd, open for as long as it lives, and
        // always gives that one.
        let io = unsafe {
            AsyncFd::register_with_interest(host, Interest::READABLE | Interest::WRITABLE)
        }
        .map_err(|error| error.into_parts().1)?;
        Ok(Arc::new(Socket {
            io,
            nonblocking: AtomicBool::new(nonblocking),
            watchers: WatchList::default(),
        }))
    }

    /// Whether this is a listening socket.
    pub fn is_listener(&self) -> bool {
        matches!(self.io.get_ref(), Host::Listener(_))
    }

    /// The `O_NONBLOCK` status flag of the description.
    pub fn is_nonblocking(&self) -> bool {
        self.nonblocking.load(Ordering::SeqCst)
    }

    /// `fcntl(F_SETFL)`'s `O_NONBLOCK`.
    pub fn set_nonblocking(&self, nonblocking: bool) {
        self.nonblocking.store(nonblocking, Ordering::SeqCst);
    }

    pub(crate) fn watchers(&self) -> &WatchList {
        &self.watchers
    }

    fn fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }

    /// The socket's readiness now, as `poll(2)` of the host socket reports
    /// it (`tcp_poll`): `IN` for a pending connection, data or EOF; `OUT`
    /// while the send buffer has room; `RDHUP`, `HUP`, `ERR` as Linux.
    pub fn poll_mask(&self) -> PollMask {
        let mut pollfd = libc::pollfd {
            fd: self.fd(),
            events: libc::POLLIN | libc::POLLOUT | libc::POLLRDHUP | libc::POLLPRI,
            revents: 0,
        };
        // SAFETY: one valid pollfd, no timeout.
        let n = unsafe { libc::poll(&mut pollfd, 1, 0) };
        if n <= 0 {
            return PollMask::empty();
        }
        PollMask::from_bits_truncate(pollfd.revents as u16 as u32)
    }

    /// Polls for an edge of the reactor in the directions of `asked`
    /// (`IN`: readable, `OUT`: writable; `ERR`/`HUP` come with both):
    /// `Ready` when one came and the socket is ready now in a way `asked`
    /// cares about, after telling its watch list; otherwise `Pending`, with
    /// `cx` registered for the next edge. An edge that leaves the socket
    /// not ready (data already read) is consumed here.
    pub fn poll_edge(&self, cx: &mut Context<'_>, asked: PollMask) -> Poll<()> {
        let wanted = asked | PollMask::ERR | PollMask::HUP;
        let mut woke = false;
        if asked.intersects(PollMask::IN | PollMask::RDHUP | PollMask::PRI) {
            while let Poll::Ready(Ok(mut guard)) = self.io.poll_read_ready(cx) {
                guard.clear_ready();
                let now = self.poll_mask();
                if now.intersects(wanted & !PollMask::OUT) {
                    self.watchers.wake(now);
                    woke = true;
                    break;
                }
            }
        }
        if asked.contains(PollMask::OUT) {
            while let Poll::Ready(Ok(mut guard)) = self.io.poll_write_ready(cx) {
                guard.clear_ready();
                let now = self.poll_mask();
                if now.intersects(wanted & !PollMask::IN) {
                    self.watchers.wake(now);
                    woke = true;
                    break;
                }
            }
        }
        if woke {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// Waits for the reactor to say the socket may be ready for
    /// `interest`, clearing what it said (the caller tries again after).
    async fn wait(&self, interest: Interest) -> SocketResult<()> {
        let mut guard = self
            .io
            .ready(interest)
            .await
            .map_err(|error| errno_of(&error))?;
        guard.clear_ready();
        Ok(())
    }

    /// Runs `attempt` (one non-blocking system call, returning -1 and
    /// errno on failure) until it does not say `EAGAIN`; waits between
    /// attempts unless the description is non-blocking (`EAGAIN` then).
    async fn retry<T>(
        &self,
        interest: Interest,
        mut attempt: impl FnMut() -> SocketResult<T>,
    ) -> SocketResult<T> {
        loop {
            match attempt() {
                Err(libc::EAGAIN) if !self.is_nonblocking() => self.wait(interest).await?,
                done => return done,
            }
        }
    }

    /// `accept4(fd, NULL, NULL, flags)`: the next pending connection, a
    /// description of its own (`O_NONBLOCK` as `nonblocking` says). Errors
    /// as Linux: `EINVAL` on a socket that is not listening, `EAGAIN` on a
    /// non-blocking one with nothing pending, `ECONNABORTED`, `EMFILE`...
    pub async fn accept(&self, nonblocking: bool) -> SocketResult<Arc<Socket>> {
        let fd = self
            .retry(Interest::READABLE, || {
                // SAFETY: no address is asked for.
                let fd = unsafe {
                    libc::accept4(
                        self.fd(),
                        std::ptr::null_mut(),
                        std::ptr::null_mut(),
                        libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                    )
                };
                if fd < 0 {
                    Err(last_errno())
                } else {
                    Ok(fd)
                }
            })
            .await?;
        // SAFETY: accept4 just gave this fd, owned by nothing else.
        let stream = unsafe { <std::net::TcpStream as std::os::fd::FromRawFd>::from_raw_fd(fd) };
        Socket::new(Host::Stream(stream), nonblocking).map_err(|error| errno_of(&error))
    }

    /// `recv(fd, buf, len, flags)` into `buf` (`flags`: `MSG_PEEK`,
    /// `MSG_WAITALL`): the bytes received, 0 at EOF. Errors as Linux
    /// (`ENOTCONN` on a listener, `ECONNRESET` after a reset, `EAGAIN`).
    pub async fn recv(&self, buf: &mut [u8], flags: i32) -> SocketResult<usize> {
        self.retry(Interest::READABLE, || {
            // SAFETY: `buf` is valid for its length.
            let n = unsafe {
                libc::recv(
                    self.fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    flags | libc::MSG_DONTWAIT,
                )
            };
            usize::try_from(n).map_err(|_| last_errno())
        })
        .await
    }

    /// `send(fd, buf, len, MSG_NOSIGNAL)`: the bytes sent (maybe fewer than
    /// `buf`). Errors as Linux (`EPIPE` after shutdown or the peer's
    /// reset, with no signal; `ENOTCONN` on a listener; `EAGAIN`).
    pub async fn send(&self, buf: &[u8]) -> SocketResult<usize> {
        self.retry(Interest::WRITABLE, || {
            // SAFETY: `buf` is valid for its length.
            let n = unsafe {
                libc::send(
                    self.fd(),
                    buf.as_ptr().cast(),
                    buf.len(),
                    libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT,
                )
            };
            usize::try_from(n).map_err(|_| last_errno())
        })
        .await
    }

    /// `shutdown(fd, how)` (`SHUT_RD`, `SHUT_WR`, `SHUT_RDWR`), the host
    /// kernel's answer; the watchers are told (a shutdown changes
    /// readiness: `RDHUP`, `HUP`).
    pub fn shutdown(&self, how: i32) -> SocketResult<()> {
        // SAFETY: a plain system call on our fd.
        let r = unsafe { libc::shutdown(self.fd(), how) };
        self.watchers.wake(self.poll_mask());
        if r < 0 {
            Err(last_errno())
        } else {
            Ok(())
        }
    }
}

impl Drop for Socket {
    /// The socket's last number went: its epoll entries go.
    fn drop(&mut self) {
        self.watchers.release_all();
    }
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("host", self.io.get_ref())
            .field("nonblocking", &self.is_nonblocking())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;
    use std::sync::Arc;
    use std::time::Duration;

    use super::Socket;
    use crate::kernel::epoll::{Epoll, EpollEvent, WatchBudget, EPOLL_CTL_ADD};
    use crate::kernel::poll::{PollFile, PollMask};

    /// Waits (at most 10 s) until `epoll` has events, polling its sockets
    /// for edges as a front end's wait does.
    async fn wait(epoll: &Arc<Epoll>) -> Vec<EpollEvent> {
        let waited = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let listener = epoll.listen();
                let events = epoll.wait_events(8);
                if !events.is_empty() {
                    return events;
                }
                crate::p1::until_woken_or_edge(&mut [listener], &epoll.sockets()).await;
            }
        });
        waited.await.expect("an event within 10 s")
    }

    #[tokio::test]
    async fn an_epoll_sees_a_connection_then_data_then_the_peers_close() {
        let host = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = host.local_addr().expect("address");
        let listener = Socket::listener(host).expect("a listener");
        let epoll = Epoll::new(WatchBudget::new(16));
        let listening = PollFile::Socket(Arc::clone(&listener));
        epoll
            .ctl(EPOLL_CTL_ADD, 3, &listening, PollMask::IN.bits(), 1)
            .expect("add the listener");
        assert!(epoll.wait_events(8).is_empty(), "nothing pending yet");
        listener.set_nonblocking(true);
        assert_eq!(listener.accept(false).await.err(), Some(libc::EAGAIN));

        let mut client = std::net::TcpStream::connect(addr).expect("connect");
        let events = wait(&epoll).await;
        assert_eq!(events.len(), 1);
        assert_eq!(
            events.first().map(|e| (e.events, e.data)),
            Some((PollMask::IN.bits(), 1))
        );
        let conn = listener.accept(true).await.expect("accept");
        assert!(conn.is_nonblocking() && !conn.is_listener());
        // Level-triggered: the listener left the ready list once accepted.
        let asked = (PollMask::IN | PollMask::RDHUP).bits();
        epoll
            .ctl(
                EPOLL_CTL_ADD,
                4,
                &PollFile::Socket(Arc::clone(&conn)),
                asked,
                2,
            )
            .expect("add the connection");
        assert!(epoll.wait_events(8).is_empty());
        let mut buf = [0u8; 8];
        assert_eq!(conn.recv(&mut buf, 0).await, Err(libc::EAGAIN));

        client.write_all(b"hi").expect("send");
        let events = wait(&epoll).await;
        assert_eq!(
            events.first().map(|e| (e.events, e.data)),
            Some((PollMask::IN.bits(), 2))
        );
        assert_eq!(conn.recv(&mut buf, 0).await, Ok(2));
        assert_eq!(buf.get(..2), Some(&b"hi"[..]));

        drop(client);
        let events = wait(&epoll).await;
        assert_eq!(
            events.first().map(|e| (e.events, e.data)),
            Some(((PollMask::IN | PollMask::RDHUP).bits(), 2)),
            "the peer's close: readable (EOF) and RDHUP"
        );
        assert_eq!(conn.recv(&mut buf, 0).await, Ok(0));
    }
}
