/* logConfiguration, batches and the shipper's records (contracts in the header). */
#include "agent/logship_rules.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/json.h"
#include "core/xalloc.h"

/* ---- logConfiguration ----------------------------------------------------------------- */

/* The options Docker's awslogs driver knows, plus ECS's awslogs-stream-prefix; Docker refuses
 * any other ("unknown log opt"), and so does the agent. */
static const char *const known_opts[] = {
    "awslogs-group", "awslogs-region", "awslogs-stream-prefix", "awslogs-create-group",
    "awslogs-stream", "awslogs-endpoint", "awslogs-credentials-endpoint",
    "awslogs-datetime-format", "awslogs-multiline-pattern", "awslogs-force-flush-interval-seconds",
    "awslogs-max-buffered-events", "awslogs-format", "mode", "max-buffer-size", "tag",
};

static bool known_opt(const char *k)
{
    for (size_t i = 0; i < ARRAY_SIZE(known_opts); i++)
        if (strcmp(k, known_opts[i]) == 0)
            return true;
    return false;
}

/* Go's strconv.ParseBool, which Docker uses for awslogs-create-group: 1 true, 0 false, -1. */
static int parse_bool(const char *s)
{
    static const char *const t[] = {"1", "t", "T", "true", "TRUE", "True"};
    static const char *const f[] = {"0", "f", "F", "false", "FALSE", "False"};
    for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
        if (strcmp(s, t[i]) == 0)
            return 1;
        if (strcmp(s, f[i]) == 0)
            return 0;
    }
    return -1;
}

static bool region_valid(const char *r)
{
    size_t n = strlen(r);
    if (n == 0 || n > 32)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((r[i] >= 'a' && r[i] <= 'z') || (r[i] >= '0' && r[i] <= '9') || r[i] == '-'))
            return false;
    return true;
}

static int invalid(struct wh_err *err, const char *fmt, const char *a, const char *b)
{
    return wh_err_set(err, 400, "InvalidParameterException", fmt, a, b);
}

static int check_options(const json_t *opts, struct wh_err *err)
{
    const char *k;
    json_t *v;
    if (opts && !json_is_object(opts))
        return invalid(err, "logConfiguration.options: %s%s", "expected an object", "");
    json_object_foreach((json_t *)opts, k, v) {
        if (!known_opt(k))
            return invalid(err, "logConfiguration.options: unknown log opt '%s' for %s log driver",
                           k, "awslogs");
        if (!json_is_string(v))
            return invalid(err, "logConfiguration.options.%s: %s", k, "expected a string");
    }
    return 0;
}

int logship_conf_parse(const json_t *log_configuration, const char *task_id,
                       const char *container_name, const char *runtime_id,
                       const char *default_region, struct logship_conf *ret,
                       const char **ret_ignored, struct wh_err *err)
{
    const char *driver = json_str(log_configuration, "logDriver");
    if (!driver || strcmp(driver, "awslogs") != 0)
        return 0;
    const json_t *opts = json_object_get(log_configuration, "options");
    if (check_options(opts, err) < 0)
        return -1;
    const char *group = json_str(opts, "awslogs-group");
    const char *region = json_str(opts, "awslogs-region");
    const char *prefix = json_str(opts, "awslogs-stream-prefix");
    const char *stream = json_str(opts, "awslogs-stream");
    const char *create = json_str(opts, "awslogs-create-group");
    if (!group || !*group)
        return invalid(err, "logConfiguration.options: %s is required for the %s log driver",
                       "awslogs-group", "awslogs");
    if (!region || !*region)
        region = default_region;
    if (!region_valid(region))
        return invalid(err, "logConfiguration.options.awslogs-region '%s' %s", region,
                       "is not a region name");
    int cg = create ? parse_bool(create) : 0;
    if (cg < 0)
        return invalid(err, "logConfiguration.options.awslogs-create-group '%s' %s", create,
                       "is not a boolean");
    struct logship_conf c = {.group = xstrdup(group), .region = xstrdup(region),
                             .create_group = cg == 1};
    if (prefix && *prefix)
        c.stream = xasprintf("%s/%s/%s", prefix, container_name, task_id);
    else
        c.stream = xstrdup(stream && *stream ? stream : runtime_id);
    *ret_ignored = json_str(opts, "awslogs-multiline-pattern") ? "awslogs-multiline-pattern"
                   : json_str(opts, "awslogs-datetime-format") ? "awslogs-datetime-format"
                                                               : NULL;
    *ret = c;
    return 1;
}

void logship_conf_clear(struct logship_conf *c)
{
    free(c->group);
    free(c->region);
    free(c->stream);
    *c = (struct logship_conf){0};
}

/* ---- batches ---------------------------------------------------------------------------- */

size_t logship_batch_len(const struct k8s_event *ev, size_t n)
{
    size_t bytes = 0, i = 0;
    int64_t lo = 0, hi = 0;
    for (; i < n && i < LOGSHIP_BATCH_EVENTS; i++) {
        size_t size = ev[i].len + LOGSHIP_EVENT_OVERHEAD;
        int64_t nlo = i == 0 || ev[i].ts_ms < lo ? ev[i].ts_ms : lo;
        int64_t nhi = i == 0 || ev[i].ts_ms > hi ? ev[i].ts_ms : hi;
        if (i > 0 && (bytes + size > LOGSHIP_BATCH_BYTES || nhi - nlo > LOGSHIP_BATCH_SPAN_MS))
            break;
        bytes += size;
        lo = nlo;
        hi = nhi;
    }
    return i;
}

