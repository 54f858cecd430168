/* One container's log shipping: read its file, send batches, keep the record.
 *
 * Exactly once across crashes. The record says how far PutLogEvents acknowledged (acked, a
 * k8s_reader position). A crash after wharfd stored a batch and before the record says so
 * would send the batch again; so before each PutLogEvents the record is rewritten with the
 * batch as pending: where it ends and the stream's sequence value before it. wharfd's
 * sequence value (uploadSequenceToken in DescribeLogStreams, nextSequenceToken in the answer)
 * counts the events ever stored in the stream, and the stream is ours alone
 * (PREFIX/CONTAINER/TASK-ID), so whether a pending batch was stored is a question wharfd can
 * answer: it was iff the value has grown. A pending batch is resolved that way after a restart
 * and after any failure that leaves it unknown (a transport error, a 5xx); a 4xx means it was
 * not stored. The batch is not required to be re-sent as it was: once resolved, reading goes
 * on from the acknowledged position. Two fsync'd writes per batch is the price; a batch holds
 * up to 200 ms of output, so that is a few writes a second per busy container. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/aws_client.h"
#include "agent/logship_internal.h"
#include "core/json.h"
#include "core/log.h"
#include "core/xalloc.h"

#define LOGS_TARGET(a) "Logs_20140328." a
#define READ_CHUNK (64u << 10)
#define QUEUE_EVENTS (2 * LOGSHIP_BATCH_EVENTS)
#define QUEUE_BYTES (2u * LOGSHIP_BATCH_BYTES)

static int call(struct logship *ls, const char *region, const char *target, const json_t *in,
                long timeout_ms, json_t **ret_out, struct wh_err *err)
{
    struct aws_client *c = logship_client(ls, region, err);
    if (!c)
        return -1;
    json_t *out = NULL;
    int r = aws_client_call(c, "logs", target, in, timeout_ms, &out, err);
    if (r == 0 && ret_out)
        *ret_out = out;
    else if (r == 0)
        json_decref(out);
    return r;
}

static bool definite(const struct wh_err *err)
{
    return err->status >= 400 && err->status < 500;
}

int ship_setup(struct logship *ls, const struct logship_conf *conf, long timeout_ms,
               struct wh_err *err)
{
    if (conf->create_group) {
        json_auto_t *in = json_pack("{s:s}", "logGroupName", conf->group);
        if (call(ls, conf->region, LOGS_TARGET("CreateLogGroup"), in, timeout_ms, NULL, err) < 0 &&
            strcmp(err->type, "ResourceAlreadyExistsException") != 0)
            return wh_err_prefix(err, "failed to create Cloudwatch log group: %s: ", err->type);
    }
    json_auto_t *in = json_pack("{s:s, s:s}", "logGroupName", conf->group, "logStreamName",
                                conf->stream);
    if (call(ls, conf->region, LOGS_TARGET("CreateLogStream"), in, timeout_ms, NULL, err) < 0 &&
        strcmp(err->type, "ResourceAlreadyExistsException") != 0)
        return wh_err_prefix(err, "failed to create Cloudwatch log stream: %s: ", err->type);
    return 0;
}

/* ---- the queue ---------------------------------------------------------------------------- */

static size_t queued(const struct watch *w)
{
    return w->qlen - w->qhead;
}

static void enqueue(void *arg, struct k8s_event *ev)
{
    struct watch *w = arg;
    if (w->qlen == w->qcap) {
        if (w->qhead > 0) {
            memmove(w->q, w->q + w->qhead, queued(w) * sizeof(*w->q));
            w->qlen -= w->qhead;
            w->qhead = 0;
        } else {
            w->qcap = w->qcap ? w->qcap * 2 : 256;
            w->q = xrealloc(w->q, w->qcap * sizeof(*w->q));
        }
    }
    w->q[w->qlen++] = *ev;
    w->qbytes += ev->len;
}

static void dequeue(struct watch *w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        w->qbytes -= w->q[w->qhead].len;
        free(w->q[w->qhead++].msg);
    }
    if (w->qhead == w->qlen)
        w->qhead = w->qlen = 0;
}

/* ---- the file ----------------------------------------------------------------------------- */

static void close_file(struct logship *ls, struct watch *w)
{
    if (w->wd >= 0)
        inotify_rm_watch(ls->ino_fd, w->wd);
    if (w->fd >= 0)
        close(w->fd);
    w->fd = w->wd = -1;
    k8s_reader_free(w->rd);
    w->rd = NULL;
}

