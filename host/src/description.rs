//! The eventfd itself: one open file description and its rules, as Linux's
//! `fs/eventfd.c` has them. Nothing here knows about WebAssembly.
//!
//! A [`Description`] holds the counter, the semaphore bit and the
//! non-blocking bit. Every operation on the counter is a single atomic
//! read-modify-write, so the counter needs no lock: this is the kernel's
//! `wqh.lock` critical section, done as a compare-and-swap. Waiting is done
//! with two [`Event`]s, one notified after every successful write (readers
//! and readable pollables wait there) and one after every successful read
//! (writers and writable pollables). Like the kernel's non-exclusive wait
//! queue, each notification wakes *every* waiter; a woken waiter re-runs
//! its operation and waits again if it still cannot proceed, so no waiter is
//! ever woken into a wrong result.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Weak;
use std::task::{Context, Poll};

use event_listener::{Event, EventListener};

use crate::table::TableInner;

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
    /// `EBADF`: no such descriptor (integer-fd ABI only).
    Badf,
    /// `EFAULT`: a buffer outside the guest's memory (integer-fd ABI only).
    Fault,
    /// `ENOENT`: no preopen of that name (integer-fd ABI only).
    Noent,
}

impl Errno {
    /// The Linux errno number (`EINVAL` is 22, and so on).
    pub fn raw(self) -> i32 {
        match self {
            Errno::Inval => 22,
            Errno::Again => 11,
            Errno::Mfile => 24,
            Errno::Nfile => 23,
            Errno::Badf => 9,
            Errno::Fault => 14,
            Errno::Noent => 2,
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
            Errno::Badf => "bad descriptor (EBADF)",
            Errno::Fault => "bad address (EFAULT)",
            Errno::Noent => "no such eventfd (ENOENT)",
        })
    }
}

impl std::error::Error for Errno {}

/// The flags of `eventfd(initval, flags)`, with Linux's bit values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct CreateFlags {
    /// `EFD_CLOEXEC`: close-on-exec on the new descriptor.
    pub cloexec: bool,
    /// `EFD_NONBLOCK`: the new description is non-blocking.
    pub nonblock: bool,
    /// `EFD_SEMAPHORE`: reads return 1 and decrement.
    pub semaphore: bool,
}

impl CreateFlags {
    /// `EFD_SEMAPHORE`.
    pub const SEMAPHORE: u32 = 1;
    /// `EFD_NONBLOCK` (`O_NONBLOCK`).
    pub const NONBLOCK: u32 = 0o4000;
    /// `EFD_CLOEXEC` (`O_CLOEXEC`).
    pub const CLOEXEC: u32 = 0o2000000;

    /// Decodes Linux flag bits; any bit other than the three flags is
    /// `EINVAL`, as `eventfd2` checks before it allocates anything.
    pub fn from_bits(bits: u32) -> Result<Self, Errno> {
        if bits & !(Self::SEMAPHORE | Self::NONBLOCK | Self::CLOEXEC) != 0 {
            return Err(Errno::Inval);
        }
        Ok(CreateFlags {
            cloexec: bits & Self::CLOEXEC != 0,
            nonblock: bits & Self::NONBLOCK != 0,
            semaphore: bits & Self::SEMAPHORE != 0,
        })
    }

    /// The Linux flag bits.
    pub fn bits(self) -> u32 {
        (if self.cloexec { Self::CLOEXEC } else { 0 })
            | (if self.nonblock { Self::NONBLOCK } else { 0 })
            | (if self.semaphore { Self::SEMAPHORE } else { 0 })
    }
}

/// One open file description of an eventfd: the counter and its modes.
///
/// Obtained from [`DescriptionTable::create`](crate::DescriptionTable::create)
/// through a [`Descriptor`](crate::Descriptor). It stays alive while any
/// descriptor, or any operation blocked on it, holds a reference.
pub struct Description {
    id: u64,
    count: AtomicU64,
    semaphore: bool,
    /// `O_NONBLOCK` lives on the description, so `F_SETFL` through one
    /// descriptor changes it for every descriptor (and every guest).
    nonblocking: AtomicBool,
    /// Woken after every successful write: readers wait here.
    written: WaitQueue,
    /// Woken after every successful read: writers wait here.
    read: WaitQueue,
    /// The table this description is registered in, to free its slot on drop.
    table: Weak<TableInner>,
}

