/*
 * The `ping` half of the ping-pong example in C; the other half is the Rust
 * `pong` component (or pong.wat):
 *   wasi-eventfd run --eventfd ping=0 --eventfd pong=0 --with pong.wasm ping.wasm [ROUNDS]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "wasi-eventfd.h"

#define BALL 1
#define STOP 2

static int preopen_or_exit(const char *name) {
    int fd = eventfd_preopen(name);
    if (fd < 0) {
        fprintf(stderr, "no eventfd named `%s`: run with --eventfd %s=0\n", name, name);
        exit(2);
    }
    return fd;
}

int main(int argc, char **argv) {
    long rounds = argc > 1 ? strtol(argv[1], NULL, 10) : 10000;
    if (rounds <= 0) {
        fprintf(stderr, "usage: ping [ROUNDS]   (ROUNDS: a number above 0)\n");
        return 2;
    }
    int ping = preopen_or_exit("ping");
    int pong = preopen_or_exit("pong");
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (long round = 0; round < rounds; round++) {
        eventfd_t ball;
        if (eventfd_write(ping, BALL) < 0 || eventfd_read(pong, &ball) < 0) {
            perror("ping");
            return 1;
        }
        if (ball != BALL) {
            fprintf(stderr, "round %ld: pong answered %llu\n", round, (unsigned long long)ball);
            return 1;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    eventfd_write(ping, STOP);
    double seconds = (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
    printf("ping-pong (C ping): %ld round trips in %.1f ms: %.2f us per round trip\n",
           rounds, seconds * 1e3, seconds * 1e6 / (double)rounds);
    return 0;
}
