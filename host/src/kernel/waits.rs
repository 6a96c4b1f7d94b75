//! What a guest waits on, and how a host is told of it: the wait
//! descriptions ([`Interest`], [`Waiting`]) and the hook
//! ([`GuestParkObserver`]) through which a host — the runner's deadlock
//! detector, or an embedder's own — learns when a guest's operations park
//! and resume. The front ends report every wait here; what the host does
//! with the reports is its own business.
//!
//! One operation's parking is a [`ParkObserver`] (the eventfd's wait loop
//! calls it); [`ObservedOp`] is that observer for one operation of a guest,
//! forwarding to the guest's [`GuestParkObserver`].

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use crate::kernel::epoll::Epoll;
use crate::kernel::eventfd::{Description, ParkObserver, Readiness};
use crate::kernel::wait_queue::QueueListener;

/// What a parked operation waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Interest {
    /// A blocking read: the counter to go above 0.
    Read,
    /// A blocking write of this value: room for it.
    Write(u64),
    /// A readable pollable or `POLLIN`: the counter to go above 0.
    Readable,
    /// A writable pollable or `POLLOUT`: room for a write of 1.
    Writable,
}

impl Interest {
    /// Whether the operation blocks the guest on its own (a `read` or
    /// `write`), rather than being one readiness among a poll's.
    pub fn is_blocking(self) -> bool {
        matches!(self, Interest::Read | Interest::Write(_))
    }
}

impl From<Readiness> for Interest {
    fn from(readiness: Readiness) -> Self {
        match readiness {
            Readiness::Readable => Interest::Readable,
            Readiness::Writable => Interest::Writable,
        }
    }
}

/// One parked operation: the description and what it waits for there.
#[derive(Debug, Clone)]
pub struct Waiting {
    /// The description waited on.
    pub description: Arc<Description>,
    /// What the operation needs from it.
    pub interest: Interest,
}

impl Waiting {
    /// Whether the operation could proceed now.
    pub fn could_proceed(&self) -> bool {
        let d = &self.description;
        match self.interest {
            Interest::Read | Interest::Readable => d.is_ready(Readiness::Readable),
            Interest::Write(value) => d.has_room_for(value),
            Interest::Writable => d.is_ready(Readiness::Writable),
        }
    }

    /// What tells this wait from another: the same description (by id)
    /// and interest is the same wait, however many operations share it.
    pub fn key(&self) -> (u64, Interest) {
        (self.description.id(), self.interest)
    }

    /// The waits of a poll over `entries`, each description and readiness
    /// once however many entries ask it: one listener per distinct wait is
    /// woken by the same reads and writes, and spares a poll over 65536
    /// entries of one fd as many listeners and reported waits.
    /// The descriptions come borrowed (cloned only when kept) or owned
    /// (moved when kept, as an epoll's watched eventfds are).
    pub(crate) fn distinct<D: DescriptionRef>(
        entries: impl IntoIterator<Item = (D, Readiness)>,
    ) -> Vec<Waiting> {
        let entries = entries.into_iter();
        let mut out: Vec<Waiting> = Vec::with_capacity(entries.size_hint().0.min(FEW_WAITS));
        // A few entries (a wait on one or two eventfds, every round of an
        // event loop) are told apart by a look at those kept, without a
        // set; past that, a set keeps it O(entries).
        let mut seen: Option<HashSet<(u64, Readiness)>> = None;
        for (description, readiness) in entries {
            let interest = Interest::from(readiness);
            let new = match &mut seen {
                Some(seen) => seen.insert((description.id(), readiness)),
                None if out.len() < FEW_WAITS => !out
                    .iter()
                    .any(|w| w.interest == interest && w.description.id() == description.id()),
                None => {
                    let mut set: HashSet<(u64, Readiness)> = out
                        .iter()
                        .map(|w| (w.description.id(), readiness_of(w.interest)))
                        .collect();
                    let new = set.insert((description.id(), readiness));
                    seen = Some(set);
                    new
                }
            };
            if new {
                out.push(Waiting {
                    description: description.into_arc(),
                    interest,
                });
            }
        }
        out
    }

    /// A place in the wait queue of a poll's wait (readable or writable).
    pub(crate) fn listen(&self) -> QueueListener<'_> {
        match self.interest {
            Interest::Read | Interest::Readable => self.description.listen(Readiness::Readable),
            Interest::Write(_) | Interest::Writable => self.description.listen(Readiness::Writable),
        }
    }
}

/// A description as [`Waiting::distinct`] is given it: borrowed, or
/// owned.
pub(crate) trait DescriptionRef {
    /// The description's id.
    fn id(&self) -> u64;
    /// The description to keep: a clone of a borrowed one, an owned one
    /// moved.
    fn into_arc(self) -> Arc<Description>;
}

