//! Project tasks: `cargo xtask demo` and `cargo xtask test`.
//!
//! Both first make sure the guests' toolchains are there: the `wasm32-wasip2`
//! Rust target (through rustup) and, for the C guests, Debian's clang, lld
//! and wasi-libc (through apt-get, when run as root). So on a fresh machine
//! each is the only command needed.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const USAGE: &str = "usage: cargo xtask <demo | test [CARGO TEST ARGS]...>
  demo   build the Rust guest examples and run ping-pong and worker-pool
  test   run every test of the workspace (cargo test --workspace)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("demo") => demo(),
        Some("test") => test(&args[1..]),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the repository root")
        .to_path_buf()
}

fn cargo() -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.current_dir(root());
    command
}

fn run(command: &mut Command) -> Result<(), String> {
    let status = command
        .status()
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{command:?} failed: {status}"))
    }
}

/// Installs the wasm32-wasip2 target for the toolchain in use, if rustup
/// manages it and the target is missing.
fn ensure_wasm_target() -> Result<(), String> {
    let Ok(output) = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .current_dir(root())
        .output()
    else {
        return Ok(()); // no rustup: the toolchain is managed some other way
    };
    if String::from_utf8_lossy(&output.stdout)
        .lines()
        .any(|t| t.trim() == "wasm32-wasip2")
    {
        return Ok(());
    }
    eprintln!("xtask: installing the wasm32-wasip2 target");
    run(Command::new("rustup")
        .args(["target", "add", "wasm32-wasip2"])
        .current_dir(root()))
}

/// Debian's packages for the C guests (`guest-examples/c`).
const C_PACKAGES: &[&str] = &["clang", "lld", "wasi-libc", "libclang-rt-dev-wasm32"];

/// Installs the C guests' toolchain with apt-get when clang cannot build
/// for wasm32-wasi yet.
fn ensure_c_toolchain() -> Result<(), String> {
    let sysroot = Path::new("/usr/share/wasi-sysroot");
    let clang = Command::new("clang").arg("--version").output();
    if clang.is_ok_and(|o| o.status.success()) && sysroot.exists() {
        return Ok(());
    }
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"));
    if !is_root {
        return Err(format!(
            "the C guests need Debian's {}: sudo apt-get install {}",
            C_PACKAGES.join(", "),
            C_PACKAGES.join(" ")
        ));
    }
    eprintln!("xtask: installing {}", C_PACKAGES.join(" "));
    run(Command::new("apt-get").arg("update").arg("-qq"))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(C_PACKAGES)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

fn demo() -> Result<(), String> {
    ensure_wasm_target()?;
    ensure_c_toolchain()?;
    let guests = root().join("target").join("wasm-guests");
    run(cargo()
        .current_dir(root().join("guest-examples").join("rust"))
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--target-dir",
        ])
        .arg(&guests))?;
    let c_guests = root().join("target").join("c-guests");
    run(Command::new("make")
        .arg("-C")
        .arg(root().join("guest-examples").join("c"))
        .arg(format!("OUT={}", c_guests.display())))?;
    run(cargo().args(["build", "--package", "wasi-eventfd"]))?;
    let bin = root().join("target").join("debug").join("wasi-eventfd");
    let wasm = |name: &str| {
        guests
            .join("wasm32-wasip2")
            .join("release")
            .join(format!("{name}.wasm"))
    };

    let ping_pong = |ping: PathBuf| {
        let mut command = Command::new(&bin);
        command
            .args([
                "run",
                "--eventfd",
                "ping=0",
                "--eventfd",
                "pong=0",
                "--with",
            ])
            .arg(wasm("pong"))
            .arg(ping)
            .arg("10000");
        command
    };
    step(
        "ping-pong: two guests bounce a counter through two shared eventfds",
        ping_pong(wasm("ping")),
    )?;
    step(
        "the same game across languages: a C core module pings a Rust component",
        ping_pong(c_guests.join("ping.wasm")),
    )?;

    let mut pool = Command::new(&bin);
    pool.args([
        "run",
        "--eventfd",
        "jobs=0,semaphore,nonblock",
        "--eventfd",
        "done=0",
        "--eventfd",
        "quit=0",
    ]);
    for _ in 0..3 {
        pool.arg("--with").arg(wasm("worker"));
    }
    pool.arg(wasm("dispatcher")).arg("1000");
    step(
        "worker-pool: a semaphore eventfd hands 1000 jobs to 3 worker guests",
        pool,
    )
}

/// One demo step: its title, the command as typed, then the command run.
fn step(title: &str, mut command: Command) -> Result<(), String> {
    println!("\n== {title}");
    println!("$ {}", shown(&command));
    run(&mut command)
}

fn test(extra: &[String]) -> Result<(), String> {
    ensure_wasm_target()?;
    ensure_c_toolchain()?;
    run(cargo().args(["test", "--workspace"]).args(extra))
}

/// A command as a user would type it, paths relative to the repository.
fn shown(command: &Command) -> String {
    let root = root();
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|part| {
            let part = Path::new(part);
            part.strip_prefix(&root)
                .unwrap_or(part)
                .display()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join(" ")
}
