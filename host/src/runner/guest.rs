//! One guest: what it is given ([`GuestSpec`]) and its store's data.
//!
//! A guest gets nothing from the host unless its spec grants it, as with
//! `wasmtime run`: no environment variables, no directories, no network,
//! no stdin, and only the named eventfds it lists.

use std::path::{Path, PathBuf};

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::output::GuestOutput;
use super::seeded::{GuestRandom, VirtualClocks};
use crate::p1::EventfdP1Ctx;
use crate::{EventfdCtx, EventfdCtxView, EventfdView};

/// One guest to run, and what it may reach.
#[derive(Debug, Clone)]
pub struct GuestSpec {
    /// The component or core module file (binary or text).
    pub path: PathBuf,
    /// Its arguments, `argv[0]` included.
    pub args: Vec<String>,
    /// Its environment variables; none unless given.
    pub env: Vec<(String, String)>,
    /// Host directories it may open, each under the name it sees.
    pub dirs: Vec<DirGrant>,
    /// Whether it may use the host's network, TCP and UDP to any address
    /// (wasmtime's `-S inherit-network`); otherwise creating a socket is
    /// refused with `access-denied`.
    pub inherit_network: bool,
    /// Whether it may resolve host names (`-S allow-ip-name-lookup`).
    pub allow_ip_name_lookup: bool,
    /// TCP listeners it gets (`-S tcplisten=ADDR`), preopened for a core
    /// module as fds 3, 4, ... before its directories, as wasmtime's
    /// preview 1 numbered them. A component given any is refused.
    pub tcplisten: Vec<std::sync::Arc<std::net::TcpListener>>,
    /// Whether it reads the host's stdin; otherwise its stdin is empty.
    pub stdin: bool,
    /// The runner's named eventfds it may see: `None` for every one,
    /// otherwise only those named (capabilities, not a namespace).
    pub eventfds: Option<Vec<String>>,
}

/// A host directory a guest may open, and the name it sees it under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirGrant {
    /// The directory on the host.
    pub host: PathBuf,
    /// Its name in the guest.
    pub guest: String,
}

impl GuestSpec {
    /// A guest whose `argv[0]` is its file's base name (as in `wasmtime
    /// run`: no path leaks into the guest), followed by `args`; it gets
    /// every named eventfd of the runner and nothing else.
    pub fn new(path: impl Into<PathBuf>, args: impl IntoIterator<Item = String>) -> Self {
        let path = path.into();
        let argv0 = base_name(&path);
        GuestSpec {
            path,
            args: std::iter::once(argv0).chain(args).collect(),
            env: Vec::new(),
            dirs: Vec::new(),
            inherit_network: false,
            allow_ip_name_lookup: false,
            tcplisten: Vec::new(),
            stdin: false,
            eventfds: None,
        }
    }

    /// The name used in messages: `argv[0]`.
    pub fn name(&self) -> &str {
        self.args.first().map(String::as_str).unwrap_or("guest")
    }

    /// The guest's WASI context, with what it was granted and `output` as
    /// its stdout and stderr (none: discarded). Fails when a granted
    /// directory cannot be opened.
    ///
    /// In a seeded run (`seeded`), the guest's clocks, random numbers and
    /// stdin are the run's (see the `seeded` module), its file operations
    /// run inline in scheduler order, and a grant of the network, which
    /// cannot be replayed, is refused.
    pub(super) fn wasi(
        &self,
        output: Option<&GuestOutput>,
        seeded: Option<SeededWasi>,
    ) -> Result<WasiCtxBuilder, String> {
        let mut builder = WasiCtx::builder();
        let is_seeded = seeded.is_some();
        if let Some(seeded) = seeded {
            if let Some(grant) = self.nondeterministic_grant() {
                return Err(format!(
                    "{grant} cannot be part of a seeded run: the network is outside the run \
                     and cannot be replayed"
                ));
            }
            let SeededWasi {
                clocks,
                random,
                stdin,
            } = seeded;
            builder
                .wall_clock(clocks)
                .monotonic_clock(clocks)
                .secure_random(random.secure)
                .insecure_random(random.insecure)
                .insecure_random_seed(random.insecure_seed)
                // Before `preopened_dir`, which copies it: files opened
                // under a granted directory are then read and written on
                // the scheduler's thread, in its order.
                .allow_blocking_current_thread(true);
            if self.stdin {
                builder.stdin(wasmtime_wasi::p2::pipe::MemoryInputPipe::new(stdin));
            }
        }
        if let Some(output) = output {
            builder.stdout(output.stdout()).stderr(output.stderr());
            if self.stdin && !is_seeded {
                builder.inherit_stdin();
            }
        }
        builder.args(&self.args).envs(&self.env);
        for dir in &self.dirs {
            builder
                .preopened_dir(&dir.host, &dir.guest, FsPerms::ReadWrite)
                .map_err(|e| format!("cannot open directory `{}`: {e}", dir.host.display()))?;
        }
        // As `wasmtime run` 48: the network, TCP and UDP with it, only when
        // granted; without it, creating a socket is `access-denied`.
        if self.inherit_network {
            builder.inherit_network().allow_tcp(true).allow_udp(true);
        }
        builder.allow_ip_name_lookup(self.allow_ip_name_lookup);
        Ok(builder)
    }
}

