//! The `waker` example (`guest-examples/rust/waker`): one `wasi:io/poll`
//! `poll` on a TCP listener and an eventfd, woken by a client on loopback
//! and by the `nudge` guest's writes; and the network as a capability.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::cli::{stderr, stdout, succeeded, wasi_eventfd};
use crate::guests::guest;

/// How many times `nudge` writes to `wake` when run as a `--with` guest,
/// which gets no arguments.
const NUDGES: u64 = 3;

/// A loopback port that was free a moment ago (the guest binds it next; a
/// port taken in between fails the test with the guest's bind error).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("bind a loopback port")
        .port()
}

/// The runner as a child process, killed if the test fails while it runs.
struct Runner(Option<Child>);

impl Runner {
    fn child(&mut self) -> &mut Child {
        self.0.as_mut().expect("the runner is still ours")
    }

    /// Its exit status and output, once it has finished.
    fn finish(mut self) -> Output {
        let child = self.0.take().expect("the runner is still ours");
        child.wait_with_output().expect("wait for wasi-eventfd")
    }

    /// Its output so far, for a failure message, after stopping it.
    fn stop(mut self) -> String {
        let _ = self.child().kill();
        let output = self.finish();
        format!(
            "{}\nstdout:\n{}\nstderr:\n{}",
            output.status,
            stdout(&output),
            stderr(&output)
        )
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[test]
fn waker_is_woken_by_a_guest_and_by_a_client() {
    let (waker, nudge) = (guest("waker"), guest("nudge"));
    let addr = format!("127.0.0.1:{}", free_port());
    // Every nudge plus our one connection: the waker cannot finish before
    // both kinds have arrived, whatever the order.
    let rounds = (NUDGES + 1).to_string();
    let child = Command::new(env!("CARGO_BIN_EXE_wasi-eventfd"))
        .args([
            "run",
            "-S",
            "inherit-network",
            "--eventfd",
            "wake=0",
            "--with",
        ])
        .arg(&nudge)
        .args(["--timeout", "60"])
        .arg(&waker)
        .args([&addr, &rounds])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start wasi-eventfd");
    let mut runner = Runner(Some(child));

    // Connect as soon as the guest listens (compiling it comes first).
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut client = loop {
        match TcpStream::connect(&addr) {
            Ok(stream) => break stream,
            Err(e) => {
                if let Ok(Some(_)) = runner.child().try_wait() {
                    panic!(
                        "the runner ended before listening on {addr}: {}",
                        runner.stop()
                    );
                }
                if Instant::now() > deadline {
                    panic!(
                        "nothing listens on {addr} after 30 s ({e}): {}",
                        runner.stop()
                    );
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    };
    client
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("set a read timeout");
    let mut reply = String::new();
    client
        .read_to_string(&mut reply)
        .expect("read the reply until the guest hangs up");
    assert_eq!(reply, "hello\n");
    let client_addr = client.local_addr().expect("our address");

    let output = runner.finish();
    let out = succeeded(&output);
    assert!(
        out.contains(&format!("waker: listening on {addr}\n")),
        "{out}"
    );
    assert!(
        out.contains(&format!("waker: connection from {client_addr}\n")),
        "{out}"
    );
    // Nudges that land before the waker reads arrive as one larger count;
    // however they were grouped, they add up to what `nudge` wrote.
    let nudged: u64 = out
        .lines()
        .filter_map(|line| line.strip_prefix("waker: woken by eventfd (count "))
        .map(|count| count.trim_end_matches(')').parse::<u64>().expect("a count"))
        .sum();
    assert_eq!(nudged, NUDGES, "{out}");
    assert!(
        out.contains(&format!("nudge: wrote 1 to `wake` {NUDGES} times\n")),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "waker: {} wake-ups (1 connections, {NUDGES} eventfd)\n",
            NUDGES + 1
        )),
        "{out}"
    );
}

#[test]
fn waker_without_the_network_is_denied() {
    let addr = format!("127.0.0.1:{}", free_port());
    let waker = guest("waker").display().to_string();
    // No `-S inherit-network`: the guest gets no address to bind.
    let output = wasi_eventfd(&[
        "run",
        "--eventfd",
        "wake=0",
        "--timeout",
        "60",
        &waker,
        &addr,
        "1",
    ]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}\n{}",
        stdout(&output),
        stderr(&output)
    );
    assert_eq!(stdout(&output), "");
    assert_eq!(
        stderr(&output),
        format!(
            "waker: cannot create a socket for {addr}: access-denied\n\
             error: guest `waker.wasm` exited with code 1\n"
        )
    );
}
