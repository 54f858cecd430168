/* k8s-file → events, with positions to resume from (the contract is in the header). */
#include "agent/k8s_reader.h"

#include <string.h>

#include "core/xalloc.h"

/* wharf-shim never writes records this long (its buffer is 8 KiB); a "record" without a newline
 * within this many bytes is cut here so that memory stays bounded whatever the file holds. */
#define MAX_RECORD (1u << 20)
/* Events emitted at the end of a finished file are keyed (eof - 1, FLUSH_IDX × (stream + 1)
 * + i): after every record's events (no record that emits events starts at eof - 1, which
 * holds the last record's newline) and before those of records that might still appear at
 * eof. */
#define FLUSH_IDX (INT64_C(1) << 40)

struct line {
    char *p;
    size_t len, cap;
    int64_t start; /* offset of the line's first record; -1: no line under way */
    int64_t ts;
};

struct k8s_reader {
    struct k8s_pos from;
    size_t max_event;
    char *buf;              /* bytes fed and not yet read as records */
    size_t head, len, cap;  /* buf[head, len) is unread */
    int64_t buf_off;        /* the file offset of buf[0] */
    struct line line[2];
    int64_t rec_off, rec_end, idx; /* the record being read; idx: its next event's index */
    size_t malformed;
};

struct k8s_reader *k8s_reader_new(const struct k8s_pos *pos, size_t max_event)
{
    struct k8s_reader *r = xcalloc(1, sizeof(*r));
    r->from = *pos;
    r->max_event = max_event;
    r->buf_off = pos->start[0] < pos->start[1] ? pos->start[0] : pos->start[1];
    for (int s = 0; s < 2; s++)
        r->line[s].start = -1;
    return r;
}

void k8s_reader_free(struct k8s_reader *r)
{
    if (!r)
        return;
    free(r->buf);
    for (int s = 0; s < 2; s++)
        free(r->line[s].p);
    free(r);
}

int64_t k8s_reader_offset(const struct k8s_reader *r)
{
    return r->buf_off + (int64_t)r->len;
}

size_t k8s_reader_malformed(const struct k8s_reader *r)
{
    return r->malformed;
}

static bool after_from(const struct k8s_reader *r, int64_t off, int64_t idx)
{
    return off > r->from.key_off || (off == r->from.key_off && idx > r->from.key_idx);
}

/* One event of stream s: data[0, n) of its line. last: the line ends with it (set before the
 * position is taken, which then no longer needs the line). */
static void emit(struct k8s_reader *r, enum k8s_stream s, const char *data, size_t n, bool last,
                 k8s_emit_fn fn, void *arg)
{
    int64_t idx = r->idx++;
    if (last)
        r->line[s].start = -1;
    if (!after_from(r, r->rec_off, idx))
        return; /* delivered before the position this reader resumed from */
    struct k8s_event ev = {.ts_ms = r->line[s].ts, .stream = s};
    ev.msg = k8s_utf8_sanitize(data, n, &ev.len);
    for (int k = 0; k < 2; k++)
        ev.pos.start[k] = r->line[k].start >= 0 ? r->line[k].start : r->rec_end;
    ev.pos.key_off = r->rec_off;
    ev.pos.key_idx = idx;
    fn(arg, &ev);
}

/* Emit what of stream s's line is settled: every full-size piece whose cut cannot move when
 * more of the line arrives (the character at the cut and those before it are complete: 4
 * bytes follow it), and at the end of the line (final) the rest. */
static void drain_line(struct k8s_reader *r, enum k8s_stream s, bool final, k8s_emit_fn fn,
                       void *arg)
{
    struct line *l = &r->line[s];
    size_t off = 0;
    while (off < l->len) {
        size_t rest = l->len - off, eff;
        size_t n = k8s_utf8_split(l->p + off, rest, r->max_event, &eff);
        if (n == rest) {
            if (final) {
                emit(r, s, l->p + off, n, true, fn, arg);
                off += n;
            }
            break;
        }
        if (!final && n + 4 > rest)
            break;
        emit(r, s, l->p + off, n, false, fn, arg);
        off += n;
    }
    if (off > 0) {
        memmove(l->p, l->p + off, l->len - off);
        l->len -= off;
    }
    if (final) {
        l->len = 0;
        l->start = -1;
    }
}

static void append(struct line *l, const char *p, size_t n)
{
    if (n == 0)
        return;
    if (l->len + n > l->cap) {
        l->cap = (l->len + n) * 2;
        l->p = xrealloc(l->p, l->cap);
    }
    memcpy(l->p + l->len, p, n);
    l->len += n;
}

/* The record text[0, n) at file offsets [off, end). */
static void read_record(struct k8s_reader *r, const char *text, size_t n, int64_t off,
                        int64_t end, k8s_emit_fn fn, void *arg)
{
    r->rec_off = off;
    r->rec_end = end;
    r->idx = 0;
    struct k8s_record rec;
    if (k8s_record_parse(text, n, &rec) < 0) {
        r->malformed++;
        return;
    }
    if (off < r->from.start[rec.stream])
        return; /* this stream's, before where it resumes: read to its end already */
    struct line *l = &r->line[rec.stream];
    if (l->start < 0) {
        l->start = off;
        l->ts = rec.ts_ms;
    }
    append(l, rec.text, rec.len);
    drain_line(r, rec.stream, !rec.partial, fn, arg);
}

void k8s_reader_feed(struct k8s_reader *r, const char *data, size_t len, k8s_emit_fn fn,
                     void *arg)
{
    if (len == 0)
        return;
    if (r->len + len > r->cap) {
        r->cap = (r->len + len) * 2;
        r->buf = xrealloc(r->buf, r->cap);
    }
    memcpy(r->buf + r->len, data, len);
    r->len += len;
    for (;;) {
        char *p = r->buf + r->head;
        size_t avail = r->len - r->head;
        size_t scan = avail < MAX_RECORD ? avail : MAX_RECORD;
        char *nl = memchr(p, '\n', scan);
        if (!nl && avail < MAX_RECORD)
            break;
        size_t n = nl ? (size_t)(nl - p) : MAX_RECORD;
        size_t used = nl ? n + 1 : n;
        int64_t off = r->buf_off + (int64_t)r->head;
        read_record(r, p, n, off, off + (int64_t)used, fn, arg);
        r->head += used;
    }
    if (r->head > 0)
        memmove(r->buf, r->buf + r->head, r->len - r->head);
    r->buf_off += (int64_t)r->head;
    r->len -= r->head;
    r->head = 0;
}

void k8s_reader_finish(struct k8s_reader *r, k8s_emit_fn fn, void *arg)
{
    int64_t eof = k8s_reader_offset(r);
    if (r->len > 0) { /* a record cut short: read what there is */
        read_record(r, r->buf, r->len, r->buf_off, eof, fn, arg);
        r->buf_off = eof;
        r->len = 0;
    }
    r->rec_off = eof - 1;
    r->rec_end = eof;
    for (int s = 0; s < 2; s++) {
        r->idx = FLUSH_IDX * (s + 1); /* per stream: a resumed reader may have only stderr's */
        if (r->line[s].start >= 0)
            drain_line(r, (enum k8s_stream)s, true, fn, arg);
    }
}
