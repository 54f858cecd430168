#include "aws/sigv4.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/crypto.h"
#include "core/xalloc.h"

#define E_MISSING "MissingAuthenticationTokenException"
#define E_INCOMPLETE "IncompleteSignatureException"
#define E_INVALID "InvalidSignatureException"
#define E_DENIED "AccessDeniedException"

/* ---- a growable, always NUL-terminated byte buffer ---- */

struct buf {
    char *p;
    size_t len, cap;
};

static void buf_free(struct buf *b) { free(b->p); }
#define cleanup_buf __attribute__((cleanup(buf_free)))

static void buf_put(struct buf *b, const void *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 512;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->p = xrealloc(b->p, cap);
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_putc(struct buf *b, char c) { buf_put(b, &c, 1); }
static void buf_puts(struct buf *b, const char *s) { buf_put(b, s, strlen(s)); }

static char *buf_steal(struct buf *b)
{
    if (!b->p)
        return xstrdup("");
    return TAKE_PTR(b->p);
}

/* ---- character classes and percent-encoding (ASCII only, never the locale) ---- */

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_lower_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); }
static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
static char to_lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c; }

static bool is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

static int hex_value(char c)
{
    if (is_digit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static void put_encoded_byte(struct buf *b, unsigned char c)
{
    static const char hex[] = "0123456789ABCDEF";
    if (is_unreserved(c)) {
        buf_putc(b, (char)c);
        return;
    }
    char e[3] = {'%', hex[c >> 4], hex[c & 15]};
    buf_put(b, e, 3);
}

/* Decode %XX at s[i] if it is one; an invalid escape stands for a literal '%'. */
static int decode_at(const char *s, size_t len, size_t *i)
{
    if (s[*i] == '%' && *i + 2 < len) {
        int hi = hex_value(s[*i + 1]), lo = hex_value(s[*i + 2]);
        if (hi >= 0 && lo >= 0) {
            *i += 2;
            return hi * 16 + lo;
        }
    }
    return (unsigned char)s[*i];
}

/* Percent-decode then re-encode with the unreserved set: the canonical form of a query
 * name or value however the client chose to escape it. */
static void put_recoded(struct buf *b, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        put_encoded_byte(b, (unsigned char)decode_at(s, len, &i));
}

/* Percent-decode into out (outsz bytes with the NUL). -1 if it does not fit or decodes to a
 * NUL byte. */
static int decode_into(const char *s, size_t len, char *out, size_t outsz)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int c = decode_at(s, len, &i);
        if (c == 0 || n + 1 >= outsz)
            return -1;
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return 0;
}

/* ---- query strings ---- */

struct qparam {
    const char *name, *value;
    size_t nlen, vlen;
};

/* Next "name[=value]" of a raw query string; empty pieces ("a&&b") are skipped. */
static bool query_next(const char **cursor, struct qparam *ret)
{
    const char *p = *cursor;
    while (*p == '&')
        p++;
    if (!*p)
        return false;
    const char *s = p;
    while (*p && *p != '&')
        p++;
    const char *eq = memchr(s, '=', (size_t)(p - s));
    ret->name = s;
    ret->nlen = (size_t)((eq ? eq : p) - s);
    ret->value = eq ? eq + 1 : p;
    ret->vlen = eq ? (size_t)(p - eq - 1) : 0;
    *cursor = p;
    return true;
}

enum { QUERY_ABSENT = 0, QUERY_FOUND = 1, QUERY_REPEATED = -1, QUERY_BAD = -2 };

/* Find the parameter whose decoded name is `name` and decode its value into out. */
static int query_get(const char *query, const char *name, char *out, size_t outsz)
{
    if (!query)
        return QUERY_ABSENT;
    int found = QUERY_ABSENT;
    struct qparam q;
    while (query_next(&query, &q)) {
        char qname[64];
        if (decode_into(q.name, q.nlen, qname, sizeof(qname)) < 0 || strcmp(qname, name) != 0)
            continue;
        if (found)
            return QUERY_REPEATED;
        if (decode_into(q.value, q.vlen, out, outsz) < 0)
            return QUERY_BAD;
        found = QUERY_FOUND;
    }
    return found;
}

struct qpair {
    const char *name, *value;
};

static int qpair_cmp(const void *a, const void *b)
{
    const struct qpair *x = a, *y = b;
    int r = strcmp(x->name, y->name);
    return r ? r : strcmp(x->value, y->value);
}

/* Pairs sorted by encoded name, then encoded value (comparing pairs, not "name=value"
 * strings, so "Param" sorts before "Param-3"). */
static void put_canonical_query(struct buf *out, const char *query, bool presigned)
{
    if (!query || !*query)
        return;
    size_t max = 1;
    for (const char *p = query; *p; p++)
        max += *p == '&';
    /* Names and values, NUL-separated, in one buffer; offsets first since it may move. */
    cleanup_buf struct buf text = {0};
    cleanup_free size_t *offs = xmalloc(2 * max * sizeof(*offs));
    size_t n = 0;
    struct qparam q;
    for (const char *cur = query; query_next(&cur, &q);) {
        size_t name_off = text.len;
        put_recoded(&text, q.name, q.nlen);
        buf_putc(&text, '\0');
        if (presigned && strcmp(text.p + name_off, "X-Amz-Signature") == 0) {
            text.len = name_off;
            continue;
        }
        offs[2 * n] = name_off;
        offs[2 * n + 1] = text.len;
        put_recoded(&text, q.value, q.vlen);
        buf_putc(&text, '\0');
        n++;
    }
    cleanup_free struct qpair *pairs = xmalloc((n ? n : 1) * sizeof(*pairs));
    for (size_t i = 0; i < n; i++)
        pairs[i] = (struct qpair){text.p + offs[2 * i], text.p + offs[2 * i + 1]};
    qsort(pairs, n, sizeof(*pairs), qpair_cmp);
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf_putc(out, '&');
        buf_puts(out, pairs[i].name);
        buf_putc(out, '=');
        buf_puts(out, pairs[i].value);
    }
}

