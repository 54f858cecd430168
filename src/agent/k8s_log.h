/* k8s-file container logs (the CRI logging format, as wharf-shim and conmon write them):
 *
 *   <RFC3339Nano timestamp> <stdout|stderr> <P|F>[:<more tags>] <text>\n
 *
 * P: the text continues in the same stream's next record (the shim cuts lines longer than its
 * buffer, and output that has no newline yet); F: the text ends a line. And how Docker's
 * awslogs driver cuts a line into CloudWatch events. Pure functions. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest event message: PutLogEvents' 262,144 bytes less its 26 bytes per event. */
#define K8S_MAX_EVENT_BYTES (262144 - 26)

enum k8s_stream { K8S_STDOUT, K8S_STDERR };

struct k8s_record {
    int64_t ts_ms;           /* epoch milliseconds */
    enum k8s_stream stream;
    bool partial;            /* P */
    const char *text;        /* borrowed from the line; without the record's newline */
    size_t len;
};

/* "2024-05-01T10:00:00.123456789+02:00" (also "Z", any number of fraction digits or none)
 * → epoch milliseconds (fraction truncated). 0 or -1 when it is not such a timestamp. */
int k8s_time_parse(const char *s, size_t n, int64_t *ret_ms);

/* One record, without its terminating newline. 0 or -1 (malformed). */
int k8s_record_parse(const char *line, size_t len, struct k8s_record *ret);

/* Docker's awslogs split (findValidSplit): the longest prefix of s whose length, once every
 * byte that is not part of valid UTF-8 counts as U+FFFD (3 bytes), is at most max. Returns
 * the prefix's length in s; *ret_effective its length once normalised. Never cuts a valid
 * character. */
size_t k8s_utf8_split(const char *s, size_t len, size_t max, size_t *ret_effective);

/* s with every byte that is not part of valid UTF-8 replaced by U+FFFD, as Go's JSON encoder
 * (and so Docker) sends it: a new NUL-terminated string of *ret_len bytes. */
char *k8s_utf8_sanitize(const char *s, size_t len, size_t *ret_len);
