//! The eventfd itself: one open file description and its rules, as Linux's
//! `fs/eventfd.c` has them. Nothing here knows about WebAssembly.
//!
//! A [`Description`] holds the counter, the semaphore bit and the
//! non-blocking bit. Every operation on the counter is a single atomic
//! read-modify-write, so the counter needs no lock: this is the kernel's
//! `wqh.lock` critical section, done as a compare-and-swap. Waiting is done
//! in two wait queues (`wait_queue`), one woken after every successful
//! write (readers and readable pollables wait there) and one after every
//! successful read (writers and writable pollables). Like the kernel's
//! non-exclusive wait queue, each wake-up reaches *every* waiter; a woken
//! waiter re-runs its operation and waits again if it still cannot
//! proceed, so no waiter is ever woken into a wrong result.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::kernel::poll::{PollMask, WatchList};
use crate::kernel::wait_queue::{QueueListener, WaitQueue};

/// The largest value the counter can hold through `write`: `0xffff_ffff_ffff_fffe`.
///
/// `u64::MAX` itself is reserved: writing it is `EINVAL`.
pub const MAX_COUNT: u64 = u64::MAX - 1;

/// An error of an eventfd operation, with the Linux errno it stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Errno {
    /// `EINVAL`: an argument is not acceptable (unknown flag bits, writing `u64::MAX`).
    Inval,
    /// `EAGAIN`: the description is non-blocking and the operation would wait.
    Again,
    /// `EMFILE`: a guest holds as many descriptors as it may.
    Mfile,
    /// `ENFILE`: the host holds as many descriptions as it may.
    Nfile,
}

impl Errno {
    /// The Linux errno number (`EINVAL` is 22, and so on).
    pub fn raw(self) -> i32 {
        match self {
            Errno::Inval => 22,
            Errno::Again => 11,
            Errno::Mfile => 24,
            Errno::Nfile => 23,
        }
    }
}

impl std::fmt::Display for Errno {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Errno::Inval => "invalid argument (EINVAL)",
            Errno::Again => "operation would block (EAGAIN)",
            Errno::Mfile => "too many descriptors (EMFILE)",
            Errno::Nfile => "too many descriptions (ENFILE)",
        })
    }
}

impl std::error::Error for Errno {}

bitflags::bitflags! {
    /// The flags of `eventfd(initval, flags)`, with Linux's bit values
    /// (`<sys/eventfd.h>`), combined as the guest crate's `Flags` are:
    /// `CreateFlags::SEMAPHORE | CreateFlags::NONBLOCK`, and
    /// `CreateFlags::default()` (or [`empty`](Self::empty)) for none.
    ///
    /// [`from_bits`](Self::from_bits) decodes the `flags` argument of
    /// `eventfd2`: `None` when any other bit is set, which Linux refuses with
    /// `EINVAL` before it allocates anything. [`bits`](Self::bits) gives the
    /// Linux bits back. (The guest crate's `Flags` carry the WIT's bit
    /// positions instead; the names are the same on both sides.)
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
    pub struct CreateFlags: u32 {
        /// `EFD_SEMAPHORE`: reads return 1 and decrement.
        const SEMAPHORE = 1;
        /// `EFD_NONBLOCK` (`O_NONBLOCK`): the new description is non-blocking.
        const NONBLOCK = 0o4000;
        /// `EFD_CLOEXEC` (`O_CLOEXEC`): close-on-exec on the new descriptor.
        const CLOEXEC = 0o2000000;
    }
}

/// One open file description of an eventfd: the counter and its modes.
///
/// Obtained from [`DescriptionTable::create`](crate::DescriptionTable::create)
/// through a [`Descriptor`](crate::Descriptor). It stays alive while any
/// descriptor, or any operation blocked on it, holds a reference.
pub struct Description {
    id: u64,
    /// The counter, shared with the epoll entries watching the
    /// description, which poll it without holding the description open
    /// (two locked instructions saved on every poll of an entry), as
    /// Linux's `eventfd_ctx` is counted apart from its file.
    count: Arc<AtomicU64>,
    semaphore: bool,
    /// `O_NONBLOCK` lives on the description, so `F_SETFL` through one
    /// descriptor changes it for every descriptor (and every guest).
    nonblocking: AtomicBool,
    /// `O_APPEND`, which `fcntl(F_SETFL)` keeps on any description and
    /// `F_GETFL` reports, though an eventfd's writes have no offset for it
    /// to change.
    append: AtomicBool,
    /// Readers and readable pollables wait here; every successful write
    /// wakes them.
    readers: WaitQueue,
    /// Writers and writable pollables wait here; every successful read
    /// wakes them.
    writers: WaitQueue,
    /// Epoll entries watching the description, told of every read
    /// (`EPOLLOUT`) and write (`EPOLLIN`), as the kernel's wake-ups of
    /// `wqh` reach `ep_poll_callback`.
    watchers: WatchList,
    /// Called with the id when the last reference goes: whoever registered
    /// the description (its table) frees its slot then.
    on_release: Option<Box<dyn FnOnce(u64) + Send + Sync>>,
}