impl Description {
    pub(crate) fn new(id: u64, initval: u32, flags: CreateFlags, table: Weak<TableInner>) -> Self {
        Description {
            id,
            count: AtomicU64::new(u64::from(initval)),
            semaphore: flags.semaphore,
            nonblocking: AtomicBool::new(flags.nonblock),
            written: WaitQueue::default(),
            read: WaitQueue::default(),
            table,
        }
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

    /// Whether a read would succeed now (`EPOLLIN`).
    pub fn is_readable(&self) -> bool {
        self.count() > 0
    }

    /// Whether writing 1 would succeed now (`EPOLLOUT`).
    pub fn is_writable(&self) -> bool {
        self.has_room_for(1)
    }

    /// Whether writing `value` would succeed now without waiting.
    pub fn has_room_for(&self, value: u64) -> bool {
        room_for(self.count(), value)
    }

    /// How many operations are waiting for a write now: blocked readers and
    /// pending readable pollables (the kernel's sleepers for `EPOLLIN`).
    pub fn readers_waiting(&self) -> usize {
        self.written.waiting()
    }

    /// How many operations are waiting for a read now: blocked writers and
    /// pending writable pollables.
    pub fn writers_waiting(&self) -> usize {
        self.read.waiting()
    }

    /// A listener notified by the next successful write (for `poll(2)`,
    /// which waits on several descriptions at once). Listen, re-check
    /// readiness, then await it.
    pub(crate) fn listen_written(&self) -> QueueListener<'_> {
        self.written.listen()
    }

    /// A listener notified by the next successful read.
    pub(crate) fn listen_read(&self) -> QueueListener<'_> {
        self.read.listen()
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
        self.read.wake_all();
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
        self.written.wake_all();
        Ok(())
    }

    /// `read(2)`: waits while the counter is 0, unless non-blocking.
    ///
    /// Cancel-safe: dropping the future before it completes consumes nothing.
    pub async fn read(&self) -> Result<u64, Errno> {
        self.read_observed(&()).await
    }

    /// [`read`](Self::read), telling `observer` whenever it parks and resumes.
    pub async fn read_observed(&self, observer: &impl ParkObserver) -> Result<u64, Errno> {
        match self.try_read() {
            Err(Errno::Again) if !self.is_nonblocking() => {}
            done => return done,
        }
        loop {
            // Listen before re-checking, so a write between the check and the
            // wait cannot be missed.
            let listener = self.written.listen();
            match self.try_read() {
                Err(Errno::Again) => Parked::new(observer).wait(listener).await,
                done => return done,
            }
            // Woken: a write usually left a count, so look before listening
            // again (joining the queue takes its lock).
            match self.try_read() {
                Err(Errno::Again) => {}
                done => return done,
            }
        }
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
        match self.try_write(value) {
            Err(Errno::Again) if !self.is_nonblocking() => {}
            done => return done,
        }
        loop {
            let listener = self.read.listen();
            match self.try_write(value) {
                Err(Errno::Again) => Parked::new(observer).wait(listener).await,
                done => return done,
            }
            match self.try_write(value) {
                Err(Errno::Again) => {}
                done => return done,
            }
        }
    }

    /// Completes once the counter is above 0 (level-triggered `EPOLLIN`).
    pub async fn readable(&self) {
        self.readable_observed(&()).await
    }

    /// [`readable`](Self::readable), telling `observer` whenever it parks
    /// and resumes.
    pub async fn readable_observed(&self, observer: &impl ParkObserver) {
        while !self.is_readable() {
            let listener = self.written.listen();
            if self.is_readable() {
                return;
            }
            Parked::new(observer).wait(listener).await;
        }
    }

    /// Completes once writing 1 would not wait (level-triggered `EPOLLOUT`).
    pub async fn writable(&self) {
        self.writable_observed(&()).await
    }

    /// [`writable`](Self::writable), telling `observer` whenever it parks
    /// and resumes.
    pub async fn writable_observed(&self, observer: &impl ParkObserver) {
        while !self.is_writable() {
            let listener = self.read.listen();
            if self.is_writable() {
                return;
            }
            Parked::new(observer).wait(listener).await;
        }
    }
}

