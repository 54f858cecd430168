/* Turns a k8s-file log (k8s_log.h) into CloudWatch events, resumably. Pure: the caller reads
 * the file and feeds its bytes in order; the reader returns events through a callback.
 *
 * Lines: the P records of one stream are joined with the record that ends the line (stdout
 * and stderr separately, as they interleave); a line becomes one event with the timestamp of
 * its first record, or several when it is longer than max_event (Docker's awslogs split,
 * k8s_utf8_split); invalid UTF-8 becomes U+FFFD; empty lines are no events (CloudWatch
 * refuses empty messages; Docker's driver skips them too). A record still being written (no
 * newline yet) waits for the rest. Malformed records are skipped and counted.
 *
 * Resuming: every event is numbered by its key (the file offset of the record whose reading
 * emitted it, and its index among that record's events) and carries the position at which
 * reading can resume after it: for each stream, the offset of the first record it still
 * needs (the start of its unfinished line, else where reading stands). A reader made from an
 * event's position re-reads from the smaller offset, ignores each stream's records before its
 * own offset and drops every event up to that key: it goes on exactly as the first reader
 * would have after that event, even in the middle of a long line. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "agent/k8s_log.h"

struct k8s_pos {
    int64_t start[2];         /* per stream (enum k8s_stream) */
    int64_t key_off, key_idx; /* the last event delivered; key_off -1: none yet */
};
/* The beginning of a file. */
#define K8S_POS_START ((struct k8s_pos){{0, 0}, -1, 0})

struct k8s_event {
    int64_t ts_ms;
    char *msg;               /* valid UTF-8, 1..max_event bytes, NUL-terminated; owned */
    size_t len;
    enum k8s_stream stream;
    struct k8s_pos pos;      /* where to resume once this event and all before it are shipped */
};

/* Takes ownership of ev->msg. */
typedef void (*k8s_emit_fn)(void *arg, struct k8s_event *ev);

struct k8s_reader;

/* A reader resuming at pos (K8S_POS_START for a new file); max_event: K8S_MAX_EVENT_BYTES
 * (smaller in tests). */
struct k8s_reader *k8s_reader_new(const struct k8s_pos *pos, size_t max_event);
void k8s_reader_free(struct k8s_reader *r);
/* The file offset of the next byte to feed. */
int64_t k8s_reader_offset(const struct k8s_reader *r);
/* Feed the next len bytes of the file. */
void k8s_reader_feed(struct k8s_reader *r, const char *data, size_t len, k8s_emit_fn fn,
                     void *arg);
/* The file ends here for good (its container has exited): an unterminated last record is
 * read as it is and unfinished lines are emitted (stdout's first). */
void k8s_reader_finish(struct k8s_reader *r, k8s_emit_fn fn, void *arg);
/* Records skipped as malformed so far. */
size_t k8s_reader_malformed(const struct k8s_reader *r);