/// An eventfd's readiness at one moment ([`Description::poll`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PollEvents {
    /// A read would not wait (`POLLIN`).
    pub readable: bool,
    /// A write of 1 would not wait (`POLLOUT`).
    pub writable: bool,
    /// The counter overflowed (`POLLERR`).
    pub error: bool,
}

impl PollEvents {
    /// The readiness of an eventfd whose counter is `count`: the one place
    /// it is computed (`eventfd_poll`).
    pub fn of(count: u64) -> Self {
        PollEvents {
            readable: count > 0,
            writable: room_for(count, 1),
            error: count == u64::MAX,
        }
    }

    /// As epoll's bits: `EPOLLIN`, `EPOLLOUT`, `EPOLLERR`.
    pub fn mask(self) -> PollMask {
        let mut mask = PollMask::empty();
        mask.set(PollMask::IN, self.readable);
        mask.set(PollMask::OUT, self.writable);
        mask.set(PollMask::ERR, self.error);
        mask
    }
}

/// What an operation waits for, as `poll(2)` names it: one vocabulary for
/// blocking reads and writes, pollables, the integer-fd ABI's `revents`
/// and the deadlock check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Readiness {
    /// The counter is above 0 (`POLLIN`): a read would not wait.
    Readable,
    /// A write of 1 would fit (`POLLOUT`).
    Writable,
}

impl Description {
    /// A description with counter `initval` and the modes of `flags`
    /// (close-on-exec is the descriptor's, so it is not kept here). A
    /// table gives it an `id` and registers it; on its own it belongs to
    /// no table.
    pub fn new(id: u64, initval: u32, flags: CreateFlags) -> Self {
        Description {
            id,
            count: Arc::new(AtomicU64::new(u64::from(initval))),
            semaphore: flags.contains(CreateFlags::SEMAPHORE),
            nonblocking: AtomicBool::new(flags.contains(CreateFlags::NONBLOCK)),
            append: AtomicBool::new(false),
            readers: WaitQueue::default(),
            writers: WaitQueue::default(),
            watchers: WatchList::default(),
            on_release: None,
        }
    }

    /// [`new`](Self::new), with `on_release` called with the id when the
    /// description goes.
    pub(crate) fn registered(
        id: u64,
        initval: u32,
        flags: CreateFlags,
        on_release: Box<dyn FnOnce(u64) + Send + Sync>,
    ) -> Self {
        let mut description = Self::new(id, initval, flags);
        description.on_release = Some(on_release);
        description
    }

