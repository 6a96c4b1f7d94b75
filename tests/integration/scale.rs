//! 10 000 component guests with the default options (opt-in: it takes a
//! minute and a few GiB; `cargo test --test integration -- --ignored scale`).

use std::process::Command;

use crate::cli::{stderr, stdout};
use crate::guests::{guest, Scratch};

const GUESTS: usize = 10_000;

#[test]
#[ignore = "long: 10 000 guests; run with --ignored"]
fn ten_thousand_component_guests_start_wake_and_finish_with_default_options() {
    let scratch = Scratch::new("scale");
    let op = guest("op").display().to_string();
    // Every reader blocks on `go` (a semaphore: each read takes 1) until
    // the last guest writes GUESTS at once.
    let file = scratch.file(
        "scale.toml",
        &format!(
            r#"
[eventfd.go]
semaphore = true

[[guest]]
file = "{op}"
args = ["read", "go"]
count = {GUESTS}
eventfds = ["go"]

[[guest]]
file = "{op}"
args = ["write", "go", "{GUESTS}"]
eventfds = ["go"]
"#
        ),
    );
    let output = Command::new(env!("CARGO_BIN_EXE_wasi-eventfd"))
        .args(["run", "--timeout", "600", "--config"])
        .arg(&file)
        .output()
        .expect("run wasi-eventfd");
    let out = stdout(&output);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(out.lines().filter(|l| *l == "op: read 1").count(), GUESTS);
    assert_eq!(
        out.lines()
            .filter(|l| *l == format!("op: wrote {GUESTS}"))
            .count(),
        1
    );
}
