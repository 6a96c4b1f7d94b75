//! Seeded runs: the run as a function of a seed and its inputs.
//!
//! A seeded run happens on one thread, in one `block_on` of a
//! current-thread tokio runtime whose clock is paused (tokio's
//! `start_paused`). Inside it a small executor of our own, [`Executor`],
//! polls the guests' futures one at a time; which of the guests that are
//! ready goes next is chosen by the [`Scheduler`], from a PRNG seeded with
//! the seed. A guest gives way:
//!
//! - when it waits (an eventfd, a poll, a sleep): its future returns
//!   `Pending`;
//! - at a host call, with the probability [`Seeded::preemption_rate`]
//!   (wasmtime's async call hook, [`wasmtime::Store::call_hook_async`], whose
//!   `Pending` suspends the guest's fiber);
//! - after [`FUEL_SLICE`] units of fuel without a host call (wasmtime's
//!   `fuel_async_yield_interval`: fuel counts instructions, the same on
//!   every machine, where epochs count wall-clock ticks).
//!
//! Everything a guest can observe then follows from the seed: the
//! interleaving of host calls, the clocks (virtual: see [`VirtualClocks`]),
//! its random bytes ([`GuestRandom`]), the order of its file operations
//! (run inline, in scheduler order: `allow_blocking_current_thread`, and
//! for a WASI 0.2 component's file streams, streams of our own:
//! [`super::seeded_files`]), the order of its output lines (written by the
//! scheduler's thread itself).
//! Nothing runs on another thread: no epoch ticker, no reaper (stores are
//! dropped inline), no output writer thread. Every wake-up of a guest is
//! checked to come from the scheduler's thread ([`SeededRun::foreign_wakes`]
//! counts those that did not: the run may then not replay).
//!
//! What stays the host's: directory listings, inode numbers and file
//! times come from the host's file system. The network cannot be part of
//! a seeded run and is refused.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::ThreadId;
use std::time::Duration;

use rand_core::{Rng as _, SeedableRng as _};
use rand_pcg::Pcg64;
use wasmtime::{CallHook, CallHookHandler, StoreContextMut};
use wasmtime_wasi::{HostMonotonicClock, HostWallClock};

use super::deadlock::WaitGraph;
use super::outcome::Outcome;

/// A seeded run's settings ([`RunOptions::seeded`](super::RunOptions::seeded)).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Seeded {
    /// The seed: with the same inputs (files, arguments, environment,
    /// stdin), the same seed gives the same run, byte for byte.
    pub seed: u64,
    /// The probability, from 0 to 1, that a guest gives way at a host
    /// call (any WASI or eventfd import). Default
    /// [`Seeded::DEFAULT_PREEMPTION_RATE`].
    pub preemption_rate: f64,
    /// How the next guest is chosen.
    pub schedule: Schedule,
}

/// How a seeded run chooses the next guest among those ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Schedule {
    /// Uniformly at random, at every switch point: a random walk over the
    /// interleavings, as Miri and shuttle's random scheduler do.
    #[default]
    RandomWalk,
    /// Probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi,
    /// Nagarakatte, ASPLOS 2010): guests get random distinct priorities,
    /// the highest-priority ready guest runs, and at `depth - 1` switch
    /// points chosen at random among the first `steps` the running guest's
    /// priority drops below every other. A bug that needs `depth` ordered
    /// switches is found by one schedule with probability at least
    /// 1 / (guests × steps^(depth-1)).
    Pct {
        /// The bug depth `d` aimed at (1 or more).
        depth: u32,
        /// How many switch points (host calls) a run is expected to make:
        /// change points are drawn among the first `steps`.
        steps: u64,
    },
}

impl Seeded {
    /// Miri's default `-Zmiri-preemption-rate` (0.01 per basic block
    /// there, per host call here): rare enough that a guest usually runs
    /// a whole critical section of a few calls, often enough that over
    /// hundreds of schedules every short window between two calls is
    /// split open.
    pub const DEFAULT_PREEMPTION_RATE: f64 = 0.01;

    /// A random walk with seed `seed` and the default preemption rate.
    pub fn new(seed: u64) -> Self {
        Seeded {
            seed,
            preemption_rate: Self::DEFAULT_PREEMPTION_RATE,
            schedule: Schedule::RandomWalk,
        }
    }
}

