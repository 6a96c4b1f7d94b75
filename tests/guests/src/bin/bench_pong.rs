//! Benchmark guest: answers every ball (1) read from preopen `ping` with a
//! write of 1 to preopen `pong`, until it reads STOP (2).

use eventfd_test_programs::preopen;

fn main() {
    let (ping, pong) = (preopen("ping"), preopen("pong"));
    loop {
        match ping.read().expect("read ping") {
            1 => pong.write(1).expect("write pong"),
            2 => break,
            other => panic!("unexpected ball {other}"),
        }
    }
}
