/*
 * The wasi-eventfd C library: eventfd(), eventfd_read(), eventfd_write(),
 * dup(), dup2(), dup3() and eventfd_preopen() over the host's
 * `wasi_eventfd` import module, whose fds are the same as preview 1's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "wasi-eventfd.h"
#include "host.h"

WASI_EVENTFD_IMPORT("eventfd") int32_t __wasi_eventfd_eventfd(int32_t initval, int32_t flags);
WASI_EVENTFD_IMPORT("dup") int32_t __wasi_eventfd_dup(int32_t fd);
WASI_EVENTFD_IMPORT("dup3") int32_t __wasi_eventfd_dup3(int32_t oldfd, int32_t newfd, int32_t flags);
WASI_EVENTFD_IMPORT("fcntl") int32_t __wasi_eventfd_fcntl(int32_t fd, int32_t cmd, int32_t arg);
WASI_EVENTFD_IMPORT("preopen") int32_t __wasi_eventfd_preopen(int32_t name, int32_t len);

/* The import module's flags, commands and errors have Linux's numbers. */
#define LINUX_EFD_SEMAPHORE 0x1
#define LINUX_EFD_NONBLOCK 0x800
#define LINUX_F_GETFD 1

/* Linux's errno numbers, as the host returns them, to wasi-libc's. */
int __wasi_eventfd_result(int32_t result) {
    if (result >= 0)
        return result;
    switch (-result) {
    case 1: errno = EPERM; break;
    case 2: errno = ENOENT; break;
    case 9: errno = EBADF; break;
    case 11: errno = EAGAIN; break;
    case 14: errno = EFAULT; break;
    case 17: errno = EEXIST; break;
    case 22: errno = EINVAL; break;
    case 23: errno = ENFILE; break;
    case 24: errno = EMFILE; break;
    case 28: errno = ENOSPC; break;
    case 40: errno = ELOOP; break;
    default: errno = EIO; break;
    }
    return -1;
}

static int from_host(int32_t result) {
    return __wasi_eventfd_result(result);
}

int eventfd(unsigned int initval, int flags) {
    if (flags & ~(EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC)) {
        errno = EINVAL;
        return -1;
    }
    int32_t linux_flags = 0;
    if (flags & EFD_SEMAPHORE)
        linux_flags |= LINUX_EFD_SEMAPHORE;
    if (flags & EFD_NONBLOCK)
        linux_flags |= LINUX_EFD_NONBLOCK;
    return from_host(__wasi_eventfd_eventfd((int32_t)initval, linux_flags));
}

/* As glibc's: a read or write of 8 bytes, 0 on success. */
int eventfd_read(int fd, eventfd_t *value) {
    return read(fd, value, sizeof *value) == (ssize_t)sizeof *value ? 0 : -1;
}

int eventfd_write(int fd, eventfd_t value) {
    return write(fd, &value, sizeof value) == (ssize_t)sizeof value ? 0 : -1;
}

int dup(int oldfd) {
    return from_host(__wasi_eventfd_dup(oldfd));
}

int dup2(int oldfd, int newfd) {
    if (oldfd == newfd) {
        /* Only whether oldfd is open (wasi-libc's own fcntl(F_GETFD) does
         * not look). */
        return from_host(__wasi_eventfd_fcntl(oldfd, LINUX_F_GETFD, 0)) < 0 ? -1 : newfd;
    }
    return from_host(__wasi_eventfd_dup3(oldfd, newfd, 0));
}

int dup3(int oldfd, int newfd, int flags) {
    /* O_CLOEXEC is 0 in WASI: any set bit is unknown. */
    if (flags & ~O_CLOEXEC) {
        errno = EINVAL;
        return -1;
    }
    return from_host(__wasi_eventfd_dup3(oldfd, newfd, 0));
}

int eventfd_preopen(const char *name) {
    return from_host(__wasi_eventfd_preopen((int32_t)(uintptr_t)name, (int32_t)strlen(name)));
}
