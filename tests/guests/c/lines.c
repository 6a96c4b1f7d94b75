/*
 * Prints 1000 numbered lines, `TAG N PAYLOAD END` as
 * tests/guests/src/bin/wasi_lines.rs does (PAYLOAD: N % 7 + 1 times
 * `TAG-N`), TAG being the file's base name without `.wasm` (a --with guest
 * gets no arguments: the test gives each copy of the file its own name).
 *
 * A TAG starting with `pieces` writes each line in five write(2) calls; any
 * other prints with printf to stdio's default full buffering, which goes
 * out in 1024-byte blocks that end in the middle of lines. Neither asks for
 * a flush; the runner must still put each line out whole.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define LINES 1000

static void put(const char *s) {
    size_t len = strlen(s);
    if (write(1, s, len) != (ssize_t)len) _exit(3);
}

int main(int argc, char **argv) {
    char tag[64] = "lines";
    if (argc > 0) {
        const char *base = strrchr(argv[0], '/');
        base = base ? base + 1 : argv[0];
        snprintf(tag, sizeof tag, "%s", base);
        char *dot = strstr(tag, ".wasm");
        if (dot) *dot = '\0';
    }
    int pieces = strncmp(tag, "pieces", 6) == 0;
    char payload[1024], piece[128];
    for (int n = 0; n < LINES; n++) {
        payload[0] = '\0';
        for (int i = 0; i < n % 7 + 1; i++) {
            snprintf(piece, sizeof piece, "%s-%d", tag, n);
            strcat(payload, piece);
        }
        if (pieces) {
            put(tag);
            put(" ");
            snprintf(piece, sizeof piece, "%d ", n);
            put(piece);
            put(payload);
            put(" END\n");
        } else {
            printf("%s %d %s END\n", tag, n, payload);
        }
    }
    return 0;
}