impl DescriptionRef for &Arc<Description> {
    fn id(&self) -> u64 {
        Description::id(self)
    }
    fn into_arc(self) -> Arc<Description> {
        Arc::clone(self)
    }
}

impl DescriptionRef for Arc<Description> {
    fn id(&self) -> u64 {
        Description::id(self)
    }
    fn into_arc(self) -> Arc<Description> {
        self
    }
}

/// Up to this many distinct waits, [`Waiting::distinct`] compares each
/// entry with those kept instead of building a set.
const FEW_WAITS: usize = 8;

/// The readiness a poll's wait is for (its interest is never a read or
/// write, which count as readable and writable here).
fn readiness_of(interest: Interest) -> Readiness {
    match interest {
        Interest::Read | Interest::Readable => Readiness::Readable,
        Interest::Write(_) | Interest::Writable => Readiness::Writable,
    }
}

/// Told of one guest's waits: implemented by a host that wants to see who
/// waits on what (the runner's deadlock detector does), and handed to
/// the guest's context with
/// [`EventfdCtxBuilder::park_observer`](crate::EventfdCtxBuilder::park_observer).
/// Several guests may share one observer, or each have its own.
///
/// **When.** The front ends call it from inside the guest's host calls: a
/// blocking `read`/`write` (WASI 0.2, preview 1's `fd_read`/`fd_write`),
/// a `subscribe-readable`/`-writable` pollable's wait, and a preview 1
/// `poll_oneoff` without a timeout whose subscriptions are all eventfds.
/// [`parked`](Self::parked) comes after the operation has joined the
/// description's wait queue and found it cannot proceed;
/// [`resumed`](Self::resumed) as soon as it is woken, before it looks
/// again (it may park again at once), or when the waiting call is dropped
/// (the guest cancelled, trapped or its store went away).
///
/// **Where.** On the thread running the guest's host call: a task of the
/// host's async runtime for async stores, the guest's own thread for
/// synchronous ones (the wait then parks that thread). `resumed` runs
/// wherever the call's future is dropped or polled again, which may be
/// another thread of a multi-thread runtime; hence `Send + Sync`.
///
/// **Must not.** Block, wait on a lock another guest may hold across a
/// wait, or call back into an eventfd operation: it runs inside the
/// guest's call, and every other guest on the same thread waits for it.
/// Keep it short (the runner's costs O(1) per call, whatever the number
/// of waits). Never panic: it is on every guest-reachable wait.
///
/// An embedder's observer that writes down what its guest parked on; the
/// guest's call here is WASI 0.2's blocking `read`, made through the
/// synchronous bindings from a thread of its own, as wasmtime would make it:
///
/// ```
/// use std::sync::{Arc, Mutex};
///
/// use wasi_eventfd::bindings::sync::{preopens::Host as _, types::HostEventfd as _};
/// use wasi_eventfd::{
///     CreateFlags, DescriptionTable, EventfdCtx, EventfdCtxView, GuestParkObserver, Waiting,
/// };
/// use wasmtime::component::ResourceTable;
///
/// #[derive(Default)]
/// struct Recorder(Mutex<Vec<String>>);
///
/// impl GuestParkObserver for Recorder {
///     fn parked(&self, waiting: Waiting) -> usize {
///         let mut seen = self.0.lock().unwrap();
///         seen.push(format!("parked: {:?}", waiting.interest));
///         seen.len() // the slot handed back to `resumed`
///     }
///     fn resumed(&self, slot: usize) {
///         self.0.lock().unwrap().push(format!("resumed {slot}"));
///     }
///     fn entered_poll(&self, _pollables: usize) {}
///     fn left_poll(&self) {}
///     fn parked_poll(&self, _waits: Vec<Waiting>) {}
///     fn resumed_poll(&self) {}
/// }
///
/// # fn main() -> wasmtime::Result<()> {
/// let recorder = Arc::new(Recorder::default());
/// let descriptions = DescriptionTable::new();
/// let shared = descriptions.create(0, CreateFlags::empty())?;
/// let mut ctx = EventfdCtx::builder(&descriptions)
///     .preopen("shared", &shared)
///     .park_observer(recorder.clone())
///     .build();
/// let mut table = ResourceTable::new();
/// let mut view = EventfdCtxView { ctx: &mut ctx, table: &mut table };
/// let (fd, _name) = view.get_eventfds()?.remove(0);
///
/// std::thread::scope(|scope| {
///     // The guest reads an empty counter: it parks, and its thread waits.
///     let guest = scope.spawn(move || view.read(fd));
///     while recorder.0.lock().unwrap().is_empty() {
///         std::thread::yield_now();
///     }
///     shared.write_blocking(5)?;
///     let read = guest.join().expect("the guest's thread");
///     assert_eq!(read?, Ok(5));
///     wasmtime::Result::<()>::Ok(())
/// })?;
/// assert_eq!(*recorder.0.lock().unwrap(), ["parked: Read", "resumed 1"]);
/// # Ok(())
/// # }
/// ```
pub trait GuestParkObserver: Send + Sync {
    /// An operation of the guest parks on `waiting`. Returns a slot
    /// number of the observer's choosing, handed back to
    /// [`resumed`](Self::resumed) for this same operation.
    fn parked(&self, waiting: Waiting) -> usize;

