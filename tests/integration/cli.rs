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
        (&["run", "--pool", "4000000000", &ok], "vm.max_map_count"),
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

/// What the `grants` guest prints when run as the main guest with `args`
/// and nothing granted.
fn grants_line(args: &[&str]) -> String {
    format!(
        "grants.wasm: args=[{}] env=[] eventfds=[]\n",
        args.join(",")
    )
}

#[test]
fn every_word_after_the_guest_file_goes_to_the_guest() {
    // As `wasmtime run`: the runner's options, `--help` and `--` included,
    // reach the guest verbatim once the file is named.
    let grants = path("grants");
    for words in [
        &["--help"][..],
        &["--version"],
        &["--env", "A=1"],
        &["--timeout", "1"],
        &["--", "x"],
        &["--with", "x.wasm"],
        &["-S", "inherit-env", "--dir", "/"],
        &["--config", "x.toml", "--argv0"],
        &["run", "-x", "--", "--"],
    ] {
        let mut args = vec!["run", &grants];
        args.extend_from_slice(words);
        let output = wasi_eventfd(&args);
        assert_eq!(succeeded(&output), grants_line(words), "{words:?}");
    }
    // Before the file, `--` only ends the options, as clap and wasmtime
    // have it.
    let output = wasi_eventfd(&["run", "--env", "A=1", "--", &grants, "--", "y"]);
    assert_eq!(
        succeeded(&output),
        "grants.wasm: args=[--,y] env=[A=1] eventfds=[]\n"
    );
}

/// A writer whose reader is already gone: every write fails with EPIPE.
fn closed_pipe() -> std::process::Stdio {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    writer.into()
}

/// `/dev/full`: every write fails with ENOSPC.
fn full_device() -> std::process::Stdio {
    std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("open /dev/full")
        .into()
}

#[test]
fn the_commands_own_messages_survive_a_closed_stdout_or_stderr() {
    let spin = path("spin");
    let pong = crate::guests::example_wat("pong.wat").display().to_string();
    let cases: [(&[&str], i32); 8] = [
        (&["--help"], 0),
        (&["run", "--help"], 0),
        (&["--version"], 0),
        (&["run", "-S", "help"], 0),
        (&["run", "--bogus"], 2),
        (&["run", "/nonexistent/guest.wasm"], 2),
        // Deadlock and timeout reports.
        (
            &["run", "--eventfd", "ping=0", "--eventfd", "pong=0", &pong],
            3,
        ),
        (
            &["run", "--eventfd", "stop=0", "--timeout", "0.2", &spin],
            124,
        ),
    ];
    for (args, status) in cases {
        // The debug log goes to stderr too; the bad directive is reported
        // (and ignored) there.
        for (name, stdout, stderr) in [
            ("closed stdout", closed_pipe(), std::process::Stdio::piped()),
            ("closed stderr", std::process::Stdio::null(), closed_pipe()),
            ("full stdout and stderr", full_device(), full_device()),
        ] {
            let mut command = Command::new(env!("CARGO_BIN_EXE_wasi-eventfd"));
            command
                .args(args)
                .env("RUST_LOG", "wasi_eventfd=debug,[bad")
                .stdout(stdout)
                .stderr(stderr);
            let output = command.output().expect("run wasi-eventfd");
            assert_eq!(
                output.status.code(),
                Some(status),
                "{args:?} with {name}: {}",
                crate::cli::stderr(&output)
            );
        }
    }
}

/// The status of a run, which must be a clear answer: success, bad input
/// (2) with a short message starting `error:` (clap's add a hint line), or
/// a guest that could not start under the limit (1, said so); never a
/// panic (101) or an abort (134).
fn works_or_is_refused(args: &[&str]) -> i32 {
    let output = wasi_eventfd(args);
    let err = stderr(&output);
    match output.status.code() {
        Some(0) => {}
        Some(1) => assert!(err.contains("could not start"), "{args:?}: {err}"),
        Some(2) => {
            assert!(err.starts_with("error: "), "{args:?}: {err}");
            assert!(err.len() < 500, "{args:?}: {err}");
        }
        other => panic!("{args:?}: exit {other:?}: {err}"),
    }
    output.status.code().unwrap_or_default()
}

