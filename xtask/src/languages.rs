//! The Python and JavaScript guests (`guest-examples/python`,
//! `guest-examples/js`): their pinned tools and their cached builds.
//!
//! - Python: componentize-py, pinned in `guest-examples/python/requirements.txt`,
//!   installed with pip into the virtual environment `target/py-venv`.
//! - JavaScript: ComponentizeJS, pinned in `guest-examples/js/package.json`
//!   and its `package-lock.json`, installed with `npm ci` into
//!   `guest-examples/js/node_modules`.
//!
//! Each tool builds a component of a few MB to tens of MB in several
//! seconds, so the built components are kept under
//! `target/guest-langs/<language>-<key>/`, where the key is a hash of the
//! guests' sources, the WIT they are built against (following the links to
//! `wit/`) and the tool versions: a change to any of them builds anew, and
//! nothing else does. A lock file keeps two processes (xtask and the tests,
//! or two test runs) from installing or building at the same time.
//!
//! Shared by `cargo xtask` and the integration tests
//! (`tests/integration/languages.rs` includes this file).

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A guest language whose components a tool of its ecosystem builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Language {
    Python,
    Js,
}

impl Language {
    /// Both, in the order they are built.
    pub const ALL: [Language; 2] = [Language::Python, Language::Js];

    /// The language's name as the README and the guests' output say it.
    pub fn name(self) -> &'static str {
        match self {
            Language::Python => "Python",
            Language::Js => "JS",
        }
    }

    fn dir_name(self) -> &'static str {
        match self {
            Language::Python => "python",
            Language::Js => "js",
        }
    }

    /// The guest programs of the example folder, each built to `NAME.wasm`.
    pub fn guests(self) -> &'static [&'static str] {
        match self {
            Language::Python => &["pong", "worker", "producer", "basics"],
            Language::Js => &["ping", "worker", "basics"],
        }
    }

    /// The example folder.
    pub fn source_dir(self, root: &Path) -> PathBuf {
        root.join("guest-examples").join(self.dir_name())
    }
}

/// The world every Python and JS guest is built for (`guest-examples/wit-cli`).
pub fn wit_dir(root: &Path) -> PathBuf {
    root.join("guest-examples").join("wit-cli")
}

/// The virtual environment that holds componentize-py.
pub fn python_venv(root: &Path) -> PathBuf {
    root.join("target").join("py-venv")
}

/// Installs `language`'s pinned tools if they are missing or stale, and
/// builds its guests unless a build of the same sources, WIT and tools is
/// cached. Returns the folder holding `NAME.wasm` for each of
/// [`Language::guests`]. `log` receives one line per step that takes time.
pub fn build(root: &Path, language: Language, log: &dyn Fn(&str)) -> Result<PathBuf, String> {
    let cache = root.join("target").join("guest-langs");
    fs::create_dir_all(&cache).map_err(|e| format!("cannot create {}: {e}", cache.display()))?;
    let lock_path = cache.join(format!("{}.lock", language.dir_name()));
    let lock = File::create(&lock_path)
        .map_err(|e| format!("cannot create {}: {e}", lock_path.display()))?;
    lock.lock()
        .map_err(|e| format!("cannot lock {}: {e}", lock_path.display()))?;

    let tools = match language {
        Language::Python => install_python_tools(root, log)?,
        Language::Js => install_js_tools(root, log)?,
    };
    let key = cache_key(root, language, &tools)?;
    let prefix = format!("{}-", language.dir_name());
    let out = cache.join(format!("{prefix}{key:016x}"));
    if out.is_dir() {
        link_latest(root, language, &out)?;
        return Ok(out);
    }
    let partial = cache.join(format!("{prefix}partial"));
    let _ = fs::remove_dir_all(&partial);
    fs::create_dir_all(&partial)
        .map_err(|e| format!("cannot create {}: {e}", partial.display()))?;
    log(&format!(
        "building the {} guests ({}) with {tools}",
        language.name(),
        language.guests().join(", ")
    ));
    match language {
        Language::Python => build_python(root, &partial)?,
        Language::Js => build_js(root, &partial)?,
    }
    for name in language.guests() {
        let wasm = partial.join(format!("{name}.wasm"));
        if !wasm.is_file() {
            return Err(format!(
                "the {} build made no {}",
                language.name(),
                wasm.display()
            ));
        }
    }
    // Older builds of this language are stale now.
    if let Ok(entries) = fs::read_dir(&cache) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(&prefix) && name != format!("{prefix}partial") {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
    }
    fs::rename(&partial, &out).map_err(|e| format!("cannot rename to {}: {e}", out.display()))?;
    link_latest(root, language, &out)?;
    Ok(out)
}

