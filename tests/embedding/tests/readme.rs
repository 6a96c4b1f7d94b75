//! The README's "Embedding" section as written: its `main.rs` is this
//! package's `ping-pong` binary (and the crate documentation's first
//! example; the second, without async, is `ping-pong-sync`), its `Cargo.toml` names this package's dependencies and
//! resolves outside the repository, and the binary runs to the end against
//! the shipped guest within a minute, as does `ping-pong-sync`, so an
//! example that deadlocks fails.

#[path = "../../integration/guests.rs"]
#[allow(dead_code)]
mod guests;

use std::io::Read as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The text of the README's section `heading`, up to the next `## `.
fn readme_section(heading: &str) -> String {
    let readme = std::fs::read_to_string(guests::repo_root().join("README.md")).expect("README.md");
    let start = readme
        .find(&format!("\n## {heading}\n"))
        .unwrap_or_else(|| panic!("no section `{heading}` in README.md"));
    let rest = &readme[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |end| end + 4);
    rest[..end].to_string()
}

/// The fenced code blocks of `markdown` tagged `lang`, in order.
fn code_blocks(markdown: &str, lang: &str) -> Vec<String> {
    let fence = format!("```{lang}\n");
    let mut blocks = Vec::new();
    let mut rest = markdown;
    while let Some(start) = rest.find(&fence) {
        let body = &rest[start + fence.len()..];
        let end = body.find("```\n").expect("an unclosed code block");
        blocks.push(body[..end].to_string());
        rest = &body[end..];
    }
    blocks
}

/// The crate documentation's code example number `index` (from 0) as
/// rustdoc compiles it, its hidden `# ` lines shown, except the one that
/// moves a doctest to the guest's folder (the binaries run there).
fn crate_doc_example(index: usize) -> String {
    let lib = std::fs::read_to_string(guests::repo_root().join("host/src/lib.rs")).expect("lib.rs");
    let doc: Vec<&str> = lib
        .lines()
        .filter_map(|line| line.strip_prefix("//!"))
        .map(|line| line.strip_prefix(' ').unwrap_or(line))
        .collect();
    let fences: Vec<usize> = (0..doc.len()).filter(|&i| doc[i] == "```").collect();
    let (start, end) = (fences[2 * index] + 1, fences[2 * index + 1]);
    doc[start..end]
        .iter()
        .filter(|line| !line.contains("std::env::set_current_dir"))
        .map(|line| match *line {
            "#" => "\n".to_string(),
            _ => format!("{}\n", line.strip_prefix("# ").unwrap_or(line)),
        })
        .collect()
}

/// The text of this package's binary `name`.
fn binary_source(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("src/bin/{name}.rs"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_readme_main_rs_is_the_ping_pong_binary() {
    let blocks = code_blocks(&readme_section("Embedding"), "rust");
    assert_eq!(blocks.len(), 1, "one Rust example in the Embedding section");
    assert!(
        blocks[0] == binary_source("ping-pong"),
        "README.md's Embedding example and tests/embedding/src/bin/ping-pong.rs differ"
    );
}

#[test]
fn the_crate_doc_examples_are_the_ping_pong_binaries() {
    assert!(
        crate_doc_example(0) == binary_source("ping-pong"),
        "host/src/lib.rs's first example and tests/embedding/src/bin/ping-pong.rs differ"
    );
    assert!(
        crate_doc_example(1) == binary_source("ping-pong-sync"),
        "host/src/lib.rs's second example and tests/embedding/src/bin/ping-pong-sync.rs differ"
    );
}

/// The `[dependencies]` of a manifest, without `wasi-eventfd`'s path (the
/// README's points to a checkout, this package's into the repository).
fn dependencies(manifest: &str) -> toml::Table {
    let manifest: toml::Table = manifest.parse().expect("a TOML manifest");
    let mut dependencies = manifest["dependencies"]
        .as_table()
        .expect("[dependencies]")
        .clone();
    let library = dependencies
        .get_mut("wasi-eventfd")
        .and_then(|library| library.as_table_mut())
        .expect("wasi-eventfd = { … }");
    assert!(library.remove("path").is_some(), "a path dependency");
    dependencies
}

#[test]
fn the_readme_cargo_toml_has_this_packages_dependencies() {
    let blocks = code_blocks(&readme_section("Embedding"), "toml");
    assert_eq!(blocks.len(), 1, "one Cargo.toml in the Embedding section");
    let ours = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .expect("Cargo.toml");
    assert_eq!(dependencies(&blocks[0]), dependencies(&ours));
}

/// Runs `binary` in the guest's folder; fails unless it succeeds within a
/// minute. Returns its stdout.
fn run_to_the_end(binary: &str) -> String {
    let mut host = Command::new(binary)
        .current_dir(guests::repo_root().join("guest-examples/wat"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the example");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = host.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            host.kill().expect("kill");
            panic!("{binary} did not finish within a minute (a deadlock?)");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let (mut stdout, mut stderr) = (String::new(), String::new());
    host.stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut stdout)
        .expect("stdout");
    host.stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("stderr");
    assert!(status.success(), "{binary} failed: {status}\n{stderr}");
    stdout
}

#[test]
fn the_readme_example_plays_ping_pong_to_the_end() {
    let stdout = run_to_the_end(env!("CARGO_BIN_EXE_ping-pong"));
    assert!(
        stdout.starts_with("10000 round trips, "),
        "unexpected output: {stdout:?}"
    );
}

#[test]
fn the_example_without_async_plays_ping_pong_to_the_end() {
    run_to_the_end(env!("CARGO_BIN_EXE_ping-pong-sync"));
}

/// The README's `Cargo.toml`, its path pointed at this checkout, as the
/// manifest of a crate of its own outside the repository (with the
/// README's `main.rs`): Cargo resolves it offline against this repository's
/// `Cargo.lock`, to the wasmtime and wasmtime-wasi the library is built on.
#[test]
fn the_readme_cargo_toml_resolves_outside_the_repository() {
    let root = guests::repo_root();
    let section = readme_section("Embedding");
    let manifest = code_blocks(&section, "toml").remove(0);
    let checkout = "path = \"../wasi-eventfd/host\"";
    assert!(manifest.contains(checkout), "the README's path dependency");
    let manifest = manifest.replace(checkout, &format!("path = {:?}", root.join("host")));
    let crate_dir =
        std::env::temp_dir().join(format!("wasi-eventfd-readme-{}", std::process::id()));
    std::fs::create_dir_all(crate_dir.join("src")).expect("a crate folder");
    std::fs::write(crate_dir.join("Cargo.toml"), manifest).expect("Cargo.toml");
    std::fs::write(
        crate_dir.join("src/main.rs"),
        code_blocks(&section, "rust").remove(0),
    )
    .expect("main.rs");
    std::fs::copy(root.join("Cargo.lock"), crate_dir.join("Cargo.lock")).expect("Cargo.lock");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(["tree", "--offline", "--edges", "normal", "--depth", "1"])
        .current_dir(&crate_dir)
        .output()
        .expect("cargo tree");
    std::fs::remove_dir_all(&crate_dir).expect("remove the crate");
    let tree = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{tree}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for dependency in [
        "wasi-eventfd v0.1.0",
        "wasmtime v48.0.8",
        "wasmtime-wasi v48.0.8",
        "tokio v1.",
    ] {
        assert!(tree.contains(dependency), "no {dependency} in:\n{tree}");
    }
}
