/* Records, the runtime's error and sync lines for wharf-shim (shim_log.h). */
#include "agent/shim/shim_log.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

size_t shim_timestamp(const struct timespec *ts, char out[SHIM_TS_MAX])
{
    struct tm tm;
    time_t s = ts->tv_sec;
    gmtime_r(&s, &tm);
    int n = snprintf(out, SHIM_TS_MAX, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, (long)ts->tv_nsec);
    return n > 0 && n < SHIM_TS_MAX ? (size_t)n : 0;
}

/* " stdout F " around the timestamp and the line, plus the newline a last part gets. */
#define HEADER_EXTRA (1 + 6 + 3 + 1)

size_t shim_records_max(size_t ts_len, size_t len)
{
    /* every byte may be a newline: one record per byte, plus the final part */
    return (len + 1) * (ts_len + HEADER_EXTRA) + len;
}

static char *record(char *o, const char *ts, size_t ts_len, const char *stream, char tag,
                    const char *text, size_t n)
{
    memcpy(o, ts, ts_len);
    o += ts_len;
    *o++ = ' ';
    size_t sl = strlen(stream);
    memcpy(o, stream, sl);
    o += sl;
    *o++ = ' ';
    *o++ = tag;
    *o++ = ' ';
    memcpy(o, text, n);
    o += n;
    *o++ = '\n';
    return o;
}

size_t shim_records(const char *ts, const char *stream, const char *data, size_t len, char *out)
{
    size_t ts_len = strlen(ts);
    char *o = out;
    const char *p = data, *end = data + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) {
            o = record(o, ts, ts_len, stream, 'P', p, (size_t)(end - p));
            break;
        }
        o = record(o, ts, ts_len, stream, 'F', p, (size_t)(nl - p));
        p = nl + 1;
    }
    return (size_t)(o - out);
}

/* The JSON string value of "key" in one line (the first occurrence), unescaped into out. */
static bool json_field(const char *line, size_t len, const char *key, char *out, size_t cap)
{
    char pat[32];
    int pl = snprintf(pat, sizeof(pat), "\"%s\":\"", key);
    if (pl <= 0 || (size_t)pl >= sizeof(pat))
        return false;
    const char *p = NULL;
    for (size_t i = 0; i + (size_t)pl <= len; i++)
        if (memcmp(line + i, pat, (size_t)pl) == 0) {
            p = line + i + pl;
            break;
        }
    if (!p)
        return false;
    const char *end = line + len;
    size_t n = 0;
    while (p < end && *p != '"') {
        char c = *p++;
        if (c == '\\' && p < end) {
            char e = *p++;
            switch (e) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'u': /* runc escapes only control characters and <>&: keep ASCII, else '?' */
                if (end - p >= 4) {
                    unsigned v = 0;
                    for (int k = 0; k < 4; k++) {
                        char h = p[k];
                        v = v * 16 + (unsigned)(h >= 'a' ? h - 'a' + 10 : h >= 'A' ? h - 'A' + 10
                                                                                   : h - '0');
                    }
                    p += 4;
                    c = v < 0x80 ? (char)v : '?';
                }
                break;
            default: c = e; break; /* \" \\ \/ */
            }
        }
        if (n + 1 < cap)
            out[n++] = c;
    }
    if (cap)
        out[n < cap ? n : cap - 1] = 0;
    return true;
}

int shim_runtime_error(const char *log, size_t len, char *out, size_t cap)
{
    int found = -1;
    const char *p = log, *end = log + len;
    char level[16];
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (json_field(p, n, "level", level, sizeof(level)) &&
            (strcmp(level, "error") == 0 || strcmp(level, "fatal") == 0) &&
            json_field(p, n, "msg", out, cap))
            found = 0;
        p += n + (nl ? 1 : 0);
    }
    return found;
}

size_t shim_sync_ok(pid_t pid, char *out, size_t cap)
{
    int n = snprintf(out, cap, "ok %ld\n", (long)pid);
    return n > 0 ? ((size_t)n < cap ? (size_t)n : cap - 1) : 0;
}

size_t shim_sync_error(const char *msg, char *out, size_t cap)
{
    if (cap < 8)
        return 0;
    size_t n = (size_t)snprintf(out, cap, "error ");
    for (const char *m = msg; *m && n + 2 < cap; m++)
        out[n++] = (unsigned char)*m < 0x20 || *m == 0x7f ? ' ' : *m;
    out[n++] = '\n';
    out[n] = 0;
    return n;
}
