//! A WASI 0.3 guest (component-model async: it exports `wasi:cli/run@0.3.0`)
//! that reaches the host only through WASI 0.3 interfaces
//! (`wasi:filesystem@0.3.0`, `wasi:cli/environment@0.3.0`); only its
//! printing goes through Rust's `println!`. The first argument picks what it
//! does:
//!
//! - `files DIR`: the file steps of `wasi_files.rs`, printing the same lines,
//!   on the preopened directory named `DIR` (found in
//!   `wasi:filesystem/preopens@0.3.0`; without one it prints `error: read
//!   DIR/input.txt: no preopened directory` and fails);
//! - `env`: the lines of `wasi_env.rs`, from `wasi:cli/environment@0.3.0`;
//! - `fail`: returns failure from `run` (exit status 1).
//!
//! Any failure prints `error: <step> <path>: <error>` and returns failure.

wit_bindgen::generate!({
    inline: "
        package eventfd-tests:p3-wasi;

        world wasi-guest {
            import wasi:cli/environment@0.3.0;
            import wasi:filesystem/types@0.3.0;
            import wasi:filesystem/preopens@0.3.0;
            export wasi:cli/run@0.3.0;
        }
    ",
    path: ["../../guest-examples/wasi-0.3"],
    world: "eventfd-tests:p3-wasi/wasi-guest",
    generate_all,
});

use std::future::IntoFuture;

use wasi::cli::environment;
use wasi::filesystem::preopens::get_directories;
use wasi::filesystem::types::{
    Descriptor, DescriptorFlags, DescriptorType, ErrorCode, OpenFlags, PathFlags,
};

struct Component;

export!(Component);

impl exports::wasi::cli::run::Guest for Component {
    async fn run() -> Result<(), ()> {
        let args = environment::get_arguments();
        let result = match args.get(1).map(String::as_str) {
            Some("files") => match args.get(2) {
                Some(dir) => files(dir).await,
                None => Err(usage()),
            },
            Some("env") => {
                env(&args);
                Ok(())
            }
            Some("fail") => {
                println!("failing on purpose");
                return Err(());
            }
            _ => Err(usage()),
        };
        result.map_err(|message| println!("error: {message}"))
    }
}

// A Rust binary needs `main`; the run export above is what the runner calls.
fn main() {}

fn usage() -> String {
    "usage: wasi_p3 files DIR | env | fail".into()
}

/// The failure of `step` on `path`.
fn failed(step: &str, dir: &str, path: &str, error: ErrorCode) -> String {
    format!("{step} {dir}/{path}: {error:?}")
}

fn env(args: &[String]) {
    for (i, arg) in args.iter().enumerate() {
        println!("argv[{i}]: {arg}");
    }
    let mut vars: Vec<String> = environment::get_environment()
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    vars.sort();
    for var in &vars {
        println!("env: {var}");
    }
    println!("envc: {}", vars.len());
}

async fn files(dir_name: &str) -> Result<(), String> {
    let Some(dir) = get_directories()
        .into_iter()
        .find_map(|(dir, name)| (name == dir_name).then_some(dir))
    else {
        return Err(format!("read {dir_name}/input.txt: no preopened directory"));
    };
    let fail = |step: &'static str, path: &'static str| {
        move |e: ErrorCode| failed(step, dir_name, path, e)
    };

    let text = read_file(&dir, "input.txt")
        .await
        .map_err(fail("read", "input.txt"))?;
    println!("input: {}", String::from_utf8_lossy(&text).trim_end());

    write_file(&dir, "created.txt", b"hello from the guest\n")
        .await
        .map_err(fail("write", "created.txt"))?;
    let back = read_file(&dir, "created.txt")
        .await
        .map_err(fail("read", "created.txt"))?;
    println!("read back: {}", String::from_utf8_lossy(&back).trim_end());

    dir.create_directory_at("made".into())
        .await
        .map_err(fail("mkdir", "made"))?;
    write_file(&dir, "made/nested.txt", b"nested\n")
        .await
        .map_err(fail("write", "made/nested.txt"))?;
    println!(
        "entries: {}",
        entries(&dir).await.map_err(fail("list", "."))?
    );

    dir.rename_at("created.txt".into(), &dir, "renamed.txt".into())
        .await
        .map_err(fail("rename", "created.txt"))?;
    // The old name must be gone, not merely shadowed.
    match dir.stat_at(PathFlags::empty(), "created.txt".into()).await {
        Err(ErrorCode::NoEntry) => println!("created.txt after rename: not found"),
        Err(e) => return Err(failed("stat", dir_name, "created.txt", e)),
        Ok(_) => println!("created.txt after rename: still there"),
    }

    write_file(&dir, "temp.txt", b"short-lived\n")
        .await
        .map_err(fail("write", "temp.txt"))?;
    dir.unlink_file_at("temp.txt".into())
        .await
        .map_err(fail("remove", "temp.txt"))?;
    match dir.stat_at(PathFlags::empty(), "temp.txt".into()).await {
        Err(ErrorCode::NoEntry) => println!("removed temp.txt"),
        Err(e) => return Err(failed("stat", dir_name, "temp.txt", e)),
        Ok(_) => println!("temp.txt still there after remove"),
    }
    println!(
        "entries: {}",
        entries(&dir).await.map_err(fail("list", "."))?
    );
    Ok(())
}

/// The whole file `path` under `dir`, through `read-via-stream`.
async fn read_file(dir: &Descriptor, path: &str) -> Result<Vec<u8>, ErrorCode> {
    let file = dir
        .open_at(
            PathFlags::empty(),
            path.into(),
            OpenFlags::empty(),
            DescriptorFlags::READ,
        )
        .await?;
    let (data, done) = file.read_via_stream(0);
    let (data, done) = futures::join!(data.collect(), done.into_future());
    done.map(|()| data)
}

/// Creates (or truncates) `path` under `dir` and writes `bytes` to it,
/// through `write-via-stream`.
async fn write_file(dir: &Descriptor, path: &str, bytes: &[u8]) -> Result<(), ErrorCode> {
    let file = dir
        .open_at(
            PathFlags::empty(),
            path.into(),
            OpenFlags::CREATE | OpenFlags::TRUNCATE,
            DescriptorFlags::WRITE,
        )
        .await?;
    let (mut tx, rx) = wit_stream::new::<u8>();
    let done = file.write_via_stream(rx, 0);
    let bytes = bytes.to_vec();
    let send = async move {
        let unsent = tx.write_all(bytes).await;
        assert!(
            unsent.is_empty(),
            "the host stopped reading the file's stream"
        );
        // Dropping the writer ends the stream: the host then finishes.
        drop(tx);
    };
    let ((), done) = futures::join!(send, done.into_future());
    done
}

/// The directory's entries, sorted, directories marked with `/`.
async fn entries(dir: &Descriptor) -> Result<String, ErrorCode> {
    let (entries, done) = dir.read_directory();
    let (entries, done) = futures::join!(entries.collect(), done.into_future());
    done?;
    let mut names: Vec<String> = entries
        .into_iter()
        .map(|entry| match entry.type_ {
            DescriptorType::Directory => format!("{}/", entry.name),
            _ => entry.name,
        })
        .collect();
    names.sort();
    Ok(names.join(" "))
}
