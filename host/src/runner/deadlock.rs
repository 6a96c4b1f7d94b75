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
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use crate::kernel::epoll::Epoll;
use crate::{GuestParkObserver, Interest, Waiting};

/// At most this many distinct waits of one stuck guest are named in its
/// report; the rest are counted. A guest can wait on thousands at once (a
/// core `poll` takes 65536 entries), and the report is one line.
pub const MAX_WAITS_LISTED: usize = 8;

/// The wait graph of a set of guests.
///
/// Every change costs O(1) whatever the number of waits (a core `poll`
/// parks all its waits in one change), and touches only the guest's own
/// record and one shared counter: a guest's waits sit in reusable slots
/// behind a lock of its own, and the graph counts its running guests as
/// they change, so that the deadlock check — run whenever the last
/// running guest becomes stuck, or a guest leaves — returns at once while
/// any guest runs, and looks at the waits themselves only when none does.
/// The graph's own lock (the list of guests) is taken only when a guest
/// joins or leaves, and by the check. An event loop's park in
/// `epoll_wait`, and its resume, take no lock at all: one
/// compare-and-swap of the guest's state and one count (locked
/// instructions are most of what a park costs).
#[derive(Default)]
pub struct WaitGraph {
    /// The guests in the graph, by the id they joined with.
    guests: Mutex<HashMap<u64, Arc<Record>>>,
    /// How many guests of `guests` run (are not stuck), in the low 32 bits
    /// ([`RUNNING`]); above them, how many changes the guests' records have
    /// had (wrapping). One word, so a change counts itself and moves a
    /// guest between running and stuck in one atomic add, and the check
    /// can tell that nothing changed while it looked (the same word before
    /// and after).
    counts: AtomicU64,
    /// Notified whenever the last running guest becomes stuck or a guest
    /// leaves: the moments a deadlock can begin.
    changed: tokio::sync::Notify,
    /// Set when the last running guest became stuck since the check last
    /// began to look: only the first such change notifies `changed` (two
    /// guests waking each other leave none running twice a round trip,
    /// and the check, woken once, looks at the latest state anyway).
    stuck_since_look: AtomicBool,
    /// Names of descriptions, for reports.
    names: Mutex<HashMap<u64, String>>,
}

/// One guest's place in the graph: its waits behind a lock of their own
/// (a park or resume takes this one, never another guest's), and beside
/// them what an `epoll_wait` park needs, so that an event loop's every
/// park and resume, on the instance it parked on last time, takes no lock.
struct Record {
    entry: Mutex<GuestEntry>,
    /// [`IN_GRAPH`], [`WAITS_STUCK`] and [`IN_EPOLL`]. Changed under
    /// `entry`'s lock, except for `IN_EPOLL` by the lock-free park and
    /// resume, which a compare-and-swap keeps from racing a `leave`.
    state: AtomicU8,
    /// The address of the instance `GuestEntry::epoll` keeps (0: none),
    /// which the lock-free park compares with. The `Weak` there keeps the
    /// allocation, so no other instance can have this address meanwhile.
    epoll_at: AtomicUsize,
}

/// In [`Record::state`]: the guest is in the graph (counted in its
/// `counts`); clear once it left, or another guest joined under its id.
const IN_GRAPH: u8 = 1;
/// In [`Record::state`]: its waits under the lock make it stuck
/// ([`GuestEntry::is_stuck`] as of its last change).
const WAITS_STUCK: u8 = 2;
/// In [`Record::state`]: parked in `epoll_wait` without a timeout on the
/// instance of [`GuestEntry::epoll`] (eventfds alone), which nothing but
/// an event can end.
const IN_EPOLL: u8 = 4;

/// Whether a guest in `state` is stuck.
fn is_stuck(state: u8) -> bool {
    state & (WAITS_STUCK | IN_EPOLL) != 0
}

impl Record {
    fn new(name: &str) -> Self {
        Record {
            entry: Mutex::new(GuestEntry::new(name)),
            state: AtomicU8::new(IN_GRAPH),
            epoll_at: AtomicUsize::new(0),
        }
    }
}

/// The bits of [`WaitGraph::counts`] that count running guests.
const RUNNING: u64 = (1 << 32) - 1;

