//! The engines and linkers guests run on.

use wasmtime::component::{Linker, Resource};
use wasmtime::{Config, Engine, StoreContextMut};
use wasmtime_wasi::p2::DynPollable;

use super::guest::{CoreGuestState, GuestLimits, GuestState};
use super::sizing::Needs;
use super::RunOptions;

/// From this many guests in one run on, [`super::Pool::Auto`] reserves
/// wasmtime's pooling allocator for them. Each guest allocated on demand
/// takes several kernel memory maps (its memory, its stack, their guard
/// pages), and `vm.max_map_count` (65530 by default) runs out near 9 000
/// guests; below a few hundred, on-demand allocation is as fast and keeps
/// copy-on-write memory images, which start big guests (Python) faster.
pub(super) const AUTO_POOL_MIN_GUESTS: usize = 256;

/// Every engine and linker of a run.
pub(super) struct Engines {
    /// Runs WASI 0.2 components and core modules. Component-model
    /// concurrency is off in it: with it on, wasmtime keeps a host-task
    /// record for every host call, which would cost every eventfd call of
    /// the guests that never use it.
    pub(super) engine: Engine,
    pub(super) linker: Linker<GuestState>,
    pub(super) core_linker: wasmtime::Linker<CoreGuestState>,
    /// Runs components that use component-model async (WASI 0.3), with
    /// WASI 0.2 and 0.3 and both eventfd worlds.
    pub(super) concurrent_engine: Engine,
    pub(super) concurrent_linker: Linker<GuestState>,
}

impl Engines {
    /// Engines for `options`; `pool` is what the pooling allocator has
    /// slots for (`None`: allocate on demand).
    pub(super) fn new(options: &RunOptions, pool: Option<PoolSlots>) -> wasmtime::Result<Self> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        if options.seeded.is_some() {
            // A seeded run's guests give way on fuel, which counts
            // instructions the same on every machine (epochs count the
            // wall clock); and compute alike everywhere: NaN payloads and
            // relaxed SIMD would otherwise follow the host's CPU (as
            // wasmtime's own record and replay requires).
            config.consume_fuel(true);
            config.cranelift_nan_canonicalization(true);
            config.relaxed_simd_deterministic(true);
        } else {
            config.epoch_interruption(true);
        }
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
        if let Some(slots) = pool {
            tracing::debug!(?slots, "pooling allocator");
            pooling(&mut config, slots, options.max_memory);
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
        if options.seeded.is_some() {
            // File streams read and written on the scheduler's thread,
            // where wasmtime-wasi's use tokio's blocking threads.
            super::seeded_files::add_to_linker(&mut linker)?;
            super::seeded_files::add_to_linker(&mut concurrent_linker)?;
        }

        let mut core_linker = wasmtime::Linker::new(&engine);
        crate::p1::add_to_linker_async(&mut core_linker, CoreGuestState::p1)?;
        Ok(Engines {
            engine,
            linker,
            core_linker,
            concurrent_engine,
            concurrent_linker,
        })
    }

    /// Both engines, for the epoch ticker.
    pub(super) fn both(&self) -> [Engine; 2] {
        [self.engine.clone(), self.concurrent_engine.clone()]
    }
}

