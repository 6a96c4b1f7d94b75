//! The one wait queue, as Linux's `wait_queue_head_t` (`kernel/sched/wait.c`):
//! where operations that cannot proceed wait for a change, and a change
//! wakes every one of them (the kernel's non-exclusive `wake_up`). A woken
//! waiter re-checks its condition and waits again if it still cannot
//! proceed, so nothing is ever woken into a wrong result.
//!
//! Built for the round trip of two guests waking each other, which parks
//! and wakes once per message:
//! - joining the queue ([`WaitQueue::listen`]) takes no lock and allocates
//!   nothing: a listener notes how many wake-ups the queue has had (its
//!   generation) and is woken once that number moves;
//! - only a listener that is polled and finds nothing leaves its waker in
//!   the queue, in a slot that a dropped listener frees in O(1) and the
//!   next one reuses; the slots keep their room across wake-ups, so a
//!   steady ping-pong allocates nothing here;
//! - a change with nobody waiting costs one atomic load.
//!
//! Wakers are woken, and dropped, outside the queue's lock: a waker's last
//! reference may drop a future whose listener leaves this same queue.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// A kernel-style wait queue: listen, re-check the condition, then await
/// the listener; [`wake_all`](Self::wake_all) after every change that may
/// let a waiter proceed.
#[derive(Default)]
pub(crate) struct WaitQueue {
    /// Listeners alive (joined and not dropped, woken or not): a change
    /// with none costs this one load instead of the lock.
    waiters: AtomicUsize,
    /// Wake-ups that found a listener, so far. Moved only under `wakers`'
    /// lock, so a listener that reads it unchanged under that lock still
    /// owns its slot, and by a plain (release) store, not a locked add: a
    /// listener that reads the new value also sees the change the wake-up
    /// announces, and one that reads an old value outside the lock looks
    /// again under it.
    generation: AtomicU64,
    /// The wakers of listeners pending since the last wake-up.
    wakers: Mutex<Wakers>,
}

/// A slab of wakers: a freed slot is reused by the next listener to park.
#[derive(Default)]
struct Wakers {
    slots: Vec<Slot>,
    /// The first free slot, if any; each free slot names the next.
    free: Option<usize>,
}

enum Slot {
    /// A pending listener's waker.
    Waiting(Waker),
    /// Free, and the next free slot.
    Free(Option<usize>),
}

impl Wakers {
    /// Keeps `waker` in a free slot or a new one; its index.
    fn insert(&mut self, waker: Waker) -> usize {
        match self.free {
            Some(at) => {
                if let Some(slot) = self.slots.get_mut(at) {
                    self.free = match slot {
                        Slot::Free(next) => *next,
                        // Never: the free list names free slots only.
                        Slot::Waiting(_) => None,
                    };
                    *slot = Slot::Waiting(waker);
                    return at;
                }
                self.free = None;
                self.push(waker)
            }
            None => self.push(waker),
        }
    }

    fn push(&mut self, waker: Waker) -> usize {
        self.slots.push(Slot::Waiting(waker));
        self.slots.len() - 1
    }

    /// Frees slot `at`; its waker, to be dropped outside the lock.
    fn remove(&mut self, at: usize) -> Option<Waker> {
        let slot = self.slots.get_mut(at)?;
        match std::mem::replace(slot, Slot::Free(self.free)) {
            Slot::Waiting(waker) => {
                self.free = Some(at);
                Some(waker)
            }
            // Never freed twice; put back as it was.
            free @ Slot::Free(_) => {
                *slot = free;
                None
            }
        }
    }
}

