//! Runs guests — `wasi:cli/command` components with WASI 0.2 and the
//! eventfd interface, components exporting `wasi:cli/run@0.3.0` with
//! component-model async (WASI 0.3 and 0.2) and both eventfd interfaces, or
//! core modules with WASI preview 1 and the integer-fd ABI — several at
//! once in one process, all sharing one [`DescriptionTable`], with limits,
//! timeouts and deadlock reports.
//!
//! This is what `wasi-eventfd run` is made of; use it to run guests from
//! Rust (tests, tools) without writing a host.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tracing::Instrument as _;

use wasmtime::component::{Component, Linker, Resource, ResourceTable};
use wasmtime::StoreContextMut;
use wasmtime::{Config, Engine, InstancePre, Module, Store, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::bindings::CommandPre;
use wasmtime_wasi::p2::DynPollable;
use wasmtime_wasi::{I32Exit, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::output::{LineOutput, Sink};
use crate::waits::{StuckGuest, WaitGraph};
use crate::{CreateFlags, DescriptionTable, Descriptor, EventfdCtx, EventfdCtxView, EventfdView};

/// How often running guests are asked to yield, so that a guest that
/// computes without waiting cannot starve the others on a runtime thread.
const YIELD_INTERVAL: Duration = Duration::from_millis(10);

/// The store data of one guest run by a [`Runner`].
pub struct GuestState {
    wasi: WasiCtx,
    eventfd: EventfdCtx,
    table: ResourceTable,
    limits: StoreLimits,
}

impl WasiView for GuestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl EventfdView for GuestState {
    fn eventfd(&mut self) -> EventfdCtxView<'_> {
        EventfdCtxView {
            ctx: &mut self.eventfd,
            table: &mut self.table,
        }
    }
}

/// The store data of one core-module guest run by a [`Runner`]: WASI
/// preview 1 and the integer-fd eventfd ABI ([`crate::abi`]).
pub struct CoreGuestState {
    p1: WasiP1Ctx,
    eventfd: EventfdCtx,
    /// Unused by core modules, which hold integer fds; the view requires one.
    table: ResourceTable,
    limits: StoreLimits,
}

impl EventfdView for CoreGuestState {
    fn eventfd(&mut self) -> EventfdCtxView<'_> {
        EventfdCtxView {
            ctx: &mut self.eventfd,
            table: &mut self.table,
        }
    }
}

/// A guest ready to instantiate: a component or a core module.
#[derive(Clone)]
pub enum LoadedGuest {
    /// A `wasi:cli/command` component (`wasi:cli/run@0.2`).
    Component(CommandPre<GuestState>),
    /// A component exporting `wasi:cli/run@0.3.0`, run with component-model
    /// async; its guest tasks run concurrently within it.
    AsyncComponent(wasmtime_wasi::p3::bindings::CommandPre<GuestState>),
    /// A core module with a `_start` export (WASI preview 1).
    Module(InstancePre<CoreGuestState>),
}

/// A named eventfd that the runner creates and hands to every guest, as
/// given on the command line: `NAME=INITVAL[,semaphore][,nonblock]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventfdSpec {
    /// The name guests find it under in `get-eventfds`.
    pub name: String,
    /// The counter's initial value.
    pub initval: u32,
    /// Semaphore and non-blocking modes (close-on-exec is per descriptor
    /// and so not part of a shared eventfd).
    pub flags: CreateFlags,
}

impl FromStr for EventfdSpec {
    type Err = String;

    fn from_str(spec: &str) -> Result<Self, String> {
        let expected = "expected NAME=INITVAL[,semaphore][,nonblock]";
        let (name, rest) = spec
            .split_once('=')
            .ok_or_else(|| format!("bad eventfd spec `{spec}`: {expected}"))?;
        if name.is_empty() {
            return Err(format!("bad eventfd spec `{spec}`: the name is empty"));
        }
        let mut parts = rest.split(',');
        let initval = parts.next().unwrap_or_default();
        let initval = initval.parse::<u32>().map_err(|_| {
            format!("bad eventfd spec `{spec}`: initial value `{initval}` is not a number from 0 to 4294967295")
        })?;
        let mut flags = CreateFlags::default();
        for flag in parts {
            match flag {
                "semaphore" => flags.semaphore = true,
                "nonblock" => flags.nonblock = true,
                other => {
                    return Err(format!(
                        "bad eventfd spec `{spec}`: unknown flag `{other}` (known: semaphore, nonblock)"
                    ))
                }
            }
        }
        Ok(EventfdSpec {
            name: name.to_string(),
            initval,
            flags,
        })
    }
}

