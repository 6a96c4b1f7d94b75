//! `wasi-eventfd run` as a WASI runtime, spelled and behaving as
//! `wasmtime run` 48: directories (`--dir HOST[::GUEST]`), environment
//! (`--env`, `-S inherit-env`), arguments and `--argv0`, exit statuses,
//! stdin and stdout, for WASI preview 1 core modules (C in
//! `tests/guests/c`, WAT in `tests/guests/wat`), WASI 0.2 components and a
//! WASI 0.3 component (`tests/guests/src/bin/wasi_*.rs`).
//!
//! Every run has `--timeout 60`, so a guest that hangs fails its test
//! (status 124) instead of blocking it; tests that talk to a running guest
//! also wait at most [`WAIT`] for each thing they expect to see.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::OnceLock;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::cli::{stderr, stdout, succeeded, wasi_eventfd};
use crate::guests::{guest, repo_root, test_wat, Scratch};

/// How long a test waits for output it expects from a running guest.
const WAIT: Duration = Duration::from_secs(30);

/// Runs `wasi-eventfd run --timeout 60 ARGS...`.
fn run(args: &[&str]) -> Output {
    let mut all = vec!["run", "--timeout", "60"];
    all.extend_from_slice(args);
    wasi_eventfd(&all)
}

/// A path as an argument.
fn arg(path: &Path) -> String {
    path.display().to_string()
}

/// The C test guest `name` (`tests/guests/c/NAME.c`), building them all with
/// their Makefile into `target/c-test-guests` on first use.
fn c_test_guest(name: &str) -> String {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let dir = BUILT
        .get_or_init(|| {
            let out = repo_root().join("target").join("c-test-guests");
            let output = Command::new("make")
                .arg("-C")
                .arg(repo_root().join("tests").join("guests").join("c"))
                .arg(format!("OUT={}", out.display()))
                .output()
                .map_err(|e| format!("cannot run make: {e}"))?;
            if !output.status.success() {
                return Err(format!(
                    "building the C test guests failed (they need Debian's clang, lld, wasi-libc \
                     and libclang-rt-dev-wasm32; `cargo xtask test` installs them):\n{}",
                    String::from_utf8_lossy(&output.stderr)
                ));
            }
            Ok(out)
        })
        .as_ref()
        .unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join(format!("{name}.wasm"));
    assert!(path.exists(), "no C test guest {}", path.display());
    arg(&path)
}

/// A Rust test guest (`tests/guests/src/bin/NAME.rs`).
fn rust_guest(name: &str) -> String {
    arg(&guest(name))
}

/// A WAT test guest (`tests/guests/wat/NAME`).
fn wat_guest(name: &str) -> String {
    arg(&test_wat(name))
}

// ---------------------------------------------------------------------------
// Files: `--dir`
// ---------------------------------------------------------------------------

/// What `files.c`, `wasi_files.rs` and `wasi_p3.rs files` print when every
/// step works.
const FILES_TRANSCRIPT: &str = "\
input: from the host
read back: hello from the guest
entries: created.txt input.txt made/
created.txt after rename: not found
removed temp.txt
entries: input.txt made/ renamed.txt
";

/// A fresh host directory holding only `input.txt`, for a files guest.
fn files_dir(tag: &str) -> Scratch {
    let dir = Scratch::new(tag);
    dir.file("input.txt", "from the host\n");
    dir
}

