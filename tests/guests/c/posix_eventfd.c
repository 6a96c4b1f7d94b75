/*
 * Every POSIX call a Linux program makes on an eventfd, beside a regular
 * file, printed one result a line with errno by name: built natively with
 * gcc and run on Linux, and built for wasm32-wasi with the project's C
 * library and run by wasi-eventfd, it must print the same
 * (tests/integration/posix_c.rs compares the two).
 *
 *   native: posix_eventfd DIR    (DIR is opened first: fd 3, as the guest's
 *                                 preopened directory is)
 *   guest:  wasi-eventfd run --dir DIR posix_eventfd.wasm
 *
 * Results that differ between libcs only in their numbers (errno values,
 * O_* and POLL* bits) are printed by name.
 */
#define _GNU_SOURCE /* dup3 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#ifdef __wasi__
#include "wasi-eventfd.h"
#endif

#include "show.h"

/* For calls that return an error number instead of setting errno. */
#define SHOW_ERR(label, expr)                                                \
    do {                                                                     \
        int e_ = (expr);                                                     \
        printf("%s = %s\n", label, e_ ? errno_name(e_) : "0");               \
    } while (0)

static void show_revents(const char *label, short revents) {
    printf("%s =%s%s%s%s%s\n", label, revents & POLLIN ? " IN" : "",
           revents & POLLOUT ? " OUT" : "", revents & POLLERR ? " ERR" : "",
           revents & POLLHUP ? " HUP" : "", revents & POLLNVAL ? " NVAL" : "");
}

static void show_flags(const char *label, int fd) {
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0) {
        printf("%s = -1 %s\n", label, errno_name(errno));
        return;
    }
    const char *mode = (flags & O_ACCMODE) == O_RDWR     ? "RDWR"
                       : (flags & O_ACCMODE) == O_RDONLY ? "RDONLY"
                       : (flags & O_ACCMODE) == O_WRONLY ? "WRONLY"
                                                         : "other";
    printf("%s = %s%s%s\n", label, mode, flags & O_NONBLOCK ? " NONBLOCK" : "",
           flags & O_APPEND ? " APPEND" : "");
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
#ifndef __wasi__
    /* Start as a guest does: nothing open but stdio (a parent may leak fds
     * that lack close-on-exec), then the directory as fd 3. */
    for (int fd = 3; fd < 1024; fd++)
        close(fd);
    if (argc < 2 || open(argv[1], O_RDONLY | O_DIRECTORY) != 3) {
        fprintf(stderr, "usage: posix_eventfd DIR (opened as fd 3)\n");
        return 2;
    }
#else
    (void)argc;
    (void)argv;
