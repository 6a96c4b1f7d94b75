//! A prompt without a newline, then a line of stdin: prints `READY`,
//! flushes, reads one line and prints `got: <line>` (or `got EOF` when
//! stdin is empty or closed). The test sends the line only after it has
//! seen `READY`, so the prompt must reach the real stdout while the guest
//! waits for input, not when it ends.

use std::io::{BufRead, Write};

fn main() {
    print!("READY");
    std::io::stdout().flush().expect("flush stdout");
    let mut line = String::new();
    let read = std::io::stdin()
        .lock()
        .read_line(&mut line)
        .expect("read stdin");
    if read == 0 {
        println!("got EOF");
    } else {
        println!("got: {}", line.trim_end_matches('\n'));
    }
}
