/*
 * Stops the echo server: waits until STOP_AFTER connections (default 3)
 * have closed, counted on the eventfd `closed`, then writes 1 to `stop`.
 */
#include <stdio.h>
#include <stdlib.h>

#include "wasi-eventfd.h"

int main(void) {
    int closed = eventfd_preopen("closed");
    int stop = eventfd_preopen("stop");
    if (closed < 0 || stop < 0) {
        fprintf(stderr, "stopper needs the eventfds `closed` and `stop`\n");
        return 2;
    }
    const char *after = getenv("STOP_AFTER");
    eventfd_t want = after ? strtoull(after, NULL, 10) : 3, seen = 0;
    while (seen < want) {
        eventfd_t value;
        if (eventfd_read(closed, &value) < 0) {
            perror("read closed");
            return 1;
        }
        seen += value;
    }
    printf("stopper: %llu connections closed, asking the server to stop\n",
           (unsigned long long)seen);
    fflush(stdout);
    return eventfd_write(stop, 1) < 0;
}
