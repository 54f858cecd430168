/* Desired state (poll answers) against the tasks this agent runs. */
#include "agent/reconcile.h"

#include <dirent.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/cgroup.h"
#include "agent/engine.h"
#include "agent/net/task_net.h"
#include "agent/net/netns.h"
#include "agent/report.h"
#include "agent/rmtree.h"
#include "agent/rootfs.h"
#include "agent/runtime.h"
#include "agent/state.h"
#include "agent/task_runner.h"
#include "core/json.h"
#include "core/log.h"
#include "core/xalloc.h"

struct reconciler {
    struct agent *agent;
    pthread_mutex_t mu;
    struct task **v;
    size_t n;
};

int reconciler_new(struct agent *a, struct reconciler **ret)
{
    struct reconciler *r = xcalloc(1, sizeof(*r));
    r->agent = a;
    pthread_mutex_init(&r->mu, NULL);
    *ret = r;
    return 0;
}

static struct task *find_locked(struct reconciler *r, const char *arn)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->v[i]->rec->arn, arn) == 0)
            return r->v[i];
    return NULL;
}

static void add_locked(struct reconciler *r, struct task *t)
{
    r->v = xrealloc(r->v, (r->n + 1) * sizeof(*r->v));
    r->v[r->n++] = t;
}

/* ---- start-up ----------------------------------------------------------------------------- */

static bool id_known(struct task_rec **recs, size_t n, const char *runtime_id)
{
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < recs[i]->n; k++) {
            cleanup_free char *id = task_runtime_id(recs[i]->id, recs[i]->c[k].name);
            if (strcmp(id, runtime_id) == 0)
                return true;
        }
    return false;
}

static bool task_known(struct task_rec **recs, size_t n, const char *task_id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(recs[i]->id, task_id) == 0)
            return true;
    return false;
}

/* Containers under our runc root that no record knows: a record lost with its data. */
static void remove_orphan_containers(struct engine *e, struct task_rec **recs, size_t n)
{
    struct rt_info *list = NULL;
    size_t nl = 0;
    struct wh_err err = {0};
    if (rt_list(&e->rt, &list, &nl, &err) < 0) {
        log_warn("cannot list containers: %s", err.msg);
        return;
    }
    for (size_t i = 0; i < nl; i++) {
        if (id_known(recs, n, list[i].id))
            continue;
        log_warn("container %s belongs to no task this agent knows: removing it", list[i].id);
        if (rt_delete(&e->rt, list[i].id, &err) < 0)
            log_warn("%s", err.msg);
    }
    free(list);
}

/* rootfs/<runtime id> and tasks/<task id> directories no record knows. */
static void remove_orphan_dirs(struct engine *e, struct task_rec **recs, size_t n)
{
    DIR *d = opendir(e->rootfs_dir);
    struct dirent *de;
    struct wh_err err = {0};
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.' || id_known(recs, n, de->d_name))
            continue;
        cleanup_free char *cdir = xasprintf("%s/%s", e->rootfs_dir, de->d_name);
        if (rootfs_remove(cdir, &err) == 0)
            rmdir(cdir);
        else
            log_warn("%s", err.msg);
    }
    if (d)
        closedir(d);
    d = opendir(e->tasks_dir);
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.' || task_known(recs, n, de->d_name))
            continue;
        cleanup_free char *tdir = xasprintf("%s/%s", e->tasks_dir, de->d_name);
        cleanup_free char *ns = xasprintf("%s/netns", tdir);
        net_ns_remove(ns);
        cgroup_task_remove(de->d_name, NULL);
        rmtree(tdir);
    }
    if (d)
        closedir(d);
}

int reconciler_recover(struct reconciler *r, struct wh_err *err)
{
    struct engine *e = r->agent->engine;
    struct task_rec **recs = NULL;
    size_t n = 0;
    if (state_load_all(e->state_dir, &recs, &n, err) < 0)
        return -1;
    remove_orphan_containers(e, recs, n);
    remove_orphan_dirs(e, recs, n);
    const char **ids = xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        ids[i] = recs[i]->id;
    task_net_gc(r->agent, ids, n); /* networks of tasks the agent has no record of */
    free(ids);
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < n; i++) {
        struct task *t = task_new(r->agent, recs[i], true);
        add_locked(r, t);
        if (task_start(t) < 0)
            log_error("%s: cannot start its runner thread", t->rec->arn);
    }
    pthread_mutex_unlock(&r->mu);
    if (n)
        log_info("found %zu task%s from before the restart", n, n == 1 ? "" : "s");
    free(recs);
    return 0;
}

/* ---- poll answers ------------------------------------------------------------------------- */