impl WaitQueue {
    fn wakers(&self) -> MutexGuard<'_, Wakers> {
        // Each critical section is a few moves of wakers: no panic inside.
        self.wakers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Joins the queue. Callers check their condition after this and wait
    /// only if it is still false, so no wake-up between the two is lost:
    /// either [`wake_all`](Self::wake_all) sees this listener and moves the
    /// generation read here, or the check sees the change made before it
    /// (the count and the callers' conditions are `SeqCst`; a generation
    /// read here that a wake-up already moved comes with that wake-up's
    /// change, which the check then sees).
    pub(crate) fn listen(&self) -> QueueListener<'_> {
        self.waiters.fetch_add(1, Ordering::SeqCst);
        QueueListener {
            queue: self,
            generation: self.generation.load(Ordering::SeqCst),
            slot: None,
        }
    }

    /// Wakes every listener joined before now, as the kernel's
    /// non-exclusive wake-up does.
    #[inline]
    pub(crate) fn wake_all(&self) {
        // Every read and write of an eventfd wakes a queue, most often an
        // empty one: only this check is inlined into them.
        if self.waiters.load(Ordering::SeqCst) != 0 {
            self.wake_listeners();
        }
    }

    /// [`wake_all`](Self::wake_all) with a listener alive.
    #[inline(never)]
    fn wake_listeners(&self) {
        let (one, mut taken) = {
            let mut wakers = self.wakers();
            let generation = self.generation.load(Ordering::Relaxed);
            self.generation
                .store(generation.wrapping_add(1), Ordering::Release);
            wakers.free = None;
            if wakers.slots.len() <= 1 {
                // One waiter (a ping-pong's): its waker taken out, the
                // slots' room left in place, one lock.
                let one = match wakers.slots.pop() {
                    Some(Slot::Waiting(waker)) => Some(waker),
                    _ => None,
                };
                (one, Vec::new())
            } else {
                (None, std::mem::take(&mut wakers.slots))
            }
        };
        if let Some(waker) = one {
            waker.wake();
            return;
        }
        for slot in taken.drain(..) {
            if let Slot::Waiting(waker) = slot {
                waker.wake();
            }
        }
        // The room goes back for the next waits, unless some came meanwhile
        // and made their own.
        if taken.capacity() > 0 {
            let mut wakers = self.wakers();
            if wakers.slots.capacity() == 0 {
                wakers.slots = taken;
            }
        }
    }

    /// Listeners alive now.
    pub(crate) fn waiting(&self) -> usize {
        self.waiters.load(Ordering::SeqCst)
    }
}

/// A place in a [`WaitQueue`]: completes once the queue is woken after it
/// joined (and stays complete), leaves the queue when dropped.
pub(crate) struct QueueListener<'a> {
    queue: &'a WaitQueue,
    /// The queue's generation when this joined.
    generation: u64,
    /// Its waker's slot, once polled and pending (valid while the
    /// generation has not moved).
    slot: Option<usize>,
}

impl QueueListener<'_> {
    fn woken(&self) -> bool {
        self.queue.generation.load(Ordering::SeqCst) != self.generation
    }
}

impl Future for QueueListener<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.woken() {
            return Poll::Ready(());
        }
        let queue = self.queue;
        let mut wakers = queue.wakers();
        // Looked at again under the lock, which a wake-up holds while it
        // moves the generation: unchanged, this listener's slot is its own.
        if self.woken() {
            return Poll::Ready(());
        }
        let replaced = match self.slot.and_then(|at| wakers.slots.get_mut(at)) {
            Some(Slot::Waiting(waker)) if waker.will_wake(cx.waker()) => None,
            Some(Slot::Waiting(waker)) => Some(std::mem::replace(waker, cx.waker().clone())),
            // Not polled yet (a pending listener's slot holds its waker).
            _ => {
                self.slot = Some(wakers.insert(cx.waker().clone()));
                None
            }
        };
        drop(wakers);
        drop(replaced);
        Poll::Pending
    }
}

impl Drop for QueueListener<'_> {
    fn drop(&mut self) {
        self.queue.waiters.fetch_sub(1, Ordering::SeqCst);
        let Some(at) = self.slot else {
            return;
        };
        if self.woken() {
            return;
        }
        let waker = {
            let mut wakers = self.queue.wakers();
            if self.woken() {
                return;
            }
            wakers.remove(at)
        };
        drop(waker);
    }
}

