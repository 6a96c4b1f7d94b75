//! The two levels of the kernel's file table: a [`DescriptionTable`] of open
//! file descriptions shared by every guest of a host, and [`Descriptor`]s,
//! the per-holder handles that point into it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::kernel::eventfd::{CreateFlags, Description, Errno};

/// The open file descriptions of one host, shared by all its guests.
///
/// Cloning gives another handle to the same table. Descriptions are
/// registered here by id while they live; the last [`Descriptor`] (or
/// blocked operation) of a description to go frees its slot.
#[derive(Clone, Default)]
pub struct DescriptionTable {
    inner: Arc<TableInner>,
}

pub(crate) struct TableInner {
    /// Ids start at 1 and are never reused, so a stale id names nothing.
    next_id: AtomicU64,
    /// At most this many live descriptions (`ENFILE` beyond), so that no
    /// guest can make the host run out of memory by creating eventfds.
    max_descriptions: usize,
    /// The live descriptions by id. Held weakly: the table observes
    /// descriptions, their descriptors own them.
    live: Mutex<HashMap<u64, std::sync::Weak<Description>>>,
}

impl Default for TableInner {
    fn default() -> Self {
        TableInner {
            next_id: AtomicU64::new(0),
            max_descriptions: DescriptionTable::DEFAULT_MAX_DESCRIPTIONS,
            live: Mutex::default(),
        }
    }
}

impl TableInner {
    fn live(&self) -> MutexGuard<'_, HashMap<u64, std::sync::Weak<Description>>> {
        // A panic while holding this lock cannot leave the map half-updated
        // (each critical section is a single insert, remove or read).
        self.live
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn release(&self, id: u64) {
        self.live().remove(&id);
    }
}

impl DescriptionTable {
    /// The default limit on live descriptions: Linux's usual per-process
    /// hard limit on open files.
    pub const DEFAULT_MAX_DESCRIPTIONS: usize = 1 << 20;

    /// An empty table with the default limit.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty table that holds at most `max_descriptions` live
    /// descriptions; `create` fails with `ENFILE` beyond.
    pub fn with_limit(max_descriptions: usize) -> Self {
        DescriptionTable {
            inner: Arc::new(TableInner {
                max_descriptions,
                ..TableInner::default()
            }),
        }
    }

    /// The most live descriptions this table holds.
    pub fn limit(&self) -> usize {
        self.inner.max_descriptions
    }

    /// `eventfd(initval, flags)`: a new description with one descriptor;
    /// `ENFILE` when the table is full.
    pub fn create(&self, initval: u32, flags: CreateFlags) -> Result<Descriptor, Errno> {
        let mut live = self.inner.live();
        if live.len() >= self.inner.max_descriptions {
            return Err(Errno::Nfile);
        }
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        // The table registers the description and frees its slot when the
        // last reference goes; the description knows nothing of tables.
        let table = Arc::downgrade(&self.inner);
        let description = Arc::new(Description::registered(
            id,
            initval,
            flags,
            Box::new(move |id| {
                if let Some(table) = table.upgrade() {
                    table.release(id);
                }
            }),
        ));
        live.insert(id, Arc::downgrade(&description));
        drop(live);
        tracing::debug!(id, initval, ?flags, "eventfd description created");
        Ok(Descriptor {
            description,
            cloexec: flags.contains(CreateFlags::CLOEXEC),
        })
    }

    /// How many descriptions are alive.
    pub fn len(&self) -> usize {
        self.inner.live().len()
    }

    /// Whether no description is alive.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The live description with this id, for host-side inspection.
    ///
    /// Guests never reach descriptions by id: they hold descriptors.
    pub fn get(&self, id: u64) -> Option<Arc<Description>> {
        self.inner
            .live()
            .get(&id)
            .and_then(std::sync::Weak::upgrade)
    }

    /// The ids of all live descriptions, in ascending order.
    pub fn ids(&self) -> Vec<u64> {
        let mut ids: Vec<u64> = self.inner.live().keys().copied().collect();
        ids.sort_unstable();
        ids
    }
}

impl std::fmt::Debug for DescriptionTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DescriptionTable")
            .field("live", &self.len())
            .finish()
    }
}

/// A descriptor: one handle to a shared [`Description`].
///
/// This is what a guest's `eventfd` resource is, and what host code holds to
/// take part in the same eventfds. Dropping it drops one reference to the
/// description. Close-on-exec belongs here; everything else is the
/// description's and is shared with every [`dup`](Self::dup).
#[derive(Debug)]
pub struct Descriptor {
    description: Arc<Description>,
    cloexec: bool,
}

/// A snapshot of a descriptor and its description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Info {
    /// The description's id (the same for all its descriptors).
    pub id: u64,
    /// The counter.
    pub count: u64,
    /// Semaphore mode.
    pub semaphore: bool,
    /// The description's non-blocking bit.
    pub nonblocking: bool,
    /// This descriptor's close-on-exec bit.
    pub cloexec: bool,
}

impl Descriptor {
    /// `dup(2)`: another descriptor of the same description, with
    /// close-on-exec clear.
    pub fn dup(&self) -> Descriptor {
        Descriptor {
            description: Arc::clone(&self.description),
            cloexec: false,
        }
    }

