//! Every code example for guest authors, built and run as written: the main
//! README's "Writing guests" section, `guest/rust/README.md` and the guest
//! crate's documentation (`guest/rust/src/lib.rs`, `p3.rs`).
//!
//! An example is a run of fenced blocks, each labelled with its file on
//! the line above the fence (`` `Cargo.toml`: ``, `` `src/main.rs`: ``),
//! closed by a `sh` block whose commands build it and run it with
//! `wasi-eventfd run`. Each example becomes a package in
//! `target/readme-examples/`, next to `wasi-eventfd`, a link to the
//! repository: the examples depend on a clone of it there, as the docs tell
//! users to (`path = "../wasi-eventfd/guest/rust"`). The commands run in
//! the package's folder, `cargo` as `cargo` and `wasi-eventfd` as this
//! build's binary, so an example that does not build, fails, or deadlocks
//! (exit 3) fails here. A Rust or TOML block in those documents that is not
//! part of such an example fails too, so no example goes unchecked.
//!
//! The one addition to what the docs show is an empty `[workspace]` table in
//! each `Cargo.toml`: the packages lie inside the repository's workspace,
//! which a user's package does not.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::guests::{cargo_build, guest, repo_root};

/// How long one command of an example may take: the first build compiles
/// wit-bindgen and the guest crate (on a busy 2-core machine, minutes); a
/// run takes well under a second.
const COMMAND_DEADLINE: Duration = Duration::from_secs(900);

/// Examples share one target folder (`target/readme-examples/target`, each
/// package's `target` links there, so that the guest crate and its
/// dependencies build once): one example builds at a time, and each
/// package name is that of one example only, with where it was found.
/// (Seen here: a second package `worker` at another path, built into the
/// same target folder, was taken as fresh and got the first one's binary.)
static BUILT: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

#[test]
fn the_main_readmes_guest_examples_run_as_written() {
    let readme = read(&repo_root().join("README.md"));
    let lines = section(&readme, "## Writing guests", "## Guest languages");
    let examples = examples("README.md", &lines, false).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        names(&examples),
        ["worker"],
        "the README's guest examples as found"
    );
    run_all("readme", &examples);
}

#[test]
fn the_guest_crates_readme_example_runs_as_written() {
    let readme = read(&repo_root().join("guest/rust/README.md"));
    let examples = examples("guest/rust/README.md", &markdown_lines(&readme), false)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        names(&examples),
        ["ping-pong"],
        "the guest crate README's examples as found"
    );
    run_all("guest-readme", &examples);
}

#[test]
fn the_guest_crates_doc_examples_run_as_written() {
    let mut found = Vec::new();
    for file in ["guest/rust/src/lib.rs", "guest/rust/src/p3.rs"] {
        let source = read(&repo_root().join(file));
        found.extend(
            examples(file, &rustdoc_lines(&source), true).unwrap_or_else(|e| panic!("{e}")),
        );
    }
    assert_eq!(
        names(&found),
        ["pool-worker", "waiter", "p3-waiter"],
        "the guest crate documentation's examples as found"
    );
    run_all("guest-docs", &found);
}

/// One example: its files (path in the package, contents) and its
/// commands, each a list of words, as the docs give them.
#[derive(Debug)]
struct Example {
    /// Where it starts, `FILE:LINE`, for messages.
    at: String,
    files: Vec<(String, String)>,
    commands: Vec<Vec<String>>,
}

impl Example {
    /// The package name its `Cargo.toml` gives.
    fn name(&self) -> String {
        let manifest = self
            .files
            .iter()
            .find(|(path, _)| path == "Cargo.toml")
            .unwrap_or_else(|| panic!("{}: the example has no `Cargo.toml`", self.at));
        manifest
            .1
            .lines()
            .find_map(|line| line.trim().strip_prefix("name = "))
            .map(|name| name.trim_matches('"').to_string())
            .unwrap_or_else(|| panic!("{}: its `Cargo.toml` names no package", self.at))
    }
}

