//! The host side of the experimental component-model async interface
//! (`async-types`, `async-preopens`): the same [`Descriptor`]s and
//! [`Description`](crate::Description)s as [`crate::p2`], reached through
//! wasmtime's concurrent host calls.
//!
//! An `async func` gets an [`Accessor`] instead of the store: it takes what
//! it needs from the store (the description, an `Arc`) and lets go of the
//! store before it waits, so the guest's other tasks run meanwhile. Dropping
//! the call's future (the guest cancelling it) drops the description's
//! `read` / `write` future, which takes or adds a count only in the step
//! that completes it: a cancelled read consumes nothing.

use std::sync::Arc;

use wasmtime::component::{Accessor, Resource};

use super::bindings::{async_preopens, async_types};
use crate::{Description, Descriptor, Eventfd, EventfdCtxView, Readiness};

type GuestResult<T> = wasmtime::Result<Result<T, async_types::ErrorCode>>;

/// The description behind `fd`, taken out of the store so that the call
/// can wait without holding it.
fn description<T>(
    accessor: &Accessor<T, Eventfd>,
    fd: &Resource<Descriptor>,
) -> wasmtime::Result<Arc<Description>> {
    accessor.with(|mut view| view.get().description(fd).cloned())
}

impl<T> async_types::HostEventfdWithStore<T> for Eventfd {
    async fn read(accessor: &Accessor<T, Self>, fd: Resource<Descriptor>) -> GuestResult<u64> {
        let description = description(accessor, &fd)?;
        Ok(description.read().await.map_err(Into::into))
    }

    async fn write(
        accessor: &Accessor<T, Self>,
        fd: Resource<Descriptor>,
        value: u64,
    ) -> GuestResult<()> {
        let description = description(accessor, &fd)?;
        Ok(description.write(value).await.map_err(Into::into))
    }

    async fn readable(
        accessor: &Accessor<T, Self>,
        fd: Resource<Descriptor>,
    ) -> wasmtime::Result<()> {
        let description = description(accessor, &fd)?;
        description.ready(Readiness::Readable).await;
        Ok(())
    }

    async fn writable(
        accessor: &Accessor<T, Self>,
        fd: Resource<Descriptor>,
    ) -> wasmtime::Result<()> {
        let description = description(accessor, &fd)?;
        description.ready(Readiness::Writable).await;
        Ok(())
    }
}

impl async_types::Host for EventfdCtxView<'_> {}

impl async_types::HostEventfd for EventfdCtxView<'_> {
    fn create(
        &mut self,
        initval: u32,
        flags: async_types::CreateFlags,
    ) -> GuestResult<Resource<Descriptor>> {
        Ok(self
            .create_descriptor(initval, flags.into())?
            .map_err(Into::into))
    }

    fn dup(&mut self, fd: Resource<Descriptor>) -> GuestResult<Resource<Descriptor>> {
        Ok(self.dup_descriptor(&fd)?.map_err(Into::into))
    }

    fn set_nonblocking(&mut self, fd: Resource<Descriptor>, enabled: bool) -> wasmtime::Result<()> {
        self.table.get(&fd)?.set_nonblocking(enabled);
        Ok(())
    }

    fn set_cloexec(&mut self, fd: Resource<Descriptor>, enabled: bool) -> wasmtime::Result<()> {
        self.table.get_mut(&fd)?.set_cloexec(enabled);
        Ok(())
    }

    fn info(&mut self, fd: Resource<Descriptor>) -> wasmtime::Result<async_types::Info> {
        Ok(self.table.get(&fd)?.info().into())
    }

    fn drop(&mut self, fd: Resource<Descriptor>) -> wasmtime::Result<()> {
        self.close_descriptor(fd)
    }
}

impl async_preopens::Host for EventfdCtxView<'_> {
    fn get_eventfds(&mut self) -> wasmtime::Result<Vec<(Resource<Descriptor>, String)>> {
        self.hand_out_preopens()
    }
}
