use std::time::Instant;

use wasi_eventfd::{CreateFlags, DescriptionTable, EventfdCtx, EventfdCtxView, EventfdView};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Engine, Result, Store};
use wasmtime_wasi::p2::bindings::Command;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// One guest's store data: WASI and eventfd on one resource table.
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

// On one thread the host and the guest take turns without crossing
// threads: a round trip costs about 2 µs. On the multi-thread runtime
// (plain `#[tokio::main]`) every wake-up crosses threads: about 30 µs.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let engine = Engine::default();
    let mut linker = Linker::<MyState>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasi_eventfd::add_to_linker_async(&mut linker)?;

    // One description table per host. The host keeps a descriptor of
    // each eventfd and hands the guest its own, by name.
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

    // The guest blocks reading "ping" and answers each 1 with a 1 on
    // "pong", until it reads 2. Its store moves into a task of its own,
    // so that it runs while this task plays.
    let component = Component::from_file(&engine, "pong-component.wat")?;
    let mut guest = tokio::spawn(async move {
        let mut store = Store::new(&engine, state);
        let command = Command::instantiate_async(&mut store, &component, &linker).await?;
        command.wasi_cli_run().call_run(&mut store).await
    });

    let rounds = 10_000;
    let start = Instant::now();
    for _ in 0..rounds {
        ping.write(1).await?; // wakes the guest...
        tokio::select! {
            ball = pong.read() => assert_eq!(ball?, 1), // ...whose answer wakes us
            ended = &mut guest => wasmtime::bail!("the guest ended early: {ended:?}"),
        }
    }
    let per_round = start.elapsed() / rounds;
    println!("{rounds} round trips, {per_round:?} each");

    ping.write(2).await?; // the end of the game
    guest
        .await??
        .map_err(|()| wasmtime::format_err!("the guest failed"))
}