/// What one seeded run did.
#[derive(Debug, Clone)]
pub struct SeededRun {
    /// How each guest ended, in the order given.
    pub outcomes: Vec<Outcome>,
    /// Scheduling steps taken (one per poll of a guest).
    pub steps: u64,
    /// Wake-ups of guests that came from another thread than the
    /// scheduler's (see the module docs): 0 for a run that replays. No
    /// path of the runner is known to make one (a guard for new ones).
    pub foreign_wakes: u64,
}

/// Units of fuel (about one per WebAssembly instruction) a guest runs
/// before it gives way: about 10 µs of computing.
pub(super) const FUEL_SLICE: u64 = 10_000;

/// Virtual time one scheduling step takes (a poll of one guest, which runs
/// at most [`FUEL_SLICE`] units of fuel): the clocks advance by this much
/// per step, so that a guest that computes, or spins reading a clock,
/// sees time pass, and `--timeout` stops a guest that never ends.
pub(super) const STEP_TIME: Duration = Duration::from_micros(10);

/// The wall clock's reading when a seeded run begins: 2000-01-01T00:00:00Z,
/// in seconds since the Unix epoch.
pub const VIRTUAL_WALL_START_SECS: u64 = 946_684_800;

/// The scheduler's state, shared by the executor and the guests' call
/// hooks. Only the scheduler's thread touches it.
pub(super) struct Scheduler {
    rng: Pcg64,
    preemption_rate: f64,
    schedule: Schedule,
    /// Switch points so far (host calls and polls).
    switch_points: u64,
    /// PCT: each guest's priority (higher runs first), and the change
    /// points still to come, in order.
    priorities: Vec<u64>,
    change_points: VecDeque<u64>,
    /// PCT: the priority given at the next change point (1, 2, …: below
    /// every initial priority, which are `depth` and above).
    next_low: u64,
    /// The guest being polled.
    running: Option<usize>,
    /// Guests woken since their last poll, by index.
    ready: Vec<bool>,
    /// The executor's waker, woken when a guest becomes ready.
    executor: Option<Waker>,
}

impl Scheduler {
    fn new(seeded: &Seeded, guests: usize) -> Self {
        // The scheduler's stream, apart from the guests' own (GuestRandom).
        let mut rng = Pcg64::seed_from_u64(seeded.seed);
        let mut priorities = Vec::new();
        let mut change_points = VecDeque::new();
        let mut next_low = 1;
        if let Schedule::Pct { depth, steps } = seeded.schedule {
            let depth = u64::from(depth.max(1));
            // A random permutation of depth..depth+guests (Fisher-Yates).
            priorities = (0..guests as u64).map(|i| depth + i).collect();
            for i in (1..priorities.len()).rev() {
                let j = below(&mut rng, i as u64 + 1) as usize;
                priorities.swap(i, j);
            }
            let mut points: Vec<u64> = (1..depth)
                .map(|_| 1 + below(&mut rng, steps.max(1)))
                .collect();
            points.sort_unstable();
            change_points = points.into();
            next_low = 1;
        }
        Scheduler {
            rng,
            preemption_rate: seeded.preemption_rate.clamp(0.0, 1.0),
            schedule: seeded.schedule,
            switch_points: 0,
            priorities,
            change_points,
            next_low,
            running: None,
            ready: vec![true; guests],
            executor: None,
        }
    }

    /// Which of `ready` (indices, ascending) runs next.
    fn pick(&mut self, ready: &[usize]) -> Option<usize> {
        match self.schedule {
            Schedule::RandomWalk => {
                let at = below(&mut self.rng, ready.len() as u64) as usize;
                ready.get(at).copied()
            }
            Schedule::Pct { .. } => ready
                .iter()
                .copied()
                .max_by_key(|&guest| self.priorities.get(guest).copied().unwrap_or(0)),
        }
    }

    /// A switch point of the running guest (a host call): whether it gives
    /// way now.
    fn preempt(&mut self) -> bool {
        self.switch_points += 1;
        match self.schedule {
            Schedule::RandomWalk => unit(&mut self.rng) < self.preemption_rate,
            Schedule::Pct { .. } => {
                let Some(running) = self.running else {
                    return false;
                };
                if self.change_points.front() == Some(&self.switch_points) {
                    self.change_points.pop_front();
                    if let Some(priority) = self.priorities.get_mut(running) {
                        *priority = self.next_low;
                    }
                    self.next_low += 1;
                }
                // Give way when a ready guest now has a higher priority.
                let mine = self.priorities.get(running).copied().unwrap_or(0);
                self.ready
                    .iter()
                    .enumerate()
                    .any(|(guest, &ready)| ready && self.priorities.get(guest) > Some(&mine))
            }
        }
    }
}

