//! The kernel layer: what Linux's `fs/` does for eventfds, with no wasm in
//! it. Front ends (WASI 0.2 and 0.3 resources, preview 1's fds, host code)
//! are thin layers over it.
//!
//! - `eventfd`: one open file description of an eventfd and its rules
//!   (`fs/eventfd.c`): [`Description`](crate::Description), its one wait
//!   loop and its readiness ([`Description::poll`](crate::Description::poll));
//! - `description_table`: the open descriptions of a host, shared by all its
//!   guests, and the [`Descriptor`](crate::Descriptor)s that point to them;
//! - [`fd_table`]: a process's numbers for its open files (`fs/file.c`);
//! - [`poll`]: what epoll needs of any file it watches (readiness now, and
//!   wake-ups when it may change);
//! - [`epoll`]: epoll instances (`fs/eventpoll.c`);
//! - [`socket`]: TCP sockets over the host's (`net/ipv4/tcp.c`);
//! - `wait_queue`: the one wait queue every wait parks in, as Linux's
//!   `wait_queue_head_t`;
//! - `waits`: what a guest waits on ([`Waiting`](crate::Waiting)), and the
//!   hook through which a host is told of it
//!   ([`GuestParkObserver`](crate::GuestParkObserver)), e.g. to find
//!   deadlocks.

pub(crate) mod description_table;
pub mod epoll;
pub(crate) mod eventfd;
pub mod fd_table;
pub mod poll;
pub mod socket;
pub(crate) mod wait_queue;
pub(crate) mod waits;
