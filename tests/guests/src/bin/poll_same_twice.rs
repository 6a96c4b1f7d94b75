//! Polls the same pollable twice in one `wasi:io/poll` call, readable on
//! preopen `e`: `poll([&p, &p])`. wasmtime waits on it once. With nobody
//! to write `e` this is a deadlock; if `e` is written, it prints the ready
//! list (both indices) and reads the value.

use eventfd_test_programs::{poll, preopen};

fn main() {
    let e = preopen("e");
    let readable = e.subscribe_readable();
    let ready = poll::poll(&[&readable, &readable]);
    println!("ready: {ready:?}");
    println!("read: {}", e.read().expect("read `e`"));
    drop(readable);
}
