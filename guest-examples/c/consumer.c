/*
 * Semaphore consumer: takes jobs from the non-blocking semaphore eventfd
 * `jobs` one at a time, reports each on `done`, and waits with poll() on
 * `jobs` and `quit` together when there is nothing to take.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>

#include "wasi-eventfd.h"

static int preopen_or_exit(const char *name) {
    int fd = eventfd_preopen(name);
    if (fd < 0) {
        fprintf(stderr, "no eventfd named `%s`\n", name);
        exit(2);
    }
    return fd;
}

int main(void) {
    int jobs = preopen_or_exit("jobs");
    int done = preopen_or_exit("done");
    int quit = preopen_or_exit("quit");
    if (!(fcntl(jobs, F_GETFL) & O_NONBLOCK)) {
        fprintf(stderr, "`jobs` must be non-blocking: --eventfd jobs=0,semaphore,nonblock\n");
        return 2;
    }
    long taken = 0;
    for (;;) {
        eventfd_t one;
        if (eventfd_read(jobs, &one) == 0) {
            taken++;
            if (eventfd_write(done, 1) < 0) {
                perror("report done");
                return 1;
            }
            continue;
        }
        if (errno != EAGAIN) {
            perror("take a job");
            return 1;
        }
        /* Nothing to take: wait until a job is posted or quit is signalled. */
        struct pollfd fds[2] = {{jobs, POLLIN, 0}, {quit, POLLIN, 0}};
        if (poll(fds, 2, -1) < 0) {
            perror("poll");
            return 1;
        }
        if ((fds[1].revents & POLLIN) && !(fds[0].revents & POLLIN))
            break;
    }
    printf("consumer: took %ld jobs\n", taken);
    return 0;
}
