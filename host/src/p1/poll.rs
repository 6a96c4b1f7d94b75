//! `poll_oneoff` over every kind of fd at once, as Linux's `do_poll`
//! (`fs/select.c`) asks each file for its readiness: wasi-libc makes both
//! `poll` and `select` of it.
//!
//! Each subscription goes where its fd lives. An eventfd's readiness is its
//! description's ([`Description::is_ready`]); regular files and directories
//! are always ready, as POSIX has it; a bad fd is an `EBADF` event at once
//! (wasi-libc's `POLLNVAL`, as Linux reports it); clocks and stream fds
//! (stdin, stdout, stderr, sockets) are wasmtime-wasi's, asked in one
//! `poll_oneoff` of their own with their numbers there. The call waits for
//! whichever comes first: wasmtime-wasi's poll, or a change of an eventfd
//! (a wake-up of its wait queue, after which readiness is checked again).
//! Whatever is ready then is reported together, in subscription order.
//!
//! An epoll fd is readable while one of its entries is ready
//! (`ep_eventpoll_poll`), and never writable; a wake-up of its ready list
//! ends the wait as an eventfd's does. The stdio streams it watches are
//! asked of wasmtime-wasi beside the other subscriptions, as hidden ones
//! whose answers go to the epoll (see [`ExternalFile`]).

use std::future::Future;
use std::sync::Arc;
use std::task::Poll;

use wasmtime_wasi::p1::types;
use wasmtime_wasi::p1::wasi_snapshot_preview1::WasiSnapshotPreview1;
use wiggle::{GuestMemory, GuestPtr, GuestType};

use super::{EventfdP1Ctx, File};
use crate::kernel::epoll::Epoll;
use crate::kernel::poll::{ExternalFile, PollMask};
use crate::kernel::socket::Socket;
use crate::kernel::wait_queue::{any_woken, QueueListener};
use crate::Waiting;
use crate::{Description, Readiness};

/// Where one subscription is answered.
enum Entry {
    /// By wasmtime-wasi: a clock, or a stream fd under its number there.
    Inner(types::Subscription),
    /// At once, with this error (`Success` for a regular file or a
    /// directory, `Badf` for a number the guest does not have).
    Now(types::Subscription, types::Errno),
    /// By an eventfd's readiness.
    Eventfd(types::Subscription, Arc<Description>, Readiness),
    /// By an epoll instance's readiness.
    Epoll(types::Subscription, Arc<Epoll>, Readiness),
    /// By wasmtime-wasi, for an epoll: a stream an epoll watches (its
    /// handle there in the subscription), whose answer is recorded in the
    /// stream as the bit given, and never reported.
    Hidden(types::Subscription, Arc<ExternalFile>, PollMask),
    /// By a socket's readiness (the host kernel's `poll`).
    Socket(types::Subscription, Arc<Socket>, Readiness),
}

/// Polls every socket of `sockets` for an edge (each registering `cx`):
/// whether one of them became ready in a way asked of it.
fn any_edge(sockets: &[(Arc<Socket>, PollMask)], cx: &mut std::task::Context<'_>) -> bool {
    let mut any = false;
    for (socket, asked) in sockets {
        any |= socket.poll_edge(cx, *asked).is_ready();
    }
    any
}

