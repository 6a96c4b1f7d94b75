//! TCP sockets on preview 1's one fd table: a listener granted with
//! `-S tcplisten=ADDR` (fd 3, as wasmtime's preview 1 numbered it), the
//! C echo server (`guest-examples/c/echo-server.c`) on one epoll over the
//! listener, its connections and an eventfd another guest writes, and the
//! errnos of socket calls.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::cli::{stderr, stdout, wasi_eventfd};
use crate::guests::{c_guest, guest, Scratch};

/// A loopback port that was free a moment ago (the runner binds it next).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("bind a loopback port")
        .port()
}

/// The runner as a child process, killed if the test fails while it runs.
struct Runner(Child);

impl Drop for Runner {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(args: &[&str]) -> Runner {
    Runner(start(
        Command::new(env!("CARGO_BIN_EXE_wasi-eventfd")).args(args),
    ))
}

/// `command` started with stdout and stderr piped, no stdin.
fn start(command: &mut Command) -> Child {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the server")
}

/// A connection to the runner's listener on `port` (bound as the runner
/// starts: tried again for up to 10 s).
fn connect(port: u16) -> TcpStream {
    let start = Instant::now();
    loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(stream) => {
                stream
                    .set_read_timeout(Some(Duration::from_secs(20)))
                    .expect("a read timeout");
                return stream;
            }
            Err(e) if start.elapsed() < Duration::from_secs(10) => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("cannot connect to the runner's listener: {e}"),
        }
    }
}

/// Sends `bytes` and reads back as many: the echo, byte for byte.
fn echo(stream: &mut TcpStream, bytes: &[u8]) -> Vec<u8> {
    stream.write_all(bytes).expect("send");
    let mut back = vec![0u8; bytes.len()];
    stream.read_exact(&mut back).expect("read the echo");
    back
}

