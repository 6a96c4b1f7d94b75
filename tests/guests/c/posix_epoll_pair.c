/*
 * Guests sharing the eventfd named `e`, waiting in epoll_wait: run as
 *   wasi-eventfd run --eventfd e=0 --with DIR/waker.wasm DIR/waiter.wasm
 * (the same file under several names: the role is the file's base name).
 *
 * The waiter blocks in epoll_wait without a timeout, then in an
 * epoll_wait on an epoll fd that holds the first one (nested); the waker
 * lets it block each time (a sleep: 30 ms, then 150 ms, well after the
 * waiter's 20 ms wait with a timeout) before writing 1, then 2. The
 * waiter prints what it got, and that a wait with a timeout on nothing
 * ready returned 0. On the runner's single thread this only ends if a
 * blocked guest parks instead of holding the thread.
 *
 * Two guests named `stuck*` each wait without a timeout on `e`, which
 * nobody writes: a deadlock the runner reports (exit 3).
 *
 * LTP epoll_wait16 (EPOLLEXCLUSIVE wakes one waiter per event): guests
 * named `herd*` each add `e` to an epoll of their own with
 * EPOLLIN | EPOLLET | EPOLLEXCLUSIVE and wait, then write 1 to `done` and
 * end; the guest named `shepherd` writes `e` once per herd guest and
 * checks that each write woke exactly one (`done` reads 1, and nothing
 * more comes within 30 ms). Run with --eventfd e=0 --eventfd done=0,semaphore.
 *
 * Stdin beside an eventfd: the guest named `reader` (the main guest, with
 * stdin) waits in epoll_wait on stdin and `e`, printing what woke it,
 * until it has seen both (the end of stdin counts); the guest named
 * `poker` writes 1 to `e` after 100 ms. Whoever feeds stdin decides the
 * order. The guest named `pollstdin` polls an epoll fd watching stdin:
 * readable once stdin has data.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "wasi-eventfd.h"

static void pause_ms(long ms) {
    struct timespec t = {0, ms * 1000000L};
    nanosleep(&t, NULL);
}

static int waker(int e) {
    for (eventfd_t v = 1; v <= 2; v++) {
        pause_ms(v == 1 ? 30 : 150);
        if (eventfd_write(e, v) < 0) {
            perror("waker: write");
            return 1;
        }
    }
    return 0;
}

static int waiter(int e) {
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 77};
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, e, &ev) < 0) {
        perror("waiter: epoll");
        return 1;
    }
    struct epoll_event got[4];
    int n = epoll_wait(ep, got, 4, -1);
    eventfd_t v = 0;
    int r = eventfd_read(e, &v);
    printf("epoll_wait = %d, data = %llu, IN = %d, read = %d, value = %llu\n", n,
           (unsigned long long)got[0].data.u64, (got[0].events & EPOLLIN) != 0, r,
           (unsigned long long)v);
    n = epoll_wait(ep, got, 4, 20);
    printf("epoll_wait with a timeout, nothing ready = %d\n", n);
    int outer = epoll_create1(0);
    struct epoll_event nest = {.events = EPOLLIN, .data.u64 = 88};
    if (outer < 0 || epoll_ctl(outer, EPOLL_CTL_ADD, ep, &nest) < 0) {
        perror("waiter: nested epoll");
        return 1;
    }
    n = epoll_wait(outer, got, 4, -1);
    r = eventfd_read(e, &v);
    printf("nested epoll_wait = %d, data = %llu, read = %d, value = %llu\n", n,
           (unsigned long long)got[0].data.u64, r, (unsigned long long)v);
    return 0;
}

static int stuck(int e) {
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 1};
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, e, &ev) < 0) {
        perror("stuck: epoll");
        return 1;
    }
    struct epoll_event got[1];
    int n = epoll_wait(ep, got, 1, -1);
    printf("stuck woke: %d\n", n);
    return 0;
}

static int herd(int e) {
    int done = eventfd_preopen("done");
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET | EPOLLEXCLUSIVE};
    if (done < 0 || ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, e, &ev) < 0) {
        perror("herd: epoll");
        return 1;
    }
    struct epoll_event got;
    if (epoll_wait(ep, &got, 1, -1) != 1 || eventfd_write(done, 1) < 0) {
        perror("herd: wait");
        return 1;
    }
    return 0;
}

static int shepherd(int e, int herd_size) {
    int done = eventfd_preopen("done");
    if (done < 0) {
        perror("shepherd: done");
        return 1;
    }
    /* Let every herd guest reach its epoll_wait (one that had not would
     * find the event queued, and count as a second waiter woken). */
    pause_ms(300);
    for (int round = 1; round <= herd_size; round++) {
        eventfd_t v = 0;
        if (eventfd_write(e, 1) < 0 || eventfd_read(done, &v) < 0) {
            perror("shepherd: round");
            return 1;
        }
        pause_ms(30);
        struct pollfd p = {done, POLLIN, 0};
        int more = poll(&p, 1, 0);
        printf("event %d woke %s\n", round, more == 0 ? "one waiter" : "more than one");
    }
    return 0;
}