/// Completes once any of `listeners` is woken or a socket of `sockets`
/// becomes ready.
pub(crate) async fn until_woken_or_edge(
    listeners: &mut [QueueListener<'_>],
    sockets: &[(Arc<Socket>, PollMask)],
) {
    std::future::poll_fn(|cx| {
        if any_woken(listeners, cx) | any_edge(sockets, cx) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await
}

impl Entry {
    /// The event of this subscription if it is ready without waiting
    /// (eventfds and the always-ready; wasmtime-wasi's are asked apart).
    fn ready_now(&self) -> Option<types::Event> {
        match self {
            Entry::Inner(_) | Entry::Hidden(..) => None,
            Entry::Now(sub, error) => Some(event(sub, *error, 1)),
            Entry::Eventfd(sub, description, readiness) => description
                .is_ready(*readiness)
                .then(|| event(sub, types::Errno::Success, 8)),
            Entry::Epoll(sub, epoll, Readiness::Readable) => epoll
                .is_ready()
                .then(|| event(sub, types::Errno::Success, 1)),
            Entry::Epoll(_, _, Readiness::Writable) => None,
            Entry::Socket(sub, socket, readiness) => {
                let mask = socket.poll_mask();
                let wanted = match readiness {
                    Readiness::Readable => PollMask::IN | PollMask::RDHUP,
                    Readiness::Writable => PollMask::OUT,
                } | PollMask::ERR
                    | PollMask::HUP;
                mask.intersects(wanted).then(|| {
                    let mut event = event(sub, types::Errno::Success, 1);
                    if mask.contains(PollMask::HUP) {
                        event.fd_readwrite.flags = types::Eventrwflags::FD_READWRITE_HANGUP;
                    }
                    event
                })
            }
        }
    }
}

/// The event answering `sub`: for an fd, `nbytes` bytes can move without
/// waiting.
fn event(sub: &types::Subscription, error: types::Errno, nbytes: u64) -> types::Event {
    let type_ = match sub.u {
        types::SubscriptionU::Clock(_) => types::Eventtype::Clock,
        types::SubscriptionU::FdRead(_) => types::Eventtype::FdRead,
        types::SubscriptionU::FdWrite(_) => types::Eventtype::FdWrite,
    };
    types::Event {
        userdata: sub.userdata,
        error,
        type_,
        fd_readwrite: types::EventFdReadwrite {
            nbytes: if error == types::Errno::Success {
                nbytes
            } else {
                0
            },
            flags: types::Eventrwflags::empty(),
        },
    }
}

/// Marks the zero-timeout clock added to ask wasmtime-wasi without waiting.
const AT_ONCE: u64 = u64::MAX;

/// The hidden subscriptions asking wasmtime-wasi about `externals` (each
/// stream with the events epoll asks of it): readable for `EPOLLIN`,
/// writable for `EPOLLOUT`.
fn hidden_entries(externals: &[(Arc<ExternalFile>, PollMask)]) -> Vec<Entry> {
    let mut entries = Vec::new();
    for (file, asked) in externals {
        // Only what the stream can be asked: wasmtime-wasi refuses a read
        // subscription on stdout (EBADF) rather than never answering it.
        let asked = *asked & file.directions();
        let fd = types::SubscriptionFdReadwrite {
            file_descriptor: file.handle().into(),
        };
        if asked.contains(PollMask::IN) {
            let sub = types::Subscription {
                userdata: 0,
                u: types::SubscriptionU::FdRead(fd.clone()),
            };
            entries.push(Entry::Hidden(sub, Arc::clone(file), PollMask::IN));
        }
        if asked.contains(PollMask::OUT) {
            let sub = types::Subscription {
                userdata: 0,
                u: types::SubscriptionU::FdWrite(fd),
            };
            entries.push(Entry::Hidden(sub, Arc::clone(file), PollMask::OUT));
        }
    }
    entries
}

impl EventfdP1Ctx {
    /// Where the subscription `sub` is answered. Relative timeouts become
    /// deadlines on the monotonic clock, so that asking wasmtime-wasi again
    /// after an eventfd's wake-up does not start the timeout over.
    fn entry(
        &mut self,
        memory: &mut GuestMemory<'_>,
        mut sub: types::Subscription,
    ) -> Result<Entry, types::Error> {
        let (fd, readiness) = match &mut sub.u {
            types::SubscriptionU::Clock(clock) => {
                let relative = !clock
                    .flags
                    .contains(types::Subclockflags::SUBSCRIPTION_CLOCK_ABSTIME);
                // wasmtime-wasi times a relative realtime clock as a
                // monotonic one; an absolute realtime one it converts each
                // call, which keeps its deadline.
                let known = matches!(
                    clock.id,
                    types::Clockid::Monotonic | types::Clockid::Realtime
                );
                if relative && known {
                    let now = self
                        .wasi
                        .clock_time_get(memory, types::Clockid::Monotonic, 1)?;
                    clock.id = types::Clockid::Monotonic;
                    clock.timeout = now.saturating_add(clock.timeout);
                    clock.flags |= types::Subclockflags::SUBSCRIPTION_CLOCK_ABSTIME;
                }
                return Ok(Entry::Inner(sub));
            }
            types::SubscriptionU::FdRead(rw) => (&mut rw.file_descriptor, Readiness::Readable),
            types::SubscriptionU::FdWrite(rw) => (&mut rw.file_descriptor, Readiness::Writable),
        };
        match self.fds.get(u32::from(*fd)) {
            None => Ok(Entry::Now(sub, types::Errno::Badf)),
            Some(File::Eventfd(descriptor)) => {
                let description = Arc::clone(descriptor.description());
                Ok(Entry::Eventfd(sub, description, readiness))
            }
            Some(File::Epoll { epoll, .. }) => Ok(Entry::Epoll(sub, Arc::clone(epoll), readiness)),
            Some(File::Socket { socket, .. }) => {
                Ok(Entry::Socket(sub, Arc::clone(socket), readiness))
            }
            Some(File::Wasi { file, .. }) if file.always_ready => {
                Ok(Entry::Now(sub, types::Errno::Success))
            }
            Some(File::Wasi { file, .. }) => {
                *fd = file.fd.into();
                Ok(Entry::Inner(sub))
            }
        }
    }

    /// `poll_oneoff(subs, events, nsubscriptions)`: see the module docs.
    pub(super) async fn poll(
        &mut self,
        memory: &mut GuestMemory<'_>,
        subs: GuestPtr<types::Subscription>,
        events: GuestPtr<types::Event>,
        nsubscriptions: types::Size,
    ) -> Result<types::Size, types::Error> {
        if nsubscriptions == 0 {
            // As wasmtime-wasi: preview 1 cannot wait for nothing.
            return Err(types::Errno::Inval.into());
        }
        let mut entries = Vec::new();
        for sub in subs.as_array(nsubscriptions).iter() {
            let sub = memory.read(sub?)?;
            let entry = self.entry(memory, sub)?;
            entries.push(entry);
        }
        // The stdio streams epoll fds among the subscriptions watch: asked
        // of wasmtime-wasi with the others, as hidden subscriptions.
        let externals = entries
            .iter()
            .filter_map(|entry| match entry {
                Entry::Epoll(_, epoll, Readiness::Readable) => Some(epoll.external_files()),
                _ => None,
            })
            .flatten()
            .collect::<Vec<_>>();
        entries.extend(hidden_entries(&externals));
        let hidden: Vec<usize> = entries
            .iter()
            .enumerate()
            .filter_map(|(i, entry)| matches!(entry, Entry::Hidden(..)).then_some(i))
            .collect();
        let inner: Vec<usize> = entries
            .iter()
            .enumerate()
            .filter_map(|(i, entry)| {
                matches!(entry, Entry::Inner(_) | Entry::Hidden(..)).then_some(i)
            })
            .collect();
        let interests = Waiting::distinct(entries.iter().filter_map(|entry| match entry {
            Entry::Eventfd(_, description, readiness) => Some((description, *readiness)),
            _ => None,
        }));
        // The sockets among the subscriptions, and those the epolls watch:
        // polled for edges while the call waits.
        let mut sockets: Vec<(Arc<Socket>, PollMask)> = entries
            .iter()
            .filter_map(|entry| match entry {
                Entry::Socket(_, socket, Readiness::Readable) => {
                    Some((Arc::clone(socket), PollMask::IN))
                }
                Entry::Socket(_, socket, Readiness::Writable) => {
                    Some((Arc::clone(socket), PollMask::OUT))
                }
                _ => None,
            })
            .collect();
        for entry in &entries {
            if let Entry::Epoll(_, epoll, Readiness::Readable) = entry {
                sockets.extend(epoll.sockets());
            }
        }
        let epolls: Vec<&Arc<Epoll>> = entries
            .iter()
            .filter_map(|entry| match entry {
                Entry::Epoll(_, epoll, Readiness::Readable) => Some(epoll),
                _ => None,
            })
            .collect();

        let mut ready = loop {
            // Listen first, then check, so that no change between the two
            // is missed.
            if !hidden.is_empty() {
                // What the epolls' streams are now, before their
                // readiness is looked at.
                self.poll_inner(&entries, &hidden, true, &mut [], &[])
                    .await?;
            }
            let mut listeners: Vec<QueueListener<'_>> =
                interests.iter().map(Waiting::listen).collect();
            listeners.extend(epolls.iter().map(|epoll| epoll.listen_poll()));
            let mut ready: Vec<(usize, types::Event)> = entries
                .iter()
                .enumerate()
                .filter_map(|(i, entry)| Some((i, entry.ready_now()?)))
                .collect();
            if !ready.is_empty() {
                if !inner.is_empty() {
                    // What wasmtime-wasi has ready too, without waiting.
                    let inner_ready = self
                        .poll_inner(&entries, &inner, true, &mut [], &[])
                        .await?;
                    ready.extend(inner_ready.unwrap_or_default());
                }
                break ready;
            }
            if inner.is_empty() {
                // Eventfds alone, with no timeout: the guest waits on them
                // and nothing else, parked as one wait in the deadlock
                // detector's graph.
                // An epoll's waits are those of the eventfds it watches
                // (None with a stream watched: one that can become ready
                // makes this poll one of wasmtime-wasi's, which never
                // parks; one that cannot adds no wait). O(registered):
                // only for a host that observes.
                let with_epolls;
                let parked: &[Waiting] =
                    match epolls.is_empty() || self.eventfd.park_observer.is_none() {
                        true => &interests,
                        false => {
                            let watched: Vec<_> = epolls
                                .iter()
                                .filter_map(|epoll| epoll.watched_eventfds())
                                .flatten()
                                .collect();
                            let mut all = interests.clone();
                            all.extend(Waiting::distinct(watched.iter().map(|(d, r)| (d, *r))));
                            with_epolls = all;
                            &with_epolls
                        }
                    };
                // A socket can be made ready from outside: not stuck.
                let _parked = sockets.is_empty().then(|| self.eventfd.park_poll(parked));
                until_woken_or_edge(&mut listeners, &sockets).await;
                continue;
            }
            if let Some(inner_ready) = self
                .poll_inner(&entries, &inner, false, &mut listeners, &sockets)
                .await?
            {
                // Eventfds that became ready meanwhile are reported too.
                drop(listeners);
                let mut ready = inner_ready;
                ready.extend(
                    entries
                        .iter()
                        .enumerate()
                        .filter_map(|(i, entry)| Some((i, entry.ready_now()?))),
                );
                // Only a hidden subscription answered, and made no epoll
                // ready (its entry asked for something else): wait on.
                if !ready.is_empty() {
                    break ready;
                }
            }
        };

        ready.sort_by_key(|(i, _)| *i);
        let events = events.as_array(nsubscriptions);
        let mut count: types::Size = 0;
        for ((_, event), place) in ready.into_iter().zip(events.iter()) {
            memory.write(place?, event)?;
            count += 1;
        }
        Ok(count)
    }

    /// Asks wasmtime-wasi about the stdio streams `externals` that an epoll
    /// watches (each with the events asked of it), and records what it
    /// sees in them, which wakes the epoll's entries: at once when `wait`
    /// is `None`; otherwise until a stream is ready, one of `listeners`
    /// fires, or the timeout `Some(d)` passes (`None`: no timeout).
    pub(crate) async fn observe_streams(
        &mut self,
        externals: &[(Arc<ExternalFile>, PollMask)],
        wait: Option<Option<std::time::Duration>>,
        listeners: &mut [QueueListener<'_>],
        sockets: &[(Arc<Socket>, PollMask)],
    ) -> Result<(), types::Error> {
        let mut entries = hidden_entries(externals);
        if entries.is_empty() {
            // Nothing the streams can be asked (stdout watched for
            // reading): only the wake-ups and the timeout can end this.
            match wait {
                None => {}
                Some(None) => until_woken_or_edge(listeners, sockets).await,
                Some(Some(timeout)) => {
                    let _ = tokio::time::timeout(timeout, until_woken_or_edge(listeners, sockets))
                        .await;
                }
            }
            return Ok(());
        }
        if let Some(Some(timeout)) = wait {
            let clock = types::SubscriptionClock {
                id: types::Clockid::Monotonic,
                timeout: u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX),
                precision: 0,
                flags: types::Subclockflags::empty(),
            };
            entries.push(Entry::Inner(types::Subscription {
                userdata: 0,
                u: types::SubscriptionU::Clock(clock),
            }));
        }
        let all: Vec<usize> = (0..entries.len()).collect();
        self.poll_inner(&entries, &all, wait.is_none(), listeners, sockets)
            .await?;
        Ok(())
    }

    /// Asks wasmtime-wasi about the subscriptions `inner` of `entries`
    /// (their fds already its own numbers), in a `poll_oneoff` on a scratch
    /// memory of the host's: `at_once` adds a clock of no timeout, so the
    /// call reports what is ready now without waiting. Otherwise it waits,
    /// unless one of `listeners` fires first: then `None`, and its poll is
    /// dropped (wasmtime-wasi frees what it made for it on drop).
    async fn poll_inner(
        &mut self,
        entries: &[Entry],
        inner: &[usize],
        at_once: bool,
        listeners: &mut [QueueListener<'_>],
        sockets: &[(Arc<Socket>, PollMask)],
    ) -> Result<Option<Vec<(usize, types::Event)>>, types::Error> {
        let sub_size = types::Subscription::guest_size();
        let event_size = types::Event::guest_size();
        // wasmtime-wasi serves a poll of one relative clock alone with
        // `std::thread::sleep` when blocking the current thread is allowed
        // (a seeded run allows it, for files in scheduler order), which
        // would sleep the host's time and hold every guest: that clock is
        // asked twice, the copy as AT_ONCE (left out of the answer), so
        // that it sleeps on tokio's clock as every other poll does.
        let lone_relative_clock = match inner.first().and_then(|&i| entries.get(i)) {
            Some(Entry::Inner(sub)) if inner.len() == 1 && !at_once => match &sub.u {
                types::SubscriptionU::Clock(clock)
                    if !clock
                        .flags
                        .contains(types::Subclockflags::SUBSCRIPTION_CLOCK_ABSTIME) =>
                {
                    Some(sub.clone())
                }
                _ => None,
            },
            _ => None,
        };
        let count = inner.len() + usize::from(at_once || lone_relative_clock.is_some());
        let count32 = u32::try_from(count).map_err(|_| types::Errno::Overflow)?;
        let events_at = sub_size
            .checked_mul(count32)
            .ok_or(types::Errno::Overflow)?;
        let mut scratch = vec![0u8; count * (sub_size + event_size) as usize];
        let mut memory = GuestMemory::Unshared(&mut scratch);
        let subs = GuestPtr::<types::Subscription>::new(0).as_array(count32);
        let mut places = subs.iter();
        for &i in inner {
            let (Some(Entry::Inner(sub)) | Some(Entry::Hidden(sub, ..))) = entries.get(i) else {
                continue;
            };
            let mut sub = sub.clone();
            sub.userdata = i as u64;
            if let Some(place) = places.next() {
                memory.write(place?, sub)?;
            }
        }
        if at_once {
            if let Some(place) = places.next() {
                let clock = types::SubscriptionClock {
                    id: types::Clockid::Monotonic,
                    timeout: 0,
                    precision: 0,
                    flags: types::Subclockflags::empty(),
                };
                let sub = types::Subscription {
                    userdata: AT_ONCE,
                    u: types::SubscriptionU::Clock(clock),
                };
                memory.write(place?, sub)?;
            }
        }
        if let (Some(mut copy), Some(place)) = (lone_relative_clock, places.next()) {
            copy.userdata = AT_ONCE;
            memory.write(place?, copy)?;
        }
        drop(places);

        self.refuel();
        let events = GuestPtr::<types::Event>::new(events_at);
        let answer = {
            // Dropped at the end of this block, giving the scratch memory
            // back: a poll cut short by an eventfd ends here.
            let mut asked =
                std::pin::pin!(self
                    .wasi
                    .poll_oneoff(&mut memory, subs.as_ptr(), events, count32));
            std::future::poll_fn(|cx| {
                if let Poll::Ready(answer) = asked.as_mut().poll(cx) {
                    return Poll::Ready(Some(answer));
                }
                if any_woken(listeners, cx) | any_edge(sockets, cx) {
                    return Poll::Ready(None);
                }
                Poll::Pending
            })
            .await
        };
        let Some(answered) = answer.transpose()? else {
            return Ok(None);
        };

        let mut ready = Vec::with_capacity(answered as usize);
        let mut streams_ready = Vec::new();
        for place in events.as_array(answered).iter() {
            let mut event = memory.read(place?)?;
            if event.userdata == AT_ONCE {
                continue;
            }
            let i = event.userdata as usize;
            let original = match entries.get(i) {
                Some(Entry::Inner(sub)) => sub.userdata,
                Some(Entry::Hidden(..)) => {
                    streams_ready.push(i);
                    continue;
                }
                _ => continue,
            };
            event.userdata = original;
            ready.push((i, event));
        }
        // What the hidden subscriptions found: ready as answered, the
        // others not (at that moment), recorded in their streams, which
        // wakes the epoll entries watching them.
        for &i in inner {
            if let Some(Entry::Hidden(_, file, bit)) = entries.get(i) {
                let now = match streams_ready.contains(&i) {
                    true => *bit,
                    false => PollMask::empty(),
                };
                file.observed(*bit, now);
            }
        }
        Ok(Some(ready))
    }
}