    /// The operation parked in `slot` resumed (woken, or its call dropped).
    fn resumed(&self, slot: usize);

    /// The guest entered a `wasi:io/poll` `poll` (or a pollable's `block`)
    /// on `pollables` distinct pollables. Called by a host that wraps
    /// `wasi:io/poll`, as the runner does; its eventfd pollables report
    /// their parks through [`parked`](Self::parked) meanwhile.
    fn entered_poll(&self, pollables: usize);

    /// The guest left the `wasi:io/poll` call of
    /// [`entered_poll`](Self::entered_poll).
    fn left_poll(&self);

    /// The guest waits in a core module's poll without a timeout on
    /// `waits` and nothing else: preview 1's `poll_oneoff` without a clock
    /// whose every subscription is an eventfd's. One call for the whole
    /// poll, however many subscriptions it has. (`waits` may be empty for
    /// a front end whose poll can wait on nothing, as Linux's
    /// `poll(NULL, 0, -1)` sleeps until a signal a guest cannot get;
    /// preview 1 refuses that poll with `EINVAL`.)
    fn parked_poll(&self, waits: Vec<Waiting>);

    /// The guest waits in `epoll_wait` without a timeout on `epoll`, whose
    /// interest list holds eventfds alone (no stream, socket or nested
    /// instance): the call ends only when an entry is ready
    /// ([`Epoll::is_ready`], which is exact where the eventfds' own
    /// readiness is not: an `EPOLLET` entry already reported, a disarmed
    /// `EPOLLONESHOT` one). Resumed with [`resumed_poll`](Self::resumed_poll).
    ///
    /// The default reports the instance's [`Epoll::waits`] through
    /// [`parked_poll`](Self::parked_poll): O(registered) at every park. An
    /// observer that keeps `epoll` instead, and asks it only when it looks,
    /// parks in O(1), as the runner's deadlock detector does (an event
    /// loop parks once per wake-up).
    fn parked_epoll(&self, epoll: &Arc<Epoll>) {
        self.parked_poll(epoll.waits().unwrap_or_default());
    }

    /// The poll of [`parked_poll`](Self::parked_poll) or
    /// [`parked_epoll`](Self::parked_epoll) resumed.
    fn resumed_poll(&self);
}

/// The [`ParkObserver`] of one operation of a guest: forwards its parks
/// to the guest's [`GuestParkObserver`]. Cheap to make: the observer hears
/// of the operation only if it really parks.
pub(crate) struct ObservedOp<'a> {
    guest: &'a dyn GuestParkObserver,
    description: &'a Arc<Description>,
    interest: Interest,
    /// Whether the operation is parked now, and in which slot.
    parked: AtomicBool,
    slot: AtomicUsize,
}

impl<'a> ObservedOp<'a> {
    pub(crate) fn new(
        guest: &'a dyn GuestParkObserver,
        description: &'a Arc<Description>,
        interest: Interest,
    ) -> Self {
        ObservedOp {
            guest,
            description,
            interest,
            parked: AtomicBool::new(false),
            slot: AtomicUsize::new(0),
        }
    }
}

impl ParkObserver for ObservedOp<'_> {
    fn parked(&self) {
        let slot = self.guest.parked(Waiting {
            description: Arc::clone(self.description),
            interest: self.interest,
        });
        self.slot.store(slot, Ordering::SeqCst);
        self.parked.store(true, Ordering::SeqCst);
    }

    fn resumed(&self) {
        if self.parked.swap(false, Ordering::SeqCst) {
            self.guest.resumed(self.slot.load(Ordering::SeqCst));
        }
    }
}

impl Drop for ObservedOp<'_> {
    fn drop(&mut self) {
        // An operation dropped while parked no longer waits.
        ParkObserver::resumed(self);
    }
}

/// A core module's poll parked with its guest's observer
/// ([`GuestParkObserver::parked_poll`]); it resumes when dropped.
pub(crate) struct PollParked<'a>(&'a dyn GuestParkObserver);

impl<'a> PollParked<'a> {
    pub(crate) fn new(guest: &'a dyn GuestParkObserver, waits: Vec<Waiting>) -> Self {
        guest.parked_poll(waits);
        PollParked(guest)
    }

