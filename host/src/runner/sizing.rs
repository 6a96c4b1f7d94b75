//! What one instance of a guest takes from wasmtime's pooling allocator:
//! linear memories, tables and core instances, read from the guest's
//! binary before anything is compiled, so that the pool can be sized to the
//! run's guests (a Python component, say, may hold several memories); and
//! what a run takes of the process's memory maps, so that a run the
//! kernel's `vm.max_map_count` cannot hold is refused before it starts.

use std::ops::AddAssign;

use wasmparser::{Encoding, Instance, Parser, Payload};

/// Slots one instance of a guest needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Needs {
    pub(super) memories: u32,
    pub(super) tables: u32,
    pub(super) core_instances: u32,
}

impl Needs {
    /// What a guest whose binary cannot be read is assumed to need (it
    /// will fail to load anyway): a WASI 0.2 component from Rust is a
    /// handful of core instances and tables around one memory.
    pub(super) const TYPICAL: Needs = Needs {
        memories: 1,
        tables: 8,
        core_instances: 16,
    };

    /// `count` instances' worth.
    pub(super) fn times(self, count: u32) -> Needs {
        Needs {
            memories: self.memories.saturating_mul(count),
            tables: self.tables.saturating_mul(count),
            core_instances: self.core_instances.saturating_mul(count),
        }
    }

    /// The larger of each.
    pub(super) fn max(self, other: Needs) -> Needs {
        Needs {
            memories: self.memories.max(other.memories),
            tables: self.tables.max(other.tables),
            core_instances: self.core_instances.max(other.core_instances),
        }
    }
}

impl AddAssign for Needs {
    fn add_assign(&mut self, other: Needs) {
        self.memories = self.memories.saturating_add(other.memories);
        self.tables = self.tables.saturating_add(other.tables);
        self.core_instances = self.core_instances.saturating_add(other.core_instances);
    }
}

/// Memory maps (the kernel's VMAs, lines of `/proc/self/maps`) taken by
/// each linear memory in use: its accessible part and the rest of its
/// reservation, which the accessible part splits (measured with `op.wasm`
/// components and `bench_scale_wait.wat` core modules: 4 maps a guest in
/// the pool, memory and stack, at 256 and 1 256 guests).
pub(super) const MAPS_PER_MEMORY: u64 = 2;

/// Maps taken by each fiber stack of the pool, used or not: the stack and
/// its guard page (wasmtime protects every slot's guard when it makes the
/// pool: `--pool 2000` took 4 000 maps before 1 256 guests used any).
pub(super) const MAPS_PER_POOL_STACK: u64 = 2;

/// Maps taken by a guest allocated on demand, besides its memories' (its
/// fiber stack and guard page, its instance's tables and the component's
/// own allocations): measured 7 a component and 6 a core module, each with
/// one memory, at 100 and 200 guests; the larger is assumed for both.
pub(super) const MAPS_PER_GUEST_ON_DEMAND: u64 = 5;

/// Maps taken by one thread: its stack and guard page, the standard
/// library's signal stack and guard page, and wasmtime's signal stack and
/// guard page (on a thread that runs WebAssembly). A thread that cannot
/// map its signal stack panics (the standard library's "failed to set up
/// alternative stack guard page", wasmtime's "failed to allocate memory for
/// sigaltstack"), so threads are counted before the guests.
pub(super) const MAPS_PER_THREAD: u64 = 6;

/// Threads a run may start besides the runtime's workers: tokio's blocking
/// pool (512 at most, its default: files, stdin) and the runner's own
/// (epoch ticker, reaper, the two output writers), with a margin.
pub(super) const THREADS_BESIDES_WORKERS: u64 = 512 + 8;

/// Maps taken by the engines and by each distinct guest file (compiled
/// code and its images), with a margin: the run's fixed part.
pub(super) const MAPS_FIXED: u64 = 256;
pub(super) const MAPS_PER_FILE: u64 = 8;

/// Where the kernel keeps the per-process limit on memory maps.
pub(super) const MAX_MAP_COUNT_PATH: &str = "/proc/sys/vm/max_map_count";

/// A run's memory maps against the kernel's limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct MapBudget {
    /// `vm.max_map_count`.
    pub(super) limit: u64,
    /// Maps the process holds now (lines of `/proc/self/maps`).
    pub(super) held: u64,
    /// Maps the run will add, at most (an estimate from the constants
    /// above).
    pub(super) needed: u64,
}

impl MapBudget {
    /// The kernel's limit and the maps this process holds, read from
    /// `/proc`, with `needed` more; `None` where `/proc` does not tell
    /// (not Linux): nothing is checked then.
    pub(super) fn now(needed: u64) -> Option<MapBudget> {
        let limit = std::fs::read_to_string(MAX_MAP_COUNT_PATH)
            .ok()?
            .trim()
            .parse()
            .ok()?;
        let maps = std::fs::read("/proc/self/maps").ok()?;
        let held = maps.iter().filter(|&&b| b == b'\n').count() as u64;
        Some(MapBudget {
            limit,
            held,
            needed,
        })
    }

