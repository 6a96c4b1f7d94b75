//! Who waits on what: the wait graph the runner keeps of its guests, to
//! find deadlocks (every guest waiting on an eventfd that nobody can
//! change). Each guest's [`GuestWaits`] is the [`GuestParkObserver`] of
//! its context: the library's front ends tell it of the guest's waits.
//!
//! A guest is *parked* while one of its eventfd operations waits for
//! another party. It is *stuck* when it is parked
//! and has nothing else to wait for: a blocking read or write, a core
//! module's `poll_oneoff` without a clock whose every subscription is an
//! eventfd's, or a `wasi:io/poll` whose every pollable is an eventfd's. The guests are deadlocked when every one still
//! running is stuck and no wait it is stuck on could succeed now: nobody is
//! left to write or read, so nothing will ever change. That holds only if
//! the host itself will not touch the eventfds either, which is why a
//! runner asks for the check ([`RunOptions::detect_deadlocks`](super::RunOptions::detect_deadlocks)).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::{GuestParkObserver, Interest, Waiting};

/// At most this many distinct waits of one stuck guest are named in its
/// report; the rest are counted. A guest can wait on thousands at once (a
/// core `poll` takes 65536 entries), and the report is one line.
pub const MAX_WAITS_LISTED: usize = 8;

/// The wait graph of a set of guests.
///
/// Every change costs O(1) whatever the number of waits (a core `poll`
/// parks all its waits in one change): a guest's waits sit in reusable
/// slots, and the graph counts its stuck guests as they change, so that
/// the deadlock check — run whenever a guest becomes stuck or leaves —
/// returns at once while any guest is not stuck, and looks at the waits
/// themselves only when every guest is.
#[derive(Default)]
pub struct WaitGraph {
    state: Mutex<GraphState>,
    /// Notified whenever a guest becomes stuck or leaves: the moments a
    /// deadlock can begin.
    changed: tokio::sync::Notify,
    /// Names of descriptions, for reports.
    names: Mutex<HashMap<u64, String>>,
}

#[derive(Default)]
struct GraphState {
    guests: HashMap<u64, GuestEntry>,
    /// How many of `guests` are stuck now.
    stuck: usize,
}

struct GuestEntry {
    name: String,
    /// Parked single operations (a blocking read or write, a pollable),
    /// each in the slot its observer holds the index of; freed slots are
    /// reused, so parking and resuming cost O(1).
    slots: Vec<Option<Waiting>>,
    /// The free indices of `slots`.
    free: Vec<usize>,
    /// How many slots are taken.
    parked: usize,
    /// How many of the parked operations are blocking reads or writes.
    blocking: usize,
    /// Inside `wasi:io/poll` on this many distinct pollables.
    polling: Option<usize>,
    /// Inside a core module's `poll` without a timeout, waiting on these
    /// alone (possibly none: then nothing can ever wake it).
    core_poll: Option<Vec<Waiting>>,
}

impl GuestEntry {
    fn new(name: &str) -> Self {
        GuestEntry {
            name: name.to_string(),
            slots: Vec::new(),
            free: Vec::new(),
            parked: 0,
            blocking: 0,
            polling: None,
            core_poll: None,
        }
    }

    /// O(1): called on every change.
    fn is_stuck(&self) -> bool {
        if self.core_poll.is_some() {
            // It waits for its entries, and nothing else can end the call.
            return true;
        }
        match self.polling {
            // Every pollable of the poll is an eventfd's, and parked.
            Some(pollables) => pollables > 0 && self.parked == pollables,
            // Outside a poll only a blocking read or write waits: a pollable
            // asked `ready()` parks for a moment and returns at once.
            None => self.blocking > 0,
        }
    }

    /// How many waits [`Self::waits`] gives.
    fn wait_count(&self) -> usize {
        self.parked + self.core_poll.as_ref().map_or(0, Vec::len)
    }

    /// Every wait of the guest, duplicates included.
    fn waits(&self) -> impl Iterator<Item = &Waiting> {
        self.slots
            .iter()
            .flatten()
            .chain(self.core_poll.iter().flatten())
    }

    /// Parks `waiting` in a free slot; returns the slot's index.
    fn park(&mut self, waiting: Waiting) -> usize {
        if waiting.interest.is_blocking() {
            self.blocking += 1;
        }
        self.parked += 1;
        while let Some(index) = self.free.pop() {
            if let Some(slot @ None) = self.slots.get_mut(index) {
                *slot = Some(waiting);
                return index;
            }
        }
        self.slots.push(Some(waiting));
        self.slots.len() - 1
    }

