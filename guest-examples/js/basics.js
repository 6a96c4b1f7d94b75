// The eventfd operations one at a time, each checked against Linux's
// answer: create, write, read in counter and semaphore mode, errors as
// thrown values, dup, and readable/writable pollables.
//
//     wasi-eventfd run basics.wasm
import { Eventfd } from 'wasi-eventfd:eventfd/types@0.1.0';
import { Usage, command, errorCode } from './eventfds.js';

const WHO = 'basics (JS)';
let passed = 0;

function equal(what, got, expected) {
  const show = (v) => JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? `${x}` : x));
  if (show(got) !== show(expected)) {
    throw new Usage(`${what}: got ${show(got)}, expected ${show(expected)}`);
  }
  console.log(`${WHO}: ${what}: ${show(got)}`);
  passed++;
}

function fails(what, call, expected) {
  let got;
  try {
    got = call();
  } catch (e) {
    if (errorCode(e) === undefined) throw e;
    equal(what, errorCode(e), expected);
    return;
  }
  throw new Usage(`${what}: returned ${got}, expected the error ${expected}`);
}

export const run = command(WHO, () => {
  const MAX = 2n ** 64n - 1n;
  const fd = Eventfd.create(0, { nonblock: true });
  fails('read of 0, non-blocking', () => fd.read(), 'would-block');
  fd.write(3n);
  fd.write(4n);
  equal('counter read after writing 3 and 4', fd.read(), 7n);
  fails('write of 2**64 - 1', () => fd.write(MAX), 'invalid-argument');
  fd.write(MAX - 1n);
  fails('write past the maximum', () => fd.write(1n), 'would-block');
  equal('read at the maximum', fd.read(), MAX - 1n);

  const sem = Eventfd.create(2, { semaphore: true, nonblock: true });
  equal('semaphore reads of a count of 2', [sem.read(), sem.read()], [1n, 1n]);
  fails('third semaphore read', () => sem.read(), 'would-block');

  const copy = fd.dup();
  copy.write(5n);
  equal('read through the original after writing 5 through a dup', fd.read(), 5n);
  equal('a dup shares the description', copy.info().id, fd.info().id);
  copy[Symbol.dispose]();

  const readable = fd.subscribeReadable();
  const writable = fd.subscribeWritable();
  equal('readable, writable at count 0', [readable.ready(), writable.ready()], [false, true]);
  fd.write(1n);
  equal('readable, writable at count 1', [readable.ready(), writable.ready()], [true, true]);
  // Pollables go before their eventfd.
  readable[Symbol.dispose]();
  writable[Symbol.dispose]();
  console.log(`${WHO}: all ${passed} checks passed`);
});
