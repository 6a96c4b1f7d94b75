//! Python and JavaScript guests (components built by componentize-py and
//! ComponentizeJS from `guest-examples/python` and `guest-examples/js`)
//! with each other and with the Rust and C guests, through shared preopens
//! in one `wasi-eventfd run`.
//!
//! The guests are built once per test run through the same cached build as
//! `cargo xtask` (`xtask/src/languages.rs`), which also installs the pinned
//! tools under `target/` when they are missing (python3 and Node.js must be
//! there; `cargo xtask test` installs them on Debian).

#[path = "../../xtask/src/languages.rs"]
#[allow(dead_code)] // the tests use only the build
mod toolchains;

use std::path::PathBuf;
use std::process::Output;
use std::sync::OnceLock;

use toolchains::Language;

use crate::cli::{stderr, succeeded, wasi_eventfd};
use crate::guests::{c_guest, guest, repo_root};

/// No run here takes more than a few seconds once compiled; a hang fails.
const TIMEOUT: &str = "300";

/// The path of guest `name` of `language`, building them on first use.
fn language_guest(language: Language, name: &str) -> String {
    static BUILT: [OnceLock<Result<PathBuf, String>>; 2] = [OnceLock::new(), OnceLock::new()];
    let dir = BUILT[language as usize]
        .get_or_init(|| toolchains::build(repo_root(), language, &|line| eprintln!("{line}")))
        .as_ref()
        .unwrap_or_else(|e| {
            panic!(
                "building the {} guests failed (`cargo xtask test` installs what they need): {e}",
                language.name()
            )
        });
    let path = dir.join(format!("{name}.wasm"));
    assert!(
        path.is_file(),
        "no {} guest {}",
        language.name(),
        path.display()
    );
    path.display().to_string()
}

fn python(name: &str) -> String {
    language_guest(Language::Python, name)
}

fn js(name: &str) -> String {
    language_guest(Language::Js, name)
}

fn rust(name: &str) -> String {
    guest(name).display().to_string()
}

/// `wasi-eventfd run --timeout TIMEOUT` with `--eventfd` specs, `--with`
/// guests, and the main guest with its arguments.
fn run(eventfds: &[&str], with: &[&str], main: &[&str]) -> Output {
    let mut args = vec!["run", "--timeout", TIMEOUT];
    for spec in eventfds {
        args.extend(["--eventfd", spec]);
    }
    for guest in with {
        args.extend(["--with", guest]);
    }
    args.extend(main);
    wasi_eventfd(&args)
}

fn ping_pong(pong: &str, ping: &str, rounds: &str) -> String {
    succeeded(&run(&["ping=0", "pong=0"], &[pong], &[ping, rounds]))
}

#[test]
fn rust_ping_plays_the_python_pong() {
    let out = ping_pong(&python("pong"), &rust("ping"), "200");
    assert!(out.contains("ping-pong: 200 round trips"), "{out}");
    assert!(out.contains("pong (Python): answered 200 balls"), "{out}");
}

#[test]
fn js_ping_plays_the_rust_pong() {
    let out = ping_pong(&rust("pong"), &js("ping"), "200");
    assert!(
        out.contains("ping-pong (JS ping): 200 round trips"),
        "{out}"
    );
    assert!(out.contains("pong: answered 200 balls"), "{out}");
}

#[test]
fn js_ping_plays_the_python_pong() {
    let out = ping_pong(&python("pong"), &js("ping"), "200");
    assert!(
        out.contains("ping-pong (JS ping): 200 round trips"),
        "{out}"
    );
    assert!(out.contains("pong (Python): answered 200 balls"), "{out}");
}

const POOL: [&str; 3] = ["jobs=0,semaphore,nonblock", "done=0", "quit=0"];

/// Every worker's `WHO: took N jobs` line, in output order.
fn taken(out: &str) -> Vec<(String, u64)> {
    out.lines()
        .filter_map(|line| {
            let (who, rest) = line.split_once(": took ")?;
            let count = rest.split(' ').next()?.parse().ok()?;
            Some((who.to_string(), count))
        })
        .collect()
}

fn assert_all_taken(out: &str, workers: &[&str], jobs: u64) {
    let taken = taken(out);
    let mut who: Vec<&str> = taken.iter().map(|(w, _)| w.as_str()).collect();
    let mut expected = workers.to_vec();
    who.sort_unstable();
    expected.sort_unstable();
    assert_eq!(who, expected, "one line per worker:\n{out}");
    let total: u64 = taken.iter().map(|(_, n)| n).sum();
    assert_eq!(total, jobs, "every job taken exactly once:\n{out}");
}

#[test]
fn rust_dispatcher_feeds_python_js_and_rust_workers() {
    let out = succeeded(&run(
        &POOL,
        &[&python("worker"), &js("worker"), &rust("worker")],
        &[&rust("dispatcher"), "300"],
    ));
    assert!(out.contains("dispatcher: 300 jobs done"), "{out}");
    assert_all_taken(&out, &["worker (Python)", "worker (JS)", "worker"], 300);
}

/// The pool of `cargo xtask demo-languages`: one guest of each language.
#[test]
fn python_producer_feeds_rust_js_and_c_workers() {
    let consumer = c_guest("consumer").display().to_string();
    let out = succeeded(&run(
        &POOL,
        &[&rust("worker"), &js("worker"), &consumer],
        &[&python("producer"), "300"],
    ));
    assert!(
        out.contains("producer (Python): 300 jobs posted and done"),
        "{out}"
    );
    assert_all_taken(&out, &["worker", "worker (JS)", "consumer"], 300);
}

#[test]
fn python_and_js_guests_explain_bad_input() {
    // A missing preopen: the Python guest says which, and fails its run.
    let output = run(&["ping=0"], &[], &[&python("pong")]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(
        err.contains("pong (Python): no eventfd named `pong`"),
        "{err}"
    );
    assert!(
        err.contains("guest `pong.wasm` exited with code 1"),
        "{err}"
    );

    // A bad argument: the JS guest prints its usage.
    let output = run(&["ping=0", "pong=0"], &[], &[&js("ping"), "zero"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(err.contains("ping (JS): usage: ping [ROUNDS]"), "{err}");
    assert!(
        err.contains("guest `ping.wasm` exited with code 1"),
        "{err}"
    );

    // A producer started on a counter (not a semaphore) `jobs`.
    let output = run(
        &["jobs=0", "done=0", "quit=0"],
        &[],
        &[&python("producer"), "10"],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(
        err.contains("producer (Python): `jobs` must be a semaphore eventfd"),
        "{err}"
    );
}

/// Each operation through the Python and the JS bindings, checked by the
/// guests against Linux's answers (`basics.py`, `basics.js`).
#[test]
fn python_and_js_basics_match_linux() {
    let out = succeeded(&run(&[], &[&python("basics")], &[&js("basics")]));
    for who in ["basics (Python)", "basics (JS)"] {
        assert!(
            out.contains(&format!("{who}: all 11 checks passed")),
            "{out}"
        );
    }
    assert!(
        out.contains("basics (Python): read of 0, non-blocking: ErrorCode.WOULD_BLOCK"),
        "{out}"
    );
    assert!(
        out.contains("basics (JS): write of 2**64 - 1: \"invalid-argument\""),
        "{out}"
    );
}