/// One change of a record, in [`WaitGraph::counts`].
const CHANGE: u64 = 1 << 32;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Each critical section leaves its state consistent: poisoning only
    // means another thread panicked elsewhere.
    mutex.lock().unwrap_or_else(|p| p.into_inner())
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
    /// Inside a core module's `poll` without a timeout on these waits and
    /// nothing else (possibly none: then nothing can ever wake it).
    core_poll: Option<Vec<Waiting>>,
    /// The epoll instance of the guest's last `epoll_wait` park, kept
    /// weakly from one park to the next (an event loop waits on the same
    /// instance every time), and asked only when the check looks, so a
    /// park costs O(1) however many entries it holds. The guest waits on
    /// it while its record's state has [`IN_EPOLL`].
    epoll: Weak<Epoll>,
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
            epoll: Weak::new(),
        }
    }

    /// Whether its waits under the lock make it stuck (an `epoll_wait`
    /// park aside: [`IN_EPOLL`]). O(1): called on every change.
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

    /// How many waits the guest has in `state` (an epoll's: its entries).
    fn wait_count(&self, state: u8) -> usize {
        let epoll = match state & IN_EPOLL {
            0 => 0,
            _ => self.epoll.upgrade().map_or(0, |epoll| epoll.len()),
        };
        self.parked + self.core_poll.as_ref().map_or(0, Vec::len) + epoll
    }

    /// Whether the guest, in `state`, could go on now: it runs, or a wait
    /// of its could end. (The check can meet a guest that runs: a
    /// lock-free resume clears [`IN_EPOLL`] just before it counts.)
    fn could_proceed(&self, state: u8) -> bool {
        !is_stuck(state)
            || self.slots.iter().flatten().any(Waiting::could_proceed)
            || self
                .core_poll
                .as_ref()
                .is_some_and(|waits| waits.iter().any(Waiting::could_proceed))
            // Gone only once its wait ended: then the guest runs.
            || (state & IN_EPOLL != 0 && self.epoll.upgrade().is_none_or(|epoll| epoll.is_ready()))
    }

    /// Every wait of the guest in `state`, duplicates included (an
    /// epoll's listed now).
    fn waits(&self, state: u8) -> Vec<Waiting> {
        let mut waits: Vec<Waiting> = self.slots.iter().flatten().cloned().collect();
        waits.extend(self.core_poll.iter().flatten().cloned());
        if state & IN_EPOLL != 0 {
            let epoll = self.epoll.upgrade();
            waits.extend(epoll.and_then(|epoll| epoll.waits()).unwrap_or_default());
        }
        waits
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
    fn report(&self, id: u64, state: u8, names: &HashMap<u64, String>) -> StuckGuest {
        let mut seen = HashSet::new();
        let mut distinct: Vec<Waiting> = self
            .waits(state)
            .into_iter()
            .filter(|w| seen.insert(w.key()))
            .collect();
        distinct.sort_unstable_by_key(|w| w.key());
        let mut waits_on: Vec<String> = distinct
            .iter()
            .take(MAX_WAITS_LISTED)
            .map(|waiting| describe(waiting, names))
            .collect();
        if waits_on.is_empty() && (self.core_poll.is_some() || state & IN_EPOLL != 0) {
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
    /// Names description `id` in reports (e.g. after its `--eventfd` name).
    pub fn name_description(&self, id: u64, name: &str) {
        lock(&self.names).insert(id, name.to_string());
    }

    /// Adds a running guest, named `name` in reports (`` `NAME` ``, as
    /// [`StuckGuest::guest`]); it leaves the graph when the handle drops.
    /// A guest joining under the id of one still in the graph takes its
    /// place: the handle of the one replaced changes nothing any more.
    pub fn join(self: &Arc<Self>, id: u64, name: &str) -> Arc<GuestWaits> {
        let record = Arc::new(Record::new(name));
        let replaced = {
            let mut guests = lock(&self.guests);
            self.counts.fetch_add(CHANGE + 1, Ordering::SeqCst);
            let replaced = guests.insert(id, Arc::clone(&record));
            if let Some(old) = &replaced {
                self.leave(old);
            }
            replaced
        };
        // Its waits are dropped outside the lock.
        drop(replaced);
        Arc::new(GuestWaits {
            graph: Arc::clone(self),
            id,
            record,
        })
    }

    /// Takes `record`'s guest out of the counts, once (under the lock of
    /// `guests`), as stuck or running as its state says at that instant:
    /// a lock-free park or resume racing this either changed the state
    /// first, and counts its own change, or finds the guest gone.
    fn leave(&self, record: &Record) {
        let _entry = lock(&record.entry);
        let state = record.state.fetch_and(!IN_GRAPH, Ordering::SeqCst);
        if state & IN_GRAPH != 0 {
            let delta = if is_stuck(state) { CHANGE } else { CHANGE - 1 };
            self.counts.fetch_add(delta, Ordering::SeqCst);
        }
    }

    /// The deadlock, if every guest is stuck on waits none of which could
    /// proceed; `None` while any guest runs or could. The guests' records
    /// are read one by one; a guest that changed its waits meanwhile (on
    /// another thread) makes it look again, so what it finds held of all
    /// the guests at one instant, as if the whole graph were locked. (On
    /// one thread nothing changes while it looks.)
    pub fn deadlock(&self) -> Option<Vec<StuckGuest>> {
        let guests = lock(&self.guests);
        loop {
            if let Ok(found) = self.look(&guests) {
                return found;
            }
        }
    }

    /// One look at every guest's waits, for [`deadlock`](Self::deadlock);
    /// `Err` when a guest changed while it looked.
    fn look(&self, guests: &HashMap<u64, Arc<Record>>) -> Result<Option<Vec<StuckGuest>>, Changed> {
        let before = self.counts.load(Ordering::SeqCst);
        if guests.is_empty() || before & RUNNING != 0 {
            return Ok(None);
        }
        // Guests with few waits first: when every guest is stuck for a
        // moment, the one about to be woken is usually one of them (a
        // reader just written to), found without going through the waits
        // of a big poll elsewhere.
        let could_proceed = |few: bool| {
            guests.values().any(|record| {
                let guest = lock(&record.entry);
                let state = record.state.load(Ordering::SeqCst);
                (guest.wait_count(state) <= MAX_WAITS_LISTED) == few && guest.could_proceed(state)
            })
        };
        let found = if could_proceed(true) || could_proceed(false) {
            None
        } else {
            let names = lock(&self.names);
            let mut stuck: Vec<StuckGuest> = guests
                .iter()
                .map(|(&id, record)| {
                    let guest = lock(&record.entry);
                    guest.report(id, record.state.load(Ordering::SeqCst), &names)
                })
                .collect();
            stuck.sort_by_key(|guest| guest.id);
            Some(stuck)
        };
        // Every change counts in `counts` under its record's lock, which
        // the look took: the same word after as before means no record
        // changed from the first reading to the last. (A lock-free epoll
        // park or resume counts after its change, but only moves a guest
        // between running and stuck: seen parked early, the guest still
        // counts as running, and the look returned at once; seen resumed
        // early, it could proceed.)
        if self.counts.load(Ordering::SeqCst) == before {
            Ok(found)
        } else {
            Err(Changed)
        }
    }

    /// Completes with the deadlock once there is one.
    pub async fn deadlocked(&self) -> Vec<StuckGuest> {
        loop {
            // Register for the next change before looking, so none is missed.
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            // Registered, then cleared: a change after this notifies, one
            // before is seen by the look.
            self.stuck_since_look.store(false, Ordering::SeqCst);
            let looked = {
                let guests = lock(&self.guests);
                self.look(&guests)
            };
            match looked {
                Ok(Some(stuck)) => return stuck,
                Ok(None) => changed.await,
                // A guest changed while it looked, and may not notify
                // again: look again once it had its turn.
                Err(Changed) => tokio::task::yield_now().await,
            }
        }
    }
}

/// A guest's waits changed while [`WaitGraph::look`] looked.
struct Changed;

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
    /// Its own record, also in the graph's list of guests.
    record: Arc<Record>,
}

impl GuestWaits {
    /// Applies `f` to the guest's entry and counts the change (and the
    /// guest's move between running and stuck), under the entry's lock
    /// alone; wakes the deadlock check if that left no guest running.
    fn change<R>(&self, f: impl FnOnce(&mut GuestEntry) -> R) -> Option<R> {
        let record = &*self.record;
        let mut entry = lock(&record.entry);
        let state = record.state.load(Ordering::SeqCst);
        if state & IN_GRAPH == 0 {
            return None;
        }
        let result = f(&mut entry);
        let waits_stuck = if entry.is_stuck() { WAITS_STUCK } else { 0 };
        // Only this guest's own calls change its state, one at a time, and
        // a `leave` takes the lock held here: nothing changes it meanwhile.
        let now = (state & !WAITS_STUCK) | waits_stuck;
        if now != state {
            record.state.store(now, Ordering::SeqCst);
        }
        self.count(state, now);
        drop(entry);
        Some(result)
    }

    /// Counts a change of the guest from `was` to `now` in the graph's
    /// `counts`, then wakes the check if that left no guest running.
    fn count(&self, was: u8, now: u8) {
        let graph = &*self.graph;
        let delta = match (is_stuck(was), is_stuck(now)) {
            (false, true) => CHANGE - 1,
            (true, false) => CHANGE + 1,
            _ => CHANGE,
        };
        let before = graph.counts.fetch_add(delta, Ordering::SeqCst);
        // A deadlock needs every guest stuck: only the change that leaves
        // none running is worth waking the check for, once until it looks
        // (two guests waking each other leave none running twice a round
        // trip; a load sees that the check was already told).
        if delta == CHANGE - 1
            && before & RUNNING == 1
            && !graph.stuck_since_look.load(Ordering::SeqCst)
            && !graph.stuck_since_look.swap(true, Ordering::SeqCst)
        {
            graph.changed.notify_waiters();
        }
    }

    /// Sets or clears [`IN_EPOLL`] without the lock, and counts the
    /// change; false (nothing done) when the bit already was so. A guest
    /// that left changes nothing.
    fn set_in_epoll(&self, parked: bool) -> bool {
        let state = &self.record.state;
        let mut was = state.load(Ordering::SeqCst);
        loop {
            if (was & IN_EPOLL != 0) == parked {
                return false;
            }
            let now = was ^ IN_EPOLL;
            // Against a `leave` on another thread (a guest joining under
            // this one's id): whichever changes the state first, the
            // other sees it.
            match state.compare_exchange(was, now, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => {
                    if was & IN_GRAPH != 0 {
                        self.count(was, now);
                    }
                    return true;
                }
                Err(actual) => was = actual,
            }
        }
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

    /// O(1), and on the instance of the last park (an event loop's every
    /// park) without a lock: one compare-and-swap and one count. The
    /// instance is kept weakly and asked only when the check looks.
    fn parked_epoll(&self, epoll: &Arc<Epoll>) {
        let record = &*self.record;
        let at = Arc::as_ptr(epoll) as usize;
        if record.epoll_at.load(Ordering::SeqCst) != at {
            // Another instance: kept under the lock, before the guest is
            // parked on it.
            let mut entry = lock(&record.entry);
            entry.epoll = Arc::downgrade(epoll);
            record.epoll_at.store(at, Ordering::SeqCst);
        }
        self.set_in_epoll(true);
    }

    fn resumed_poll(&self) {
        if self.set_in_epoll(false) {
            return;
        }
        // The waits are dropped outside the lock.
        let waits = self.change(|entry| entry.core_poll.take());
        drop(waits);
    }
}

impl Drop for GuestWaits {
    fn drop(&mut self) {
        let left = {
            let mut guests = lock(&self.graph.guests);
            let ours = guests
                .get(&self.id)
                .is_some_and(|record| Arc::ptr_eq(record, &self.record));
            self.graph.leave(&self.record);
            if ours {
                guests.remove(&self.id)
            } else {
                None
            }
        };
        // Its record (and waits) goes with the handle, outside the locks.
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
    fn an_epoll_wait_is_stuck_unless_the_instance_would_report_an_event() {
        use crate::kernel::epoll::{WatchBudget, EPOLLET, EPOLL_CTL_ADD};
        use crate::kernel::poll::{PollFile, PollMask};

        let graph = Arc::new(WaitGraph::default());
        let waits = graph.join(1, "loop");
        let table = DescriptionTable::new();
        let fd = table.create(1, CreateFlags::default()).unwrap();
        let file = PollFile::Eventfd(Arc::clone(fd.description()));
        let (level, edge) = (
            Epoll::new(WatchBudget::new(8)),
            Epoll::new(WatchBudget::new(8)),
        );
        let readable = PollMask::IN.bits();
        level.ctl(EPOLL_CTL_ADD, 3, &file, readable, 0).unwrap();
        edge.ctl(EPOLL_CTL_ADD, 3, &file, readable | EPOLLET, 0)
            .unwrap();
        // Level-triggered on a readable eventfd: the wait would end.
        let parked = PollParked::epoll(&*waits, &level);
        assert!(graph.deadlock().is_none());
        drop(parked);
        // Edge-triggered, its one event taken: the eventfd is still
        // readable, yet the wait never ends (as on Linux).
        assert_eq!(edge.wait_events(4).len(), 1);
        let parked = PollParked::epoll(&*waits, &edge);
        let stuck = graph.deadlock().expect("an edge already reported");
        assert_eq!(
            stuck[0].waits_on,
            ["poll for readable on an unnamed eventfd (id 1, count 1)"]
        );
        // A new write is a new edge.
        fd.description().try_write(1).unwrap();
        assert!(graph.deadlock().is_none());
        drop(parked);
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

    #[test]
    fn a_guest_joining_under_a_taken_id_replaces_it() {
        let graph = Arc::new(WaitGraph::default());
        let table = DescriptionTable::new();
        let fd = table.create(0, CreateFlags::default()).unwrap();
        let old = graph.join(1, "old");
        let new = graph.join(1, "new");
        // The replaced guest's changes count no more: it runs, yet the new
        // one alone decides.
        let old_read = observer(&old, fd.description(), Interest::Read);
        old_read.parked();
        assert!(graph.deadlock().is_none(), "`new` runs");
        let new_read = observer(&new, fd.description(), Interest::Read);
        new_read.parked();
        let stuck = graph.deadlock().expect("`new` alone, reading");
        assert_eq!(stuck.len(), 1);
        assert_eq!(stuck[0].guest, "new");
        // The old handle leaving takes nothing of the new guest's with it.
        drop(old_read);
        drop(old);
        assert_eq!(graph.deadlock().map(|s| s.len()), Some(1));
        drop(new_read);
        drop(new);
        assert!(graph.deadlock().is_none(), "nobody left");
    }

    /// Two guests on two threads wake each other as a ping-pong does (each
    /// writes the other's eventfd, then parks reading its own), while a
    /// third thread looks for a deadlock all along: every guest is stuck
    /// at times (the writer parks before the woken reader resumes), but
    /// never with nothing able to proceed. A look that read the two
    /// records at different moments, with a round trip between, would
    /// see both empty; the look sees the records as of one instant.
    #[test]
    fn a_look_racing_guests_that_wake_each_other_never_sees_a_deadlock() {
        race_a_look_against_a_ping_pong(Park::Read);
    }

    /// The same with guests parked in `epoll_wait`, which park and resume
    /// without their record's lock.
    #[test]
    fn a_look_racing_guests_that_wake_each_other_through_epoll_never_sees_a_deadlock() {
        race_a_look_against_a_ping_pong(Park::Epoll);
    }

    #[derive(Clone, Copy)]
    enum Park {
        /// A blocking read of the guest's own eventfd.
        Read,
        /// `epoll_wait` on an instance watching it for `EPOLLIN`.
        Epoll,
    }

    fn race_a_look_against_a_ping_pong(park: Park) {
        use crate::kernel::epoll::{WatchBudget, EPOLL_CTL_ADD};
        use crate::kernel::poll::{PollFile, PollMask};

        const ROUNDS: u32 = 2_000;
        let graph = Arc::new(WaitGraph::default());
        let table = DescriptionTable::new();
        let ping = table.create(0, CreateFlags::default()).unwrap();
        let pong = table.create(0, CreateFlags::default()).unwrap();
        let playing = std::sync::atomic::AtomicUsize::new(2);
        let (ping, pong) = (ping.description(), pong.description());
        // Both join first: one alone, parked, would be a deadlock.
        let players = [graph.join(1, "ping"), graph.join(2, "pong")];
        let play = |waits: &Arc<GuestWaits>,
                    mine: &Arc<crate::Description>,
                    theirs: &Arc<crate::Description>| {
            let id = waits.id;
            let epoll = Epoll::new(WatchBudget::new(8));
            let file = PollFile::Eventfd(Arc::clone(mine));
            epoll
                .ctl(EPOLL_CTL_ADD, 3, &file, PollMask::IN.bits(), 0)
                .unwrap();
            for round in 0..ROUNDS {
                if id == 1 || round > 0 {
                    theirs.try_write(1).unwrap();
                }
                let (read, parked) = match park {
                    Park::Read => {
                        let read = observer(waits, mine, Interest::Read);
                        read.parked();
                        (Some(read), None)
                    }
                    Park::Epoll => (None, Some(PollParked::epoll(&**waits, &epoll))),
                };
                while mine.count() == 0 {
                    std::thread::yield_now();
                }
                if let Some(read) = &read {
                    read.resumed();
                }
                drop(parked);
                mine.try_read().unwrap();
            }
            if id == 2 {
                theirs.try_write(1).unwrap();
            }
            playing.fetch_sub(1, Ordering::SeqCst);
        };
        let mut looks = 0u64;
        std::thread::scope(|scope| {
            let [first, second] = &players;
            scope.spawn(|| play(first, ping, pong));
            scope.spawn(|| play(second, pong, ping));
            while playing.load(Ordering::SeqCst) > 0 {
                assert_eq!(graph.deadlock().map(|s| s.len()), None);
                looks += 1;
            }
        });
        assert!(looks > 0);
    }

    /// A guest parking in `epoll_wait` (without its record's lock) while
    /// another joins under its id on another thread: whichever comes
    /// first, the replaced guest is counted out exactly once, so the new
    /// one alone decides afterwards.
    #[test]
    fn a_lock_free_epoll_park_racing_a_replacement_counts_once() {
        use crate::kernel::epoll::WatchBudget;

        for _ in 0..200 {
            let graph = Arc::new(WaitGraph::default());
            let epoll = Epoll::new(WatchBudget::new(8));
            let old = graph.join(1, "old");
            let go = std::sync::Barrier::new(2);
            let new = std::thread::scope(|scope| {
                scope.spawn(|| {
                    go.wait();
                    for _ in 0..50 {
                        drop(PollParked::epoll(&*old, &epoll));
                    }
                    // Left parked: counts nothing once replaced.
                    std::mem::forget(PollParked::epoll(&*old, &epoll));
                });
                go.wait();
                graph.join(1, "new")
            });
            assert!(graph.deadlock().is_none(), "`new` runs");
            let parked = PollParked::epoll(&*new, &epoll);
            let stuck = graph.deadlock().expect("`new` alone, on an empty instance");
            assert_eq!(stuck.len(), 1);
            assert_eq!(stuck[0].guest, "new");
            drop(parked);
            assert!(graph.deadlock().is_none(), "`new` runs again");
            drop(old);
            drop(new);
            assert!(graph.deadlock().is_none(), "nobody left");
            assert_eq!(graph.counts.load(Ordering::SeqCst) & RUNNING, 0);
        }
    }

    /// A lock-free resume clears the guest's park, then counts it: a look
    /// between the two sees a guest counted as stuck that waits on
    /// nothing, and must take it for running, not deadlocked.
    #[test]
    fn a_look_between_a_lock_free_resume_and_its_count_sees_a_running_guest() {
        use crate::kernel::epoll::WatchBudget;

        let graph = Arc::new(WaitGraph::default());
        let waits = graph.join(1, "loop");
        let epoll = Epoll::new(WatchBudget::new(8));
        let parked = PollParked::epoll(&*waits, &epoll);
        assert!(graph.deadlock().is_some(), "an empty instance never wakes");
        // The resume's first half.
        waits.record.state.fetch_and(!IN_EPOLL, Ordering::SeqCst);
        assert!(graph.deadlock().is_none());
        waits.record.state.fetch_or(IN_EPOLL, Ordering::SeqCst);
        drop(parked);
        assert!(graph.deadlock().is_none());
    }

    /// The check is woken once for many moments with no guest running
    /// (the flag spares a notification each), and still sees the deadlock
    /// that follows them.
    #[tokio::test]
    async fn the_check_woken_once_still_sees_a_later_deadlock() {
        let graph = Arc::new(WaitGraph::default());
        let (a, b) = (graph.join(1, "a"), graph.join(2, "b"));
        let table = DescriptionTable::new();
        let fd = table.create(0, CreateFlags::default()).unwrap();
        let description = fd.description();
        let check = tokio::spawn({
            let graph = Arc::clone(&graph);
            async move { graph.deadlocked().await }
        });
        tokio::task::yield_now().await;
        // Both stuck on a readable eventfd, again and again: no deadlock.
        description.try_write(1).unwrap();
        for _ in 0..100 {
            let (a_read, b_read) = (
                observer(&a, description, Interest::Read),
                observer(&b, description, Interest::Read),
            );
            a_read.parked();
            b_read.parked();
        }
        tokio::task::yield_now().await;
        assert!(!check.is_finished());
        // Then with nothing to read: the check, notified long ago, sees it.
        description.try_read().unwrap();
        let a_read = observer(&a, description, Interest::Read);
        let b_read = observer(&b, description, Interest::Read);
        a_read.parked();
        b_read.parked();
        let stuck = check.await.unwrap();
        assert_eq!(stuck.len(), 2);
    }
}
