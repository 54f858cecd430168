#include "agent/volumes.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "core/fsutil.h"
#include "core/json.h"
#include "core/xalloc.h"

#define MAX_DEPTH 16

static const json_t *find_named(const json_t *arr, const char *name, size_t *ret_idx)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        const char *n = json_str(v, "name");
        if (n && strcmp(n, name) == 0) {
            if (ret_idx)
                *ret_idx = i;
            return v;
        }
    }
    return NULL;
}

static bool safe_name(const char *n)
{
    return *n && !strchr(n, '/') && strcmp(n, ".") != 0 && strcmp(n, "..") != 0;
}

/* The host path of task volume `name`; *ret_managed tells whether wharf owns the directory. */
static int volume_source(const struct volumes_in *in, const char *name, const char *ctx,
                         char **ret_src, bool *ret_managed, struct wh_err *err)
{
    size_t vi = 0;
    const json_t *vol = find_named(in->volumes, name, &vi);
    if (!vol)
        return wh_err_set(err, 400, "InvalidParameterException",
                          "%s.sourceVolume '%s' is not a volume of the task", ctx, name);
    static const char *const unsupported[] = {"efsVolumeConfiguration",
                                              "fsxWindowsFileServerVolumeConfiguration",
                                              "s3filesVolumeConfiguration"};
    for (size_t i = 0; i < ARRAY_SIZE(unsupported); i++)
        if (json_object_get(vol, unsupported[i]))
            return wh_err_set(err, 400, "InvalidParameterException",
                              "volumes[%zu] '%s': %s is not supported by wharf", vi, name,
                              unsupported[i]);
    if (json_bool(vol, "configuredAtLaunch", false))
        return wh_err_set(err, 400, "InvalidParameterException",
                          "volumes[%zu] '%s': volumes configured at launch are not supported",
                          vi, name);
    const char *host = json_str(json_object_get(vol, "host"), "sourcePath");
    if (host && *host) {
        if (host[0] != '/')
            return wh_err_set(err, 400, "InvalidParameterException",
                              "volumes[%zu].host.sourcePath '%s' is not an absolute path", vi,
                              host);
        *ret_src = xstrdup(host);
        *ret_managed = false;
        return 0;
    }
    if (!safe_name(name))
        return wh_err_set(err, 400, "InvalidParameterException",
                          "volumes[%zu].name '%s' cannot name a directory", vi, name);
    const json_t *dvc = json_object_get(vol, "dockerVolumeConfiguration");
    const char *driver = json_str(dvc, "driver");
    if (driver && strcmp(driver, "local") != 0)
        return wh_err_set(err, 400, "InvalidParameterException",
                          "volumes[%zu].dockerVolumeConfiguration.driver '%s' is not supported "
                          "(only 'local')", vi, driver);
    const char *scope = json_str(dvc, "scope");
    if (scope && strcmp(scope, "shared") == 0) {
        if (!in->shared_dir)
            return wh_err_set(err, 400, "InvalidParameterException",
                              "volumes[%zu] '%s': shared volumes are not available here", vi,
                              name);
        *ret_src = xasprintf("%s/%s", in->shared_dir, name);
    } else {
        *ret_src = xasprintf("%s/volumes/%s", in->task_dir, name);
    }
    *ret_managed = true;
    return 0;
}

/* Add or replace the mount at m.destination (taking ownership of m's strings). */
static void put_mount(struct vol_mounts *ms, struct vol_mount m)
{
    for (size_t i = 0; i < ms->n; i++)
        if (strcmp(ms->m[i].destination, m.destination) == 0) {
            free(ms->m[i].source);
            free(ms->m[i].destination);
            ms->m[i] = m;
            return;
        }
    ms->m = xrealloc(ms->m, (ms->n + 1) * sizeof(*ms->m));
    ms->m[ms->n++] = m;
}

