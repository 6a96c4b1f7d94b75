//! The host side of the WIT interface: a thin layer that turns guest calls
//! into [`Descriptor`] and [`Description`] operations.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tracing::Instrument as _;
use wasmtime::component::Resource;
use wasmtime_wasi::p2::{DynPollable, Pollable};

use super::bindings::{preopens, types};
use crate::kernel::eventfd::{Description, Errno, Readiness};
use crate::kernel::waits::ObservedOp;
use crate::{Descriptor, EventfdCtx, EventfdCtxView, GuestParkObserver, Interest};

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
        let result = match self.read_now(&fd)? {
            Attempt::Done(result) => result,
            Attempt::Wait(wait) => wait.await,
        };
        Ok(result.map_err(Into::into))
    }

    async fn write(&mut self, fd: Resource<Descriptor>, value: u64) -> GuestResult<()> {
        let result = match self.write_now(&fd, value)? {
            Attempt::Done(result) => result,
            Attempt::Wait(wait) => wait.await,
        };
        Ok(result.map_err(Into::into))
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

/// A read or write done at once, or the wait it has to make.
///
/// A read or write that need not wait is done before the host call's
/// future is first suspended; one that must (a blocking description whose
/// counter is 0, or has no room) waits in a future of its own, boxed, so
/// that the common call's future carries none of the wait loop's state
/// (wasmtime boxes every host call's future and copies a large one).
enum Attempt<T, W> {
    Done(Result<T, Errno>),
    Wait(Pin<Box<W>>),
}

impl EventfdCtxView<'_> {
    /// `read(2)` on the guest's `fd` as far as it goes without waiting, in
    /// the call's `read` span. The wait, if any, is the kernel layer's
    /// loop, which tries once more before it parks (the same answers as
    /// one `read_observed`), with the guest's park observer told whenever
    /// it parks.
    fn read_now(
        &self,
        fd: &Resource<Descriptor>,
    ) -> wasmtime::Result<Attempt<u64, impl Future<Output = Result<u64, Errno>> + Send + '_>> {
        let span = tracing::debug_span!("read", fd = fd.rep());
        let description = self.description(fd)?;
        Ok(match span.in_scope(|| description.try_read()) {
            Err(Errno::Again) if !description.is_nonblocking() => {
                let ctx: &EventfdCtx = self.ctx;
                Attempt::Wait(Box::pin(
                    async move {
                        let observer = ctx.observer(description, Interest::Read);
                        description.read_observed(&observer).await
                    }
                    .instrument(span),
                ))
            }
            done => Attempt::Done(done),
        })
    }

    /// `write(2)` of `value` on the guest's `fd`, as [`Self::read_now`].
    fn write_now(
        &self,
        fd: &Resource<Descriptor>,
        value: u64,
    ) -> wasmtime::Result<Attempt<(), impl Future<Output = Result<(), Errno>> + Send + '_>> {
        let span = tracing::debug_span!("write", fd = fd.rep(), value);
        let description = self.description(fd)?;
        Ok(match span.in_scope(|| description.try_write(value)) {
            Err(Errno::Again) if !description.is_nonblocking() => {
                let ctx: &EventfdCtx = self.ctx;
                Attempt::Wait(Box::pin(
                    async move {
                        let observer = ctx.observer(description, Interest::Write(value));
                        description.write_observed(value, &observer).await
                    }
                    .instrument(span),
                ))
            }
            done => Attempt::Done(done),
        })
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
