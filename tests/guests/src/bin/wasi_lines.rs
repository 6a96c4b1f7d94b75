//! Prints [`LINES`] numbered lines, each in several small `write`s straight
//! to file descriptor 1 (no buffering, no flush), so that each write is a
//! separate WASI 0.2 stream write and other guests' output can come between
//! the pieces of one line. The runner must still put each line out whole.
//!
//! A line is `TAG N PAYLOAD END`, TAG being the file's base name without
//! `.wasm` (a `--with` guest gets no arguments: the test gives each copy of
//! the file its own name), PAYLOAD `N % 7 + 1` times `TAG-N`; the test checks
//! every line against that. The C `tests/guests/c/lines.c` prints the same.

use std::fs::File;
use std::io::Write;
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;

const LINES: usize = 1000;

fn main() {
    let argv0 = std::env::args().next().unwrap_or_default();
    let tag = argv0.strip_suffix(".wasm").unwrap_or(&argv0).to_string();
    // SAFETY: fd 1 is the guest's stdout for the life of the program;
    // ManuallyDrop keeps it open when `out` goes away.
    let mut out = ManuallyDrop::new(unsafe { File::from_raw_fd(1) });
    for n in 0..LINES {
        let payload = format!("{tag}-{n}").repeat(n % 7 + 1);
        for piece in [format!("{tag} "), format!("{n} "), payload, " END\n".into()] {
            out.write_all(piece.as_bytes()).expect("write stdout");
        }
    }
}
