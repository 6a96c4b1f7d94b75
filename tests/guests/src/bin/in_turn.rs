//! Waits for its turn, does its work, then passes the turn on: reads the
//! preopened semaphore eventfd `turn` (blocking until its token is there),
//! works, writes the token back and ends. Copies of it run one after
//! another, each ending just as the next starts.
//!
//! - `in_turn eventfds N`: creates N eventfds and holds them until it ends
//!   (it ends with `exit`, as a C program does, so it never closes them:
//!   the host must); if a create fails, prints `in_turn: N eventfds, then
//!   <error>` and exits with 1 (after passing the turn on).
//! - `in_turn touch MIB`: grows its memory by MIB MiB and writes to every
//!   4 KiB page of what it added (no allocator: only the page faults).

use eventfd_test_programs::{args, preopen, CreateFlags, Eventfd};

fn main() {
    let args = args();
    let (what, amount) = match (args.first(), args.get(1)) {
        (Some(what), Some(n)) => (what.as_str(), n.parse::<usize>().expect("a number")),
        _ => panic!("usage: in_turn eventfds N | touch MIB"),
    };
    let turn = preopen("turn");
    turn.read().expect("take the turn");
    let mut held: Vec<Eventfd> = Vec::with_capacity(amount);
    let failed = match what {
        "eventfds" => {
            let mut failed = None;
            while held.len() < amount {
                match Eventfd::create(0, CreateFlags::empty()) {
                    Ok(fd) => held.push(fd),
                    Err(e) => {
                        failed = Some(format!("in_turn: {} eventfds, then {}", held.len(), e.name()));
                        break;
                    }
                }
            }
            failed
        }
        "touch" => {
            const WASM_PAGE: usize = 65536;
            let pages = amount * (1 << 20) / WASM_PAGE;
            let first = core::arch::wasm32::memory_grow::<0>(pages);
            assert!(first != usize::MAX, "memory.grow refused {pages} pages");
            for offset in (0..pages * WASM_PAGE).step_by(4096) {
                // SAFETY: the pages were just added to the memory; nothing
                // else of the program uses them.
                unsafe { std::ptr::write_volatile((first * WASM_PAGE + offset) as *mut u8, 1) };
            }
            None
        }
        other => panic!("unknown work {other}"),
    };
    turn.write(1).expect("pass the turn on");
    if let Some(failed) = &failed {
        println!("{failed}");
    }
    // Without dropping `held`.
    std::process::exit(i32::from(failed.is_some()));
}
