//! Runs guests — `wasi:cli/command` components with WASI 0.2 and the
//! eventfd interface, components exporting `wasi:cli/run@0.3.0` with
//! component-model async (WASI 0.3 and 0.2) and both eventfd interfaces, or
//! core modules with WASI preview 1 and the integer-fd ABI — several at
//! once in one process, all sharing one [`DescriptionTable`], with limits,
//! timeouts and deadlock reports.
//!
//! Each guest gets only what its [`GuestSpec`] grants: arguments,
//! environment variables, directories, the network, stdin and the named
//! eventfds it lists; nothing of the host's by default.
//!
//! This is what `wasi-eventfd run` is made of; use it to run guests from
//! Rust (tests, tools) without writing a host.

mod deadlock;
mod engines;
mod guest;
mod load;
mod outcome;
mod output;
mod schedule;
mod seeded;
mod seeded_files;
mod sizing;

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::WasiCtxBuilder;

use self::deadlock::WaitGraph;
use self::engines::{Engines, PoolSlots, AUTO_POOL_MIN_GUESTS};
use self::load::Loaded;
use self::output::{GuestOutput, ReleaseWhenParked};
use self::schedule::{Deadline, Ready, Reaper, ReaperHandle, Shared, Switching, Ticker, Turns};
use self::seeded::{Executor, GuestFuture, GuestRandom, VirtualClocks};
use self::sizing::Needs;
use crate::{CreateFlags, DescriptionTable, Descriptor, EventfdCtx};

pub use self::deadlock::{StuckGuest, MAX_WAITS_LISTED};
pub use self::guest::{
    guest_labels, shortened, CoreGuestState, DirGrant, GuestLimits, GuestSpec, GuestState,
    MAX_QUOTED_CHARS,
};
pub use self::load::{LoadError, LoadedGuest};
pub use self::outcome::Outcome;
pub use self::seeded::{Schedule, Seeded, SeededRun, VIRTUAL_WALL_START_SECS};

/// How guests' instances, memories and stacks are allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pool {
    /// On demand for a run of few guests; for a run of many, wasmtime's
    /// pooling allocator with a slot for each of them (decided by the
    /// first [`Runner::run`]).
    #[default]
    Auto,
    /// Always on demand: an `mmap` or several per guest.
    OnDemand,
    /// wasmtime's pooling allocator with slots for this many WASI 0.2 or
    /// core-module guests at once: their instances, memories and stacks
    /// come from one reservation made up front, which makes starting and
    /// ending thousands of guests several times faster. Guests beyond it
    /// fail to start.
    Slots(u32),
}

/// Limits that keep guests from exhausting the host.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Live descriptions in the shared table (`too-many-descriptions`, ENFILE).
    pub max_descriptions: usize,
    /// Descriptors one guest may hold (`too-many-descriptors`, EMFILE): a
    /// component's eventfd resources, or a core module's fd numbers, stdio
    /// and directories included (`RLIMIT_NOFILE`).
    pub max_descriptors: usize,
    /// Bytes of linear memory and tables one guest may hold in all (each
    /// table element counted as 8 bytes); growing past fails.
    pub max_memory: usize,
    /// Stop any guest still running this long after the run began (all
    /// guests at the same instant, however long the last took to start).
    pub timeout: Option<Duration>,
    /// Stop the run when every guest waits on an eventfd that none of them
    /// can change. Only right when the host itself will not write or read
    /// the shared eventfds while the guests run (as `wasi-eventfd run`).
    pub detect_deadlocks: bool,
    /// Whether guests write to this process's stdout and stderr (and those
    /// granted it read its stdin); otherwise their output is discarded.
    pub inherit_stdio: bool,
    /// How guests are allocated.
    pub pool: Pool,
    /// Keep compiled guests in wasmtime's on-disk cache (its default
    /// place, `~/.cache/wasmtime`), so that the next run of the same file
    /// starts without compiling it: seconds for a guest that embeds an
    /// interpreter (Python, JavaScript). Off by default for the library;
    /// `wasi-eventfd run` turns it on (`--no-cache` turns it off).
    pub cache: bool,
    /// Run seeded ([`Runner::run_seeded`], [`Runner::explore`]): the run
    /// becomes a function of the seed and its inputs. Guests then run on
    /// engines of their own that count fuel instead of epochs (and
    /// canonicalise NaNs, and make relaxed SIMD deterministic), so a
    /// runner is either seeded or not: [`Runner::run`] refuses to run a
    /// seeded runner's guests.
    pub seeded: Option<Seeded>,
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
            pool: Pool::Auto,
            cache: false,
            seeded: None,
        }
    }
}

