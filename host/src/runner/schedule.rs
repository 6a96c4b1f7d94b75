//! Running loaded guests side by side: one tokio task each, an epoch
//! ticker so that no guest starves the others, deadlines, and stopping the
//! guests of a deadlock.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;
use wasmtime::{Engine, InstancePre, Store, UpdateDeadline};
use wasmtime_wasi::p2::bindings::CommandPre;

use super::deadlock::WaitGraph;
use super::guest::{CoreGuestState, GuestState, StoreData};
use super::outcome::{not_started, outcome, Outcome};
use super::output::{GuestOutput, ReleaseWhenParked};
use super::seeded::{Switches, FUEL_SLICE};

/// How often running guests are asked to yield, so that a guest that
/// computes without waiting cannot starve the others on a runtime thread.
const YIELD_INTERVAL: Duration = Duration::from_millis(10);

/// A guest ready to run: its loaded code and its store's data.
pub(super) enum Ready {
    Component(CommandPre<GuestState>, GuestState),
    AsyncComponent(
        wasmtime_wasi::p3::bindings::CommandPre<GuestState>,
        GuestState,
    ),
    Module(InstancePre<CoreGuestState>, CoreGuestState),
}

/// Increments the engines' epochs every [`YIELD_INTERVAL`] until dropped:
/// each tick ends the time slice of every guest running WebAssembly, which
/// then waits for its next one in [`Turns`]. It ticks on a thread of its
/// own: a tokio task could itself be starved by the busy guests it is meant
/// to interrupt.
pub(super) struct Ticker {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Ticker {
    /// Ticks `engines`, counting the ticks in `turns`.
    pub(super) fn start(engines: [Engine; 2], turns: Arc<Turns>) -> Self {
        let (stop, ticks_until_stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                ticks_until_stopped.recv_timeout(YIELD_INTERVAL)
            {
                // Counted first: a guest never sees its deadline pass on a
                // tick its count does not have yet.
                turns.ticks.fetch_add(1, Ordering::AcqRel);
                engines.iter().for_each(Engine::increment_epoch);
            }
        });
        Ticker {
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Guests' time slices, so that the runtime's driver (timers — every
/// guest's `sleep`, and the `--timeout` deadline — and socket readiness) is
/// polled between any two slices of computing, not only every 61 task polls.
///
/// tokio's scheduler polls its driver when it runs out of ready tasks, and
/// otherwise every `event_interval` (61) task polls. A guest that computes
/// yields at every epoch tick (10 ms), but it is ready again at once, so
/// beside one such guest the driver ran every 0.6 s, and a sleeping guest's
/// 10 ms sleeps took 0.6 s each. So a guest starts a slice only once the
/// driver has been polled since the last slice of any guest ended: at each
/// slice's end a *probe* waker is handed to tokio's list of deferred
/// wakers (by polling a [`tokio::task::yield_now`] once with it), which
/// tokio wakes right after its next driver poll; it marks the slice as seen
/// and wakes the guests waiting. (The probe was a task first: spawned at
/// the back of the run queue, it ran only after every task queued before
/// it, each of which was held meanwhile and polled again after the probe:
/// with thousands of guests starting or woken at once, every tick polled
/// all of them twice, and starting 40 000 guests took twice as long per
/// guest as starting 10 000.)
/// Until then the guest waits in [`NextSlice`], and its task's
/// [`SliceGate`] holds it without polling it: the guest sees one yield, as
/// the output wrapper expects of a guest that computes (see
/// `super::output::ReleaseWhenParked`). With every guest that computes
/// held, the run queue empties and tokio polls its driver at once.
///
/// This is for a current-thread runtime (`wasi-eventfd run`'s default). On
/// several threads the command builds its runtime with an event interval
/// of 1 instead, so each worker polls the driver before every task.
///
/// A guest that finds its epoch deadline passed more than a tick ago did
/// not compute through a slice: it was parked (on an eventfd, a poll, a
/// timer), waiting, or not started. It goes on at once if the driver is
/// current, and ends no slice: 10 000 guests woken at once set no probe.
/// A guest that parks and wakes all the time (ping-pong) ends a slice at
/// most once per tick, and waits then for one driver poll.
///
/// Only a current-thread runtime takes turns (see [`Turns::new`]). The
/// run's deadline does not wait for turns: [`SliceGate`] checks it before
/// it polls the guest.
pub(super) struct Turns {
    /// Ticks so far (counted by the [`Ticker`]).
    ticks: AtomicU64,
    /// Slices ended so far (by any guest of the run).
    slices_ended: AtomicU64,
    /// The latest slice after whose end the driver is known to have run.
    driver_polled_after: AtomicU64,
    /// Whether guests take turns: on a runtime that runs every task on
    /// one thread (see [`Turns::new`]).
    takes_turns: bool,
    /// The tasks of guests waiting for the driver to be current, woken by
    /// the probe that makes it so.
    waiting: std::sync::Mutex<Vec<std::task::Waker>>,
}

/// One guest's slice: the tick at which its epoch deadline was last set
/// (its slice began), or [`Slice::NOT_STARTED`]; and whether it waits for
/// its next slice (in [`NextSlice`], for [`SliceGate`]).
#[derive(Clone)]
pub(super) struct Slice(Arc<SliceState>);

struct SliceState {
    began: AtomicU64,
    waiting: AtomicBool,
}

impl Slice {
    const NOT_STARTED: u64 = u64::MAX;

    pub(super) fn new() -> Self {
        Slice(Arc::new(SliceState {
            began: AtomicU64::new(Self::NOT_STARTED),
            waiting: AtomicBool::new(false),
        }))
    }
}

impl Turns {
    /// Turns for guests on the current runtime. Only a current-thread
    /// runtime (`wasi-eventfd run`'s default) takes turns: on a
    /// multi-threaded one, the guests that compute run side by side, tokio
    /// moves tasks between threads, and a guest waiting for the driver to
    /// be current lost the race to the others (20 sleeps of 10 ms beside
    /// three computing guests on two threads: 8 s -> 51 s); there a guest
    /// whose slice ended yields once, as wasmtime's own epoch yield does.
    pub(super) fn new() -> Arc<Self> {
        let takes_turns = tokio::runtime::Handle::try_current().is_ok_and(|runtime| {
            runtime.runtime_flavor() == tokio::runtime::RuntimeFlavor::CurrentThread
        });
        Arc::new(Turns {
            ticks: AtomicU64::new(0),
            slices_ended: AtomicU64::new(0),
            driver_polled_after: AtomicU64::new(0),
            takes_turns,
            waiting: std::sync::Mutex::default(),
        })
    }

    fn waiting(&self) -> std::sync::MutexGuard<'_, Vec<std::task::Waker>> {
        // Each critical section is a push or a take: never half done.
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Ready once the driver is current; until then `cx`'s task is woken
    /// when it becomes so. (Checked and registered under the lock the
    /// probes mark under: no wake-up is lost.)
    fn poll_driver_current(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut waiting = self.waiting();
        if self.driver_is_current() {
            return Poll::Ready(());
        }
        // A task is polled here about twice per slice (once after its own
        // yield): a duplicate only wakes it twice.
        waiting.push(cx.waker().clone());
        Poll::Pending
    }

    /// A probe saw the driver run after `slice` ended: wakes the guests
    /// waiting, if the driver is now current.
    fn mark_driver_polled(&self, slice: u64) {
        let woken = {
            let mut waiting = self.waiting();
            self.driver_polled_after.fetch_max(slice, Ordering::AcqRel);
            if !self.driver_is_current() {
                return;
            }
            std::mem::take(&mut *waiting)
        };
        woken.into_iter().for_each(std::task::Waker::wake);
    }

    fn ticks(&self) -> u64 {
        self.ticks.load(Ordering::Acquire)
    }

    /// Whether the driver has run since the last slice of any guest ended.
    fn driver_is_current(&self) -> bool {
        self.driver_polled_after.load(Ordering::Acquire)
            >= self.slices_ended.load(Ordering::Acquire)
    }

    /// A guest's slice ended: the next slice (its own or another guest's)
    /// waits for a driver poll.
    fn slice_ended(self: &Arc<Self>) {
        let slice = self.slices_ended.fetch_add(1, Ordering::AcqRel) + 1;
        if !self.takes_turns {
            // No turns taken: nothing to wait for.
            self.driver_polled_after.fetch_max(slice, Ordering::AcqRel);
            return;
        }
        // `yield_now` hands its context's waker to the scheduler's deferred
        // wakers, woken after the next driver poll (at once outside a
        // runtime); polled once here with the probe's waker, and dropped:
        // the scheduler keeps the waker, not the future.
        let probe = Waker::from(Arc::new(DriverProbe {
            turns: Arc::clone(self),
            slice,
        }));
        let mut yielded = std::pin::pin!(tokio::task::yield_now());
        let _pending = yielded.as_mut().poll(&mut Context::from_waker(&probe));
    }

    /// What a guest whose epoch deadline passed does (its deadline is then
    /// set 1 tick on): goes on, or yields until its next slice.
    fn at_epoch_deadline(self: &Arc<Self>, slice: &Slice) -> UpdateDeadline {
        if !self.takes_turns {
            // No turns: a slice ended yields once (a first check goes on).
            return match slice.0.began.swap(0, Ordering::AcqRel) {
                Slice::NOT_STARTED => UpdateDeadline::Continue(1),
                _ => UpdateDeadline::Yield(1),
            };
        }
        let now = self.ticks();
        let began = slice.0.began.swap(now, Ordering::AcqRel);
        // Found at the first tick after the slice began: it computed
        // through it. (Found later, it sat ticks out.)
        let computed = began != Slice::NOT_STARTED && now <= began.saturating_add(1);
        if computed {
            self.slice_ended();
        } else if self.driver_is_current() {
            return UpdateDeadline::Continue(1);
        }
        UpdateDeadline::YieldCustom(
            1,
            Box::pin(NextSlice {
                turns: Arc::clone(self),
                slice: slice.clone(),
            }),
        )
    }
}

/// The waker tokio wakes after its first driver poll since slice `slice`
/// ended ([`Turns::slice_ended`]).
struct DriverProbe {
    turns: Arc<Turns>,
    slice: u64,
}

impl std::task::Wake for DriverProbe {
    fn wake(self: Arc<Self>) {
        self.turns.mark_driver_polled(self.slice);
    }
}

/// A guest waiting for its next slice, in its epoch callback: ready once
/// the driver has run since the last slice ended. Until then it returns
/// `Pending` once, waking itself (a yield: its output wrapper keeps a
/// partial line, see `super::output::ReleaseWhenParked`), and its task's
/// [`SliceGate`] polls it again only when its slice can begin: the guest
/// sees one yield per slice, however long it waits.
struct NextSlice {
    turns: Arc<Turns>,
    slice: Slice,
}

impl Future for NextSlice {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.turns.driver_is_current() {
            // The slice begins now (the deadline is set right after).
            self.slice
                .0
                .began
                .store(self.turns.ticks(), Ordering::Release);
            self.slice.0.waiting.store(false, Ordering::Release);
            return Poll::Ready(());
        }
        self.slice.0.waiting.store(true, Ordering::Release);
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// The outermost future of a guest's task. It stops the guest at the
/// run's deadline, checked before the guest is polled (a guest let go
/// first would compute a whole slice past it); and while the guest waits
/// for its next slice and the driver has not run since the last slice
/// ended, it waits for the probe that sees it run, without polling the
/// guest: the guest under it sees a single yield. Waiting guests are woken
/// in the order they began to wait and tokio's run queue is first in,
/// first out, so the guests that compute take turns.
struct SliceGate {
    turns: Arc<Turns>,
    slice: Slice,
    /// The run's deadline, how long after its start it is, and whether
    /// the task is registered with the timer yet (then a cheaper check
    /// than a poll does).
    deadline: Option<(Pin<Box<tokio::time::Sleep>>, Duration, bool)>,
    guest: Pin<Box<dyn Future<Output = Outcome> + Send>>,
}

impl Future for SliceGate {
    type Output = Outcome;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome> {
        let this = self.get_mut();
        if let Some((deadline, after, registered)) = &mut this.deadline {
            // The task's waker stays the same: once registered, the timer
            // wakes it, and looking is enough.
            let passed = if *registered {
                deadline.is_elapsed()
            } else {
                *registered = true;
                deadline.as_mut().poll(cx).is_ready()
            };
            if passed {
                // Dropping the guest drops its store, and with it every
                // descriptor it held.
                return Poll::Ready(Outcome::TimedOut(*after));
            }
        }
        if this.slice.0.waiting.load(Ordering::Acquire)
            && this.turns.poll_driver_current(cx).is_pending()
        {
            return Poll::Pending;
        }
        this.guest.as_mut().poll(cx)
    }
}

/// Drops finished guests' stores on a thread of its own, in batches:
/// tearing down an instance (its memory, its tables, its stack) costs more
/// than waking it, and next to running guests it would slow them (a
/// teardown unmaps memory, which interrupts every core the process runs
/// on). So while guests keep finishing — 10 000 woken at once, say — their
/// stores wait, and are dropped together once no store has arrived for
/// [`Reaper::QUIET`]. What waits is bounded all the same: the stores are
/// dropped as soon as [`Reaper::MAX_WAITING`] wait, or the first has waited
/// [`Reaper::MAX_AGE`], or the process's resident memory has grown by
/// [`Reaper::MAX_RESIDENT_GROWTH`] while they wait (checked every
/// [`Reaper::QUIET`]). Resident memory,
/// not the size of the guests' memories: 10 000 woken guests of 1 MiB
/// memories that each touched a few pages cost little to keep until the
/// wake-all is over, while 250 guests that each touched 8 MiB, ending every
/// few ms, held 2 GB. Handing a store over wakes the reaper only when it
/// makes [`Reaper::MAX_WAITING`].
///
/// The count and the age are set above what a wake-all of the largest
/// run takes (100 000 guests; the guests' stores were resident already, so
/// keeping them grows nothing): a batch dropped while guests still ran cost
/// them the most of all at scale (the teardown's TLB shoot-downs stop the
/// running core, and the frees contend with its allocations for malloc's
/// arena), which from 8 192 stores or 1 s on was every wake-all of 10 000
/// guests or more.
///
/// What a finished guest shares with the others — its eventfd descriptors,
/// its place in the wait graph, its files and sockets — is released by its
/// task before the store is handed over ([`StoreData::release`]), so only
/// memory waits here.
pub(super) struct Reaper {
    shared: Arc<ReaperShared>,
    /// Completes when the reaper thread is done (its sender dropped);
    /// `None` if the thread could not start.
    done: Option<tokio::sync::oneshot::Receiver<()>>,
}

struct ReaperShared {
    state: std::sync::Mutex<ReaperState>,
    /// Signalled when the run is over, or too many stores wait.
    wake: std::sync::Condvar,
}

#[derive(Default)]
struct ReaperState {
    stores: Vec<Box<dyn Send>>,
    first_arrival: Option<Instant>,
    last_arrival: Option<Instant>,
    finished: bool,
}

impl Reaper {
    /// Stores are dropped once none has arrived for this long...
    const QUIET: Duration = Duration::from_millis(20);
    /// ...or once this many wait...
    const MAX_WAITING: usize = 1 << 17;
    /// ...or once the first has waited this long...
    const MAX_AGE: Duration = Duration::from_secs(30);
    /// ...or once the process's resident memory has grown by this many
    /// bytes since the reaper first saw them.
    const MAX_RESIDENT_GROWTH: u64 = 128 << 20;

    pub(super) fn start() -> Self {
        let shared = Arc::new(ReaperShared {
            state: std::sync::Mutex::default(),
            wake: std::sync::Condvar::new(),
        });
        let (done, finished) = tokio::sync::oneshot::channel::<()>();
        let started = std::thread::Builder::new()
            .name("guest-reaper".into())
            .spawn({
                let shared = Arc::clone(&shared);
                move || {
                    shared.reap_until_finished();
                    drop(done);
                }
            });
        Reaper {
            shared,
            done: started.is_ok().then_some(finished),
        }
    }

    /// A handle for one guest's task.
    pub(super) fn handle(&self) -> ReaperHandle {
        ReaperHandle(self.done.is_some().then(|| Arc::clone(&self.shared)))
    }

    /// Waits until every store handed over has been dropped. Only call once
    /// every guest's task has finished.
    pub(super) async fn finish(mut self) {
        self.shared.state().finished = true;
        self.shared.wake.notify_one();
        if let Some(done) = self.done.take() {
            // The thread drops what is left, then its sender (also if it
            // panicked): waited for without a blocking thread, which would
            // be started now, at the end of a run, for this alone.
            let _ = done.await;
        }
    }
}

impl ReaperShared {
    fn state(&self) -> std::sync::MutexGuard<'_, ReaperState> {
        // Each critical section is a push or a take: never half done.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn reap_until_finished(&self) {
        // The process's resident memory when the reaper first saw the
        // stores now waiting.
        let mut resident_at_first: Option<u64> = None;
        loop {
            let mut state = self.state();
            if !state.finished && state.stores.is_empty() {
                // Nothing to drop: wait for the first store, or the end.
                drop(self.wake.wait_timeout(state, Reaper::QUIET));
                continue;
            }
            let quiet = state
                .last_arrival
                .is_none_or(|last| last.elapsed() >= Reaper::QUIET);
            let old = state
                .first_arrival
                .is_some_and(|first| first.elapsed() >= Reaper::MAX_AGE);
            let mut drop_now =
                state.finished || quiet || old || state.stores.len() >= Reaper::MAX_WAITING;
            if !drop_now {
                // Read without the lock: the guests' tasks push to it.
                drop(state);
                let resident = resident_bytes();
                let first = *resident_at_first.get_or_insert(resident.unwrap_or(0));
                drop_now = resident
                    .is_some_and(|now| now.saturating_sub(first) >= Reaper::MAX_RESIDENT_GROWTH);
                state = self.state();
            }
            if drop_now {
                let stores = std::mem::take(&mut state.stores);
                state.first_arrival = None;
                let finished = state.finished;
                drop(state);
                drop(stores);
                resident_at_first = None;
                if finished {
                    return;
                }
                continue;
            }
            drop(self.wake.wait_timeout(state, Reaper::QUIET));
        }
    }
}

/// This process's resident memory in bytes (`VmRSS` of
/// `/proc/self/status`), or `None` where that cannot be read.
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(kib.saturating_mul(1024))
}

/// Where a guest's task leaves its store when done.
#[derive(Clone)]
pub(super) struct ReaperHandle(Option<Arc<ReaperShared>>);

impl ReaperHandle {
    /// Hands over a finished guest's store.
    fn reap(&self, store: impl Send + 'static) {
        // Without a reaper thread the store is dropped here.
        if let Some(shared) = &self.0 {
            let mut state = shared.state();
            state.stores.push(Box::new(store));
            let now = Instant::now();
            state.first_arrival.get_or_insert(now);
            state.last_arrival = Some(now);
            if state.stores.len() == Reaper::MAX_WAITING {
                shared.wake.notify_one();
            }
        }
    }
}

/// What every guest's task of a run shares: where its store goes when it
/// ends, how guests give way to each other, and the run's deadline.
#[derive(Clone)]
pub(super) struct Shared {
    pub(super) reaper: ReaperHandle,
    pub(super) switching: Switching,
    pub(super) deadline: Option<Deadline>,
}

/// How a guest's store gives way to the other guests.
#[derive(Clone)]
pub(super) enum Switching {
    /// Epoch slices, taking [`Turns`] (the default).
    Turns(Arc<Turns>),
    /// A seeded run's: fuel slices and preemption at host calls, as its
    /// scheduler decides (`super::seeded`).
    Seeded(Switches),
}

impl ReaperHandle {
    /// No reaper: a finished guest's store is dropped by its task (a seeded
    /// run's, where no other thread may run).
    pub(super) fn inline() -> Self {
        ReaperHandle(None)
    }
}

/// When a run's guests are stopped: one instant for all of them, `after`
/// the run began (not after each guest's own start, which comes later for
/// the last of many).
#[derive(Debug, Clone, Copy)]
pub(super) struct Deadline {
    pub(super) at: tokio::time::Instant,
    pub(super) after: Duration,
}

/// Starts a guest on its own task: it runs to its end, or is stopped at
/// the deadline. Its partial output lines are released whenever it waits.
pub(super) fn spawn(
    ready: Ready,
    output: Option<GuestOutput>,
    shared: Shared,
    turns: Arc<Turns>,
    span: tracing::Span,
) -> JoinHandle<Outcome> {
    use tracing::Instrument as _;
    let deadline = shared.deadline;
    let slice = Slice::new();
    let task = guest_task(ready, shared, slice.clone());
    let guest: Pin<Box<dyn Future<Output = Outcome> + Send>> = match output {
        Some(output) => Box::pin(ReleaseWhenParked::new(output, task).instrument(span)),
        None => Box::pin(task.instrument(span)),
    };
    tokio::spawn(SliceGate {
        turns,
        slice,
        deadline: deadline.map(|d| (Box::pin(tokio::time::sleep_until(d.at)), d.after, false)),
        guest,
    })
}

/// A guest's run from instantiation to its outcome, its store set up for
/// `shared`'s switching (`slice`: its epoch slice, for turns).
pub(super) fn guest_task(
    ready: Ready,
    shared: Shared,
    slice: Slice,
) -> Pin<Box<dyn Future<Output = Outcome> + Send>> {
    match ready {
        Ready::Component(pre, state) => Box::pin(run_component(pre, state, shared, slice)),
        Ready::AsyncComponent(pre, state) => {
            Box::pin(run_async_component(pre, state, shared, slice))
        }
        Ready::Module(pre, state) => Box::pin(run_module(pre, state, shared, slice)),
    }
}

/// Waits for every task and returns their outcomes in order, unless the
/// graph finds a deadlock first: then the stuck guests are stopped (their
/// stores dropped, releasing everything they held) and reported as
/// deadlocked, while guests that had finished keep their outcomes.
pub(super) async fn finish(
    mut tasks: Vec<JoinHandle<Outcome>>,
    graph: Option<Arc<WaitGraph>>,
) -> Vec<Outcome> {
    let mut outcomes = Vec::with_capacity(tasks.len());
    let all_finished = async {
        for task in tasks.iter_mut() {
            outcomes.push(task_outcome(task.await));
        }
    };
    let deadlock = async {
        match &graph {
            Some(graph) => graph.deadlocked().await,
            None => std::future::pending().await,
        }
    };
    let stuck = tokio::select! {
        () = all_finished => return outcomes,
        stuck = deadlock => stuck,
    };
    tracing::info!(guests = stuck.len(), "deadlock");
    for guest in &stuck {
        if let Some(task) = tasks.get(guest.id as usize) {
            task.abort();
        }
    }
    let mut stuck = stuck.into_iter().peekable();
    for (index, task) in tasks.iter_mut().enumerate().skip(outcomes.len()) {
        let outcome = task_outcome(task.await);
        match stuck.next_if(|guest| guest.id as usize == index) {
            Some(guest) => outcomes.push(Outcome::Deadlocked(guest)),
            None => outcomes.push(outcome),
        }
    }
    outcomes
}

fn task_outcome(joined: Result<Outcome, tokio::task::JoinError>) -> Outcome {
    joined.unwrap_or_else(|e| Outcome::Trap(format!("the host task failed: {e}")))
}

async fn run_component(
    pre: CommandPre<GuestState>,
    state: GuestState,
    shared: Shared,
    slice: Slice,
) -> Outcome {
    let mut store = new_store(pre.engine(), state, &shared.switching, slice);
    let command = match pre.instantiate_async(&mut store).await {
        Ok(command) => command,
        Err(e) => return not_started(&e),
    };
    let result = command.wasi_cli_run().call_run(&mut store).await;
    reap(store, &shared.reaper);
    outcome(result.map(|run| run.map_err(|()| 1)))
}

async fn run_async_component(
    pre: wasmtime_wasi::p3::bindings::CommandPre<GuestState>,
    state: GuestState,
    shared: Shared,
    slice: Slice,
) -> Outcome {
    let mut store = new_store(pre.engine(), state, &shared.switching, slice);
    let command = match pre.instantiate_async(&mut store).await {
        Ok(command) => command,
        Err(e) => return not_started(&e),
    };
    let result = store
        .run_concurrent(async move |store| command.wasi_cli_run().call_run(store).await)
        .await
        .and_then(|run| run);
    reap(store, &shared.reaper);
    outcome(result.map(|run| run.map_err(|()| 1)))
}

async fn run_module(
    pre: InstancePre<CoreGuestState>,
    state: CoreGuestState,
    shared: Shared,
    slice: Slice,
) -> Outcome {
    let mut store = new_store(pre.module().engine(), state, &shared.switching, slice);
    let instance = match pre.instantiate_async(&mut store).await {
        Ok(instance) => instance,
        Err(e) => return not_started(&e),
    };
    // The store's one instance: preview 1's hot calls may keep its memory.
    if let Some(memory) = instance.get_memory(&mut store, "memory") {
        store.data_mut().p1().keep_memory(memory);
    }
    let result = async {
        let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
        start.call_async(&mut store, ()).await
    }
    .await;
    reap(store, &shared.reaper);
    outcome(result.map(Ok))
}

/// A guest's store, with the memory limits found in its data, taking
/// [`Turns`] at every epoch tick. Its first epoch check comes at once (a
/// deadline of 0 has passed): a guest that starts computing while the
/// driver is behind waits for it like the others.
///
/// In a seeded run the store instead runs on fuel, giving way every
/// [`FUEL_SLICE`] units of it, and at host calls as the scheduler decides
/// (its call hook).
fn new_store<T: StoreData>(
    engine: &Engine,
    state: T,
    switching: &Switching,
    slice: Slice,
) -> Store<T> {
    let mut store = Store::new(engine, state);
    store.limiter(|state| state.limits());
    match switching {
        Switching::Turns(turns) => {
            let turns = Arc::clone(turns);
            store.epoch_deadline_callback(move |_| Ok(turns.at_epoch_deadline(&slice)));
            store.set_epoch_deadline(0);
        }
        Switching::Seeded(switches) => {
            // The seeded engine consumes fuel (Engines::new): these only
            // fail on an engine without it.
            if let Err(e) = store
                .set_fuel(u64::MAX)
                .and_then(|()| store.fuel_async_yield_interval(Some(FUEL_SLICE)))
            {
                tracing::error!("a seeded guest's store has no fuel: {e}");
            }
            store.call_hook_async(switches.hook());
        }
    }
    store
}

/// Ends a finished guest: what it shares with others is released now, and
/// its store (its memories) goes to the reaper.
fn reap<T: StoreData>(mut store: Store<T>, reaper: &ReaperHandle) {
    store.data_mut().release();
    tracing::trace!(
        memory_bytes = store.data_mut().limits().bytes(),
        "store to the reaper"
    );
    reaper.reap(store);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A slice's end is seen at the scheduler's next driver poll (tokio
    /// polls its driver every 61 task polls), however many tasks are queued
    /// behind: the probe was a task of its own at the back of the run queue,
    /// so every task queued before it was held, and with thousands of guests
    /// starting or woken at once, every tick held all of them.
    #[tokio::test(flavor = "current_thread")]
    async fn a_slice_end_is_seen_at_the_next_driver_poll_not_behind_the_queue() {
        const QUEUED: usize = 2_000;
        let turns = Turns::new();
        assert!(turns.driver_is_current());
        let held = Arc::new(AtomicU64::new(0));
        let ends = {
            let turns = Arc::clone(&turns);
            tokio::spawn(async move { turns.slice_ended() })
        };
        let queued: Vec<_> = (0..QUEUED)
            .map(|_| {
                let (turns, held) = (Arc::clone(&turns), Arc::clone(&held));
                tokio::spawn(async move {
                    if !turns.driver_is_current() {
                        held.fetch_add(1, Ordering::AcqRel);
                    }
                })
            })
            .collect();
        ends.await.expect("the task that ends a slice");
        for task in queued {
            task.await.expect("a queued task");
        }
        assert!(turns.driver_is_current());
        let held = held.load(Ordering::Acquire);
        assert!(
            held > 0 && held < 200,
            "{held} of {QUEUED} queued tasks ran before the slice's end was seen"
        );
    }
}