impl GuestSpec {
    /// The guest's own sockets of its granted listeners (each a host fd
    /// of its own on the one listening socket), for its fd table.
    pub(super) fn listeners(
        &self,
    ) -> Result<Vec<std::sync::Arc<crate::kernel::socket::Socket>>, String> {
        self.tcplisten
            .iter()
            .map(|listener| {
                let own = listener
                    .try_clone()
                    .map_err(|e| format!("cannot share a listener: {e}"))?;
                crate::kernel::socket::Socket::listener(own)
                    .map_err(|e| format!("cannot set up a listener: {e}"))
            })
            .collect()
    }
}

/// What a guest of a seeded run gets from the run instead of the host.
pub(super) struct SeededWasi {
    pub(super) clocks: VirtualClocks,
    pub(super) random: GuestRandom,
    /// The bytes of the host's stdin, read before the run (for the guest
    /// granted stdin).
    pub(super) stdin: bytes::Bytes,
}

impl GuestSpec {
    /// The grant of this guest that a seeded run cannot replay, named as
    /// the command line spells it.
    pub fn nondeterministic_grant(&self) -> Option<&'static str> {
        if !self.tcplisten.is_empty() {
            Some("`-S tcplisten`")
        } else if self.inherit_network {
            Some("`-S inherit-network`")
        } else if self.allow_ip_name_lookup {
            Some("`-S allow-ip-name-lookup`")
        } else {
            None
        }
    }
}

/// How messages name each of `guests`, in order: `` `NAME` `` (its
/// [`GuestSpec::name`], `argv[0]`) when no other guest of the run has the
/// same name, otherwise `` #N (`NAME`) ``, N being its position in the run
/// (1 for the first: the main guest, then the `--with` guests or the run
/// file's guests, copies included, in order). So two copies of one file
/// are told apart: `guest #2 (`waiter.wasm`) timed out`.
pub fn guest_labels(guests: &[GuestSpec]) -> Vec<String> {
    let mut copies: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for guest in guests {
        *copies.entry(guest.name()).or_default() += 1;
    }
    guests
        .iter()
        .enumerate()
        .map(|(index, guest)| {
            let name = guest.name();
            let shown = shortened(name, MAX_QUOTED_CHARS);
            match copies.get(name) {
                Some(1) => format!("`{shown}`"),
                _ => format!("#{} (`{shown}`)", index + 1),
            }
        })
        .collect()
}

/// How many characters of user text (a guest's name, a path, a line of a
/// run file) a message quotes; longer text is cut with `…`, so that one
/// message stays bounded whatever the input.
pub const MAX_QUOTED_CHARS: usize = 120;

/// The first `max` characters of `text` (then `…` if there were more),
/// control characters but tabs escaped as Rust escapes them (`\n`,
/// `\u{1b}`), so that a message stays on its line.
pub fn shortened(text: &str, max: usize) -> String {
    let mut shown = String::new();
    for (count, c) in text.chars().enumerate() {
        if count == max {
            shown.push('…');
            break;
        }
        if c.is_control() && c != '\t' {
            shown.extend(c.escape_default());
        } else {
            shown.push(c);
        }
    }
    shown
}