/// A number uniformly below `n` (`n` > 0), by Lemire's multiply-shift with
/// rejection: the same on every platform.
fn below(rng: &mut Pcg64, n: u64) -> u64 {
    let n = n.max(1);
    let threshold = n.wrapping_neg() % n;
    loop {
        let wide = u128::from(rng.next_u64()) * u128::from(n);
        if (wide as u64) >= threshold {
            return (wide >> 64) as u64;
        }
    }
}

/// A number uniformly in [0, 1), from 53 random bits.
fn unit(rng: &mut Pcg64) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// The scheduler of one seeded run, as the guests' hooks and wakers hold it.
#[derive(Clone)]
pub(super) struct Switches(Arc<SwitchesShared>);

pub(super) struct SwitchesShared {
    scheduler: Mutex<Scheduler>,
    /// The scheduler's thread: every wake-up should come from it.
    thread: ThreadId,
    foreign_wakes: AtomicU64,
}

impl Switches {
    fn scheduler(&self) -> MutexGuard<'_, Scheduler> {
        // Each critical section leaves the scheduler whole.
        self.0.scheduler.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The call hook for a guest's store.
    pub(super) fn hook(&self) -> Preemption {
        Preemption(self.clone())
    }
}

/// The call hook that gives way at host calls ([`Scheduler::preempt`]).
pub(super) struct Preemption(Switches);

#[async_trait::async_trait]
impl<T: Send> CallHookHandler<T> for Preemption {
    async fn handle_call_event(
        &self,
        _: StoreContextMut<'_, T>,
        hook: CallHook,
    ) -> wasmtime::Result<()> {
        // Only the scheduler's lock is held across no await: decided first.
        let give_way = matches!(hook, CallHook::CallingHost) && self.0.scheduler().preempt();
        if give_way {
            GiveWay(false).await;
        }
        Ok(())
    }
}

/// Returns `Pending` once, waking its task first: the guest stays ready,
/// and the scheduler chooses again.
struct GiveWay(bool);

impl Future for GiveWay {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// One guest's waker: marks it ready and wakes the executor.
struct GuestWaker {
    switches: Switches,
    guest: usize,
}

impl Wake for GuestWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let shared = &self.switches.0;
        if std::thread::current().id() != shared.thread {
            // Something outside the scheduler (a blocking thread of
            // tokio's) decided when this guest was woken: the run may not
            // replay. Counted and reported rather than a panic on a thread
            // that is not ours.
            shared.foreign_wakes.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(guest = self.guest, "a guest was woken from another thread");
        }
        let executor = {
            let mut scheduler = self.switches.scheduler();
            if let Some(ready) = scheduler.ready.get_mut(self.guest) {
                *ready = true;
            }
            scheduler.executor.clone()
        };
        if let Some(executor) = executor {
            executor.wake();
        }
    }
}

/// A guest's future in a seeded run.
pub(super) type GuestFuture = Pin<Box<dyn Future<Output = Outcome>>>;

/// Polls the guests of a seeded run in the scheduler's order until every
/// one has ended, the deadline has passed, or they deadlock.
pub(super) struct Executor {
    switches: Switches,
    guests: Vec<Option<GuestFuture>>,
    wakers: Vec<Waker>,
    outcomes: Vec<Option<Outcome>>,
    graph: Option<Arc<WaitGraph>>,
    /// The run's deadline in virtual time, how long after the start it is,
    /// and a timer for it (so that paused time jumps to it when idle).
    deadline: Option<(Pin<Box<tokio::time::Sleep>>, Duration)>,
    steps: u64,
    /// The clock's advance for the last step, polled once: it defers the
    /// executor's wake-up until tokio has fired the timers due.
    advance: Option<Pin<Box<dyn Future<Output = ()>>>>,
}

impl Executor {
    /// The scheduler of a seeded run of `guests` guests, for their stores'
    /// hooks (made before the guests, which need it).
    pub(super) fn switches(seeded: &Seeded, guests: usize) -> Switches {
        Switches(Arc::new(SwitchesShared {
            scheduler: Mutex::new(Scheduler::new(seeded, guests)),
            thread: std::thread::current().id(),
            foreign_wakes: AtomicU64::new(0),
        }))
    }