    /// Frees the slot `index` of a resumed operation.
    fn unpark(&mut self, index: usize) {
        let Some(waiting) = self.slots.get_mut(index).and_then(Option::take) else {
            return;
        };
        if waiting.interest.is_blocking() {
            self.blocking = self.blocking.saturating_sub(1);
        }
        self.parked = self.parked.saturating_sub(1);
        if self.parked > 0 {
            self.free.push(index);
        } else if self.slots.len() > KEPT_SLOTS {
            // Nothing parked: give back the slots of a large poll.
            self.slots = Vec::new();
            self.free = Vec::new();
        } else {
            // Keep the few slots of a blocking read or write: a guest that
            // parks again (every ping-pong round) then allocates nothing.
            self.slots.clear();
            self.free.clear();
        }
    }

    /// The report of this guest, stuck: its distinct waits, the first
    /// [`MAX_WAITS_LISTED`] in order of description and interest.
    fn report(&self, id: u64, names: &HashMap<u64, String>) -> StuckGuest {
        let mut seen = HashSet::new();
        let mut distinct: Vec<&Waiting> = self.waits().filter(|w| seen.insert(w.key())).collect();
        distinct.sort_unstable_by_key(|w| w.key());
        let mut waits_on: Vec<String> = distinct
            .iter()
            .take(MAX_WAITS_LISTED)
            .map(|waiting| describe(waiting, names))
            .collect();
        if waits_on.is_empty() && self.core_poll.is_some() {
            waits_on.push(NOTHING_TO_WAIT_FOR.to_string());
        }
        StuckGuest {
            id,
            guest: self.name.clone(),
            waits_on,
            more: distinct.len().saturating_sub(MAX_WAITS_LISTED),
        }
    }
}

/// Slots a guest keeps when nothing is parked: enough for the waits of a
/// small poll; a larger one's are given back.
const KEPT_SLOTS: usize = 16;

/// The wait of a core poll without a timeout on nothing at all, as a
/// front end may report it ([`GuestParkObserver::parked_poll`] with no
/// waits; preview 1 refuses such a poll with `EINVAL` instead): Linux
/// sleeps until a signal, which a guest cannot get, so it waits forever.
const NOTHING_TO_WAIT_FOR: &str = "poll without a timeout on nothing that can become ready";

/// A guest stuck in a deadlock, for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StuckGuest {
    /// The id the guest joined the graph with.
    pub id: u64,
    /// How the guest is named in messages, as it joined the graph: its
    /// name in backquotes, with its position in the run when other guests
    /// share that name (`` #2 (`waiter.wasm`) ``; see the runner's
    /// `guest_labels`).
    pub guest: String,
    /// What it waits on, e.g. "read of eventfd `ping` (id 1, count 0)":
    /// each distinct wait once, at most [`MAX_WAITS_LISTED`] of them.
    pub waits_on: Vec<String>,
    /// How many more distinct waits it has than `waits_on` names.
    pub more: usize,
}

impl StuckGuest {
    /// What the guest waits on, for a report: the waits named, then how
    /// many more there are ("…, or any of 1992 more").
    pub fn waits(&self) -> String {
        let named = self.waits_on.join(", or ");
        match self.more {
            0 => named,
            1 => format!("{named}, or 1 more"),
            more => format!("{named}, or any of {more} more"),
        }
    }
}

impl fmt::Display for StuckGuest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "guest {} waits: {}", self.guest, self.waits())
    }
}

impl WaitGraph {
    fn state(&self) -> MutexGuard<'_, GraphState> {
        // Each critical section leaves the state consistent: poisoning only
        // means another thread panicked elsewhere.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Names description `id` in reports (e.g. after its `--eventfd` name).
    pub fn name_description(&self, id: u64, name: &str) {
        self.names
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, name.to_string());
    }

    /// Adds a running guest, named `name` in reports (`` `NAME` ``, as
    /// [`StuckGuest::guest`]); it leaves the graph when the handle drops.
    pub fn join(self: &Arc<Self>, id: u64, name: &str) -> Arc<GuestWaits> {
        let mut state = self.state();
        if let Some(old) = state.guests.insert(id, GuestEntry::new(name)) {
            if old.is_stuck() {
                state.stuck = state.stuck.saturating_sub(1);
            }
        }
        Arc::new(GuestWaits {
            graph: Arc::clone(self),
            id,
        })
    }

    /// The deadlock, if every guest is stuck on waits none of which could
    /// proceed; `None` while any guest runs or could.
    pub fn deadlock(&self) -> Option<Vec<StuckGuest>> {
        let state = self.state();
        if state.guests.is_empty() || state.stuck < state.guests.len() {
            return None;
        }
        // Guests with few waits first: when every guest is stuck for a
        // moment, the one about to be woken is usually one of them (a
        // reader just written to), found without going through the waits
        // of a big poll elsewhere.
        let few = |guest: &&GuestEntry| guest.wait_count() <= MAX_WAITS_LISTED;
        let could_proceed = |guest: &GuestEntry| guest.waits().any(Waiting::could_proceed);
        if state.guests.values().filter(few).any(could_proceed)
            || state
                .guests
                .values()
                .filter(|guest| !few(guest))
                .any(could_proceed)
        {
            return None;
        }
        let names = self.names.lock().unwrap_or_else(|p| p.into_inner());
        let mut stuck: Vec<StuckGuest> = state
            .guests
            .iter()
            .map(|(&id, guest)| guest.report(id, &names))
            .collect();
        stuck.sort_by_key(|guest| guest.id);
        Some(stuck)
    }

    /// Completes with the deadlock once there is one.
    pub async fn deadlocked(&self) -> Vec<StuckGuest> {
        loop {
            // Register for the next change before looking, so none is missed.
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if let Some(stuck) = self.deadlock() {
                return stuck;
            }
            changed.await;
        }
    }
}

