/* The spec's "linux" object (namespaces, cgroup resources, masking, seccomp, sysctl) and
 * process.rlimits. */
#include <string.h>
#include <sys/resource.h>

#include "agent/oci_internal.h"
#include "agent/seccomp_default.h"
#include "core/json.h"
#include "core/xalloc.h"

#define MIB (INT64_C(1024) * 1024)
#define MIN_SHARES 2
#define MAX_SHARES 262144

static const char *const masked_paths[] = {
    "/proc/asound",        "/proc/acpi",        "/proc/interrupts", "/proc/kcore",
    "/proc/keys",          "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
    "/proc/sched_debug",   "/proc/scsi",        "/sys/firmware",    "/sys/devices/virtual/powercap",
};
static const char *const readonly_paths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

static json_t *strings(const char *const *s, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(s[i]));
    return a;
}

static json_t *namespaces(const struct oci_ctx *c)
{
    json_t *ns = json_pack("[{s:s},{s:s},{s:s},{s:s}]", "type", "pid", "type", "ipc", "type",
                           "uts", "type", "mount");
    bool off = json_bool(c->def, "disableNetworking", false);
    if (c->in->host_network && !off)
        return ns; /* the host's network namespace */
    json_t *net = json_pack("{s:s}", "type", "network");
    /* disableNetworking: a network namespace of its own (loopback only) even in a task that
     * has one. */
    if (c->in->netns && !off)
        json_object_set_new(net, "path", json_string(c->in->netns));
    json_array_append_new(ns, net);
    return ns;
}

/* Device cgroup rules: privileged → everything; else deny all but Docker's defaults (runc adds
 * the same default nodes to /dev). */
static json_t *devices(const struct oci_ctx *c)
{
    if (c->privileged)
        return json_pack("[{s:b,s:s}]", "allow", 1, "access", "rwm");
    static const struct {
        const char *type;
        int major, minor; /* -1: any */
        const char *access;
    } allow[] = {
        {"c", -1, -1, "m"}, {"b", -1, -1, "m"},   /* mknod anything, use nothing */
        {"c", 1, 3, "rwm"}, {"c", 1, 5, "rwm"},   /* null, zero */
        {"c", 1, 7, "rwm"}, {"c", 1, 8, "rwm"},   /* full, random */
        {"c", 1, 9, "rwm"}, {"c", 5, 0, "rwm"},   /* urandom, tty */
        {"c", 5, 1, "rwm"}, {"c", 5, 2, "rwm"},   /* console, ptmx */
        {"c", 136, -1, "rwm"},                    /* pts */
    };
    json_t *d = json_pack("[{s:b,s:s}]", "allow", 0, "access", "rwm");
    for (size_t i = 0; i < ARRAY_SIZE(allow); i++) {
        json_t *r = json_pack("{s:b,s:s,s:s}", "allow", 1, "type", allow[i].type, "access",
                              allow[i].access);
        if (allow[i].major >= 0)
            json_object_set_new(r, "major", json_integer(allow[i].major));
        if (allow[i].minor >= 0)
            json_object_set_new(r, "minor", json_integer(allow[i].minor));
        json_array_append_new(d, r);
    }
    return d;
}

static int64_t int_of(const json_t *v)
{
    return json_is_integer(v) ? json_integer_value(v) : 0;
}

static int memory(struct oci_ctx *c, json_t *res, struct wh_err *err)
{
    int64_t hard = int_of(oci_pick(c, "memory")), soft = int_of(oci_pick(c, "memoryReservation"));
    if (hard < 0 || soft < 0 || (hard && soft > hard))
        return wh_err_set(err, 400, "InvalidParameterException",
                          "container '%s' memory %lld / memoryReservation %lld MiB are not "
                          "valid limits", c->name, (long long)hard, (long long)soft);
    json_t *m = json_object();
    if (hard)
        json_object_set_new(m, "limit", json_integer(hard * MIB));
    if (soft)
        json_object_set_new(m, "reservation", json_integer(soft * MIB));
    json_t *max_swap = json_object_get(c->lp, "maxSwap");
    bool swap_ok = !c->in->host || c->in->host->swap_accounting;
    if (json_is_integer(max_swap) && hard && swap_ok) {
        json_object_set_new(m, "swap", json_integer(hard * MIB + int_of(max_swap) * MIB));
    } else if (json_is_integer(max_swap) && !swap_ok) {
        oci_warn(c, "container '%s': linuxParameters.maxSwap ignored: this host has no swap "
                    "accounting", c->name);
    } else if (json_is_integer(max_swap)) {
        oci_warn(c, "container '%s': linuxParameters.maxSwap needs a memory limit; ignored",
                 c->name);
    }
    json_t *swappiness = json_object_get(c->lp, "swappiness");
    if (json_is_integer(swappiness))
        json_object_set_new(m, "swappiness", json_integer(json_integer_value(swappiness)));
    if (json_object_size(m))
        json_object_set_new(res, "memory", m);
    else
        json_decref(m);
    return 0;
}

static int resources(struct oci_ctx *c, json_t **ret, struct wh_err *err)
{
    json_t *res = json_pack("{s:o}", "devices", devices(c));
    if (memory(c, res, err) < 0) {
        json_decref(res);
        return -1;
    }
    /* cpu units are relative shares, as ECS passes them to Docker; 0 → 2 (the kernel's
     * minimum), because Docker would read 0 as "unset" and give 1024. */
    int64_t cpu = int_of(oci_pick(c, "cpu"));
    int64_t shares = cpu < MIN_SHARES ? MIN_SHARES : cpu > MAX_SHARES ? MAX_SHARES : cpu;
    json_object_set_new(res, "cpu", json_pack("{s:I}", "shares", (json_int_t)shares));
    *ret = res;
    return 0;
}

