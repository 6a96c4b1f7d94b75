//! Appends `COUNT` lines `NAME i` to `DIR/log.txt` (WASI 0.2
//! `wasi:filesystem`, through Rust's `std::fs`: `append-via-stream`), one
//! open and write per line, then reads back the line it wrote at `DIR/NAME.txt`
//! through `read-via-stream` and prints what it found. Two copies of it in one
//! seeded run interleave their lines in the schedule's order: the test
//! compares the log across runs of the same seed and of different seeds.
//!
//! Arguments: `DIR NAME COUNT`.

use std::fs::OpenOptions;
use std::io::Write;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(dir), Some(name), Some(count)) = (args.next(), args.next(), args.next()) else {
        eprintln!("usage: seeded_file_log DIR NAME COUNT");
        std::process::exit(2);
    };
    let count: u32 = count.parse().expect("COUNT is a number");
    let log = format!("{dir}/log.txt");
    for i in 0..count {
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("open the log");
        file.write_all(format!("{name} {i}\n").as_bytes())
            .expect("append a line");
    }
    // A file of its own, written at an offset and read back.
    let own = format!("{dir}/{name}.txt");
    std::fs::write(&own, format!("{name} wrote {count} lines\n")).expect("write its file");
    let back = std::fs::read_to_string(&own).expect("read its file");
    print!("{back}");
}