/// A file's base name, or the whole path when it has none.
fn base_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// The store data of one component guest.
pub struct GuestState {
    /// `None` once released ([`StoreData::release`]).
    pub(super) wasi: Option<WasiCtx>,
    pub(super) eventfd: EventfdCtx,
    pub(super) table: ResourceTable,
    pub(super) limits: GuestLimits,
}

impl WasiView for GuestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            // Released only once the guest has ended, when it makes no
            // more calls: a context granting nothing would stand in.
            ctx: self.wasi.get_or_insert_with(|| WasiCtx::builder().build()),
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

/// The store data of one core-module guest: WASI preview 1 and the
/// integer-fd eventfd ABI ([`crate::abi`]) on one fd table
/// ([`EventfdP1Ctx`]; integer fds need no resource table).
pub struct CoreGuestState {
    /// `None` once released ([`StoreData::release`]).
    pub(super) p1: Option<EventfdP1Ctx>,
    pub(super) limits: GuestLimits,
}

impl CoreGuestState {
    /// The guest's one fd table and its contexts.
    pub(super) fn p1(&mut self) -> &mut EventfdP1Ctx {
        // Called on every host call: the rare path (and its large stack
        // frame) is out of line.
        match &mut self.p1 {
            Some(p1) => p1,
            released => Self::stand_in(released),
        }
    }

    /// Released only once the guest has ended, when it makes no more
    /// calls: contexts granting nothing stand in.
    #[cold]
    #[inline(never)]
    fn stand_in(released: &mut Option<EventfdP1Ctx>) -> &mut EventfdP1Ctx {
        let eventfd = EventfdCtx::builder(&crate::DescriptionTable::new()).build();
        released.insert(EventfdP1Ctx::new(WasiCtx::builder().build_p1(), eventfd))
    }
}

/// What the runner needs of a guest's store data, whatever its kind.
pub(super) trait StoreData: Send + 'static {
    /// The guest's memory limits.
    fn limits(&mut self) -> &mut GuestLimits;

    /// Drops everything of the guest that others share or that the host
    /// counts, once it has ended and before its store goes to the reaper
    /// (which may keep it a while): its eventfd descriptors (so that their
    /// descriptions, and `--max-descriptions`, are free at once, however
    /// busy the reaper is), its place in the wait graph, its open files,
    /// sockets and directories, its stdio. What is left is its memories.
    fn release(&mut self);
}

impl StoreData for GuestState {
    fn limits(&mut self) -> &mut GuestLimits {
        &mut self.limits
    }

    fn release(&mut self) {
        // The resource table holds the guest's eventfd descriptors, files,
        // sockets and pollables; the contexts hold its preopens. The WASI
        // context is dropped, not replaced: a new one (the random number
        // generators it seeds, its default streams) was a tenth of the
        // instructions of waking and ending a guest.
        drop(std::mem::replace(&mut self.table, ResourceTable::new()));
        let empty = EventfdCtx::builder(self.eventfd.table()).build();
        drop(std::mem::replace(&mut self.eventfd, empty));
        drop(self.wasi.take());
    }
}

impl StoreData for CoreGuestState {
    fn limits(&mut self) -> &mut GuestLimits {
        &mut self.limits
    }

    fn release(&mut self) {
        // The one fd table holds the guest's eventfd descriptors and its
        // files; the contexts its preopens, sockets and stdio. Dropped,
        // not replaced (see `GuestState`'s).
        drop(self.p1.take());
    }
}

/// Bounds what one guest may allocate: its linear memories and its tables
/// together, in bytes, and each table to
/// [`MAX_TABLE_ELEMENTS`](Self::MAX_TABLE_ELEMENTS) elements. (wasmtime's `StoreLimits` bounds each memory and
/// each table on its own, so a guest with several, or with a huge table,
/// could take many times the limit.)
#[derive(Debug)]
pub struct GuestLimits {
    max_bytes: usize,
    /// Bytes of memories and tables the guest holds now.
    used: usize,
}

impl GuestLimits {
    /// What one table element is counted as: a pointer-sized reference.
    const TABLE_ELEMENT_BYTES: usize = std::mem::size_of::<usize>();