    /// The description's id: unique within its table and never reused.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The counter now.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::SeqCst)
    }

    /// Whether reads return 1 and decrement (`EFD_SEMAPHORE`).
    pub fn is_semaphore(&self) -> bool {
        self.semaphore
    }

    /// Whether operations that would wait fail with `EAGAIN` instead.
    pub fn is_nonblocking(&self) -> bool {
        self.nonblocking.load(Ordering::SeqCst)
    }

    /// `fcntl(F_SETFL)` with or without `O_NONBLOCK`. Operations already
    /// waiting keep waiting, as in Linux, which checks the flag on entry.
    pub fn set_nonblocking(&self, enabled: bool) {
        self.nonblocking.store(enabled, Ordering::SeqCst);
    }

    /// Whether `O_APPEND` is set (`fcntl(F_GETFL)`).
    pub fn is_append(&self) -> bool {
        self.append.load(Ordering::SeqCst)
    }

    /// `fcntl(F_SETFL)` with or without `O_APPEND`: kept and reported,
    /// changing nothing else (Linux's `setfl` does the same for an eventfd).
    pub fn set_append(&self, enabled: bool) {
        self.append.store(enabled, Ordering::SeqCst);
    }

    /// Whether the description is `readiness` now.
    pub fn is_ready(&self, readiness: Readiness) -> bool {
        let events = self.poll();
        match readiness {
            Readiness::Readable => events.readable,
            Readiness::Writable => events.writable,
        }
    }

    /// What `poll` reports of the description now, from one reading of
    /// the counter ([`PollEvents::of`], as the kernel's `eventfd_poll`:
    /// `EPOLLIN` above 0, `EPOLLOUT` while a write of 1 fits, `EPOLLERR`
    /// at `u64::MAX`, which only an overflow reaches).
    pub fn poll(&self) -> PollEvents {
        PollEvents::of(self.count())
    }

    /// [`poll`](Self::poll) as epoll's bits (`EPOLLIN`, `EPOLLOUT`,
    /// `EPOLLERR`), exactly the mask `eventfd_poll` returns.
    pub fn poll_mask(&self) -> PollMask {
        self.poll().mask()
    }

    /// The counter, for an epoll entry to poll while the description lives
    /// ([`PollEvents::of`] its value).
    pub(crate) fn counter(&self) -> &Arc<AtomicU64> {
        &self.count
    }

    /// The epoll entries watching this description.
    pub(crate) fn watchers(&self) -> &WatchList {
        &self.watchers
    }

    /// Whether writing `value` would succeed now without waiting.
    pub fn has_room_for(&self, value: u64) -> bool {
        room_for(self.count(), value)
    }

    /// How many wait for a write now: blocked readers and readable
    /// pollables (the kernel's sleepers for `EPOLLIN`).
    pub fn readers_waiting(&self) -> usize {
        self.readers.waiting()
    }

    /// How many wait for a read now: blocked writers and writable pollables.
    pub fn writers_waiting(&self) -> usize {
        self.writers.waiting()
    }

    /// A place among those waiting for `readiness` (for `poll(2)`, which
    /// waits on several descriptions at once): listen, re-check, then await
    /// it. The next change that may make the description `readiness`
    /// completes it.
    pub(crate) fn listen(&self, readiness: Readiness) -> QueueListener<'_> {
        self.queue(readiness).listen()
    }

    fn queue(&self, readiness: Readiness) -> &WaitQueue {
        match readiness {
            Readiness::Readable => &self.readers,
            Readiness::Writable => &self.writers,
        }
    }

    /// One read attempt that never waits: `EAGAIN` when the counter is 0,
    /// whatever the non-blocking bit says.
    pub fn try_read(&self) -> Result<u64, Errno> {
        let taken = self
            .count
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |count| match count {
                0 => None,
                _ if self.semaphore => Some(count - 1),
                _ => Some(0),
            })
            .map_err(|_| Errno::Again)?;
        // The kernel wakes the queue after every successful read, with
        // EPOLLOUT: writers waiting for room re-check.
        self.writers.wake_all();
        self.watchers.wake(PollMask::OUT);
        Ok(if self.semaphore { 1 } else { taken })
    }

    /// One write attempt that never waits: `EINVAL` for `u64::MAX` (checked
    /// first), `EAGAIN` when the sum would pass [`MAX_COUNT`].
    pub fn try_write(&self, value: u64) -> Result<(), Errno> {
        if value == u64::MAX {
            return Err(Errno::Inval);
        }
        self.count
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |count| {
                room_for(count, value).then(|| count + value)
            })
            .map_err(|_| Errno::Again)?;
        // Even `write(0)` wakes readers (and pollers), as the kernel does.
        self.readers.wake_all();
        self.watchers.wake(PollMask::IN);
        Ok(())
    }

    /// `read(2)` as far as it goes without waiting: `Some` answer (the
    /// value, or `EAGAIN` on a non-blocking description whose counter is
    /// 0), or `None` when a blocking read must wait. The wait
    /// ([`read_observed`](Self::read_observed)) tries once more before it
    /// parks, so the two give the answers of one `read(2)`; front ends use
    /// this to keep the wait's state off the calls that never wait.
    pub fn read_now(&self) -> Option<Result<u64, Errno>> {
        self.unless_it_must_wait(self.try_read())
    }

    /// `write(2)` of `value` as far as it goes without waiting, as
    /// [`read_now`](Self::read_now): `EINVAL` for `u64::MAX`, `EAGAIN` on a
    /// non-blocking description without room, `None` when it must wait.
    pub fn write_now(&self, value: u64) -> Option<Result<(), Errno>> {
        self.unless_it_must_wait(self.try_write(value))
    }

    /// An attempt's answer, or `None` for `EAGAIN` on a blocking
    /// description: the one place that decides whether a call waits.
    fn unless_it_must_wait<T>(&self, attempt: Result<T, Errno>) -> Option<Result<T, Errno>> {
        match attempt {
            Err(Errno::Again) if !self.is_nonblocking() => None,
            done => Some(done),
        }
    }

    /// `read(2)`: waits while the counter is 0, unless non-blocking.
    ///
    /// Cancel-safe: dropping the future before it completes consumes nothing.
    pub async fn read(&self) -> Result<u64, Errno> {
        self.read_observed(&()).await
    }

    /// [`read`](Self::read), telling `observer` whenever it parks and resumes.
    pub async fn read_observed(&self, observer: &impl ParkObserver) -> Result<u64, Errno> {
        self.wait_for(Readiness::Readable, observer, || self.try_read())
            .await
    }

    /// `write(2)`: waits while the sum would pass [`MAX_COUNT`], unless
    /// non-blocking. The whole value is added at once or not at all.
    ///
    /// Cancel-safe: dropping the future before it completes adds nothing.
    pub async fn write(&self, value: u64) -> Result<(), Errno> {
        self.write_observed(value, &()).await
    }

    /// [`write`](Self::write), telling `observer` whenever it parks and resumes.
    pub async fn write_observed(
        &self,
        value: u64,
        observer: &impl ParkObserver,
    ) -> Result<(), Errno> {
        self.wait_for(Readiness::Writable, observer, || self.try_write(value))
            .await
    }

    /// [`read`](Self::read) for threads without an async runtime: blocks
    /// the calling thread while the counter is 0 (unless non-blocking:
    /// `EAGAIN`), until a write from another thread, guest or task makes it
    /// non-zero. The same wait loop as `read`, driven by parking the thread.
    ///
    /// Do not call it from async code: on a runtime's thread it blocks every
    /// task of that thread, including the one that would wake it (use
    /// `read().await` there).
    pub fn read_blocking(&self) -> Result<u64, Errno> {
        block_on(self.read())
    }

    /// [`write`](Self::write) for threads without an async runtime: blocks
    /// the calling thread while `value` does not fit (unless non-blocking:
    /// `EAGAIN`); `EINVAL` for `u64::MAX`. As with
    /// [`read_blocking`](Self::read_blocking), not for async code.
    pub fn write_blocking(&self, value: u64) -> Result<(), Errno> {
        block_on(self.write(value))
    }

    /// Completes once the description is `readiness` (level-triggered
    /// `EPOLLIN` / `EPOLLOUT`), consuming nothing.
    pub async fn ready(&self, readiness: Readiness) {
        self.ready_observed(readiness, &()).await
    }

    /// [`ready`](Self::ready), telling `observer` whenever it parks and
    /// resumes.
    pub async fn ready_observed(&self, readiness: Readiness, observer: &impl ParkObserver) {
        // Readiness is never refused as non-blocking: it only waits.
        let attempt = || match self.is_ready(readiness) {
            true => Ok(()),
            false => Err(Errno::Again),
        };
        let _ = self
            .wait_for_even_if_nonblocking(readiness, observer, attempt)
            .await;
    }

    /// The one wait loop: `attempt` until it does not say `EAGAIN`, parked
    /// among those waiting for `readiness` in between (or `EAGAIN` at once
    /// on a non-blocking description).
    async fn wait_for<T>(
        &self,
        readiness: Readiness,
        observer: &impl ParkObserver,
        attempt: impl Fn() -> Result<T, Errno>,
    ) -> Result<T, Errno> {
        if let Some(done) = self.unless_it_must_wait(attempt()) {
            return done;
        }
        self.wait_for_even_if_nonblocking(readiness, observer, attempt)
            .await
    }

    async fn wait_for_even_if_nonblocking<T>(
        &self,
        readiness: Readiness,
        observer: &impl ParkObserver,
        attempt: impl Fn() -> Result<T, Errno>,
    ) -> Result<T, Errno> {
        loop {
            // Listen before re-checking, so a change between the check and
            // the wait cannot be missed.
            let listener = self.listen(readiness);
            match attempt() {
                Err(Errno::Again) => Parked::new(observer).wait(listener).await,
                done => return done,
            }
            // Woken: the change usually made room, so look before listening
            // again (joining the queue takes its lock).
            match attempt() {
                Err(Errno::Again) => {}
                done => return done,
            }
        }
    }
}