/// One guest to run.
#[derive(Debug, Clone)]
pub struct GuestSpec {
    /// The component file.
    pub path: PathBuf,
    /// Its arguments, `argv[0]` included.
    pub args: Vec<String>,
}

impl GuestSpec {
    /// A guest whose `argv[0]` is its file name, followed by `args`.
    pub fn new(path: impl Into<PathBuf>, args: impl IntoIterator<Item = String>) -> Self {
        let path = path.into();
        let argv0 = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        GuestSpec {
            path,
            args: std::iter::once(argv0).chain(args).collect(),
        }
    }

    /// The name used in messages: `argv[0]`.
    pub fn name(&self) -> &str {
        self.args.first().map(String::as_str).unwrap_or("guest")
    }
}

/// How a guest ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It returned from `run` with success, or called `exit(0)`.
    Success,
    /// It returned failure from `run` (exit code 1) or called `exit(code)`.
    Exit(i32),
    /// It trapped; the message says why.
    Trap(String),
    /// It could not be instantiated (e.g. the `--pool` was full); the
    /// message says why.
    NotStarted(String),
    /// It was still running (or waiting) at the deadline and was stopped.
    TimedOut(Duration),
    /// It waited on an eventfd that no guest left could change (with
    /// [`RunOptions::detect_deadlocks`]), and was stopped.
    Deadlocked(StuckGuest),
}

impl Outcome {
    /// Whether the guest succeeded.
    pub fn is_success(&self) -> bool {
        *self == Outcome::Success
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Success => f.write_str("succeeded"),
            Outcome::Exit(code) => write!(f, "exited with code {code}"),
            Outcome::Trap(message) => write!(f, "trapped: {message}"),
            Outcome::NotStarted(message) => write!(f, "could not start: {message}"),
            Outcome::Deadlocked(stuck) => write!(f, "deadlocked: {}", stuck.waits_on.join(", or ")),
            Outcome::TimedOut(after) => {
                write!(f, "timed out: stopped after {} s", after.as_secs_f64())
            }
        }
    }
}

/// An error that stops guests from starting: a file that is missing or not
/// a runnable component. Its message names the file and the problem.
#[derive(Debug)]
pub struct LoadError(String);

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LoadError {}

/// Limits that keep guests from exhausting the host.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Live descriptions in the shared table (`too-many-descriptions`, ENFILE).
    pub max_descriptions: usize,
    /// Descriptors one guest may hold (`too-many-descriptors`, EMFILE).
    pub max_descriptors: usize,
    /// Bytes of linear memory one guest may have; growing past fails.
    pub max_memory: usize,
    /// Stop any guest still running after this long.
    pub timeout: Option<Duration>,
    /// Stop the run when every guest waits on an eventfd that none of them
    /// can change. Only right when the host itself will not write or read
    /// the shared eventfds while the guests run (as `wasi-eventfd run`).
    pub detect_deadlocks: bool,
    /// Whether guests write to this process's stdout and stderr (and read
    /// its stdin); otherwise their output is discarded.
    pub inherit_stdio: bool,
    /// Keep wasmtime's pooling allocator ready for this many WASI 0.2 or
    /// core-module guests at once: their instances, memories and stacks
    /// come from slots reserved up front instead of an `mmap` each, which
    /// makes starting and ending thousands of guests several times faster.
    /// Guests beyond it fail to instantiate. `None`: allocate on demand.
    pub pool: Option<u32>,
    /// Keep compiled guests in wasmtime's on-disk cache (its default
    /// place, `~/.cache/wasmtime`), so that the next run of the same file
    /// starts without compiling it: seconds for a guest that embeds an
    /// interpreter (Python, JavaScript). Off by default for the library;
    /// `wasi-eventfd run` turns it on (`--no-cache` turns it off).
    pub cache: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            max_descriptions: DescriptionTable::DEFAULT_MAX_DESCRIPTIONS,
            max_descriptors: EventfdCtx::DEFAULT_MAX_DESCRIPTORS,
            max_memory: 1 << 30,
            timeout: None,
            inherit_stdio: true,
            detect_deadlocks: false,
            pool: None,
            cache: false,
        }
    }
}