#[test]
fn the_c_echo_server_serves_two_clients_at_once_and_stops_when_asked() {
    let server = c_guest("echo-server").display().to_string();
    let stopper = c_guest("stopper").display().to_string();
    let port = free_port();
    let listen = format!("tcplisten=127.0.0.1:{port}");
    let mut runner = spawn(&[
        "run",
        "-S",
        &listen,
        "--eventfd",
        "stop=0",
        "--eventfd",
        "closed=0",
        "--env",
        "STOP_AFTER=3",
        "--with",
        &stopper,
        &server,
    ]);

    // Two clients at once, their sends interleaved.
    let mut a = connect(port);
    let mut b = connect(port);
    assert_eq!(echo(&mut a, b"hello from a\n"), b"hello from a\n");
    assert_eq!(echo(&mut b, b"hello from b\n"), b"hello from b\n");
    assert_eq!(echo(&mut a, b"\0\x01\xff binary"), b"\0\x01\xff binary");
    // More than one read's worth, every byte value.
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let mut b2 = b.try_clone().expect("clone b");
    let writer = std::thread::spawn(move || b2.write_all(&big).map(|_| big));
    let mut back = vec![0u8; 300_000];
    b.read_exact(&mut back).expect("read the big echo");
    let big = writer.join().expect("writer").expect("send big");
    assert!(back == big, "the 300 000 bytes came back as sent");
    // A client that closes; the other is still served.
    drop(a);
    assert_eq!(echo(&mut b, b"still here"), b"still here");
    drop(b);
    // The third close makes the stopper write `stop`.
    let mut c = connect(port);
    assert_eq!(echo(&mut c, b"x"), b"x");
    drop(c);

    let start = Instant::now();
    let status = loop {
        if let Some(status) = runner.0.try_wait().expect("wait") {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the server did not stop"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut out = String::new();
    let mut err = String::new();
    if let Some(mut pipe) = runner.0.stdout.take() {
        pipe.read_to_string(&mut out).expect("stdout");
    }
    if let Some(mut pipe) = runner.0.stderr.take() {
        pipe.read_to_string(&mut err).expect("stderr");
    }
    assert!(status.success(), "{status}\nstdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("echo server: listening on fd 3\n"), "{out}");
    assert!(
        out.contains("stopper: 3 connections closed, asking the server to stop\n"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "echo server: stopped after 3 connections, {} bytes\n",
            13 + 13 + 10 + 300_000 + 10 + 1
        )),
        "{out}"
    );
}

/// Socket calls' errnos, checked by a core module that exits with the
/// number of the first check that failed (0: all passed), printing
/// `ready` once it waits (in `poll_oneoff`, then a blocking accept) for
/// the test's client.
const ERRNOS: &str = r#"(module
    (import "wasi_snapshot_preview1" "sock_accept"
        (func $accept (param i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "sock_recv"
        (func $recv (param i32 i32 i32 i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "fd_fdstat_get"
        (func $fdstat (param i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "fd_fdstat_set_flags"
        (func $setfl (param i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "fd_seek"
        (func $seek (param i32 i64 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "fd_write"
        (func $write (param i32 i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "poll_oneoff"
        (func $poll (param i32 i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "fd_advise"
        (func $advise (param i32 i64 i64 i32) (result i32)))
    (import "wasi_snapshot_preview1" "fd_allocate"
        (func $allocate (param i32 i64 i64) (result i32)))
    (import "wasi_snapshot_preview1" "fd_sync" (func $sync (param i32) (result i32)))
    (import "wasi_snapshot_preview1" "fd_filestat_set_times"
        (func $times (param i32 i64 i64 i32) (result i32)))
    (import "wasi_snapshot_preview1" "fd_read"
        (func $read (param i32 i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "sock_send"
        (func $send (param i32 i32 i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "sock_shutdown"
        (func $shutdown (param i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
    (memory (export "memory") 1)
    (data (i32.const 0) "ready\n")
    (data (i32.const 16) "\00\00\00\00\06\00\00\00")   ;; iovec: "ready\n"
    (data (i32.const 24) "\00\01\00\00\10\00\00\00")   ;; iovec: 16 bytes at 256
    (data (i32.const 32) "\00\01\00\00\00\00\00\00")   ;; iovec: no bytes
    ;; a subscription: userdata 7, FD_READ (1) of fd 3
    (data (i32.const 512) "\07\00\00\00\00\00\00\00\01\00\00\00\00\00\00\00\03\00\00\00")
    (func $check (param $ok i32) (param $code i32)
        (if (i32.eqz (local.get $ok)) (then (call $exit (local.get $code)))))
    (func (export "_start")
        ;; 1: accept on stdout, no socket: ENOTSOCK (57)
        (call $check (i32.eq (call $accept (i32.const 1) (i32.const 0) (i32.const 64)) (i32.const 57)) (i32.const 1))
        ;; 2: accept on a closed number: EBADF (8)
        (call $check (i32.eq (call $accept (i32.const 9) (i32.const 0) (i32.const 64)) (i32.const 8)) (i32.const 2))
        ;; 3: fd 3 is a stream socket (filetype 6), blocking
        (call $check (i32.eqz (call $fdstat (i32.const 3) (i32.const 128))) (i32.const 3))
        (call $check (i32.eq (i32.load8_u (i32.const 128)) (i32.const 6)) (i32.const 3))
        (call $check (i32.eqz (i32.load16_u (i32.const 130))) (i32.const 3))
        ;; 4: non-blocking, nothing pending: EAGAIN (6)
        (call $check (i32.eqz (call $setfl (i32.const 3) (i32.const 4))) (i32.const 4))
        (call $check (i32.eq (call $accept (i32.const 3) (i32.const 0) (i32.const 64)) (i32.const 6)) (i32.const 4))
        ;; 5: an unknown accept flag: EINVAL (28)
        (call $check (i32.eq (call $accept (i32.const 3) (i32.const 1) (i32.const 64)) (i32.const 28)) (i32.const 5))
        ;; 6: a socket cannot seek: ESPIPE (70)
        (call $check (i32.eq (call $seek (i32.const 3) (i64.const 0) (i32.const 0) (i32.const 64)) (i32.const 70)) (i32.const 6))
        ;; 16: the other calls as Linux answers them on a socket (checked
        ;; natively): posix_fadvise and futimens succeed, fallocate ENODEV
        ;; (43), fsync EINVAL (28), a read of no bytes 0 even on a listener
        (call $check (i32.eqz (call $advise (i32.const 3) (i64.const 0) (i64.const 0) (i32.const 0))) (i32.const 16))
        (call $check (i32.eqz (call $times (i32.const 3) (i64.const 0) (i64.const 0) (i32.const 0))) (i32.const 16))
        (call $check (i32.eq (call $allocate (i32.const 3) (i64.const 0) (i64.const 1)) (i32.const 43)) (i32.const 16))
        (call $check (i32.eq (call $sync (i32.const 3)) (i32.const 28)) (i32.const 16))
        (i32.store (i32.const 64) (i32.const 99))
        (call $check (i32.eqz (call $read (i32.const 3) (i32.const 32) (i32.const 1) (i32.const 64))) (i32.const 16))
        (call $check (i32.eqz (i32.load (i32.const 64))) (i32.const 16))
        ;; blocking again, then wait for the test's client
        (call $check (i32.eqz (call $setfl (i32.const 3) (i32.const 0))) (i32.const 7))
        (drop (call $write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 64)))
        ;; 12: poll_oneoff on the listener parks until the client connects:
        ;; one event, userdata 7, no error, FD_READ
        (call $check (i32.eqz (call $poll (i32.const 512) (i32.const 600) (i32.const 1) (i32.const 64))) (i32.const 12))
        (call $check (i32.eq (i32.load (i32.const 64)) (i32.const 1)) (i32.const 12))
        (call $check (i32.eq (i32.load (i32.const 600)) (i32.const 7)) (i32.const 12))
        (call $check (i32.eqz (i32.load16_u (i32.const 608))) (i32.const 12))
        (call $check (i32.eq (i32.load8_u (i32.const 610)) (i32.const 1)) (i32.const 12))
        ;; 8: a blocking accept with O_NONBLOCK asked: the lowest free fd, 4, non-blocking
        (call $check (i32.eqz (call $accept (i32.const 3) (i32.const 4) (i32.const 64))) (i32.const 8))
        (call $check (i32.eq (i32.load (i32.const 64)) (i32.const 4)) (i32.const 8))
        (call $check (i32.eqz (call $fdstat (i32.const 4) (i32.const 128))) (i32.const 8))
        (call $check (i32.eq (i32.load16_u (i32.const 130)) (i32.const 4)) (i32.const 8))
        ;; 9: the client sent "hi" and closed: recv gives 2 bytes, then 0 (EOF)
        (call $check (i32.eqz (call $setfl (i32.const 4) (i32.const 0))) (i32.const 9))
        (call $check (i32.eqz (call $recv (i32.const 4) (i32.const 24) (i32.const 1) (i32.const 0) (i32.const 64) (i32.const 68))) (i32.const 9))
        (call $check (i32.eq (i32.load (i32.const 64)) (i32.const 2)) (i32.const 9))
        (call $check (i32.eq (i32.load16_u (i32.const 256)) (i32.const 0x6968)) (i32.const 9))
        (call $check (i32.eqz (call $recv (i32.const 4) (i32.const 24) (i32.const 1) (i32.const 0) (i32.const 64) (i32.const 68))) (i32.const 10))
        (call $check (i32.eqz (i32.load (i32.const 64))) (i32.const 10))
        ;; 11: recv on the listener: ENOTCONN (53), as Linux
        (call $check (i32.eq (call $recv (i32.const 3) (i32.const 24) (i32.const 1) (i32.const 0) (i32.const 64) (i32.const 68)) (i32.const 53)) (i32.const 11))
        ;; 13: after shutdown(SHUT_WR) a send is EPIPE (64), with no signal
        (call $check (i32.eqz (call $shutdown (i32.const 4) (i32.const 2))) (i32.const 13))
        (call $check (i32.eq (call $send (i32.const 4) (i32.const 16) (i32.const 1) (i32.const 0) (i32.const 64)) (i32.const 64)) (i32.const 13))
        ;; 14: shutdown with no direction: EINVAL; of stdout: ENOTSOCK
        (call $check (i32.eq (call $shutdown (i32.const 4) (i32.const 0)) (i32.const 28)) (i32.const 14))
        (call $check (i32.eq (call $shutdown (i32.const 1) (i32.const 2)) (i32.const 57)) (i32.const 14))
        ;; 15: a second client resets its connection: recv is ECONNRESET (15)
        (call $check (i32.eqz (call $accept (i32.const 3) (i32.const 0) (i32.const 64))) (i32.const 15))
        (call $check (i32.eq (i32.load (i32.const 64)) (i32.const 5)) (i32.const 15))
        (call $check (i32.eq (call $recv (i32.const 5) (i32.const 24) (i32.const 1) (i32.const 0) (i32.const 64) (i32.const 68)) (i32.const 15)) (i32.const 15))
        (call $exit (i32.const 0))))"#;

#[test]
fn socket_calls_give_linuxs_errnos() {
    let scratch = Scratch::new("sockets");
    let guest = scratch
        .file("sock_errnos.wat", ERRNOS)
        .display()
        .to_string();
    let port = free_port();
    let listen = format!("tcplisten=127.0.0.1:{port}");
    let mut runner = spawn(&["run", "-S", &listen, &guest]);
    let mut lines = BufReader::new(runner.0.stdout.take().expect("stdout"));
    let mut line = String::new();
    lines.read_line(&mut line).expect("a line");
    assert_eq!(line, "ready\n", "the guest stopped before its accept");
    let mut client = connect(port);
    client.write_all(b"hi").expect("send");
    drop(client);
    // A client that resets: SO_LINGER of 0 makes its close send RST.
    let reset = connect(port);
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket and a linger of the right size.
    let set = unsafe {
        libc::setsockopt(
            std::os::fd::AsRawFd::as_raw_fd(&reset),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(set, 0, "SO_LINGER");
    drop(reset);
    let status = runner.0.wait().expect("wait");
    let mut err = String::new();
    if let Some(mut pipe) = runner.0.stderr.take() {
        pipe.read_to_string(&mut err).expect("stderr");
    }
    assert!(status.success(), "check {:?} failed: {err}", status.code());
}

#[test]
fn a_bad_tcplisten_address_is_an_input_error() {
    let output = wasi_eventfd(&["run", "-S", "tcplisten=localhost", "x.wasm"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("`localhost` is not an address and port"),
        "{}",
        stderr(&output)
    );
    // One line naming it (then clap's pointer to --help, as for every
    // option error).
    assert!(
        stderr(&output)
            .lines()
            .next()
            .is_some_and(|line| line.contains("tcplisten=localhost")),
        "{}",
        stderr(&output)
    );
    assert!(stdout(&output).is_empty());
}

#[test]
fn a_seeded_run_refuses_tcplisten() {
    let scratch = Scratch::new("sockets-seeded");
    let guest = scratch
        .file("nothing.wat", r#"(module (func (export "_start")))"#)
        .display()
        .to_string();
    let port = free_port();
    let listen = format!("tcplisten=127.0.0.1:{port}");
    let output = wasi_eventfd(&["run", "--seed", "1", "-S", &listen, &guest]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(
            "error: `-S tcplisten` (granted to guest `nothing.wat`) cannot be part of a seeded run"
        ),
        "{}",
        stderr(&output)
    );
}

#[test]
fn an_accept_past_the_fd_limit_is_emfile_and_leaves_the_connection_pending() {
    // fd 3 is the listener, 4 the limit's last number: the first accept
    // takes 4, the second finds no number (EMFILE, 33 in preview 1); after
    // closing 4 the pending connection is accepted as 4.
    let guest = r#"(module
        (import "wasi_snapshot_preview1" "sock_accept"
            (func $accept (param i32 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "fd_close" (func $close (param i32) (result i32)))
        (import "wasi_snapshot_preview1" "fd_write"
            (func $write (param i32 i32 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
        (memory (export "memory") 1)
        (data (i32.const 0) "ready\n")
        (data (i32.const 16) "\00\00\00\00\06\00\00\00")
        (func $check (param $ok i32) (param $code i32)
            (if (i32.eqz (local.get $ok)) (then (call $exit (local.get $code)))))
        (func (export "_start")
            (drop (call $write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 64)))
            (call $check (i32.eqz (call $accept (i32.const 3) (i32.const 0) (i32.const 64))) (i32.const 1))
            (call $check (i32.eq (i32.load (i32.const 64)) (i32.const 4)) (i32.const 1))
            (call $check (i32.eq (call $accept (i32.const 3) (i32.const 0) (i32.const 64)) (i32.const 33)) (i32.const 2))
            (call $check (i32.eqz (call $close (i32.const 4))) (i32.const 3))
            (call $check (i32.eqz (call $accept (i32.const 3) (i32.const 0) (i32.const 64))) (i32.const 4))
            (call $check (i32.eq (i32.load (i32.const 64)) (i32.const 4)) (i32.const 4))
            (call $exit (i32.const 0))))"#;
    let scratch = Scratch::new("sockets-emfile");
    let guest = scratch.file("emfile.wat", guest).display().to_string();
    let port = free_port();
    let listen = format!("tcplisten=127.0.0.1:{port}");
    let mut runner = spawn(&["run", "--max-descriptors", "5", "-S", &listen, &guest]);
    let mut lines = BufReader::new(runner.0.stdout.take().expect("stdout"));
    let mut line = String::new();
    lines.read_line(&mut line).expect("a line");
    assert_eq!(line, "ready\n");
    // Both connect before the guest's second accept can miss them.
    let first = connect(port);
    let second = connect(port);
    let status = runner.0.wait().expect("wait");
    let mut err = String::new();
    if let Some(mut pipe) = runner.0.stderr.take() {
        pipe.read_to_string(&mut err).expect("stderr");
    }
    drop((first, second));
    assert!(status.success(), "check {:?} failed: {err}", status.code());
}

#[test]
fn a_run_file_grants_listeners_per_guest() {
    let scratch = Scratch::new("sockets-run-file");
    // Exits 0 when fd 3 is a stream socket (filetype 6), else 1.
    scratch.file(
        "is_socket.wat",
        r#"(module
            (import "wasi_snapshot_preview1" "fd_fdstat_get"
                (func $fdstat (param i32 i32) (result i32)))
            (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
            (memory (export "memory") 1)
            (func (export "_start")
                (drop (call $fdstat (i32.const 3) (i32.const 0)))
                (call $exit (i32.ne (i32.load8_u (i32.const 0)) (i32.const 6)))))"#,
    );
    let good = scratch.file(
        "good.toml",
        "[[guest]]\nfile = \"is_socket.wat\"\ntcplisten = [\"127.0.0.1:0\"]\n",
    );
    let output = wasi_eventfd(&["run", "--config", &good.display().to_string()]);
    assert!(output.status.success(), "{}", stderr(&output));
    // Without the key, fd 3 is no socket.
    let none = scratch.file("none.toml", "[[guest]]\nfile = \"is_socket.wat\"\n");
    let output = wasi_eventfd(&["run", "--config", &none.display().to_string()]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let bad = scratch.file(
        "bad.toml",
        "[[guest]]\nfile = \"is_socket.wat\"\ntcplisten = [\"nowhere\"]\n",
    );
    let output = wasi_eventfd(&["run", "--config", &bad.display().to_string()]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output)
            .contains("bad.toml:3:14: `tcplisten`: `nowhere` is not an address and port"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn listeners_follow_the_preopened_directories() {
    // wasi-libc finds directories by asking fd_prestat_get from fd 3 up
    // and stops at the first fd that is not one: with `--dir` and a
    // listener, fd 3 must be the directory and fd 4 the socket. Exits 0
    // then; 1 if fd 3 is no preopen, 2 if fd 4 is no stream socket.
    let scratch = Scratch::new("sockets-after-dirs");
    let guest = scratch.file(
        "order.wat",
        r#"(module
            (import "wasi_snapshot_preview1" "fd_prestat_get"
                (func $prestat (param i32 i32) (result i32)))
            (import "wasi_snapshot_preview1" "fd_fdstat_get"
                (func $fdstat (param i32 i32) (result i32)))
            (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
            (memory (export "memory") 1)
            (func (export "_start")
                (if (call $prestat (i32.const 3) (i32.const 0))
                    (then (call $exit (i32.const 1))))
                (drop (call $fdstat (i32.const 4) (i32.const 16)))
                (if (i32.ne (i32.load8_u (i32.const 16)) (i32.const 6))
                    (then (call $exit (i32.const 2))))
                (call $exit (i32.const 0))))"#,
    );
    let dir = scratch.path().display().to_string();
    let output = wasi_eventfd(&[
        "run",
        "--dir",
        &dir,
        "-S",
        "tcplisten=127.0.0.1:0",
        &guest.display().to_string(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

#[test]
fn a_component_given_a_listener_is_refused() {
    let ping = guest("ping").display().to_string();
    let output = wasi_eventfd(&["run", "-S", "tcplisten=127.0.0.1:0", &ping, "1"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert_eq!(
        stderr(&output).trim_end(),
        "error: guest `ping.wasm`: components do not support -S tcplisten (preview 1 core \
         modules only)"
    );
}

/// Plays the client of `tests/guests/c/posix_socket.c` against `server`
/// (started, listening on `port`): connects after its `ready`, reads
/// `go\n`, sends `ping`, waits 300 ms while the server fills its send
/// buffer, then reads until the server closes. Returns what the server
/// printed and the bytes it sent.
fn play_posix_socket_client(server: Child, port: u16) -> (String, usize) {
    let mut server = Runner(server);
    let mut lines = BufReader::new(server.0.stdout.take().expect("stdout"));
    let mut printed = String::new();
    while !printed.ends_with("ready\n") {
        let before = printed.len();
        lines.read_line(&mut printed).expect("a line");
        assert!(printed.len() > before, "stopped before ready:\n{printed}");
    }
    let mut client = connect(port);
    let mut go = [0u8; 3];
    client.read_exact(&mut go).expect("go");
    assert_eq!(&go, b"go\n");
    client.write_all(b"ping").expect("ping");
    std::thread::sleep(Duration::from_millis(300));
    let mut sent = Vec::new();
    client.read_to_end(&mut sent).expect("what the server sent");
    lines.read_to_string(&mut printed).expect("the rest");
    let status = server.0.wait().expect("wait");
    let mut err = String::new();
    if let Some(mut pipe) = server.0.stderr.take() {
        pipe.read_to_string(&mut err).expect("stderr");
    }
    assert!(status.success(), "{status}\n{printed}\nstderr:\n{err}");
    (printed, sent.len())
}

/// epoll over a TCP connection prints the same as a guest as on Linux:
/// EPOLLOUT while there is room, none when the send buffer is full, back
/// when the peer drains, EPOLLIN when it sends, edge-triggered EPOLLOUT
/// once, and the registration kept by a dup (the C library's `dup`) when
/// the first fd closes and gone with the last.
#[test]
fn epoll_on_a_socket_and_its_dup_prints_the_same_as_a_guest_as_on_linux() {
    let scratch = Scratch::new("posix-socket");
    let native = scratch.path().join("posix_socket");
    let built = Command::new("cc")
        .args(["-O2", "-o"])
        .arg(&native)
        .arg(crate::guests::repo_root().join("tests/guests/c/posix_socket.c"))
        .output()
        .expect("run cc");
    assert!(built.status.success(), "{}", stderr(&built));
    let guest = crate::posix_c::build_guest("posix_socket", scratch.path());

    let port = free_port();
    let on_linux = start(Command::new(&native).arg(port.to_string()));
    let (on_linux, linux_sent) = play_posix_socket_client(on_linux, port);

    let port = free_port();
    let listen = format!("tcplisten=127.0.0.1:{port}");
    let as_guest = start(
        Command::new(env!("CARGO_BIN_EXE_wasi-eventfd"))
            .args(["run", "-S", &listen])
            .arg(&guest),
    );
    let (as_guest, guest_sent) = play_posix_socket_client(as_guest, port);

    for expected in [
        "writable = 1 2=OUT\n",
        "still registered through the dup = 1 2=OUT\n",
        "the client's ping = 1 2=IN\n",
        "readable and writable = 1 2=IN|OUT\n",
        "filled: EAGAIN\n",
        "full: not writable = 0\n",
        "drained = 1 2=OUT\n",
        "edge once = 1 2=OUT\nedge not again = 0\n",
        "gone with the last fd = 0\n",
    ] {
        assert!(on_linux.contains(expected), "Linux printed:\n{on_linux}");
    }
    assert_eq!(as_guest, on_linux, "the guest printed otherwise than Linux");
    assert!(
        linux_sent > 3 && guest_sent > 3,
        "{linux_sent} {guest_sent}"
    );
}