/// Runs `future` to completion on the calling thread, parking the thread
/// while it is pending: how the blocking calls (the host's `read_blocking` /
/// `write_blocking` and the synchronous guest bindings) drive the one async
/// wait loop without any runtime. The wait queues' wake-ups unpark it.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    let (parker, unparker) = parking::pair();
    let waker = std::task::Waker::from(unparker);
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        parker.park();
    }
}

/// Told when an operation parks (waits for another party to change the
/// counter) and when it resumes, so a host can see who waits on what, e.g.
/// to find deadlocks. `()` observes nothing. A guest's operations tell the
/// [`GuestParkObserver`](crate::GuestParkObserver) of its context through
/// one of these each.
pub trait ParkObserver {
    /// The operation has checked its condition, found it false, and waits.
    fn parked(&self);
    /// The operation was woken (or dropped) and will check again.
    fn resumed(&self);
}

impl ParkObserver for () {
    fn parked(&self) {}
    fn resumed(&self) {}
}

impl<O: ParkObserver> ParkObserver for Option<O> {
    fn parked(&self) {
        if let Some(observer) = self {
            observer.parked();
        }
    }
    fn resumed(&self) {
        if let Some(observer) = self {
            observer.resumed();
        }
    }
}

/// An operation parked on a listener: resumed when woken, and also when
/// the waiting future is dropped.
struct Parked<'a, O: ParkObserver>(&'a O);