static int own_mounts(const struct volumes_in *in, const json_t *def, const char *cname,
                      struct vol_mounts *out, struct wh_err *err)
{
    const json_t *mps = json_object_get(def, "mountPoints");
    size_t i;
    json_t *mp;
    json_array_foreach(mps, i, mp) {
        cleanup_free char *ctx = xasprintf("container '%s' mountPoints[%zu]", cname, i);
        const char *vol = json_str(mp, "sourceVolume");
        const char *path = json_str(mp, "containerPath");
        if (!vol || !path)
            return wh_err_set(err, 400, "InvalidParameterException",
                              "%s needs sourceVolume and containerPath", ctx);
        if (path[0] != '/')
            return wh_err_set(err, 400, "InvalidParameterException",
                              "%s.containerPath '%s' is not an absolute path", ctx, path);
        for (size_t j = 0; j < i; j++) /* duplicates among its own mountPoints are errors */
            if (json_equal(json_object_get(json_array_get(mps, j), "containerPath"),
                           json_object_get(mp, "containerPath")))
                return wh_err_set(err, 400, "InvalidParameterException",
                                  "%s.containerPath '%s' is mounted twice", ctx, path);
        struct vol_mount m = {.readonly = json_bool(mp, "readOnly", false)};
        if (volume_source(in, vol, ctx, &m.source, &m.managed, err) < 0)
            return -1;
        m.destination = xstrdup(path);
        put_mount(out, m);
    }
    return 0;
}

static int resolve(const struct volumes_in *in, const char *cname, const char **chain,
                   size_t depth, struct vol_mounts *out, struct wh_err *err)
{
    const json_t *def = find_named(in->containers, cname, NULL);
    if (!def)
        return wh_err_set(err, 400, "InvalidParameterException",
                          "container '%s' is not in the task definition", cname);
    for (size_t d = 0; d < depth; d++)
        if (strcmp(chain[d], cname) == 0)
            return wh_err_set(err, 400, "InvalidParameterException",
                              "volumesFrom of container '%s' leads back to itself", chain[0]);
    if (depth >= MAX_DEPTH)
        return wh_err_set(err, 400, "InvalidParameterException",
                          "volumesFrom of container '%s' nests too deeply", chain[0]);
    chain[depth] = cname;
    struct vol_mounts from = {0};
    size_t i;
    json_t *vf;
    json_array_foreach(json_object_get(def, "volumesFrom"), i, vf) {
        const char *src = json_str(vf, "sourceContainer");
        if (!src || !find_named(in->containers, src, NULL)) {
            vol_mounts_free(&from);
            return wh_err_set(err, 400, "InvalidParameterException",
                              "container '%s' volumesFrom[%zu].sourceContainer '%s' is not a "
                              "container of the task", cname, i, src ? src : "");
        }
        struct vol_mounts sub = {0};
        if (resolve(in, src, chain, depth + 1, &sub, err) < 0) {
            vol_mounts_free(&from);
            return -1;
        }
        bool ro = json_bool(vf, "readOnly", false);
        for (size_t k = 0; k < sub.n; k++) {
            sub.m[k].readonly |= ro;
            put_mount(&from, sub.m[k]);
        }
        free(sub.m);
    }
    for (size_t k = 0; k < from.n; k++)
        put_mount(out, from.m[k]);
    free(from.m);
    return own_mounts(in, def, cname, out, err);
}

int volumes_resolve(const struct volumes_in *in, struct vol_mounts *ret_mounts,
                    struct wh_err *err)
{
    const char *chain[MAX_DEPTH + 1];
    struct vol_mounts out = {0};
    if (resolve(in, in->container, chain, 0, &out, err) < 0) {
        vol_mounts_free(&out);
        return -1;
    }
    *ret_mounts = out;
    return 0;
}

void vol_mounts_free(struct vol_mounts *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++) {
        free(m->m[i].source);
        free(m->m[i].destination);
    }
    free(m->m);
    m->m = NULL;
    m->n = 0;
}

int volumes_prepare(const struct vol_mounts *m, struct wh_err *err)
{
    for (size_t i = 0; i < m->n; i++) {
        struct stat st;
        if (!m->m[i].managed && stat(m->m[i].source, &st) == 0)
            continue;
        int r = fs_mkdir_p(m->m[i].source, 0755);
        if (r < 0)
            return wh_err_set(err, 500, "ServerException", "cannot create volume directory %s: %s",
                              m->m[i].source, strerror(-r));
    }
    return 0;
}
