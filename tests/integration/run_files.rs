//! Run files (`wasi-eventfd run --config FILE`): per-guest set-up, and the
//! errors a bad file gets.

use std::process::Command;

use crate::cli::{stderr, succeeded, wasi_eventfd};
use crate::guests::{guest, repo_root, Scratch};

/// Runs `wasi-eventfd run --config FILE` with the host's environment
/// holding a variable no guest was granted and one a guest names.
fn run_config(file: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_wasi-eventfd"))
        .args(["run", "--timeout", "60", "--config"])
        .arg(file)
        .env("WASI_EVENTFD_SECRET", "do-not-leak")
        .env("WASI_EVENTFD_PASSED", "from-host")
        .output()
        .expect("run wasi-eventfd")
}

#[test]
fn each_guest_gets_its_own_args_env_and_eventfds() {
    let scratch = Scratch::new("run-file-grants");
    let grants = guest("grants").display().to_string();
    let file = scratch.file(
        "grants.toml",
        &format!(
            r#"
[eventfd.a]
initval = 1

[eventfd.b]
initval = 0
semaphore = true

[[guest]]
file = "{grants}"
argv0 = "first"
args = ["x", "y"]
env = {{ A = "1" }}
eventfds = ["a"]

[[guest]]
file = "{grants}"
argv0 = "second"
count = 2
env-from-host = ["WASI_EVENTFD_PASSED", "WASI_EVENTFD_UNSET"]
eventfds = ["b", "a"]

[[guest]]
file = "{grants}"
argv0 = "third"
"#
        ),
    );
    let output = run_config(&file);
    let out = succeeded(&output);
    let mut lines: Vec<&str> = out.lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            "first: args=[x,y] env=[A=1] eventfds=[a]",
            "second: args=[] env=[WASI_EVENTFD_PASSED=from-host] eventfds=[a,b]",
            "second: args=[] env=[WASI_EVENTFD_PASSED=from-host] eventfds=[a,b]",
            // Granted nothing: no variable (the secret stays on the host)
            // and no eventfd to reach.
            "third: args=[] env=[] eventfds=[]",
        ],
        "{}",
        stderr(&output)
    );
}

#[test]
fn the_example_run_files_run() {
    // Builds the Rust examples the run files name.
    guest("ping");
    for name in ["ping-pong", "worker-pool"] {
        let file = repo_root()
            .join("guest-examples")
            .join("run")
            .join(format!("{name}.toml"));
        let out = succeeded(&run_config(&file));
        let expected = match name {
            "ping-pong" => "ping-pong: 10000 round trips",
            _ => "dispatcher: 1000 jobs done",
        };
        assert!(out.contains(expected), "{name}: {out}");
    }
}

/// A run file of `body` must fail with exit status 2 and a two-line error
/// (the message, then the line at fault) that names the file and holds
/// every one of `expected`.
fn assert_rejected(body: &str, expected: &[&str]) {
    let scratch = Scratch::new("run-file-bad");
    let file = scratch.file("bad.toml", body);
    let output = run_config(&file);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{body}\n{err}");
    let shown = file.display().to_string();
    assert!(err.contains(&shown), "the file is named: {err}");
    for part in expected {
        assert!(err.contains(part), "expected `{part}` in: {err}");
    }
    assert_eq!(err.trim_end().lines().count(), 2, "message and line: {err}");
}

#[test]
fn bad_run_files_name_the_file_line_and_key() {
    let grants = guest("grants").display().to_string();
    let valid = format!("[eventfd.a]\ninitval = 0\n\n[[guest]]\nfile = \"{grants}\"\n");
    assert_rejected(
        &format!("{valid}colour = \"red\"\n"),
        &[":6:1:", "unknown field `colour`", "colour = \"red\""],
    );
    assert_rejected(
        &format!("{valid}count = \"two\"\n"),
        &[":6:9:", "`count`", "invalid type"],
    );
    assert_rejected(
        &format!("{valid}count = 0\n"),
        &[":6:9:", "`count`: must be at least 1"],
    );
    assert_rejected(
        &format!("{valid}eventfds = [\"a\", \"c\"]\n"),
        &[":6:18:", "`eventfds`", "no eventfd named `c`"],
    );
    assert_rejected("[eventfd.a]\ninitval = -1\n", &[":2:11:", "`initval`"]);
    assert_rejected(
        "[[guest]]\nfile = \"missing.wasm\"\n",
        &[":2:8:", "`file`: no such file"],
    );
    assert_rejected(
        &format!("{valid}stdin = true\n\n[[guest]]\nfile = \"{grants}\"\nstdin = true\n"),
        &[":10:9:", "only one guest can read stdin"],
    );
    assert_rejected(
        &format!("{valid}dirs = [\"no-such-dir::/data\"]\n"),
        &[":6:9:", "`dirs`: no such directory"],
    );
    assert_rejected("[eventfd.a]\ninitval = [1\n", &["bad.toml:"]);
}

