/*
 * How eventfd errors look from C: each failing call (eventfd's own, or
 * plain read, write, fcntl and close on an eventfd) returns -1 and sets
 * errno to libc's own constant (EAGAIN, EINVAL, EBADF, ...). Prints one line
 * per check and exits non-zero at the first surprise.
 *   wasi-eventfd run errors.wasm
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "wasi-eventfd.h"

static int failures = 0;

static void expect(const char *what, int result, int expected_errno) {
    int got = result < 0 ? errno : 0;
    if (got == expected_errno) {
        printf("ok %s: %s\n", what, got ? strerror(got) : "success");
    } else {
        printf("FAIL %s: errno %d (%s), expected %d (%s)\n", what, got, strerror(got),
               expected_errno, strerror(expected_errno));
        failures++;
    }
}

int main(void) {
    expect("unknown flag bit", eventfd(0, 0x2), EINVAL);
    int fd = eventfd(0, EFD_NONBLOCK | EFD_SEMAPHORE);
    expect("eventfd(0, EFD_NONBLOCK | EFD_SEMAPHORE)", fd, 0);
    eventfd_t value;
    expect("read of 0 on a non-blocking eventfd", eventfd_read(fd, &value), EAGAIN);
    char small[4];
    expect("read into 4 bytes", (int)read(fd, small, sizeof small), EINVAL);
    expect("write of 4 bytes", (int)write(fd, small, sizeof small), EINVAL);
    expect("write of 0xffffffffffffffff", eventfd_write(fd, UINT64_MAX), EINVAL);
    expect("write of 0xfffffffffffffffe", eventfd_write(fd, UINT64_MAX - 1), 0);
    expect("write past the maximum", eventfd_write(fd, 1), EAGAIN);
    expect("read in semaphore mode", eventfd_read(fd, &value), 0);
    if (value != 1) {
        printf("FAIL semaphore read gave %llu\n", (unsigned long long)value);
        failures++;
    }
    expect("read of a closed fd", (close(fd), eventfd_read(fd, &value)), EBADF);
    int other = eventfd(0, 0);
    expect("fcntl with an unknown command", fcntl(other, 99), EINVAL);
    expect("F_SETFL O_NONBLOCK", fcntl(other, F_SETFL, O_NONBLOCK), 0);
    expect("read after F_SETFL O_NONBLOCK", eventfd_read(other, &value), EAGAIN);
    expect("preopen of an unknown name", eventfd_preopen("no-such-eventfd"), ENOENT);
    return failures ? 1 : 0;
}
