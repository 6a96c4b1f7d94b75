//! The host side of the WIT interface: a thin layer that turns guest calls
//! into [`Descriptor`] and [`Description`] operations.

use std::future::{ready, Future};
use std::sync::Arc;

use tracing::{Instrument as _, Span};
use wasmtime::component::{Linker, Resource};
use wasmtime::StoreContextMut;
use wasmtime_wasi::p2::{DynPollable, Pollable};

use super::bindings::{preopens, types};
use crate::kernel::eventfd::{Description, Errno, Readiness};
use crate::kernel::waits::ObservedOp;
use crate::{Descriptor, EventfdCtxView, EventfdView, GuestParkObserver, Interest};

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

    // The runner and `add_to_linker_async` link `read` and `write` as
    // `add_fast_paths` does instead; these serve hosts that link with the
    // generated `add_to_linker`, with the same steps.
    async fn read(&mut self, fd: Resource<Descriptor>) -> GuestResult<u64> {
        let result = match self.read_now(&fd)? {
            Attempt::Done(result) => result,
            Attempt::Wait(span) => Box::pin(self.read_wait(&fd)).instrument(span).await?,
        };
        Ok(result.map_err(Into::into))
    }

    async fn write(&mut self, fd: Resource<Descriptor>, value: u64) -> GuestResult<()> {
        let result = match self.write_now(&fd, value)? {
            Attempt::Done(result) => result,
            Attempt::Wait(span) => {
                Box::pin(self.write_wait(&fd, value))
                    .instrument(span)
                    .await?
            }
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

/// The name under which the guest imports `types` (the WIT's package
/// version included).
const TYPES: &str = "wasi-eventfd:eventfd/types@0.1.0";

/// What a host call of `types` returns to wasmtime's `func_wrap_async`.
type HostCall<'a, T> =
    Box<dyn Future<Output = wasmtime::Result<(Result<T, types::ErrorCode>,)>> + Send + 'a>;

/// Links `read` and `write` of `types` again, over the generated ones (the
/// linker must allow shadowing): a call that need not wait returns a
/// future that is already done, and only a call that must wait gets the
/// wait loop's future. The generated glue wraps every call, even one done
/// at once, in an `async` block around the trait's future: about 85
/// instructions a call, against some 1 900 for wasmtime's own async host
/// call (the benchmark's floor, under callgrind).
pub(super) fn add_fast_paths<T: EventfdView + 'static>(
    linker: &mut Linker<T>,
) -> wasmtime::Result<()> {
    let mut instance = linker.instance(TYPES)?;
    instance.func_wrap_async(
        "[method]eventfd.read",
        |mut store: StoreContextMut<'_, T>, (fd,): (Resource<Descriptor>,)| -> HostCall<'_, u64> {
            let attempt = store.data_mut().eventfd().read_now(&fd);
            host_call(attempt, move || async move {
                store.data_mut().eventfd().read_wait(&fd).await
            })
        },
    )?;
    instance.func_wrap_async(
        "[method]eventfd.write",
        |mut store: StoreContextMut<'_, T>,
         (fd, value): (Resource<Descriptor>, u64)|
         -> HostCall<'_, ()> {
            let attempt = store.data_mut().eventfd().write_now(&fd, value);
            host_call(attempt, move || async move {
                store.data_mut().eventfd().write_wait(&fd, value).await
            })
        },
    )?;
    Ok(())
}

/// The host call's future for `attempt`: already done, or the wait that
/// `wait` makes, in the call's span (a trap of either stops the guest).
fn host_call<'a, R: Send + 'a, F>(
    attempt: wasmtime::Result<Attempt<R>>,
    wait: impl FnOnce() -> F,
) -> HostCall<'a, R>
where
    F: Future<Output = wasmtime::Result<Result<R, Errno>>> + Send + 'a,
{
    match attempt {
        Ok(Attempt::Done(result)) => Box::new(ready(Ok((result.map_err(Into::into),)))),
        Ok(Attempt::Wait(span)) => {
            let wait = wait().instrument(span);
            Box::new(async move { Ok((wait.await?.map_err(Into::into),)) })
        }
        Err(trap) => Box::new(ready(Err(trap))),
    }
}

/// A read or write done at once, or the span of the call that must wait.
///
/// A read or write that need not wait is done before the host call's
/// future first suspends, and its future carries nothing else; one that
/// must (a blocking description whose counter is 0, or has no room) waits
/// in a future of its own. (A large future is copied at every move, and
/// wasmtime boxes every host call's future.)
pub(super) enum Attempt<T> {
    Done(Result<T, Errno>),
    Wait(Span),
}

