/* Task records: JSON conversions (pure) and their files under DATA/tasks. */
#include "agent/state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/fsutil.h"
#include "core/json.h"
#include "core/log.h"
#include "core/xalloc.h"

static const char *const task_names[] = {NULL, "PENDING", "RUNNING", "STOPPED"};
static const char *const ctr_names[] = {"PENDING", "PENDING", "RUNNING", "STOPPED"};
static const char *const ctr_keys[] = {"NONE", "CREATED", "RUNNING", "STOPPED"};
static const char *const health_names[] = {NULL, "UNKNOWN", "HEALTHY", "UNHEALTHY"};
static const char *const health_keys[] = {"NONE", "UNKNOWN", "HEALTHY", "UNHEALTHY"};
static const char *const task_keys[] = {"NONE", "PENDING", "RUNNING", "STOPPED"};

const char *task_phase_name(enum task_phase p)
{
    return (unsigned)p < ARRAY_SIZE(task_names) ? task_names[p] : NULL;
}

const char *ctr_phase_name(enum ctr_phase p)
{
    return (unsigned)p < ARRAY_SIZE(ctr_names) ? ctr_names[p] : "PENDING";
}

const char *ctr_health_name(enum ctr_health h)
{
    return (unsigned)h < ARRAY_SIZE(health_names) ? health_names[h] : NULL;
}

static int lookup(const char *const *table, size_t n, const char *s, int def)
{
    for (size_t i = 0; s && i < n; i++)
        if (strcmp(table[i], s) == 0)
            return (int)i;
    return def;
}

/* "arn:…:task/CLUSTER/ID" → CLUSTER (new string), or NULL for old-style "task/ID". */
static char *cluster_of_arn(const char *arn)
{
    const char *t = strstr(arn, ":task/");
    if (!t)
        return NULL;
    t += 6;
    const char *slash = strchr(t, '/');
    return slash ? xstrndup(t, (size_t)(slash - t)) : NULL;
}

void task_rec_free(struct task_rec *t)
{
    if (!t)
        return;
    free(t->arn);
    free(t->id);
    free(t->cluster);
    json_decref(t->desired);
    json_decref(t->network);
    free(t->stop_code);
    free(t->stopped_reason);
    for (size_t i = 0; i < t->n; i++) {
        free(t->c[i].name);
        free(t->c[i].runtime_id);
        free(t->c[i].image_digest);
        free(t->c[i].image_id);
        free(t->c[i].reason);
    }
    free(t->c);
    free(t);
}

static const json_t *containers_of(const json_t *desired)
{
    return json_object_get(json_object_get(desired, "taskDefinition"), "containerDefinitions");
}

const json_t *task_rec_ctr_def(const struct task_rec *t, size_t i)
{
    return json_array_get(containers_of(t->desired), i);
}

struct ctr_rec *task_rec_ctr(struct task_rec *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->c[i].name, name) == 0)
            return &t->c[i];
    return NULL;
}

int task_rec_new(json_t *desired, const char *default_cluster, struct task_rec **ret,
                 struct wh_err *err)
{
    const char *arn = json_str(desired, "taskArn");
    const json_t *defs = containers_of(desired);
    if (!arn || !strrchr(arn, '/'))
        return wh_err_set(err, 0, "ProtocolError", "desired task without a taskArn");
    if (!json_is_array(defs) || json_array_size(defs) == 0)
        return wh_err_set(err, 0, "ProtocolError", "task %s: no taskDefinition.containerDefinitions",
                          arn);
    struct task_rec *t = xcalloc(1, sizeof(*t));
    t->arn = xstrdup(arn);
    t->id = xstrdup(strrchr(arn, '/') + 1);
    t->cluster = cluster_of_arn(arn);
    if (!t->cluster)
        t->cluster = xstrdup(default_cluster);
    t->desired = json_incref(desired);
    t->n = json_array_size(defs);
    t->c = xcalloc(t->n, sizeof(*t->c));
    for (size_t i = 0; i < t->n; i++) {
        const json_t *d = json_array_get(defs, i);
        const char *name = json_str(d, "name");
        t->c[i].name = xstrdup(name ? name : "");
        if (json_object_get(d, "healthCheck"))
            t->c[i].health = t->c[i].rep_health = HEALTH_UNKNOWN;
    }
    *ret = t;
    return 0;
}