impl<'a, O: ParkObserver> Parked<'a, O> {
    fn new(observer: &'a O) -> Self {
        observer.parked();
        Parked(observer)
    }

    async fn wait(self, listener: QueueListener<'_>) {
        listener.await;
        // `self` drops here, before the caller re-checks its condition: a
        // woken operation never counts as parked while it takes the count.
    }
}

impl<O: ParkObserver> Drop for Parked<'_, O> {
    fn drop(&mut self) {
        self.0.resumed();
    }
}

/// Whether `value` can be added to `count`: the kernel's
/// `ULLONG_MAX - count > ucnt`, i.e. the sum stays at most [`MAX_COUNT`].
fn room_for(count: u64, value: u64) -> bool {
    MAX_COUNT.saturating_sub(count) >= value
}

impl Drop for Description {
    fn drop(&mut self) {
        // The last reference: every epoll entry on it goes
        // (`eventpoll_release`).
        self.watchers.release_all();
        if let Some(release) = self.on_release.take() {
            release(self.id);
        }
    }
}

impl std::fmt::Debug for Description {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Description")
            .field("id", &self.id)
            .field("count", &self.count())
            .field("semaphore", &self.semaphore)
            .field("nonblocking", &self.is_nonblocking())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    /// A description on its own, as the semantics know it: no table.
    fn description(initval: u32, flags: CreateFlags) -> ((), Arc<Description>) {
        ((), Arc::new(Description::new(1, initval, flags)))
    }

    const NONBLOCK: CreateFlags = CreateFlags::NONBLOCK;
    const SEMAPHORE: CreateFlags = CreateFlags::SEMAPHORE;