/// `target/guest-langs/<language>`: a link to the latest build, for
/// commands typed by hand (`target/guest-langs/python/pong.wasm`).
pub fn latest(root: &Path, language: Language) -> PathBuf {
    root.join("target")
        .join("guest-langs")
        .join(language.dir_name())
}

fn link_latest(root: &Path, language: Language, build: &Path) -> Result<(), String> {
    let link = latest(root, language);
    let Some(name) = build.file_name() else {
        return Err(format!("no build folder name in {}", build.display()));
    };
    if fs::read_link(&link).is_ok_and(|target| target == Path::new(name)) {
        return Ok(());
    }
    // A new link renamed over the old one: never a moment without it.
    let new = link.with_extension("new-link");
    let _ = fs::remove_file(&new);
    std::os::unix::fs::symlink(name, &new)
        .and_then(|()| fs::rename(&new, &link))
        .map_err(|e| format!("cannot link {} to {}: {e}", link.display(), build.display()))
}

/// Runs `command`, returning its output, or an error with its stderr.
fn output(command: &mut Command, what: &str) -> Result<Output, String> {
    let output = command
        .output()
        .map_err(|e| format!("{what}: cannot run {:?}: {e}", command.get_program()))?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(format!(
            "{what} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Creates `target/py-venv` with componentize-py at the version of
/// `requirements.txt`, unless it is there already. Returns the tool's
/// version line.
fn install_python_tools(root: &Path, log: &dyn Fn(&str)) -> Result<String, String> {
    let requirements = Language::Python.source_dir(root).join("requirements.txt");
    let wanted = read(&requirements)?;
    let venv = python_venv(root);
    let stamp = venv.join("installed-requirements.txt");
    let tool = venv.join("bin").join("componentize-py");
    if !(tool.is_file() && fs::read(&stamp).is_ok_and(|s| s == wanted)) {
        log(&format!(
            "installing the Python guests' tools ({}) into {}",
            requirement_lines(&wanted),
            shown(root, &venv)
        ));
        output(
            Command::new("python3")
                .args(["-m", "venv", "--clear"])
                .arg(&venv),
            "creating the Python virtual environment (python3 -m venv; on Debian it needs \
             python3-venv)",
        )?;
        output(
            Command::new(venv.join("bin").join("python"))
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "--no-input",
                    "--requirement",
                ])
                .arg(&requirements),
            "pip install -r guest-examples/python/requirements.txt",
        )?;
        fs::write(&stamp, &wanted).map_err(|e| format!("cannot write {}: {e}", stamp.display()))?;
    }
    let version = output(
        Command::new(&tool).arg("--version"),
        "componentize-py --version",
    )?;
    Ok(String::from_utf8_lossy(&version.stdout).trim().to_string())
}

fn requirement_lines(requirements: &[u8]) -> String {
    String::from_utf8_lossy(requirements)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs `npm ci` in `guest-examples/js` unless its `node_modules` were
/// installed from the same `package-lock.json`. Returns the tools' versions
/// (Node's and the lock file's hash).
fn install_js_tools(root: &Path, log: &dyn Fn(&str)) -> Result<String, String> {
    let dir = Language::Js.source_dir(root);
    let mut lock = read(&dir.join("package.json"))?;
    lock.extend(read(&dir.join("package-lock.json"))?);
    let lock_hash = format!("{:016x}", fnv1a(FNV_OFFSET, &lock));
    let stamp = dir.join("node_modules").join(".installed-lock-hash");
    let node = output(
        Command::new("node").arg("--version"),
        "node --version (Node.js 20 or later)",
    )?;
    let node = String::from_utf8_lossy(&node.stdout).trim().to_string();
    if fs::read_to_string(&stamp).ok().as_deref() != Some(lock_hash.as_str()) {
        log(&format!(
            "installing the JS guests' tools (@bytecodealliance/componentize-js, as locked in \
             {}) with npm ci",
            shown(root, &dir.join("package-lock.json"))
        ));
        output(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&dir),
            "npm ci in guest-examples/js",
        )?;
        fs::write(&stamp, &lock_hash)
            .map_err(|e| format!("cannot write {}: {e}", stamp.display()))?;
    }
    let componentize_js = dir
        .join("node_modules")
        .join("@bytecodealliance")
        .join("componentize-js")
        .join("package.json");
    let version = String::from_utf8_lossy(&read(&componentize_js)?)
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("\"version\": \"")
                .and_then(|v| v.strip_suffix("\","))
                .map(str::to_string)
        })
        .unwrap_or_else(|| "?".into());
    Ok(format!("componentize-js {version}, Node.js {node}"))
}