fn names(examples: &[Example]) -> Vec<String> {
    examples.iter().map(Example::name).collect()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The lines of `text` from the line `start` up to the line `end`, with
/// their numbers in `text`.
fn section(text: &str, start: &str, end: &str) -> Vec<(usize, String)> {
    let lines = markdown_lines(text);
    let from = lines
        .iter()
        .position(|(_, line)| line == start)
        .unwrap_or_else(|| panic!("no section {start:?}"));
    let to = lines[from..]
        .iter()
        .position(|(_, line)| line == end)
        .map_or(lines.len(), |to| from + to);
    lines[from..to].to_vec()
}

/// Markdown's lines, numbered from 1.
fn markdown_lines(text: &str) -> Vec<(usize, String)> {
    text.lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line.to_string()))
        .collect()
}

/// The inner doc comments (`//!`) of a Rust file, as rustdoc reads them,
/// with their line numbers in the file.
fn rustdoc_lines(source: &str) -> Vec<(usize, String)> {
    source
        .lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let doc = line.trim_start().strip_prefix("//!")?;
            Some((i + 1, doc.strip_prefix(' ').unwrap_or(doc).to_string()))
        })
        .collect()
}

/// The examples of one document. `rustdoc`: a fence without a language
/// (or with only rustdoc's attributes, `no_run`) holds Rust. An error
/// names a code block that is not part of a complete example.
fn examples(file: &str, lines: &[(usize, String)], rustdoc: bool) -> Result<Vec<Example>, String> {
    let mut examples = Vec::new();
    let mut current: Option<Example> = None;
    let mut label: Option<String> = None;
    let mut i = 0;
    while i < lines.len() {
        let (number, line) = &lines[i];
        let Some(info) = fence(line) else {
            if !line.trim().is_empty() {
                label = file_label(line);
            }
            i += 1;
            continue;
        };
        let indent = line.len() - line.trim_start().len();
        let mut body = String::new();
        i += 1;
        while i < lines.len() && fence(&lines[i].1).is_none() {
            let text = &lines[i].1;
            body.push_str(text.get(indent..).unwrap_or(text.trim_start()));
            body.push('\n');
            i += 1;
        }
        i += 1; // the closing fence
        let at = format!("{file}:{number}");
        let language = info.split(',').next().unwrap_or_default().trim();
        let rust = if rustdoc {
            matches!(language, "" | "rust" | "no_run" | "ignore" | "should_panic")
        } else {
            language == "rust"
        };
        match (label.take(), language) {
            (Some(path), _) => {
                if rust
                    && body
                        .lines()
                        .any(|l| l.trim_start().starts_with("# ") || l.trim() == "#")
                {
                    return Err(format!(
                        "{at}: the example hides lines from the reader; write it as it is built"
                    ));
                }
                current
                    .get_or_insert_with(|| Example {
                        at: at.clone(),
                        files: Vec::new(),
                        commands: Vec::new(),
                    })
                    .files
                    .push((path, body));
            }
            (None, "sh") if body.contains("wasi-eventfd run") => {
                let mut example = current.take().ok_or_else(|| {
                    format!("{at}: a run command with no example files labelled before it")
                })?;
                example.commands = commands(&body);
                examples.push(example);
            }
            (None, _) if rust || language == "toml" => {
                return Err(format!(
                    "{at}: a code block with no file label (`` `src/main.rs`: `` on the line \
                     above): every example must be built and run by this test"
                ))
            }
            (None, _) => {}
        }
    }
    match current {
        Some(example) => Err(format!(
            "{}: example files with no `sh` block that builds and runs them",
            example.at
        )),
        None => Ok(examples),
    }
}

/// The info string of a fence line (```` ```rust ````), if it is one.
fn fence(line: &str) -> Option<&str> {
    line.trim_start().strip_prefix("```")
}

/// `PATH` of a label line, `` `PATH`: ``, alone or ending a sentence.
fn file_label(line: &str) -> Option<String> {
    let rest = line.trim_end().strip_suffix("`:")?;
    let start = rest.rfind('`')?;
    let path = &rest[start + 1..];
    (!path.is_empty() && !path.contains(' ')).then(|| path.to_string())
}

/// The commands of a `sh` block: lines joined at a trailing `\`, split into
/// words (the examples use no quoting), comments and blank lines left out.
fn commands(body: &str) -> Vec<Vec<String>> {
    let joined = body.replace("\\\n", " ");
    joined
        .lines()
        .map(|line| line.split(" #").next().unwrap_or_default().trim())
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            assert!(
                !line.contains(['"', '\'', '$', '*', '&', '|', ';']),
                "a command this test cannot run as written: {line}"
            );
            line.split_whitespace().map(str::to_string).collect()
        })
        .collect()
}

