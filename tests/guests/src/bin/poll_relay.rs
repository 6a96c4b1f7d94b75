//! Like `relay`, but waits with `wasi:io/poll` instead of a blocking read:
//! polls `in` for readable and `stop` for readable together; relays values
//! from `in` to `out` until `stop` becomes readable.

use eventfd_test_programs::{poll, preopen, ErrorCode};

fn main() {
    let (input, output, stop) = (preopen("in"), preopen("out"), preopen("stop"));
    let readable = input.subscribe_readable();
    let stopped = stop.subscribe_readable();
    loop {
        let ready = poll::poll(&[&readable, &stopped]);
        if ready.contains(&1) {
            break;
        }
        assert_eq!(ready, [0], "only `in` can be ready here");
        assert!(readable.ready(), "level-triggered: still ready until read");
        // `in` is shared with the host only, which never reads it, so the
        // count cannot have gone: this read does not wait.
        match input.read() {
            Ok(value) => output.write(value).expect("write `out`"),
            Err(ErrorCode::WouldBlock) => panic!("`in` was readable but read would block"),
            Err(e) => panic!("read `in`: {e:?}"),
        }
    }
    // Pollables are children of their descriptor: drop them first.
    drop((readable, stopped));
}
