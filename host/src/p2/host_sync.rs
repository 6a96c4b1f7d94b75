//! The synchronous host side of world `imports`, for stores driven without
//! async: the same thin layer as [`super::host`], except that a read or
//! write that has to wait blocks the calling thread until another party
//! (another thread's guest, or host code) makes it possible.

use wasmtime::component::Resource;
use wasmtime_wasi::p2::DynPollable;

use super::bindings::sync::{preopens, types};
use super::host::Attempt;
use crate::kernel::eventfd::block_on;
use crate::{Descriptor, EventfdCtxView, Readiness};

type GuestResult<T> = wasmtime::Result<Result<T, types::ErrorCode>>;

impl types::Host for EventfdCtxView<'_> {}

impl types::HostEventfd for EventfdCtxView<'_> {
    fn create(
        &mut self,
        initval: u32,
        flags: types::CreateFlags,
    ) -> GuestResult<Resource<Descriptor>> {
        Ok(self
            .create_descriptor(initval, flags.into())?
            .map_err(Into::into))
    }

    fn read(&mut self, fd: Resource<Descriptor>) -> GuestResult<u64> {
        // As the async side: what need not wait is done at once, without
        // the wait loop's parker; a read that must wait blocks this thread
        // while the counter is 0, the one wait loop driven by parking the
        // thread, with no runtime.
        let result = match self.read_now(&fd)? {
            Attempt::Done(result) => result,
            Attempt::Wait(span) => span.in_scope(|| block_on(self.read_wait(&fd)))?,
        };
        Ok(result.map_err(Into::into))
    }

    fn write(&mut self, fd: Resource<Descriptor>, value: u64) -> GuestResult<()> {
        // Blocks this thread while the value does not fit.
        let result = match self.write_now(&fd, value)? {
            Attempt::Done(result) => result,
            Attempt::Wait(span) => span.in_scope(|| block_on(self.write_wait(&fd, value)))?,
        };
        Ok(result.map_err(Into::into))
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

    fn info(&mut self, fd: Resource<Descriptor>) -> wasmtime::Result<types::Info> {
        Ok(self.table.get(&fd)?.info().into())
    }

    fn subscribe_readable(
        &mut self,
        fd: Resource<Descriptor>,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        self.subscribe(fd, Readiness::Readable)
    }

    fn subscribe_writable(
        &mut self,
        fd: Resource<Descriptor>,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        self.subscribe(fd, Readiness::Writable)
    }

    fn drop(&mut self, fd: Resource<Descriptor>) -> wasmtime::Result<()> {
        self.close_descriptor(fd)
    }
}

impl preopens::Host for EventfdCtxView<'_> {
    fn get_eventfds(&mut self) -> wasmtime::Result<Vec<(Resource<Descriptor>, String)>> {
        self.hand_out_preopens()
    }
}