/// The names in `dir` (not recursive), sorted.
fn names_in(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .expect("list the host directory")
        .map(|entry| {
            entry
                .expect("a directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

/// Checks on the host what a files guest that succeeded must have left in
/// `dir`: its renamed file and its nested file with their contents, the
/// input untouched, and nothing else.
fn assert_guest_files_on_host(dir: &Path) {
    let expected: BTreeSet<String> = ["input.txt", "made", "renamed.txt"]
        .map(String::from)
        .into();
    assert_eq!(names_in(dir), expected, "in {}", dir.display());
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name))
            .unwrap_or_else(|e| panic!("read {name} the guest left: {e}"))
    };
    assert_eq!(read("renamed.txt"), "hello from the guest\n");
    assert_eq!(read("made/nested.txt"), "nested\n");
    assert_eq!(read("input.txt"), "from the host\n");
}

/// Runs a files guest (`guest_args`, the directory last) with `dir_option`
/// and checks its transcript and then the host directory.
fn assert_files_guest_works(dir: &Scratch, dir_option: &str, guest_args: &[&str]) {
    let mut args = vec!["--dir", dir_option];
    args.extend_from_slice(guest_args);
    let out = succeeded(&run(&args));
    assert_eq!(out, FILES_TRANSCRIPT, "{guest_args:?}");
    assert_guest_files_on_host(dir.path());
}

#[test]
fn p1_c_guest_reads_and_writes_files_under_a_renamed_dir() {
    let dir = files_dir("files-p1");
    let option = format!("{}::/data", dir.path().display());
    assert_files_guest_works(&dir, &option, &[&c_test_guest("files"), "/data"]);
}

#[test]
fn p2_rust_guest_reads_and_writes_files_under_a_renamed_dir() {
    let dir = files_dir("files-p2-renamed");
    let option = format!("{}::/data", dir.path().display());
    assert_files_guest_works(&dir, &option, &[&rust_guest("wasi_files"), "/data"]);
}

#[test]
fn p2_rust_guest_sees_a_dir_without_guest_name_under_its_host_path() {
    // `--dir HOST` alone: the guest sees it under HOST's own path.
    let dir = files_dir("files-p2-host-name");
    let host = arg(dir.path());
    assert_files_guest_works(&dir, &host, &[&rust_guest("wasi_files"), &host]);
}

#[test]
fn p3_guest_reads_and_writes_files_under_a_renamed_dir() {
    // Through wasi:filesystem@0.3.0 (streams, async calls), not wasi-libc.
    let dir = files_dir("files-p3");
    let option = format!("{}::/data", dir.path().display());
    assert_files_guest_works(&dir, &option, &[&rust_guest("wasi_p3"), "files", "/data"]);
}

#[test]
fn a_guest_without_dir_cannot_open_anything() {
    // The directory exists on the host and the guest is told its real
    // path, but without `--dir` no guest may open it: each reports the
    // failure of its first step (reading input.txt) and exits 1, and the
    // host directory is left as it was. The error's wording is the guest's
    // own: wasi-libc finds no preopen for the path (Rust's bundled
    // wasi-libc says ENOENT; Debian's older one, used for the C guest, says
    // ENOTCAPABLE), the WASI 0.3 guest finds no preopened directory.
    let dir = files_dir("files-no-dir");
    let host = arg(dir.path());
    let cases: [(&str, Vec<String>, &[&str]); 3] = [
        (
            "C (p1)",
            vec![c_test_guest("files"), host.clone()],
            &["Capabilities insufficient", "No such file or directory"],
        ),
        (
            "Rust (p2)",
            vec![rust_guest("wasi_files"), host.clone()],
            &["No such file or directory (os error 44)"],
        ),
        (
            "Rust (p3)",
            vec![rust_guest("wasi_p3"), "files".into(), host.clone()],
            &["no preopened directory"],
        ),
    ];
    for (kind, guest_args, errors) in cases {
        let guest_args: Vec<&str> = guest_args.iter().map(String::as_str).collect();
        let output = run(&guest_args);
        assert_eq!(output.status.code(), Some(1), "{kind}: {}", stderr(&output));
        let out = stdout(&output);
        let prefix = format!("error: read {host}/input.txt: ");
        let reported = out
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix('\n'))
            .unwrap_or_else(|| panic!("{kind}: expected `{prefix}…`, got:\n{out}"));
        assert!(
            errors.contains(&reported),
            "{kind}: unexpected error `{reported}` (expected one of {errors:?})"
        );
        let only_input: BTreeSet<String> = ["input.txt".to_string()].into();
        assert_eq!(
            names_in(dir.path()),
            only_input,
            "{kind} changed the host dir"
        );
    }
}

