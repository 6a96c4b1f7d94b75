/*
 * A prompt without a newline, then a line of stdin, as
 * tests/guests/src/bin/wasi_prompt.rs: prints `READY`, flushes, reads one
 * line and prints `got: <line>` (or `got EOF`). The test sends the line only
 * after it has seen `READY`.
 */
#include <stdio.h>
#include <string.h>

int main(void) {
    char line[256];
    printf("READY");
    fflush(stdout);
    if (!fgets(line, sizeof line, stdin)) {
        printf("got EOF\n");
        return 0;
    }
    line[strcspn(line, "\n")] = '\0';
    printf("got: %s\n", line);
    return 0;
}
