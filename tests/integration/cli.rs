//! The `wasi-eventfd` command, run as a user runs it.

use std::path::Path;
use std::process::{Command, Output};

use crate::guests::{guest, Scratch};

/// Runs the `wasi-eventfd` binary with `args`.
pub fn wasi_eventfd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wasi-eventfd"))
        .args(args)
        .output()
        .expect("run wasi-eventfd")
}

/// Runs ping-pong: `pong` (a `--with` guest) against `ping` for `rounds`,
/// on shared eventfds `ping` and `pong`, with `options` before them.
pub fn ping_pong(options: &[&str], pong: &str, ping: &str, rounds: &str) -> Output {
    let mut args = vec!["run"];
    args.extend_from_slice(options);
    args.extend_from_slice(&[
        "--eventfd",
        "ping=0",
        "--eventfd",
        "pong=0",
        "--with",
        pong,
        ping,
        rounds,
    ]);
    wasi_eventfd(&args)
}

fn path(name: &str) -> String {
    guest(name).display().to_string()
}

/// The output's stdout as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The output's stderr as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The stdout of a run that must have succeeded (else fails the test,
/// showing both streams).
pub fn succeeded(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}\n{}",
        stdout(output),
        stderr(output)
    );
    stdout(output)
}

#[test]
fn ping_pong_completes() {
    let output = ping_pong(&[], &path("pong"), &path("ping"), "200");
    assert!(output.status.success(), "{}", stderr(&output));
    let out = stdout(&output);
    assert!(out.contains("ping-pong: 200 round trips"), "{out}");
    assert!(out.contains("pong: answered 200 balls"), "{out}");
}