/// Runs guests that share one description table and a set of named eventfds.
pub struct Runner {
    options: RunOptions,
    /// Runs WASI 0.2 components and core modules. Component-model
    /// concurrency is off in it: with it on, wasmtime keeps a host-task
    /// record for every host call, which would cost every eventfd call of
    /// the guests that never use it.
    engine: Engine,
    linker: Linker<GuestState>,
    /// Runs components that use component-model async (WASI 0.3), with
    /// WASI 0.2 and 0.3 and both eventfd worlds.
    concurrent_engine: Engine,
    concurrent_linker: Linker<GuestState>,
    core_linker: wasmtime::Linker<CoreGuestState>,
    descriptions: DescriptionTable,
    preopens: Vec<(String, Descriptor)>,
    /// Guests already compiled, by path: `--with w.wasm --with w.wasm`
    /// and repeated runs compile each file once.
    loaded: Mutex<HashMap<PathBuf, LoadedGuest>>,
}

impl Runner {
    /// A runner with a fresh description table, no named eventfds and the
    /// default [`RunOptions`].
    pub fn new() -> wasmtime::Result<Self> {
        Self::with_options(RunOptions::default())
    }

    /// A runner with a fresh description table, no named eventfds and
    /// these limits.
    pub fn with_options(options: RunOptions) -> wasmtime::Result<Self> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        if options.cache {
            // A cache that cannot be set up only costs compile time.
            match wasmtime::Cache::from_file(None) {
                Ok(cache) => {
                    config.cache(Some(cache));
                }
                Err(e) => tracing::warn!("compiling without wasmtime's cache: {e}"),
            }
        }
        config.concurrency_support(true);
        let concurrent_engine = Engine::new(&config)?;
        config.concurrency_support(false);
        if let Some(guests) = options.pool {
            pooling(&mut config, guests, options.max_memory);
        }
        let engine = Engine::new(&config)?;

        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        watch_polls(&mut linker)?;
        crate::add_to_linker_async(&mut linker)?;