static json_t *sysctls(const struct oci_ctx *c)
{
    json_t *s = json_object();
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(c->def, "systemControls"), i, v) {
        const char *ns = json_str(v, "namespace"), *val = json_str(v, "value");
        if (ns && val)
            json_object_set_new(s, ns, json_string(val));
    }
    return s;
}

int oci_linux_build(struct oci_ctx *c, json_t **ret_linux, struct wh_err *err)
{
    json_t *res = NULL;
    if (resources(c, &res, err) < 0)
        return -1;
    cleanup_free char *cg = xasprintf("/wharf/%s/%s", c->in->task_id, c->name);
    json_t *l = json_pack("{s:o,s:s,s:o}", "namespaces", namespaces(c), "cgroupsPath", cg,
                          "resources", res);
    if (!c->privileged) {
        json_object_set_new(l, "maskedPaths", strings(masked_paths, ARRAY_SIZE(masked_paths)));
        json_object_set_new(l, "readonlyPaths",
                            strings(readonly_paths, ARRAY_SIZE(readonly_paths)));
        json_object_set_new(l, "seccomp", seccomp_default_profile(c->caps, NULL,
                                                   c->in->host && c->in->host->no_x32));
    }
    json_t *sc = sysctls(c);
    if (json_object_size(sc))
        json_object_set_new(l, "sysctl", sc);
    else
        json_decref(sc);
    if (json_array_size(json_object_get(c->lp, "devices")))
        oci_warn(c, "container '%s': linuxParameters.devices is not supported yet; ignored",
                 c->name);
    *ret_linux = l;
    return 0;
}

static const struct {
    const char *ecs, *oci;
    int resource;
} ulimit_names[] = {
    {"core", "RLIMIT_CORE", RLIMIT_CORE},       {"cpu", "RLIMIT_CPU", RLIMIT_CPU},
    {"data", "RLIMIT_DATA", RLIMIT_DATA},       {"fsize", "RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"locks", "RLIMIT_LOCKS", RLIMIT_LOCKS},    {"memlock", "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"msgqueue", "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"nice", "RLIMIT_NICE", RLIMIT_NICE},
    {"nofile", "RLIMIT_NOFILE", RLIMIT_NOFILE}, {"nproc", "RLIMIT_NPROC", RLIMIT_NPROC},
    {"rss", "RLIMIT_RSS", RLIMIT_RSS},          {"rtprio", "RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"rttime", "RLIMIT_RTTIME", RLIMIT_RTTIME}, {"sigpending", "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"stack", "RLIMIT_STACK", RLIMIT_STACK},
};

/* One ulimit, clamped: a hard limit above ours cannot be set (no CAP_SYS_RESOURCE), so it
 * becomes ours, and the soft limit never exceeds the hard one. */
static int rlimit_json(struct oci_ctx *c, size_t i, const json_t *u, json_t **ret,
                       struct wh_err *err)
{
    const char *name = json_str(u, "name");
    size_t k = 0;
    while (k < ARRAY_SIZE(ulimit_names) && (!name || strcmp(name, ulimit_names[k].ecs) != 0))
        k++;
    if (k == ARRAY_SIZE(ulimit_names))
        return wh_err_set(err, 400, "InvalidParameterException",
                          "container '%s' ulimits[%zu].name '%s' is not a ulimit", c->name, i,
                          name ? name : "");
    int64_t soft = json_int(u, "softLimit", -1), hard = json_int(u, "hardLimit", -1);
    if (soft < 0 || hard < 0)
        return wh_err_set(err, 400, "InvalidParameterException",
                          "container '%s' ulimits[%zu] '%s' needs non-negative softLimit and "
                          "hardLimit", c->name, i, name);
    uint64_t host = c->in->host ? c->in->host->hard_limits[ulimit_names[k].resource]
                                : RLIM_INFINITY;
    if (host != RLIM_INFINITY && (uint64_t)hard > host) {
        oci_warn(c, "container '%s': ulimit %s hard limit %lld is above the host's hard limit "
                    "%llu: clamped to %llu", c->name, name, (long long)hard,
                 (unsigned long long)host, (unsigned long long)host);
        hard = (int64_t)host;
    }
    if (soft > hard) {
        oci_warn(c, "container '%s': ulimit %s soft limit %lld is above its hard limit %lld: "
                    "clamped", c->name, name, (long long)soft, (long long)hard);
        soft = hard;
    }
    *ret = json_pack("{s:s,s:I,s:I}", "type", ulimit_names[k].oci, "hard", (json_int_t)hard,
                     "soft", (json_int_t)soft);
    return 0;
}

int oci_rlimits_build(struct oci_ctx *c, json_t **ret_rlimits, struct wh_err *err)
{
    json_t *ul = json_object_get(c->def, "ulimits");
    if (!json_array_size(ul)) {
        *ret_rlimits = NULL;
        return 0;
    }
    json_t *arr = json_array();
    size_t i;
    json_t *u;
    json_array_foreach(ul, i, u) {
        json_t *r = NULL;
        if (rlimit_json(c, i, u, &r, err) < 0) {
            json_decref(arr);
            return -1;
        }
        json_array_append_new(arr, r);
    }
    *ret_rlimits = arr;
    return 0;
}