/// A kernel-style wait queue: an [`Event`] plus a count of its listeners,
/// so that waking nobody (the common case) costs one atomic load instead of
/// the event's lock.
#[derive(Default)]
struct WaitQueue {
    event: Event,
    waiters: AtomicUsize,
}

impl WaitQueue {
    /// Joins the queue. Callers check their condition after this and wait
    /// only if it is still false, so no wake-up between the two is lost:
    /// either `wake_all` sees this waiter, or the check sees the change
    /// made before `wake_all` (all four accesses are `SeqCst`).
    fn listen(&self) -> QueueListener<'_> {
        self.waiters.fetch_add(1, Ordering::SeqCst);
        QueueListener {
            listener: self.event.listen(),
            queue: self,
        }
    }

    /// Wakes every waiter, as the kernel's non-exclusive wake-up does.
    fn wake_all(&self) {
        if self.waiters.load(Ordering::SeqCst) > 0 {
            self.event.notify(usize::MAX);
        }
    }

    fn waiting(&self) -> usize {
        self.waiters.load(Ordering::SeqCst)
    }
}

/// A place in a [`WaitQueue`]; completes when woken, leaves when dropped.
pub(crate) struct QueueListener<'a> {
    listener: EventListener,
    queue: &'a WaitQueue,
}

impl Future for QueueListener<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.listener).poll(cx)
    }
}

impl Drop for QueueListener<'_> {
    fn drop(&mut self) {
        self.queue.waiters.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Told when an operation parks (waits for another party to change the
/// counter) and when it resumes, so a host can see who waits on what, e.g.
/// to find deadlocks. `()` observes nothing.
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
        if let Some(table) = self.table.upgrade() {
            table.release(self.id);
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
    use crate::DescriptionTable;
    use std::sync::Arc;
    use std::time::Duration;

    fn description(initval: u32, flags: CreateFlags) -> (crate::Descriptor, Arc<Description>) {
        let fd = DescriptionTable::new().create(initval, flags).unwrap();
        let description = Arc::clone(fd.description());
        (fd, description)
    }

    const NONBLOCK: CreateFlags = CreateFlags {
        cloexec: false,
        nonblock: true,
        semaphore: false,
    };
    const SEMAPHORE: CreateFlags = CreateFlags {
        cloexec: false,
        nonblock: false,
        semaphore: true,
    };

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

    #[test]
    fn flags_decode_linux_bits_and_reject_unknown_ones() {
        let all = CreateFlags::SEMAPHORE | CreateFlags::NONBLOCK | CreateFlags::CLOEXEC;
        assert_eq!(all, 0o2004001);
        let flags = CreateFlags::from_bits(all).unwrap();
        assert!(flags.cloexec && flags.nonblock && flags.semaphore);
        assert_eq!(flags.bits(), all);
        assert_eq!(CreateFlags::from_bits(0), Ok(CreateFlags::default()));
        for bit in (0..32).map(|b| 1u32 << b).filter(|b| all & b == 0) {
            assert_eq!(
                CreateFlags::from_bits(bit),
                Err(Errno::Inval),
                "bit {bit:#x}"
            );
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
        assert!(d.is_readable() && !d.is_writable());
        assert_eq!(d.try_write(1), Err(Errno::Again));
        assert_eq!(
            d.try_write(u64::MAX),
            Err(Errno::Inval),
            "EINVAL before EAGAIN"
        );
        d.try_write(0).unwrap();
        assert_eq!(d.count(), MAX_COUNT);
        assert_eq!(d.try_read(), Ok(MAX_COUNT));
        assert!(!d.is_readable() && d.is_writable());
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
            async move { d.readable().await }
        });
        until(|| d.readers_waiting() == 1).await;
        d.write(1).await.unwrap();
        readable.await.unwrap();
        d.readable().await; // still readable: nothing read it
        d.writable().await;
        d.write(MAX_COUNT - 1).await.unwrap();
        let writable = tokio::spawn({
            let d = Arc::clone(&d);
            async move { d.writable().await }
        });
        until(|| d.writers_waiting() == 1).await;
        assert!(!writable.is_finished());
        d.try_read().unwrap();
        writable.await.unwrap();
    }
}
