"""A worker of the worker pool: takes jobs one at a time from the semaphore
eventfd `jobs`, reports each on `done`, and, when there is nothing to take,
waits on `jobs` and `quit` at once with `wasi:io/poll`. Mixes with the Rust
`worker`, the C `consumer` and the JavaScript `worker`:

    wasi-eventfd run --eventfd jobs=0,semaphore,nonblock --eventfd done=0 --eventfd quit=0 \\
        --with worker.wasm --with worker.wasm dispatcher.wasm [JOBS]
"""

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import poll
from wit_world.imports.types import ErrorCode

from eventfds import Usage, command, preopen


def work(seed: int) -> int:
    """One job's work: something that takes a little CPU time."""
    h = seed
    for i in range(2_000):
        h = ((h ^ i) * 0x100_0000_01B3) & 0xFFFF_FFFF_FFFF_FFFF
    return h


class Run(exports.Run):
    def run(self) -> None:
        with command("worker (Python)"):
            jobs, done, quit = preopen("jobs"), preopen("done"), preopen("quit")
            if not jobs.info().nonblocking:
                raise Usage("`jobs` must be non-blocking: --eventfd jobs=0,semaphore,nonblock")
            taken = checksum = 0
            # Pollables are released (at the end of `with`) before their eventfds.
            with jobs.subscribe_readable() as job_ready, quit.subscribe_readable() as quit_ready:
                while True:
                    try:
                        jobs.read()  # semaphore: takes exactly one job
                    except Err as e:
                        # Another worker took the job we were woken for.
                        if e.value != ErrorCode.WOULD_BLOCK:
                            raise
                        if quit_ready.ready():
                            break
                        poll.poll([job_ready, quit_ready])
                        continue
                    checksum ^= work(taken)
                    taken += 1
                    done.write(1)
            print(f"worker (Python): took {taken} jobs (checksum {checksum:x})")
