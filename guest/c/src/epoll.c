/*
 * epoll_create, epoll_create1, epoll_ctl, epoll_wait and epoll_pwait over
 * the host's `wasi_eventfd` module (see <sys/epoll.h>).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>

#include "host.h"

WASI_EVENTFD_IMPORT("epoll_create1") int32_t __wasi_eventfd_epoll_create1(int32_t flags);
WASI_EVENTFD_IMPORT("epoll_ctl")
int32_t __wasi_eventfd_epoll_ctl(int32_t epfd, int32_t op, int32_t fd, int32_t event);
WASI_EVENTFD_IMPORT("epoll_wait")
int32_t __wasi_eventfd_epoll_wait(int32_t epfd, int32_t events, int32_t maxevents, int32_t timeout);

/* The layout the host reads and writes. */
_Static_assert(sizeof(struct epoll_event) == 16, "struct epoll_event is 16 bytes");
_Static_assert(offsetof(struct epoll_event, data) == 8, "data is at 8");

int epoll_create(int size) {
    /* As Linux's epoll_create: the size is a hint that must be positive. */
    if (size <= 0) {
        errno = EINVAL;
        return -1;
    }
    return epoll_create1(0);
}

int epoll_create1(int flags) {
    return __wasi_eventfd_result(__wasi_eventfd_epoll_create1(flags));
}

int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event) {
    return __wasi_eventfd_result(
        __wasi_eventfd_epoll_ctl(epfd, op, fd, (int32_t)(uintptr_t)event));
}

int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout) {
    return __wasi_eventfd_result(
        __wasi_eventfd_epoll_wait(epfd, (int32_t)(uintptr_t)events, maxevents, timeout));
}

int epoll_pwait(int epfd, struct epoll_event *events, int maxevents, int timeout,
                const sigset_t *sigmask) {
    (void)sigmask;
    return epoll_wait(epfd, events, maxevents, timeout);
}