    /// The description this descriptor refers to.
    pub fn description(&self) -> &Arc<Description> {
        &self.description
    }

    /// This descriptor's close-on-exec bit (`FD_CLOEXEC`).
    pub fn cloexec(&self) -> bool {
        self.cloexec
    }

    /// `fcntl(F_SETFD)`: sets close-on-exec on this descriptor only.
    pub fn set_cloexec(&mut self, enabled: bool) {
        self.cloexec = enabled;
    }

    /// `fcntl(F_SETFL)`: sets non-blocking mode on the description, for
    /// every descriptor of it.
    pub fn set_nonblocking(&self, enabled: bool) {
        self.description.set_nonblocking(enabled);
    }

    /// A snapshot of this descriptor and its description.
    pub fn info(&self) -> Info {
        let d = &self.description;
        Info {
            id: d.id(),
            count: d.count(),
            semaphore: d.is_semaphore(),
            nonblocking: d.is_nonblocking(),
            cloexec: self.cloexec,
        }
    }

    /// `read(2)`; see [`Description::read`].
    pub async fn read(&self) -> Result<u64, Errno> {
        self.description.read().await
    }

    /// `write(2)`; see [`Description::write`].
    pub async fn write(&self, value: u64) -> Result<(), Errno> {
        self.description.write(value).await
    }

    /// `read(2)` that blocks the calling thread instead of awaiting, for
    /// hosts without an async runtime (e.g. next to
    /// [`add_to_linker_sync`](crate::add_to_linker_sync)); see
    /// [`Description::read_blocking`]. Not for async code.
    pub fn read_blocking(&self) -> Result<u64, Errno> {
        self.description.read_blocking()
    }

    /// `write(2)` that blocks the calling thread instead of awaiting; see
    /// [`Description::write_blocking`]. Not for async code.
    pub fn write_blocking(&self, value: u64) -> Result<(), Errno> {
        self.description.write_blocking(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BLOCKING: CreateFlags = CreateFlags::empty();

    #[test]
    fn a_full_table_refuses_new_descriptions_with_enfile() {
        let table = DescriptionTable::with_limit(2);
        let a = table.create(0, BLOCKING).unwrap();
        let _b = table.create(0, BLOCKING).unwrap();
        assert_eq!(table.create(0, BLOCKING).map(|_| ()), Err(Errno::Nfile));
        let dup = a.dup();
        drop(a);
        assert_eq!(
            table.create(0, BLOCKING).map(|_| ()),
            Err(Errno::Nfile),
            "a dup keeps it alive"
        );
        drop(dup);
        assert!(
            table.create(0, BLOCKING).is_ok(),
            "freed with its last descriptor"
        );
    }

    #[test]
    fn ids_are_unique_and_never_reused() {
        let table = DescriptionTable::new();
        let a = table.create(0, BLOCKING).unwrap();
        let b = table.create(0, BLOCKING).unwrap();
        let (ia, ib) = (a.info().id, b.info().id);
        assert_ne!(ia, ib);
        drop(a);
        let c = table.create(0, BLOCKING).unwrap();
        assert!(c.info().id > ib, "a freed id is not handed out again");
        assert!(table.get(ia).is_none());
        assert_eq!(table.ids(), [ib, c.info().id]);
    }

    #[test]
    fn the_description_lives_until_its_last_descriptor_goes() {
        let table = DescriptionTable::new();
        let first = table.create(3, BLOCKING).unwrap();
        let id = first.info().id;
        let second = first.dup();
        let clone_of_table = table.clone();
        assert_eq!(clone_of_table.len(), 1, "clones share the table");
        drop(first);
        assert_eq!(table.len(), 1);
        assert_eq!(table.get(id).map(|d| d.count()), Some(3));
        drop(second);
        assert!(table.is_empty());
        assert!(table.get(id).is_none());
    }

    #[test]
    fn dup_shares_everything_but_cloexec() {
        let table = DescriptionTable::new();
        let mut original = table
            .create(2, CreateFlags::CLOEXEC | CreateFlags::SEMAPHORE)
            .unwrap();
        let dup = original.dup();
        assert!(Arc::ptr_eq(original.description(), dup.description()));
        assert!(original.cloexec() && !dup.cloexec());
        dup.set_nonblocking(true);
        assert!(original.info().nonblocking);
        original.set_cloexec(false);
        assert_eq!(original.info(), dup.info());
        assert!(dup.info().semaphore);
    }

    #[tokio::test]
    async fn a_blocked_read_keeps_the_description_alive() {
        // Linux: a read blocked on a descriptor holds its own reference, so
        // closing the descriptor neither fails nor frees anything.
        let table = DescriptionTable::new();
        let fd = table.create(0, BLOCKING).unwrap();
        let writer = fd.dup();
        let description = Arc::clone(fd.description());
        let reader = tokio::spawn(async move { description.read().await });
        while fd.description().readers_waiting() == 0 {
            tokio::task::yield_now().await;
        }
        drop(fd);
        assert_eq!(table.len(), 1);
        writer.write(1).await.unwrap();
        assert_eq!(reader.await.unwrap(), Ok(1));
        drop(writer);
        assert!(table.is_empty());
    }
}
