// A worker of the worker pool: takes jobs one at a time from the semaphore
// eventfd `jobs`, reports each on `done`, and, when there is nothing to
// take, waits on `jobs` and `quit` at once with `wasi:io/poll`. Mixes with
// the Rust `worker`, the C `consumer` and the Python `worker`:
//
//     wasi-eventfd run --eventfd jobs=0,semaphore,nonblock --eventfd done=0 --eventfd quit=0 \
//         --with worker.wasm --with worker.wasm dispatcher.wasm [JOBS]
import { poll } from 'wasi:io/poll@0.2.12';
import { Usage, command, errorCode, preopen } from './eventfds.js';

/** One job's work: something that takes a little CPU time. */
function work(seed) {
  let h = BigInt(seed);
  for (let i = 0n; i < 2000n; i++) h = BigInt.asUintN(64, (h ^ i) * 0x100000001b3n);
  return h;
}

export const run = command('worker (JS)', () => {
  const jobs = preopen('jobs');
  const done = preopen('done');
  const quit = preopen('quit');
  if (!jobs.info().nonblocking) {
    throw new Usage('`jobs` must be non-blocking: --eventfd jobs=0,semaphore,nonblock');
  }
  const jobReady = jobs.subscribeReadable();
  const quitReady = quit.subscribeReadable();
  let taken = 0;
  let checksum = 0n;
  for (;;) {
    try {
      jobs.read(); // semaphore: takes exactly one job
    } catch (e) {
      // Another worker took the job we were woken for.
      if (errorCode(e) !== 'would-block') throw e;
      if (quitReady.ready()) break;
      poll([jobReady, quitReady]);
      continue;
    }
    checksum ^= work(taken);
    taken += 1;
    done.write(1n);
  }
  // Pollables go before their eventfds.
  jobReady[Symbol.dispose]();
  quitReady[Symbol.dispose]();
  console.log(`worker (JS): took ${taken} jobs (checksum ${checksum.toString(16)})`);
});