impl EventfdCtxView<'_> {
    /// `read(2)` on the guest's `fd` as far as it goes without waiting,
    /// in the call's `read` span: the value, `EAGAIN` on a non-blocking
    /// description whose counter is 0, or the span to wait in. A trap if
    /// `fd` is not the guest's.
    pub(super) fn read_now(&self, fd: &Resource<Descriptor>) -> wasmtime::Result<Attempt<u64>> {
        let span = tracing::debug_span!("read", fd = fd.rep());
        let description = self.description(fd)?;
        Ok(match span.in_scope(|| description.read_now()) {
            Some(done) => Attempt::Done(done),
            None => Attempt::Wait(span),
        })
    }

    /// The wait of a read that found the counter at 0: the kernel layer's
    /// loop, which tries once more before it parks (so that with
    /// [`Self::read_now`] the answers are those of one `read_observed`),
    /// with the guest's park observer (the deadlock detector) told whenever
    /// it parks.
    pub(super) async fn read_wait(
        &mut self,
        fd: &Resource<Descriptor>,
    ) -> wasmtime::Result<Result<u64, Errno>> {
        let description = self.description(fd)?;
        let observer = self.ctx.observer(description, Interest::Read);
        Ok(description.read_observed(&observer).await)
    }

    /// `write(2)` of `value` on the guest's `fd` as far as it goes without
    /// waiting, as [`Self::read_now`]: `EINVAL` for `u64::MAX`, `EAGAIN` on
    /// a non-blocking description without room.
    pub(super) fn write_now(
        &self,
        fd: &Resource<Descriptor>,
        value: u64,
    ) -> wasmtime::Result<Attempt<()>> {
        let span = tracing::debug_span!("write", fd = fd.rep(), value);
        let description = self.description(fd)?;
        Ok(match span.in_scope(|| description.write_now(value)) {
            Some(done) => Attempt::Done(done),
            None => Attempt::Wait(span),
        })
    }

    /// The wait of a write of `value` that found no room, as
    /// [`Self::read_wait`].
    pub(super) async fn write_wait(
        &mut self,
        fd: &Resource<Descriptor>,
        value: u64,
    ) -> wasmtime::Result<Result<(), Errno>> {
        let description = self.description(fd)?;
        let observer = self.ctx.observer(description, Interest::Write(value));
        Ok(description.write_observed(value, &observer).await)
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

#[cfg(test)]
mod tests {
    use wasmtime::component::{Linker, ResourceTable};
    use wasmtime::Engine;
    use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

    use crate::{DescriptionTable, EventfdCtx, EventfdCtxView, EventfdView};

    struct Host {
        wasi: WasiCtx,
        eventfd: EventfdCtx,
        table: ResourceTable,
    }

    impl WasiView for Host {
        fn ctx(&mut self) -> WasiCtxView<'_> {
            WasiCtxView {
                ctx: &mut self.wasi,
                table: &mut self.table,
            }
        }
    }

    impl EventfdView for Host {
        fn eventfd(&mut self) -> EventfdCtxView<'_> {
            EventfdCtxView {
                ctx: &mut self.eventfd,
                table: &mut self.table,
            }
        }
    }

    /// The fast paths replace the generated `read` and `write` rather than
    /// landing beside them: the generated glue linked both under
    /// [`super::TYPES`] (defining them there once more, without shadowing,
    /// is refused), and `add_fast_paths` links under that name.
    #[test]
    fn fast_paths_replace_the_generated_read_and_write() {
        let engine = Engine::default();
        let mut linker = Linker::<Host>::new(&engine);
        crate::add_to_linker_async(&mut linker).expect("link");
        let mut types = linker.instance(super::TYPES).expect("types");
        for name in ["[method]eventfd.read", "[method]eventfd.write"] {
            let again = types.func_wrap(name, |_, (): ()| Ok(()));
            let error = again.expect_err("already linked").to_string();
            assert!(error.contains("defined twice"), "{name}: {error}");
        }
        // (A store of the host the linker serves, so that the type is one.)
        let host = Host {
            wasi: WasiCtx::builder().build(),
            eventfd: EventfdCtx::builder(&DescriptionTable::new()).build(),
            table: ResourceTable::new(),
        };
        let _store = wasmtime::Store::new(&engine, host);
    }
}
