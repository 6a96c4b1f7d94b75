//! Prints what the guest was given of the host: its arguments, one line
//! each (`argv[0]: wasi_env.wasm`), then every environment variable as
//! `env: NAME=VALUE`, sorted, then their count (`envc: N`). The tests
//! compare the whole transcript, so a variable that should not be there
//! shows as an extra line. The C (`tests/guests/c/env.c`) and WASI 0.3
//! (`wasi_p3.rs env`) versions print the same lines.

fn main() {
    for (i, arg) in std::env::args().enumerate() {
        println!("argv[{i}]: {arg}");
    }
    let mut vars: Vec<String> = std::env::vars().map(|(k, v)| format!("{k}={v}")).collect();
    vars.sort();
    for var in &vars {
        println!("env: {var}");
    }
    println!("envc: {}", vars.len());
}