        let mut concurrent_linker = Linker::new(&concurrent_engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut concurrent_linker)?;
        watch_polls(&mut concurrent_linker)?;
        crate::add_to_linker_async(&mut concurrent_linker)?;
        wasmtime_wasi::p3::add_to_linker(&mut concurrent_linker)?;
        crate::add_to_linker_concurrent(&mut concurrent_linker)?;
        let mut core_linker = wasmtime::Linker::new(&engine);
        wasmtime_wasi::p1::add_to_linker_async(&mut core_linker, |s: &mut CoreGuestState| {
            &mut s.p1
        })?;
        crate::abi::add_to_linker_async(&mut core_linker)?;
        Ok(Runner {
            descriptions: DescriptionTable::with_limit(options.max_descriptions),
            options,
            engine,
            linker,
            concurrent_engine,
            concurrent_linker,
            core_linker,
            preopens: Vec::new(),
            loaded: Mutex::default(),
        })
    }

    /// The description table all guests of this runner share.
    pub fn descriptions(&self) -> &DescriptionTable {
        &self.descriptions
    }

    /// Creates the named eventfd of `spec` and shares it with every guest.
    /// Returns a descriptor of it for the host, so host code can take part.
    pub fn add_eventfd(&mut self, spec: &EventfdSpec) -> Result<Descriptor, crate::Errno> {
        let descriptor = self.descriptions.create(spec.initval, spec.flags)?;
        let for_host = descriptor.dup();
        self.preopens.push((spec.name.clone(), descriptor));
        Ok(for_host)
    }

    /// Loads and links a guest: a component, a core module, or either as
    /// WebAssembly text. The error names the file and the problem.
    pub fn load(&self, path: &Path) -> Result<LoadedGuest, LoadError> {
        let cached = self.loaded().get(path).cloned();
        if let Some(guest) = cached {
            return Ok(guest);
        }
        let guest = self.compile(path)?;
        self.loaded().insert(path.to_path_buf(), guest.clone());
        Ok(guest)
    }

    fn loaded(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, LoadedGuest>> {
        // Each critical section is one lookup or insert: a panic elsewhere
        // cannot leave the map half-updated.
        self.loaded
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn compile(&self, path: &Path) -> Result<LoadedGuest, LoadError> {
        let shown = path.display();
        let fail = |what: &str, e: &dyn fmt::Display| LoadError(format!("{shown}: {what}: {e}"));
        let bytes = std::fs::read(path).map_err(|e| LoadError(format!("{shown}: {e}")))?;
        let bytes = if bytes.starts_with(b"\0asm") {
            bytes
        } else {
            wat::parse_bytes(&bytes)
                .map_err(|e| {
                    fail(
                        "not a WebAssembly file (nor valid WebAssembly text)",
                        &first_line(&e),
                    )
                })?
                .into_owned()
        };
        // The header's layer field: 0 for core modules, 1 for components.
        if bytes.get(6..8) == Some(&[1, 0]) {
            // A WASI 0.2 command that needs nothing of component-model
            // async runs on the faster engine. Anything else fails there
            // early (validation rejects the async built-ins, linking the
            // async world) and gets the concurrent engine.
            let plain = Component::new(&self.engine, &bytes)
                .and_then(|component| self.linker.instantiate_pre(&component))
                .and_then(CommandPre::new);
            if let Ok(command) = plain {
                return Ok(LoadedGuest::Component(command));
            }
            let component = Component::new(&self.concurrent_engine, &bytes)
                .map_err(|e| fail("not a valid WebAssembly component", &root_cause(&e)))?;
            let pre = self
                .concurrent_linker
                .instantiate_pre(&component)
                .map_err(|e| fail("cannot be linked", &root_cause(&e)))?;
            // `wasi:cli/run@0.3.0` wins when a component exports both, as
            // in `wasmtime run`: a Rust guest's empty `main` adds the 0.2 one.
            if let Ok(command) = wasmtime_wasi::p3::bindings::CommandPre::new(pre.clone()) {
                return Ok(LoadedGuest::AsyncComponent(command));
            }
            let command = CommandPre::new(pre)
                .map_err(|e| fail("not a wasi:cli/command component", &root_cause(&e)))?;
            Ok(LoadedGuest::Component(command))
        } else {
            let module = Module::new(&self.engine, &bytes)
                .map_err(|e| fail("not a valid WebAssembly module", &root_cause(&e)))?;
            if module.get_export("_start").is_none() {
                return Err(LoadError(format!(
                    "{shown}: a core module needs a `_start` export"
                )));
            }
            let pre = self
                .core_linker
                .instantiate_pre(&module)
                .map_err(|e| fail("cannot be linked", &root_cause(&e)))?;
            Ok(LoadedGuest::Module(pre))
        }
    }

    /// Loads every guest, then runs them all concurrently and returns how
    /// each ended, in the order given. Nothing runs if any fails to load.
    pub async fn run(&self, guests: &[GuestSpec]) -> Result<Vec<Outcome>, LoadError> {
        let loaded = guests
            .iter()
            .map(|guest| Ok((guest.clone(), self.load(&guest.path)?)))
            .collect::<Result<Vec<_>, LoadError>>()?;

        // The epoch ticks on a thread of its own: a tokio task could itself
        // be starved by the busy guests it is meant to interrupt.
        let (stop_ticker, ticks_until_stopped) = std::sync::mpsc::channel::<()>();
        let ticker = std::thread::spawn({
            let engines = [self.engine.clone(), self.concurrent_engine.clone()];
            move || {
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    ticks_until_stopped.recv_timeout(YIELD_INTERVAL)
                {
                    engines.iter().for_each(Engine::increment_epoch);
                }
            }
        });

        // Every guest joins the wait graph before any starts, so a guest
        // still starting counts as running.
        let graph = Arc::new(WaitGraph::default());
        for (name, descriptor) in &self.preopens {
            graph.name_description(descriptor.info().id, name);
        }
        let timeout = self.options.timeout;
        let mut tasks: Vec<_> = loaded
            .into_iter()
            .enumerate()
            .map(|(index, (guest, loaded))| {
                let span = tracing::info_span!("guest", name = guest.name());
                let mut eventfd = self.eventfd_ctx();
                if self.options.detect_deadlocks {
                    eventfd.waits = Some(graph.join(index as u64, guest.name()));
                }
                let component_state = |eventfd| GuestState {
                    wasi: wasi_ctx(&guest, self.options.inherit_stdio).build(),
                    eventfd,
                    table: ResourceTable::new(),
                    limits: self.store_limits(),
                };
                match loaded {
                    LoadedGuest::Component(pre) => {
                        let state = component_state(eventfd);
                        tokio::spawn(
                            with_timeout(timeout, run_component(pre, state)).instrument(span),
                        )
                    }
                    LoadedGuest::AsyncComponent(pre) => {
                        let state = component_state(eventfd);
                        tokio::spawn(
                            with_timeout(timeout, run_async_component(pre, state)).instrument(span),
                        )
                    }
                    LoadedGuest::Module(pre) => {
                        let state = CoreGuestState {
                            p1: wasi_ctx(&guest, self.options.inherit_stdio).build_p1(),
                            eventfd,
                            table: ResourceTable::new(),
                            limits: self.store_limits(),
                        };
                        tokio::spawn(with_timeout(timeout, run_module(pre, state)).instrument(span))
                    }
                }
            })
            .collect();
        let mut outcomes = Vec::with_capacity(tasks.len());
        let all_finished = async {
            for task in tasks.iter_mut() {
                outcomes.push(task_outcome(task.await));
            }
        };
        let deadlock = tokio::select! {
            () = all_finished => None,
            stuck = graph.deadlocked(), if self.options.detect_deadlocks => Some(stuck),
        };
        drop(stop_ticker);
        let _ = ticker.join();
        let Some(stuck) = deadlock else {
            return Ok(outcomes);
        };
        // Stop the stuck guests: dropping their stores releases everything
        // they held. Guests that had finished keep their outcomes.
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
        Ok(outcomes)
    }

    fn eventfd_ctx(&self) -> EventfdCtx {
        self.preopens
            .iter()
            .fold(
                EventfdCtx::builder(&self.descriptions),
                |builder, (name, fd)| builder.preopen(name.clone(), fd),
            )
            .max_descriptors(self.options.max_descriptors)
            .build()
    }

    fn store_limits(&self) -> StoreLimits {
        StoreLimitsBuilder::new()
            .memory_size(self.options.max_memory)
            .build()
    }
}

fn wasi_ctx(guest: &GuestSpec, inherit_stdio: bool) -> WasiCtxBuilder {
    let mut builder = WasiCtx::builder();
    if inherit_stdio {
        builder
            .inherit_stdin()
            .stdout(LineOutput::new(Sink::Stdout))
            .stderr(LineOutput::new(Sink::Stderr));
    }
    builder.inherit_env().args(&guest.args);
    builder
}

fn task_outcome(joined: Result<Outcome, tokio::task::JoinError>) -> Outcome {
    joined.unwrap_or_else(|e| Outcome::Trap(format!("the host task failed: {e}")))
}

/// Wraps `wasi:io/poll`'s `poll` and `pollable.block` to tell the wait
/// graph how many pollables the guest waits on: only when all of them are
/// eventfd pollables (which report themselves) can the guest be stuck.
fn watch_polls(linker: &mut Linker<GuestState>) -> wasmtime::Result<()> {
    use wasmtime_wasi::p2::bindings::io::poll::{Host, HostPollable};
    linker.allow_shadowing(true);
    let mut poll = linker.instance("wasi:io/poll@0.2.12")?;
    poll.func_wrap_async(
        "poll",
        |mut store: StoreContextMut<'_, GuestState>,
         (pollables,): (Vec<Resource<DynPollable>>,)| {
            Box::new(async move {
                let waits = store.data().eventfd.waits.clone();
                waits.iter().for_each(|w| w.enter_poll(pollables.len()));
                let ready = Host::poll(&mut store.data_mut().table, pollables).await;
                waits.iter().for_each(|w| w.leave_poll());
                Ok((ready?,))
            })
        },
    )?;
    poll.func_wrap_async(
        "[method]pollable.block",
        |mut store: StoreContextMut<'_, GuestState>, (pollable,): (Resource<DynPollable>,)| {
            Box::new(async move {
                let waits = store.data().eventfd.waits.clone();
                waits.iter().for_each(|w| w.enter_poll(1));
                let done = HostPollable::block(&mut store.data_mut().table, pollable).await;
                waits.iter().for_each(|w| w.leave_poll());
                done
            })
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

/// Sets `config` up for wasmtime's pooling allocator with slots for
/// `guests` guests, each with memories of up to `max_memory` bytes.
fn pooling(config: &mut Config, guests: u32, max_memory: usize) {
    // A WASI 0.2 component (a Rust one, say) is a handful of core
    // instances and tables around one memory; a core module is one of each.
    const CORE_INSTANCES_PER_GUEST: u32 = 16;
    const TABLES_PER_GUEST: u32 = 8;
    let mut pool = wasmtime::PoolingAllocationConfig::new();
    pool.total_component_instances(guests)
        .total_core_instances(guests.saturating_mul(CORE_INSTANCES_PER_GUEST))
        .total_memories(guests)
        .total_tables(guests.saturating_mul(TABLES_PER_GUEST))
        .total_stacks(guests)
        .max_memory_size(max_memory)
        // Every slot may stay warm: reusing one costs no system call.
        .max_unused_warm_slots(guests);
    config.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool));
    // Copy-on-write memory images map and unmap every instance's memory:
    // two `mmap`s per guest, each a TLB shoot-down on every core. Copying
    // the (small) data segments instead made waking and ending 10 000
    // guests about a third faster (the benchmark's scale row).
    config.memory_init_cow(false);
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

async fn run_component(pre: CommandPre<GuestState>, state: GuestState) -> Outcome {
    let mut store = new_store(pre.engine(), state, |s| &mut s.limits);
    let command = match pre.instantiate_async(&mut store).await {
        Ok(command) => command,
        Err(e) => return Outcome::NotStarted(root_cause(&e)),
    };
    let result = command.wasi_cli_run().call_run(&mut store).await;
    outcome(result.map(|run| run.map_err(|()| 1)))
}

async fn run_async_component(
    pre: wasmtime_wasi::p3::bindings::CommandPre<GuestState>,
    state: GuestState,
) -> Outcome {
    let mut store = new_store(pre.engine(), state, |s| &mut s.limits);
    let command = match pre.instantiate_async(&mut store).await {
        Ok(command) => command,
        Err(e) => return Outcome::NotStarted(root_cause(&e)),
    };
    let result = store
        .run_concurrent(async move |store| command.wasi_cli_run().call_run(store).await)
        .await
        .and_then(|run| run);
    outcome(result.map(|run| run.map_err(|()| 1)))
}

async fn run_module(pre: InstancePre<CoreGuestState>, state: CoreGuestState) -> Outcome {
    let mut store = new_store(pre.module().engine(), state, |s| &mut s.limits);
    let instance = match pre.instantiate_async(&mut store).await {
        Ok(instance) => instance,
        Err(e) => return Outcome::NotStarted(root_cause(&e)),
    };
    let result = async {
        let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
        start.call_async(&mut store, ()).await
    }
    .await;
    outcome(result.map(Ok))
}

/// A guest's store, with the memory limits `limits` finds in its data,
/// yielding every epoch tick.
fn new_store<T: Send + 'static>(
    engine: &Engine,
    state: T,
    limits: fn(&mut T) -> &mut StoreLimits,
) -> Store<T> {
    let mut store = Store::new(engine, state);
    store.limiter(move |state| limits(state));
    store.epoch_deadline_async_yield_and_update(1);
    store
}

/// How a guest ended, from what its entry point returned: `Ok(Err(code))`
/// is a failure it reported, `Err` an exit or a trap.
fn outcome(result: wasmtime::Result<Result<(), i32>>) -> Outcome {
    let outcome = match result {
        Ok(Ok(())) => Outcome::Success,
        Ok(Err(code)) => Outcome::Exit(code),
        Err(e) => match e.downcast_ref::<I32Exit>() {
            Some(I32Exit(0)) => Outcome::Success,
            Some(I32Exit(code)) => Outcome::Exit(*code),
            None => {
                // The message stays one line; the whole error, with the
                // guest's backtrace, goes to the log.
                tracing::info!("guest trapped: {e:?}");
                Outcome::Trap(root_cause(&e))
            }
        },
    };
    tracing::debug!(%outcome, "guest finished");
    outcome
}

fn first_line(error: &dyn fmt::Display) -> String {
    error
        .to_string()
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

fn root_cause(error: &wasmtime::Error) -> String {
    error
        .chain()
        .last()
        .map(ToString::to_string)
        .unwrap_or_default()
}