    /// Yields to the runtime until `condition` holds.
    async fn until(condition: impl Fn() -> bool) {
        for _ in 0..10_000 {
            if condition() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        panic!("condition never held");
    }

    /// Waits on a plain thread until `condition` holds.
    fn until_on_thread(condition: impl Fn() -> bool) {
        for _ in 0..10_000 {
            if condition() {
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        panic!("condition never held");
    }

    #[test]
    fn a_blocking_read_parks_its_thread_until_another_thread_writes() {
        let (_fd, d) = description(0, CreateFlags::default());
        let reader = std::thread::spawn({
            let d = Arc::clone(&d);
            move || d.read_blocking()
        });
        until_on_thread(|| d.readers_waiting() == 1);
        assert!(!reader.is_finished());
        d.write_blocking(3).unwrap();
        assert_eq!(reader.join().unwrap(), Ok(3));
        assert_eq!(d.count(), 0);
    }

    #[test]
    fn a_blocking_write_parks_its_thread_until_a_read_makes_room() {
        let (_fd, d) = description(0, CreateFlags::default());
        d.write_blocking(MAX_COUNT - 1).unwrap();
        let writer = std::thread::spawn({
            let d = Arc::clone(&d);
            move || d.write_blocking(2)
        });
        until_on_thread(|| d.writers_waiting() == 1);
        assert_eq!(d.count(), MAX_COUNT - 1, "nothing added while waiting");
        assert_eq!(d.read_blocking(), Ok(MAX_COUNT - 1));
        assert_eq!(writer.join().unwrap(), Ok(()));
        assert_eq!(d.count(), 2);
    }

    #[test]
    fn blocking_calls_on_a_nonblocking_description_fail_instead_of_waiting() {
        let (_fd, d) = description(0, NONBLOCK);
        assert_eq!(d.read_blocking(), Err(Errno::Again));
        d.write_blocking(MAX_COUNT).unwrap();
        assert_eq!(d.write_blocking(1), Err(Errno::Again));
        assert_eq!(d.write_blocking(u64::MAX), Err(Errno::Inval));
    }

    #[test]
    fn a_blocking_read_wakes_on_a_write_from_async_code() {
        let (_fd, d) = description(0, SEMAPHORE);
        let reader = std::thread::spawn({
            let d = Arc::clone(&d);
            move || (d.read_blocking(), d.read_blocking())
        });
        until_on_thread(|| d.readers_waiting() == 1);
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(d.write(2))
            .unwrap();
        assert_eq!(reader.join().unwrap(), (Ok(1), Ok(1)));
    }

    #[test]
    fn flags_decode_linux_bits_and_reject_unknown_ones() {
        let all = CreateFlags::SEMAPHORE | CreateFlags::NONBLOCK | CreateFlags::CLOEXEC;
        assert_eq!(all.bits(), 0o2004001);
        assert_eq!(CreateFlags::from_bits(0o2004001), Some(all));
        assert_eq!(CreateFlags::from_bits(0), Some(CreateFlags::default()));
        for bit in (0..32).map(|b| 1u32 << b).filter(|b| all.bits() & b == 0) {
            assert_eq!(CreateFlags::from_bits(bit), None, "bit {bit:#x}");
        }
    }

    #[test]
    fn counter_mode_reads_everything_semaphore_mode_reads_one() {
        let (_fd, counter) = description(5, NONBLOCK);
        counter.try_write(2).unwrap();
        assert_eq!(counter.try_read(), Ok(7));
        assert_eq!(counter.try_read(), Err(Errno::Again));

        let (_fd, semaphore) = description(2, SEMAPHORE);
        assert_eq!(semaphore.try_read(), Ok(1));
        assert_eq!(semaphore.try_read(), Ok(1));
        assert_eq!(semaphore.try_read(), Err(Errno::Again));
    }

    #[test]
    fn writes_stop_at_max_count_and_reject_u64_max_first() {
        let (_fd, d) = description(0, NONBLOCK);
        assert_eq!(d.try_write(u64::MAX), Err(Errno::Inval));
        d.try_write(MAX_COUNT).unwrap();
        assert!(d.is_ready(Readiness::Readable) && !d.is_ready(Readiness::Writable));
        assert_eq!(d.try_write(1), Err(Errno::Again));
        assert_eq!(
            d.try_write(u64::MAX),
            Err(Errno::Inval),
            "EINVAL before EAGAIN"
        );
        d.try_write(0).unwrap();
        assert_eq!(d.count(), MAX_COUNT);
        assert_eq!(d.try_read(), Ok(MAX_COUNT));
        assert!(!d.is_ready(Readiness::Readable) && d.is_ready(Readiness::Writable));
    }

    #[tokio::test]
    async fn nonblocking_operations_fail_instead_of_waiting() {
        let (_fd, d) = description(0, NONBLOCK);
        assert_eq!(d.read().await, Err(Errno::Again));
        d.write(MAX_COUNT).await.unwrap();
        assert_eq!(d.write(1).await, Err(Errno::Again));
        assert_eq!(d.write(u64::MAX).await, Err(Errno::Inval));
    }

    #[tokio::test]
    async fn a_write_wakes_a_blocked_reader() {
        let (_fd, d) = description(0, CreateFlags::default());
        let reader = tokio::spawn({
            let d = Arc::clone(&d);
            async move { d.read().await }
        });
        until(|| d.readers_waiting() == 1).await;
        assert!(!reader.is_finished());
        d.write(3).await.unwrap();
        assert_eq!(reader.await.unwrap(), Ok(3));
        assert_eq!(d.count(), 0);
    }

    #[tokio::test]
    async fn a_read_wakes_a_blocked_writer_which_adds_its_whole_value() {
        let (_fd, d) = description(0, CreateFlags::default());
        d.write(MAX_COUNT - 1).await.unwrap();
        let writer = tokio::spawn({
            let d = Arc::clone(&d);
            async move { d.write(2).await }
        });
        until(|| d.writers_waiting() == 1).await;
        assert_eq!(d.count(), MAX_COUNT - 1, "nothing added while waiting");
        assert_eq!(d.try_read(), Ok(MAX_COUNT - 1));
        assert_eq!(writer.await.unwrap(), Ok(()));
        assert_eq!(d.count(), 2);
    }

    #[tokio::test]
    async fn every_reader_wakes_and_the_losers_wait_again() {
        let (_fd, d) = description(0, CreateFlags::default());
        let readers: Vec<_> = (0..3)
            .map(|_| {
                let d = Arc::clone(&d);
                tokio::spawn(async move { d.read().await })
            })
            .collect();
        until(|| d.readers_waiting() == 3).await;
        d.write(9).await.unwrap();
        until(|| readers.iter().filter(|r| r.is_finished()).count() == 1).await;
        until(|| d.readers_waiting() == 2).await;
        for finished in [2, 3] {
            d.write(1).await.unwrap();
            until(|| readers.iter().filter(|r| r.is_finished()).count() == finished).await;
        }
        let mut values = Vec::new();
        for reader in readers {
            values.push(reader.await.unwrap().unwrap());
        }
        values.sort_unstable();
        assert_eq!(values, [1, 1, 9], "each write went whole to one reader");
    }

    #[tokio::test]
    async fn a_dropped_pending_read_consumes_nothing() {
        let (_fd, d) = description(0, CreateFlags::default());
        let pending = tokio::time::timeout(Duration::from_millis(20), d.read()).await;
        assert!(pending.is_err(), "the read waited");
        assert_eq!(d.readers_waiting(), 0, "the dropped read left the queue");
        d.write(4).await.unwrap();
        assert_eq!(d.read().await, Ok(4));
    }

    #[tokio::test]
    async fn a_waiting_read_keeps_waiting_when_nonblock_is_set() {
        // Linux checks O_NONBLOCK on entry only.
        let (_fd, d) = description(0, CreateFlags::default());
        let reader = tokio::spawn({
            let d = Arc::clone(&d);
            async move { d.read().await }
        });
        until(|| d.readers_waiting() == 1).await;
        d.set_nonblocking(true);
        d.write(0).await.unwrap(); // wakes it: it re-checks and waits again
        until(|| d.readers_waiting() == 1).await;
        assert!(!reader.is_finished());
        d.write(6).await.unwrap();
        assert_eq!(reader.await.unwrap(), Ok(6));
    }

    #[tokio::test]
    async fn readiness_is_level_triggered() {
        let (_fd, d) = description(0, CreateFlags::default());
        let readable = tokio::spawn({
            let d = Arc::clone(&d);
            async move { d.ready(Readiness::Readable).await }
        });
        until(|| d.readers_waiting() == 1).await;
        d.write(1).await.unwrap();
        readable.await.unwrap();
        d.ready(Readiness::Readable).await; // still readable: nothing read it
        d.ready(Readiness::Writable).await;
        d.write(MAX_COUNT - 1).await.unwrap();
        let writable = tokio::spawn({
            let d = Arc::clone(&d);
            async move { d.ready(Readiness::Writable).await }
        });
        until(|| d.writers_waiting() == 1).await;
        assert!(!writable.is_finished());
        d.try_read().unwrap();
        writable.await.unwrap();
    }
}