    /// Whether the run fits: `Err` with one bounded message naming
    /// `vm.max_map_count`, the numbers and how to raise the limit. `run`
    /// says what the run is ("3 guests", "1 guest in a pool of 10 slots").
    pub(super) fn check(self, run: &str) -> Result<(), String> {
        let MapBudget {
            limit,
            held,
            needed,
        } = self;
        let total = held.saturating_add(needed);
        if total <= limit {
            return Ok(());
        }
        // A round figure above what is needed, with room for as many again.
        let raise_to = total
            .saturating_mul(2)
            .checked_next_power_of_two()
            .unwrap_or(u64::MAX);
        Err(format!(
            "this run of {run} needs about {needed} memory maps (this process holds {held} \
             already), more than the kernel's per-process limit vm.max_map_count = {limit}; \
             run fewer guests at once, or raise the limit, as root: \
             `sysctl -w vm.max_map_count={raise_to}`"
        ))
    }
}

/// One module or component being read, innermost last.
enum Scope {
    Module(Needs),
    Component {
        /// The needs of the modules defined here, by module index.
        modules: Vec<Needs>,
        /// What instantiating this component takes.
        total: Needs,
    },
}

/// What one instance of the guest in `bytes` (binary WebAssembly) needs,
/// or `None` if it cannot be read. A core module needs its own memories
/// and tables; a component, those of every module it instantiates, once
/// per instantiation (nested components counted once each).
pub(super) fn needs(bytes: &[u8]) -> Option<Needs> {
    let mut stack: Vec<Scope> = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.ok()? {
            Payload::Version { encoding, .. } => stack.push(match encoding {
                Encoding::Module => Scope::Module(Needs {
                    core_instances: 1,
                    ..Needs::default()
                }),
                Encoding::Component => Scope::Component {
                    modules: Vec::new(),
                    total: Needs::default(),
                },
            }),
            Payload::MemorySection(memories) => {
                if let Some(Scope::Module(needs)) = stack.last_mut() {
                    needs.memories = needs.memories.saturating_add(memories.count());
                }
            }
            Payload::TableSection(tables) => {
                if let Some(Scope::Module(needs)) = stack.last_mut() {
                    needs.tables = needs.tables.saturating_add(tables.count());
                }
            }
            Payload::InstanceSection(instances) => {
                let Some(Scope::Component { modules, total }) = stack.last_mut() else {
                    continue;
                };
                for instance in instances {
                    if let Instance::Instantiate { module_index, .. } = instance.ok()? {
                        // A module index beyond those defined here is an
                        // imported or aliased module: assume the largest.
                        let module =
                            modules
                                .get(module_index as usize)
                                .copied()
                                .unwrap_or_else(|| {
                                    modules.iter().fold(Needs::default(), |a, &m| a.max(m))
                                });
                        *total += module;
                    }
                }
            }
            Payload::End(_) => {
                let (finished, is_module) = match stack.pop()? {
                    Scope::Module(needs) => (needs, true),
                    Scope::Component { total, .. } => (total, false),
                };
                match stack.last_mut() {
                    None => return Some(finished),
                    // A module joins the module index space, and counts
                    // when instantiated; a nested component is taken as
                    // instantiated once.
                    Some(Scope::Component { modules, .. }) if is_module => modules.push(finished),
                    Some(Scope::Component { total, .. }) => *total += finished,
                    Some(Scope::Module(_)) => return None,
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn needs_of(wat: &str) -> Option<Needs> {
        needs(&wat::parse_str(wat).expect("valid text"))
    }

    #[test]
    fn a_module_needs_its_own_memories_and_tables() {
        let needs = needs_of("(module (memory 1) (memory 2) (table 1 funcref))");
        assert_eq!(
            needs,
            Some(Needs {
                memories: 2,
                tables: 1,
                core_instances: 1
            })
        );
    }

    #[test]
    fn a_component_needs_each_instantiation_of_its_modules() {
        let needs = needs_of(
            r#"(component
                 (core module $two (memory 1) (memory 1))
                 (core module $table (table 1 funcref))
                 (core instance (instantiate $two))
                 (core instance (instantiate $two))
                 (core instance (instantiate $table))
                 (component (core module $inner (memory 1)) (core instance (instantiate $inner))))"#,
        );
        assert_eq!(
            needs,
            Some(Needs {
                memories: 5,
                tables: 1,
                core_instances: 4
            })
        );
    }

    #[test]
    fn a_run_within_the_map_limit_passes_and_one_beyond_is_refused_by_name() {
        let fits = MapBudget {
            limit: 65_530,
            held: 100,
            needed: 65_430,
        };
        assert_eq!(fits.check("16000 guests"), Ok(()));
        let beyond = MapBudget {
            needed: 65_431,
            ..fits
        };
        let message = beyond.check("16000 guests").expect_err("one map too many");
        assert_eq!(
            message,
            "this run of 16000 guests needs about 65431 memory maps (this process holds 100 \
             already), more than the kernel's per-process limit vm.max_map_count = 65530; run fewer \
             guests at once, or raise the limit, as root: `sysctl -w vm.max_map_count=131072`"
        );
    }

    #[test]
    fn the_map_budget_reads_this_process_and_the_kernel() {
        let budget = MapBudget::now(7).expect("Linux has /proc");
        let limit: u64 = std::fs::read_to_string(MAX_MAP_COUNT_PATH)
            .expect("readable")
            .trim()
            .parse()
            .expect("a number");
        assert_eq!(budget.limit, limit);
        // The test binary maps itself, its libraries, heap and stacks.
        assert!(budget.held > 10 && budget.held < limit, "{budget:?}");
        assert_eq!(budget.needed, 7);
    }

    #[test]
    fn bytes_that_are_not_webassembly_need_nothing_known() {
        assert_eq!(needs(b"not wasm"), None);
    }
}
