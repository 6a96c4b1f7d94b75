/*
 * Semaphore producer: posts JOBS jobs (default 1000) one at a time on the
 * semaphore eventfd `jobs`, waits until `done` has counted them all, then
 * signals `quit`. Consumers: consumer.c, or the Rust worker component.
 *   wasi-eventfd run --eventfd jobs=0,semaphore,nonblock --eventfd done=0 --eventfd quit=0 \
 *       --with consumer.wasm --with consumer.wasm producer.wasm [JOBS]
 */
#include <errno.h>
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

int main(int argc, char **argv) {
    long jobs_total = argc > 1 ? strtol(argv[1], NULL, 10) : 1000;
    int jobs = preopen_or_exit("jobs");
    int done = preopen_or_exit("done");
    int quit = preopen_or_exit("quit");
    for (long i = 0; i < jobs_total; i++) {
        if (eventfd_write(jobs, 1) < 0) {
            perror("post a job");
            return 1;
        }
    }
    /* `done` is blocking: each read waits for reports and takes them all. */
    eventfd_t finished = 0;
    while (finished < (eventfd_t)jobs_total) {
        eventfd_t reported;
        if (eventfd_read(done, &reported) < 0) {
            perror("read done");
            return 1;
        }
        finished += reported;
    }
    eventfd_write(quit, 1);
    printf("producer: %ld jobs posted and done\n", jobs_total);
    return 0;
}