// ---------------------------------------------------------------------------
// Environment: `--env`, `-S inherit-env`
// ---------------------------------------------------------------------------

/// The env guests, one of each kind: its kind and the command line that
/// runs it (the guest file and its leading arguments).
fn env_guests() -> Vec<(&'static str, Vec<String>)> {
    vec![
        ("C (p1)", vec![c_test_guest("env")]),
        ("Rust (p2)", vec![rust_guest("wasi_env")]),
        ("Rust (p3)", vec![rust_guest("wasi_p3"), "env".into()]),
    ]
}

/// What an env guest prints for `argv` and the variables `vars` (each
/// `NAME=VALUE`, in any order).
fn env_transcript(argv: &[&str], vars: &[&str]) -> String {
    let mut out = String::new();
    for (i, a) in argv.iter().enumerate() {
        out.push_str(&format!("argv[{i}]: {a}\n"));
    }
    let mut vars = vars.to_vec();
    vars.sort();
    for var in &vars {
        out.push_str(&format!("env: {var}\n"));
    }
    out.push_str(&format!("envc: {}\n", vars.len()));
    out
}

/// The `argv` an env guest prints when run as `guest_args` (file first) with
/// `extra` arguments after them and no `--argv0`.
fn env_argv<'a>(guest_args: &'a [String], extra: &[&'a str]) -> Vec<&'a str> {
    let file = Path::new(&guest_args[0])
        .file_name()
        .and_then(|name| name.to_str())
        .expect("a guest file name");
    let mut argv = vec![file];
    argv.extend(guest_args[1..].iter().map(String::as_str));
    argv.extend_from_slice(extra);
    argv
}

/// Runs `wasi-eventfd run --timeout 60 ARGS...` with exactly the
/// environment `HOME` (wasmtime's compile cache lives under it), if the
/// test has one, and `vars`.
fn run_in_env(args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wasi-eventfd"));
    command.env_clear();
    if let Some(home) = std::env::var_os("HOME") {
        command.env("HOME", home);
    }
    command.envs(vars.iter().copied());
    command
        .args(["run", "--timeout", "60"])
        .args(args)
        .output()
        .expect("run wasi-eventfd")
}

/// The runner's own environment in [`run_in_env`] with `vars`, as
/// `NAME=VALUE`.
fn runner_env(vars: &[(&str, &str)]) -> Vec<String> {
    std::env::var("HOME")
        .ok()
        .map(|home| format!("HOME={home}"))
        .into_iter()
        .chain(vars.iter().map(|(k, v)| format!("{k}={v}")))
        .collect()
}

#[test]
fn guests_get_exactly_the_environment_they_are_granted() {
    let secret = [("WASI_EVENTFD_SECRET", "x")];
    let inherited = runner_env(&secret);
    let inherited: Vec<&str> = inherited.iter().map(String::as_str).collect();
    for (kind, guest_args) in env_guests() {
        let argv = env_argv(&guest_args, &[]);
        let guest_args: Vec<&str> = guest_args.iter().map(String::as_str).collect();
        let cases: [(&[&str], &[&str]); 6] = [
            // Nothing granted: nothing, although the runner has a secret.
            (&[], &[]),
            // NAME=VALUE sets; NAME alone passes the runner's value on.
            (
                &["--env", "A=1", "--env", "WASI_EVENTFD_SECRET"],
                &["A=1", "WASI_EVENTFD_SECRET=x"],
            ),
            // NAME alone of a variable the runner does not have: nothing.
            (&["--env", "WASI_EVENTFD_UNSET"], &[]),
            // Everything the runner has.
            (&["-S", "inherit-env"], &inherited),
            (&["-S", "inherit-env=y"], &inherited),
            // A comma list of switches, as wasmtime's -S takes.
            (&["-S", "inherit-env,inherit-network"], &inherited),
        ];
        for (options, vars) in cases {
            let mut args = options.to_vec();
            args.extend_from_slice(&guest_args);
            let output = run_in_env(&args, &secret);
            assert_eq!(
                succeeded(&output),
                env_transcript(&argv, vars),
                "{kind} with {options:?}"
            );
        }
        // Switched off explicitly: nothing again.
        let mut args = vec!["-S", "inherit-env=n"];
        args.extend_from_slice(&guest_args);
        let output = run_in_env(&args, &secret);
        assert_eq!(succeeded(&output), env_transcript(&argv, &[]), "{kind}");
    }
}

#[test]
fn with_guests_get_the_same_environment_grant() {
    // A --with guest gets the main guest's --env grants (and no arguments).
    // Each prints its own lines; they may interleave line by line, so the
    // lines are compared as a multiset.
    let (c_env, rust_env) = (c_test_guest("env"), rust_guest("wasi_env"));
    let output = run(&["--env", "A=1", "--with", &rust_env, &c_env, "x"]);
    let mut lines: Vec<String> = succeeded(&output).lines().map(String::from).collect();
    lines.sort();
    let mut expected: Vec<String> = env_transcript(&["env.wasm", "x"], &["A=1"])
        .lines()
        .chain(env_transcript(&["wasi_env.wasm"], &["A=1"]).lines())
        .map(String::from)
        .collect();
    expected.sort();
    assert_eq!(lines, expected);
}

// ---------------------------------------------------------------------------
// Arguments: everything after the file, `--argv0`
// ---------------------------------------------------------------------------

#[test]
fn every_argument_after_the_guest_file_goes_to_the_guest() {
    // Options after the file are the guest's, not the runner's: the guest
    // sees `--env B=2` and `-S inherit-env` as arguments and gets no
    // variable.
    let extra = ["a", "b c", "", "--env", "B=2", "-S", "inherit-env", "--"];
    for (kind, guest_args) in env_guests() {
        let argv = env_argv(&guest_args, &extra);
        let mut args: Vec<&str> = guest_args.iter().map(String::as_str).collect();
        args.extend_from_slice(&extra);
        let output = run_in_env(&args, &[("B", "from the runner")]);
        assert_eq!(succeeded(&output), env_transcript(&argv, &[]), "{kind}");
    }
}

#[test]
fn argv0_option_names_the_main_guest() {
    for (kind, guest_args) in env_guests() {
        let mut argv = env_argv(&guest_args, &["x"]);
        argv[0] = "my-program";
        let mut args = vec!["--argv0", "my-program"];
        args.extend(guest_args.iter().map(String::as_str));
        args.push("x");
        assert_eq!(succeeded(&run(&args)), env_transcript(&argv, &[]), "{kind}");
    }
}

// ---------------------------------------------------------------------------
// Exit statuses
// ---------------------------------------------------------------------------

#[test]
fn a_p1_guests_exit_code_is_the_runners() {
    let output = run(&[&c_test_guest("exit33")]);
    assert_eq!(output.status.code(), Some(33), "{}", stderr(&output));
    // What it printed before exiting still comes out.
    assert_eq!(stdout(&output), "exiting with 33\n");
}

#[test]
fn a_trapping_guest_makes_the_runner_exit_134() {
    // 134 is what `wasmtime run` exits with on Unix for a trap (SIGABRT's
    // status), for a core module and a component alike.
    let output = run(&[&wat_guest("wasi_trap.wat")]);
    assert_eq!(output.status.code(), Some(134), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("unreachable"),
        "{}",
        stderr(&output)
    );

    // A Rust panic is a trap (`unreachable`) too.
    let output = run(&[&rust_guest("exit_code"), "trap"]);
    assert_eq!(output.status.code(), Some(134), "{}", stderr(&output));
}

#[test]
fn exit_statuses_of_host_errors_and_start_traps_are_wasmtimes() {
    // As `wasmtime run` 48: a preview 1 exit status outside 0..126 is an
    // error wasmtime-wasi raises, not a trap: exit 1; a trap in the start
    // function, while instantiating, is a trap: 134.
    let scratch = Scratch::new("exit-statuses");
    let exit_200 = scratch.file(
        "exit_200.wat",
        r#"(module
            (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
            (memory (export "memory") 1)
            (func (export "_start") (call $exit (i32.const 200))))"#,
    );
    let output = run(&[&arg(&exit_200)]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stderr(&output).contains("failed:"), "{}", stderr(&output));

    let start_trap = scratch.file(
        "start_trap.wat",
        r#"(module
            (memory (export "memory") 1)
            (func $boom unreachable)
            (start $boom)
            (func (export "_start")))"#,
    );
    let output = run(&[&arg(&start_trap)]);
    assert_eq!(output.status.code(), Some(134), "{}", stderr(&output));
    assert!(stderr(&output).contains("trapped"), "{}", stderr(&output));
}