#[test]
fn a_run_file_goes_alone() {
    let output = wasi_eventfd(&["run", "--config", "x.toml", "--env", "A=1"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("cannot be used with"),
        "{}",
        stderr(&output)
    );
    let output = wasi_eventfd(&["run", "--config", "/no/such/run.toml"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("cannot read run file /no/such/run.toml"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn counts_are_bounded_before_any_guest_is_made() {
    let grants = guest("grants").display().to_string();
    let valid = format!("[[guest]]\nfile = \"{grants}\"\n");
    // Once an abort on a 550 GB allocation.
    assert_rejected(
        &format!("{valid}count = 4294967295\n"),
        &[":3:9:", "`count`", "a run has at most 100000 guests"],
    );
    assert_rejected(
        &format!("{valid}count = 60000\n\n{valid}count = 40001\n"),
        &[":7:9:", "`count`: 40001 more guests, after 60000 before"],
    );
}

#[test]
fn names_are_refused_as_the_command_line_refuses_them() {
    let grants = guest("grants").display().to_string();
    let valid = format!("[[guest]]\nfile = \"{grants}\"\n");
    assert_rejected(
        &format!("{valid}env = {{ \"\" = \"d\" }}\n"),
        &[":3:9:", "environment variable ``: the name is empty"],
    );
    assert_rejected(
        &format!("{valid}env = {{ \"A=B\" = \"d\" }}\n"),
        &[
            ":3:9:",
            "environment variable `A=B`: a name cannot hold `=`",
        ],
    );
    assert_rejected(
        &format!("{valid}env-from-host = [\"PATH\", \"A=B\"]\n"),
        &[":3:26:", "a name cannot hold `=`"],
    );
    assert_rejected(
        &format!("{valid}env = {{ A = \"x\\u0000y\" }}\n"),
        &[":3:13:", "value cannot hold a NUL character"],
    );
    assert_rejected(
        &format!("{valid}args = [\"x\\u0000y\"]\n"),
        &[":3:9:", "an argument cannot hold a NUL character"],
    );
    assert_rejected(
        &format!("[eventfd.\"\"]\n\n{valid}"),
        &[":1:10:", "[eventfd.``]: the name is empty"],
    );
}

#[test]
fn a_guest_file_that_is_not_a_regular_file_is_named_so() {
    assert_rejected(
        "[[guest]]\nfile = \"/dev/zero\"\n",
        &[":2:8:", "`file`: not a regular file: /dev/zero"],
    );
}

#[test]
fn run_files_are_read_up_to_16_mib() {
    let output = wasi_eventfd(&["run", "--config", "/dev/zero"]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert_eq!(
        err,
        "error: run file /dev/zero: larger than 16777216 bytes, the most a run file may hold\n"
    );
    // A pipe that never ends: read to the bound, then refused.
    let mut yes = Command::new("yes")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run yes");
    let output = Command::new(env!("CARGO_BIN_EXE_wasi-eventfd"))
        .args(["run", "--config", "/dev/stdin"])
        .stdin(yes.stdout.take().expect("yes's stdout"))
        .output()
        .expect("run wasi-eventfd");
    yes.kill().expect("stop yes");
    yes.wait().expect("reap yes");
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("larger than 16777216 bytes"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn errors_quote_a_bounded_window_of_the_line() {
    let grants = guest("grants").display().to_string();
    let valid = format!("[[guest]]\nfile = \"{grants}\"\n");
    let long = "x".repeat(2_000_000);
    // The bad value is at the end of a 2 MB line; a 2 MB key is quoted in
    // the parser's own message.
    for body in [
        format!("{valid}args = [\"{long}\", 1]\n"),
        format!("{valid}{long} = 1\n"),
        format!("{valid}eventfds = [\"{long}\"]\n"),
    ] {
        let scratch = Scratch::new("run-file-long-line");
        let file = scratch.file("bad.toml", &body);
        let output = run_config(&file);
        let err = stderr(&output);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{}",
            &err[..err.len().min(500)]
        );
        assert!(err.len() < 1000, "{} bytes: {}", err.len(), &err[..500]);
        assert_eq!(err.trim_end().lines().count(), 2, "{err}");
        assert!(err.contains(":3:"), "{err}");
    }
}

#[test]
fn a_hundred_thousand_eventfds_start_in_linear_time() {
    // The duplicate-name check was quadratic: 23 s for the release binary.
    let scratch = Scratch::new("run-file-many-eventfds");
    let ok = scratch.file(
        "ok.wat",
        r#"(module (memory (export "memory") 1) (func (export "_start")))"#,
    );
    let mut body = String::new();
    for i in 0..100_000 {
        body.push_str(&format!("[eventfd.e{i}]\n"));
    }
    body.push_str(&format!("[[guest]]\nfile = \"{}\"\n", ok.display()));
    let file = scratch.file("many.toml", &body);
    let started = std::time::Instant::now();
    succeeded(&run_config(&file));
    let took = started.elapsed();
    assert!(took < std::time::Duration::from_secs(10), "{took:?}");
}
