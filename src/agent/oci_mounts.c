/* The spec's mounts: the standard filesystems (as Docker sets them up), the files the agent
 * writes (/etc/hosts, /etc/resolv.conf, /etc/hostname), wharf-init, tmpfs and volumes. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "agent/oci_internal.h"
#include "core/json.h"
#include "core/xalloc.h"

#define MIB (1024 * 1024)
#define DEFAULT_SHM_MIB 64

static json_t *mount(const char *dst, const char *type, const char *src, json_t *opts)
{
    return json_pack("{s:s,s:s,s:s,s:o}", "destination", dst, "type", type, "source", src,
                     "options", opts);
}

static json_t *opts(const char *first, ...) __attribute__((sentinel));
static json_t *opts(const char *first, ...)
{
    json_t *a = json_array();
    va_list ap;
    va_start(ap, first);
    for (const char *o = first; o; o = va_arg(ap, const char *))
        json_array_append_new(a, json_string(o));
    va_end(ap);
    return a;
}

static json_t *bind(const char *dst, const char *src, bool ro)
{
    json_t *o = opts("rbind", "rprivate", NULL);
    if (ro)
        json_array_append_new(o, json_string("ro"));
    return mount(dst, "bind", src, o);
}

static void add_standard(struct oci_ctx *c, json_t *m)
{
    const char *ro = c->privileged ? "rw" : "ro";
    json_array_append_new(m, mount("/proc", "proc", "proc", opts("nosuid", "noexec", "nodev", NULL)));
    json_array_append_new(m, mount("/dev", "tmpfs", "tmpfs",
                                   opts("nosuid", "strictatime", "mode=755", "size=65536k", NULL)));
    json_array_append_new(m, mount("/dev/pts", "devpts", "devpts",
                                   opts("nosuid", "noexec", "newinstance", "ptmxmode=0666",
                                        "mode=0620", "gid=5", NULL)));
    json_array_append_new(m, mount("/sys", "sysfs", "sysfs",
                                   opts("nosuid", "noexec", "nodev", ro, NULL)));
    json_array_append_new(m, mount("/sys/fs/cgroup", "cgroup", "cgroup",
                                   opts(ro, "nosuid", "noexec", "nodev", NULL)));
    json_array_append_new(m, mount("/dev/mqueue", "mqueue", "mqueue",
                                   opts("nosuid", "noexec", "nodev", NULL)));
    int64_t shm = json_int(c->lp, "sharedMemorySize", 0);
    cleanup_free char *size = xasprintf("size=%lld", (long long)(shm > 0 ? shm : DEFAULT_SHM_MIB) * MIB);
    json_array_append_new(m, mount("/dev/shm", "tmpfs", "shm",
                                   opts("nosuid", "noexec", "nodev", "mode=1777", size, NULL)));
}

static void add_agent_files(struct oci_ctx *c, json_t *m)
{
    const struct oci_spec_in *in = c->in;
    if (in->resolv_conf_path)
        json_array_append_new(m, bind("/etc/resolv.conf", in->resolv_conf_path, false));
    if (in->hostname_path)
        json_array_append_new(m, bind("/etc/hostname", in->hostname_path, false));
    if (in->hosts_path)
        json_array_append_new(m, bind("/etc/hosts", in->hosts_path, false));
    if (json_bool(c->lp, "initProcessEnabled", false) && in->init_path)
        json_array_append_new(m, bind("/sbin/wharf-init", in->init_path, true));
}

/* tmpfs options: Docker's defaults noexec,nosuid,nodev unless the definition says exec, suid or
 * dev; the rest of mountOptions pass through; size in MiB. */
static int tmpfs_mount(struct oci_ctx *c, size_t idx, const json_t *t, json_t **ret,
                       struct wh_err *err)
{
    const char *path = json_str(t, "containerPath");
    if (!path || path[0] != '/')
        return wh_err_set(err, 400, "InvalidParameterException",
                          "container '%s' linuxParameters.tmpfs[%zu].containerPath '%s' is not an "
                          "absolute path", c->name, idx, path ? path : "");
    static const char *const pairs[][2] = {{"noexec", "exec"}, {"nosuid", "suid"}, {"nodev", "dev"}};
    json_t *given = json_object_get(t, "mountOptions");
    json_t *o = json_array();
    for (size_t p = 0; p < ARRAY_SIZE(pairs); p++) {
        bool overridden = false;
        size_t i;
        json_t *v;
        json_array_foreach(given, i, v) {
            const char *s = json_string_value(v);
            overridden |= s && (!strcmp(s, pairs[p][0]) || !strcmp(s, pairs[p][1]));
        }
        if (!overridden)
            json_array_append_new(o, json_string(pairs[p][0]));
    }
    size_t i;
    json_t *v;
    json_array_foreach(given, i, v)
        if (json_is_string(v) && strcmp(json_string_value(v), "defaults") != 0 &&
            strncmp(json_string_value(v), "size=", 5) != 0)
            json_array_append(o, v);
    int64_t size = json_int(t, "size", 0);
    if (size > 0) {
        cleanup_free char *s = xasprintf("size=%lldm", (long long)size);
        json_array_append_new(o, json_string(s));
    }
    *ret = mount(path, "tmpfs", "tmpfs", o);
    return 0;
}

static size_t depth(const char *path)
{
    size_t n = 0;
    for (const char *p = path; *p; p++)
        n += *p == '/' && p[1] && p[1] != '/';
    return n;
}

static int by_depth(const void *a, const void *b)
{
    json_t *const *x = a, *const *y = b;
    size_t dx = depth(json_str(*x, "destination")), dy = depth(json_str(*y, "destination"));
    return dx < dy ? -1 : dx > dy;
}

/* Volumes and tmpfs, parents before children (as Docker sorts them), after the rest. */
static int add_user_mounts(struct oci_ctx *c, json_t *m, struct wh_err *err)
{
    size_t n_vol = c->in->mounts ? c->in->mounts->n : 0;
    json_t *tmpfs = json_object_get(c->lp, "tmpfs");
    size_t n = n_vol + json_array_size(tmpfs);
    if (!n)
        return 0;
    json_t **list = xcalloc(n, sizeof(*list));
    for (size_t i = 0; i < n_vol; i++) {
        const struct vol_mount *v = &c->in->mounts->m[i];
        list[i] = bind(v->destination, v->source, v->readonly);
    }
    for (size_t i = 0; i < json_array_size(tmpfs); i++)
        if (tmpfs_mount(c, i, json_array_get(tmpfs, i), &list[n_vol + i], err) < 0) {
            for (size_t k = 0; k < n; k++)
                json_decref(list[k]);
            free(list);
            return -1;
        }
    /* Insertion sort: stable (equal depths keep their order), and the lists are short. */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && by_depth(&list[j - 1], &list[j]) > 0; j--) {
            json_t *t = list[j];
            list[j] = list[j - 1];
            list[j - 1] = t;
        }
    for (size_t i = 0; i < n; i++)
        json_array_append_new(m, list[i]);
    free(list);
    return 0;
}

int oci_mounts_build(struct oci_ctx *c, json_t **ret_mounts, struct wh_err *err)
{
    json_t *m = json_array();
    add_standard(c, m);
    add_agent_files(c, m);
    if (add_user_mounts(c, m, err) < 0) {
        json_decref(m);
        return -1;
    }
    *ret_mounts = m;
    return 0;
}