#[test]
fn numeric_options_work_or_are_refused_at_any_size() {
    let scratch = Scratch::new("numeric-options");
    let ok = scratch.file(
        "ok.wat",
        r#"(module (memory (export "memory") 1) (func (export "_start")))"#,
    );
    let ok = ok.display().to_string();
    let huge = ["4294967295", "4294967296", "18446744073709551615", "1e19"];
    // A deadline that far ahead cannot be an `Instant`: refused, not a
    // panic adding to one.
    for timeout in ["1e19", "18446744073709551615", "4294967296", "inf", "NaN"] {
        assert_eq!(works_or_is_refused(&["run", "--timeout", timeout, &ok]), 2);
    }
    assert_eq!(
        works_or_is_refused(&["run", "--timeout", "4294967295", &ok]),
        0
    );
    for option in [
        "--max-memory",
        "--pool",
        "--threads",
        "--max-descriptors",
        "--max-descriptions",
    ] {
        for value in [
            "0", "1", "4095", "4096", "4097", "65535", "65536", "1048576",
        ]
        .iter()
        .chain(&huge)
        {
            works_or_is_refused(&["run", option, value, &ok]);
        }
    }
    // The memory limit against the pool's slots, around 4 GiB and past.
    for value in ["4095", "4096", "4097", "1048576", "18446744073709551615"] {
        works_or_is_refused(&["run", "--pool", "1", "--max-memory", value, &ok]);
    }
    assert_eq!(
        works_or_is_refused(&["run", "--max-memory", "4096", &ok]),
        0
    );
}

#[test]
fn environment_names_are_refused_alike_on_the_command_line_and_in_run_files() {
    let semantics = path("semantics");
    for (spec, expected) in [
        ("=d", "`=d` is not NAME[=VALUE]: the name is empty"),
        ("=", "the name is empty"),
    ] {
        let output = wasi_eventfd(&["run", "--env", spec, &semantics]);
        assert_usage_error(&output, expected);
    }
}

#[test]
fn guest_files_are_read_no_further_than_their_size() {
    // /proc files report size 0 and go on: pagemap for a gigabyte.
    for file in ["/proc/self/pagemap", "/proc/self/status"] {
        let output = wasi_eventfd(&["run", file]);
        assert_usage_error(&output, "holds more than the 0 bytes its size says");
    }
}

#[test]
fn arguments_that_are_not_utf8_are_refused_by_position() {
    use std::os::unix::ffi::OsStrExt;
    let output = Command::new(env!("CARGO_BIN_EXE_wasi-eventfd"))
        .arg("run")
        .arg(path("grants"))
        .arg("fine")
        .arg(std::ffi::OsStr::from_bytes(b"bad\xff"))
        .output()
        .expect("run wasi-eventfd");
    assert_usage_error(
        &output,
        "argument 2 of the guest, `bad\u{fffd}`, is not valid UTF-8",
    );
}

#[test]
fn long_names_are_quoted_shortened_in_messages() {
    let name = "n".repeat(100_000);
    let output = wasi_eventfd(&[
        "run",
        "--eventfd",
        &format!("{name}=1"),
        "--eventfd",
        &format!("{name}=2"),
        &path("semantics"),
    ]);
    assert_usage_error(&output, "is given twice");
    assert!(stderr(&output).len() < 500, "{}", stderr(&output).len());
}

#[test]
fn a_run_has_at_most_a_hundred_thousand_guests_on_the_command_line_too() {
    use std::os::unix::process::CommandExt;
    let mut command = Command::new(env!("CARGO_BIN_EXE_wasi-eventfd"));
    command.arg("run");
    for _ in 0..100_000 {
        command.arg("--with=w");
    }
    command.arg("main.wasm");
    // 100 001 arguments need more than the 2 MiB the default 8 MiB stack
    // limit leaves for them: the kernel allows a quarter of the stack.
    // SAFETY: getrlimit and setrlimit are async-signal-safe, and only they
    // run between fork and exec.
    unsafe {
        command.pre_exec(|| {
            let mut limit = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            if libc::getrlimit(libc::RLIMIT_STACK, &mut limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            limit.rlim_cur = limit.rlim_max.min(64 << 20);
            if libc::setrlimit(libc::RLIMIT_STACK, &limit) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    let output = command.output().expect("run wasi-eventfd");
    assert_usage_error(&output, "100001 guests: a run has at most 100000 guests");
}
