/* A task's network request from its task definition: pure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/net/network.h"
#include "core/json.h"
#include "core/xalloc.h"

#define MAX_MAPPINGS 1000

static const char *const mode_names[] = {
    [NET_MODE_NONE] = "none",
    [NET_MODE_HOST] = "host",
    [NET_MODE_BRIDGE] = "bridge",
    [NET_MODE_AWSVPC] = "awsvpc",
};

const char *net_mode_name(enum net_mode m)
{
    return (size_t)m < ARRAY_SIZE(mode_names) ? mode_names[m] : "?";
}

int net_mode_parse(const char *s, enum net_mode *ret)
{
    for (size_t i = 0; s && i < ARRAY_SIZE(mode_names); i++)
        if (strcmp(s, mode_names[i]) == 0) {
            *ret = (enum net_mode)i;
            return 0;
        }
    return -1;
}

void net_task_req_clear(struct net_task_req *r)
{
    for (size_t i = 0; i < r->nctrs; i++) {
        free((void *)r->ctrs[i].name);
        free((void *)r->ctrs[i].ports);
    }
    free((void *)r->ctrs);
    free((void *)r->task_id);
    memset(r, 0, sizeof(*r));
}

struct ports_acc {
    struct net_port_req *v;
    size_t n, cap, total;
};

static int push(struct ports_acc *a, uint16_t cport, uint16_t hport, bool udp,
                const char *field, struct wh_err *err)
{
    if (++a->total > MAX_MAPPINGS)
        return wh_err_set(err, 400, "CannotStartContainerError",
                          "CannotStartContainerError: %s: the task maps more than %d ports",
                          field, MAX_MAPPINGS);
    if (a->n == a->cap) {
        a->cap = a->cap ? 2 * a->cap : 4;
        a->v = xrealloc(a->v, a->cap * sizeof(*a->v));
    }
    a->v[a->n++] = (struct net_port_req){.container_port = cport, .host_port = hport,
                                         .udp = udp};
    return 0;
}

static bool port_ok(long long p)
{
    return p >= 1 && p <= 65535;
}

/* "8000-8010" → lo, hi. */
static bool parse_range(const char *s, long *lo, long *hi)
{
    char *end;
    *lo = s ? strtol(s, &end, 10) : 0;
    if (!s || end == s || *end != '-')
        return false;
    const char *b = end + 1;
    *hi = strtol(b, &end, 10);
    return end != b && !*end && port_ok(*lo) && port_ok(*hi) && *lo <= *hi;
}

static int one_mapping(const json_t *pm, enum net_mode mode, const char *field,
                       struct ports_acc *a, struct wh_err *err)
{
    const char *proto = json_str(pm, "protocol");
    bool udp = proto && strcmp(proto, "udp") == 0;
    long long cp = json_int(pm, "containerPort", 0), hp = json_int(pm, "hostPort", 0);
    const char *range = json_str(pm, "containerPortRange");
    if (!cp && range) {
        long lo, hi;
        if (!parse_range(range, &lo, &hi))
            return wh_err_set(err, 400, "CannotStartContainerError",
                              "CannotStartContainerError: %s.containerPortRange '%s' is not "
                              "a port range", field, range);
        for (long p = lo; p <= hi; p++)
            if (push(a, (uint16_t)p, mode == NET_MODE_HOST ? (uint16_t)p : 0, udp, field,
                     err) < 0)
                return -1;
        return 0;
    }
    if (!port_ok(cp) || (hp && !port_ok(hp)))
        return wh_err_set(err, 400, "CannotStartContainerError",
                          "CannotStartContainerError: %s: containerPort %lld / hostPort %lld "
                          "is not a port", field, cp, hp);
    if (mode == NET_MODE_HOST)
        hp = cp;
    return push(a, (uint16_t)cp, (uint16_t)hp, udp, field, err);
}

static int container_req(const json_t *def, size_t i, enum net_mode mode,
                         struct net_ctr_req *ret, struct ports_acc *a, struct wh_err *err)
{
    const char *name = json_str(def, "name");
    ret->name = xstrdup(name ? name : "");
    if (mode != NET_MODE_BRIDGE && mode != NET_MODE_HOST)
        return 0; /* awsvpc: ports are on the task's own address; none: nowhere */
    a->v = NULL;
    a->n = a->cap = 0;
    size_t k;
    const json_t *pm;
    json_array_foreach(json_object_get(def, "portMappings"), k, pm) {
        char field[96];
        snprintf(field, sizeof(field), "containerDefinitions[%zu].portMappings[%zu]", i, k);
        if (one_mapping(pm, mode, field, a, err) < 0) {
            free(a->v);
            return -1;
        }
    }
    ret->ports = a->v;
    ret->nports = a->n;
    return 0;
}

int net_task_req_from_def(const json_t *task_def, const char *launch_type, const char *task_id,
                          struct net_task_req *ret, struct wh_err *err)
{
    const char *m = json_str(task_def, "networkMode");
    enum net_mode mode = NET_MODE_BRIDGE;
    if (launch_type && strcmp(launch_type, "FARGATE") == 0)
        mode = NET_MODE_AWSVPC;
    else if (m && net_mode_parse(m, &mode) < 0)
        return wh_err_set(err, 400, "ResourceInitializationError",
                          "ResourceInitializationError: networkMode '%s' is not supported", m);
    if (!net_task_id_valid(task_id))
        return wh_err_set(err, 400, "ResourceInitializationError",
                          "ResourceInitializationError: task id '%s' is not valid",
                          task_id ? task_id : "");
    const json_t *defs = json_object_get(task_def, "containerDefinitions");
    size_t n = json_array_size(defs);
    struct net_ctr_req *ctrs = xcalloc(n + 1, sizeof(*ctrs));
    struct net_task_req r = {.task_id = xstrdup(task_id), .mode = mode, .ctrs = ctrs};
    struct ports_acc acc = {0};
    for (size_t i = 0; i < n; i++) {
        r.nctrs = i + 1;
        if (container_req(json_array_get(defs, i), i, mode, &ctrs[i], &acc, err) < 0) {
            net_task_req_clear(&r);
            return -1;
        }
    }
    r.nctrs = n;
    *ret = r;
    return 0;
}
