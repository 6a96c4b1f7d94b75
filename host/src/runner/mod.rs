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
mod sizing;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::WasiCtxBuilder;

use self::deadlock::WaitGraph;
use self::engines::{Engines, PoolSlots, AUTO_POOL_MIN_GUESTS};
use self::load::Loaded;
use self::output::GuestOutput;
use self::schedule::{Deadline, Ready, Reaper, Shared, Ticker, Turns};
use self::sizing::Needs;
use crate::{CreateFlags, DescriptionTable, Descriptor, EventfdCtx};

pub use self::deadlock::{StuckGuest, MAX_WAITS_LISTED};
pub use self::guest::{
    guest_labels, shortened, CoreGuestState, DirGrant, GuestLimits, GuestSpec, GuestState,
    MAX_QUOTED_CHARS,
};
pub use self::load::{LoadError, LoadedGuest};
pub use self::outcome::Outcome;

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
        }
    }
}

/// Runs guests that share one description table and a set of named eventfds.
pub struct Runner {
    options: RunOptions,
    descriptions: DescriptionTable,
    preopens: Vec<(String, Descriptor)>,
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
        Ok(for_host)
    }

    /// Loads every guest, then runs them all concurrently and returns how
    /// each ended, in the order given. Nothing runs if any fails to load,
    /// names an eventfd the runner does not have, or is granted a
    /// directory that cannot be opened.
    pub async fn run(&self, guests: &[GuestSpec]) -> Result<Vec<Outcome>, LoadError> {
        let engines = self.engines(guests)?;
        let (engines, loaded) = &*engines;
        let graph = self
            .options
            .detect_deadlocks
            .then(|| Arc::new(WaitGraph::default()));
        if let Some(graph) = &graph {
            for (name, descriptor) in &self.preopens {
                graph.name_description(descriptor.info().id, name);
            }
        }
        // Everything is set up before any guest starts, so that a guest
        // still starting counts as running in the wait graph.
        let labels = guest_labels(guests);
        let ready = guests
            .iter()
            .zip(&labels)
            .enumerate()
            .map(|(index, (guest, label))| {
                self.prepare(index, guest, label, engines, loaded, graph.as_ref())
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
            turns,
            deadline,
        };
        let tasks = ready
            .into_iter()
            .map(|(state, output, span)| schedule::spawn(state, output, shared.clone(), span))
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

    /// One guest ready to start: its loaded code, its store's data (what it
    /// is granted, its eventfds, its place in the wait graph), its output
    /// buffers and its span. `label` names it in messages
    /// ([`guest_labels`]).
    fn prepare(
        &self,
        index: usize,
        guest: &GuestSpec,
        label: &str,
        engines: &Engines,
        loaded: &Loaded,
        graph: Option<&Arc<WaitGraph>>,
    ) -> Result<(Ready, Option<GuestOutput>, tracing::Span), LoadError> {
        let mut eventfd = self.eventfd_ctx(guest, label)?;
        if let Some(graph) = graph {
            eventfd.park_observer = Some(graph.join(index as u64, label));
        }
        let output = self.options.inherit_stdio.then(GuestOutput::new);
        let mut wasi = guest
            .wasi(output.as_ref())
            .map_err(|e| LoadError(format!("guest {label}: {e}")))?;
        let limits = self.store_limits();
        let component = |mut wasi: WasiCtxBuilder, eventfd, limits| GuestState {
            wasi: wasi.build(),
            eventfd,
            table: ResourceTable::new(),
            limits,
        };
        let ready = match loaded.load(engines, &guest.path)? {
            LoadedGuest::Component(pre) => Ready::Component(pre, component(wasi, eventfd, limits)),
            LoadedGuest::AsyncComponent(pre) => {
                Ready::AsyncComponent(pre, component(wasi, eventfd, limits))
            }
            LoadedGuest::Module(pre) => Ready::Module(
                pre,
                CoreGuestState {
                    p1: crate::p1::EventfdP1Ctx::new(wasi.build_p1(), eventfd),
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

    /// The engines, made now for a run of `guests` if not made yet.
    fn engines(&self, guests: &[GuestSpec]) -> Result<Arc<(Engines, Loaded)>, LoadError> {
        let mut engines = self
            .engines
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(engines) = &*engines {
            return Ok(Arc::clone(engines));
        }
        let loaded = Loaded::default();
        let pool = match self.options.pool {
            Pool::OnDemand => None,
            Pool::Auto if guests.len() < AUTO_POOL_MIN_GUESTS => None,
            Pool::Auto => {
                let count = u32::try_from(guests.len()).unwrap_or(u32::MAX);
                let mut needs = Needs::default();
                for (one, copies) in pool_needs(guests, &loaded)? {
                    needs += one.times(copies);
                }
                Some(PoolSlots {
                    guests: count,
                    needs,
                })
            }
            Pool::Slots(slots) => {
                // Any `slots` of this run's guests at once.
                let largest = pool_needs(guests, &loaded)?
                    .into_iter()
                    .fold(Needs::default(), |largest, (one, _)| largest.max(one));
                Some(PoolSlots {
                    guests: slots,
                    needs: largest.times(slots),
                })
            }
        };
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
    fn eventfd_ctx(&self, guest: &GuestSpec, label: &str) -> Result<EventfdCtx, LoadError> {
        // Sets, not scans of lists: a run file may grant a guest tens of
        // thousands of eventfds.
        let granted: Option<HashSet<&str>> = guest
            .eventfds
            .as_ref()
            .map(|names| names.iter().map(String::as_str).collect());
        if let Some(names) = &guest.eventfds {
            let have: HashSet<&str> = self.preopens.iter().map(|(n, _)| n.as_str()).collect();
            if let Some(unknown) = names.iter().find(|name| !have.contains(name.as_str())) {
                return Err(LoadError(format!(
                    "guest {label} is granted eventfd `{}`, which the run does not have",
                    shortened(unknown, MAX_QUOTED_CHARS)
                )));
            }
        }
        Ok(self
            .preopens
            .iter()
            .filter(|(name, _)| granted.as_ref().is_none_or(|g| g.contains(name.as_str())))
            .fold(
                EventfdCtx::builder(&self.descriptions),
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