/* Start over from the file's beginning: it was replaced or truncated under us. */
static void restart_file(struct logship *ls, struct watch *w, const char *why)
{
    log_warn("%s: container %s: log %s %s: shipping it from its start", w->rec.task_arn,
             w->rec.container, w->rec.log_path, why);
    close_file(ls, w);
    dequeue(w, queued(w));
    w->rec.acked = K8S_POS_START;
    w->rec.ino = 0;
    logship_persist(ls, w);
}

/* Open the file and make the reader (no pending batch may be unresolved). */
static void open_file(struct logship *ls, struct watch *w)
{
    int fd = open(w->rec.log_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT && w->rec.exited) /* never written: nothing to ship */
            w->file_done = true;
        else if (errno != ENOENT)
            log_warn("%s: %s: %s", w->rec.task_arn, w->rec.log_path, strerror(errno));
        return;
    }
    struct stat st;
    fstat(fd, &st);
    int64_t from = w->rec.acked.start[0] < w->rec.acked.start[1] ? w->rec.acked.start[0]
                                                                  : w->rec.acked.start[1];
    if ((w->rec.ino && w->rec.ino != (uint64_t)st.st_ino) || st.st_size < from) {
        restart_file(ls, w, w->rec.ino && w->rec.ino != (uint64_t)st.st_ino ? "was replaced"
                                                                             : "was truncated");
    }
    if (w->rec.ino != (uint64_t)st.st_ino) {
        w->rec.ino = (uint64_t)st.st_ino;
        logship_persist(ls, w);
    }
    w->fd = fd;
    w->wd = inotify_add_watch(ls->ino_fd, w->rec.log_path, IN_MODIFY);
    w->rd = k8s_reader_new(&w->rec.acked, K8S_MAX_EVENT_BYTES);
}

/* Read what the file holds, up to the queue's limits; at its end after the container's exit
 * (and a quiet moment), finish it. */
static void read_file(struct logship *ls, struct watch *w, double now)
{
    w->more = false;
    for (;;) {
        if (queued(w) >= QUEUE_EVENTS || w->qbytes >= QUEUE_BYTES) {
            w->more = true;
            return;
        }
        int64_t off = k8s_reader_offset(w->rd);
        ssize_t n = pread(w->fd, ls->buf, READ_CHUNK, off);
        if (n < 0) {
            log_warn("%s: %s: %s", w->rec.task_arn, w->rec.log_path, strerror(errno));
            return;
        }
        if (n == 0) {
            struct stat st;
            if (fstat(w->fd, &st) == 0 && st.st_size < off) {
                restart_file(ls, w, "was truncated");
                return;
            }
            break;
        }
        size_t before = queued(w);
        k8s_reader_feed(w->rd, ls->buf, (size_t)n, enqueue, w);
        if (before == 0 && queued(w) > 0)
            w->first_at = now;
    }
    if (w->rec.exited && now - w->exited_seen >= LOGSHIP_EXIT_GRACE_S && !w->file_done) {
        size_t before = queued(w);
        k8s_reader_finish(w->rd, enqueue, w);
        if (before == 0 && queued(w) > 0)
            w->first_at = now;
        w->file_done = true;
    }
    size_t bad = k8s_reader_malformed(w->rd);
    if (bad > w->malformed_seen) {
        log_warn("%s: container %s: %zu malformed records skipped in %s", w->rec.task_arn,
                 w->rec.container, bad - w->malformed_seen, w->rec.log_path);
        w->malformed_seen = bad;
    }
}

/* ---- calls ------------------------------------------------------------------------------- */

static void backoff(struct watch *w, double now, const struct wh_err *err, const char *what)
{
    w->failures++;
    double d = 0.5;
    for (int i = 1; i < w->failures && d < 30; i++)
        d *= 2;
    w->retry_at = now + d;
    if (w->failures == 1 || w->failures % 10 == 0)
        log_warn("%s: container %s: %s (%s) failed: %s: %s; retrying in %.1f s", w->rec.task_arn,
                 w->rec.container, what, w->rec.conf.stream, err->type, err->msg, d);
}