#[test]
fn worker_pool_completes() {
    let worker = path("worker");
    let output = wasi_eventfd(&[
        "run",
        "--eventfd",
        "jobs=0,semaphore,nonblock",
        "--eventfd",
        "done=0",
        "--eventfd",
        "quit=0",
        "--with",
        &worker,
        "--with",
        &worker,
        "--with",
        &worker,
        &path("dispatcher"),
        "300",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let out = stdout(&output);
    assert!(out.contains("dispatcher: 300 jobs done"), "{out}");
    let taken: u64 = out
        .lines()
        .filter_map(|line| line.strip_prefix("worker: took "))
        .map(|rest| rest.split(' ').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(taken, 300, "every job was taken exactly once: {out}");
}

#[test]
fn semantics_guest_passes_through_the_binary() {
    let output = wasi_eventfd(&["run", &path("semantics")]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("ok dup_shares_the_description"));
}

#[test]
fn guest_arguments_reach_the_guest() {
    let output = wasi_eventfd(&["run", &path("semantics"), "initval_is_the_first_count"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "ok initval_is_the_first_count\n");
}

#[test]
fn failing_guests_are_named_with_their_cause() {
    let output = wasi_eventfd(&["run", &path("exit_code"), "3"]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.contains("guest `exit_code.wasm` exited with code 1"),
        "{err}"
    );

    // A trap exits as `wasmtime run` does on Unix: as if by SIGABRT.
    let output = wasi_eventfd(&["run", &path("exit_code"), "trap"]);
    assert_eq!(output.status.code(), Some(134));
    let err = stderr(&output);
    assert!(err.contains("guest `exit_code.wasm` trapped: "), "{err}");
    assert!(err.contains("unreachable"), "{err}");
}

/// Bad input: exit code 2 and one line naming the problem.
fn assert_usage_error(output: &Output, expected: &str) {
    assert_eq!(output.status.code(), Some(2), "{}", stderr(output));
    let err = stderr(output);
    let first = err.lines().next().unwrap_or_default();
    assert!(first.starts_with("error: "), "{err}");
    assert!(first.contains(expected), "expected `{expected}` in: {err}");
}

#[test]
fn a_missing_file_is_a_one_line_error() {
    let output = wasi_eventfd(&["run", "/nonexistent/guest.wasm"]);
    assert_usage_error(&output, "/nonexistent/guest.wasm");
    assert_eq!(stderr(&output).lines().count(), 1);
}

#[test]
fn a_file_that_is_not_wasm_is_a_one_line_error() {
    let dir = std::env::temp_dir().join(format!("wasi-eventfd-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = dir.join("notes.txt");
    std::fs::write(&text, "not wasm").unwrap();
    let output = wasi_eventfd(&["run", text.to_str().unwrap()]);
    assert_usage_error(&output, "not a WebAssembly file");

    let broken = dir.join("broken.wasm");
    std::fs::write(&broken, b"\0asm\x0d\0\x01\0garbage").unwrap();
    let output = wasi_eventfd(&["run", broken.to_str().unwrap()]);
    assert_usage_error(&output, "not a valid WebAssembly component");

    // A missing --with guest stops everything before any guest starts.
    let output = wasi_eventfd(&["run", "--with", "/nonexistent/w.wasm", &path("semantics")]);
    assert_usage_error(&output, "/nonexistent/w.wasm");
    assert!(stdout(&output).is_empty(), "no guest ran");
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(!Path::new(&dir).exists());
}

#[test]
fn a_bad_eventfd_spec_is_a_one_line_error() {
    let semantics = path("semantics");
    for (spec, expected) in [
        ("ping", "bad eventfd spec `ping`"),
        ("=1", "the name is empty"),
        ("ping=-1", "initial value `-1`"),
        ("ping=4294967296", "initial value `4294967296`"),
        ("ping=0,cloexec", "unknown flag `cloexec`"),
    ] {
        let output = wasi_eventfd(&["run", "--eventfd", spec, &semantics]);
        assert_usage_error(&output, expected);
    }
}

#[test]
fn pooled_guests_run_and_a_full_pool_is_named() {
    let (pong, ping) = (path("pong"), path("ping"));
    let ping_pong = |pool: &str| ping_pong(&["--pool", pool], &pong, &ping, "200");
    let output = ping_pong("2");
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("pong: answered 200 balls"));

    // One slot: whichever guest comes second cannot start, and the first
    // is left waiting for it.
    let output = ping_pong("1");
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(3), "{err}");
    assert_eq!(
        err.matches("could not start: maximum concurrent limit of 1")
            .count(),
        1,
        "{err}"
    );
}

#[test]
fn compiled_guests_are_cached_unless_told_not_to() {
    let guest = crate::guests::example_wat("eventfd-basics.wat");
    let guest = guest.to_str().unwrap();
    let compiled_files = |cache_home: &Path, args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_wasi-eventfd"))
            .env("XDG_CACHE_HOME", cache_home)
            .args(args)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
        let modules = cache_home.join("wasmtime").join("modules");
        std::fs::read_dir(modules)
            .map(|versions| {
                versions
                    .flatten()
                    .flat_map(|v| std::fs::read_dir(v.path()).into_iter().flatten().flatten())
                    .filter(|f| !f.file_name().to_string_lossy().contains('.'))
                    .count()
            })
            .unwrap_or(0)
    };
    let cached = Scratch::new("cache-on");
    assert_eq!(compiled_files(cached.path(), &["run", guest]), 1);
    let uncached = Scratch::new("cache-off");
    assert_eq!(
        compiled_files(uncached.path(), &["run", "--no-cache", guest]),
        0
    );
}

#[test]
fn bad_input_is_refused_before_anything_runs_with_a_message_naming_it() {
    let scratch = Scratch::new("bad-input");
    let ok = scratch.file(
        "ok.wat",
        r#"(module (memory (export "memory") 1) (func (export "_start")))"#,
    );
    let ok = ok.display().to_string();
    let missing = scratch.file(
        "missing.wat",
        r#"(component (import "foo:bar/baz" (instance (export "f" (func)))))"#,
    );
    let missing = missing.display().to_string();
    let cases: [(&[&str], &str); 6] = [
        (&["run", "/dev/zero"], "/dev/zero: not a regular file"),
        (
            &["run", &missing],
            "cannot be linked: component imports instance `foo:bar/baz`",
        ),
        (
            &["run", "--timeout", "1e-300", &ok],
            "`1e-300` is not a number of seconds",
        ),
        (
            &["run", "--pool", "4000000000", &ok],
            "cannot set up wasmtime",
        ),
        (
            &["run", "--eventfd", "x=1", "--eventfd", "x=2", &ok],
            "eventfd `x` is given twice",
        ),
        (
            &["run", "--dir", "/no/such/dir", &ok],
            "--dir /no/such/dir: no such directory",
        ),
    ];
    for (args, expected) in cases {
        let output = wasi_eventfd(args);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {err}");
        let first = err.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("error: ") && first.contains(expected),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn a_host_variable_that_is_not_utf8_is_an_error_only_when_passed_on() {
    use std::os::unix::ffi::OsStrExt;
    let scratch = Scratch::new("non-utf8-env");
    let ok = scratch.file(
        "ok.wat",
        r#"(module (memory (export "memory") 1) (func (export "_start")))"#,
    );
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_wasi-eventfd"))
            .arg("run")
            .args(extra)
            .arg(&ok)
            .env("WASI_EVENTFD_BAD", std::ffi::OsStr::from_bytes(b"\xff\xfe"))
            .output()
            .expect("run wasi-eventfd")
    };
    assert!(run(&[]).status.success(), "not passed on: no harm");
    let inherited = run(&["-S", "inherit-env"]);
    assert_eq!(inherited.status.code(), Some(2));
    assert!(
        stderr(&inherited).contains("environment variable `WASI_EVENTFD_BAD` is not valid UTF-8"),
        "{}",
        stderr(&inherited)
    );
    let named = run(&["--env", "WASI_EVENTFD_BAD"]);
    assert_eq!(named.status.code(), Some(2));
}