static void set_num(json_t *o, const char *key, double v)
{
    if (v > 0)
        json_object_set_new(o, key, json_real(v));
}

static json_t *ctr_to_json(const struct ctr_rec *c)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:b}", "name", c->name, "phase", ctr_keys[c->phase],
                          "health", health_keys[c->health], "repPhase", ctr_keys[c->rep_phase],
                          "repHealth", health_keys[c->rep_health], "repReason", c->rep_reason,
                          "repHasExit", c->rep_has_exit);
    json_set_str(o, "runtimeId", c->runtime_id);
    json_set_str(o, "imageDigest", c->image_digest);
    json_set_str(o, "imageId", c->image_id);
    json_set_str(o, "reason", c->reason);
    if (c->stop_signal)
        json_object_set_new(o, "stopSignal", json_integer(c->stop_signal));
    if (c->has_exit)
        json_object_set_new(o, "exitCode", json_integer(c->exit_code));
    set_num(o, "startedAt", c->started_at);
    set_num(o, "finishedAt", c->finished_at);
    return o;
}

json_t *task_rec_to_json(const struct task_rec *t)
{
    json_t *ctrs = json_array();
    for (size_t i = 0; i < t->n; i++)
        json_array_append_new(ctrs, ctr_to_json(&t->c[i]));
    json_t *o = json_pack("{s:s,s:s,s:O,s:b,s:s,s:s,s:b,s:o}", "taskArn", t->arn, "cluster",
                          t->cluster, "desired", t->desired, "desiredStop", t->desired_stop,
                          "phase", task_keys[t->phase], "repPhase", task_keys[t->rep_phase],
                          "cleaned", t->cleaned, "containers", ctrs);
    set_num(o, "pullStartedAt", t->pull_started_at);
    set_num(o, "pullStoppedAt", t->pull_stopped_at);
    set_num(o, "executionStoppedAt", t->execution_stopped_at);
    set_num(o, "stopRequestedAt", t->stop_requested_at);
    json_set_str(o, "stopCode", t->stop_code);
    json_set_str(o, "stoppedReason", t->stopped_reason);
    if (t->network)
        json_object_set(o, "network", t->network);
    return o;
}

static double num(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : 0;
}

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

static void ctr_from_json(const json_t *j, struct ctr_rec *c)
{
    c->runtime_id = dup_or_null(json_str(j, "runtimeId"));
    c->image_digest = dup_or_null(json_str(j, "imageDigest"));
    c->image_id = dup_or_null(json_str(j, "imageId"));
    c->reason = dup_or_null(json_str(j, "reason"));
    c->stop_signal = (int)json_int(j, "stopSignal", 0);
    c->phase = lookup(ctr_keys, ARRAY_SIZE(ctr_keys), json_str(j, "phase"), CTR_NONE);
    c->rep_phase = lookup(ctr_keys, ARRAY_SIZE(ctr_keys), json_str(j, "repPhase"), CTR_NONE);
    c->health = lookup(health_keys, ARRAY_SIZE(health_keys), json_str(j, "health"), c->health);
    c->rep_health = lookup(health_keys, ARRAY_SIZE(health_keys), json_str(j, "repHealth"),
                           c->rep_health);
    c->rep_reason = json_bool(j, "repReason", false);
    c->rep_has_exit = json_bool(j, "repHasExit", false);
    const json_t *ec = json_object_get(j, "exitCode");
    if (json_is_integer(ec)) {
        c->has_exit = true;
        c->exit_code = (int)json_integer_value(ec);
    }
    c->started_at = num(j, "startedAt");
    c->finished_at = num(j, "finishedAt");
}