fn build_python(root: &Path, out: &Path) -> Result<(), String> {
    let tool = python_venv(root).join("bin").join("componentize-py");
    for name in Language::Python.guests() {
        output(
            Command::new(&tool)
                .arg("--quiet")
                .arg("--wit-path")
                .arg(wit_dir(root))
                .args(["--world", "command", "componentize", "--python-path"])
                .arg(Language::Python.source_dir(root))
                .arg(name)
                .arg("--output")
                .arg(out.join(format!("{name}.wasm")))
                // No __pycache__ in the source folder.
                .env("PYTHONDONTWRITEBYTECODE", "1"),
            &format!("componentize-py of guest-examples/python/{name}.py"),
        )?;
    }
    Ok(())
}

fn build_js(root: &Path, out: &Path) -> Result<(), String> {
    let dir = Language::Js.source_dir(root);
    output(
        Command::new("node")
            .arg("build.mjs")
            .arg("--out")
            .arg(out)
            .args(
                Language::Js
                    .guests()
                    .iter()
                    .map(|name| format!("{name}.js")),
            )
            .current_dir(&dir),
        "node guest-examples/js/build.mjs",
    )?;
    Ok(())
}

/// The hash of everything a build depends on: the tools' versions, the
/// example folder's sources and the WIT (links followed).
fn cache_key(root: &Path, language: Language, tools: &str) -> Result<u64, String> {
    let mut files = Vec::new();
    let sources = language.source_dir(root);
    let wit = wit_dir(root);
    for (dir, extensions) in [
        (&sources, &["py", "txt", "js", "mjs", "json"][..]),
        (&wit, &["wit"][..]),
        (&wit.join("deps"), &["wit"][..]),
    ] {
        let entries =
            fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            let wanted = path
                .extension()
                .is_some_and(|e| extensions.iter().any(|x| e == *x));
            if wanted && path.is_file() {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut hash = fnv1a(FNV_OFFSET, tools.as_bytes());
    for file in &files {
        let name = file.strip_prefix(root).unwrap_or(file).to_string_lossy();
        hash = fnv1a(hash, name.as_bytes());
        let contents = read(file)?;
        hash = fnv1a(hash, &(contents.len() as u64).to_le_bytes());
        hash = fnv1a(hash, &contents);
    }
    Ok(hash)
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// 64-bit FNV-1a, continued from `hash`: stable across Rust versions, unlike
/// `DefaultHasher`.
fn fnv1a(mut hash: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

fn shown(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}
