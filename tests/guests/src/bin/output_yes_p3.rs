//! `yes` for WASI 0.3: streams `y\n` to `wasi:cli/stdout@0.3.0`'s
//! `write-via-stream` until the host stops taking it, then prints the
//! error code the host gave (`stdout: error-code.io`, `.pipe` or
//! `.illegal-byte-sequence`, through Rust's `eprintln!`) and returns
//! failure (exit status 1). A runner that hides a
//! closed or full stdout from its guest keeps it writing forever.

wit_bindgen::generate!({
    inline: "
        package eventfd-tests:p3-output;

        world output-guest {
            import wasi:cli/stdout@0.3.0;
            export wasi:cli/run@0.3.0;
        }
    ",
    path: ["../../guest-examples/wasi-0.3"],
    world: "eventfd-tests:p3-output/output-guest",
    generate_all,
});

use std::future::IntoFuture;

use wasi::cli::stdout;
use wasi::cli::types::ErrorCode;

struct Component;

export!(Component);

impl exports::wasi::cli::run::Guest for Component {
    async fn run() -> Result<(), ()> {
        let (mut tx, rx) = wit_stream::new::<u8>();
        let done = stdout::write_via_stream(rx);
        let send = async move {
            // Bytes left unsent: the host dropped the stream's other end.
            while tx.write_all(b"y\n".to_vec()).await.is_empty() {}
        };
        let ((), done) = futures::join!(send, done.into_future());
        match done {
            Ok(()) => eprintln!("stdout: the host stopped reading without an error"),
            Err(code) => eprintln!(
                "stdout: error-code.{}",
                match code {
                    ErrorCode::Io => "io",
                    ErrorCode::IllegalByteSequence => "illegal-byte-sequence",
                    ErrorCode::Pipe => "pipe",
                }
            ),
        }
        Err(())
    }
}

fn main() {}
