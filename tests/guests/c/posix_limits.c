/*
 * The one fd table's bounds, with plain POSIX calls:
 *
 *   posix_limits.wasm emfile      (run with --max-descriptors 8 and a --dir):
 *       fills the numbers below 8 with eventfds, files and dups, then shows
 *       that every way to get a new number fails with EMFILE, and that a
 *       freed number can be taken again by any kind.
 *   posix_limits.wasm churn N     (with a --dir): opens and closes a file,
 *       and creates and closes an eventfd, N times each; prints the last
 *       numbers (the same every time: nothing leaks a number).
 *   holder.wasm / prober.wasm     (the same file under those names, as
 *       --with guests of one run): the holder opens readable eventfds and
 *       waits; the prober finds none of the holder's numbers in its own
 *       table.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wasi-eventfd.h"

static const char *errno_name(int e) {
    return e == EMFILE ? "EMFILE" : e == EBADF ? "EBADF" : e == 0 ? "0" : "E?";
}

#define SHOW(label, expr)                                                      \
    do {                                                                       \
        errno = 0;                                                             \
        long r_ = (long)(expr);                                                \
        printf("%s = %ld%s%s\n", label, r_, r_ < 0 ? " " : "",                 \
               r_ < 0 ? errno_name(errno) : "");                               \
    } while (0)

static void pause_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

static int emfile(void) {
    /* 0-2 stdio, 3 the directory: 4 to 7 are left. */
    SHOW("eventfd", eventfd(0, 0));
    SHOW("openat", openat(3, "f", O_RDWR | O_CREAT, 0644));
    SHOW("dup(eventfd)", dup(4));
    SHOW("dup(file)", dup(5));
    SHOW("eventfd past the limit", eventfd(0, 0));
    SHOW("openat past the limit", openat(3, "g", O_RDWR | O_CREAT, 0644));
    SHOW("dup past the limit", dup(4));
    SHOW("dup2 onto the limit", dup2(4, 8));
    SHOW("eventfd_preopen past the limit", eventfd_preopen("e"));
    SHOW("close(5)", close(5));
    SHOW("eventfd takes 5", eventfd(0, 0));
    SHOW("close(6)", close(6));
    SHOW("openat takes 6", openat(3, "g", O_RDWR | O_CREAT, 0644));
    SHOW("dup2(6, 7) replaces a file with a file", dup2(6, 7));
    return 0;
}

static int churn(long n) {
    int last_file = -1, last_eventfd = -1;
    for (long i = 0; i < n; i++) {
        last_file = openat(3, "churn", O_RDWR | O_CREAT, 0644);
        if (last_file < 0 || close(last_file) < 0) {
            printf("open/close %ld: %s\n", i, strerror(errno));
            return 1;
        }
        last_eventfd = eventfd(0, 0);
        if (last_eventfd < 0 || close(last_eventfd) < 0) {
            printf("eventfd/close %ld: %s\n", i, strerror(errno));
            return 1;
        }
    }
    printf("churn: %ld times, last file fd %d, last eventfd %d\n", n, last_file, last_eventfd);
    return 0;
}

int main(int argc, char **argv) {
    const char *name = strrchr(argv[0], '/');
    name = name ? name + 1 : argv[0];
    if (strncmp(name, "holder", 6) == 0) {
        /* Readable at once: a prober that reached them would read 1. */
        for (int i = 0; i < 5; i++)
            if (eventfd(1, EFD_NONBLOCK) < 0)
                return 1;
        pause_ms(300);
        return 0;
    }
    if (strncmp(name, "prober", 6) == 0) {
        pause_ms(100);
        int found = 0;
        for (int fd = 3; fd < 16; fd++) {
            eventfd_t v;
            if (eventfd_read(fd, &v) == 0 || errno != EBADF)
                found++;
        }
        printf("prober: %d of the holder's fds reachable\n", found);
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "emfile") == 0)
        return emfile();
    if (argc > 2 && strcmp(argv[1], "churn") == 0)
        return churn(strtol(argv[2], NULL, 10));
    fprintf(stderr, "usage: posix_limits emfile | churn N\n");
    return 2;
}
