//! Builds the guest components once per test run and finds them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The repository root (the folder of `rust-toolchain.toml`), from
/// whichever of its packages this is built in.
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|dir| dir.join("rust-toolchain.toml").is_file())
        .expect("the package lives in the repository")
}

/// The WAT guest `name` of `guest-examples/wat` (the runner reads text).
pub fn example_wat(name: &str) -> PathBuf {
    repo_root().join("guest-examples").join("wat").join(name)
}

/// The WAT test program `name` of `tests/guests/wat`.
pub fn test_wat(name: &str) -> PathBuf {
    repo_root()
        .join("tests")
        .join("guests")
        .join("wat")
        .join(name)
}

/// The path of guest component `name` (a binary of `tests/guests` or of
/// `guest-examples/rust`), building all guests on first use.
pub fn guest(name: &str) -> PathBuf {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let dir = BUILT
        .get_or_init(build_all)
        .as_ref()
        .unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join(format!("{name}.wasm"));
    assert!(path.exists(), "no guest component {}", path.display());
    path
}

fn build_all() -> Result<PathBuf, String> {
    let target_dir = repo_root().join("target").join("wasm-guests");
    for workspace in ["tests/guests", "guest-examples/rust"] {
        cargo_build(workspace, "wasm32-wasip2", &target_dir)?;
    }
    Ok(target_dir.join("wasm32-wasip2").join("release"))
}

/// Builds the Rust workspace `workspace` (a path from the repository's
/// root) in release for `target` into `target_dir`; the folder of its
/// `.wasm` files, or what cargo said when it failed.
pub fn cargo_build(workspace: &str, target: &str, target_dir: &Path) -> Result<PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(&cargo)
        .args(["build", "--release", "--target", target, "--target-dir"])
        .arg(target_dir)
        // Run from the workspace so rustup honours rust-toolchain.toml.
        .current_dir(repo_root().join(workspace))
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .map_err(|e| format!("cannot run {cargo}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "building the guests in {workspace} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(target_dir.join(target).join("release"))
}

/// The path of C guest `name` (a program of `guest-examples/c`), building
/// them all with its Makefile on first use.
pub fn c_guest(name: &str) -> PathBuf {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let dir = BUILT
        .get_or_init(build_c)
        .as_ref()
        .unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join(format!("{name}.wasm"));
    assert!(path.exists(), "no C guest {}", path.display());
    path
}

fn build_c() -> Result<PathBuf, String> {
    let out = repo_root().join("target").join("c-guests");
    let output = Command::new("make")
        .arg("-C")
        .arg(repo_root().join("guest-examples").join("c"))
        .arg(format!("OUT={}", out.display()))
        .output()
        .map_err(|e| format!("cannot run make: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "building the C guests failed (they need Debian's clang, lld, wasi-libc and \
             libclang-rt-dev-wasm32; `cargo xtask test` installs them):\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(out)
}

/// A scratch folder for files a test writes (WAT text, bad inputs),
/// removed when dropped.
pub struct Scratch(PathBuf);

impl Scratch {
    /// A fresh folder named after `tag` and this process.
    pub fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("wasi-eventfd-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the scratch folder");
        Scratch(dir)
    }

    /// The folder's path.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `contents` to the file `name` in the folder; returns its path.
    pub fn file(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).expect("write a scratch file");
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