/* ---- path ---- */

/* Remove empty and "." segments, resolve ".." (never above the root), keep a trailing
 * slash, then encode each segment: what the SDKs sign for every service but S3. */
static void put_canonical_uri(struct buf *b, const char *path)
{
    if (!path || !*path) {
        buf_putc(b, '/');
        return;
    }
    size_t max = 1;
    for (const char *p = path; *p; p++)
        max += *p == '/';
    struct seg {
        const char *p;
        size_t len;
    };
    cleanup_free struct seg *segs = xmalloc(max * sizeof(*segs));
    size_t n = 0;
    for (const char *p = path; *p;) {
        const char *s = p;
        while (*p && *p != '/')
            p++;
        size_t len = (size_t)(p - s);
        if (len == 2 && s[0] == '.' && s[1] == '.') {
            if (n)
                n--;
        } else if (len && !(len == 1 && s[0] == '.')) {
            segs[n++] = (struct seg){s, len};
        }
        if (*p == '/')
            p++;
    }
    buf_putc(b, '/');
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf_putc(b, '/');
        for (size_t j = 0; j < segs[i].len; j++)
            put_encoded_byte(b, (unsigned char)segs[i].p[j]);
    }
    if (n && path[strlen(path) - 1] == '/')
        buf_putc(b, '/');
}

/* ---- headers ---- */

static bool name_eq(const char *a, const char *b, size_t blen)
{
    return strlen(a) == blen && strncasecmp(a, b, blen) == 0;
}

/* Number of headers named `name` (any case); the first one's value in *ret_value. */
static size_t header_find(const struct sigv4_request *req, const char *name, const char **ret_value)
{
    size_t n = 0;
    for (size_t i = 0; i < req->nheaders; i++) {
        if (req->headers[i].name && strcasecmp(req->headers[i].name, name) == 0) {
            if (!n && ret_value)
                *ret_value = req->headers[i].value ? req->headers[i].value : "";
            n++;
        }
    }
    return n;
}

