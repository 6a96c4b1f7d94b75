// What the JavaScript guests share: the host's preopened eventfds by name,
// the command line, and turning errors into a failed run with a message.
//
// A failed eventfd call throws an error whose `payload` is the WIT
// `error-code` as a string ('would-block', 'invalid-argument', ...).
// Counter values are WIT u64s: BigInts.
import { getEventfds } from 'wasi-eventfd:eventfd/preopens@0.1.0';
import { getArguments } from 'wasi:cli/environment@0.2.12';

/** The guest was started wrongly (a missing preopen, a bad argument). */
export class Usage extends Error {}

/** The shared eventfd the host preopened under `name`. */
export function preopen(name) {
  for (const [fd, fdName] of getEventfds()) {
    if (fdName === name) return fd;
  }
  throw new Usage(`no eventfd named \`${name}\`: run with --eventfd ${name}=...`);
}

/** The command-line arguments after the program name. */
export function args() {
  return getArguments().slice(1);
}

/** The error code of a failed eventfd call, or undefined for other errors. */
export function errorCode(e) {
  return e instanceof Error ? undefined : e?.payload;
}

/**
 * The `wasi:cli/run` export running `body`: a usage error or an eventfd
 * error is printed to stderr and fails the run.
 */
export function command(who, body) {
  return {
    run() {
      try {
        body();
      } catch (e) {
        const code = errorCode(e);
        console.error(`${who}: ${code !== undefined ? `eventfd error ${code}` : e.message ?? e}`);
        throw e; // `run` returns its error case
      }
    },
  };
}
