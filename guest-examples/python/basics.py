"""The eventfd operations one at a time, each checked against Linux's
answer: create, write, read in counter and semaphore mode, errors as
exceptions, dup, and readable/writable pollables.

    wasi-eventfd run basics.wasm
"""

from typing import Callable

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports.types import CreateFlags, ErrorCode, Eventfd

from eventfds import Usage, command

WHO = "basics (Python)"


class Checks:
    def __init__(self) -> None:
        self.passed = 0

    def equal(self, what: str, got: object, expected: object) -> None:
        if got != expected:
            raise Usage(f"{what}: got {got!r}, expected {expected!r}")
        print(f"{WHO}: {what}: {got}")
        self.passed += 1

    def fails(self, what: str, call: Callable[[], object], expected: ErrorCode) -> None:
        try:
            got = call()
        except Err as e:
            self.equal(what, e.value, expected)
            return
        raise Usage(f"{what}: returned {got!r}, expected the error {expected.name}")


class Run(exports.Run):
    def run(self) -> None:
        with command(WHO):
            check = Checks()
            fd = Eventfd.create(0, CreateFlags.NONBLOCK)
            check.fails("read of 0, non-blocking", fd.read, ErrorCode.WOULD_BLOCK)
            fd.write(3)
            fd.write(4)
            check.equal("counter read after writing 3 and 4", fd.read(), 7)
            check.fails("write of 2**64 - 1", lambda: fd.write(2**64 - 1), ErrorCode.INVALID_ARGUMENT)
            fd.write(2**64 - 2)
            check.fails("write past the maximum", lambda: fd.write(1), ErrorCode.WOULD_BLOCK)
            check.equal("read at the maximum", fd.read(), 2**64 - 2)

            sem = Eventfd.create(2, CreateFlags.SEMAPHORE | CreateFlags.NONBLOCK)
            check.equal("semaphore reads of a count of 2", [sem.read(), sem.read()], [1, 1])
            check.fails("third semaphore read", sem.read, ErrorCode.WOULD_BLOCK)

            with fd.dup() as copy:
                copy.write(5)
                check.equal("read through the original after writing 5 through a dup", fd.read(), 5)
                check.equal("a dup shares the description", copy.info().id, fd.info().id)

            # Pollables go (end of `with`) before their eventfd.
            with fd.subscribe_readable() as readable, fd.subscribe_writable() as writable:
                check.equal("readable, writable at count 0", (readable.ready(), writable.ready()), (False, True))
                fd.write(1)
                check.equal("readable, writable at count 1", (readable.ready(), writable.ready()), (True, True))
            print(f"{WHO}: all {check.passed} checks passed")
