//! The host side of the WIT interface: a thin layer that turns guest calls
//! into [`Descriptor`] and [`Description`] operations.

use std::sync::Arc;

use tracing::Instrument as _;
use wasmtime::component::Resource;
use wasmtime_wasi::p2::{DynPollable, Pollable};

use super::bindings::{preopens, types};
use crate::kernel::eventfd::{Description, Readiness};
use crate::kernel::waits::ObservedOp;
use crate::{Descriptor, EventfdCtxView, GuestParkObserver, Interest};

type GuestResult<T> = wasmtime::Result<Result<T, types::ErrorCode>>;

impl EventfdCtxView<'_> {
    pub(crate) fn subscribe(
        &mut self,
        fd: Resource<Descriptor>,
        readiness: Readiness,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        if self.ctx.wasi_table_differs {
            wasmtime::bail!(
                "subscribe: the store's WasiView and EventfdView return different \
                 ResourceTables, so wasi:io/poll could not find this pollable; \
                 both views must return the same table"
            );
        }
        let description = Arc::clone(self.description(&fd)?);
        let park_observer = self.ctx.park_observer.clone();
        // A child of the descriptor, as wasi:io pollables are children of
        // their stream: the guest must drop it before the descriptor.
        let pollable = self.table.push_child(
            ReadinessPollable {
                description,
                readiness,
                park_observer,
            },
            &fd,
        )?;
        wasmtime_wasi::p2::subscribe(self.table, pollable)
    }
}

impl types::Host for EventfdCtxView<'_> {}

impl types::HostEventfd for EventfdCtxView<'_> {
    async fn create(
        &mut self,
        initval: u32,
        flags: types::CreateFlags,
    ) -> GuestResult<Resource<Descriptor>> {
        let _span = tracing::debug_span!("create", initval, ?flags).entered();
        Ok(self
            .create_descriptor(initval, flags.into())?
            .map_err(Into::into))
    }

    async fn read(&mut self, fd: Resource<Descriptor>) -> GuestResult<u64> {
        let span = tracing::debug_span!("read", fd = fd.rep());
        let description = self.description(&fd)?;
        let observer = self.ctx.observer(description, Interest::Read);
        Ok(description
            .read_observed(&observer)
            .instrument(span)
            .await
            .map_err(Into::into))
    }

    async fn write(&mut self, fd: Resource<Descriptor>, value: u64) -> GuestResult<()> {
        let span = tracing::debug_span!("write", fd = fd.rep(), value);
        let description = self.description(&fd)?;
        let observer = self.ctx.observer(description, Interest::Write(value));
        Ok(description
            .write_observed(value, &observer)
            .instrument(span)
            .await
            .map_err(Into::into))
    }

    async fn dup(&mut self, fd: Resource<Descriptor>) -> GuestResult<Resource<Descriptor>> {
        let _span = tracing::debug_span!("dup", fd = fd.rep()).entered();
        Ok(self.dup_descriptor(&fd)?.map_err(Into::into))
    }

    async fn set_nonblocking(
        &mut self,
        fd: Resource<Descriptor>,
        enabled: bool,
    ) -> wasmtime::Result<()> {
        let _span = tracing::debug_span!("set-nonblocking", fd = fd.rep(), enabled).entered();
        self.table.get(&fd)?.set_nonblocking(enabled);
        Ok(())
    }

    async fn set_cloexec(
        &mut self,
        fd: Resource<Descriptor>,
        enabled: bool,
    ) -> wasmtime::Result<()> {
        let _span = tracing::debug_span!("set-cloexec", fd = fd.rep(), enabled).entered();
        self.table.get_mut(&fd)?.set_cloexec(enabled);
        Ok(())
    }

    async fn info(&mut self, fd: Resource<Descriptor>) -> wasmtime::Result<types::Info> {
        let _span = tracing::debug_span!("info", fd = fd.rep()).entered();
        Ok(self.table.get(&fd)?.info().into())
    }

    async fn subscribe_readable(
        &mut self,
        fd: Resource<Descriptor>,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        let _span = tracing::debug_span!("subscribe-readable", fd = fd.rep()).entered();
        self.subscribe(fd, Readiness::Readable)
    }

    async fn subscribe_writable(
        &mut self,
        fd: Resource<Descriptor>,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        let _span = tracing::debug_span!("subscribe-writable", fd = fd.rep()).entered();
        self.subscribe(fd, Readiness::Writable)
    }

    async fn drop(&mut self, fd: Resource<Descriptor>) -> wasmtime::Result<()> {
        let _span = tracing::debug_span!("drop", fd = fd.rep()).entered();
        self.close_descriptor(fd)
    }
}

impl preopens::Host for EventfdCtxView<'_> {
    async fn get_eventfds(&mut self) -> wasmtime::Result<Vec<(Resource<Descriptor>, String)>> {
        let _span = tracing::debug_span!("get-eventfds").entered();
        self.hand_out_preopens()
    }
}

/// The object behind a `subscribe-readable` / `subscribe-writable` pollable.
struct ReadinessPollable {
    description: Arc<Description>,
    readiness: Readiness,
    /// Told of the guest's waits, if the host looks.
    park_observer: Option<Arc<dyn GuestParkObserver>>,
}

#[async_trait::async_trait]
impl Pollable for ReadinessPollable {
    async fn ready(&mut self) {
        let description = &self.description;
        let observer = self
            .park_observer
            .as_deref()
            .map(|guest| ObservedOp::new(guest, description, self.readiness.into()));
        description.ready_observed(self.readiness, &observer).await
    }
}
