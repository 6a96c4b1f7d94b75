//! Prints 1000 lines of 10 000 bytes with Rust's `println!`: 9 999 times
//! the first letter of its file name, then `\n` (a `--with` guest gets no
//! arguments: the test gives each copy of the file its own name). The
//! standard library hands each line to the host in 4096-byte pieces, with
//! the guest running between them; the runner must still put each line out
//! whole. `tests/guests/wat/output_long_lines.wat` prints the same lines
//! with one preview 1 `fd_write` each.

fn main() {
    let letter = std::env::args()
        .next()
        .and_then(|name| name.chars().next())
        .unwrap_or('?')
        .to_string();
    let line = letter.repeat(9_999);
    for _ in 0..1000 {
        println!("{line}");
    }
}
