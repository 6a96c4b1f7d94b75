//! Sends ROUNDS balls (default 10000) and waits for each to come back, then
//! prints the round-trip rate.

use std::time::Instant;

use ping_pong::{preopen, BALL, STOP};

fn main() {
    let rounds: u64 = match std::env::args().nth(1).map(|n| n.parse()) {
        None => 10_000,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("usage: ping [ROUNDS]   (ROUNDS: a number above 0)");
            std::process::exit(2);
        }
    };
    let (ping, pong) = (preopen("ping"), preopen("pong"));
    let start = Instant::now();
    for round in 0..rounds {
        ping.write(BALL).expect("write ping");
        // Blocks (suspends this guest) until `pong` answers.
        let ball = pong.read().expect("read pong");
        assert_eq!(ball, BALL, "round {round}: pong answered {ball}");
    }
    let elapsed = start.elapsed();
    ping.write(STOP).expect("write ping");
    let per_round = elapsed / u32::try_from(rounds).unwrap_or(u32::MAX);
    println!(
        "ping-pong: {rounds} round trips in {:.1} ms: {:.2} µs per round trip, {:.0} round trips/s",
        elapsed.as_secs_f64() * 1e3,
        per_round.as_secs_f64() * 1e6,
        rounds as f64 / elapsed.as_secs_f64(),
    );
}