struct order_key {
    int64_t ts;
    size_t i;
};

static int by_time(const void *a, const void *b)
{
    const struct order_key *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

size_t *logship_batch_order(const struct k8s_event *ev, size_t n)
{
    size_t *idx = xmalloc((n ? n : 1) * sizeof(*idx));
    bool sorted = true;
    for (size_t i = 0; i < n; i++) {
        idx[i] = i;
        if (i > 0 && ev[i].ts_ms < ev[i - 1].ts_ms)
            sorted = false;
    }
    if (sorted)
        return idx;
    /* Rare: a clock step, or a long line finished after the other stream's later lines. */
    struct order_key *k = xmalloc(n * sizeof(*k));
    for (size_t i = 0; i < n; i++)
        k[i] = (struct order_key){ev[i].ts_ms, i};
    qsort(k, n, sizeof(*k), by_time);
    for (size_t i = 0; i < n; i++)
        idx[i] = k[i].i;
    free(k);
    return idx;
}

int64_t logship_seq_parse(const char *token)
{
    if (!token || !*token)
        return 0;
    char *end;
    errno = 0;
    long long v = strtoll(token, &end, 10);
    return errno || *end || v < 0 ? 0 : (int64_t)v;
}

/* ---- records ----------------------------------------------------------------------------- */

static json_t *pos_json(const struct k8s_pos *p)
{
    return json_pack("{s:[I,I], s:[I,I]}", "start", (json_int_t)p->start[0],
                     (json_int_t)p->start[1], "key", (json_int_t)p->key_off,
                     (json_int_t)p->key_idx);
}

static int pos_parse(const json_t *j, struct k8s_pos *ret)
{
    json_int_t a, b, c, d;
    if (!j || json_unpack((json_t *)j, "{s:[II], s:[II]}", "start", &a, &b, "key", &c, &d) < 0 ||
        a < 0 || b < 0)
        return -1;
    *ret = (struct k8s_pos){{a, b}, c, d};
    return 0;
}

json_t *logship_rec_to_json(const struct logship_rec *r)
{
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:I, s:b, s:b, s:o}", "taskArn",
                          r->task_arn, "container", r->container, "logPath", r->log_path,
                          "group", r->conf.group, "region", r->conf.region, "stream",
                          r->conf.stream, "createGroup", r->conf.create_group, "ino",
                          (json_int_t)r->ino, "exited", r->exited, "done", r->done, "acked",
                          pos_json(&r->acked));
    if (r->has_pending)
        json_object_set_new(j, "pending", json_pack("{s:o, s:I}", "to", pos_json(&r->pending_to),
                                                    "seqBefore", (json_int_t)r->pending_seq));
    return j;
}

int logship_rec_from_json(const json_t *j, struct logship_rec *ret, struct wh_err *err)
{
    const char *arn, *ctr, *path, *group, *region, *stream;
    int create = 0, exited = 0, done = 0;
    json_int_t ino = 0;
    json_t *acked = NULL;
    if (json_unpack((json_t *)j, "{s:s, s:s, s:s, s:s, s:s, s:s, s?b, s?I, s?b, s?b, s:o}",
                    "taskArn", &arn, "container", &ctr, "logPath", &path, "group", &group,
                    "region", &region, "stream", &stream, "createGroup", &create, "ino", &ino,
                    "exited", &exited, "done", &done, "acked", &acked) < 0)
        return wh_err_set(err, 0, "StateError", "a log shipping record lacks a member");
    struct logship_rec r = {.ino = (uint64_t)ino, .exited = exited, .done = done};
    if (pos_parse(acked, &r.acked) < 0)
        return wh_err_set(err, 0, "StateError", "a log shipping record's acked is malformed");
    const json_t *p = json_object_get(j, "pending");
    if (p) {
        if (pos_parse(json_object_get(p, "to"), &r.pending_to) < 0)
            return wh_err_set(err, 0, "StateError", "a log shipping record's pending is malformed");
        r.has_pending = true;
        r.pending_seq = json_int(p, "seqBefore", 0);
    }
    r.task_arn = xstrdup(arn);
    r.container = xstrdup(ctr);
    r.log_path = xstrdup(path);
    r.conf = (struct logship_conf){xstrdup(group), xstrdup(region), xstrdup(stream), create};
    *ret = r;
    return 0;
}

void logship_rec_clear(struct logship_rec *r)
{
    free(r->task_arn);
    free(r->container);
    free(r->log_path);
    logship_conf_clear(&r->conf);
    *r = (struct logship_rec){0};
}

char *logship_rec_file_name(const char *task_arn, const char *container)
{
    const char *slash = strrchr(task_arn, '/');
    const char *id = slash ? slash + 1 : task_arn;
    char *name = xasprintf("%s-%s.json", id, container);
    if (strlen(name) <= 200 && !strchr(id, '.'))
        return name;
    free(name);
    char hex[SHA256_HEX_LEN + 1];
    cleanup_free char *key = xasprintf("%s\n%s", task_arn, container);
    sha256_hex(key, strlen(key), hex);
    return xasprintf("%.32s.json", hex);
}