/* The stream's sequence value; -ENOENT when the stream (or its group) is gone. */
static int describe_seq(struct logship *ls, struct watch *w, long timeout_ms, int64_t *ret,
                        struct wh_err *err)
{
    const struct logship_conf *c = &w->rec.conf;
    json_auto_t *in = json_pack("{s:s, s:s, s:i}", "logGroupName", c->group,
                                "logStreamNamePrefix", c->stream, "limit", 50);
    json_auto_t *out = NULL;
    if (call(ls, c->region, LOGS_TARGET("DescribeLogStreams"), in, timeout_ms, &out, err) < 0)
        return strcmp(err->type, "ResourceNotFoundException") == 0 ? -ENOENT : -1;
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(out, "logStreams"), i, s) {
        const char *name = json_str(s, "logStreamName");
        if (name && strcmp(name, c->stream) == 0) {
            *ret = logship_seq_parse(json_str(s, "uploadSequenceToken"));
            return 0;
        }
    }
    wh_err_set(err, 400, "ResourceNotFoundException", "The specified log stream does not exist.");
    return -ENOENT;
}

/* Make w ready to send: its group and stream exist, a pending batch is resolved, the stream's
 * sequence value is known. */
static int get_ready(struct logship *ls, struct watch *w, long timeout_ms, struct wh_err *err)
{
    if (w->need_setup) {
        if (ship_setup(ls, &w->rec.conf, timeout_ms, err) < 0)
            return -1;
        w->need_setup = false;
        w->seq_known = false;
    }
    if (w->seq_known && !w->rec.has_pending)
        return 0;
    int64_t seq = 0;
    int r = describe_seq(ls, w, timeout_ms, &seq, err);
    if (r == -ENOENT) {
        w->need_setup = true; /* deleted under us: nothing of a pending batch is there */
        seq = 0;
    } else if (r < 0) {
        return -1;
    }
    if (w->rec.has_pending) {
        bool stored = seq > w->rec.pending_seq;
        if (stored) {
            w->rec.acked = w->rec.pending_to;
            dequeue(w, w->inflight);
        }
        log_info("%s: container %s: the batch in flight before %s %s stored", w->rec.task_arn,
                 w->rec.container, w->rd ? "a failure" : "the restart", stored ? "was" : "was not");
        w->rec.has_pending = false;
        w->inflight = 0;
        logship_persist(ls, w);
    }
    w->seq = seq;
    w->seq_known = r == 0;
    return r == 0 ? 0 : -1;
}

static json_t *batch_json(const struct watch *w, size_t n)
{
    const struct k8s_event *ev = w->q + w->qhead;
    cleanup_free size_t *order = logship_batch_order(ev, n);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct k8s_event *e = &ev[order[i]];
        json_t *o = json_object();
        json_object_set_new(o, "timestamp", json_integer(e->ts_ms));
        json_object_set_new(o, "message", json_stringn_nocheck(e->msg, e->len));
        json_array_append_new(arr, o);
    }
    return json_pack("{s:s, s:s, s:o}", "logGroupName", w->rec.conf.group, "logStreamName",
                     w->rec.conf.stream, "logEvents", arr);
}

static void acknowledge(struct logship *ls, struct watch *w, size_t n)
{
    w->rec.acked = w->rec.pending_to;
    w->rec.has_pending = false;
    w->inflight = 0;
    dequeue(w, n);
    logship_persist(ls, w);
}

/* One PutLogEvents of the next batch: 0 when it was stored (or dropped for good), -1. */
static int send_batch(struct logship *ls, struct watch *w, long timeout_ms, struct wh_err *err)
{
    size_t n = logship_batch_len(w->q + w->qhead, queued(w));
    w->rec.has_pending = true;
    w->rec.pending_to = w->q[w->qhead + n - 1].pos;
    w->rec.pending_seq = w->seq;
    int pr = logship_persist(ls, w);
    if (pr < 0) { /* without the record of it, a batch must not leave */
        w->rec.has_pending = false;
        return wh_err_set(err, 0, "StateError", "cannot write the record: %s", strerror(-pr));
    }
    w->inflight = n;
    json_auto_t *in = batch_json(w, n);
    json_auto_t *out = NULL;
    const struct logship_conf *c = &w->rec.conf;
    if (call(ls, c->region, LOGS_TARGET("PutLogEvents"), in, timeout_ms, &out, err) == 0) {
        const char *tok = json_str(out, "nextSequenceToken");
        w->seq = logship_seq_parse(tok);
        w->seq_known = tok != NULL;
        const json_t *rej = json_object_get(out, "rejectedLogEventsInfo");
        if (rej) {
            cleanup_free char *why = json_text(rej);
            log_warn("%s: container %s: wharfd rejected events of a batch (too old or too new): "
                     "%s", w->rec.task_arn, w->rec.container, why);
        }
        acknowledge(ls, w, n);
        return 0;
    }
    if (!definite(err)) { /* stored or not: get_ready will ask */
        w->seq_known = false;
        return -1;
    }
    if (strcmp(err->type, "InvalidParameterException") == 0) {
        /* Never to be accepted (it should not happen: the batch keeps the rules): dropped,
         * or the container's logs would stop here for good. */
        log_error("%s: container %s: wharfd refused %zu events, dropped: %s", w->rec.task_arn,
                  w->rec.container, n, err->msg);
        acknowledge(ls, w, n);
        return 0;
    }
    w->rec.has_pending = false; /* refused: not stored */
    w->inflight = 0;
    logship_persist(ls, w);
    if (strcmp(err->type, "ResourceNotFoundException") == 0)
        w->need_setup = true;
    return -1;
}

