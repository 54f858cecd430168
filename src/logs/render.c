#include "logs/render.h"

#include <stdio.h>
#include <string.h>

#include "core/xalloc.h"

static void reserve(struct logs_text *t, size_t n)
{
    if (t->len + n + 1 <= t->cap)
        return;
    size_t cap = t->cap ? t->cap : 4096;
    while (cap < t->len + n + 1)
        cap *= 2;
    t->p = xrealloc(t->p, cap);
    t->cap = cap;
}

void logs_text_raw(struct logs_text *t, const char *s, size_t n)
{
    reserve(t, n);
    memcpy(t->p + t->len, s, n);
    t->len += n;
}

void logs_text_str(struct logs_text *t, const char *s, size_t n)
{
    reserve(t, n + 2);
    t->p[t->len++] = '"';
    size_t run = 0; /* bytes copied as they are, in runs */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') /* what jansson escapes, nothing more */
            continue;
        logs_text_raw(t, s + run, i - run);
        run = i + 1;
        char esc[8];
        switch (c) {
        case '"': logs_text_lit(t, "\\\""); break;
        case '\\': logs_text_lit(t, "\\\\"); break;
        case '\b': logs_text_lit(t, "\\b"); break;
        case '\f': logs_text_lit(t, "\\f"); break;
        case '\n': logs_text_lit(t, "\\n"); break;
        case '\r': logs_text_lit(t, "\\r"); break;
        case '\t': logs_text_lit(t, "\\t"); break;
        default:
            snprintf(esc, sizeof(esc), "\\u%04X", c);
            logs_text_raw(t, esc, 6);
        }
    }
    logs_text_raw(t, s + run, n - run);
    logs_text_lit(t, "\"");
}

void logs_text_int(struct logs_text *t, int64_t v)
{
    char buf[24], *p = buf + sizeof(buf); /* printf costs more than the rest of an event */
    uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
    do
        *--p = (char)('0' + u % 10);
    while ((u /= 10));
    if (v < 0)
        *--p = '-';
    logs_text_raw(t, p, (size_t)(buf + sizeof(buf) - p));
}

char *logs_text_take(struct logs_text *t)
{
    reserve(t, 0);
    t->p[t->len] = 0;
    char *p = t->p;
    *t = (struct logs_text){0};
    return p;
}