static int reader(int e) {
    int ep = epoll_create1(0);
    struct epoll_event in = {.events = EPOLLIN, .data.u64 = 0};
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 1};
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, 0, &in) < 0 ||
        epoll_ctl(ep, EPOLL_CTL_ADD, e, &ev) < 0) {
        perror("reader: epoll");
        return 1;
    }
    int seen_stdin = 0, seen_eventfd = 0;
    while (!seen_stdin || !seen_eventfd) {
        struct epoll_event got[2];
        int n = epoll_wait(ep, got, 2, -1);
        if (n <= 0) {
            perror("reader: epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            if (got[i].data.u64 == 0) {
                char line[64];
                ssize_t len = read(0, line, sizeof line - 1);
                if (len <= 0) {
                    /* At its end stdin stays readable: stop watching it. */
                    printf("stdin: end\n");
                    fflush(stdout);
                    epoll_ctl(ep, EPOLL_CTL_DEL, 0, NULL);
                    seen_stdin = 1;
                    continue;
                }
                line[len] = 0;
                printf("stdin: %s", line);
                fflush(stdout);
                seen_stdin = 1;
            } else {
                eventfd_t v = 0;
                eventfd_read(e, &v);
                printf("eventfd: %llu\n", (unsigned long long)v);
                fflush(stdout);
                seen_eventfd = 1;
            }
        }
    }
    return 0;
}

static int pollstdin(void) {
    int ep = epoll_create1(0);
    struct epoll_event in = {.events = EPOLLIN, .data.u64 = 0};
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, 0, &in) < 0) {
        perror("pollstdin: epoll");
        return 1;
    }
    struct pollfd p = {ep, POLLIN, 0};
    int n = poll(&p, 1, -1);
    printf("poll(epoll fd) = %d, IN = %d\n", n, (p.revents & POLLIN) != 0);
    struct epoll_event got;
    n = epoll_wait(ep, &got, 1, 0);
    printf("epoll_wait = %d, data = %llu\n", n, (unsigned long long)got.data.u64);
    return 0;
}

int main(int argc, char **argv) {
    (void)argc;
    if (strstr(argv[0], "pollstdin"))
        return pollstdin();
    int e = eventfd_preopen("e");
    if (e < 0) {
        printf("eventfd_preopen(e): %s\n", strerror(errno));
        return 2;
    }
    if (strstr(argv[0], "waker"))
        return waker(e);
    if (strstr(argv[0], "stuck"))
        return stuck(e);
    if (strstr(argv[0], "reader"))
        return reader(e);
    if (strstr(argv[0], "poker")) {
        pause_ms(100);
        return eventfd_write(e, 1) < 0;
    }
    if (strstr(argv[0], "shepherd"))
        return shepherd(e, 4);
    if (strstr(argv[0], "herd"))
        return herd(e);
    return waiter(e);
}
