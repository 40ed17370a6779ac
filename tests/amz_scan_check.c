/* test harness: one line in, "1" (valid JSON object per amzscan) or "0" out; with the value
 * of a top-level "asin" string appended when present. Built by tests/test_amz_scan.sh. */
#include "amzscan.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void) {
    static char buf[1 << 20];
    const char *k[] = {"asin"};
    JKeys jk; jkeys_init(&jk, k, 1);
    JSpan v[1];
    while (fgets(buf, sizeof buf, stdin)) {
        size_t n = strlen(buf);
        if (n && buf[n - 1] == '\n') buf[--n] = 0;
        char *c = malloc(n + 1);   /* exact size: ASan sees any over-read */
        memcpy(c, buf, n + 1);
        const char *e; size_t p;
        int ok = jscan_object(c, n, &jk, v, &e, &p) == 0;
        printf("%d", ok);
        if (ok && v[0].type == JV_STR) {
            char *d = malloc(v[0].n + 1);
            jstr_decode(&v[0], d);
            printf(" %s", d);
            free(d);
        }
        putchar('\n');
        free(c);
    }
    return 0;
}
