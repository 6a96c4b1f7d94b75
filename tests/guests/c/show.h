/*
 * What the differential C programs share: `SHOW(label, expr)` prints
 * `label = result`, and the errno's name when the call failed, as names
 * are what the kernel and the guest agree on (errno values differ between
 * Linux's libc and wasi-libc).
 */
#ifndef SHOW_H
#define SHOW_H

#include <errno.h>
#include <stdio.h>

static const char *errno_name(int e) {
    switch (e) {
    case EAGAIN: return "EAGAIN";
    case EBADF: return "EBADF";
    case EEXIST: return "EEXIST";
    case EFAULT: return "EFAULT";
    case EINVAL: return "EINVAL";
    case ELOOP: return "ELOOP";
    case EMFILE: return "EMFILE";
    case ENODEV: return "ENODEV";
    case ENOENT: return "ENOENT";
    case ENOSPC: return "ENOSPC";
    case ENOTDIR: return "ENOTDIR";
    case ENOTSOCK: return "ENOTSOCK";
    case ENOTTY: return "ENOTTY";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EPERM: return "EPERM";
    case ESPIPE: return "ESPIPE";
    default: return "E?";
    }
}

#define SHOW(label, expr)                                                    \
    do {                                                                     \
        errno = 0;                                                           \
        long r_ = (long)(expr);                                              \
        if (r_ < 0)                                                          \
            printf("%s = %ld %s\n", label, r_, errno_name(errno));          \
        else                                                                 \
            printf("%s = %ld\n", label, r_);                                 \
    } while (0)

#endif
