/* INCRBYFLOAT arithmetic exactly as Redis does it: C long double (80-bit on x86_64) parsed with
 * strtold and printed with "%.17Lf" with trailing zeros removed. Rust has no long double, and the
 * replies differ from an f64 computation in the last digits, which clients can see. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LD_CHARS (5 * 1024)

/* Parses like Redis's string2ld: no leading space, whole string, no overflow, not NaN. */
static int parse_ld(const char *s, size_t len, long double *out) {
    char buf[MAX_LD_CHARS + 1];
    char *end;
    if (len == 0 || len >= MAX_LD_CHARS) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (isspace((unsigned char)buf[0])) return 0;
    errno = 0;
    long double v = strtold(buf, &end);
    /* end must be the end of the whole argument: an embedded NUL stops strtold early. */
    if (end != buf + len || (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || v == 0)) || isnan(v)) return 0;
    *out = v;
    return 1;
}

/* cur (NULL for a missing value) + incr, formatted into out. Returns the length, or -1 when cur is not
 * a number, -2 when incr is not, -3 when the result is NaN or infinite, -4 when out is too small.
 * `check_incr_finite` rejects an infinite increment up front (HINCRBYFLOAT does, INCRBYFLOAT not). */
int rustis_ld_incr(const char *cur, size_t cur_len, const char *incr, size_t incr_len, int check_incr_finite,
                   char *out, size_t out_cap) {
    long double a = 0, b;
    if (cur && !parse_ld(cur, cur_len, &a)) return -1;
    if (!parse_ld(incr, incr_len, &b)) return -2;
    if (check_incr_finite && isinf(b)) return -5;
    long double v = a + b;
    if (isnan(v) || isinf(v)) return -3;
    int l = snprintf(out, out_cap, "%.17Lf", v);
    if (l < 0 || (size_t)l + 1 > out_cap) return -4;
    if (strchr(out, '.') != NULL) {
        char *p = out + l - 1;
        while (*p == '0') { p--; l--; }
        if (*p == '.') l--;
    }
    if (l == 2 && out[0] == '-' && out[1] == '0') { out[0] = '0'; l = 1; }
    return l;
}