/* Trim, and collapse each run of white space (folded lines included) to one space. */
static void put_trimmed(struct buf *b, const char *v)
{
    bool pending = false, any = false;
    for (; v && *v; v++) {
        if (is_space(*v)) {
            pending = any;
            continue;
        }
        if (pending)
            buf_putc(b, ' ');
        buf_putc(b, *v);
        pending = false;
        any = true;
    }
}

/* "name:value\n" for each name of SignedHeaders, in the client's order (which SigV4 says
 * is sorted); repeated headers join with ',' in the order received. */
static void put_canonical_headers(struct buf *b, const struct sigv4_request *req,
                                  const char *signed_headers)
{
    for (const char *p = signed_headers; *p;) {
        const char *s = p;
        while (*p && *p != ';')
            p++;
        size_t len = (size_t)(p - s);
        for (size_t i = 0; i < len; i++)
            buf_putc(b, to_lower(s[i]));
        buf_putc(b, ':');
        bool first = true;
        for (size_t i = 0; i < req->nheaders; i++) {
            const struct sigv4_header *h = &req->headers[i];
            if (!h->name || !name_eq(h->name, s, len))
                continue;
            if (!first)
                buf_putc(b, ',');
            put_trimmed(b, h->value);
            first = false;
        }
        buf_putc(b, '\n');
        if (*p == ';')
            p++;
    }
}

static bool signed_headers_contain(const char *signed_headers, const char *name)
{
    for (const char *p = signed_headers; *p;) {
        const char *s = p;
        while (*p && *p != ';')
            p++;
        if (name_eq(name, s, (size_t)(p - s)))
            return true;
        if (*p == ';')
            p++;
    }
    return false;
}

/* ---- dates ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int num(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_digit(s[i]))
            return false;
    return true;
}

/* YYYYMMDDTHHMMSSZ -> seconds since the epoch, or -1 if it is not a real UTC time. */
static int amz_date_parse(const char *s, time_t *ret)
{
    if (strlen(s) != 16 || !all_digits(s, 8) || s[8] != 'T' || !all_digits(s + 9, 6) ||
        s[15] != 'Z')
        return -1;
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y = num(s, 4), mo = num(s + 4, 2), d = num(s + 6, 2);
    int h = num(s + 9, 2), mi = num(s + 11, 2), sec = num(s + 13, 2);
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || (unsigned)d > mdays[mo - 1] ||
        (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || sec > 59)
        return -1;
    *ret =
        (time_t)(days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec);
    return 0;
}

static void amz_date_format(time_t t, char out[17])
{
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm))
        snprintf(out, 17, "?");
}

/* A Date header: ISO 8601 basic as for X-Amz-Date, or RFC 1123 "Sun, 30 Aug 2015 12:36:00 GMT". */
static int http_date_to_amz(const char *s, char out[17])
{
    time_t t;
    if (amz_date_parse(s, &t) == 0) {
        memcpy(out, s, 17);
        return 0;
    }
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    const char *comma = strchr(s, ',');
    int d, y, h, mi, sec, end = 0;
    char mon[4];
    if (!comma ||
        sscanf(comma + 1, " %2d %3[A-Za-z] %4d %2d:%2d:%2d GMT%n", &d, mon, &y, &h, &mi, &sec,
               &end) != 6 ||
        !end || comma[1 + end] != '\0' || strlen(mon) != 3)
        return -1;
    const char *m = strstr(months, mon);
    if (!m || (m - months) % 3 != 0 || d < 0 || y < 0 || h < 0 || mi < 0 || sec < 0)
        return -1;
    char buf[64];
    snprintf(buf, sizeof(buf), "%04d%02d%02dT%02d%02d%02dZ", y, (int)(m - months) / 3 + 1, d, h, mi,
             sec);
    if (amz_date_parse(buf, &t) < 0)
        return -1;
    memcpy(out, buf, 17);
    return 0;
}

