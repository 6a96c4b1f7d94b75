//! Who waits on what: the wait graph a runner keeps of its guests, to find
//! deadlocks (every guest waiting on an eventfd that nobody can change).
//!
//! A guest is *parked* while one of its eventfd operations waits for
//! another party (see [`ParkObserver`]). It is *stuck* when it is parked
//! and has nothing else to wait for: a blocking read or write, a core
//! module's `poll` without a timeout, or a `wasi:io/poll` whose every
//! pollable is an eventfd's. The guests are deadlocked when every one still
//! running is stuck and no wait it is stuck on could succeed now: nobody is
//! left to write or read, so nothing will ever change. That holds only if
//! the host itself will not touch the eventfds either, which is why a
//! runner asks for the check ([`RunOptions::detect_deadlocks`]).
//!
//! [`RunOptions::detect_deadlocks`]: crate::runner::RunOptions::detect_deadlocks

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::description::Description;
use crate::ParkObserver;

/// What a parked operation waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interest {
    /// A blocking read: the counter to go above 0.
    Read,
    /// A blocking write of this value: room for it.
    Write(u64),
    /// A readable pollable or `POLLIN`: the counter to go above 0.
    Readable,
    /// A writable pollable or `POLLOUT`: room for a write of 1.
    Writable,
}

/// One parked operation: the description and what it waits for there.
#[derive(Clone)]
pub struct Waiting {
    /// The description waited on.
    pub description: Arc<Description>,
    /// What the operation needs from it.
    pub interest: Interest,
}

impl Waiting {
    /// Whether the operation could proceed now.
    pub fn could_proceed(&self) -> bool {
        let d = &self.description;
        match self.interest {
            Interest::Read | Interest::Readable => d.is_readable(),
            Interest::Write(value) => d.has_room_for(value),
            Interest::Writable => d.is_writable(),
        }
    }
}

/// The wait graph of a set of guests.
#[derive(Default)]
pub struct WaitGraph {
    guests: Mutex<HashMap<u64, GuestEntry>>,
    /// Notified whenever a guest parks or leaves: the moments a deadlock
    /// can begin.
    changed: tokio::sync::Notify,
    /// Names of descriptions, for reports.
    names: Mutex<HashMap<u64, String>>,
}

struct GuestEntry {
    name: String,
    /// Parked operations by token (tokens start at 1).
    parked: Vec<(u64, Waiting)>,
    /// Inside `wasi:io/poll` on this many pollables.
    polling: Option<usize>,
    next_token: u64,
}

impl GuestEntry {
    fn is_stuck(&self) -> bool {
        match self.polling {
            // Every pollable of the poll is an eventfd's, and parked.
            Some(pollables) => pollables > 0 && self.parked.len() == pollables,
            // Outside a poll only a blocking read or write waits: a pollable
            // asked `ready()` parks for a moment and returns at once.
            None => self
                .parked
                .iter()
                .any(|(_, w)| matches!(w.interest, Interest::Read | Interest::Write(_))),
        }
    }
}

/// A guest stuck in a deadlock, for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StuckGuest {
    /// The id the guest joined the graph with.
    pub id: u64,
    /// The guest's name.
    pub guest: String,
    /// What it waits on, e.g. "read of eventfd `ping` (id 1, count 0)".
    pub waits_on: Vec<String>,
}

impl fmt::Display for StuckGuest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "guest `{}` waits: {}",
            self.guest,
            self.waits_on.join(", or ")
        )
    }
}

