//! The per-guest context ([`EventfdCtx`]) and the view host calls borrow
//! from a store ([`EventfdView`]), as wasmtime-wasi has `WasiCtx` and
//! `WasiView`.

use std::sync::Arc;

use wasmtime::component::{Resource, ResourceTable};

use crate::kernel::eventfd::CreateFlags;
use crate::kernel::waits::{GuestParkObserver, Interest, ObservedOp, PollParked, Waiting};
use crate::{Description, DescriptionTable, Descriptor, Errno};

/// The eventfd state of one guest: the host's shared table and the eventfds
/// handed to this guest by name.
pub struct EventfdCtx {
    pub(crate) table: DescriptionTable,
    pub(crate) preopens: Vec<(String, Descriptor)>,
    /// How many `eventfd` resources a component guest holds now.
    pub(crate) descriptors: usize,
    /// At most this many descriptors per guest (`EMFILE` beyond).
    pub(crate) max_descriptors: usize,
    /// Told of this guest's waits, when the host looks (for deadlocks).
    pub(crate) park_observer: Option<Arc<dyn GuestParkObserver>>,
    /// Set by the linker's view of a WASI 0.2 store when its `WasiView` and
    /// `EventfdView` return different resource tables: pollables pushed
    /// into ours would be invisible to `wasi:io/poll`.
    pub(crate) wasi_table_differs: bool,
}

impl EventfdCtx {
    /// The default limit on descriptors per guest: Linux's usual soft
    /// limit on open files.
    pub const DEFAULT_MAX_DESCRIPTORS: usize = 1024;

    /// Starts a context on the host's shared description table.
    pub fn builder(table: &DescriptionTable) -> EventfdCtxBuilder {
        EventfdCtxBuilder {
            ctx: EventfdCtx {
                table: table.clone(),
                preopens: Vec::new(),
                descriptors: 0,
                max_descriptors: Self::DEFAULT_MAX_DESCRIPTORS,
                park_observer: None,
                wasi_table_differs: false,
            },
        }
    }

    /// The description table this guest creates its eventfds in.
    pub fn table(&self) -> &DescriptionTable {
        &self.table
    }

    /// How many eventfd descriptors this component guest holds (a core
    /// module's fds are counted by its fd table, [`crate::p1`]).
    pub fn descriptors(&self) -> usize {
        self.descriptors
    }

    /// The most descriptors the guest may hold: eventfd resources of a
    /// component, or the bound on fd numbers of a core module (`EMFILE`).
    pub fn max_descriptors(&self) -> usize {
        self.max_descriptors
    }

    /// What is told of this guest's waits, if anything is
    /// ([`EventfdCtxBuilder::park_observer`]): a host that wraps
    /// `wasi:io/poll` tells it of the guest's polls through this.
    pub fn park_observer(&self) -> Option<&Arc<dyn GuestParkObserver>> {
        self.park_observer.as_ref()
    }

    /// The observer of one operation of this guest that may park on
    /// `description` for `interest`, if the guest's waits are observed.
    pub(crate) fn observer<'a>(
        &'a self,
        description: &'a Arc<Description>,
        interest: Interest,
    ) -> Option<ObservedOp<'a>> {
        self.park_observer
            .as_deref()
            .map(|guest| ObservedOp::new(guest, description, interest))
    }

    /// Tells the guest's observer, if any, that a core module's poll
    /// without a timeout waits on `waits` alone, until the returned guard
    /// drops.
    pub(crate) fn park_poll(&self, waits: &[Waiting]) -> Option<PollParked<'_>> {
        self.park_observer
            .as_deref()
            .map(|guest| PollParked::new(guest, waits.to_vec()))
    }

    /// A descriptor of a new description, if the guest may hold one more
    /// (`EMFILE`) and the host one more description (`ENFILE`): `eventfd`
    /// for every front end, which then hands it out as its own handle.
    pub(crate) fn new_descriptor(
        &self,
        initval: u32,
        flags: CreateFlags,
    ) -> Result<Descriptor, Errno> {
        self.check_descriptor_limit()?;
        self.table.create(initval, flags)
    }

    /// `dup` of `descriptor`, if the guest may hold one more.
    pub(crate) fn dup_descriptor(&self, descriptor: &Descriptor) -> Result<Descriptor, Errno> {
        self.check_descriptor_limit()?;
        Ok(descriptor.dup())
    }

    /// A fresh descriptor of the preopen `name` (`None`: no such preopen),
    /// if the guest may hold one more.
    pub(crate) fn preopened(&self, name: &[u8]) -> Option<Result<Descriptor, Errno>> {
        let (_, descriptor) = self
            .preopens
            .iter()
            .find(|(preopen, _)| preopen.as_bytes() == name)?;
        Some(self.dup_descriptor(descriptor))
    }

    /// `EMFILE` unless the guest may hold one more descriptor.
    pub(crate) fn check_descriptor_limit(&self) -> Result<(), Errno> {
        if self.descriptors() >= self.max_descriptors {
            Err(Errno::Mfile)
        } else {
            Ok(())
        }
    }
}

