/*
 * epoll over eventfds and epoll fds, beside a regular file and a
 * directory, printed one result a line with errno and event bits by name:
 * built natively and run on Linux, and built for wasm32-wasi with the
 * project's C library and run by wasi-eventfd, it must print the same
 * (tests/integration/posix_c.rs compares the two).
 *
 *   native: posix_epoll DIR      (DIR is opened first: fd 3, as the guest's
 *                                 preopened directory is)
 *   guest:  wasi-eventfd run --dir DIR posix_epoll.wasm
 *
 * Cases ported from Miri (tests/pass-dep/libc/libc-epoll-no-blocking.rs)
 * and LTP (testcases/kernel/syscalls/epoll_*) name their origin; sockets
 * are replaced by eventfds where the case is about epoll itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef __wasi__
#include "wasi-eventfd.h"
#endif

#include "show.h"

static void bits(char *out, size_t size, uint32_t events) {
    static const struct {
        uint32_t bit;
        const char *name;
    } names[] = {{EPOLLIN, "IN"},         {EPOLLPRI, "PRI"},     {EPOLLOUT, "OUT"},
                 {EPOLLERR, "ERR"},       {EPOLLHUP, "HUP"},     {EPOLLRDNORM, "RDNORM"},
                 {EPOLLRDBAND, "RDBAND"}, {EPOLLWRNORM, "WRNORM"}, {EPOLLRDHUP, "RDHUP"}};
    out[0] = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (events & names[i].bit) {
            strncat(out, " ", size - strlen(out) - 1);
            strncat(out, names[i].name, size - strlen(out) - 1);
        }
    }
    if (events & ~(uint32_t)(EPOLLIN | EPOLLPRI | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLRDNORM |
                             EPOLLRDBAND | EPOLLWRNORM | EPOLLRDHUP))
        strncat(out, " other", size - strlen(out) - 1);
}

/* `label: n events: [bits data] ...` of a wait that does not block. */
static void wait_show(const char *label, int ep, int max) {
    struct epoll_event events[16];
    memset(events, 0, sizeof events);
    errno = 0;
    int n = epoll_wait(ep, events, max, 0);
    if (n < 0) {
        printf("%s = -1 %s\n", label, errno_name(errno));
        return;
    }
    printf("%s = %d:", label, n);
    for (int i = 0; i < n && i < 16; i++) {
        char b[96];
        bits(b, sizeof b, events[i].events);
        printf(" [%s %llu]", b + 1, (unsigned long long)events[i].data.u64);
    }
    printf("\n");
}

static int add(int ep, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.u64 = data;
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static int mod(int ep, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.u64 = data;
    return epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}

static void put(int fd, uint64_t v) {
    if (write(fd, &v, 8) != 8)
        printf("write failed: %s\n", errno_name(errno));
}

static void take(int fd) {
    uint64_t v;
    if (read(fd, &v, 8) != 8)
        printf("read failed: %s\n", errno_name(errno));
}

static long elapsed_ms(const struct timespec *since) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - since->tv_sec) * 1000 + (now.tv_nsec - since->tv_nsec) / 1000000;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
#ifndef __wasi__
    for (int fd = 3; fd < 1024; fd++)
        close(fd);
    if (argc < 2 || open(argv[1], O_RDONLY | O_DIRECTORY) != 3) {
        fprintf(stderr, "usage: posix_epoll DIR (opened as fd 3)\n");
        return 2;
    }
#else
    (void)argc;
    (void)argv;
