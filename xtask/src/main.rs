//! Project tasks: `cargo xtask demo`, `cargo xtask demo-languages` and
//! `cargo xtask test`.
//!
//! Each first makes sure the guests' toolchains are there: the `wasm32-wasip2`
//! Rust target (through rustup); for the C guests, Debian's clang, lld
//! and wasi-libc (through apt-get, when run as root); for the Python and
//! JavaScript guests, python3 and Node.js (apt-get, when missing and run as
//! root) and the pinned componentize-py and ComponentizeJS (pip into
//! `target/py-venv`, `npm ci` in `guest-examples/js`). So on a fresh machine
//! each is the only command needed.

mod languages;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use languages::Language;

const USAGE: &str = "usage: cargo xtask <demo | demo-languages [JOBS] | test [CARGO TEST ARGS]...>
  demo            install the command (cargo install --path host), build the Rust and C
                  guest examples and run ping-pong (also with the C and the WASI 0.3
                  halves), worker-pool, the epoll loop and the waker
  demo-languages  build the Python and JavaScript guests and run them with the Rust and C
                  ones: ping-pong across languages, then one worker pool of all four
  test            run every test of the workspace (cargo test --workspace)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("demo") => demo(),
        Some("demo-languages") => match args.get(1..).unwrap_or_default() {
            [] => demo_languages(1000),
            [jobs] => match jobs.parse() {
                Ok(jobs) if jobs > 0 => demo_languages(jobs),
                _ => Err(format!(
                    "demo-languages: JOBS must be a number above 0, not `{jobs}`"
                )),
            },
            _ => Err("demo-languages takes at most one argument, JOBS".into()),
        },
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

/// Installs the guests' targets for the toolchain in use (wasm32-wasip2
/// for components, wasm32-wasip1 for Rust core modules), if rustup manages
/// it and one is missing.
fn ensure_wasm_target() -> Result<(), String> {
    let Ok(output) = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .current_dir(root())
        .output()
    else {
        return Ok(()); // no rustup: the toolchain is managed some other way
    };
    let installed = String::from_utf8_lossy(&output.stdout);
    for target in ["wasm32-wasip2", "wasm32-wasip1"] {
        if installed.lines().any(|t| t.trim() == target) {
            continue;
        }
        eprintln!("xtask: installing the {target} target");
        run(Command::new("rustup")
            .args(["target", "add", target])
            .current_dir(root()))?;
    }
    Ok(())
}

/// Debian's packages for the C guests (`guest-examples/c`).
const C_PACKAGES: &[&str] = &["clang", "lld", "wasi-libc", "libclang-rt-dev-wasm32"];

/// Installs the C guests' toolchain with apt-get when clang cannot build
/// for wasm32-wasi yet.
fn ensure_c_toolchain() -> Result<(), String> {
    // Debian's wasi-libc puts its libraries in /usr/lib/wasm32-wasi; other
    // distributions use a sysroot in /usr/share/wasi-sysroot.
    let libc = ["/usr/lib/wasm32-wasi", "/usr/share/wasi-sysroot"];
    let clang = Command::new("clang").arg("--version").output();
    if clang.is_ok_and(|o| o.status.success()) && libc.iter().any(|p| Path::new(p).exists()) {
        return Ok(());
    }
    apt_install(
        C_PACKAGES,
        &format!("the C guests need Debian's {}", C_PACKAGES.join(", ")),
    )
}

