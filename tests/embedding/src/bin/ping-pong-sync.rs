use wasi_eventfd::{CreateFlags, DescriptionTable, EventfdCtx, EventfdCtxView, EventfdView};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Engine, Result, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
struct MyState {
    wasi: WasiCtx,
    eventfd: EventfdCtx,
    table: ResourceTable,
}
impl WasiView for MyState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}
impl EventfdView for MyState {
    fn eventfd(&mut self) -> EventfdCtxView<'_> {
        EventfdCtxView {
            ctx: &mut self.eventfd,
            table: &mut self.table,
        }
    }
}
use wasmtime_wasi::p2::bindings::sync::Command;

// MyState as above.
fn main() -> Result<()> {
    let engine = Engine::default();
    let mut linker = Linker::<MyState>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    wasi_eventfd::add_to_linker_sync(&mut linker)?;

    let descriptions = DescriptionTable::new();
    let ping = descriptions.create(0, CreateFlags::empty())?;
    let pong = descriptions.create(0, CreateFlags::empty())?;
    let state = MyState {
        wasi: WasiCtx::builder().inherit_stdio().build(),
        eventfd: EventfdCtx::builder(&descriptions)
            .preopen("ping", &ping)
            .preopen("pong", &pong)
            .build(),
        table: ResourceTable::new(),
    };

    // The guest's reads block its own thread; the host plays from this one.
    // A guest that ends early never answers: its thread then writes an
    // answer no round expects, so that the host's read cannot wait forever.
    let component = Component::from_file(&engine, "pong-component.wat")?;
    let unblock = pong.dup();
    let guest = std::thread::spawn(move || {
        let mut store = Store::new(&engine, state);
        let run = Command::instantiate(&mut store, &component, &linker)
            .and_then(|command| command.wasi_cli_run().call_run(&mut store));
        if !matches!(run, Ok(Ok(()))) {
            unblock.write_blocking(2)?;
        }
        run
    });
    for _ in 0..1000 {
        ping.write_blocking(1)?;
        assert_eq!(pong.read_blocking()?, 1);
    }
    ping.write_blocking(2)?;
    let run = guest
        .join()
        .map_err(|_| wasmtime::format_err!("the guest's thread panicked"))?;
    run?.map_err(|()| wasmtime::format_err!("the guest failed"))
}
