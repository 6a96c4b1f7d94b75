//! C programs written for Linux, on eventfds that are ordinary preview 1
//! fds: built with exactly the compile line the C library documents, and
//! compared with the same program built natively and run on this machine's
//! kernel.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::cli::{stderr, stdout, succeeded, wasi_eventfd};
use crate::guests::{repo_root, Scratch};

/// Builds `tests/guests/c/NAME.c` for wasm32-wasi with the C library's
/// documented line, run from the repository's root:
/// `clang --target=wasm32-wasi -O2 -I guest/c/include PROG.c guest/c/src/*.c`.
pub(crate) fn build_guest(name: &str, out: &Path) -> PathBuf {
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
    prints_the_same_natively_and_as_a_guest("posix_eventfd", 80);
}

#[test]
fn a_c_program_on_epoll_prints_the_same_as_a_guest_as_on_linux() {
    prints_the_same_natively_and_as_a_guest("posix_epoll", 120);
}

/// Builds `tests/guests/c/NAME.c` natively and as a guest, runs both with
/// a directory of their own as fd 3, and compares what they print line by
/// line (at least `lines` lines).
fn prints_the_same_natively_and_as_a_guest(name: &str, lines: usize) {
    let scratch = Scratch::new(&format!("posix-c-{name}"));
    let native = scratch.path().join(name);
    let built = Command::new("cc")
        .args(["-O2", "-o"])
        .arg(&native)
        .arg(repo_root().join(format!("tests/guests/c/{name}.c")))
        .output()
        .expect("run cc");
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let guest = build_guest(name, scratch.path());

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
        on_linux.lines().count() > lines,
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

/// Copies of one built program under the names of the parts it plays (it
/// picks its part by its file name), as paths for the command line.
fn parts<const N: usize>(built: &Path, dir: &Path, names: [&str; N]) -> [String; N] {
    names.map(|name| {
        let copy = dir.join(format!("{name}.wasm"));
        std::fs::copy(built, &copy).unwrap();
        copy.display().to_string()
    })
}

/// Runs C program `program` as guests playing `parts` (the last the main
/// guest, the others `--with`), with a 20 s timeout and the eventfds
/// `eventfds` (`--eventfd` values).
fn run_parts<const N: usize>(program: &str, eventfds: &[&str], parts_played: [&str; N]) -> Output {
    let scratch = Scratch::new(&format!("posix-{}", parts_played.join("-")));
    let built = build_guest(program, scratch.path());
    let copies = parts(&built, scratch.path(), parts_played);
    let mut args = vec!["run", "--timeout", "20"];
    for eventfd in eventfds {
        args.extend(["--eventfd", eventfd]);
    }
    if let Some((main, others)) = copies.split_last() {
        for other in others {
            args.extend(["--with", other.as_str()]);
        }
        args.push(main);
    }
    wasi_eventfd(&args)
}

#[test]
fn blocked_read_poll_and_select_park_and_wake_across_guests() {
    // One runner thread (the default): a guest that held it while blocked
    // would never let the waker run, and the run would time out.
    let output = run_parts("posix_pair", &["e=0"], ["waker", "waiter"]);
    assert_eq!(
        succeeded(&output),
        "poll = 1, revents IN = 1, read = 0, value = 1\n\
         blocking read = 0, value = 2\n\
         select = 1, read = 0, value = 3\n"
    );
}

#[test]
fn a_blocked_epoll_wait_parks_and_wakes_on_another_guests_write() {
    let output = run_parts("posix_epoll_pair", &["e=0"], ["waker", "waiter"]);
    assert_eq!(
        succeeded(&output),
        "epoll_wait = 1, data = 77, IN = 1, read = 0, value = 1\n\
         epoll_wait with a timeout, nothing ready = 0\n\
         nested epoll_wait = 1, data = 88, read = 0, value = 2\n"
    );
}

#[test]
fn an_exclusive_registration_wakes_one_guest_per_event() {
    // LTP epoll_wait16, with guests for its processes.
    let output = run_parts(
        "posix_epoll_pair",
        &["e=0", "done=0,semaphore"],
        ["herd1", "herd2", "herd3", "herd4", "shepherd"],
    );
    assert_eq!(
        succeeded(&output),
        "event 1 woke one waiter\n\
         event 2 woke one waiter\n\
         event 3 woke one waiter\n\
         event 4 woke one waiter\n"
    );
}

#[test]
fn stdin_and_an_eventfd_in_one_epoll_each_wake_it() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;

    let scratch = Scratch::new("posix-epoll-stdin");
    let built = build_guest("posix_epoll_pair", scratch.path());
    let [poker, reader] = parts(&built, scratch.path(), ["poker", "reader"]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_wasi-eventfd"))
        .args(["run", "--timeout", "20", "--eventfd", "e=0", "--with"])
        .arg(&poker)
        .arg(&reader)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run wasi-eventfd");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    // Stdin open and empty: the other guest's write wakes the wait.
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "eventfd: 1\n");
    // Then stdin alone wakes it.
    stdin.write_all(b"later\n").unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert_eq!(rest, "stdin: later\n");
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

#[test]
fn a_poll_on_an_epoll_fd_sees_the_stdin_it_watches() {
    use std::io::Write;
    use std::process::Stdio;

    let scratch = Scratch::new("posix-epoll-pollstdin");
    let built = build_guest("posix_epoll_pair", scratch.path());
    let [guest] = parts(&built, scratch.path(), ["pollstdin"]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_wasi-eventfd"))
        .args(["run", "--timeout", "20"])
        .arg(&guest)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run wasi-eventfd");
    let mut stdin = child.stdin.take().expect("stdin");
    // Let it block in poll first, on an empty stdin.
    std::thread::sleep(std::time::Duration::from_millis(300));
    stdin.write_all(b"x\n").unwrap();
    let output = child.wait_with_output().unwrap();
    drop(stdin);
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "poll(epoll fd) = 1, IN = 1\nepoll_wait = 1, data = 0\n"
    );
}

#[test]
fn two_guests_in_epoll_wait_on_eventfds_only_are_a_deadlock() {
    let output = run_parts("posix_epoll_pair", &["e=0"], ["stuck2", "stuck1"]);
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert_eq!(stdout(&output), "", "neither woke");
    let report = stderr(&output);
    for guest in ["stuck1.wasm", "stuck2.wasm"] {
        assert!(
            report.contains(&format!(
                "guest `{guest}` waits: poll for readable on eventfd `e` (id 1, count 0)"
            )),
            "{report}"
        );
    }
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

#[test]
fn every_kind_of_new_fd_is_emfile_at_the_limit() {
    let scratch = Scratch::new("posix-emfile");
    let built = build_guest("posix_limits", scratch.path());
    let dir = scratch.path().join("dir");
    std::fs::create_dir_all(&dir).unwrap();
    let output = wasi_eventfd(&[
        "run",
        "--max-descriptors",
        "8",
        "--eventfd",
        "e=0",
        "--dir",
        &dir.display().to_string(),
        &built.display().to_string(),
        "emfile",
    ]);
    assert_eq!(
        succeeded(&output),
        "eventfd = 4\n\
         openat = 5\n\
         dup(eventfd) = 6\n\
         dup(file) = 7\n\
         eventfd past the limit = -1 EMFILE\n\
         openat past the limit = -1 EMFILE\n\
         dup past the limit = -1 EMFILE\n\
         dup2 onto the limit = -1 EBADF\n\
         eventfd_preopen past the limit = -1 EMFILE\n\
         close(5) = 0\n\
         eventfd takes 5 = 5\n\
         close(6) = 0\n\
         openat takes 6 = 6\n\
         dup2(6, 7) replaces a file with a file = 7\n"
    );
}

/// The peak resident memory of `wasi-eventfd run --dir DIR posix_limits
/// churn N`, in KiB, from the kernel's accounting of the finished child
/// (`wait4`'s rusage: `RUSAGE_CHILDREN` would mix in other tests' children).
#[allow(
    clippy::zombie_processes,
    reason = "reaped by wait4, which gives its rusage"
)]
fn churn_peak_kib(guest: &Path, dir: &Path, times: &str) -> i64 {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wasi-eventfd"))
        .args(["run", "--dir"])
        .arg(dir)
        .arg(guest)
        .args(["churn", times])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run wasi-eventfd");
    let pid = child.id() as libc::pid_t;
    let mut out = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().expect("stdout"), &mut out).unwrap();
    let mut status = 0;
    // SAFETY: `rusage` is plain data the kernel fills in; the child is ours
    // and not yet reaped.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(reaped, pid);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{out}"
    );
    assert_eq!(
        out,
        format!("churn: {times} times, last file fd 4, last eventfd 4\n"),
        "every close freed its number"
    );
    usage.ru_maxrss
}

#[test]
fn opening_and_closing_many_files_and_eventfds_leaves_memory_flat() {
    let scratch = Scratch::new("posix-churn");
    let built = build_guest("posix_limits", scratch.path());
    let dir = scratch.path().join("dir");
    std::fs::create_dir_all(&dir).unwrap();
    // (100 000 of each, measured by hand on the debug binary: a peak of
    // 24.9 MB against 24.5 MB for 1 000. 20 000 keeps the test quick.)
    let few = churn_peak_kib(&built, &dir, "1000");
    let many = churn_peak_kib(&built, &dir, "20000");
    assert!(
        many < few + 4 * 1024,
        "peak resident memory grew from {few} KiB (1 000 opens) to {many} KiB (20 000 opens)"
    );
}

#[test]
fn a_guest_cannot_reach_another_guests_fds() {
    let output = run_parts("posix_limits", &[], ["holder", "prober"]);
    assert_eq!(
        succeeded(&output),
        "prober: 0 of the holder's fds reachable\n"
    );
}