static int bad_date(const char *value, struct wh_err *err)
{
    return wh_err_set(err, 400, E_INCOMPLETE,
                      "Date must be in ISO-8601 'basic format'. Got '%.64s'. See "
                      "http://en.wikipedia.org/wiki/ISO_8601",
                      value);
}

/* ---- the parts of a claim ---- */

static int copy_part(char *dst, size_t dstsz, const char *s, size_t len)
{
    if (len == 0 || len >= dstsz)
        return -1;
    memcpy(dst, s, len);
    dst[len] = '\0';
    return 0;
}

/* "AKID/YYYYMMDD/region/service/aws4_request" */
static int parse_credential(const char *cred, struct sigv4_auth *a, struct wh_err *err)
{
    const char *part[5];
    size_t len[5], n = 0;
    for (const char *p = cred;; p++) {
        const char *s = p;
        while (*p && *p != '/')
            p++;
        if (n < 5) {
            part[n] = s;
            len[n] = (size_t)(p - s);
        }
        n++;
        if (!*p)
            break;
    }
    if (n != 5)
        return wh_err_set(err, 400, E_INCOMPLETE,
                          "Credential should be of the form "
                          "<AccessKeyId>/<YYYYMMDD>/<region>/<service>/aws4_request, not '%.200s'.",
                          cred);
    if (copy_part(a->access_key, sizeof(a->access_key), part[0], len[0]) < 0)
        return wh_err_set(err, 400, E_INCOMPLETE,
                          "Credential should begin with a valid access key id, not '%.200s'.",
                          cred);
    if (len[1] != 8 || !all_digits(part[1], 8) ||
        copy_part(a->date, sizeof(a->date), part[1], len[1]) < 0)
        return wh_err_set(err, 400, E_INCOMPLETE,
                          "Credential should be scoped to a valid date (YYYYMMDD), not '%.*s'.",
                          (int)(len[1] < 64 ? len[1] : 64), part[1]);
    if (copy_part(a->region, sizeof(a->region), part[2], len[2]) < 0)
        return wh_err_set(err, 400, E_INCOMPLETE,
                          "Credential should be scoped to a valid region, not '%.*s'.",
                          (int)(len[2] < 64 ? len[2] : 64), part[2]);
    if (copy_part(a->service, sizeof(a->service), part[3], len[3]) < 0)
        return wh_err_set(err, 400, E_INCOMPLETE,
                          "Credential should be scoped to a valid service, not '%.*s'.",
                          (int)(len[3] < 64 ? len[3] : 64), part[3]);
    if (len[4] != strlen("aws4_request") || memcmp(part[4], "aws4_request", len[4]) != 0)
        return wh_err_set(err, 400, E_INCOMPLETE,
                          "Credential should be scoped with a valid terminator: 'aws4_request', "
                          "not '%.*s'.",
                          (int)(len[4] < 64 ? len[4] : 64), part[4]);
    return 0;
}

static int parse_signed_headers(const char *s, struct sigv4_auth *a, struct wh_err *err)
{
    size_t len = strlen(s);
    bool ok = len > 0 && len < sizeof(a->signed_headers) && s[0] != ';' && s[len - 1] != ';' &&
              !strstr(s, ";;");
    for (size_t i = 0; ok && i < len; i++)
        ok = s[i] > ' ' && s[i] < 0x7f && s[i] != ':' && s[i] != ',';
    if (!ok)
        return wh_err_set(err, 400, E_INCOMPLETE,
                          "SignedHeaders should be a ';'-separated list of header names, not "
                          "'%.200s'.",
                          s);
    memcpy(a->signed_headers, s, len + 1);
    return 0;
}

static int parse_signature(const char *s, struct sigv4_auth *a, struct wh_err *err)
{
    size_t len = strlen(s);
    bool ok = len == 64;
    for (size_t i = 0; ok && i < len; i++)
        ok = is_lower_hex(s[i]);
    if (!ok)
        return wh_err_set(err, 400, E_INCOMPLETE,
                          "Signature should be 64 lower-case hexadecimal digits, not '%.80s'.", s);
    memcpy(a->signature, s, 65);
    return 0;
}

