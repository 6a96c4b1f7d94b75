//! Writes bytes that are not text to stdout and exits without a final
//! newline: NUL, 0xff, a lone `\r`, invalid UTF-8, every byte value 40
//! times over (more than one 4 KiB write), and a tail with no newline. The
//! test compares stdout with [`expected`]'s bytes exactly: nothing may be
//! added, dropped, translated or held back at exit.
//!
//! The test keeps its own copy of the sequence; keep the two in step.

use std::io::Write;

fn expected() -> Vec<u8> {
    let mut bytes = b"\x00\xff\r\n\xc3\x28 not utf-8 \x80\xbf\r\r\n".to_vec();
    for _ in 0..40 {
        bytes.extend(0..=255u8);
    }
    bytes.extend_from_slice(b"\ntail \x00\xfe\r");
    bytes
}

fn main() {
    let mut out = std::io::stdout().lock();
    out.write_all(&expected()).expect("write stdout");
    out.flush().expect("flush stdout");
}