static bool is_stopped(const char *s)
{
    return s && strcmp(s, "STOPPED") == 0;
}

/* A task wharfd placed here that this agent does not know yet. */
static void adopt_locked(struct reconciler *r, json_t *entry)
{
    const char *arn = json_str(entry, "taskArn");
    if (is_stopped(json_str(entry, "lastStatus")))
        return;
    struct task_rec *rec;
    struct wh_err err = {0};
    if (task_rec_new(entry, r->agent->cfg.cluster, &rec, &err) < 0) {
        log_error("poll answer: %s", err.msg);
        return;
    }
    rec->desired_stop = is_stopped(json_str(entry, "desiredStatus"));
    int rc = state_save(r->agent->engine->state_dir, rec);
    if (rc < 0)
        log_error("%s: cannot save its record: %s", arn, strerror(-rc));
    struct task *t = task_new(r->agent, rec, false);
    t->listed = true;
    add_locked(r, t);
    log_info("%s: new task (%s)", arn, json_str(json_object_get(entry, "taskDefinition"),
                                                "taskDefinitionArn") ?: "?");
    if (task_start(t) < 0)
        log_error("%s: cannot start its runner thread", arn);
}

void reconciler_apply(struct reconciler *r, const json_t *tasks)
{
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->n; i++)
        r->v[i]->listed = false;
    size_t k;
    json_t *entry;
    json_array_foreach(tasks, k, entry) {
        const char *arn = json_str(entry, "taskArn");
        if (!arn)
            continue;
        struct task *t = find_locked(r, arn);
        if (!t) {
            adopt_locked(r, entry);
            continue;
        }
        t->listed = true;
        if (is_stopped(json_str(entry, "desiredStatus")))
            task_request_stop(t);
    }
    for (size_t i = 0; i < r->n; i++)
        if (!r->v[i]->listed)
            task_request_stop(r->v[i]); /* wharfd no longer wants it here */
    pthread_mutex_unlock(&r->mu);
    reconciler_sweep(r);
}

static bool forgettable(struct reconciler *r, struct task *t)
{
    pthread_mutex_lock(&t->mu);
    bool done = t->finished && !t->listed;
    pthread_mutex_unlock(&t->mu);
    return done && reporter_settled(r->agent->rep, t);
}

void reconciler_sweep(struct reconciler *r)
{
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->n;) {
        struct task *t = r->v[i];
        if (!forgettable(r, t)) {
            i++;
            continue;
        }
        task_join(t);
        int rc = state_remove(r->agent->engine->state_dir, t->rec->id);
        if (rc < 0)
            log_warn("%s: cannot remove its record: %s", t->rec->arn, strerror(-rc));
        log_debug("%s: forgotten", t->rec->arn);
        r->v[i] = r->v[--r->n];
        task_unref(t);
    }
    pthread_mutex_unlock(&r->mu);
}

char **reconciler_images_in_use(struct reconciler *r, size_t *ret_n)
{
    pthread_mutex_lock(&r->mu);
    char **v = NULL;
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++) {
        struct task *t = r->v[i];
        pthread_mutex_lock(&t->mu);
        for (size_t k = 0; k < t->rec->n && !t->finished; k++) {
            const char *id = t->rec->c[k].image_id;
            if (!id)
                continue;
            v = xrealloc(v, (n + 2) * sizeof(char *));
            v[n++] = xstrdup(id);
        }
        pthread_mutex_unlock(&t->mu);
    }
    pthread_mutex_unlock(&r->mu);
    if (!v)
        v = xcalloc(1, sizeof(char *));
    v[n] = NULL;
    *ret_n = n;
    return v;
}

void reconciler_counts(struct reconciler *r, size_t *ret_tasks, size_t *ret_active)
{
    pthread_mutex_lock(&r->mu);
    size_t active = 0;
    for (size_t i = 0; i < r->n; i++) {
        pthread_mutex_lock(&r->v[i]->mu);
        active += !r->v[i]->finished;
        pthread_mutex_unlock(&r->v[i]->mu);
    }
    *ret_tasks = r->n;
    *ret_active = active;
    pthread_mutex_unlock(&r->mu);
}

void reconciler_free(struct reconciler *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->n; i++)
        task_wake(r->v[i]);
    for (size_t i = 0; i < r->n; i++)
        task_join(r->v[i]);
    for (size_t i = 0; i < r->n; i++)
        task_unref(r->v[i]);
    free(r->v);
    r->v = NULL;
    r->n = 0;
    pthread_mutex_unlock(&r->mu);
    pthread_mutex_destroy(&r->mu);
    free(r);
}
