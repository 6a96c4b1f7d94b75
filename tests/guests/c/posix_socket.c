/*
 * epoll over a TCP connection and a dup of it: EPOLLOUT as the send
 * buffer fills and drains, EPOLLIN when the peer sends, the registration
 * kept by the dup when the first fd closes and gone with the last, printed
 * one result a line with errno and event bits by name. Built natively and
 * run on Linux, and built for wasm32-wasi with the project's C library and
 * run by wasi-eventfd, it must print the same
 * (tests/integration/sockets.rs compares the two, playing the client).
 *
 *   native: posix_socket PORT    (listens on 127.0.0.1:PORT itself, as fd 3)
 *   guest:  wasi-eventfd run -S tcplisten=127.0.0.1:PORT posix_socket.wasm
 *
 * The client: connects after `ready`, reads `go\n`, sends `ping`, waits
 * 300 ms (the server fills its send buffer meanwhile), then reads until
 * the connection closes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#ifdef __wasi__
#include "wasi-eventfd.h"
#else
#include <netinet/in.h>
#endif

#include "show.h"

#define LISTENER 3

/* The events of one epoll_wait (at most 4), as `n: DATA=BITS ...`. */
static void wait_and_show(const char *label, int ep, int timeout_ms) {
    struct epoll_event events[4];
    errno = 0;
    int n = epoll_wait(ep, events, 4, timeout_ms);
    if (n < 0) {
        printf("%s = %d %s\n", label, n, errno_name(errno));
        return;
    }
    printf("%s = %d", label, n);
    static const struct {
        uint32_t bit;
        const char *name;
    } names[] = {{EPOLLIN, "IN"},   {EPOLLPRI, "PRI"}, {EPOLLOUT, "OUT"},
                 {EPOLLERR, "ERR"}, {EPOLLHUP, "HUP"}, {EPOLLRDHUP, "RDHUP"}};
    for (int i = 0; i < n; i++) {
        printf(" %llu=", (unsigned long long)events[i].data.u64);
        const char *sep = "";
        for (size_t b = 0; b < sizeof names / sizeof names[0]; b++) {
            if (events[i].events & names[b].bit) {
                printf("%s%s", sep, names[b].name);
                sep = "|";
            }
        }
    }
    printf("\n");
}

int main(int argc, char **argv) {
#ifndef __wasi__
    if (argc != 2)
        return 2;
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_port = htons((uint16_t)atoi(argv[1])),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (listener != LISTENER || bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0 ||
        listen(listener, 8) < 0) {
        perror("listen");
        return 2;
    }
#else
    (void)argc;
    (void)argv;
#endif
    setvbuf(stdout, NULL, _IOLBF, 0);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 1};
    SHOW("add listener", epoll_ctl(ep, EPOLL_CTL_ADD, LISTENER, &ev));
    wait_and_show("nothing pending", ep, 0);
    printf("ready\n");
    wait_and_show("a connection pending", ep, 10000);

    int conn = accept(LISTENER, NULL, NULL);
    SHOW("accept", conn);
    int copy = dup(conn);
    SHOW("dup", copy);
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.u64 = 2;
    SHOW("add the dup", epoll_ctl(ep, EPOLL_CTL_ADD, copy, &ev));
    SHOW("add the first fd too", epoll_ctl(ep, EPOLL_CTL_ADD, conn, &ev));
    SHOW("remove it", epoll_ctl(ep, EPOLL_CTL_DEL, conn, &ev));
    wait_and_show("writable", ep, 0);
    SHOW("close the first fd", close(conn));
    wait_and_show("still registered through the dup", ep, 0);

    /* Level-triggered EPOLLOUT is always there now: wait for EPOLLIN alone. */
    ev.events = EPOLLIN;
    SHOW("readable only", epoll_ctl(ep, EPOLL_CTL_MOD, copy, &ev));
    SHOW("write go", write(copy, "go\n", 3));
    wait_and_show("the client's ping", ep, 10000);
    ev.events = EPOLLIN | EPOLLOUT;
    SHOW("both again", epoll_ctl(ep, EPOLL_CTL_MOD, copy, &ev));
    wait_and_show("readable and writable", ep, 0);
    char buf[16] = {0};
    SHOW("read", read(copy, buf, sizeof buf));
    printf("read %s\n", buf);

    /* Fill the send buffer while the client sleeps. */
    SHOW("nonblocking", fcntl(copy, F_SETFL, O_NONBLOCK));
    static char chunk[65536];
    memset(chunk, 'x', sizeof chunk);
    long written = 0;
    for (;;) {
        ssize_t n = write(copy, chunk, sizeof chunk);
        if (n < 0) {
            printf("filled: %s\n", errno_name(errno));
            break;
        }
        written += n;
    }
    printf("wrote something: %s\n", written > 0 ? "yes" : "no");
    wait_and_show("full: not writable", ep, 0);
    /* The client drains after its sleep: room again. */
    wait_and_show("drained", ep, 10000);

    ev.events = EPOLLOUT | EPOLLET;
    SHOW("edge-triggered", epoll_ctl(ep, EPOLL_CTL_MOD, copy, &ev));
    wait_and_show("edge once", ep, 0);
    wait_and_show("edge not again", ep, 0);

    SHOW("close the dup", close(copy));
    wait_and_show("gone with the last fd", ep, 0);
    SHOW("close epoll", close(ep));
    return 0;
}
