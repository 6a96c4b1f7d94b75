"""The producer of the worker pool: posts JOBS jobs (default 1000) on the
semaphore eventfd `jobs`, waits until `done` has counted them all, checks
that no job was reported twice, then tells the workers to `quit`. Workers:
the Python, JavaScript or Rust `worker`, the C `consumer`.

    wasi-eventfd run --eventfd jobs=0,semaphore,nonblock --eventfd done=0 --eventfd quit=0 \\
        --with worker.wasm --with worker.wasm producer.wasm [JOBS]
"""

import sys
import time

from wit_world import exports

from eventfds import Usage, command, preopen


class Run(exports.Run):
    def run(self) -> None:
        with command("producer (Python)"):
            args = sys.argv[1:]
            if len(args) > 1 or (args and not args[0].isdigit()):
                raise Usage(f"usage: producer [JOBS]   (got {' '.join(args)})")
            total = int(args[0]) if args else 1000
            jobs, done, quit = preopen("jobs"), preopen("done"), preopen("quit")
            if not jobs.info().semaphore:
                raise Usage("`jobs` must be a semaphore eventfd: --eventfd jobs=0,semaphore,nonblock")
            start = time.monotonic()
            jobs.write(total)  # one write posts every job; the semaphore hands them out
            finished = 0
            while finished < total:
                finished += done.read()  # blocks until a worker reports; takes every report
            quit.write(1)
            elapsed = (time.monotonic() - start) * 1e3
            if finished != total:
                raise Usage(f"{finished} jobs reported done, but {total} were posted")
            print(f"producer (Python): {total} jobs posted and done in {elapsed:.1f} ms")
