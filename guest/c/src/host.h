/*
 * What the library's sources share: a host result as libc returns it.
 */
#ifndef WASI_EVENTFD_HOST_H
#define WASI_EVENTFD_HOST_H

#include <stdint.h>

#define WASI_EVENTFD_IMPORT(name) \
    __attribute__((import_module("wasi_eventfd"), import_name(name)))

/* The value of a `wasi_eventfd` import, or -1 with errno set from Linux's
 * -errno (wasi-libc numbers errors its own way: its EAGAIN is 6, Linux's
 * 11). */
int __wasi_eventfd_result(int32_t result);

#endif /* WASI_EVENTFD_HOST_H */