#[test]
fn a_component_that_fails_makes_the_runner_exit_1() {
    // WASI 0.2: only success or failure, so code 7 arrives as failure.
    let output = run(&[&rust_guest("wasi_exit"), "7"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    succeeded(&run(&[&rust_guest("wasi_exit"), "0"]));

    // WASI 0.3: `run` returns failure.
    let output = run(&[&rust_guest("wasi_p3"), "fail"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(stdout(&output), "failing on purpose\n");
}

/// With `--with` guests the runner's status is that of the first guest, in
/// command-line order — the main guest first, then the `--with` guests in
/// the order given — that did not succeed; except that a deadlock (3) or a
/// timeout (124) wins over any guest's own status, as the run as a whole
/// went wrong.
#[test]
fn with_several_guests_the_first_failure_in_order_is_the_status() {
    let (exit33, trap, ok) = (
        c_test_guest("exit33"),
        wat_guest("wasi_trap.wat"),
        rust_guest("wasi_exit"),
    );
    // The main guest's failure comes first, whatever the --with guests do.
    let output = run(&["--with", &trap, &exit33]);
    assert_eq!(output.status.code(), Some(33), "{}", stderr(&output));
    // A main guest that succeeds: the first --with guest that failed.
    let output = run(&["--with", &exit33, "--with", &trap, &ok, "0"]);
    assert_eq!(output.status.code(), Some(33), "{}", stderr(&output));
    let output = run(&["--with", &trap, "--with", &exit33, &ok, "0"]);
    assert_eq!(output.status.code(), Some(134), "{}", stderr(&output));
}

#[test]
fn a_deadlock_or_timeout_wins_over_a_guests_exit_code() {
    // The main guest exits 33; the --with guest then waits forever on an
    // eventfd nobody can write: a deadlock, status 3.
    let output = run(&[
        "--eventfd",
        "go=0",
        "--with",
        &wat_guest("wasi_partial_then_wait.wat"),
        &c_test_guest("exit33"),
    ]);
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));

    // The --with guest computes until stopped: the timeout, status 124
    // (this run alone has a short timeout; it is what is tested).
    let output = wasi_eventfd(&[
        "run",
        "--timeout",
        "2",
        "--eventfd",
        "stop=0",
        "--with",
        &rust_guest("spin"),
        &c_test_guest("exit33"),
    ]);
    assert_eq!(output.status.code(), Some(124), "{}", stderr(&output));
}

// ---------------------------------------------------------------------------
// Stdin and stdout while a guest runs
// ---------------------------------------------------------------------------

/// A running `wasi-eventfd run --timeout 60 ARGS...` with piped stdio: the
/// test reads its stdout as it comes and writes its stdin when it chooses.
/// Dropping it kills the process if it is still running.
struct Interactive {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Receiver<Vec<u8>>,
    seen: Vec<u8>,
    stderr: Option<JoinHandle<Vec<u8>>>,
}

impl Interactive {
    fn spawn(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_wasi-eventfd"))
            .args(["run", "--timeout", "60"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start wasi-eventfd");
        let mut out = child.stdout.take().expect("piped stdout");
        let (send, stdout) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // Ends at EOF, on an error, or when the test has gone.
            while let Ok(n @ 1..) = out.read(&mut buf) {
                if send.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        let mut err = child.stderr.take().expect("piped stderr");
        let stderr = std::thread::spawn(move || {
            let mut all = Vec::new();
            let _ = err.read_to_end(&mut all);
            all
        });
        Interactive {
            stdin: child.stdin.take(),
            child,
            stdout,
            seen: Vec::new(),
            stderr: Some(stderr),
        }
    }

    /// Waits until stdout so far contains `needle`; fails the test after
    /// [`WAIT`] or if stdout ends first.
    fn wait_for(&mut self, needle: &str) {
        let deadline = Instant::now() + WAIT;
        while !contains(&self.seen, needle.as_bytes()) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stdout.recv_timeout(left) {
                Ok(chunk) => self.seen.extend(chunk),
                Err(RecvTimeoutError::Timeout) => panic!(
                    "`{needle}` not on stdout after {WAIT:?}; so far: {:?}",
                    String::from_utf8_lossy(&self.seen)
                ),
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "stdout ended without `{needle}`: {:?}",
                    String::from_utf8_lossy(&self.seen)
                ),
            }
        }
    }

    /// Writes `bytes` to stdin and closes it.
    fn send_and_close(&mut self, bytes: &[u8]) {
        // Dropping stdin closes the pipe: the guest sees EOF after `bytes`.
        self.offer_and_close(bytes)
            .expect("write the runner's stdin");
    }

    /// Writes `bytes` to stdin and closes it, reporting a failed write.
    fn offer_and_close(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let mut stdin = self.stdin.take().expect("stdin still open");
        stdin.write_all(bytes)
    }

    /// Closes stdin, waits (at most [`WAIT`]) for stdout to end and for the
    /// process to exit; returns its status, all of stdout and stderr.
    fn finish(&mut self) -> (ExitStatus, Vec<u8>, String) {
        self.stdin = None;
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stdout.recv_timeout(left) {
                Ok(chunk) => self.seen.extend(chunk),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => panic!(
                    "the runner did not finish within {WAIT:?}; stdout: {:?}",
                    String::from_utf8_lossy(&self.seen)
                ),
            }
        }
        let status = self.child.wait().expect("wait for wasi-eventfd");
        let stderr = self
            .stderr
            .take()
            .map(|reader| reader.join().expect("stderr reader"))
            .unwrap_or_default();
        (
            status,
            self.seen.clone(),
            String::from_utf8_lossy(&stderr).into_owned(),
        )
    }
}

impl Drop for Interactive {
    fn drop(&mut self) {
        // A test that failed half-way must not leave the runner behind.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The prompt guest `prompt` must show `READY` before the test sends its
/// input (the guest then waits reading stdin), then answer with the line.
fn assert_prompt_comes_before_input(prompt: &str) {
    let mut run = Interactive::spawn(&[prompt]);
    run.wait_for("READY");
    run.send_and_close(b"hello\n");
    let (status, out, err) = run.finish();
    assert!(status.success(), "{status}: {err}");
    assert_eq!(String::from_utf8_lossy(&out), "READYgot: hello\n");
}

#[test]
fn a_p2_guests_prompt_shows_while_it_waits_for_stdin() {
    assert_prompt_comes_before_input(&rust_guest("wasi_prompt"));
}

#[test]
fn a_p1_guests_prompt_shows_while_it_waits_for_stdin() {
    assert_prompt_comes_before_input(&c_test_guest("prompt"));
}

#[test]
fn with_guests_do_not_read_stdin() {
    // Only the main guest reads stdin. Here it ignores it, and the --with
    // prompt guest must see an empty stdin (EOF), not the line sent.
    let mut run = Interactive::spawn(&[
        "--with",
        &rust_guest("wasi_prompt"),
        &rust_guest("wasi_exit"),
        "0",
    ]);
    // The write may find the runner gone (broken pipe): a --with guest that
    // rightly saw EOF did not wait for it. One that wrongly read stdin
    // would still be waiting for these bytes, so they would reach it.
    let _ = run.offer_and_close(b"hello\n");
    let (status, out, err) = run.finish();
    assert!(status.success(), "{status}: {err}");
    assert_eq!(String::from_utf8_lossy(&out), "READYgot EOF\n");
}

#[test]
fn a_partial_line_shows_while_its_guest_waits_on_an_eventfd() {
    // The --with WAT guest writes `partial` (no newline) and blocks reading
    // eventfd `go`. The main guest writes `go` only once it has read a line
    // of stdin, which the test sends only after it has seen `partial`: so
    // `partial` must come out while its guest waits, not when it ends.
    let mut run = Interactive::spawn(&[
        "--eventfd",
        "go=0",
        "--with",
        &wat_guest("wasi_partial_then_wait.wat"),
        &wat_guest("wasi_stdin_then_go.wat"),
    ]);
    run.wait_for("partial");
    run.send_and_close(b"go\n");
    let (status, out, err) = run.finish();
    assert!(status.success(), "{status}: {err}");
    // The rest of the partial line and the main guest's line, in either
    // order (the partial line was already out).
    let out = String::from_utf8_lossy(&out);
    assert!(
        out == "partialgo written\n then woken\n" || out == "partial then woken\ngo written\n",
        "{out:?}"
    );
}

/// What `wasi_binary_out.rs` and `binary_out.c` write (keep in step with
/// them).
fn binary_output() -> Vec<u8> {
    let mut bytes = b"\x00\xff\r\n\xc3\x28 not utf-8 \x80\xbf\r\r\n".to_vec();
    for _ in 0..40 {
        bytes.extend(0..=255u8);
    }
    bytes.extend_from_slice(b"\ntail \x00\xfe\r");
    bytes
}

#[test]
fn binary_output_passes_through_byte_for_byte() {
    for guest in [rust_guest("wasi_binary_out"), c_test_guest("binary_out")] {
        let output = run(&[&guest]);
        assert!(output.status.success(), "{guest}: {}", stderr(&output));
        assert!(
            output.stdout == binary_output(),
            "{guest}: {} bytes differ from the {} written; first difference at byte {:?}",
            output.stdout.len(),
            binary_output().len(),
            output
                .stdout
                .iter()
                .zip(binary_output())
                .position(|(a, b)| *a != b)
        );
    }
}

// ---------------------------------------------------------------------------
// Concurrent guests' lines
// ---------------------------------------------------------------------------

/// The lines `lines.c` and `wasi_lines.rs` print.
const LINES: usize = 1000;

/// How many times [`assert_lines_never_split`] runs its guests. Whether a
/// line gets split in one run depends on how the guests' threads happen to
/// meet (a runner that splits lines showed it in about half of single runs
/// of three C guests on the 2-core test machine); a run takes a fraction
/// of a second, so several make missing such a runner unlikely.
const LINE_RUNS: usize = 10;

/// Runs copies of line-printing guests side by side, each under its own
/// name (`(file, name)`; the first is the main guest), [`LINE_RUNS`] times,
/// and checks that every line of stdout is one whole line of one guest and
/// that each guest's lines all came, in order.
fn assert_lines_never_split(guests: &[(String, &str)]) {
    let dir = Scratch::new(&format!("lines-{}", guests[0].1));
    let copies: Vec<String> = guests
        .iter()
        .map(|(file, name)| {
            let copy = dir.path().join(format!("{name}.wasm"));
            std::fs::copy(file, &copy).expect("copy a guest under its own name");
            arg(&copy)
        })
        .collect();
    let mut args = Vec::new();
    for copy in &copies[1..] {
        args.extend(["--with", copy.as_str()]);
    }
    args.push(&copies[0]);
    for run_number in 1..=LINE_RUNS {
        let out = succeeded(&run(&args));
        let mut next: Vec<usize> = vec![0; guests.len()];
        for line in out.lines() {
            let whole = guests.iter().enumerate().find_map(|(i, (_, tag))| {
                let n = next[i];
                let payload = format!("{tag}-{n}").repeat(n % 7 + 1);
                (line == format!("{tag} {n} {payload} END")).then_some(i)
            });
            match whole {
                Some(i) => next[i] += 1,
                None => panic!(
                    "run {run_number}: a line that is not the next whole line of any guest: \
                     {line:?}"
                ),
            }
        }
        for (i, (_, tag)) in guests.iter().enumerate() {
            assert_eq!(
                next[i], LINES,
                "run {run_number}: guest {tag}: lines missing"
            );
        }
    }
}

#[test]
fn stdio_blocks_of_concurrent_c_guests_never_split_lines() {
    // printf to a pipe is fully buffered: wasi-libc writes 1024-byte blocks
    // that end in the middle of lines, and never asks for a flush.
    let lines = c_test_guest("lines");
    assert_lines_never_split(&[
        (lines.clone(), "stdio-a"),
        (lines.clone(), "stdio-b"),
        (lines, "stdio-c"),
    ]);
}

#[test]
fn lines_written_in_small_pieces_never_split() {
    // Each line in five write(2)s (C, WASI preview 1) or five writes to fd 1
    // (Rust, WASI 0.2), without a flush.
    let (c, rust) = (c_test_guest("lines"), rust_guest("wasi_lines"));
    assert_lines_never_split(&[
        (c.clone(), "pieces-c1"),
        (c, "pieces-c2"),
        (rust.clone(), "pieces-rust1"),
        (rust, "pieces-rust2"),
    ]);
}

#[test]
fn a_flushed_prompt_shows_while_its_guest_computes() {
    // The guest never waits and never ends a line: only the flushed-and-
    // untouched rule can release its prompt before `--timeout 60` stops it.
    let mut run = Interactive::spawn(&[&wat_guest("wasi_prompt_then_spin.wat")]);
    run.wait_for("READY");
    assert!(
        matches!(run.child.try_wait(), Ok(None)),
        "the prompt showed only when the guest was stopped"
    );
}

#[test]
fn a_stalled_reader_of_stdout_does_not_hold_the_runner_past_its_deadline() {
    // Nobody reads the runner's stdout: once the pipe is full, only the
    // guest may wait for room, never the runner's threads or its deadline.
    let mut child = Command::new(env!("CARGO_BIN_EXE_wasi-eventfd"))
        .args(["run", "--timeout", "2"])
        .arg(wat_guest("spam.wat"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start wasi-eventfd");
    let deadline = Instant::now() + WAIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("poll the runner") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the runner was still running {WAIT:?} after its 2 s deadline");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(124));
}

#[test]
fn spamming_guests_neither_starve_others_nor_split_lines() {
    // Two guests write 200 000 lines each as fast as they can while a
    // ping-pong pair plays: everyone finishes (a starved pair would meet
    // the deadline instead), and every spam line arrives whole.
    let output = Command::new(env!("CARGO_BIN_EXE_wasi-eventfd"))
        .args([
            "run",
            "--timeout",
            "60",
            "--eventfd",
            "ping=0",
            "--eventfd",
            "pong=0",
        ])
        .args(["--with", &rust_guest("pong")])
        .args([
            "--with",
            &wat_guest("spam.wat"),
            "--with",
            &wat_guest("spam.wat"),
        ])
        .args([&rust_guest("ping"), "2000"])
        .output()
        .expect("run wasi-eventfd");
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(out.contains("ping-pong: 2000 round trips"), "{out:.300}");
    assert!(out.contains("pong: answered 2000 balls"));
    let spam = "spam spam spam spam spam spam spam spam spam spam spam spam";
    let mut spam_lines = 0;
    for line in out.lines() {
        if line == spam {
            spam_lines += 1;
        } else {
            assert!(
                line.starts_with("ping-pong: ") || line.starts_with("pong: "),
                "a split or foreign line: {line:?}"
            );
        }
    }
    assert_eq!(spam_lines, 2 * 200_000);
}
