/*
 * <sys/epoll.h> for wasi-eventfd's C guests: Linux's epoll over the
 * host's `wasi_eventfd` module, on the same fds as preview 1's (wasi-libc
 * has no epoll). Constants are Linux's (include/uapi/linux/eventpoll.h).
 *
 * What an epoll fd watches here: eventfds, other epoll fds (which nest up
 * to 5 deep, as on Linux), and stdin, stdout and stderr (EPOLLET on them
 * reports each time they become ready). Regular files and directories are
 * EPERM, as on Linux; so are sockets, which Linux would accept (preview 1
 * cannot watch them).
 *
 * struct epoll_event has wasm32's natural layout: `events` at 0, `data` at
 * 8, 16 bytes (Linux packs it to 12 bytes only on x86-64; on every other
 * architecture it is laid out naturally, as here).
 *
 * epoll_pwait's signal mask is ignored: a WASI guest gets no signals, so
 * it waits exactly as epoll_wait. EPOLLWAKEUP is dropped (no guest holds
 * CAP_BLOCK_SUSPEND, and Linux drops it then too); EPOLLEXCLUSIVE is
 * accepted where Linux accepts it, and an event wakes one of the epoll
 * fds registered so that has a waiter, as on Linux.
 *
 * Errors are -1 with errno set, as libc's: EBADF, EINVAL, EEXIST, ENOENT,
 * EPERM, ELOOP, ENOSPC (the guest's registrations in all its epoll fds
 * are bounded by its descriptor limit), EMFILE, EFAULT.
 */
// clang --target=wasm32-wasi -O2 -I guest/c/include PROG.c guest/c/src/*.c
#ifndef _SYS_EPOLL_H
#define _SYS_EPOLL_H

#include <stdint.h>

#define __NEED_sigset_t
#include <bits/alltypes.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Linux's O_CLOEXEC; WASI has no exec, so it only shows in F_GETFD. */
#define EPOLL_CLOEXEC 02000000

#define EPOLL_CTL_ADD 1
#define EPOLL_CTL_DEL 2
#define EPOLL_CTL_MOD 3

#define EPOLLIN 0x001
#define EPOLLPRI 0x002
#define EPOLLOUT 0x004
#define EPOLLERR 0x008
#define EPOLLHUP 0x010
#define EPOLLNVAL 0x020
#define EPOLLRDNORM 0x040
#define EPOLLRDBAND 0x080
#define EPOLLWRNORM 0x100
#define EPOLLWRBAND 0x200
#define EPOLLMSG 0x400
#define EPOLLRDHUP 0x2000
#define EPOLLEXCLUSIVE (1U << 28)
#define EPOLLWAKEUP (1U << 29)
#define EPOLLONESHOT (1U << 30)
#define EPOLLET (1U << 31)

typedef union epoll_data {
    void *ptr;
    int fd;
    uint32_t u32;
    uint64_t u64;
} epoll_data_t;

struct epoll_event {
    uint32_t events;
    epoll_data_t data;
};

/* A new epoll fd; `size` is only checked to be positive (EINVAL). */
int epoll_create(int size);
/* A new epoll fd; `flags` 0 or EPOLL_CLOEXEC, else EINVAL. */
int epoll_create1(int flags);
/* Adds, changes or removes `fd` in `epfd`'s interest list. */
int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event);
/* Waits up to `timeout` ms (-1: no limit, 0: not at all) for events;
 * stores at most `maxevents` and returns how many. Another guest's write
 * to a shared eventfd wakes it. */
int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout);
/* epoll_wait; `sigmask` is ignored (WASI has no signals). */
int epoll_pwait(int epfd, struct epoll_event *events, int maxevents, int timeout,
                const sigset_t *sigmask);

#ifdef __cplusplus
}
#endif

#endif /* _SYS_EPOLL_H */