/* ---- Authorization header form ---- */

struct component {
    const char *key;
    char *value; /* heap */
};

static int parse_components(const char *p, struct component comps[3], struct wh_err *err)
{
    while (*p) {
        while (*p == ',' || is_space(*p))
            p++;
        if (!*p)
            break;
        const char *s = p;
        while (*p && *p != ',')
            p++;
        const char *e = p;
        while (e > s && is_space(e[-1]))
            e--;
        const char *eq = memchr(s, '=', (size_t)(e - s));
        if (!eq)
            return wh_err_set(err, 400, E_INCOMPLETE,
                              "Authorization header requires each component to be of the form "
                              "key=value, not '%.*s'.",
                              (int)(e - s < 100 ? e - s : 100), s);
        for (size_t i = 0; i < 3; i++) {
            if (!name_eq(comps[i].key, s, (size_t)(eq - s)))
                continue;
            if (comps[i].value)
                return wh_err_set(err, 400, E_INCOMPLETE,
                                  "Authorization header has more than one '%s' parameter.",
                                  comps[i].key);
            comps[i].value = xstrndup(eq + 1, (size_t)(e - eq - 1));
        }
    }
    return 0;
}

static int parse_header_form(const struct sigv4_request *req, const char *authz,
                             struct sigv4_auth *a, struct wh_err *err)
{
    const char *p = authz;
    while (is_space(*p))
        p++;
    const char *alg = p;
    while (*p && !is_space(*p))
        p++;
    size_t alglen = (size_t)(p - alg);
    if (alglen != strlen(SIGV4_ALGORITHM) || memcmp(alg, SIGV4_ALGORITHM, alglen) != 0)
        return wh_err_set(err, 400, E_INCOMPLETE,
                          "Unsupported AWS 'algorithm': '%.*s'. Authorization header must use "
                          "'" SIGV4_ALGORITHM "'.",
                          (int)(alglen < 64 ? alglen : 64), alg);

    struct component comps[3] = {
        {"Credential", NULL}, {"Signature", NULL}, {"SignedHeaders", NULL}};
    int r = parse_components(p, comps, err);
    if (r == 0 && (!comps[0].value || !comps[1].value || !comps[2].value)) {
        char msg[256] = "";
        for (size_t i = 0; i < 3; i++)
            if (!comps[i].value)
                snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg),
                         "Authorization header requires '%s' parameter. ", comps[i].key);
        r = wh_err_set(err, 400, E_INCOMPLETE, "%sAuthorization=%.300s", msg, authz);
    }
    if (r == 0)
        r = parse_credential(comps[0].value, a, err);
    if (r == 0)
        r = parse_signature(comps[1].value, a, err);
    if (r == 0)
        r = parse_signed_headers(comps[2].value, a, err);
    for (size_t i = 0; i < 3; i++)
        free(comps[i].value);
    if (r < 0)
        return r;

    const char *date;
    size_t n = header_find(req, "x-amz-date", &date);
    if (n == 0)
        n = header_find(req, "date", &date);
    if (n == 0)
        return wh_err_set(err, 400, E_INCOMPLETE,
                          "Authorization header requires existence of either a 'X-Amz-Date' or a "
                          "'Date' header. Authorization=%.300s",
                          authz);
    if (n > 1)
        return wh_err_set(err, 400, E_INCOMPLETE, "The request has more than one date header.");
    if (http_date_to_amz(date, a->amz_date) < 0)
        return bad_date(date, err);
    return 0;
}

/* ---- presigned query form ---- */