    pub(super) fn new(
        switches: Switches,
        guests: Vec<GuestFuture>,
        graph: Option<Arc<WaitGraph>>,
        deadline: Option<Duration>,
    ) -> Self {
        let wakers = (0..guests.len())
            .map(|guest| {
                Waker::from(Arc::new(GuestWaker {
                    switches: switches.clone(),
                    guest,
                }))
            })
            .collect();
        let deadline = deadline.and_then(|after| {
            let at = tokio::time::Instant::now().checked_add(after)?;
            Some((Box::pin(tokio::time::sleep_until(at)), after))
        });
        Executor {
            outcomes: vec![None; guests.len()],
            guests: guests.into_iter().map(Some).collect(),
            wakers,
            switches,
            graph,
            deadline,
            steps: 0,
            advance: None,
        }
    }

    /// Runs every guest to its end.
    pub(super) async fn run(mut self) -> SeededRun {
        std::future::poll_fn(|cx| self.poll_guests(cx)).await;
        SeededRun {
            outcomes: self
                .outcomes
                .into_iter()
                .map(|o| o.unwrap_or_else(|| Outcome::Failed("never finished".into())))
                .collect(),
            steps: self.steps,
            foreign_wakes: self.switches.0.foreign_wakes.load(Ordering::Relaxed),
        }
    }

