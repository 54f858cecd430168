/* k8s-file records, their timestamps, and UTF-8 the way Go (so Docker's awslogs) sees it. */
#include "agent/k8s_log.h"

#include <string.h>

#include "core/xalloc.h"

/* ---- timestamps ----------------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* n digits at *p (advanced); -1 when they are not all digits. */
static int64_t digits(const char **p, const char *end, int n)
{
    int64_t v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (*p >= end || **p < '0' || **p > '9')
            return -1;
        v = v * 10 + (**p - '0');
    }
    return v;
}

static bool expect(const char **p, const char *end, char c)
{
    if (*p >= end || **p != c)
        return false;
    (*p)++;
    return true;
}

static int parse_offset(const char **p, const char *end, int64_t *ret_s)
{
    if (*p < end && (**p == 'Z' || **p == 'z')) {
        (*p)++;
        *ret_s = 0;
        return 0;
    }
    if (*p >= end || (**p != '+' && **p != '-'))
        return -1;
    int sign = **p == '-' ? -1 : 1;
    (*p)++;
    int64_t h = digits(p, end, 2);
    if (h < 0 || !expect(p, end, ':'))
        return -1;
    int64_t m = digits(p, end, 2);
    if (m < 0 || h > 23 || m > 59)
        return -1;
    *ret_s = sign * (h * 3600 + m * 60);
    return 0;
}

int k8s_time_parse(const char *s, size_t n, int64_t *ret_ms)
{
    const char *p = s, *end = s + n;
    int64_t y = digits(&p, end, 4);
    if (y < 0 || !expect(&p, end, '-'))
        return -1;
    int64_t mo = digits(&p, end, 2);
    if (mo < 1 || mo > 12 || !expect(&p, end, '-'))
        return -1;
    int64_t d = digits(&p, end, 2);
    if (d < 1 || d > 31 || (!expect(&p, end, 'T') && !expect(&p, end, 't')))
        return -1;
    int64_t h = digits(&p, end, 2);
    if (h < 0 || h > 23 || !expect(&p, end, ':'))
        return -1;
    int64_t mi = digits(&p, end, 2);
    if (mi < 0 || mi > 59 || !expect(&p, end, ':'))
        return -1;
    int64_t sec = digits(&p, end, 2);
    if (sec < 0 || sec > 60)
        return -1;
    int64_t ms = 0;
    if (p < end && *p == '.') {
        p++;
        int nd = 0;
        for (; p < end && *p >= '0' && *p <= '9'; p++, nd++)
            if (nd < 3)
                ms = ms * 10 + (*p - '0');
        if (nd == 0)
            return -1;
        for (; nd < 3; nd++)
            ms *= 10;
    }
    int64_t off;
    if (parse_offset(&p, end, &off) < 0 || p != end)
        return -1;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
    *ret_ms = secs * 1000 + ms;
    return 0;
}

/* ---- records ---------------------------------------------------------------------------- */

int k8s_record_parse(const char *line, size_t len, struct k8s_record *ret)
{
    const char *end = line + len;
    const char *sp = memchr(line, ' ', len);
    if (!sp)
        return -1;
    struct k8s_record r = {0};
    if (k8s_time_parse(line, (size_t)(sp - line), &r.ts_ms) < 0)
        return -1;
    const char *p = sp + 1;
    if ((size_t)(end - p) >= 7 && memcmp(p, "stdout ", 7) == 0)
        r.stream = K8S_STDOUT;
    else if ((size_t)(end - p) >= 7 && memcmp(p, "stderr ", 7) == 0)
        r.stream = K8S_STDERR;
    else
        return -1;
    p += 7;
    if (p >= end || (*p != 'P' && *p != 'F'))
        return -1;
    r.partial = *p == 'P';
    p++;
    if (p < end && *p == ':') { /* further tags: none that matter here */
        const char *tsp = memchr(p, ' ', (size_t)(end - p));
        p = tsp ? tsp : end;
    }
    if (p < end && *p != ' ')
        return -1;
    if (p < end)
        p++; /* the separator; an empty text may come without it */
    r.text = p;
    r.len = (size_t)(end - p);
    *ret = r;
    return 0;
}

/* ---- UTF-8 ------------------------------------------------------------------------------ */

/* The length of the valid UTF-8 character at s (Go's utf8.DecodeRune rules: shortest form,
 * no surrogates, at most U+10FFFF), or 0 when the byte at s does not start one. */
static size_t utf8_char_len(const unsigned char *s, size_t len)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if (len < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return n;
}

size_t k8s_utf8_split(const char *s, size_t len, size_t max, size_t *ret_effective)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t off = 0, eff = 0;
    while (off < len) {
        size_t n = utf8_char_len(u + off, len - off);
        size_t w = n ? n : 3; /* an invalid byte becomes U+FFFD */
        if (eff + w > max)
            break;
        eff += w;
        off += n ? n : 1;
    }
    *ret_effective = eff;
    return off;
}

char *k8s_utf8_sanitize(const char *s, size_t len, size_t *ret_len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t cap = len + 1, o = 0;
    char *out = xmalloc(cap);
    for (size_t i = 0; i < len;) {
        size_t n = utf8_char_len(u + i, len - i);
        if (o + 5 > cap) {
            cap = cap * 2 + 4;
            out = xrealloc(out, cap);
        }
        if (n) {
            memcpy(out + o, s + i, n);
            o += n;
            i += n;
        } else {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    out[o] = 0;
    *ret_len = o;
    return out;
}
