/*
 * wasi-eventfd for C guests (WASI preview 1 core modules).
 *
 * An eventfd is an ordinary file descriptor here, numbered with stdio,
 * preopened directories and files: use read, write, poll, select, fcntl,
 * lseek, fstat and close on it as on Linux. <sys/eventfd.h> (wasi-libc's,
 * included below) declares eventfd, eventfd_read and eventfd_write; this
 * library defines them, and adds what wasi-libc lacks:
 *
 *   dup, dup2, dup3       for every kind of fd (preview 1 has no fd_dup)
 *   eventfd_preopen       a fresh fd of an eventfd the host named
 *
 * Build a program with exactly the line below (in a line comment: it holds
 * a slash and a star).
 *
 * Flags have WASI's values: EFD_NONBLOCK is O_NONBLOCK (4), EFD_CLOEXEC is
 * O_CLOEXEC (0: WASI has no exec), EFD_SEMAPHORE is 1; other bits are
 * EINVAL. Errors are -1 with errno set, as libc's.
 */
// clang --target=wasm32-wasi -O2 -I guest/c/include PROG.c guest/c/src/*.c
#ifndef WASI_EVENTFD_H
#define WASI_EVENTFD_H

#include <sys/eventfd.h>

#ifdef __cplusplus
extern "C" {
#endif

/* dup(2): the lowest free fd for the same open file (a file's offset and
 * status flags are shared), close-on-exec clear. EBADF, EMFILE. */
int dup(int oldfd);

/* dup2(2): `newfd` for the same open file as `oldfd`, closing what `newfd`
 * named first; `oldfd == newfd` returns it if it is open. EBADF (either fd
 * bad, or `newfd` at or above the fd limit). */
int dup2(int oldfd, int newfd);

/* dup3(2): as dup2, but `oldfd == newfd` is EINVAL, and `flags` is
 * O_CLOEXEC or 0 (EINVAL otherwise). */
int dup3(int oldfd, int newfd, int flags);

/* A fresh fd of the eventfd the host shares under `name` (wasi-eventfd run
 * --eventfd NAME=VALUE), close-on-exec clear; -1 with errno ENOENT when the
 * guest was granted none of that name, EMFILE when out of fds. */
int eventfd_preopen(const char *name);

#ifdef __cplusplus
}
#endif

#endif /* WASI_EVENTFD_H */