    /// The most elements one table may hold, whatever the memory limit:
    /// wasmtime's pooling allocator reserves address space for every table
    /// slot at this size (8 MiB each), so a run with the pool and one
    /// without stop a growing table at the same point. Real programs' tables
    /// hold thousands of functions.
    pub const MAX_TABLE_ELEMENTS: usize = 1 << 20;

    /// The most bytes one linear memory can reach: 4 GiB, as only 32-bit
    /// memories are enabled (memory64 is off in wasmtime by default).
    pub(super) const MAX_MEMORY_BYTES: usize = 1 << 32;

    pub(super) fn new(max_bytes: usize) -> Self {
        GuestLimits { max_bytes, used: 0 }
    }

    /// Bytes of memories and tables the guest holds now (tables counted
    /// as above).
    pub(super) fn bytes(&self) -> usize {
        self.used
    }

    /// Whether growing something that holds `current` bytes to `desired`
    /// keeps the guest within its bound; if so, it is counted.
    fn grow(&mut self, current: usize, desired: usize) -> bool {
        let after = self.used.saturating_sub(current).saturating_add(desired);
        if after > self.max_bytes {
            return false;
        }
        self.used = after;
        true
    }
}

impl wasmtime::ResourceLimiter for GuestLimits {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(self.grow(current, desired))
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > Self::MAX_TABLE_ELEMENTS {
            return Ok(false);
        }
        let bytes = |elements: usize| elements.saturating_mul(Self::TABLE_ELEMENT_BYTES);
        Ok(self.grow(bytes(current), bytes(desired)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(path: &str) -> GuestSpec {
        GuestSpec::new(path, [])
    }

    #[test]
    fn labels_name_copies_by_position_and_others_by_name() {
        let guests = [
            spec("a/waiter.wasm"),
            spec("pong.wat"),
            spec("b/waiter.wasm"),
            spec("waiter.wasm"),
        ];
        assert_eq!(
            guest_labels(&guests),
            [
                "#1 (`waiter.wasm`)",
                "`pong.wat`",
                "#3 (`waiter.wasm`)",
                "#4 (`waiter.wasm`)"
            ]
        );
    }

    #[test]
    fn release_drops_the_wasi_context_and_a_stand_in_answers_a_late_call() {
        let descriptions = crate::DescriptionTable::new();
        let output = GuestOutput::new();
        let wasi = spec("guest.wasm")
            .wasi(Some(&output), None)
            .expect("nothing to open")
            .build();
        let mut state = GuestState {
            wasi: Some(wasi),
            eventfd: EventfdCtx::builder(&descriptions).build(),
            table: ResourceTable::new(),
            limits: GuestLimits::new(1 << 20),
        };
        // The context's stdout and the guest's buffers.
        assert_eq!(output.stdout_holders(), 2);
        state.release();
        assert!(state.wasi.is_none());
        assert_eq!(output.stdout_holders(), 1);
        // Nothing calls after release; were something to, a context
        // granting nothing answers (no panic).
        let _ = state.ctx();
        assert!(state.wasi.is_some());
        assert_eq!(output.stdout_holders(), 1);

        let mut core = CoreGuestState {
            p1: Some(EventfdP1Ctx::new(
                spec("core.wasm")
                    .wasi(Some(&output), None)
                    .expect("nothing to open")
                    .build_p1(),
                EventfdCtx::builder(&descriptions).build(),
            )),
            limits: GuestLimits::new(1 << 20),
        };
        // Preview 1 holds it twice (its fd table opens stdout at once).
        assert!(output.stdout_holders() > 1);
        core.release();
        assert!(core.p1.is_none());
        assert_eq!(output.stdout_holders(), 1);
        let _ = core.p1();
        assert!(core.p1.is_some());
    }

    #[test]
    fn a_table_past_its_element_bound_is_refused_within_the_memory_limit() {
        use wasmtime::ResourceLimiter as _;
        let mut limits = GuestLimits::new(usize::MAX);
        let max = GuestLimits::MAX_TABLE_ELEMENTS;
        assert!(limits.table_growing(0, max, None).unwrap());
        assert!(!limits.table_growing(max, max + 1, None).unwrap());
        assert_eq!(limits.bytes(), max * GuestLimits::TABLE_ELEMENT_BYTES);
    }
}
