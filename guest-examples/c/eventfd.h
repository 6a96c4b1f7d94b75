/*
 * eventfd for C guests of wasi-eventfd, in the shape of glibc's
 * <sys/eventfd.h>, over the host's `wasi_eventfd` import module.
 *
 * The functions return -1 and set errno on failure, as libc's do. The host
 * answers with Linux errno numbers; wasi-libc's own numbers differ (its
 * EAGAIN is 6, Linux's 11), so they are translated here and
 * `errno == EAGAIN` works as usual.
 *
 * Descriptors are the eventfd ABI's own numbers, not WASI file descriptors:
 * use efd_close/efd_dup/efd_fcntl/efd_poll on them, not close/dup/fcntl/poll.
 */
#ifndef WASI_EVENTFD_H
#define WASI_EVENTFD_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

typedef uint64_t eventfd_t;

/* Flags of eventfd(), with Linux's values. */
#define EFD_SEMAPHORE 0x1
#define EFD_NONBLOCK 0x800
#define EFD_CLOEXEC 0x80000

/* efd_fcntl() commands and flags, with Linux's values. */
#define EFD_F_GETFD 1
#define EFD_F_SETFD 2
#define EFD_F_GETFL 3
#define EFD_F_SETFL 4
#define EFD_FD_CLOEXEC 1
#define EFD_O_RDWR 2
#define EFD_O_NONBLOCK 0x800

/* efd_poll() events, with Linux's values (wasi-libc's <poll.h> differ). */
#define EFD_POLLIN 0x1
#define EFD_POLLOUT 0x4
#define EFD_POLLERR 0x8
#define EFD_POLLHUP 0x10
#define EFD_POLLNVAL 0x20

/* Linux's struct pollfd. */
struct efd_pollfd {
    int fd;
    short events;
    short revents;
};

#define WASI_EVENTFD_IMPORT(name) \
    __attribute__((import_module("wasi_eventfd"), import_name(name)))

WASI_EVENTFD_IMPORT("eventfd") int32_t __wasi_eventfd_eventfd(int32_t initval, int32_t flags);
WASI_EVENTFD_IMPORT("read") int32_t __wasi_eventfd_read(int32_t fd, int32_t buf, int32_t len);
WASI_EVENTFD_IMPORT("write") int32_t __wasi_eventfd_write(int32_t fd, int32_t buf, int32_t len);
WASI_EVENTFD_IMPORT("close") int32_t __wasi_eventfd_close(int32_t fd);
WASI_EVENTFD_IMPORT("dup") int32_t __wasi_eventfd_dup(int32_t fd);
WASI_EVENTFD_IMPORT("fcntl") int32_t __wasi_eventfd_fcntl(int32_t fd, int32_t cmd, int32_t arg);
WASI_EVENTFD_IMPORT("poll") int32_t __wasi_eventfd_poll(int32_t fds, int32_t nfds, int32_t timeout);
WASI_EVENTFD_IMPORT("preopen") int32_t __wasi_eventfd_preopen(int32_t name, int32_t len);

/* A host result: the value, or -1 with errno set from -result. */
static inline int __wasi_eventfd_result(int32_t result) {
    if (result >= 0)
        return result;
    switch (-result) {
    case 2: errno = ENOENT; break;
    case 9: errno = EBADF; break;
    case 11: errno = EAGAIN; break;
    case 14: errno = EFAULT; break;
    case 22: errno = EINVAL; break;
    case 23: errno = ENFILE; break;
    case 24: errno = EMFILE; break;
    default: errno = EIO; break;
    }
    return -1;
}

#define __WASI_EVENTFD_PTR(p) ((int32_t)(uintptr_t)(p))

/* eventfd(2): a new eventfd with counter initval. */
static inline int eventfd(unsigned int initval, int flags) {
    return __wasi_eventfd_result(__wasi_eventfd_eventfd((int32_t)initval, flags));
}

/* read(2) on an eventfd: len must be at least 8; returns 8. */
static inline ssize_t efd_read(int fd, void *buf, size_t len) {
    int32_t n = len > INT32_MAX ? INT32_MAX : (int32_t)len;
    return __wasi_eventfd_result(__wasi_eventfd_read(fd, __WASI_EVENTFD_PTR(buf), n));
}

/* write(2) on an eventfd: len must be 8; returns 8. */
static inline ssize_t efd_write(int fd, const void *buf, size_t len) {
    int32_t n = len > INT32_MAX ? INT32_MAX : (int32_t)len;
    return __wasi_eventfd_result(__wasi_eventfd_write(fd, __WASI_EVENTFD_PTR(buf), n));
}

/* glibc's eventfd_read(): 0 on success, -1 with errno on failure. */
static inline int eventfd_read(int fd, eventfd_t *value) {
    return efd_read(fd, value, sizeof *value) == sizeof *value ? 0 : -1;
}

/* glibc's eventfd_write(): 0 on success, -1 with errno on failure. */
static inline int eventfd_write(int fd, eventfd_t value) {
    return efd_write(fd, &value, sizeof value) == sizeof value ? 0 : -1;
}

static inline int efd_close(int fd) {
    return __wasi_eventfd_result(__wasi_eventfd_close(fd));
}

static inline int efd_dup(int fd) {
    return __wasi_eventfd_result(__wasi_eventfd_dup(fd));
}

static inline int efd_fcntl(int fd, int cmd, int arg) {
    return __wasi_eventfd_result(__wasi_eventfd_fcntl(fd, cmd, arg));
}

/* poll(2) over eventfds: timeout in ms, -1 waits, 0 returns at once. */
static inline int efd_poll(struct efd_pollfd *fds, unsigned int nfds, int timeout) {
    return __wasi_eventfd_result(__wasi_eventfd_poll(__WASI_EVENTFD_PTR(fds), (int32_t)nfds, timeout));
}

/* A fresh descriptor of the eventfd the host shares under `name`. */
static inline int efd_preopen(const char *name) {
    return __wasi_eventfd_result(__wasi_eventfd_preopen(__WASI_EVENTFD_PTR(name), (int32_t)strlen(name)));
}

#endif /* WASI_EVENTFD_H */