/// Installs Debian `packages` with apt-get when run as root; otherwise
/// fails with `need` and the command to run.
fn apt_install(packages: &[&str], need: &str) -> Result<(), String> {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"));
    if !is_root {
        return Err(format!(
            "{need}: sudo apt-get install {}",
            packages.join(" ")
        ));
    }
    eprintln!("xtask: installing {}", packages.join(" "));
    run(Command::new("apt-get").arg("update").arg("-qq"))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// Debian's packages for the runtimes of the Python and JS guests' tools.
const LANGUAGE_PACKAGES: &[&str] = &["python3", "python3-venv", "nodejs", "npm"];

/// Makes sure python3 (with venv) and Node.js with npm are there, installing
/// them with apt-get when missing and run as root. The guests' own tools
/// (componentize-py, ComponentizeJS) are pinned and installed by
/// `languages::build`.
fn ensure_language_runtimes() -> Result<(), String> {
    let works = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let present = || {
        works("python3", &["-c", "import venv, ensurepip"])
            && works("node", &["--version"])
            && works("npm", &["--version"])
    };
    if present() {
        return Ok(());
    }
    apt_install(
        LANGUAGE_PACKAGES,
        "the Python and JS guests need python3 with venv, and Node.js 20 or later with npm",
    )?;
    if present() {
        Ok(())
    } else {
        Err("python3 with venv, node and npm are still missing after apt-get".into())
    }
}

/// Where the built examples are.
struct Examples {
    /// The installed `wasi-eventfd` command.
    bin: PathBuf,
    /// The Rust guest components.
    rust: PathBuf,
    /// The C guest core modules.
    c: PathBuf,
}

impl Examples {
    fn rust(&self, name: &str) -> PathBuf {
        self.rust.join(format!("{name}.wasm"))
    }

    fn c(&self, name: &str) -> PathBuf {
        self.c.join(format!("{name}.wasm"))
    }

    /// `wasi-eventfd run --config` with the run file `name` of
    /// `guest-examples/run`.
    fn run_file(&self, name: &str) -> Command {
        let mut command = Command::new(&self.bin);
        command.args(["run", "--config"]).arg(
            root()
                .join("guest-examples")
                .join("run")
                .join(format!("{name}.toml")),
        );
        command
    }

    /// `wasi-eventfd run` with these `--eventfd` specs.
    fn run(&self, eventfds: &[&str]) -> Command {
        let mut command = Command::new(&self.bin);
        command.arg("run");
        for spec in eventfds {
            command.args(["--eventfd", spec]);
        }
        command
    }
}

/// Where `cargo install` puts the command: `$CARGO_HOME/bin`, by default
/// `~/.cargo/bin`.
fn installed_bin() -> PathBuf {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"));
    cargo_home.join("bin").join("wasi-eventfd")
}

/// Builds the Rust and C guest examples and installs the `wasi-eventfd`
/// command.
fn build_examples() -> Result<Examples, String> {
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
    // The epoll example is a core module (wasm32-wasip1), its own
    // workspace; its guests land beside the components' target folder.
    run(cargo()
        .current_dir(
            root()
                .join("guest-examples")
                .join("rust")
                .join("epoll-loop"),
        )
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip1",
            "--target-dir",
        ])
        .arg(&guests))?;
    let c_guests = root().join("target").join("c-guests");
    run(Command::new("make")
        .arg("-C")
        .arg(root().join("guest-examples").join("c"))
        .arg(format!("OUT={}", c_guests.display())))?;
    // The command as users get it: `cargo install --path host`, into
    // cargo's bin folder (on PATH after rustup's set-up).
    // Its build goes to this workspace's target folder, so a second run
    // rebuilds nothing.
    run(cargo()
        .args([
            "install",
            "--path",
            "host",
            "--locked",
            "--quiet",
            "--target-dir",
        ])
        .arg(root().join("target")))?;
    Ok(Examples {
        bin: installed_bin(),
        rust: guests.join("wasm32-wasip2").join("release"),
        c: c_guests,
    })
}

/// The shared eventfds of the worker pool.
const POOL_EVENTFDS: [&str; 3] = ["jobs=0,semaphore,nonblock", "done=0", "quit=0"];

fn demo() -> Result<(), String> {
    let examples = build_examples()?;
    let ping_pong = |ping: PathBuf| {
        let mut command = examples.run(&["ping=0", "pong=0"]);
        command
            .arg("--with")
            .arg(examples.rust("pong"))
            .arg(ping)
            .arg("10000");
        command
    };
    step(
        "ping-pong: two guests bounce a counter through two shared eventfds (a run file)",
        examples.run_file("ping-pong"),
    )?;
    step(
        "the same game across languages: a C core module pings a Rust component",
        ping_pong(examples.c("ping")),
    )?;
    let mut async_pong = examples.run(&["ping=0", "pong=0"]);
    async_pong
        .arg("--with")
        .arg(examples.rust("async-pong"))
        .arg(examples.rust("ping"))
        .arg("10000");
    step(
        "and with a WASI 0.3 guest (experimental): async-pong answers while its timer task writes \
         another eventfd",
        async_pong,
    )?;

    step(
        "worker-pool: a semaphore eventfd hands 1000 jobs to 3 worker guests (a run file)",
        examples.run_file("worker-pool"),
    )?;

    step(
        "epoll-loop: a Rust core module waits with Epoll on two eventfds that two other guests \
         write to (a run file)",
        examples.run_file("epoll-loop"),
    )?;

    let mut waker = examples.run(&["wake=0"]);
    waker
        .args(["-S", "inherit-network", "--with"])
        .arg(examples.rust("nudge"))
        .arg(examples.rust("waker"))
        .args(["127.0.0.1:0", "3"]);
    step(
        "the waker: one poll on a TCP listener and an eventfd; another guest's writes wake it \
         (a client connecting would too)",
        waker,
    )
}

