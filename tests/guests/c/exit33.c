/*
 * Exits with status 33 (WASI preview 1 proc_exit(33)) after printing a
 * line: the runner must exit 33 too, as `wasmtime run` does, and the line
 * must still reach stdout.
 */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    printf("exiting with 33\n");
    exit(33);
}