    /// Parked in `epoll_wait` on `epoll` (eventfds alone, no timeout).
    pub(crate) fn epoll(guest: &'a dyn GuestParkObserver, epoll: &Arc<Epoll>) -> Self {
        guest.parked_epoll(epoll);
        PollParked(guest)
    }
}

impl Drop for PollParked<'_> {
    fn drop(&mut self) {
        self.0.resumed_poll();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::{CreateFlags, DescriptionTable};

    /// Every report, in order.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<String>>);

    impl Recorder {
        fn note(&self, what: String) {
            self.0.lock().unwrap().push(what);
        }
        fn seen(&self) -> Vec<String> {
            self.0.lock().unwrap().clone()
        }
    }

    impl GuestParkObserver for Recorder {
        fn parked(&self, waiting: Waiting) -> usize {
            self.note(format!("parked {:?}", waiting.key()));
            7
        }
        fn resumed(&self, slot: usize) {
            self.note(format!("resumed {slot}"));
        }
        fn entered_poll(&self, pollables: usize) {
            self.note(format!("entered poll of {pollables}"));
        }
        fn left_poll(&self) {
            self.note("left poll".to_string());
        }
        fn parked_poll(&self, waits: Vec<Waiting>) {
            let keys: Vec<_> = waits.iter().map(Waiting::key).collect();
            self.note(format!("parked poll {keys:?}"));
        }
        fn resumed_poll(&self) {
            self.note("resumed poll".to_string());
        }
    }

    #[test]
    fn an_embedders_observer_is_told_of_a_park_and_its_resume() {
        let recorder = Recorder::default();
        let table = DescriptionTable::new();
        let fd = table.create(0, CreateFlags::default()).unwrap();
        let description = Arc::clone(fd.description());
        let reader = std::thread::scope(|scope| {
            let reader = scope.spawn(|| {
                let op = ObservedOp::new(&recorder, &description, Interest::Read);
                crate::kernel::eventfd::block_on(description.read_observed(&op))
            });
            while recorder.seen().is_empty() {
                std::thread::yield_now();
            }
            fd.description().try_write(5).unwrap();
            reader.join().unwrap()
        });
        assert_eq!(reader, Ok(5));
        assert_eq!(recorder.seen(), ["parked (1, Read)", "resumed 7"]);
    }

    #[test]
    fn an_op_never_parked_reports_nothing_and_a_dropped_poll_resumes() {
        let recorder = Recorder::default();
        let table = DescriptionTable::new();
        let fd = table.create(3, CreateFlags::default()).unwrap();
        let op = ObservedOp::new(&recorder, fd.description(), Interest::Read);
        assert_eq!(
            crate::kernel::eventfd::block_on(fd.description().read_observed(&op)),
            Ok(3)
        );
        drop(op);
        assert!(recorder.seen().is_empty(), "{:?}", recorder.seen());

        let waits = Waiting::distinct([
            (fd.description(), Readiness::Readable),
            (fd.description(), Readiness::Readable),
        ]);
        drop(PollParked::new(&recorder, waits));
        assert_eq!(
            recorder.seen(),
            ["parked poll [(1, Readable)]", "resumed poll"]
        );
        // An observer without its own `parked_epoll` hears of an epoll wait
        // as a poll on the instance's waits: each eventfd and readiness once.
        let epoll = Epoll::new(crate::kernel::epoll::WatchBudget::new(8));
        let file = crate::kernel::poll::PollFile::Eventfd(Arc::clone(fd.description()));
        let both = crate::kernel::poll::PollMask::IN | crate::kernel::poll::PollMask::OUT;
        for number in [4, 5] {
            let add = crate::kernel::epoll::EPOLL_CTL_ADD;
            epoll.ctl(add, number, &file, both.bits(), 0).unwrap();
        }
        drop(PollParked::epoll(&recorder, &epoll));
        assert_eq!(
            recorder.seen()[2..],
            ["parked poll [(1, Writable), (1, Readable)]", "resumed poll"]
        );
    }

    #[test]
    fn distinct_keeps_each_wait_once_in_order_past_a_few() {
        let table = DescriptionTable::new();
        let fds: Vec<_> = (0..20)
            .map(|_| table.create(0, CreateFlags::default()).unwrap())
            .collect();
        // Every description readable and writable, three times over: past
        // FEW_WAITS distinct waits, the set takes over from the scan.
        let entries = (0..3).flat_map(|_| {
            fds.iter().flat_map(|fd| {
                [Readiness::Readable, Readiness::Writable].map(|r| (fd.description(), r))
            })
        });
        let keys: Vec<_> = Waiting::distinct(entries)
            .iter()
            .map(Waiting::key)
            .collect();
        let expected: Vec<_> = fds
            .iter()
            .flat_map(|fd| {
                let id = fd.description().id();
                [(id, Interest::Readable), (id, Interest::Writable)]
            })
            .collect();
        assert_eq!(keys, expected);
    }
}
