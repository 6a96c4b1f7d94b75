//! Answers every ball on `ping` with a ball on `pong` until told to stop.

use ping_pong::{preopen, BALL, STOP};

fn main() {
    let (ping, pong) = (preopen("ping"), preopen("pong"));
    let mut rounds = 0u64;
    loop {
        match ping.read().expect("read ping") {
            BALL => pong.write(BALL).expect("write pong"),
            STOP => break,
            other => panic!("unexpected value {other} on ping"),
        }
        rounds += 1;
    }
    println!("pong: answered {rounds} balls");
}