enum { Q_ALGORITHM, Q_CREDENTIAL, Q_DATE, Q_EXPIRES, Q_SIGNED_HEADERS, Q_SIGNATURE, Q_COUNT };
static const char *const query_names[Q_COUNT] = {
    [Q_ALGORITHM] = "X-Amz-Algorithm",
    [Q_CREDENTIAL] = "X-Amz-Credential",
    [Q_DATE] = "X-Amz-Date",
    [Q_EXPIRES] = "X-Amz-Expires",
    [Q_SIGNED_HEADERS] = "X-Amz-SignedHeaders",
    [Q_SIGNATURE] = "X-Amz-Signature",
};

static bool query_is_presigned(const char *query)
{
    char v[8];
    return query_get(query, "X-Amz-Algorithm", v, sizeof(v)) != QUERY_ABSENT ||
           query_get(query, "X-Amz-Credential", v, sizeof(v)) != QUERY_ABSENT ||
           query_get(query, "X-Amz-Signature", v, sizeof(v)) != QUERY_ABSENT;
}

static int parse_query_form(const struct sigv4_request *req, struct sigv4_auth *a,
                            struct wh_err *err)
{
    char v[Q_COUNT][1024], missing[256] = "";
    for (size_t i = 0; i < Q_COUNT; i++) {
        int r = query_get(req->query, query_names[i], v[i], sizeof(v[i]));
        if (r == QUERY_REPEATED)
            return wh_err_set(err, 400, E_INCOMPLETE,
                              "AWS query-string parameter '%s' must appear only once.",
                              query_names[i]);
        if (r == QUERY_BAD)
            return wh_err_set(err, 400, E_INCOMPLETE,
                              "AWS query-string parameter '%s' is too long or not valid.",
                              query_names[i]);
        if (r == QUERY_ABSENT)
            snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing), "%s'%s'",
                     missing[0] ? ", " : "", query_names[i]);
    }
    if (missing[0])
        return wh_err_set(err, 400, E_INCOMPLETE,
                          "AWS query-string parameters must include %s. Re-examine the "
                          "query-string parameters.",
                          missing);
    if (strcmp(v[Q_ALGORITHM], SIGV4_ALGORITHM) != 0)
        return wh_err_set(err, 400, E_INCOMPLETE,
                          "X-Amz-Algorithm only supports '" SIGV4_ALGORITHM "', not '%.64s'.",
                          v[Q_ALGORITHM]);
    if (parse_credential(v[Q_CREDENTIAL], a, err) < 0 ||
        parse_signature(v[Q_SIGNATURE], a, err) < 0 ||
        parse_signed_headers(v[Q_SIGNED_HEADERS], a, err) < 0)
        return -1;
    time_t t;
    if (amz_date_parse(v[Q_DATE], &t) < 0)
        return bad_date(v[Q_DATE], err);
    memcpy(a->amz_date, v[Q_DATE], 17);
    const char *e = v[Q_EXPIRES];
    size_t elen = strlen(e);
    long expires = elen && elen <= 7 && all_digits(e, elen) ? strtol(e, NULL, 10) : -1;
    if (expires < 1 || expires > SIGV4_MAX_EXPIRES)
        return wh_err_set(err, 400, E_INCOMPLETE,
                          "X-Amz-Expires must be between 1 and %ld seconds, not '%.32s'.",
                          SIGV4_MAX_EXPIRES, e);
    a->expires = expires;
    a->presigned = true;
    return 0;
}

int sigv4_parse(const struct sigv4_request *req, struct sigv4_auth *ret_auth, struct wh_err *err)
{
    const char *authz = NULL;
    size_t n = header_find(req, "authorization", &authz);
    bool presigned = query_is_presigned(req->query);
    if (n == 0 && !presigned)
        return wh_err_set(err, 400, E_MISSING, "Missing Authentication Token");
    if (n > 0 && presigned)
        return wh_err_set(err, 400, E_INCOMPLETE,
                          "Only one auth mechanism allowed; only the X-Amz-Algorithm query "
                          "parameter or the Authorization header should be specified.");
    if (n > 1)
        return wh_err_set(err, 400, E_INCOMPLETE,
                          "The request has more than one Authorization header.");

    struct sigv4_auth a = {0};
    int r = n ? parse_header_form(req, authz, &a, err) : parse_query_form(req, &a, err);
    if (r < 0)
        return r;
    *ret_auth = a;
    return 0;
}