/// Runs guests that share one description table and a set of named eventfds.
pub struct Runner {
    options: RunOptions,
    descriptions: DescriptionTable,
    preopens: Vec<(String, Descriptor)>,
    /// How each named eventfd was made, to make it afresh for every
    /// seeded run.
    eventfd_specs: Vec<(String, u32, CreateFlags)>,
    /// The host's stdin, read whole by the first seeded run that grants it.
    seeded_stdin: std::sync::OnceLock<bytes::Bytes>,
    /// Made by the first run, when the pool can be sized to its guests.
    engines: Mutex<Option<Arc<(Engines, Loaded)>>>,
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
        Ok(Runner {
            descriptions: DescriptionTable::with_limit(options.max_descriptions),
            options,
            preopens: Vec::new(),
            eventfd_specs: Vec::new(),
            seeded_stdin: std::sync::OnceLock::new(),
            engines: Mutex::new(None),
        })
    }

    /// The description table all guests of this runner share.
    pub fn descriptions(&self) -> &DescriptionTable {
        &self.descriptions
    }

    /// Creates an eventfd that guests find under `name` (those whose
    /// [`GuestSpec::eventfds`] allow it). Returns a descriptor of it for
    /// the host, so host code can take part.
    pub fn add_eventfd(
        &mut self,
        name: &str,
        initval: u32,
        flags: CreateFlags,
    ) -> Result<Descriptor, crate::Errno> {
        let descriptor = self.descriptions.create(initval, flags)?;
        let for_host = descriptor.dup();
        self.preopens.push((name.to_string(), descriptor));
        self.eventfd_specs.push((name.to_string(), initval, flags));
        Ok(for_host)
    }

    /// Loads every guest, then runs them all concurrently and returns how
    /// each ended, in the order given. Nothing runs if any fails to load,
    /// names an eventfd the runner does not have, or is granted a
    /// directory that cannot be opened.
    ///
    /// A runner whose options are [seeded](RunOptions::seeded) runs its
    /// guests with [`Runner::run_seeded`] instead: this refuses them.
    pub async fn run(&self, guests: &[GuestSpec]) -> Result<Vec<Outcome>, LoadError> {
        if self.options.seeded.is_some() {
            return Err(LoadError(
                "a seeded runner runs its guests with Runner::run_seeded, on a runtime of its own"
                    .into(),
            ));
        }
        // This thread's signal stack for wasmtime, mapped now while maps
        // are plenty: on a one-thread runtime every guest runs here.
        wasmtime::Engine::tls_eager_initialize();
        let engines = self.engines(guests, 1)?;
        let (engines, loaded) = &*engines;
        let eventfds = Eventfds {
            descriptions: &self.descriptions,
            preopens: &self.preopens,
        };
        let graph = self.wait_graph(&eventfds);
        // Everything is set up before any guest starts, so that a guest
        // still starting counts as running in the wait graph.
        let labels = guest_labels(guests);
        let ready = guests
            .iter()
            .zip(&labels)
            .enumerate()
            .map(|(index, (guest, label))| {
                let run = Prepare {
                    eventfds: &eventfds,
                    engines,
                    loaded,
                    graph: graph.as_ref(),
                    inherit_stdio: self.options.inherit_stdio,
                    seeded: None,
                };
                self.prepare(index, guest, label, &run)
            })
            .collect::<Result<Vec<_>, LoadError>>()?;

        // A timeout too far to be an instant (past what the clock can
        // count) is no deadline at all.
        let deadline = self.options.timeout.and_then(|after| {
            let at = tokio::time::Instant::now().checked_add(after)?;
            Some(Deadline { at, after })
        });
        let turns = Turns::new();
        let _ticker = Ticker::start(engines.both(), Arc::clone(&turns));
        let reaper = Reaper::start();
        let shared = Shared {
            reaper: reaper.handle(),
            switching: Switching::Turns(Arc::clone(&turns)),
            deadline,
        };
        let tasks = ready
            .into_iter()
            .map(|(state, output, span)| {
                schedule::spawn(state, output, shared.clone(), Arc::clone(&turns), span)
            })
            .collect();
        let outcomes = schedule::finish(tasks, graph).await;
        // What the guests held is released before the run is over.
        reaper.finish().await;
        if self.options.inherit_stdio {
            // Everything the guests wrote reaches the host's streams before
            // the run is over, unless a reader stalls past the deadline.
            output::drained(deadline.map(|d| d.at)).await;
        }
        Ok(outcomes)
    }

    /// A wait graph of the run's named eventfds, when deadlocks are
    /// detected.
    fn wait_graph(&self, eventfds: &Eventfds<'_>) -> Option<Arc<WaitGraph>> {
        let graph = self
            .options
            .detect_deadlocks
            .then(|| Arc::new(WaitGraph::default()))?;
        for (name, descriptor) in eventfds.preopens {
            graph.name_description(descriptor.info().id, name);
        }
        Some(graph)
    }

    /// One guest ready to start: its loaded code, its store's data (what it
    /// is granted, its eventfds, its place in the wait graph), its output
    /// buffers and its span. `label` names it in messages
    /// ([`guest_labels`]).
    fn prepare(
        &self,
        index: usize,
        guest: &GuestSpec,
        label: &str,
        run: &Prepare<'_>,
    ) -> Result<(Ready, Option<GuestOutput>, tracing::Span), LoadError> {
        let Prepare {
            eventfds,
            engines,
            loaded,
            graph,
            inherit_stdio,
            seeded,
        } = run;
        let mut eventfd = self.eventfd_ctx(guest, label, eventfds)?;
        if let Some(graph) = graph {
            eventfd.park_observer = Some(graph.join(index as u64, label));
        }
        let output = inherit_stdio.then(GuestOutput::new);
        let seeded = match seeded {
            Some((seed, clocks)) => Some(guest::SeededWasi {
                clocks: *clocks,
                random: GuestRandom::new(*seed, index),
                stdin: self.seeded_stdin(guest)?,
            }),
            None => None,
        };
        let mut wasi = guest
            .wasi(output.as_ref(), seeded)
            .map_err(|e| LoadError(format!("guest {label}: {e}")))?;
        let limits = self.store_limits();
        let component = |mut wasi: WasiCtxBuilder, eventfd, limits| GuestState {
            wasi: Some(wasi.build()),
            eventfd,
            table: ResourceTable::new(),
            limits,
        };
        let loaded = loaded.load(engines, &guest.path)?;
        if !guest.tcplisten.is_empty() && !matches!(loaded, LoadedGuest::Module(_)) {
            // As wasmtime: preview 1's preopened sockets have no component
            // counterpart.
            return Err(LoadError(format!(
                "guest {label}: components do not support -S tcplisten (preview 1 core \
                 modules only)"
            )));
        }
        let ready = match loaded {
            LoadedGuest::Component(pre) => Ready::Component(pre, component(wasi, eventfd, limits)),
            LoadedGuest::AsyncComponent(pre) => {
                Ready::AsyncComponent(pre, component(wasi, eventfd, limits))
            }
            LoadedGuest::Module(pre) => Ready::Module(
                pre,
                CoreGuestState {
                    p1: Some(crate::p1::EventfdP1Ctx::with_listeners(
                        wasi.build_p1(),
                        eventfd,
                        guest
                            .listeners()
                            .map_err(|e| LoadError(format!("guest {label}: {e}")))?,
                    )),
                    limits,
                },
            ),
        };
        Ok((
            ready,
            output,
            tracing::info_span!("guest", name = guest.name(), number = index + 1),
        ))
    }

    /// Runs `guests` as a seeded run ([`RunOptions::seeded`]; seed 0 with
    /// the defaults when the options have none), on a runtime of its own
    /// made on this thread: the run is a function of the seed and its
    /// inputs (see [`Seeded`]). Blocks until every guest has ended; call it
    /// outside any async runtime (or from `spawn_blocking`).
    ///
    /// Every run makes the runner's named eventfds afresh, as
    /// [`Runner::add_eventfd`] made them: the descriptors that returned are
    /// not the run's. Its wall clock starts at [`VIRTUAL_WALL_START_SECS`],
    /// its monotonic clock at 0; the guest granted stdin reads the host's
    /// stdin as read whole before the run (none from a terminal: typing
    /// cannot be replayed). Fails as [`Runner::run`] does, and for a guest
    /// granted the network (`inherit_network`, `allow_ip_name_lookup`),
    /// which cannot be replayed.
    pub fn run_seeded(&self, guests: &[GuestSpec]) -> Result<SeededRun, LoadError> {
        let seeded = self.options.seeded.unwrap_or_else(|| Seeded::new(0));
        self.run_seeded_with(guests, seeded, self.options.inherit_stdio)
    }

    /// Runs `count` seeded runs of `guests` on up to `threads` threads at
    /// once, with the seeds that follow [`RunOptions::seeded`]'s (its seed,
    /// then +1, …; other settings as there), reusing the compiled guests,
    /// and stops at the first that fails: a guest that does not succeed
    /// (an exit status, a trap, a deadlock, the timeout). Guests' output is
    /// discarded (replay the failing seed with [`Runner::run_seeded`] to
    /// see it). `progress` is called with the number of runs done after
    /// each.
    ///
    /// The failure reported is that of the lowest seed that fails in the
    /// range, whatever the number of threads: seeds above a failure found
    /// are not started, and those below it all finish.
    pub fn explore(
        &self,
        guests: &[GuestSpec],
        count: u64,
        threads: usize,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<Exploration, LoadError> {
        let first = self.options.seeded.unwrap_or_else(|| Seeded::new(0));
        // Compiled once, before the workers start (each would compile
        // what it does not find yet).
        {
            let at_once = u64::try_from(threads.max(1)).unwrap_or(u64::MAX);
            let engines = self.engines(guests, at_once)?;
            let (engines, loaded) = &*engines;
            for guest in guests {
                loaded.load(engines, &guest.path)?;
            }
        }
        let next = AtomicU64::new(0);
        let done = AtomicU64::new(0);
        // The lowest failing index found so far, with its run.
        let failure: Mutex<Option<(u64, SeededRun)>> = Mutex::new(None);
        let error: Mutex<Option<LoadError>> = Mutex::new(None);
        let lowest_failure = || {
            failure
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .as_ref()
                .map(|(index, _)| *index)
        };
        let worker = || loop {
            let index = next.fetch_add(1, Ordering::AcqRel);
            if index >= count || lowest_failure().is_some_and(|lowest| index > lowest) {
                return;
            }
            let seeded = Seeded {
                seed: first.seed.wrapping_add(index),
                ..first
            };
            match self.run_seeded_with(guests, seeded, false) {
                Ok(run) => {
                    if run.outcomes.iter().any(|o| !o.is_success()) {
                        let mut failure = failure.lock().unwrap_or_else(|p| p.into_inner());
                        if failure.as_ref().is_none_or(|(lowest, _)| index < *lowest) {
                            *failure = Some((index, run));
                        }
                    }
                }
                Err(e) => {
                    *error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                    next.store(count, Ordering::Release);
                    return;
                }
            }
            progress(done.fetch_add(1, Ordering::AcqRel) + 1);
        };
        let threads = threads.clamp(1, usize::try_from(count).unwrap_or(usize::MAX).max(1));
        std::thread::scope(|scope| {
            for _ in 1..threads {
                scope.spawn(worker);
            }
            worker();
        });
        if let Some(e) = error.into_inner().unwrap_or_else(|p| p.into_inner()) {
            return Err(e);
        }
        let failure = failure.into_inner().unwrap_or_else(|p| p.into_inner());
        Ok(Exploration {
            explored: done.load(Ordering::Acquire),
            failure: failure.map(|(index, run)| (first.seed.wrapping_add(index), run)),
        })
    }

    fn run_seeded_with(
        &self,
        guests: &[GuestSpec],
        seeded: Seeded,
        inherit_stdio: bool,
    ) -> Result<SeededRun, LoadError> {
        if tokio::runtime::Handle::try_current().is_ok() {
            // tokio refuses (with a panic) to block inside a runtime.
            return Err(LoadError(
                "a seeded run makes a runtime of its own: call Runner::run_seeded or \
                 Runner::explore outside any async runtime (or in spawn_blocking)"
                    .into(),
            ));
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .map_err(|e| LoadError(format!("cannot start the async runtime: {e}")))?;
        // Guests' output is written by this thread as they write it: no
        // writer thread decides when.
        let _here = self::output::WriteHere::start();
        runtime.block_on(self.seeded_run(guests, seeded, inherit_stdio))
    }

    async fn seeded_run(
        &self,
        guests: &[GuestSpec],
        seeded: Seeded,
        inherit_stdio: bool,
    ) -> Result<SeededRun, LoadError> {
        use tracing::Instrument as _;
        let engines = self.engines(guests, 1)?;
        let (engines, loaded) = &*engines;
        // The named eventfds afresh, so that every run starts alike.
        let descriptions = DescriptionTable::with_limit(self.options.max_descriptions);
        let preopens = self
            .eventfd_specs
            .iter()
            .map(|(name, initval, flags)| {
                let made = descriptions.create(*initval, *flags).map_err(|e| {
                    LoadError(format!(
                        "cannot create eventfd `{}`: {e}",
                        shortened(name, MAX_QUOTED_CHARS)
                    ))
                })?;
                Ok((name.clone(), made))
            })
            .collect::<Result<Vec<_>, LoadError>>()?;
        let eventfds = Eventfds {
            descriptions: &descriptions,
            preopens: &preopens,
        };
        let graph = self.wait_graph(&eventfds);
        let clocks = VirtualClocks::start();
        let switches = Executor::switches(&seeded, guests.len());
        let shared = Shared {
            reaper: ReaperHandle::inline(),
            switching: Switching::Seeded(switches.clone()),
            // The executor keeps the deadline.
            deadline: None,
        };
        let labels = guest_labels(guests);
        let mut futures: Vec<GuestFuture> = Vec::with_capacity(guests.len());
        for (index, (guest, label)) in guests.iter().zip(&labels).enumerate() {
            let run = Prepare {
                eventfds: &eventfds,
                engines,
                loaded,
                graph: graph.as_ref(),
                inherit_stdio,
                seeded: Some((seeded.seed, clocks)),
            };
            let (ready, output, span) = self.prepare(index, guest, label, &run)?;
            let task = schedule::guest_task(ready, shared.clone(), schedule::Slice::new());
            // Unconstrained: tokio's cooperative budget would otherwise
            // make a guest's poll return early at its own count.
            futures.push(match output {
                Some(output) => Box::pin(tokio::task::unconstrained(
                    ReleaseWhenParked::new(output, task)
                        .counting_yields()
                        .instrument(span),
                )),
                None => Box::pin(tokio::task::unconstrained(task.instrument(span))),
            });
        }
        let run = Executor::new(switches, futures, graph, self.options.timeout)
            .run()
            .await;
        Ok(run)
    }

    /// The host's stdin for a seeded run's `guest`: empty unless it is
    /// granted stdin; read whole once, from a file or a pipe, and kept for
    /// every run (a terminal gives nothing: typing cannot be replayed).
    fn seeded_stdin(&self, guest: &GuestSpec) -> Result<bytes::Bytes, LoadError> {
        use std::io::{IsTerminal as _, Read as _};
        if !guest.stdin {
            return Ok(bytes::Bytes::new());
        }
        if let Some(read) = self.seeded_stdin.get() {
            return Ok(read.clone());
        }
        let stdin = std::io::stdin();
        let mut bytes = Vec::new();
        if !stdin.is_terminal() {
            stdin
                .lock()
                .take(MAX_SEEDED_STDIN + 1)
                .read_to_end(&mut bytes)
                .map_err(|e| LoadError(format!("cannot read stdin: {e}")))?;
        }
        if bytes.len() as u64 > MAX_SEEDED_STDIN {
            return Err(LoadError(format!(
                "stdin holds more than {MAX_SEEDED_STDIN} bytes: a seeded run reads it whole \
                 before it starts, and takes at most that"
            )));
        }
        Ok(self.seeded_stdin.get_or_init(|| bytes.into()).clone())
    }

    /// The engines, made now for a run of `guests` if not made yet, with
    /// `at_once` runs of them at a time ([`Runner::explore`]'s threads).
    ///
    /// Before the engines are made, the run's memory maps are estimated
    /// ([`maps_needed`]) against `vm.max_map_count` and what the process
    /// holds: a run beyond the limit is refused with an error naming it,
    /// instead of guests that fail to start midway and threads that panic
    /// when they cannot map their signal stacks. (Later runs of the same
    /// runner are not checked again.)
    fn engines(
        &self,
        guests: &[GuestSpec],
        at_once: u64,
    ) -> Result<Arc<(Engines, Loaded)>, LoadError> {
        let mut engines = self
            .engines
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(engines) = &*engines {
            return Ok(Arc::clone(engines));
        }
        let loaded = Loaded::default();
        let per_file = pool_needs(guests, &loaded)?;
        let pool = match self.options.pool {
            Pool::OnDemand => None,
            Pool::Auto if guests.len() < AUTO_POOL_MIN_GUESTS => None,
            Pool::Auto => {
                let count = u32::try_from(guests.len()).unwrap_or(u32::MAX);
                let mut needs = Needs::default();
                for &(one, copies) in &per_file {
                    needs += one.times(copies);
                }
                Some(PoolSlots {
                    guests: count,
                    needs,
                })
            }
            Pool::Slots(slots) => {
                // Any `slots` of this run's guests at once.
                let largest = per_file
                    .iter()
                    .fold(Needs::default(), |largest, &(one, _)| largest.max(one));
                Some(PoolSlots {
                    guests: slots,
                    needs: largest.times(slots),
                })
            }
        };
        let workers = tokio::runtime::Handle::try_current()
            .map_or(at_once, |runtime| runtime.metrics().num_workers() as u64);
        let needed = maps_needed(&per_file, pool, at_once, workers);
        if let Some(budget) = sizing::MapBudget::now(needed) {
            tracing::debug!(?budget, "memory maps");
            let count = guests.len();
            let run = match count {
                1 => "1 guest".to_string(),
                many => format!("{many} guests"),
            };
            let run = match self.options.pool {
                Pool::Slots(slots) => format!("{run} in a pool of {slots} slots"),
                Pool::Auto | Pool::OnDemand => run,
            };
            budget.check(&run).map_err(LoadError)?;
        }
        let made = Engines::new(&self.options, pool).map_err(|e| {
            LoadError(format!(
                "cannot set up wasmtime: {}",
                outcome::root_cause(&e)
            ))
        })?;
        let made = Arc::new((made, loaded));
        *engines = Some(Arc::clone(&made));
        Ok(made)
    }

    /// The eventfd context of `guest` (named `label` in messages), with the
    /// named eventfds it may see.
    fn eventfd_ctx(
        &self,
        guest: &GuestSpec,
        label: &str,
        eventfds: &Eventfds<'_>,
    ) -> Result<EventfdCtx, LoadError> {
        // Sets, not scans of lists: a run file may grant a guest tens of
        // thousands of eventfds.
        let granted: Option<HashSet<&str>> = guest
            .eventfds
            .as_ref()
            .map(|names| names.iter().map(String::as_str).collect());
        if let Some(names) = &guest.eventfds {
            let have: HashSet<&str> = eventfds.preopens.iter().map(|(n, _)| n.as_str()).collect();
            if let Some(unknown) = names.iter().find(|name| !have.contains(name.as_str())) {
                return Err(LoadError(format!(
                    "guest {label} is granted eventfd `{}`, which the run does not have",
                    shortened(unknown, MAX_QUOTED_CHARS)
                )));
            }
        }
        Ok(eventfds
            .preopens
            .iter()
            .filter(|(name, _)| granted.as_ref().is_none_or(|g| g.contains(name.as_str())))
            .fold(
                EventfdCtx::builder(eventfds.descriptions),
                |builder, (name, fd)| builder.preopen(name.clone(), fd),
            )
            .max_descriptors(self.options.max_descriptors)
            .build())
    }

    fn store_limits(&self) -> GuestLimits {
        GuestLimits::new(self.options.max_memory)
    }
}

/// What one instance of each distinct guest file of `guests` needs from
/// the pool (read from its binary, which `loaded` keeps for compiling),
/// with how many copies of it there are.
/// The most a seeded run reads of the host's stdin (64 MiB).
const MAX_SEEDED_STDIN: u64 = 64 << 20;

/// What [`Runner::explore`] found.
#[derive(Debug, Clone)]
pub struct Exploration {
    /// Runs that finished.
    pub explored: u64,
    /// The lowest seed whose run failed, with that run.
    pub failure: Option<(u64, SeededRun)>,
}

/// The description table and named eventfds a run's guests share.
struct Eventfds<'a> {
    descriptions: &'a DescriptionTable,
    preopens: &'a [(String, Descriptor)],
}

