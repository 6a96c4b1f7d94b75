//! The `relay` test guest (reads `in`, writes what it read to `out`) in a
//! host that depends on the library without its default features: linked
//! with `add_to_linker_sync` on a thread of its own (the host playing with
//! blocking calls from a plain thread, no runtime), and with
//! `add_to_linker_async` on tokio; the host wakes it and reads its answer.
//! And a store whose two views return different tables: the guest's
//! `subscribe` traps naming the cause.

#[path = "../../integration/guests.rs"]
#[allow(dead_code)]
mod guests;

use std::time::Duration;

use embedding_test::Host;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::p2::bindings::sync::Command as SyncCommand;
use wasmtime_wasi::p2::bindings::Command;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use wasi_eventfd::{
    CreateFlags, DescriptionTable, Descriptor, EventfdCtx, EventfdCtxView, EventfdView,
};

/// The shared table with `in` and `out`, and a guest state that sees both.
fn host(descriptions: &DescriptionTable) -> (Host, Descriptor, Descriptor) {
    let input = descriptions.create(0, CreateFlags::default()).expect("in");
    let output = descriptions.create(0, CreateFlags::default()).expect("out");
    let state = Host {
        wasi: WasiCtx::builder()
            .inherit_stderr()
            .args(&["relay", "3"])
            .build(),
        eventfd: EventfdCtx::builder(descriptions)
            .preopen("in", &input)
            .preopen("out", &output)
            .build(),
        table: ResourceTable::new(),
    };
    (state, input, output)
}

/// Writes 1, 2 and 3 to `in`, each after the guest has answered the one
/// before on `out`, and checks the answers.
async fn play(input: &Descriptor, output: &Descriptor) {
    for value in 1..=3 {
        input.write(value).await.expect("write in");
        let answer = tokio::time::timeout(Duration::from_secs(60), output.read())
            .await
            .expect("the guest answers")
            .expect("read out");
        assert_eq!(answer, value);
    }
}

/// [`play`] for threads without a runtime: the host's blocking calls.
fn play_blocking(input: &Descriptor, output: &Descriptor) {
    for value in 1..=3 {
        input.write_blocking(value).expect("write in");
        assert_eq!(output.read_blocking().expect("read out"), value);
    }
}

#[test]
fn a_sync_host_plays_from_a_plain_thread_with_blocking_calls() {
    let engine = Engine::default();
    let mut linker = Linker::<Host>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).expect("wasi");
    wasi_eventfd::add_to_linker_sync(&mut linker).expect("eventfd");
    let component = Component::from_file(&engine, guests::guest("relay")).expect("relay");

    let descriptions = DescriptionTable::new();
    let (state, input, output) = host(&descriptions);
    // A guest that stops early never answers: so that the host's blocking
    // read cannot wait forever, the guest's thread then writes an answer
    // no round expects.
    let unblock = output.dup();
    // The guest's reads block its own thread; the host plays from this one,
    // with no async runtime anywhere.
    let guest = std::thread::spawn(move || {
        let mut store = Store::new(&engine, state);
        let run = SyncCommand::instantiate(&mut store, &component, &linker)
            .and_then(|command| command.wasi_cli_run().call_run(&mut store));
        if !matches!(run, Ok(Ok(()))) {
            let _ = unblock.write_blocking(1000);
        }
        run
    });
    play_blocking(&input, &output);
    let run = guest
        .join()
        .expect("the guest thread")
        .expect("the guest ran");
    assert_eq!(run, Ok(()));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_async_host_suspends_the_guest_until_the_host_writes() {
    let engine = Engine::default();
    let mut linker = Linker::<Host>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).expect("wasi");
    wasi_eventfd::add_to_linker_async(&mut linker).expect("eventfd");
    let component = Component::from_file(&engine, guests::guest("relay")).expect("relay");

    let descriptions = DescriptionTable::new();
    let (state, input, output) = host(&descriptions);
    let guest = tokio::spawn(async move {
        let mut store = Store::new(&engine, state);
        let command = Command::instantiate_async(&mut store, &component, &linker).await?;
        command.wasi_cli_run().call_run(&mut store).await
    });
    play(&input, &output).await;
    let run = guest.await.expect("the guest task").expect("the guest ran");
    assert_eq!(run, Ok(()));
}

/// Store data whose views return different tables: the mistake the README
/// warns about.
struct TwoTables {
    wasi: WasiCtx,
    eventfd: EventfdCtx,
    wasi_table: ResourceTable,
    eventfd_table: ResourceTable,
}

impl WasiView for TwoTables {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.wasi_table,
        }
    }
}

impl EventfdView for TwoTables {
    fn eventfd(&mut self) -> EventfdCtxView<'_> {
        EventfdCtxView {
            ctx: &mut self.eventfd,
            table: &mut self.eventfd_table,
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn views_with_different_tables_trap_at_subscribe_naming_the_cause() {
    let engine = Engine::default();
    let mut linker = Linker::<TwoTables>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).expect("wasi");
    wasi_eventfd::add_to_linker_async(&mut linker).expect("eventfd");
    // Polls `in` and `stop` with wasi:io/poll.
    let component = Component::from_file(&engine, guests::guest("poll_relay")).expect("poll_relay");

    let descriptions = DescriptionTable::new();
    let eventfds = ["in", "out", "stop"].map(|_| {
        descriptions
            .create(0, CreateFlags::default())
            .expect("eventfd")
    });
    let mut builder = EventfdCtx::builder(&descriptions);
    for (name, eventfd) in ["in", "out", "stop"].iter().zip(&eventfds) {
        builder = builder.preopen(*name, eventfd);
    }
    let state = TwoTables {
        wasi: WasiCtx::builder().inherit_stderr().build(),
        eventfd: builder.build(),
        wasi_table: ResourceTable::new(),
        eventfd_table: ResourceTable::new(),
    };
    let mut store = Store::new(&engine, state);
    let command = Command::instantiate_async(&mut store, &component, &linker)
        .await
        .expect("instantiate");
    let run = tokio::time::timeout(
        Duration::from_secs(60),
        command.wasi_cli_run().call_run(&mut store),
    )
    .await
    .expect("the guest traps instead of waiting");
    let trap = format!("{:?}", run.expect_err("the guest traps"));
    assert!(
        trap.contains("WasiView and EventfdView return different ResourceTables"),
        "the trap names the cause: {trap}"
    );
}