#endif
    const uint32_t IN_OUT_ET = EPOLLIN | EPOLLOUT | EPOLLET;

    /* LTP epoll_create1_01/02, epoll_create01/02: numbers and flags. */
    int ep = epoll_create1(0);
    SHOW("epoll_create1(0)", ep);
    SHOW("epoll_create1(1)", epoll_create1(1));
    SHOW("epoll_create1(-1)", epoll_create1(-1));
    SHOW("epoll_create(0)", epoll_create(0));
    SHOW("epoll_create(-1)", epoll_create(-1));
    int ep2 = epoll_create(1);
    SHOW("epoll_create(1)", ep2);
    int cloexec = epoll_create1(EPOLL_CLOEXEC);
    SHOW("epoll_create1(EPOLL_CLOEXEC)", cloexec);
    SHOW("close(cloexec epoll)", close(cloexec));

    /* An epoll fd beside other calls: an anonymous inode without read or
     * write. */
    uint64_t v = 1;
    char buf[16];
    SHOW("read(epoll)", read(ep, buf, 8));
    SHOW("write(epoll)", write(ep, &v, 8));
    SHOW("lseek(epoll, 5, SEEK_SET)", lseek(ep, 5, SEEK_SET));
    SHOW("pread(epoll)", pread(ep, buf, 8, 0));
    SHOW("fsync(epoll)", fsync(ep));
    SHOW("ftruncate(epoll)", ftruncate(ep, 0));
    struct stat st;
    SHOW("fstat(epoll)", fstat(ep, &st));
    /* (Preview 1 has no permission bits: the mode is left out.) */
    printf("fstat: type bits %o, size %lld, nlink %lld\n", (unsigned)(st.st_mode & S_IFMT),
           (long long)st.st_size, (long long)st.st_nlink);
    int fl = fcntl(ep, F_GETFL);
    printf("F_GETFL = %s%s\n", (fl & O_ACCMODE) == O_RDWR ? "RDWR" : "other",
           fl & O_NONBLOCK ? " NONBLOCK" : "");
    SHOW("F_SETFL(O_NONBLOCK)", fcntl(ep, F_SETFL, O_NONBLOCK));
    fl = fcntl(ep, F_GETFL);
    printf("F_GETFL = %s%s\n", (fl & O_ACCMODE) == O_RDWR ? "RDWR" : "other",
           fl & O_NONBLOCK ? " NONBLOCK" : "");
    SHOW("F_SETFL(0)", fcntl(ep, F_SETFL, 0));

    /* Miri test_epoll_eventfd: a readable eventfd, edge-triggered. */
    int e = eventfd(0, EFD_NONBLOCK);
    put(e, 1);
    SHOW("ADD eventfd IN|OUT|ET", add(ep, e, IN_OUT_ET, 111));
    wait_show("wait", ep, 8);
    wait_show("wait again (ET: nothing new)", ep, 8);
    put(e, 1);
    wait_show("wait after a write to a readable eventfd", ep, 8);
    take(e);
    /* Miri test_event_overwrite: a read is a new EPOLLOUT event. */
    wait_show("wait after a read", ep, 8);

    /* Errors: LTP epoll_ctl02, Miri test_epoll_ctl_epfd_equal_fd. */
    SHOW("ADD twice", add(ep, e, EPOLLIN, 0));
    SHOW("MOD of unregistered", mod(ep, ep2, EPOLLIN, 0));
    SHOW("DEL of unregistered", epoll_ctl(ep2, EPOLL_CTL_DEL, e, NULL));
    SHOW("ADD epfd to itself", add(ep, ep, EPOLLIN, 0));
    SHOW("ADD to a non-epoll epfd", add(e, ep, EPOLLIN, 0));
    SHOW("ADD of a bad fd", add(ep, 900, EPOLLIN, 0));
    SHOW("ADD to a bad epfd", add(900, e, EPOLLIN, 0));
    SHOW("ADD with fd -1", add(ep, -1, EPOLLIN, 0));
    SHOW("unknown op", epoll_ctl(ep, 99, e, &(struct epoll_event){EPOLLIN, {0}}));
    int f = openat(3, "data", O_RDWR | O_CREAT | O_TRUNC, 0644);
    SHOW("ADD of a regular file", add(ep, f, EPOLLIN, 0));
    SHOW("DEL of a regular file", epoll_ctl(ep, EPOLL_CTL_DEL, f, NULL));
    SHOW("ADD of a directory", add(ep, 3, EPOLLIN, 0));
    SHOW("ADD of a file to a non-epoll epfd", add(e, f, EPOLLIN, 0));
    SHOW("close(file)", close(f));
    /* EPOLLEXCLUSIVE: ADD only, with IN/OUT/ERR/HUP/ET, not on an epoll. */
    int x = eventfd(0, EFD_NONBLOCK);
    SHOW("ADD EXCLUSIVE|ONESHOT", add(ep, x, EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT, 0));
    SHOW("ADD EXCLUSIVE|RDNORM", add(ep, x, EPOLLIN | EPOLLEXCLUSIVE | EPOLLRDNORM, 0));
    SHOW("ADD EXCLUSIVE of an epoll", add(ep, ep2, EPOLLIN | EPOLLEXCLUSIVE, 0));
    SHOW("ADD EXCLUSIVE|ET", add(ep, x, EPOLLIN | EPOLLEXCLUSIVE | EPOLLET, 5));
    SHOW("MOD of an EXCLUSIVE entry", mod(ep, x, EPOLLIN, 0));
    SHOW("DEL of an EXCLUSIVE entry", epoll_ctl(ep, EPOLL_CTL_DEL, x, NULL));
    SHOW("close(x)", close(x));

    /* epoll_wait's errors: LTP epoll_wait03, Miri
     * test_epoll_wait_maxevent_zero. */
    struct epoll_event out[4];
    SHOW("wait maxevents 0", epoll_wait(ep, out, 0, 0));
    volatile int minus_one = -1;
    SHOW("wait maxevents -1", epoll_wait(ep, out, minus_one, 0));
    SHOW("wait on a bad epfd", epoll_wait(900, out, 4, 0));
    SHOW("wait on an eventfd", epoll_wait(e, out, 4, 0));
    SHOW("pwait (mask ignored)", epoll_pwait(ep2, out, 4, 0, NULL));

    /* Level-triggered: reported while ready (LTP epoll_wait01). */
    int lt = eventfd(0, EFD_NONBLOCK);
    SHOW("ADD LT IN", add(ep2, lt, EPOLLIN, 7));
    wait_show("LT wait, empty", ep2, 4);
    put(lt, 2);
    wait_show("LT wait", ep2, 4);
    wait_show("LT wait again", ep2, 4);
    take(lt);
    wait_show("LT wait after read", ep2, 4);
    /* Miri test_epoll_ctl_mod: MOD to another event reports it. */
    SHOW("MOD to OUT", mod(ep2, lt, EPOLLOUT, 8));
    wait_show("after MOD", ep2, 4);
    /* EPOLLOUT stops at a count of 0xfffffffffffffffe. */
    put(lt, 0xfffffffffffffffeULL);
    wait_show("OUT at the maximum count", ep2, 4);
    take(lt);
    /* Miri test_epoll_ctl_del. */
    SHOW("DEL", epoll_ctl(ep2, EPOLL_CTL_DEL, lt, NULL));
    wait_show("after DEL", ep2, 4);

    /* ONESHOT: once, then disarmed until MOD. */
    put(lt, 1);
    SHOW("ADD IN|ONESHOT", add(ep2, lt, EPOLLIN | EPOLLONESHOT, 9));
    wait_show("ONESHOT wait", ep2, 4);
    put(lt, 1);
    wait_show("ONESHOT disarmed", ep2, 4);
    SHOW("MOD re-arms", mod(ep2, lt, EPOLLIN | EPOLLONESHOT, 10));
    wait_show("re-armed wait", ep2, 4);
    SHOW("DEL", epoll_ctl(ep2, EPOLL_CTL_DEL, lt, NULL));
    take(lt);

    /* Miri test_no_notification_for_unregister_flag: only what was asked. */
    put(lt, 1);
    SHOW("ADD OUT only", add(ep2, lt, EPOLLOUT, 11));
    wait_show("readable but only OUT asked", ep2, 4);
    SHOW("DEL", epoll_ctl(ep2, EPOLL_CTL_DEL, lt, NULL));
    take(lt);

    /* Miri test_two_epoll_instance and test_epoll_ctl_notification. */
    int a = epoll_create1(0), b = epoll_create1(0);
    SHOW("ADD to a", add(a, lt, IN_OUT_ET, 12));
    wait_show("a", a, 4);
    SHOW("ADD to b", add(b, lt, IN_OUT_ET, 13));
    wait_show("b", b, 4);
    wait_show("a again (nothing happened)", a, 4);
    put(lt, 1);
    wait_show("a after a write", a, 4);
    wait_show("b after a write", b, 4);
    take(lt);
    close(a);
    close(b);

    /* Miri test_two_same_fd_in_same_epoll_instance: a dup is another
     * registration of the same description. */
    int d = dup(lt);
    SHOW("ADD fd", add(ep2, lt, IN_OUT_ET, 5));
    SHOW("ADD its dup", add(ep2, d, IN_OUT_ET, 5));
    put(lt, 1);
    wait_show("both", ep2, 8);
    take(lt);

    /* Miri test_not_fully_closed_fd: closing one fd of a description
     * another fd still names keeps the registration, with its data; DEL of
     * the closed number is EBADF; the last close removes it. */
    SHOW("close(fd)", close(lt));
    put(d, 1);
    wait_show("after closing one of two fds", ep2, 8);
    SHOW("DEL of the closed number", epoll_ctl(ep2, EPOLL_CTL_DEL, lt, NULL));
    SHOW("close(dup)", close(d));
    wait_show("after closing the last", ep2, 8);
    int again = eventfd(1, EFD_NONBLOCK);
    SHOW("a new eventfd takes the number", again);
    SHOW("ADD under the old number", add(ep2, again, EPOLLIN, 14));
    wait_show("the new registration", ep2, 8);
    SHOW("DEL", epoll_ctl(ep2, EPOLL_CTL_DEL, again, NULL));

    /* Miri test_closed_fd and test_ready_list_fetching_logic: a closed
     * file on the ready list is never reported. */
    int e0 = eventfd(0, EFD_NONBLOCK), e1 = eventfd(0, EFD_NONBLOCK);
    SHOW("ADD e0", add(ep2, e0, IN_OUT_ET, 20));
    SHOW("ADD e1", add(ep2, e1, IN_OUT_ET, 21));
    SHOW("close(e0)", close(e0));
    wait_show("only e1", ep2, 1);
    SHOW("close(e1)", close(e1));

    /* Miri test_epoll_lost_events: more ready than maxevents come out in
     * turn, level-triggered ones round and round. */
    int r[3];
    for (int i = 0; i < 3; i++) {
        r[i] = eventfd(1, EFD_NONBLOCK);
        add(ep2, r[i], EPOLLIN, 30 + i);
    }
    for (int i = 0; i < 4; i++)
        wait_show("maxevents 1", ep2, 1);
    wait_show("maxevents 2", ep2, 2);
    wait_show("maxevents 2", ep2, 2);
    for (int i = 0; i < 3; i++)
        close(r[i]);

    /* An epoll fd is pollable, and nests (LTP epoll_ctl04/05 for ELOOP). */
    int inner = epoll_create1(0), outer = epoll_create1(0);
    int n = eventfd(0, EFD_NONBLOCK);
    SHOW("ADD eventfd to inner", add(inner, n, EPOLLIN, 40));
    SHOW("ADD inner to outer", add(outer, inner, EPOLLIN | EPOLLOUT, 41));
    struct pollfd p = {inner, POLLIN | POLLOUT, 0};
    SHOW("poll(inner), nothing ready", poll(&p, 1, 0));
    printf("revents = %s%s\n", p.revents & POLLIN ? "IN" : "-", p.revents & POLLOUT ? " OUT" : "");
    wait_show("outer, nothing ready", outer, 4);
    put(n, 1);
    p.revents = 0;
    SHOW("poll(inner)", poll(&p, 1, 0));
    printf("revents = %s%s\n", p.revents & POLLIN ? "IN" : "-", p.revents & POLLOUT ? " OUT" : "");
    wait_show("outer", outer, 4);
    wait_show("inner", inner, 4);
    take(n);
    wait_show("outer after the read", outer, 4);
    SHOW("ADD outer to inner (a loop)", add(inner, outer, EPOLLIN, 0));
    int chain[7];
    for (int i = 0; i < 7; i++)
        chain[i] = epoll_create1(0);
    for (int i = 1; i < 7; i++) {
        char label[48];
        snprintf(label, sizeof label, "chain: ADD %d into %d", i - 1, i);
        SHOW(label, add(chain[i], chain[i - 1], EPOLLIN, 0));
    }
    for (int i = 0; i < 7; i++)
        close(chain[i]);

    /* Miri test_issue_3858: a dup of the epoll fd keeps the instance. */
    int ed = dup(inner);
    SHOW("close(inner), a dup left", close(inner));
    put(n, 1);
    wait_show("the dup", ed, 4);
    wait_show("outer still sees it", outer, 4);
    take(n);
    close(ed);
    close(outer);
    close(n);

    /* LTP epoll_ctl01: ADD, MOD, DEL seen by epoll_wait (two eventfds for
     * the pipe's ends: `rd` readable once written, `wr` always writable). */
    {
        int rd = eventfd(0, EFD_NONBLOCK), wr = eventfd(0, EFD_NONBLOCK);
        int ep1 = epoll_create(2);
        SHOW("epoll_ctl01: ADD rd IN", add(ep1, rd, EPOLLIN, 1));
        SHOW("epoll_ctl01: ADD wr IN", add(ep1, wr, EPOLLIN, 2));
        put(rd, 1);
        wait_show("epoll_ctl01: after ADD", ep1, 2);
        SHOW("epoll_ctl01: MOD wr OUT", mod(ep1, wr, EPOLLOUT, 2));
        wait_show("epoll_ctl01: after MOD", ep1, 2);
        SHOW("epoll_ctl01: DEL wr", epoll_ctl(ep1, EPOLL_CTL_DEL, wr, NULL));
        wait_show("epoll_ctl01: after DEL", ep1, 2);
        /* LTP epoll_ctl02's op -1 (its other cases are above). */
        SHOW("epoll_ctl02: op -1", epoll_ctl(ep1, -1, wr, &(struct epoll_event){EPOLLOUT, {0}}));
        /* LTP epoll_ctl03: every combination of IN, OUT, PRI, ERR, HUP, ET,
         * ONESHOT and RDHUP is accepted by MOD. */
        static const uint32_t kinds[8] = {EPOLLIN,  EPOLLOUT, EPOLLPRI,     EPOLLERR,
                                          EPOLLHUP, EPOLLET,  EPOLLONESHOT, EPOLLRDHUP};
        int refused = 0;
        for (unsigned i = 0; i < 256; i++) {
            uint32_t events = 0;
            for (int j = 0; j < 8; j++)
                if (i & (1u << j))
                    events |= kinds[j];
            if (mod(ep1, rd, events, 1) < 0)
                refused++;
        }
        printf("epoll_ctl03: combinations refused by MOD = %d\n", refused);
        close(ep1);
        close(rd);
        close(wr);
    }

    /* LTP epoll_ctl04 and epoll_wait09: an eventfd under a chain of five
     * epolls, each level reporting its inner one; a sixth level refused
     * (ELOOP on this machine's kernel, where epoll_ctl04 expects EINVAL).
     * LTP epoll_ctl05: closing the chain into a loop is ELOOP. */
    {
        int bottom = eventfd(0, EFD_NONBLOCK), level[6], prev = bottom;
        for (int i = 0; i < 5; i++) {
            level[i] = epoll_create(1);
            char label[48];
            snprintf(label, sizeof label, "epoll_ctl04: level %d", i + 1);
            SHOW(label, add(level[i], prev, EPOLLIN, 100 + i));
            prev = level[i];
        }
        level[5] = epoll_create(1);
        SHOW("epoll_ctl04: a sixth level", add(level[5], level[4], EPOLLIN, 105));
        put(bottom, 1);
        for (int i = 4; i >= 0; i--) {
            char label[48];
            snprintf(label, sizeof label, "epoll_wait09: level %d", i + 1);
            wait_show(label, level[i], 1);
        }
        take(bottom);
        SHOW("epoll_ctl05: DEL the eventfd from level 1",
             epoll_ctl(level[0], EPOLL_CTL_DEL, bottom, NULL));
        SHOW("epoll_ctl05: ADD level 5 to level 1", add(level[0], level[4], EPOLLIN, 0));
        for (int i = 0; i < 6; i++)
            close(level[i]);
        close(bottom);
    }

    /* LTP epoll_wait07: EPOLLONESHOT reports the first write only. */
    {
        int ch = eventfd(0, EFD_NONBLOCK), ep1 = epoll_create1(0);
        add(ep1, ch, EPOLLIN | EPOLLONESHOT, 7);
        put(ch, 1);
        wait_show("epoll_wait07: first write", ep1, 10);
        take(ch);
        wait_show("epoll_wait07: after the read", ep1, 10);
        put(ch, 1);
        wait_show("epoll_wait07: second write", ep1, 10);
        close(ep1);
        close(ch);
    }

    /* LTP epoll_wait13: 13 ready and 5 quiet, maxevents 3: each ready one
     * reported once (drained when reported), no quiet one ever. LTP
     * epoll_wait14: 13 kept ready, maxevents 3: over 4 rounds each is
     * reported exactly 4 times. */
    {
        int ep1 = epoll_create1(0), ready[13], quiet[5];
        for (int i = 0; i < 13; i++) {
            ready[i] = eventfd(0, EFD_NONBLOCK);
            add(ep1, ready[i], EPOLLIN, i);
        }
        for (int i = 0; i < 5; i++) {
            quiet[i] = eventfd(0, EFD_NONBLOCK);
            add(ep1, quiet[i], EPOLLIN, 13 + i);
        }
        for (int i = 0; i < 13; i++)
            put(ready[i], 1);
        int seen[13] = {0}, total = 0, calls = 0, bad = 0;
        struct epoll_event got[3];
        while (total < 13 && calls < 20) {
            int n = epoll_wait(ep1, got, 3, 0);
            calls++;
            int want = 13 - total < 3 ? 13 - total : 3;
            if (n != want)
                bad++;
            for (int i = 0; i < n; i++) {
                uint64_t idx = got[i].data.u64;
                if (idx >= 13 || seen[idx]++)
                    bad++;
                else
                    take(ready[idx]);
                total++;
            }
        }
        printf("epoll_wait13: %d reported in %d calls, %d wrong\n", total, calls, bad);
        for (int i = 0; i < 13; i++)
            put(ready[i], 1);
        int count[13] = {0};
        int collected = 0;
        bad = 0;
        while (collected < 4 * 13) {
            int n = epoll_wait(ep1, got, 3, 0);
            if (n != 3) {
                bad++;
                break;
            }
            for (int i = 0; i < n && collected < 4 * 13; i++) {
                uint64_t idx = got[i].data.u64;
                if (idx >= 13)
                    bad++;
                else
                    count[idx]++;
                collected++;
            }
        }
        for (int i = 0; i < 13; i++)
            if (count[i] != 4)
                bad++;
        printf("epoll_wait14: each of 13 reported 4 times = %d\n", bad == 0);
        for (int i = 0; i < 13; i++)
            close(ready[i]);
        for (int i = 0; i < 5; i++)
            close(quiet[i]);
        close(ep1);
    }

    /* LTP epoll_wait04: a timeout of 0 returns at once. */
    {
        int ep1 = epoll_create1(0), q = eventfd(0, EFD_NONBLOCK);
        add(ep1, q, EPOLLIN, 0);
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        SHOW("epoll_wait04: timeout 0", epoll_wait(ep1, out, 1, 0));
        printf("epoll_wait04: returned within 100 ms = %d\n", elapsed_ms(&t0) < 100);
        close(ep1);
        close(q);
    }

    /* Miri libc-epoll-blocking: test_epoll_block_without_notification and
     * test_notification_after_timeout (an eventfd for the socketpair). */
    int bw = eventfd(0, EFD_NONBLOCK);
    SHOW("ADD IN|OUT|ET", add(ep2, bw, IN_OUT_ET, 50));
    wait_show("clear the first notification", ep2, 1);
    SHOW("block 5 ms, nothing", epoll_wait(ep2, out, 1, 5));
    SHOW("block 10 ms, nothing", epoll_wait(ep2, out, 1, 10));
    put(bw, 1);
    memset(out, 0, sizeof out);
    SHOW("a write after the timeout, 10 ms", epoll_wait(ep2, out, 1, 10));
    printf("events IN|OUT = %d, data = %llu\n", out[0].events == (EPOLLIN | EPOLLOUT),
           (unsigned long long)out[0].data.u64);
    SHOW("close(bw)", close(bw));

    /* Timeouts: 0 returns at once, 30 ms waits about that long (LTP
     * epoll_wait02). */
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    SHOW("wait 30 ms on nothing ready", epoll_wait(ep2, out, 4, 30));
    long ms = elapsed_ms(&start);
    printf("waited at least 30 ms = %d, under 1 s = %d\n", ms >= 29, ms < 1000);

    SHOW("close(ep)", close(ep));
    SHOW("close(ep2)", close(ep2));
    SHOW("close(ep) again", close(ep));
    SHOW("close(e)", close(e));
    return 0;
}