/* ---- canonical request, string to sign, signing key ---- */

char *sigv4_canonical_request(const struct sigv4_request *req, const struct sigv4_auth *auth)
{
    cleanup_buf struct buf b = {0};
    buf_puts(&b, req->method ? req->method : "");
    buf_putc(&b, '\n');
    put_canonical_uri(&b, req->path);
    buf_putc(&b, '\n');
    put_canonical_query(&b, req->query, auth->presigned);
    buf_putc(&b, '\n');
    put_canonical_headers(&b, req, auth->signed_headers);
    buf_putc(&b, '\n');
    buf_puts(&b, auth->signed_headers);
    buf_putc(&b, '\n');
    buf_puts(&b, req->payload_hash ? req->payload_hash : "");
    return buf_steal(&b);
}

char *sigv4_string_to_sign(const struct sigv4_request *req, const struct sigv4_auth *auth)
{
    cleanup_free char *creq = sigv4_canonical_request(req, auth);
    char hash[SHA256_HEX_LEN + 1];
    sha256_hex(creq, strlen(creq), hash);
    return xasprintf(SIGV4_ALGORITHM "\n%s\n%s/%s/%s/aws4_request\n%s", auth->amz_date, auth->date,
                     auth->region, auth->service, hash);
}

static void derive_key(const char *secret, const char *date, const char *region,
                       const char *service, uint8_t out[SHA256_LEN])
{
    size_t klen = strlen(secret) + 4;
    cleanup_free char *k = xmalloc(klen + 1);
    memcpy(k, "AWS4", 4);
    memcpy(k + 4, secret, klen - 4 + 1);
    uint8_t a[SHA256_LEN], b[SHA256_LEN];
    hmac_sha256(k, klen, date, strlen(date), a);
    hmac_sha256(a, sizeof(a), region, strlen(region), b);
    hmac_sha256(b, sizeof(b), service, strlen(service), a);
    hmac_sha256(a, sizeof(a), "aws4_request", strlen("aws4_request"), out);
    explicit_bzero(k, klen);
    explicit_bzero(a, sizeof(a));
    explicit_bzero(b, sizeof(b));
}

/* Derived keys change once a day per (secret, region, service), so a few slots per thread
 * turn four HMACs into none for every request after the first. Per thread, so no lock. */
#define KEY_CACHE_SLOTS 8
#define KEY_CACHE_SECRET_MAX 128

struct key_slot {
    uint64_t used_at; /* 0: empty */
    size_t secret_len;
    char secret[KEY_CACHE_SECRET_MAX];
    char date[9], region[33], service[33];
    uint8_t key[SHA256_LEN];
};

static _Thread_local struct key_slot key_cache[KEY_CACHE_SLOTS];
static _Thread_local uint64_t key_cache_clock;

static bool slot_matches(const struct key_slot *s, const char *secret, size_t slen,
                         const char *date, const char *region, const char *service)
{
    return s->used_at && s->secret_len == slen && strcmp(s->date, date) == 0 &&
           strcmp(s->region, region) == 0 && strcmp(s->service, service) == 0 &&
           ct_memeq(s->secret, secret, slen);
}

static void signing_key(const char *secret, const char *date, const char *region,
                        const char *service, uint8_t out[SHA256_LEN])
{
    size_t slen = strlen(secret);
    bool cacheable = slen <= KEY_CACHE_SECRET_MAX && strlen(date) < 9 && strlen(region) < 33 &&
                     strlen(service) < 33;
    if (!cacheable) {
        derive_key(secret, date, region, service, out);
        return;
    }
    struct key_slot *victim = &key_cache[0];
    for (size_t i = 0; i < KEY_CACHE_SLOTS; i++) {
        struct key_slot *s = &key_cache[i];
        if (slot_matches(s, secret, slen, date, region, service)) {
            s->used_at = ++key_cache_clock;
            memcpy(out, s->key, SHA256_LEN);
            return;
        }
        if (s->used_at < victim->used_at)
            victim = s;
    }
    derive_key(secret, date, region, service, out);
    explicit_bzero(victim, sizeof(*victim));
    victim->used_at = ++key_cache_clock;
    victim->secret_len = slen;
    memcpy(victim->secret, secret, slen);
    strcpy(victim->date, date);
    strcpy(victim->region, region);
    strcpy(victim->service, service);
    memcpy(victim->key, out, SHA256_LEN);
}

