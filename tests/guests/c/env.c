/*
 * Prints what the guest was given of the host, as
 * tests/guests/src/bin/wasi_env.rs does: `argv[i]: ARG` per argument, then
 * every environment variable as `env: NAME=VALUE`, sorted, then
 * `envc: N`. The tests compare the whole transcript, so a variable that
 * should not be there shows as an extra line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

static int by_text(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
    for (int i = 0; i < argc; i++) printf("argv[%d]: %s\n", i, argv[i]);
    size_t count = 0;
    while (environ && environ[count]) count++;
    char **vars = malloc((count + 1) * sizeof *vars);
    if (!vars) return 2;
    memcpy(vars, environ, count * sizeof *vars);
    qsort(vars, count, sizeof *vars, by_text);
    for (size_t i = 0; i < count; i++) printf("env: %s\n", vars[i]);
    printf("envc: %zu\n", count);
    free(vars);
    return 0;
}