fn describe(waiting: &Waiting, names: &HashMap<u64, String>) -> String {
    let d = &waiting.description;
    let what = match waiting.interest {
        Interest::Read => "read".to_string(),
        Interest::Write(value) => format!("write of {value}"),
        Interest::Readable => "poll for readable".to_string(),
        Interest::Writable => "poll for writable".to_string(),
    };
    let name = match names.get(&d.id()) {
        Some(name) => format!("eventfd `{name}`"),
        None => "an unnamed eventfd".to_string(),
    };
    format!("{what} on {name} (id {}, count {})", d.id(), d.count())
}

/// One guest's place in a [`WaitGraph`]; removes the guest when dropped.
pub struct GuestWaits {
    graph: Arc<WaitGraph>,
    id: u64,
}

impl GuestWaits {
    /// Applies `f` to the guest's entry, keeping the graph's count of stuck
    /// guests, and wakes the deadlock check if that made every guest stuck.
    fn change<R>(&self, f: impl FnOnce(&mut GuestEntry) -> R) -> Option<R> {
        let mut state = self.graph.state();
        let entry = state.guests.get_mut(&self.id)?;
        let was_stuck = entry.is_stuck();
        let result = f(entry);
        let is_stuck = entry.is_stuck();
        match (was_stuck, is_stuck) {
            (false, true) => state.stuck += 1,
            (true, false) => state.stuck = state.stuck.saturating_sub(1),
            _ => {}
        }
        // A deadlock needs every guest stuck: only the change that makes
        // them all stuck is worth waking the check for (guests that wake
        // each other, one stuck at a time, never pay for it).
        let all_stuck = is_stuck && !was_stuck && state.stuck >= state.guests.len();
        drop(state);
        if all_stuck {
            self.graph.changed.notify_waiters();
        }
        Some(result)
    }
}

impl GuestParkObserver for GuestWaits {
    fn parked(&self, waiting: Waiting) -> usize {
        // A guest that already left has no slot: usize::MAX is never one.
        self.change(|entry| entry.park(waiting))
            .unwrap_or(usize::MAX)
    }

    fn resumed(&self, slot: usize) {
        self.change(|entry| entry.unpark(slot));
    }

    /// wasmtime waits once on a pollable listed twice: `pollables` counts
    /// distinct ones.
    fn entered_poll(&self, pollables: usize) {
        self.change(|entry| entry.polling = Some(pollables));
    }

    fn left_poll(&self) {
        self.change(|entry| entry.polling = None);
    }

    /// One change for the whole poll, whatever its number of entries.
    fn parked_poll(&self, waits: Vec<Waiting>) {
        // The waits it replaces, if any, are dropped outside the lock.
        let old = self.change(|entry| entry.core_poll.replace(waits));
        drop(old);
    }

    fn resumed_poll(&self) {
        // The waits are dropped outside the lock.
        let waits = self.change(|entry| entry.core_poll.take());
        drop(waits);
    }
}