impl WaitGraph {
    fn guests(&self) -> MutexGuard<'_, HashMap<u64, GuestEntry>> {
        // Each critical section leaves the map consistent: poisoning only
        // means another thread panicked elsewhere.
        self.guests.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Names description `id` in reports (e.g. after its `--eventfd` name).
    pub fn name_description(&self, id: u64, name: &str) {
        self.names
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, name.to_string());
    }

    /// Adds a running guest; it leaves the graph when the handle drops.
    pub fn join(self: &Arc<Self>, id: u64, name: &str) -> Arc<GuestWaits> {
        self.guests().insert(
            id,
            GuestEntry {
                name: name.to_string(),
                parked: Vec::new(),
                polling: None,
                next_token: 0,
            },
        );
        Arc::new(GuestWaits {
            graph: Arc::clone(self),
            id,
        })
    }

    /// The deadlock, if every guest is stuck on waits none of which could
    /// proceed; `None` while any guest runs or could.
    pub fn deadlock(&self) -> Option<Vec<StuckGuest>> {
        let guests = self.guests();
        if guests.is_empty() {
            return None;
        }
        let all_stuck = guests
            .values()
            .all(|guest| guest.is_stuck() && !guest.parked.iter().any(|(_, w)| w.could_proceed()));
        if !all_stuck {
            return None;
        }
        let names = self.names.lock().unwrap_or_else(|p| p.into_inner());
        let mut stuck: Vec<StuckGuest> = guests
            .iter()
            .map(|(&id, guest)| StuckGuest {
                id,
                guest: guest.name.clone(),
                waits_on: guest
                    .parked
                    .iter()
                    .map(|(_, waiting)| describe(waiting, &names))
                    .collect(),
            })
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
    fn with_entry<R>(&self, f: impl FnOnce(&mut GuestEntry) -> R) -> Option<R> {
        self.graph.guests().get_mut(&self.id).map(f)
    }

    /// An observer for one operation of this guest that would wait on
    /// `description` for `interest`. Cheap to make: it touches the graph
    /// only if the operation really parks.
    pub fn observer<'a>(
        &'a self,
        description: &'a Arc<Description>,
        interest: Interest,
    ) -> WaitObserver<'a> {
        WaitObserver {
            guest: self,
            description,
            interest,
            token: AtomicU64::new(0),
        }
    }

    /// The guest entered `wasi:io/poll` on `pollables` pollables.
    pub fn enter_poll(&self, pollables: usize) {
        self.with_entry(|entry| entry.polling = Some(pollables));
    }

    /// The guest left `wasi:io/poll`.
    pub fn leave_poll(&self) {
        self.with_entry(|entry| entry.polling = None);
    }
}

impl Drop for GuestWaits {
    fn drop(&mut self) {
        self.graph.guests().remove(&self.id);
        // The guest that left may have been the last one running.
        self.graph.changed.notify_waiters();
    }
}

/// Records one operation's parking in the graph.
pub struct WaitObserver<'a> {
    guest: &'a GuestWaits,
    description: &'a Arc<Description>,
    interest: Interest,
    /// The token of the graph entry while parked, 0 otherwise.
    token: AtomicU64,
}

impl ParkObserver for WaitObserver<'_> {
    fn parked(&self) {
        let waiting = Waiting {
            description: Arc::clone(self.description),
            interest: self.interest,
        };
        let token = self.guest.with_entry(|entry| {
            entry.next_token += 1;
            entry.parked.push((entry.next_token, waiting));
            entry.next_token
        });
        self.token.store(token.unwrap_or(0), Ordering::SeqCst);
        self.guest.graph.changed.notify_waiters();
    }

    fn resumed(&self) {
        let token = self.token.swap(0, Ordering::SeqCst);
        if token != 0 {
            self.guest
                .with_entry(|entry| entry.parked.retain(|(t, _)| *t != token));
        }
    }
}

impl Drop for WaitObserver<'_> {
    fn drop(&mut self) {
        // An operation dropped while parked no longer waits.
        self.resumed();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CreateFlags, DescriptionTable};

    #[test]
    fn only_blocking_waits_and_polls_make_a_guest_stuck() {
        let graph = Arc::new(WaitGraph::default());
        let waits = graph.join(1, "lone");
        let table = DescriptionTable::new();
        let fd = table.create(0, CreateFlags::default()).unwrap();
        let description = fd.description();

        // A pollable's `ready()` outside a poll parks for a moment only.
        let ready_check = waits.observer(description, Interest::Readable);
        ready_check.parked();
        assert!(graph.deadlock().is_none());
        // The same wait inside a poll of that one pollable is stuck.
        waits.enter_poll(1);
        assert!(graph.deadlock().is_some());
        waits.leave_poll();
        ready_check.resumed();
        assert!(graph.deadlock().is_none());

        let read = waits.observer(description, Interest::Read);
        read.parked();
        let stuck = graph
            .deadlock()
            .expect("a blocking read of 0 with nobody left");
        assert_eq!(stuck[0].waits_on.len(), 1);
        read.resumed();
        assert!(graph.deadlock().is_none());
    }
}
