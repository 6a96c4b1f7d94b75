// The `ping` half of ping-pong: sends ROUNDS balls (default 10000) on
// `ping` and waits for each to come back on `pong`, then sends STOP. Plays
// with the Rust or the Python `pong`:
//
//     wasi-eventfd run --eventfd ping=0 --eventfd pong=0 --with pong.wasm ping.wasm [ROUNDS]
import { Usage, args, command, preopen } from './eventfds.js';

const BALL = 1n; // one more round trip
const STOP = 2n; // done

export const run = command('ping (JS)', () => {
  const argv = args();
  if (argv.length > 1 || (argv.length === 1 && !/^[1-9][0-9]*$/.test(argv[0]))) {
    throw new Usage(`usage: ping [ROUNDS]   (ROUNDS: a number above 0; got ${argv.join(' ')})`);
  }
  const rounds = argv.length === 1 ? BigInt(argv[0]) : 10000n;
  const ping = preopen('ping');
  const pong = preopen('pong');
  const start = performance.now();
  for (let round = 0n; round < rounds; round++) {
    ping.write(BALL);
    // Blocks (suspends this guest) until `pong` answers.
    const ball = pong.read();
    if (ball !== BALL) throw new Usage(`round ${round}: pong answered ${ball}`);
  }
  const ms = performance.now() - start;
  ping.write(STOP);
  const perRound = (ms * 1e3) / Number(rounds);
  console.log(
    `ping-pong (JS ping): ${rounds} round trips in ${ms.toFixed(1)} ms: ${perRound.toFixed(2)} µs per round trip`,
  );
});