/// Builds and runs `examples`, in packages named `TAG-NAME`.
fn run_all(tag: &str, examples: &[Example]) {
    // Examples run the repository's own guests (the dispatcher), as the
    // docs say `cargo xtask demo` builds them, in `target/wasm-guests`.
    guest("dispatcher");
    let root = repo_root().join("target").join("readme-examples");
    let mut built = BUILT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    std::fs::create_dir_all(root.join("target")).expect("create target/readme-examples");
    let clone = root.join("wasi-eventfd");
    if std::fs::symlink_metadata(&clone).is_err() {
        std::os::unix::fs::symlink(repo_root(), &clone).expect("link the repository");
    }
    for example in examples {
        let name = example.name();
        if let Some((_, at)) = built.iter().find(|(n, at)| *n == name && *at != example.at) {
            panic!(
                "{}: package name `{name}` is also that of the example at {at}: give each \
                 example its own (they build in one target folder)",
                example.at
            );
        }
        built.push((name.clone(), example.at.clone()));
        let dir = root.join(format!("{tag}-{name}"));
        write_package(&dir, example);
        for command in &example.commands {
            run(&dir, example, command);
        }
    }
}

/// The example's files in `dir`, replacing an earlier version's.
fn write_package(dir: &Path, example: &Example) {
    let _ = std::fs::remove_dir_all(dir.join("src"));
    std::fs::create_dir_all(dir).expect("create the example's package");
    for (path, contents) in &example.files {
        let mut contents = contents.clone();
        if path == "Cargo.toml" {
            contents.push_str(
                "\n# Added by tests/integration/readme_examples.rs: this package lies inside \
                 the repository's workspace.\n[workspace]\n",
            );
        }
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().expect("a file in the package"))
            .expect("create the file's folder");
        std::fs::write(&path, contents).expect("write the example's file");
    }
    // The versions the repository's examples are tested with, not whatever
    // crates.io has newest today.
    if !dir.join("Cargo.lock").exists() {
        std::fs::copy(
            repo_root().join("guest-examples/rust/Cargo.lock"),
            dir.join("Cargo.lock"),
        )
        .expect("copy the examples' Cargo.lock");
    }
    if std::fs::symlink_metadata(dir.join("target")).is_err() {
        std::os::unix::fs::symlink("../target", dir.join("target")).expect("link the target");
    }
}

/// Runs one command of `example` in `dir`; fails the test unless it exits
/// with 0 within the deadline.
fn run(dir: &Path, example: &Example, command: &[String]) {
    let (program, args) = command.split_first().expect("a command has a program");
    let program: PathBuf = match program.as_str() {
        "cargo" => std::env::var("CARGO")
            .unwrap_or_else(|_| "cargo".into())
            .into(),
        "wasi-eventfd" => env!("CARGO_BIN_EXE_wasi-eventfd").into(),
        other => panic!("{}: a command this test does not know: {other}", example.at),
    };
    let (out, err) = (dir.join("stdout.txt"), dir.join("stderr.txt"));
    let mut child = Command::new(&program)
        .args(args)
        .current_dir(dir)
        .env_remove("CARGO_TARGET_DIR")
        .stdin(Stdio::null())
        .stdout(File::create(&out).expect("create stdout.txt"))
        .stderr(File::create(&err).expect("create stderr.txt"))
        .spawn()
        .unwrap_or_else(|e| panic!("run {}: {e}", program.display()));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the command") {
            break Some(status);
        }
        if start.elapsed() > COMMAND_DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let (out, err) = (read(&out), read(&err));
    let shown = command.join(" ");
    match status {
        Some(status) if status.success() => {}
        Some(status) => panic!(
            "{}: `{shown}` failed ({status}){}:\n{out}\n{err}",
            example.at,
            if status.code() == Some(3) {
                ", a deadlock"
            } else {
                ""
            }
        ),
        None => panic!(
            "{}: `{shown}` still ran after {COMMAND_DEADLINE:?}:\n{out}\n{err}",
            example.at
        ),
    }
    if command[0] == "wasi-eventfd" {
        eprintln!("{}: `{shown}`:\n{out}", example.at);
    }
}