/// Wraps `wasi:io/poll`'s `poll` and `pollable.block` to tell the wait
/// graph how many pollables the guest waits on: only when all of them are
/// eventfd pollables (which report themselves) can the guest be stuck.
/// wasmtime waits once on a pollable listed several times, so the distinct
/// ones are counted: `poll([&p, &p])` waits on one.
fn watch_polls(linker: &mut Linker<GuestState>) -> wasmtime::Result<()> {
    use wasmtime_wasi::p2::bindings::io::poll::{Host, HostPollable};
    linker.allow_shadowing(true);
    let mut poll = linker.instance("wasi:io/poll@0.2.12")?;
    poll.func_wrap_async(
        "poll",
        |mut store: StoreContextMut<'_, GuestState>,
         (pollables,): (Vec<Resource<DynPollable>>,)| {
            Box::new(async move {
                let waits = store.data().eventfd.park_observer.clone();
                if let Some(waits) = &waits {
                    let mut reps: Vec<u32> = pollables.iter().map(Resource::rep).collect();
                    reps.sort_unstable();
                    reps.dedup();
                    waits.entered_poll(reps.len());
                }
                let ready = Host::poll(&mut store.data_mut().table, pollables).await;
                waits.iter().for_each(|w| w.left_poll());
                Ok((ready?,))
            })
        },
    )?;
    poll.func_wrap_async(
        "[method]pollable.block",
        |mut store: StoreContextMut<'_, GuestState>, (pollable,): (Resource<DynPollable>,)| {
            Box::new(async move {
                let waits = store.data().eventfd.park_observer.clone();
                waits.iter().for_each(|w| w.entered_poll(1));
                let done = HostPollable::block(&mut store.data_mut().table, pollable).await;
                waits.iter().for_each(|w| w.left_poll());
                done
            })
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

/// What the pooling allocator reserves slots for: guests at once, and the
/// memories, tables and core instances they take together.
#[derive(Debug, Clone, Copy)]
pub(super) struct PoolSlots {
    pub(super) guests: u32,
    pub(super) needs: Needs,
}

/// Sets `config` up for wasmtime's pooling allocator with `slots`, each
/// memory of up to `max_memory` bytes (at most 4 GiB, as far as a memory can
/// grow: a larger slot than the 4 GiB reservation is refused by wasmtime,
/// while without the pool `--max-memory 8192` is simply never reached),
/// each table of up to [`GuestLimits::MAX_TABLE_ELEMENTS`] (as without the
/// pool).
///
/// The memory slots are one contiguous reservation of `memories` ×
/// (reservation + guard): wasmtime's default, 4 GiB + 32 MiB on 64-bit
/// hosts, which lets compiled code leave out bounds checks. Past
/// [`MEMORY_POOL_BUDGET`] (about 16 000 memories) that reservation is
/// refused by the kernel (100 000 guests asked for 393.7 TiB of a 128 TiB
/// user address space), so each slot is then the smaller of `max_memory`
/// and the budget's share, after a guard of [`SMALL_GUARD`]: code checks
/// bounds explicitly, and a guest's memory can grow only as far as its
/// slot (with 100 000 guests, 671 MiB: `memory.grow` fails beyond, as
/// beyond `--max-memory`).
fn pooling(config: &mut Config, slots: PoolSlots, max_memory: usize) {
    let PoolSlots { guests, needs } = slots;
    let memories = u64::from(needs.memories.max(1));
    let mut max_memory = max_memory.min(GuestLimits::MAX_MEMORY_BYTES);
    if let Some(slot) = small_memory_slot(memories, max_memory as u64) {
        tracing::info!(
            memories,
            slot,
            "memory pool too large for the address space at wasmtime's default reservation: \
             smaller slots, explicit bounds checks"
        );
        config.memory_reservation(slot);
        config.memory_guard_size(SMALL_GUARD);
        max_memory = max_memory.min(usize::try_from(slot).unwrap_or(usize::MAX));
    }
    let mut pool = wasmtime::PoolingAllocationConfig::new();
    // Instances are only counted; a table slot is a small reservation; a
    // memory slot is an address-space reservation (about 4 GiB), so those
    // are exactly what the guests need.
    pool.total_component_instances(guests)
        .total_core_instances(needs.core_instances.max(guests))
        .total_memories(needs.memories.max(1))
        .total_tables(needs.tables.max(1))
        .total_stacks(guests)
        .max_memory_size(max_memory)
        .table_elements(GuestLimits::MAX_TABLE_ELEMENTS)
        // Every slot may stay warm: reusing one costs no system call.
        .max_unused_warm_slots(guests);
    config.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool));
    // Copy-on-write memory images map and unmap every instance's memory:
    // two `mmap`s per guest, each a TLB shoot-down on every core. Copying
    // the (small) data segments instead made waking and ending 10 000
    // guests about a third faster (the benchmark's scale row).
    config.memory_init_cow(false);
}

/// The most address space the memory pool reserves: half of x86-64's
/// 128 TiB user address space (47 bits), which must also hold the tables'
/// and stacks' pools, the heap and the binary, and which the binary, mapped
/// near 85 TiB, splits in two.
pub(super) const MEMORY_POOL_BUDGET: u64 = 64 << 40;

/// wasmtime 48's default memory slot on 64-bit hosts: a 4 GiB reservation
/// and a 32 MiB guard (`Config::memory_reservation`,
/// `Config::memory_guard_size`).
const DEFAULT_MEMORY_SLOT: u64 = (4 << 30) + (32 << 20);

/// The guard after each smaller slot: one WebAssembly page, for the offsets
/// of loads and stores past a bounds check.
const SMALL_GUARD: u64 = 64 << 10;

/// The memory reservation, in bytes, of each of `memories` pool slots when
/// wasmtime's default ones would not fit [`MEMORY_POOL_BUDGET`]: the
/// smaller of `max_memory` and the budget's share (after [`SMALL_GUARD`]),
/// in whole 64 KiB WebAssembly pages; `None` when the default fits.
fn small_memory_slot(memories: u64, max_memory: u64) -> Option<u64> {
    if memories.saturating_mul(DEFAULT_MEMORY_SLOT) <= MEMORY_POOL_BUDGET {
        return None;
    }
    const PAGE: u64 = 64 << 10;
    let share = (MEMORY_POOL_BUDGET / memories).saturating_sub(SMALL_GUARD);
    let max_memory = max_memory.div_ceil(PAGE).saturating_mul(PAGE);
    Some((share / PAGE * PAGE).min(max_memory).max(PAGE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_slots_keep_the_default_until_the_pool_outgrows_the_budget() {
        // 10 000 guests: 40 TiB at the default slot, as before.
        assert_eq!(small_memory_slot(10_000, 1 << 30), None);
        assert_eq!(small_memory_slot(16_256, 1 << 30), None);
        // 100 000: each slot the budget's share, in whole pages.
        let slot = small_memory_slot(100_000, 1 << 30).expect("smaller slots");
        assert_eq!(slot % (64 << 10), 0);
        assert!(100_000 * (slot + SMALL_GUARD) <= MEMORY_POOL_BUDGET);
        assert_eq!(slot, 703_594_496, "{} MiB", slot >> 20);
        // A smaller --max-memory is the slot.
        assert_eq!(small_memory_slot(100_000, 64 << 20), Some(64 << 20));
        assert_eq!(small_memory_slot(100_000, 1), Some(64 << 10));
    }
}