/// Whether any of `listeners` has been woken (each polled with `cx` until
/// one is): a poll over many queues waits on all of them at once.
pub(crate) fn any_woken(listeners: &mut [QueueListener<'_>], cx: &mut Context<'_>) -> bool {
    listeners
        .iter_mut()
        .any(|listener| Pin::new(listener).poll(cx).is_ready())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;
    use std::task::Wake;

    /// A waker that counts its wake-ups.
    #[derive(Default)]
    struct Counter(AtomicUsize);

    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn poll(listener: &mut QueueListener<'_>, waker: &Waker) -> Poll<()> {
        Pin::new(listener).poll(&mut Context::from_waker(waker))
    }

    #[test]
    fn a_wake_up_reaches_every_listener_joined_before_it_and_no_later_one() {
        let queue = WaitQueue::default();
        let counter = Arc::new(Counter::default());
        let waker = Waker::from(Arc::clone(&counter));
        let mut polled = queue.listen();
        let mut unpolled = queue.listen();
        assert_eq!(queue.waiting(), 2);
        assert!(poll(&mut polled, &waker).is_pending());
        queue.wake_all();
        assert_eq!(
            counter.0.load(Ordering::SeqCst),
            1,
            "only the polled one had a waker"
        );
        assert!(poll(&mut polled, &waker).is_ready());
        assert!(
            poll(&mut unpolled, &waker).is_ready(),
            "joined before the wake-up"
        );
        assert!(poll(&mut polled, &waker).is_ready(), "stays complete");
        let mut later = queue.listen();
        assert!(poll(&mut later, &waker).is_pending());
        drop((polled, unpolled, later));
        assert_eq!(queue.waiting(), 0);
    }

    #[test]
    fn a_dropped_listener_frees_its_slot_for_the_next() {
        let queue = WaitQueue::default();
        let counter = Arc::new(Counter::default());
        let waker = Waker::from(Arc::clone(&counter));
        for _ in 0..1000 {
            let mut listener = queue.listen();
            assert!(poll(&mut listener, &waker).is_pending());
            drop(listener);
        }
        assert_eq!(queue.wakers().slots.len(), 1, "one slot, reused");
        let mut a = queue.listen();
        let mut b = queue.listen();
        assert!(poll(&mut a, &waker).is_pending());
        assert!(poll(&mut b, &waker).is_pending());
        drop(a);
        queue.wake_all();
        assert_eq!(
            counter.0.load(Ordering::SeqCst),
            1,
            "the dropped one is not woken"
        );
        assert!(poll(&mut b, &waker).is_ready());
    }

    #[test]
    fn a_repoll_with_another_waker_replaces_the_kept_one() {
        let queue = WaitQueue::default();
        let first = Arc::new(Counter::default());
        let second = Arc::new(Counter::default());
        let mut listener = queue.listen();
        assert!(poll(&mut listener, &Waker::from(Arc::clone(&first))).is_pending());
        assert!(poll(&mut listener, &Waker::from(Arc::clone(&second))).is_pending());
        queue.wake_all();
        assert_eq!(first.0.load(Ordering::SeqCst), 0);
        assert_eq!(second.0.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn the_slots_keep_their_room_across_wake_ups() {
        let queue = WaitQueue::default();
        let waker = Waker::from(Arc::new(Counter::default()));
        let mut listener = queue.listen();
        assert!(poll(&mut listener, &waker).is_pending());
        queue.wake_all();
        drop(listener);
        let room = queue.wakers().slots.capacity();
        assert!(room > 0);
        for _ in 0..100 {
            let mut listener = queue.listen();
            assert!(poll(&mut listener, &waker).is_pending());
            queue.wake_all();
            assert!(poll(&mut listener, &waker).is_ready());
        }
        assert_eq!(queue.wakers().slots.capacity(), room);
    }

    /// A waker whose last reference drops a listener of the same queue, as
    /// an executor that keeps the task's future in its waker does.
    struct HoldsListener(#[allow(dead_code)] QueueListener<'static>);

    impl Wake for HoldsListener {
        fn wake(self: Arc<Self>) {}
    }

    /// A pending listener (`outer`) whose kept waker is the only
    /// reference to another pending listener of the same queue.
    fn listener_holding_another(
        queue: &'static WaitQueue,
        waker: &Waker,
    ) -> QueueListener<'static> {
        let mut inner = queue.listen();
        assert!(poll(&mut inner, waker).is_pending());
        let mut outer = queue.listen();
        let holder = Waker::from(Arc::new(HoldsListener(inner)));
        assert!(poll(&mut outer, &holder).is_pending());
        outer
    }

    #[test]
    fn a_waker_dropping_a_listener_of_the_same_queue_does_not_deadlock() {
        let queue: &'static WaitQueue = Box::leak(Box::default());
        let counter = Waker::from(Arc::new(Counter::default()));
        let outer = listener_holding_another(queue, &counter);
        assert_eq!(queue.waiting(), 2);
        // Leaving the queue drops the waker, which drops the other
        // listener, which leaves the queue too: outside the lock, or this
        // would hang.
        drop(outer);
        assert_eq!(queue.waiting(), 0);
        assert!(queue
            .wakers()
            .slots
            .iter()
            .all(|s| matches!(s, Slot::Free(_))));
        // And through a wake-up.
        let mut outer = listener_holding_another(queue, &counter);
        queue.wake_all();
        assert!(poll(&mut outer, &counter).is_ready());
        drop(outer);
        assert_eq!(queue.waiting(), 0);
    }
}
