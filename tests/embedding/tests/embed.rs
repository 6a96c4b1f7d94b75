//! The `relay` test guest (reads `in`, writes what it read to `out`) in a
//! host that depends on the library without its default features: linked
//! with `add_to_linker_sync` on a thread of its own, and with
//! `add_to_linker_async` on tokio; the host wakes it and reads its answer.

#[path = "../../integration/guests.rs"]
#[allow(dead_code)]
mod guests;

use std::time::Duration;

use embedding_test::Host;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::p2::bindings::sync::Command as SyncCommand;
use wasmtime_wasi::p2::bindings::Command;
use wasmtime_wasi::WasiCtx;

use wasi_eventfd::{CreateFlags, DescriptionTable, Descriptor, EventfdCtx};

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

#[test]
fn a_sync_host_blocks_the_guests_thread_until_the_host_writes() {
    let engine = Engine::default();
    let mut linker = Linker::<Host>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).expect("wasi");
    wasi_eventfd::add_to_linker_sync(&mut linker).expect("eventfd");
    let component = Component::from_file(&engine, guests::guest("relay")).expect("relay");

    let descriptions = DescriptionTable::new();
    let (state, input, output) = host(&descriptions);
    // The guest's reads block its own thread; the host plays from this one.
    let guest = std::thread::spawn(move || {
        let mut store = Store::new(&engine, state);
        let command = SyncCommand::instantiate(&mut store, &component, &linker)?;
        command.wasi_cli_run().call_run(&mut store)
    });
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime")
        .block_on(play(&input, &output));
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