/// Installs the pinned tools of `language` if needed and builds its guests
/// (or finds them cached) in `languages::latest`.
fn build_language(language: Language) -> Result<(), String> {
    languages::build(&root(), language, &|line| eprintln!("xtask: {line}")).map(drop)
}

/// The Python and JavaScript guests with the Rust and C ones: ping-pong
/// across languages, then one worker pool of all four whose totals are
/// checked.
fn demo_languages(jobs: u64) -> Result<(), String> {
    ensure_language_runtimes()?;
    let examples = build_examples()?;
    build_language(Language::Python)?;
    build_language(Language::Js)?;
    // The stable links to those builds, as a user would type them.
    let python = languages::latest(&root(), Language::Python);
    let js = languages::latest(&root(), Language::Js);
    let py = |name: &str| python.join(format!("{name}.wasm"));
    let js = |name: &str| js.join(format!("{name}.wasm"));

    let ping_pong = |pong: PathBuf, ping: PathBuf| {
        let mut command = examples.run(&["ping=0", "pong=0"]);
        command.arg("--with").arg(pong).arg(ping).arg("1000");
        command
    };
    step(
        "ping-pong, Rust and Python: the Rust `ping` plays the Python `pong`",
        ping_pong(py("pong"), examples.rust("ping")),
    )?;
    step(
        "ping-pong, JavaScript and Rust: the JS `ping` plays the Rust `pong`",
        ping_pong(examples.rust("pong"), js("ping")),
    )?;
    step(
        "ping-pong, JavaScript and Python: the JS `ping` plays the Python `pong` (a run file)",
        examples.run_file("python-js-ping-pong"),
    )?;

    let mut pool = examples.run(&POOL_EVENTFDS);
    pool.arg("--with")
        .arg(examples.rust("worker"))
        .arg("--with")
        .arg(js("worker"))
        .arg("--with")
        .arg(examples.c("consumer"))
        .arg(py("producer"))
        .arg(jobs.to_string());
    println!(
        "\n== one worker pool, four languages: a Python producer posts {jobs} jobs on a \
         semaphore eventfd; a Rust, a JavaScript and a C worker take them"
    );
    println!("$ {}", shown(&pool));
    let output = pool
        .output()
        .map_err(|e| format!("cannot run {}: {e}", shown(&pool)))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    print!("{stdout}");
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    if !output.status.success() {
        return Err(format!("the worker pool failed: {}", output.status));
    }
    check_pool_totals(&stdout, jobs, 3)
}

/// Who took how many jobs, from the workers' `NAME: took N jobs` lines;
/// an error unless `workers` lines add up to `jobs` and the producer
/// reported them all done.
fn check_pool_totals(stdout: &str, jobs: u64, workers: usize) -> Result<(), String> {
    let mut taken = Vec::new();
    for line in stdout.lines() {
        let Some((who, rest)) = line.split_once(": took ") else {
            continue;
        };
        let count = rest
            .split(' ')
            .next()
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or_else(|| format!("cannot read the job count of `{line}`"))?;
        // The Rust and C examples do not say their language.
        let who = match who {
            "worker" => "worker (Rust)",
            "consumer" => "consumer (C)",
            other => other,
        };
        taken.push((who.to_string(), count));
    }
    println!("\nwho did what:");
    for (who, count) in &taken {
        println!("  {who:<18} took {count:>6} jobs");
    }
    let total: u64 = taken.iter().map(|(_, count)| count).sum();
    let producer_done = stdout.lines().any(|l| {
        l.starts_with("producer (Python): ") && l.contains(&format!("{jobs} jobs posted and done"))
    });
    if taken.len() != workers || total != jobs || !producer_done {
        return Err(format!(
            "totals do not match: {} of {workers} workers reported, {total} jobs taken of {jobs} \
             posted, producer {}",
            taken.len(),
            if producer_done {
                "reported all done"
            } else {
                "did not report all done"
            }
        ));
    }
    println!("  total: {total} jobs taken = {jobs} posted and reported done: ok");
    Ok(())
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
    // The tests build these too (the same cached build), but silently.
    ensure_language_runtimes()?;
    for language in Language::ALL {
        build_language(language)?;
    }
    run(cargo().args(["test", "--workspace"]).args(extra))
}

/// A command as a user would type it, paths relative to the repository.
fn shown(command: &Command) -> String {
    let root = root();
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|part| {
            let part = Path::new(part);
            if part == installed_bin() {
                return "wasi-eventfd".to_string();
            }
            part.strip_prefix(&root)
                .unwrap_or(part)
                .display()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join(" ")
}
