/* The awslogs driver's pure parts: what a container's logConfiguration asks for, how events
 * are cut into PutLogEvents batches, and the shipper's record of one container (its JSON,
 * kept in the agent's state dir). */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/k8s_reader.h"
#include "core/err.h"

/* PutLogEvents' limits. */
#define LOGSHIP_BATCH_EVENTS 10000
#define LOGSHIP_BATCH_BYTES 1048576 /* messages plus LOGSHIP_EVENT_OVERHEAD each */
#define LOGSHIP_EVENT_OVERHEAD 26
#define LOGSHIP_BATCH_SPAN_MS (24LL * 3600 * 1000)

struct logship_conf {
    char *group;   /* awslogs-group */
    char *region;  /* awslogs-region, else the agent's */
    char *stream;  /* PREFIX/CONTAINER/TASKID; without a prefix the runtime id, as ECS on EC2
                      names it after the Docker container */
    bool create_group; /* awslogs-create-group "true" */
};

/* A container definition's logConfiguration: 1 with *ret filled for logDriver "awslogs", 0
 * for anything else (its output stays in the host file), -1 with err (type
 * "InvalidParameterException") for awslogs options that cannot work (no awslogs-group, a
 * malformed region, an awslogs-create-group other than "true"/"false"). task_id: the ARN's
 * last component. Options that change nothing here (mode, max-buffer-size, endpoint,
 * credentials-endpoint) are accepted; awslogs-datetime-format and awslogs-multiline-pattern
 * are accepted and ignored (one event per line), reported in *ret_ignored (a static string,
 * or NULL). */
int logship_conf_parse(const json_t *log_configuration, const char *task_id,
                       const char *container_name, const char *runtime_id,
                       const char *default_region, struct logship_conf *ret,
                       const char **ret_ignored, struct wh_err *err);
void logship_conf_clear(struct logship_conf *c);

/* How many of the first events (in the order read) make the next batch: at most 10,000, at
 * most 1 MiB with the 26 bytes per event, spanning at most 24 hours; at least one when n > 0
 * (an event is never larger than a batch). */
size_t logship_batch_len(const struct k8s_event *ev, size_t n);
/* PutLogEvents wants a batch in chronological order: indexes of ev[0, n) sorted by timestamp,
 * equal timestamps in the order read (new array). */
size_t *logship_batch_order(const struct k8s_event *ev, size_t n);

/* A stream's sequence value from uploadSequenceToken / nextSequenceToken (decimal digits):
 * wharfd counts the events ever stored in the stream in it; absent (NULL) or unreadable: 0. */
int64_t logship_seq_parse(const char *token);

/* What the shipper keeps of one container, rewritten atomically as it goes (logship.c says
 * when, and why that ships every line once). */
struct logship_rec {
    char *task_arn, *container, *log_path;
    struct logship_conf conf;
    uint64_t ino;            /* the log file's inode once opened (0: not yet) */
    bool exited;             /* the container has exited: ship the rest, then stop */
    bool done;               /* everything was shipped; kept so the file is not shipped twice */
    struct k8s_pos acked;    /* everything before this was acknowledged by PutLogEvents */
    bool has_pending;        /* a batch was (maybe) sent and not known to be acknowledged */
    struct k8s_pos pending_to; /* where it ends */
    int64_t pending_seq;     /* the stream's sequence value before it */
};

json_t *logship_rec_to_json(const struct logship_rec *r);
int logship_rec_from_json(const json_t *j, struct logship_rec *ret, struct wh_err *err);
void logship_rec_clear(struct logship_rec *r);
/* The record's file name in the state dir: "<task id>-<container>.json", with a hash of the
 * name in place of a name that would make it too long. New string. */
char *logship_rec_file_name(const char *task_arn, const char *container);
