/*
 * TCP echo server: one epoll over the listening socket the host granted
 * (`-S tcplisten=ADDR`: fd 3), the connections it accepts, and the eventfd
 * `stop`, which another guest writes to ask it to stop. Whichever is ready
 * first wakes the one epoll_wait; nothing spins. Each connection's bytes
 * come back as they were sent; a connection that closes is counted on the
 * eventfd `closed` when one is granted (the `stopper` guest waits on it).
 *
 *   wasi-eventfd run -S tcplisten=127.0.0.1:7007 --eventfd stop=0 \
 *       --eventfd closed=0 --env STOP_AFTER=3 --with stopper.wasm echo-server.wasm
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wasi-eventfd.h"

/* The first preopened listener: right after stdin, stdout and stderr. */
#define LISTENER 3
#define MAX_EVENTS 16

/* Writes all of buf to a non-blocking connection, waiting for room. */
static int write_all(int fd, const char *buf, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EAGAIN) {
            struct pollfd room = {fd, POLLOUT, 0};
            if (poll(&room, 1, -1) < 0)
                return -1;
            continue;
        }
        if (n < 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

int main(void) {
    struct stat st;
    if (fstat(LISTENER, &st) < 0 || !S_ISSOCK(st.st_mode)) {
        fprintf(stderr, "fd %d is no socket: run with -S tcplisten=ADDR\n", LISTENER);
        return 2;
    }
    int stop = eventfd_preopen("stop");
    if (stop < 0) {
        fprintf(stderr, "no eventfd named `stop`: run with --eventfd stop=0\n");
        return 2;
    }
    int closed = eventfd_preopen("closed"); /* optional */
    if (fcntl(LISTENER, F_SETFL, O_NONBLOCK) < 0) {
        perror("fcntl");
        return 1;
    }
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = LISTENER};
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, LISTENER, &ev) < 0) {
        perror("epoll");
        return 1;
    }
    ev.data.fd = stop;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, stop, &ev) < 0) {
        perror("epoll_ctl stop");
        return 1;
    }
    printf("echo server: listening on fd %d\n", LISTENER);
    fflush(stdout);

    long accepted = 0, bytes = 0;
    for (;;) {
        struct epoll_event events[MAX_EVENTS];
        int n = epoll_wait(ep, events, MAX_EVENTS, -1);
        if (n < 0) {
            perror("epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            if (fd == stop) {
                eventfd_t value;
                eventfd_read(stop, &value);
                printf("echo server: stopped after %ld connections, %ld bytes\n", accepted,
                       bytes);
                return 0;
            }
            if (fd == LISTENER) {
                /* Every pending connection, until EAGAIN. */
                for (;;) {
                    struct sockaddr_storage addr;
                    socklen_t len = sizeof addr;
                    int conn = accept4(LISTENER, (struct sockaddr *)&addr, &len, SOCK_NONBLOCK);
                    if (conn < 0) {
                        if (errno != EAGAIN)
                            perror("accept4");
                        break;
                    }
                    struct epoll_event cev = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = conn};
                    if (epoll_ctl(ep, EPOLL_CTL_ADD, conn, &cev) < 0) {
                        perror("epoll_ctl conn");
                        close(conn);
                        continue;
                    }
                    accepted++;
                }
                continue;
            }
            /* A connection: echo what is there; close it at EOF or on error. */
            char buf[4096];
            int done = 0;
            for (;;) {
                ssize_t got = read(fd, buf, sizeof buf);
                if (got > 0) {
                    bytes += got;
                    if (write_all(fd, buf, (size_t)got) < 0) {
                        done = 1;
                        break;
                    }
                    continue;
                }
                if (got < 0 && errno == EAGAIN)
                    break;
                done = 1; /* EOF, or a reset */
                break;
            }
            if (done) {
                close(fd);
                if (closed >= 0)
                    eventfd_write(closed, 1);
            }
        }
    }
}