int task_rec_from_json(const json_t *j, struct task_rec **ret, struct wh_err *err)
{
    json_t *desired = json_object_get(j, "desired");
    struct task_rec *t;
    if (!desired || task_rec_new(desired, json_str(j, "cluster") ? json_str(j, "cluster") : "",
                                 &t, err) < 0)
        return wh_err_set(err, 0, "StateError", "record without a usable desired task");
    if (json_str(j, "cluster")) {
        free(t->cluster);
        t->cluster = xstrdup(json_str(j, "cluster"));
    }
    t->desired_stop = json_bool(j, "desiredStop", false);
    t->phase = lookup(task_keys, ARRAY_SIZE(task_keys), json_str(j, "phase"), TASK_NONE);
    t->rep_phase = lookup(task_keys, ARRAY_SIZE(task_keys), json_str(j, "repPhase"), TASK_NONE);
    t->cleaned = json_bool(j, "cleaned", false);
    t->pull_started_at = num(j, "pullStartedAt");
    t->pull_stopped_at = num(j, "pullStoppedAt");
    t->execution_stopped_at = num(j, "executionStoppedAt");
    t->stop_requested_at = num(j, "stopRequestedAt");
    t->stop_code = dup_or_null(json_str(j, "stopCode"));
    t->stopped_reason = dup_or_null(json_str(j, "stoppedReason"));
    t->network = json_incref(json_object_get(j, "network"));
    size_t i;
    json_t *cj;
    json_array_foreach(json_object_get(j, "containers"), i, cj) {
        struct ctr_rec *c = json_str(cj, "name") ? task_rec_ctr(t, json_str(cj, "name")) : NULL;
        if (c)
            ctr_from_json(cj, c);
    }
    *ret = t;
    return 0;
}

/* Not forced to disk: the containers a record describes do not outlive a power cut either. */
int state_save(const char *dir, const struct task_rec *t)
{
    json_auto_t *j = task_rec_to_json(t);
    cleanup_free char *text = json_dumps(j, JSON_COMPACT);
    cleanup_free char *path = xasprintf("%s/%s.json", dir, t->id);
    return fs_write_replace(path, text, strlen(text), 0600);
}

int state_remove(const char *dir, const char *id)
{
    cleanup_free char *path = xasprintf("%s/%s.json", dir, id);
    if (unlink(path) < 0 && errno != ENOENT)
        return -errno;
    return fs_fsync_dir_of(path);
}

static bool is_record_name(const char *n)
{
    size_t len = strlen(n);
    return len > 5 && n[0] != '.' && strcmp(n + len - 5, ".json") == 0;
}

int state_load_all(const char *dir, struct task_rec ***ret, size_t *ret_n, struct wh_err *err)
{
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT) {
            *ret = NULL;
            *ret_n = 0;
            return 0;
        }
        return wh_err_set(err, 0, "IOError", "cannot read %s: %s", dir, strerror(errno));
    }
    struct task_rec **v = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!is_record_name(de->d_name))
            continue;
        cleanup_free char *path = xasprintf("%s/%s", dir, de->d_name);
        cleanup_free char *text = NULL;
        json_error_t je;
        if (fs_read_file(path, 64u << 20, &text, NULL) < 0)
            continue;
        json_auto_t *j = json_loads(text, 0, &je);
        struct task_rec *t = NULL;
        struct wh_err e = {0};
        if (!j || task_rec_from_json(j, &t, &e) < 0) {
            log_warn("task record %s is damaged (%s); ignoring it", path, j ? e.msg : je.text);
            continue;
        }
        v = xrealloc(v, (n + 1) * sizeof(*v));
        v[n++] = t;
    }
    closedir(d);
    *ret = v;
    *ret_n = n;
    return 0;
}