#[test]
fn file_labels_and_commands_are_read_as_the_docs_write_them() {
    assert_eq!(file_label("`src/main.rs`:").as_deref(), Some("src/main.rs"));
    assert_eq!(
        file_label("Then `src/bin/ping.rs`:").as_deref(),
        Some("src/bin/ping.rs")
    );
    assert_eq!(file_label("Build it, and run it:"), None);
    assert_eq!(file_label("`a b`:"), None);
    assert_eq!(
        commands("cargo build\nwasi-eventfd run \\\n    --with a.wasm b.wasm 10\n"),
        [
            vec!["cargo", "build"],
            vec!["wasi-eventfd", "run", "--with", "a.wasm", "b.wasm", "10"]
        ]
    );
    let doc = "`Cargo.toml`:\n\n```toml\n[package]\nname = \"x\"\n```\n\n\
               `src/main.rs`:\n\n```rust\nfn main() {}\n```\n\n```sh\nwasi-eventfd run x.wasm\n```\n";
    let found = examples("doc", &markdown_lines(doc), false).expect("one example");
    assert_eq!(names(&found), ["x"]);
    assert_eq!(
        found[0].files[1],
        ("src/main.rs".into(), "fn main() {}\n".into())
    );
    assert_eq!(found[0].commands, [vec!["wasi-eventfd", "run", "x.wasm"]]);
    let unlabelled = examples(
        "doc",
        &markdown_lines("```rust\nfn main() {}\n```\n"),
        false,
    );
    assert_eq!(
        unlabelled.err().as_deref(),
        Some(
            "doc:1: a code block with no file label (`` `src/main.rs`: `` on the line above): \
             every example must be built and run by this test"
        )
    );
    let hidden = "`src/main.rs`:\n```\n# fn hidden() {}\nfn main() {}\n```\n";
    assert!(examples("doc", &markdown_lines(hidden), true).is_err());
    let unrun = "`src/main.rs`:\n```rust\nfn main() {}\n```\n";
    assert!(examples("doc", &markdown_lines(unrun), false).is_err());
}

/// The core-module example `guest-examples/rust/epoll-loop` (wasm32-wasip1,
/// its own workspace), built as the README says `cargo xtask demo` builds
/// it and run with the command the README gives: the event loop adds up
/// both posters' writes, each woken through `Epoll::wait`.
#[test]
fn the_epoll_loop_example_runs_as_the_readme_says() {
    let readme = read(&repo_root().join("README.md")).replace('\n', " ");
    let run = "wasi-eventfd run --config guest-examples/run/epoll-loop.toml";
    for said in [
        "`cargo build --release --target wasm32-wasip1` in `guest-examples/rust/epoll-loop/`",
        run,
    ] {
        assert!(readme.contains(said), "the README no longer says {said:?}");
    }
    let target_dir = repo_root().join("target").join("wasm-guests");
    if let Err(e) = cargo_build(
        "guest-examples/rust/epoll-loop",
        "wasm32-wasip1",
        &target_dir,
    ) {
        panic!("{e}");
    }
    let words: Vec<&str> = run.split_whitespace().collect();
    let output = Command::new(env!("CARGO_BIN_EXE_wasi-eventfd"))
        .args(["run", "--timeout", "60"])
        .args(&words[2..])
        .current_dir(repo_root())
        .output()
        .expect("run wasi-eventfd");
    let (out, err) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(output.status.success(), "{out}\n{err}");
    let mut lines: Vec<&str> = out.lines().collect();
    lines.sort_unstable();
    let [total, left, right] = lines[..] else {
        panic!("three lines expected:\n{out}\n{err}");
    };
    assert_eq!(left, "post: wrote 1 to left 100 times", "{out}");
    assert_eq!(right, "post: wrote 1 to right 100 times", "{out}");
    // One wake-up reads whatever arrived since the last: at least one, at
    // most one per write.
    let wake_ups: u64 = total
        .strip_prefix("epoll-loop: left 100, right 100, in ")
        .and_then(|rest| rest.strip_suffix(" wake-ups"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no totals line:\n{out}"));
    assert!((1..=200).contains(&wake_ups), "{out}");
}
