//! Running loaded guests side by side: one tokio task each, an epoch
//! ticker so that no guest starves the others, deadlines, and stopping the
//! guests of a deadlock.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use wasmtime::{Engine, InstancePre, Store};
use wasmtime_wasi::p2::bindings::CommandPre;

use super::guest::{CoreGuestState, GuestLimits, GuestState};
use super::outcome::{not_started, outcome, Outcome};
use crate::output::{GuestOutput, ReleaseWhenParked};
use crate::waits::WaitGraph;

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

/// Increments the engines' epochs every [`YIELD_INTERVAL`] until dropped.
/// It ticks on a thread of its own: a tokio task could itself be starved by
/// the busy guests it is meant to interrupt.
pub(super) struct Ticker {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Ticker {
    pub(super) fn start(engines: [Engine; 2]) -> Self {
        let (stop, ticks_until_stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                ticks_until_stopped.recv_timeout(YIELD_INTERVAL)
            {
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

/// Drops finished guests' stores on a thread of its own, once the guests
/// are quiet: tearing down an instance (its memory, its tables, its stack)
/// costs more than waking it, and next to running guests it would slow them
/// (a teardown unmaps memory, which interrupts every core the process runs
/// on). So while guests keep finishing — 10 000 woken at once, say — their
/// stores wait, unless too many have piled up; handing one over wakes
/// nobody.
pub(super) struct Reaper {
    shared: Arc<ReaperShared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

struct ReaperShared {
    state: std::sync::Mutex<ReaperState>,
    /// Signalled when the run is over.
    finished: std::sync::Condvar,
}

#[derive(Default)]
struct ReaperState {
    stores: Vec<Box<dyn Send>>,
    last_arrival: Option<std::time::Instant>,
    finished: bool,
}

impl Reaper {
    /// Stores are dropped once none has arrived for this long...
    const QUIET: Duration = Duration::from_millis(20);
    /// ...or once this many wait, whatever the guests are doing.
    const MAX_WAITING: usize = 8192;

    pub(super) fn start() -> Self {
        let shared = Arc::new(ReaperShared {
            state: std::sync::Mutex::default(),
            finished: std::sync::Condvar::new(),
        });
        let thread = std::thread::Builder::new()
            .name("guest-reaper".into())
            .spawn({
                let shared = Arc::clone(&shared);
                move || shared.reap_until_finished()
            })
            .ok();
        Reaper { shared, thread }
    }

    /// A handle for one guest's task.
    pub(super) fn handle(&self) -> ReaperHandle {
        ReaperHandle(self.thread.is_some().then(|| Arc::clone(&self.shared)))
    }

    /// Waits until every store handed over has been dropped, and with it
    /// every descriptor its guest held. Only call once every guest's task
    /// has finished.
    pub(super) async fn finish(mut self) {
        self.shared.state().finished = true;
        self.shared.finished.notify_one();
        if let Some(thread) = self.thread.take() {
            // Dropping what is left may take a while: off the runtime's
            // thread.
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

impl ReaperShared {
    fn state(&self) -> std::sync::MutexGuard<'_, ReaperState> {
        // Each critical section is a push or a take: never half done.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn reap_until_finished(&self) {
        let mut state = self.state();
        loop {
            let quiet = state
                .last_arrival
                .is_none_or(|last| last.elapsed() >= Reaper::QUIET);
            if state.finished || quiet || state.stores.len() >= Reaper::MAX_WAITING {
                let stores = std::mem::take(&mut state.stores);
                let finished = state.finished;
                drop(state);
                drop(stores);
                if finished {
                    return;
                }
                state = self.state();
            }
            state = self
                .finished
                .wait_timeout(state, Reaper::QUIET)
                .map_or_else(|p| p.into_inner().0, |(state, _)| state);
        }
    }
}

/// Where a guest's task leaves its store when done.
#[derive(Clone)]
pub(super) struct ReaperHandle(Option<Arc<ReaperShared>>);

impl ReaperHandle {
    fn reap(&self, store: impl Send + 'static) {
        // Without a reaper thread the store is dropped here.
        if let Some(shared) = &self.0 {
            let mut state = shared.state();
            state.stores.push(Box::new(store));
            state.last_arrival = Some(std::time::Instant::now());
        }
    }
}

/// Starts a guest on its own task: it runs to its end, or is stopped at
/// the deadline. Its partial output lines are released whenever it waits.
pub(super) fn spawn(
    ready: Ready,
    output: Option<GuestOutput>,
    timeout: Option<Duration>,
    reaper: ReaperHandle,
    span: tracing::Span,
) -> JoinHandle<Outcome> {
    use tracing::Instrument as _;
    let task: std::pin::Pin<Box<dyn Future<Output = Outcome> + Send>> = match ready {
        Ready::Component(pre, state) => Box::pin(run_component(pre, state, reaper)),
        Ready::AsyncComponent(pre, state) => Box::pin(run_async_component(pre, state, reaper)),
        Ready::Module(pre, state) => Box::pin(run_module(pre, state, reaper)),
    };
    let task = with_timeout(timeout, task);
    match output {
        Some(output) => tokio::spawn(ReleaseWhenParked::new(output, task).instrument(span)),
        None => tokio::spawn(task.instrument(span)),
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

/// Runs a guest to its end, or stops it (drops its store, and with it
/// every descriptor it held) at the deadline.
async fn with_timeout(timeout: Option<Duration>, guest: impl Future<Output = Outcome>) -> Outcome {
    match timeout {
        None => guest.await,
        Some(after) => tokio::time::timeout(after, guest)
            .await
            .unwrap_or(Outcome::TimedOut(after)),
    }
}

async fn run_component(
    pre: CommandPre<GuestState>,
    state: GuestState,
    reaper: ReaperHandle,
) -> Outcome {
    let mut store = new_store(pre.engine(), state, |s| &mut s.limits);
    let command = match pre.instantiate_async(&mut store).await {
        Ok(command) => command,
        Err(e) => return not_started(&e),
    };
    let result = command.wasi_cli_run().call_run(&mut store).await;
    reaper.reap(store);
    outcome(result.map(|run| run.map_err(|()| 1)))
}

async fn run_async_component(
    pre: wasmtime_wasi::p3::bindings::CommandPre<GuestState>,
    state: GuestState,
    reaper: ReaperHandle,
) -> Outcome {
    let mut store = new_store(pre.engine(), state, |s| &mut s.limits);
    let command = match pre.instantiate_async(&mut store).await {
        Ok(command) => command,
        Err(e) => return not_started(&e),
    };
    let result = store
        .run_concurrent(async move |store| command.wasi_cli_run().call_run(store).await)
        .await
        .and_then(|run| run);
    reaper.reap(store);
    outcome(result.map(|run| run.map_err(|()| 1)))
}

async fn run_module(
    pre: InstancePre<CoreGuestState>,
    state: CoreGuestState,
    reaper: ReaperHandle,
) -> Outcome {
    let mut store = new_store(pre.module().engine(), state, |s| &mut s.limits);
    let instance = match pre.instantiate_async(&mut store).await {
        Ok(instance) => instance,
        Err(e) => return not_started(&e),
    };
    let result = async {
        let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
        start.call_async(&mut store, ()).await
    }
    .await;
    reaper.reap(store);
    outcome(result.map(Ok))
}

/// A guest's store, with the memory limits `limits` finds in its data,
/// yielding every epoch tick.
fn new_store<T: Send + 'static>(
    engine: &Engine,
    state: T,
    limits: fn(&mut T) -> &mut GuestLimits,
) -> Store<T> {
    let mut store = Store::new(engine, state);
    store.limiter(move |state| limits(state));
    store.epoch_deadline_async_yield_and_update(1);
    store
}
