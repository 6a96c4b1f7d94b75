/*
 * File I/O under a preopened directory through stdio and POSIX (wasi-libc
 * on WASI preview 1): the same steps as tests/guests/src/bin/wasi_files.rs,
 * printing the same lines, so the tests compare the C, Rust and WASI 0.3
 * guests with one transcript.
 *
 *   files DIR    DIR as the guest sees it (--dir HOST::DIR)
 *
 * Reads DIR/input.txt (the test put it there); writes created.txt and reads
 * it back; makes made/ with nested.txt in it; lists DIR; renames created.txt
 * to renamed.txt and checks the old name is gone; creates and removes
 * temp.txt; lists again. The first failing step prints
 * `error: <step> <path>: <strerror>` and exits 1.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *dir;

/* DIR/name, in one of two static buffers (rename needs two at once). */
static char *path(const char *name) {
    static char buf[2][4096];
    static int which;
    which ^= 1;
    snprintf(buf[which], sizeof buf[which], "%s/%s", dir, name);
    return buf[which];
}

static void fail(const char *step, const char *p) {
    printf("error: %s %s: %s\n", step, p, strerror(errno));
    exit(1);
}

/* The whole file, NUL-terminated, trailing newlines cut. */
static char *read_file(const char *p) {
    static char buf[4096];
    FILE *f = fopen(p, "r");
    if (!f) fail("read", p);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    if (ferror(f)) fail("read", p);
    fclose(f);
    while (n > 0 && buf[n - 1] == '\n') n--;
    buf[n] = '\0';
    return buf;
}

static void write_file(const char *p, const char *text) {
    FILE *f = fopen(p, "w");
    if (!f) fail("write", p);
    if (fputs(text, f) == EOF || fclose(f) != 0) fail("write", p);
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The directory's entries, sorted, directories marked with `/`. */
static void print_entries(void) {
    char *names[64];
    size_t count = 0;
    DIR *d = opendir(dir);
    if (!d) fail("list", dir);
    struct dirent *e;
    while ((e = readdir(d)) != NULL && count < 64) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        size_t len = strlen(e->d_name);
        names[count] = malloc(len + 2);
        if (!names[count]) fail("list", dir);
        memcpy(names[count], e->d_name, len);
        names[count][len] = e->d_type == DT_DIR ? '/' : '\0';
        names[count][len + 1] = '\0';
        count++;
    }
    closedir(d);
    qsort(names, count, sizeof names[0], by_name);
    printf("entries:");
    for (size_t i = 0; i < count; i++) {
        printf(" %s", names[i]);
        free(names[i]);
    }
    printf("\n");
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: files DIR\n");
        return 2;
    }
    dir = argv[1];
    struct stat st;

    printf("input: %s\n", read_file(path("input.txt")));

    write_file(path("created.txt"), "hello from the guest\n");
    printf("read back: %s\n", read_file(path("created.txt")));

    if (mkdir(path("made"), 0777) != 0) fail("mkdir", path("made"));
    write_file(path("made/nested.txt"), "nested\n");
    print_entries();

    if (rename(path("created.txt"), path("renamed.txt")) != 0) fail("rename", path("created.txt"));
    /* The old name must be gone, not merely shadowed. */
    if (stat(path("created.txt"), &st) == 0)
        printf("created.txt after rename: still there\n");
    else if (errno == ENOENT)
        printf("created.txt after rename: not found\n");
    else
        fail("stat", path("created.txt"));

    write_file(path("temp.txt"), "short-lived\n");
    if (unlink(path("temp.txt")) != 0) fail("remove", path("temp.txt"));
    if (stat(path("temp.txt"), &st) == 0)
        printf("temp.txt still there after remove\n");
    else if (errno == ENOENT)
        printf("removed temp.txt\n");
    else
        fail("stat", path("temp.txt"));
    print_entries();
    return 0;
}