#endif
    uint64_t v = 0, two[2] = {0, 0};
    char buf[16];

    /* Numbers: the lowest free, whatever the kind. */
    int e = eventfd(0, EFD_NONBLOCK);
    SHOW("eventfd(0, EFD_NONBLOCK)", e);
    int f = openat(3, "data", O_RDWR | O_CREAT | O_TRUNC, 0644);
    SHOW("openat(data)", f);
    SHOW("eventfd(0, 0x40000000)", eventfd(0, 0x40000000));

    /* read and write: 8 bytes, EAGAIN, EINVAL. */
    SHOW("read(empty, nonblocking)", read(e, &v, 8));
    v = 3;
    SHOW("write(3)", write(e, &v, 8));
    SHOW("write(4 bytes)", write(e, &v, 4));
    SHOW("write(9 bytes)", write(e, two, 9));
    v = UINT64_MAX;
    SHOW("write(UINT64_MAX)", write(e, &v, 8));
    SHOW("read(4 bytes)", read(e, &v, 4));
    SHOW("read(16 bytes)", read(e, two, 16));
    printf("value = %llu\n", (unsigned long long)two[0]);
    eventfd_t got = 0;
    SHOW("eventfd_read(empty)", eventfd_read(e, &got));
    SHOW("eventfd_write(7)", eventfd_write(e, 7));
    SHOW("eventfd_read", eventfd_read(e, &got));
    printf("value = %llu\n", (unsigned long long)got);

    /* readv and writev: the read's 8 bytes spread over the buffers; each
     * buffer written is one write of its own, exactly 8 bytes. */
    uint32_t halves[2] = {0, 0};
    uint64_t eight = 0x0000000500000004ULL;
    struct iovec in[3] = {{buf, 0}, {&halves[0], 4}, {&halves[1], 4}};
    struct iovec out[2] = {{&eight, 8}, {&eight, 3}};
    SHOW("writev(8, 3)", writev(e, out, 2));
    SHOW("readv(0, 4, 4)", readv(e, in, 3));
    printf("halves = %u %u\n", halves[0], halves[1]);
    struct iovec split[2] = {{&eight, 4}, {(char *)&eight + 4, 4}};
    SHOW("writev(4, 4)", writev(e, split, 2));
    struct iovec empty_first[2] = {{buf, 0}, {&eight, 8}};
    SHOW("writev(0, 8)", writev(e, empty_first, 2));
    struct iovec short_in[2] = {{&halves[0], 4}, {buf, 3}};
    SHOW("readv(4, 3)", readv(e, short_in, 2));

    /* Semaphore mode: reads of 1. */
    int s = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK);
    SHOW("eventfd(2, EFD_SEMAPHORE|EFD_NONBLOCK)", s);
    for (int i = 0; i < 3; i++) {
        v = 0;
        SHOW("read(semaphore)", read(s, &v, 8));
        printf("value = %llu\n", (unsigned long long)v);
    }

    /* A full counter: writes would wait. */
    v = UINT64_MAX - 1;
    SHOW("write(UINT64_MAX - 1)", write(e, &v, 8));
    v = 1;
    SHOW("write(1) to a full counter", write(e, &v, 8));

    /* poll and select over an eventfd, a file and a closed number. */
    struct pollfd fds[3] = {
        {e, POLLIN | POLLOUT, 0}, {f, POLLIN | POLLOUT, 0}, {99, POLLIN, 0}};
    SHOW("poll(eventfd, file, closed; 0)", poll(fds, 3, 0));
    show_revents("revents(eventfd)", fds[0].revents);
    show_revents("revents(file)", fds[1].revents);
    show_revents("revents(closed)", fds[2].revents);
    fd_set readable, writable;
    FD_ZERO(&readable);
    FD_ZERO(&writable);
    FD_SET(e, &readable);
    FD_SET(e, &writable);
    FD_SET(f, &readable);
    struct timeval now = {0, 0};
    SHOW("select(eventfd rw, file r; 0)", select(f + 1, &readable, &writable, NULL, &now));
    printf("readable: eventfd %d file %d; writable: eventfd %d\n", FD_ISSET(e, &readable) != 0,
           FD_ISSET(f, &readable) != 0, FD_ISSET(e, &writable) != 0);
    SHOW("read(full)", read(e, &v, 8));
    printf("value = %llu\n", (unsigned long long)v);
    fds[0].events = POLLIN;
    SHOW("poll(empty eventfd for POLLIN; 10 ms)", poll(fds, 1, 10));

    /* fcntl: O_NONBLOCK and O_APPEND on the description. */
    show_flags("F_GETFL", e);
    SHOW("F_SETFL(0)", fcntl(e, F_SETFL, 0));
    show_flags("F_GETFL", e);
    SHOW("F_SETFL(O_NONBLOCK|O_APPEND)", fcntl(e, F_SETFL, O_NONBLOCK | O_APPEND));
    show_flags("F_GETFL", e);
    SHOW("F_SETFL(O_NONBLOCK)", fcntl(e, F_SETFL, O_NONBLOCK));

    /* What an eventfd is not. */
    SHOW("lseek(5, SEEK_SET)", lseek(e, 5, SEEK_SET));
    SHOW("lseek(0, SEEK_END)", lseek(e, 0, SEEK_END));
    SHOW("isatty", isatty(e));
    printf("isatty errno = %s\n", errno_name(errno));
    struct stat st;
    SHOW("fstat", fstat(e, &st));
    printf("type = %s, size = %lld, links = %lu\n",
           S_ISREG(st.st_mode) ? "regular" : S_ISDIR(st.st_mode) ? "directory"
           : S_ISCHR(st.st_mode) ? "character" : S_ISFIFO(st.st_mode) ? "fifo" : "none",
           (long long)st.st_size, (unsigned long)st.st_nlink);
    SHOW("pread", pread(e, &v, 8, 0));
    SHOW("pwrite", pwrite(e, &v, 8, 0));
    SHOW("fsync", fsync(e));
    SHOW("fdatasync", fdatasync(e));
    SHOW("ftruncate", ftruncate(e, 0));
    SHOW("futimens", futimens(e, NULL));
    SHOW_ERR("posix_fadvise", posix_fadvise(e, 0, 0, POSIX_FADV_NORMAL));
    SHOW_ERR("posix_fallocate", posix_fallocate(e, 0, 8));
    SHOW("openat(eventfd, x)", openat(e, "x", O_RDONLY));
    SHOW("mkdirat(eventfd, x)", mkdirat(e, "x", 0755));
    SHOW("unlinkat(eventfd, x)", unlinkat(e, "x", 0));
    SHOW("fstatat(eventfd, x)", fstatat(e, "x", &st, 0));
    int copy = dup(e);
    errno = 0;
    DIR *dir = fdopendir(copy);
    printf("fdopendir = %s\n", dir ? "a directory" : errno_name(errno));
    if (dir)
        closedir(dir);
    else
        close(copy);
    SHOW("recv", recv(e, buf, 8, 0));
    SHOW("send", send(e, buf, 8, 0));
    SHOW("shutdown", shutdown(e, SHUT_RDWR));

    /* dup, dup2, dup3 for every kind. */
    int d = dup(e);
    SHOW("dup(eventfd)", d);
    v = 5;
    SHOW("write(5) through the dup", write(d, &v, 8));
    SHOW("read through the original", read(e, &v, 8));
    printf("value = %llu\n", (unsigned long long)v);
    SHOW("dup2(eventfd, 10)", dup2(e, 10));
    SHOW("dup2(eventfd, eventfd)", dup2(e, e));
    SHOW("dup3(eventfd, eventfd, 0)", dup3(e, e, 0));
    SHOW("dup3(eventfd, 11, O_CLOEXEC)", dup3(e, 11, O_CLOEXEC));
    SHOW("dup(99)", dup(99));
    SHOW("dup2(99, 12)", dup2(99, 12));
    SHOW("dup2(99, 99)", dup2(99, 99));
    SHOW("dup3(99, 99, 0): EINVAL before EBADF", dup3(99, 99, 0));
    SHOW("write(file, hello)", write(f, "hello", 5));
    int g = dup(f);
    SHOW("dup(file)", g);
    SHOW("lseek(dup, 0, SEEK_CUR): shared offset", lseek(g, 0, SEEK_CUR));
    SHOW("lseek(dup, 1, SEEK_SET)", lseek(g, 1, SEEK_SET));
    memset(buf, 0, sizeof buf);
    SHOW("read(file, 4)", read(f, buf, 4));
    printf("read %s\n", buf);
    SHOW("dup2(file, 10): closes the eventfd there", dup2(f, 10));
    SHOW("lseek(10, 0, SEEK_CUR)", lseek(10, 0, SEEK_CUR));
    SHOW("close(10)", close(10));
    SHOW("close(11)", close(11));

    /* close, and the freed number taken by the next file. */
    SHOW("close(eventfd)", close(e));
    SHOW("close(eventfd) again", close(e));
    SHOW("read(closed)", read(e, &v, 8));
    int f2 = openat(3, "data2", O_RDWR | O_CREAT | O_TRUNC, 0644);
    SHOW("openat(data2) takes the freed number", f2 == e ? 1 : 0);
    SHOW("eventfd after that", eventfd(0, 0));
    SHOW("close(dup)", close(d));
    SHOW("close(dup of file)", close(g));
    SHOW("read(file, 1) still works", read(f, buf, 1));
    return 0;
}