    fn poll_guests(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if let Some(advance) = &mut self.advance {
            // Timers due after the last step have fired by now.
            if advance.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.advance = None;
        }
        if let Some((deadline, after)) = &mut self.deadline {
            if deadline.as_mut().poll(cx).is_ready() {
                let after = *after;
                // Every guest still running stops at this one instant;
                // dropping a guest's future drops its store and with it
                // everything it held.
                for (guest, outcome) in self.guests.iter_mut().zip(&mut self.outcomes) {
                    if guest.take().is_some() {
                        *outcome = Some(Outcome::TimedOut(after));
                    }
                }
                return Poll::Ready(());
            }
        }
        let ready: Vec<usize> = {
            let mut scheduler = self.switches.scheduler();
            scheduler.executor = Some(cx.waker().clone());
            let guests = &self.guests;
            scheduler
                .ready
                .iter()
                .enumerate()
                .filter(|&(guest, &ready)| ready && guests.get(guest).is_some_and(Option::is_some))
                .map(|(guest, _)| guest)
                .collect()
        };
        if self.guests.iter().all(Option::is_none) {
            return Poll::Ready(());
        }
        let Some(next) = self.switches.scheduler().pick(&ready) else {
            // Nobody is ready: a deadlock, or a wait for a timer (paused
            // time jumps to it now that the runtime is idle).
            return self.stop_deadlocked(cx);
        };
        {
            let mut scheduler = self.switches.scheduler();
            if let Some(ready) = scheduler.ready.get_mut(next) {
                *ready = false;
            }
            scheduler.running = Some(next);
        }
        let (Some(slot), Some(waker)) = (self.guests.get_mut(next), self.wakers.get(next)) else {
            return Poll::Pending;
        };
        let polled = match slot {
            Some(guest) => guest.as_mut().poll(&mut Context::from_waker(waker)),
            None => Poll::Pending,
        };
        self.switches.scheduler().running = None;
        if let Poll::Ready(outcome) = polled {
            *slot = None;
            if let Some(place) = self.outcomes.get_mut(next) {
                *place = Some(outcome);
            }
        }
        self.steps += 1;
        // Time passes by the step, and timers now due fire before the next
        // choice: the advance's yield goes through tokio's driver.
        let mut advance: Pin<Box<dyn Future<Output = ()>>> =
            Box::pin(tokio::time::advance(STEP_TIME));
        if advance.as_mut().poll(cx).is_pending() {
            self.advance = Some(advance);
            return Poll::Pending;
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    /// With no guest ready: stops the stuck guests of a deadlock and ends
    /// the run if that is what this is; otherwise waits.
    fn stop_deadlocked(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(stuck) = self.graph.as_ref().and_then(|graph| graph.deadlock()) else {
            return Poll::Pending;
        };
        tracing::info!(guests = stuck.len(), "deadlock");
        for guest in stuck {
            let index = guest.id as usize;
            if let Some(slot) = self.guests.get_mut(index) {
                drop(slot.take());
            }
            if let Some(outcome) = self.outcomes.get_mut(index) {
                *outcome = Some(Outcome::Deadlocked(guest));
            }
        }
        if self.guests.iter().all(Option::is_none) {
            return Poll::Ready(());
        }
        // Guests not in the graph are left: look again.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// The clocks of a seeded run's guests: tokio's paused clock, which moves
/// only as the scheduler says ([`STEP_TIME`] per step, and to the next
/// timer when every guest waits). The monotonic clock reads nanoseconds
/// since the run began; the wall clock reads
/// [`VIRTUAL_WALL_START_SECS`] plus the same.
#[derive(Clone, Copy)]
pub(super) struct VirtualClocks {
    start: tokio::time::Instant,
}

impl VirtualClocks {
    /// Clocks that start now (call inside the run's runtime).
    pub(super) fn start() -> Self {
        VirtualClocks {
            start: tokio::time::Instant::now(),
        }
    }

    fn elapsed(&self) -> Duration {
        tokio::time::Instant::now().saturating_duration_since(self.start)
    }
}

impl HostMonotonicClock for VirtualClocks {
    fn resolution(&self) -> u64 {
        1
    }

    fn now(&self) -> u64 {
        u64::try_from(self.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

impl HostWallClock for VirtualClocks {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }

    fn now(&self) -> Duration {
        Duration::from_secs(VIRTUAL_WALL_START_SECS).saturating_add(self.elapsed())
    }
}

/// A guest's random numbers in a seeded run: `wasi:random` (secure and
/// insecure) and preview 1's `random_get`, each from its own PCG stream
/// seeded from the run's seed and the guest's position.
pub(super) struct GuestRandom {
    pub(super) secure: Pcg64,
    pub(super) insecure: Pcg64,
    pub(super) insecure_seed: u128,
}

impl GuestRandom {
    pub(super) fn new(seed: u64, guest: usize) -> Self {
        // A PCG stream of its own per guest (PCG's stream selector), apart
        // from the scheduler's generator.
        let mut derive = Pcg64::new(
            u128::from(seed) ^ 0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c834,
            guest as u128,
        );
        let secure = Pcg64::seed_from_u64(derive.next_u64());
        let insecure = Pcg64::seed_from_u64(derive.next_u64());
        let high = u128::from(derive.next_u64());
        let low = u128::from(derive.next_u64());
        GuestRandom {
            secure,
            insecure,
            insecure_seed: (high << 64) | low,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_stays_below_and_covers_the_range() {
        let mut rng = Pcg64::seed_from_u64(7);
        let mut seen = [false; 5];
        for _ in 0..1000 {
            let n = below(&mut rng, 5) as usize;
            assert!(n < 5);
            seen[n] = true;
        }
        assert!(seen.iter().all(|&s| s), "{seen:?}");
    }

    #[test]
    fn the_same_seed_makes_the_same_random_bytes_and_another_seed_others() {
        let mut a = GuestRandom::new(1, 0);
        let mut b = GuestRandom::new(1, 0);
        let mut c = GuestRandom::new(2, 0);
        let mut other_guest = GuestRandom::new(1, 1);
        let first = a.secure.next_u64();
        assert_eq!(first, b.secure.next_u64());
        assert_ne!(first, c.secure.next_u64());
        assert_ne!(first, other_guest.secure.next_u64());
    }

    #[test]
    fn a_wake_up_from_another_thread_is_counted_and_one_from_the_scheduler_s_is_not() {
        // No path of today's runner wakes a guest from another thread (the
        // last, a component's file streams, is served inline: see
        // `seeded_files`); this guard is what would report a new one.
        let switches = Executor::switches(&Seeded::new(0), 1);
        let waker = Waker::from(Arc::new(GuestWaker {
            switches: switches.clone(),
            guest: 0,
        }));
        waker.wake_by_ref();
        assert_eq!(switches.0.foreign_wakes.load(Ordering::Relaxed), 0);
        let elsewhere = waker.clone();
        std::thread::spawn(move || elsewhere.wake()).join().unwrap();
        assert_eq!(switches.0.foreign_wakes.load(Ordering::Relaxed), 1);
        assert_eq!(switches.scheduler().ready, [true]);
    }

    #[test]
    fn pct_runs_the_highest_priority_and_demotes_at_change_points() {
        let seeded = Seeded {
            seed: 3,
            preemption_rate: 0.0,
            schedule: Schedule::Pct { depth: 2, steps: 1 },
        };
        let mut scheduler = Scheduler::new(&seeded, 2);
        let first = scheduler.pick(&[0, 1]).unwrap();
        assert_eq!(scheduler.pick(&[0, 1]), Some(first), "no change yet");
        scheduler.running = Some(first);
        // The one change point is the first switch point (steps = 1): the
        // running guest drops below the other, which is ready.
        assert!(scheduler.preempt());
        assert_eq!(scheduler.pick(&[0, 1]), Some(1 - first));
    }
}
