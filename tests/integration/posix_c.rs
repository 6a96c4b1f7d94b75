//! C programs written for Linux, on eventfds that are ordinary preview 1
//! fds: built with exactly the compile line the C library documents, and
//! compared with the same program built natively and run on this machine's
//! kernel.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cli::{stderr, stdout, succeeded, wasi_eventfd};
use crate::guests::{repo_root, Scratch};

/// Builds `tests/guests/c/NAME.c` for wasm32-wasi with the C library's
/// documented line, run from the repository's root:
/// `clang --target=wasm32-wasi -O2 -I guest/c/include PROG.c guest/c/src/*.c`.
fn build_guest(name: &str, out: &Path) -> PathBuf {
    let wasm = out.join(format!("{name}.wasm"));
    let library: Vec<PathBuf> = std::fs::read_dir(repo_root().join("guest/c/src"))
        .expect("guest/c/src")
        .map(|entry| entry.expect("a library source").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "c"))
        .map(|path| {
            path.strip_prefix(repo_root())
                .map(Path::to_path_buf)
                .unwrap_or(path)
        })
        .collect();
    let output = Command::new("clang")
        .current_dir(repo_root())
        .args(["--target=wasm32-wasi", "-O2", "-I", "guest/c/include"])
        .arg(format!("tests/guests/c/{name}.c"))
        .args(&library)
        .arg("-o")
        .arg(&wasm)
        .output()
        .expect("run clang (Debian's clang, lld, wasi-libc and libclang-rt-dev-wasm32)");
    assert!(
        output.status.success(),
        "building {name}.c for wasm32-wasi failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    wasm
}

#[test]
fn a_c_program_prints_the_same_as_a_guest_as_on_linux() {
    let scratch = Scratch::new("posix-c");
    let native = scratch.path().join("posix_eventfd");
    let built = Command::new("cc")
        .args(["-O2", "-o"])
        .arg(&native)
        .arg(repo_root().join("tests/guests/c/posix_eventfd.c"))
        .output()
        .expect("run cc");
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let guest = build_guest("posix_eventfd", scratch.path());

    let native_dir = scratch.path().join("native");
    let guest_dir = scratch.path().join("guest");
    std::fs::create_dir_all(&native_dir).unwrap();
    std::fs::create_dir_all(&guest_dir).unwrap();
    let on_linux = Command::new(&native)
        .arg(&native_dir)
        .output()
        .expect("run it natively");
    assert!(
        on_linux.status.success(),
        "{}",
        String::from_utf8_lossy(&on_linux.stderr)
    );
    let as_guest = wasi_eventfd(&[
        "run",
        "--dir",
        &guest_dir.display().to_string(),
        &guest.display().to_string(),
    ]);
    let as_guest = succeeded(&as_guest);
    let on_linux = String::from_utf8_lossy(&on_linux.stdout).into_owned();
    assert!(
        on_linux.lines().count() > 80,
        "the program printed its results:\n{on_linux}"
    );
    for (line, (linux, guest)) in on_linux.lines().zip(as_guest.lines()).enumerate() {
        assert_eq!(
            guest,
            linux,
            "line {} differs; Linux printed:\n{on_linux}",
            line + 1
        );
    }
    assert_eq!(as_guest.lines().count(), on_linux.lines().count());
}

#[test]
fn blocked_read_poll_and_select_park_and_wake_across_guests() {
    let scratch = Scratch::new("posix-pair");
    let built = build_guest("posix_pair", scratch.path());
    let waiter = scratch.path().join("waiter.wasm");
    let waker = scratch.path().join("waker.wasm");
    std::fs::copy(&built, &waiter).unwrap();
    std::fs::copy(&built, &waker).unwrap();
    // One runner thread (the default): a guest that held it while blocked
    // would never let the waker run, and the run would time out.
    let output = wasi_eventfd(&[
        "run",
        "--timeout",
        "20",
        "--eventfd",
        "e=0",
        "--with",
        &waker.display().to_string(),
        &waiter.display().to_string(),
    ]);
    assert_eq!(
        succeeded(&output),
        "poll = 1, revents IN = 1, read = 0, value = 1\n\
         blocking read = 0, value = 2\n\
         select = 1, read = 0, value = 3\n"
    );
}

#[test]
fn eventfd_preopen_of_a_name_not_granted_is_enoent() {
    let scratch = Scratch::new("posix-enoent");
    let built = build_guest("posix_pair", scratch.path());
    let output = wasi_eventfd(&["run", &built.display().to_string()]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "eventfd_preopen(e): No such file or directory\n"
    );
}