/// Builds an [`EventfdCtx`].
pub struct EventfdCtxBuilder {
    ctx: EventfdCtx,
}

impl EventfdCtxBuilder {
    /// Shares the description of `descriptor` with the guest under `name`.
    ///
    /// The context keeps a descriptor of its own (a dup), and every call of
    /// the guest's `get-eventfds` hands out fresh ones.
    pub fn preopen(mut self, name: impl Into<String>, descriptor: &Descriptor) -> Self {
        self.ctx.preopens.push((name.into(), descriptor.dup()));
        self
    }

    /// Limits the guest to `max` descriptors at once; calls that would
    /// make more fail with `EMFILE` (`too-many-descriptors`).
    pub fn max_descriptors(mut self, max: usize) -> Self {
        self.ctx.max_descriptors = max;
        self
    }

    /// Tells `observer` of every wait of the guest: when its operations
    /// park and resume (see [`GuestParkObserver`] for when, and on which
    /// thread). The runner's deadlock detector is one; without one the
    /// waits cost nothing extra.
    pub fn park_observer(mut self, observer: Arc<dyn GuestParkObserver>) -> Self {
        self.ctx.park_observer = Some(observer);
        self
    }

    /// The finished context.
    pub fn build(self) -> EventfdCtx {
        self.ctx
    }
}

/// What eventfd host calls borrow from the store: the guest's context and
/// the store's resource table (the same one wasmtime-wasi uses).
pub struct EventfdCtxView<'a> {
    /// The guest's eventfd context.
    pub ctx: &'a mut EventfdCtx,
    /// The store's resource table, shared with [`wasmtime_wasi::WasiView`].
    pub table: &'a mut ResourceTable,
}

/// Implemented by a store's data to give eventfd host calls their view.
pub trait EventfdView: Send {
    /// The eventfd context and the resource table of this store.
    fn eventfd(&mut self) -> EventfdCtxView<'_>;
}

/// What every front end (WASI 0.2, WASI 0.3) does on a guest's descriptors,
/// with the guest's limits checked in one place.
impl EventfdCtxView<'_> {
    /// The description behind the guest's descriptor `fd`.
    pub(crate) fn description(
        &self,
        fd: &Resource<Descriptor>,
    ) -> wasmtime::Result<&Arc<Description>> {
        Ok(self.table.get(fd)?.description())
    }

    /// Hands `descriptor` to the guest, counting it against its limit.
    pub(crate) fn push(
        &mut self,
        descriptor: Descriptor,
    ) -> wasmtime::Result<Resource<Descriptor>> {
        let resource = self.table.push(descriptor)?;
        self.ctx.descriptors += 1;
        Ok(resource)
    }

    /// `eventfd(initval, flags)` for either interface.
    pub(crate) fn create_descriptor(
        &mut self,
        initval: u32,
        flags: CreateFlags,
    ) -> wasmtime::Result<Result<Resource<Descriptor>, Errno>> {
        match self.ctx.new_descriptor(initval, flags) {
            Ok(descriptor) => Ok(Ok(self.push(descriptor)?)),
            Err(errno) => Ok(Err(errno)),
        }
    }

    /// `dup(fd)` for either interface.
    pub(crate) fn dup_descriptor(
        &mut self,
        fd: &Resource<Descriptor>,
    ) -> wasmtime::Result<Result<Resource<Descriptor>, Errno>> {
        match self.ctx.dup_descriptor(self.table.get(fd)?) {
            Ok(dup) => Ok(Ok(self.push(dup)?)),
            Err(errno) => Ok(Err(errno)),
        }
    }

    /// Drops the guest's descriptor `fd`, for either interface.
    pub(crate) fn close_descriptor(&mut self, fd: Resource<Descriptor>) -> wasmtime::Result<()> {
        self.table.delete(fd)?;
        self.ctx.descriptors -= 1;
        Ok(())
    }

    /// Fresh descriptors of every preopen, for either interface.
    pub(crate) fn hand_out_preopens(
        &mut self,
    ) -> wasmtime::Result<Vec<(Resource<Descriptor>, String)>> {
        // This call has no error to return: a guest that collects preopens
        // past its descriptor limit is stopped instead.
        if self.ctx.descriptors() + self.ctx.preopens.len() > self.ctx.max_descriptors {
            wasmtime::bail!(
                "get-eventfds: the guest would hold more than {} eventfd descriptors",
                self.ctx.max_descriptors
            );
        }
        let mut handed_out = Vec::with_capacity(self.ctx.preopens.len());
        for (name, descriptor) in &self.ctx.preopens {
            handed_out.push((self.table.push(descriptor.dup())?, name.clone()));
            self.ctx.descriptors += 1;
        }
        Ok(handed_out)
    }
}