impl Drop for GuestWaits {
    fn drop(&mut self) {
        let left = {
            let mut state = self.graph.state();
            let left = state.guests.remove(&self.id);
            if left.as_ref().is_some_and(GuestEntry::is_stuck) {
                state.stuck = state.stuck.saturating_sub(1);
            }
            left
        };
        // Its waits are dropped outside the lock.
        drop(left);
        // The guest that left may have been the last one running.
        self.graph.changed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::waits::{ObservedOp, PollParked};
    use crate::{CreateFlags, Description, DescriptionTable, ParkObserver};

    /// The observer the front ends make for one operation of `guest`.
    fn observer<'a>(
        guest: &'a GuestWaits,
        description: &'a Arc<Description>,
        interest: Interest,
    ) -> ObservedOp<'a> {
        ObservedOp::new(guest, description, interest)
    }

    #[test]
    fn only_blocking_waits_and_polls_make_a_guest_stuck() {
        let graph = Arc::new(WaitGraph::default());
        let waits = graph.join(1, "lone");
        let table = DescriptionTable::new();
        let fd = table.create(0, CreateFlags::default()).unwrap();
        let description = fd.description();

        // A pollable's `ready()` outside a poll parks for a moment only.
        let ready_check = observer(&waits, description, Interest::Readable);
        ready_check.parked();
        assert!(graph.deadlock().is_none());
        // The same wait inside a poll of that one pollable is stuck.
        waits.entered_poll(1);
        assert!(graph.deadlock().is_some());
        waits.left_poll();
        ready_check.resumed();
        assert!(graph.deadlock().is_none());

        let read = observer(&waits, description, Interest::Read);
        read.parked();
        let stuck = graph
            .deadlock()
            .expect("a blocking read of 0 with nobody left");
        assert_eq!(stuck[0].waits_on.len(), 1);
        read.resumed();
        assert!(graph.deadlock().is_none());
    }

    #[test]
    fn a_core_poll_on_nothing_is_stuck_and_parks_in_one_change() {
        let graph = Arc::new(WaitGraph::default());
        let waits = graph.join(1, "sleeper");
        let parked = PollParked::new(&*waits, Vec::new());
        let stuck = graph.deadlock().expect("nothing can end the poll");
        assert_eq!(stuck[0].waits_on, [NOTHING_TO_WAIT_FOR]);
        drop(parked);
        assert!(graph.deadlock().is_none());
    }

    #[test]
    fn reports_name_each_wait_once_and_only_a_few() {
        let graph = Arc::new(WaitGraph::default());
        let waits = graph.join(7, "`poller`");
        let table = DescriptionTable::new();
        let fds: Vec<_> = (0..20)
            .map(|_| table.create(0, CreateFlags::default()).unwrap())
            .collect();
        // Every description three times over, newest first.
        let polled: Vec<Waiting> = (0..3)
            .flat_map(|_| fds.iter().rev())
            .map(|fd| Waiting {
                description: Arc::clone(fd.description()),
                interest: Interest::Readable,
            })
            .collect();
        let _parked = PollParked::new(&*waits, polled);
        let stuck = graph.deadlock().expect("nobody writes them");
        assert_eq!(stuck[0].id, 7);
        assert_eq!(stuck[0].waits_on.len(), MAX_WAITS_LISTED);
        assert_eq!(stuck[0].more, 20 - MAX_WAITS_LISTED);
        let line = stuck[0].to_string();
        assert!(
            line.starts_with(
                "guest `poller` waits: poll for readable on an unnamed eventfd (id 1, count 0), or"
            ),
            "{line}"
        );
        assert!(
            line.ends_with("(id 8, count 0), or any of 12 more"),
            "{line}"
        );
    }

    #[test]
    fn slots_are_reused_and_a_deadlock_needs_every_guest_stuck() {
        let graph = Arc::new(WaitGraph::default());
        let (a, b) = (graph.join(1, "a"), graph.join(2, "b"));
        let table = DescriptionTable::new();
        let fd = table.create(0, CreateFlags::default()).unwrap();
        let description = fd.description();
        let reads: Vec<_> = (0..4)
            .map(|_| observer(&a, description, Interest::Read))
            .collect();
        reads.iter().for_each(ParkObserver::parked);
        assert!(graph.deadlock().is_none(), "`b` still runs");
        let b_read = observer(&b, description, Interest::Read);
        b_read.parked();
        assert_eq!(graph.deadlock().map(|s| s.len()), Some(2));
        // Resumed in any order, then parked again: the slots are reused.
        for read in reads.iter().rev().step_by(2) {
            read.resumed();
        }
        reads.iter().for_each(ParkObserver::resumed);
        assert!(graph.deadlock().is_none(), "`a` runs again");
        reads[1].parked();
        assert_eq!(graph.deadlock().map(|s| s.len()), Some(2));
        drop(b_read);
        drop(b);
        let stuck = graph.deadlock().expect("`a` alone, reading");
        assert_eq!(stuck.len(), 1);
        assert_eq!(
            stuck[0].waits_on,
            ["read on an unnamed eventfd (id 1, count 0)"]
        );
        // A write makes the read able to proceed: no deadlock then.
        fd.description().try_write(1).unwrap();
        assert!(graph.deadlock().is_none());
    }
}