/* ---- the step ------------------------------------------------------------------------------- */

static bool flush_due(const struct watch *w, double now, bool final)
{
    size_t n = queued(w);
    return n > 0 && (final || w->file_done || w->more || n >= LOGSHIP_BATCH_EVENTS ||
                     w->qbytes + n * LOGSHIP_EVENT_OVERHEAD >= LOGSHIP_BATCH_BYTES ||
                     now - w->first_at >= LOGSHIP_FLUSH_S);
}

static bool finished(const struct watch *w)
{
    return w->file_done && queued(w) == 0 && !w->rec.has_pending;
}

void ship_step(struct logship *ls, struct watch *w, double now, bool final)
{
    if (w->rec.done)
        return;
    pthread_mutex_lock(&ls->mu);
    if (w->exit_req)
        w->rec.exited = true;
    pthread_mutex_unlock(&ls->mu);
    if (w->rec.exited && !w->exited_seen)
        w->exited_seen = now;
    if (!w->rd && !w->rec.has_pending && !w->file_done)
        open_file(ls, w);
    if (w->rd)
        read_file(ls, w, now);
    bool net = w->need_setup || w->rec.has_pending || flush_due(w, now, final);
    if (net && now >= w->retry_at) {
        long timeout = final ? LOGSHIP_FINAL_CALL_MS : LOGSHIP_CALL_MS;
        struct wh_err err = {0};
        int r = get_ready(ls, w, timeout, &err);
        if (r == 0 && !w->rd && !w->file_done) {
            open_file(ls, w);
            if (w->rd)
                read_file(ls, w, now);
        }
        int sent = 0;
        while (r == 0 && flush_due(w, now, final) && !(final && sent > 0)) {
            r = send_batch(ls, w, timeout, &err);
            sent++;
        }
        if (r < 0)
            backoff(w, now, &err, w->need_setup ? "creating the log stream" : "PutLogEvents");
        else
            w->failures = 0;
    }
    if (finished(w)) {
        w->rec.done = true;
        logship_persist(ls, w);
        close_file(ls, w);
        log_info("%s: container %s: its log is shipped", w->rec.task_arn, w->rec.container);
    }
}

double ship_next(const struct watch *w, double now)
{
    if (w->rec.done)
        return 0;
    double t = 0;
#define SOONER(x) (t = (t == 0 || (x) < t) ? (x) : t)
    bool net = w->need_setup || w->rec.has_pending || queued(w) > 0;
    if (net && w->retry_at > now)
        SOONER(w->retry_at);
    else if (w->need_setup || w->rec.has_pending || w->more || w->file_done)
        SOONER(now);
    else if (queued(w) > 0)
        SOONER(w->first_at + LOGSHIP_FLUSH_S);
    if (w->exited_seen && !w->file_done && w->exited_seen + LOGSHIP_EXIT_GRACE_S > now)
        SOONER(w->exited_seen + LOGSHIP_EXIT_GRACE_S);
    if (!w->rd && !w->file_done && !w->rec.has_pending) /* the file is not there yet */
        SOONER(now + 0.25);
#undef SOONER
    return t;
}

void ship_watch_free(struct logship *ls, struct watch *w)
{
    if (!w)
        return;
    close_file(ls, w);
    dequeue(w, queued(w));
    free(w->q);
    json_decref(w->disk);
    free(w->rec_path);
    logship_rec_clear(&w->rec);
    free(w);
}