/// What every guest of a run is prepared with.
struct Prepare<'a> {
    eventfds: &'a Eventfds<'a>,
    engines: &'a Engines,
    loaded: &'a Loaded,
    graph: Option<&'a Arc<WaitGraph>>,
    inherit_stdio: bool,
    /// A seeded run's seed and clocks.
    seeded: Option<(u64, VirtualClocks)>,
}

/// The memory maps a run adds, at most: its guests' (`per_file`: each
/// distinct file's needs and copies; `at_once` runs of them at a time) in
/// `pool` or on demand, the engines' and the threads' (`workers` running
/// guests, and those a run may start besides). See the constants in
/// [`sizing`] for what was measured.
fn maps_needed(
    per_file: &[(Needs, u32)],
    pool: Option<PoolSlots>,
    at_once: u64,
    workers: u64,
) -> u64 {
    use sizing::*;
    let memories: u64 = per_file
        .iter()
        .map(|(one, copies)| u64::from(one.memories) * u64::from(*copies))
        .sum::<u64>()
        .saturating_mul(at_once);
    let guests: u64 = per_file
        .iter()
        .map(|(_, copies)| u64::from(*copies))
        .sum::<u64>()
        .saturating_mul(at_once);
    let for_guests = match pool {
        // Every stack slot is mapped when the pool is made; memories as
        // they are used, up to the pool's.
        Some(slots) => (u64::from(slots.guests) * MAPS_PER_POOL_STACK)
            .saturating_add(memories.min(u64::from(slots.needs.memories)) * MAPS_PER_MEMORY),
        None => memories
            .saturating_mul(MAPS_PER_MEMORY)
            .saturating_add(guests.saturating_mul(MAPS_PER_GUEST_ON_DEMAND)),
    };
    let files = per_file.len() as u64;
    for_guests
        .saturating_add(MAPS_FIXED)
        .saturating_add(files.saturating_mul(MAPS_PER_FILE))
        .saturating_add(
            workers
                .saturating_add(THREADS_BESIDES_WORKERS)
                .saturating_mul(MAPS_PER_THREAD),
        )
}

fn pool_needs(guests: &[GuestSpec], loaded: &Loaded) -> Result<Vec<(Needs, u32)>, LoadError> {
    let mut copies: Vec<(&std::path::Path, u32)> = Vec::new();
    for guest in guests {
        match copies.iter_mut().find(|(path, _)| *path == guest.path) {
            Some((_, count)) => *count = count.saturating_add(1),
            None => copies.push((&guest.path, 1)),
        }
    }
    copies
        .into_iter()
        .map(|(path, count)| {
            let one = loaded.peek(path, sizing::needs)?.unwrap_or(Needs::TYPICAL);
            Ok((one, count))
        })
        .collect()
}
