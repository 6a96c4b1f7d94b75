//! File I/O under a preopened directory, through Rust's `std::fs` (WASI
//! 0.2 `wasi:filesystem`, reached through wasi-libc). The argument is the
//! directory as the guest sees it (`--dir HOST::GUEST` → `GUEST`).
//!
//! It reads `input.txt`, which the test put there beforehand; creates a file,
//! writes it and reads it back; makes a subdirectory with a file in it; lists
//! the directory; renames the file and checks the old name is gone; creates
//! and removes a file; lists again. Each step prints one line, the same lines
//! as the C (`tests/guests/c/files.c`) and WASI 0.3 (`wasi_p3.rs files`)
//! versions print, so the tests compare all three with one transcript. The
//! test then checks the host directory: what the guest left there is what
//! the guest says it did.
//!
//! The first failing step prints `error: <step> <path>: <error>` and exits
//! with code 1: without `--dir` that is the first read.

use std::fs;
use std::io;
use std::path::Path;

fn main() {
    let dir = std::env::args().nth(1).expect("usage: wasi_files DIR");
    if let Err((step, path, error)) = run(Path::new(&dir)) {
        println!("error: {step} {path}: {error}");
        std::process::exit(1);
    }
}

type Failure = (&'static str, String, io::Error);

/// `result`, or the failure of `step` on `path`.
fn step<T>(result: io::Result<T>, step: &'static str, path: &Path) -> Result<T, Failure> {
    result.map_err(|e| (step, path.display().to_string(), e))
}

fn run(dir: &Path) -> Result<(), Failure> {
    let input = dir.join("input.txt");
    let text = step(fs::read_to_string(&input), "read", &input)?;
    println!("input: {}", text.trim_end());

    let created = dir.join("created.txt");
    step(
        fs::write(&created, "hello from the guest\n"),
        "write",
        &created,
    )?;
    let back = step(fs::read_to_string(&created), "read", &created)?;
    println!("read back: {}", back.trim_end());

    let made = dir.join("made");
    step(fs::create_dir(&made), "mkdir", &made)?;
    let nested = made.join("nested.txt");
    step(fs::write(&nested, "nested\n"), "write", &nested)?;
    println!("entries: {}", entries(dir)?);

    let renamed = dir.join("renamed.txt");
    step(fs::rename(&created, &renamed), "rename", &created)?;
    // The old name must be gone, not merely shadowed.
    match fs::metadata(&created) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            println!("created.txt after rename: not found")
        }
        Err(e) => return Err(("stat", created.display().to_string(), e)),
        Ok(_) => println!("created.txt after rename: still there"),
    }

    let temp = dir.join("temp.txt");
    step(fs::write(&temp, "short-lived\n"), "write", &temp)?;
    step(fs::remove_file(&temp), "remove", &temp)?;
    match fs::metadata(&temp) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => println!("removed temp.txt"),
        Err(e) => return Err(("stat", temp.display().to_string(), e)),
        Ok(_) => println!("temp.txt still there after remove"),
    }
    println!("entries: {}", entries(dir)?);
    Ok(())
}

/// The directory's entries, sorted, directories marked with `/`.
fn entries(dir: &Path) -> Result<String, Failure> {
    let mut names = Vec::new();
    for entry in step(fs::read_dir(dir), "list", dir)? {
        let entry = step(entry, "list", dir)?;
        let is_dir = step(entry.file_type(), "list", &entry.path())?.is_dir();
        let name = entry.file_name().to_string_lossy().into_owned();
        names.push(if is_dir { format!("{name}/") } else { name });
    }
    names.sort();
    Ok(names.join(" "))
}
