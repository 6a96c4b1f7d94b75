/*
 * Two guests sharing the eventfd named `e`, with plain POSIX calls: run as
 *   wasi-eventfd run --eventfd e=0 --with DIR/waker.wasm DIR/waiter.wasm
 * (the same file under two names: the role is the file's base name).
 *
 * The waiter blocks in poll(), then in read(), then in select(); the waker
 * lets it block each time (a short sleep) before writing 1, 2 and 3. On
 * the runner's single thread this only ends if a blocked guest parks
 * instead of holding the thread. The waiter prints what it got.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include "wasi-eventfd.h"

static void pause_ms(long ms) {
    struct timespec t = {0, ms * 1000000L};
    nanosleep(&t, NULL);
}

static int waker(int e) {
    for (eventfd_t v = 1; v <= 3; v++) {
        pause_ms(30);
        if (eventfd_write(e, v) < 0) {
            perror("waker: write");
            return 1;
        }
    }
    return 0;
}

static int waiter(int e) {
    struct pollfd p = {e, POLLIN, 0};
    int ready = poll(&p, 1, -1);
    eventfd_t v = 0;
    int got = eventfd_read(e, &v);
    printf("poll = %d, revents IN = %d, read = %d, value = %llu\n", ready,
           (p.revents & POLLIN) != 0, got, (unsigned long long)v);
    got = eventfd_read(e, &v);
    printf("blocking read = %d, value = %llu\n", got, (unsigned long long)v);
    fd_set readable;
    FD_ZERO(&readable);
    FD_SET(e, &readable);
    ready = select(e + 1, &readable, NULL, NULL, NULL);
    got = eventfd_read(e, &v);
    printf("select = %d, read = %d, value = %llu\n", ready, got, (unsigned long long)v);
    return 0;
}

int main(int argc, char **argv) {
    (void)argc;
    int e = eventfd_preopen("e");
    if (e < 0) {
        printf("eventfd_preopen(e): %s\n", strerror(errno));
        return 2;
    }
    return strstr(argv[0], "waker") ? waker(e) : waiter(e);
}
