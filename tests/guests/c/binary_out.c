/*
 * The bytes of tests/guests/src/bin/wasi_binary_out.rs, through WASI
 * preview 1 fd_write (stdio): NUL, 0xff, a lone \r, invalid UTF-8, every
 * byte value 40 times over, and a tail without a newline. The test compares
 * stdout byte for byte.
 */
#include <stdio.h>

static const char head[] = "\x00\xff\r\n\xc3\x28 not utf-8 \x80\xbf\r\r\n";
static const char tail[] = "\ntail \x00\xfe\r";

int main(void) {
    fwrite(head, 1, sizeof head - 1, stdout);
    for (int round = 0; round < 40; round++)
        for (int byte = 0; byte < 256; byte++) putchar(byte);
    fwrite(tail, 1, sizeof tail - 1, stdout);
    return fflush(stdout) == 0 ? 0 : 1;
}