void sigv4_signature(const struct sigv4_request *req, const struct sigv4_auth *auth,
                     const char *secret, char out[65])
{
    uint8_t key[SHA256_LEN], mac[SHA256_LEN];
    signing_key(secret, auth->date, auth->region, auth->service, key);
    cleanup_free char *sts = sigv4_string_to_sign(req, auth);
    hmac_sha256(key, sizeof(key), sts, strlen(sts), mac);
    hex_encode(mac, sizeof(mac), out);
    explicit_bzero(key, sizeof(key));
}

/* ---- verification ---- */

static int check_time(const struct sigv4_auth *auth, time_t t, time_t now, struct wh_err *err)
{
    if (auth->presigned) {
        if (auth->expires < 1 || auth->expires > SIGV4_MAX_EXPIRES)
            return wh_err_set(err, 400, E_INCOMPLETE,
                              "X-Amz-Expires must be between 1 and %ld seconds, not %ld.",
                              SIGV4_MAX_EXPIRES, auth->expires);
        if (now > t + auth->expires)
            return wh_err_set(err, 403, E_DENIED, "Request has expired");
        if (t > now + SIGV4_MAX_SKEW_SECONDS)
            return wh_err_set(err, 403, E_DENIED, "Request is not yet valid");
        return 0;
    }
    char now_s[17], edge[17];
    amz_date_format(now, now_s);
    if (t < now - SIGV4_MAX_SKEW_SECONDS) {
        amz_date_format(now - SIGV4_MAX_SKEW_SECONDS, edge);
        return wh_err_set(err, 400, E_INVALID,
                          "Signature expired: %s is now earlier than %s (%s - 15 min.)",
                          auth->amz_date, edge, now_s);
    }
    if (t > now + SIGV4_MAX_SKEW_SECONDS) {
        amz_date_format(now + SIGV4_MAX_SKEW_SECONDS, edge);
        return wh_err_set(err, 400, E_INVALID,
                          "Signature not yet current: %s is still later than %s (%s + 15 min.)",
                          auth->amz_date, edge, now_s);
    }
    return 0;
}

int sigv4_verify(const struct sigv4_request *req, const struct sigv4_auth *auth, const char *secret,
                 time_t now, struct wh_err *err)
{
    time_t t;
    if (amz_date_parse(auth->amz_date, &t) < 0)
        return bad_date(auth->amz_date, err);
    if (strncmp(auth->date, auth->amz_date, 8) != 0 || strlen(auth->date) != 8)
        return wh_err_set(err, 400, E_INVALID,
                          "Date in Credential scope does not match YYYYMMDD from ISO-8601 version "
                          "of date from HTTP: '%s' != '%.8s', from '%s'.",
                          auth->date, auth->amz_date, auth->amz_date);
    if (!signed_headers_contain(auth->signed_headers, "host"))
        return wh_err_set(
            err, 400, E_INVALID,
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
    if (check_time(auth, t, now, err) < 0)
        return -1;

    char expected[65];
    sigv4_signature(req, auth, secret, expected);
    if (strnlen(auth->signature, sizeof(auth->signature)) != 64 ||
        !ct_memeq(expected, auth->signature, 64))
        return wh_err_set(err, 400, E_INVALID,
                          "The request signature we calculated does not match the signature you "
                          "provided. Check your AWS Secret Access Key and signing method. Consult "
                          "the service documentation for details.");
    return 0;
}
