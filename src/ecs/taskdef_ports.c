/* Port mapping rules of RegisterTaskDefinition: each mapping against the network mode, then
 * host ports and mapping names across the task. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "core/json.h"
#include "core/xalloc.h"
#include "ecs/taskdef_validate.h"

static const char *cname(const json_t *c)
{
    const char *n = json_str(c, "name");
    return n ? n : "";
}

/* "LO-HI" with 1 <= LO < HI <= 65535. */
static bool port_range_valid(const char *s)
{
    int lo, hi, used = 0;
    if (!s || sscanf(s, "%d-%d%n", &lo, &hi, &used) != 2 || s[used] != '\0')
        return false;
    return lo >= 1 && lo < hi && hi <= 65535;
}

/* Port mapping names: up to 64 of [a-z0-9_-], not starting with '-'. */
static bool port_name_valid(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 64 || s[0] == '-')
        return false;
    for (; *s; s++)
        if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '_' && *s != '-')
            return false;
    return true;
}

/* containerPortRange: well-formed, in a mode that allows ranges, without a hostPort. */
static int check_port_range(const struct td_view *v, const char *n, size_t j, const json_t *pm,
                            struct wh_err *err)
{
    const char *range = json_str(pm, "containerPortRange");
    if (!port_range_valid(range))
        return td_fail(err,
                       "Invalid setting for container '%s'. portMappings[%zu].containerPortRange "
                       "'%s' is not FIRST-LAST with 1 <= FIRST < LAST <= 65535.",
                       n, j, range);
    if (strcmp(v->network_mode, "host") == 0)
        return td_fail(err,
                       "Invalid setting for container '%s'. containerPortRange requires "
                       "networkMode bridge or awsvpc.",
                       n);
    if (json_object_get(pm, "hostPort"))
        return td_fail(err,
                       "Invalid setting for container '%s'. portMappings[%zu] cannot set hostPort "
                       "together with containerPortRange.",
                       n, j);
    return 0;
}

/* containerPort and hostPort: in range, and equal where the network mode maps ports 1:1. */
static int check_port_numbers(const struct td_view *v, const char *n, size_t j,
                              const json_t *pm, struct wh_err *err)
{
    const json_t *hpj = json_object_get(pm, "hostPort");
    long long cp = json_int(pm, "containerPort", 0), hp = json_int(pm, "hostPort", 0);
    if (cp < 0 || cp > 65535)
        return td_fail(err,
                       "Invalid setting for container '%s'. portMappings[%zu].containerPort %lld is "
                       "outside 0..65535.",
                       n, j, cp);
    if (hpj && (hp < 0 || hp > 65535))
        return td_fail(err,
                       "Invalid setting for container '%s'. portMappings[%zu].hostPort %lld is "
                       "outside 0..65535.",
                       n, j, hp);
    const char *mode = v->network_mode;
    if ((strcmp(mode, "awsvpc") == 0 || strcmp(mode, "host") == 0) && hpj && hp != cp)
        return td_fail(err,
                       "When networkMode=%s, the host ports and container ports in port mappings "
                       "must match. Container '%s' maps containerPort %lld to hostPort %lld.",
                       mode, n, cp, hp);
    return 0;
}

static int check_port_mapping(const struct td_view *v, const json_t *c, size_t j,
                              const json_t *pm, struct wh_err *err)
{
    const char *n = cname(c), *pname = json_str(pm, "name");
    bool has_port = json_object_get(pm, "containerPort") != NULL;
    bool has_range = json_object_get(pm, "containerPortRange") != NULL;
    if (strcmp(v->network_mode, "none") == 0)
        return td_fail(err,
                       "Invalid setting for container '%s'. Port mappings are not allowed when "
                       "networkMode=none.",
                       n);
    if (has_port == has_range)
        return td_fail(err,
                       "Invalid setting for container '%s'. portMappings[%zu] needs a containerPort "
                       "or a containerPortRange (one of them, not both).",
                       n, j);
    if (has_range ? check_port_range(v, n, j, pm, err) < 0
                  : check_port_numbers(v, n, j, pm, err) < 0)
        return -1;
    if (pname && !port_name_valid(pname))
        return td_fail(err,
                       "Invalid setting for container '%s'. Port mapping name '%s' must be up to 64 "
                       "lowercase letters, numbers, underscores and hyphens, not starting with a "
                       "hyphen.",
                       n, pname);
    return 0;
}

int taskdef_check_ports(const struct td_view *v, const json_t *c, struct wh_err *err)
{
    size_t j;
    json_t *pm;
    json_array_foreach(json_object_get(c, "portMappings"), j, pm) {
        if (check_port_mapping(v, c, j, pm, err) < 0)
            return -1;
    }
    return 0;
}

struct port_use {
    long long port;
    const char *proto, *container, *name;
};

/* Host ports each mapping reserves: the containerPort in awsvpc and host mode, a non-zero
 * hostPort in bridge mode; dynamic ports and ranges reserve nothing fixed. */
static long long host_port_of(const struct td_view *v, const json_t *pm)
{
    if (!json_object_get(pm, "containerPort"))
        return 0;
    if (strcmp(v->network_mode, "bridge") == 0)
        return json_int(pm, "hostPort", 0);
    return json_int(pm, "containerPort", 0);
}

/* p against the n uses before it: a host port/protocol or a mapping name taken twice. */
static int check_port_use(const struct port_use *u, size_t n, const struct port_use *p,
                          struct wh_err *err)
{
    for (size_t k = 0; k < n; k++) {
        if (p->port > 0 && u[k].port == p->port && strcmp(u[k].proto, p->proto) == 0)
            return td_fail(err,
                           "Invalid setting for container '%s'. Host port %lld/%s is already used "
                           "by container '%s'.",
                           p->container, p->port, p->proto, u[k].container);
        if (p->name && u[k].name && strcmp(p->name, u[k].name) == 0)
            return td_fail(err,
                           "Invalid setting for container '%s'. Port mapping name '%s' is already "
                           "used by container '%s'.",
                           p->container, p->name, u[k].container);
    }
    return 0;
}

int taskdef_check_port_conflicts(const struct td_view *v, struct wh_err *err)
{
    size_t total = 0, used = 0, i, j;
    json_t *c, *pm;
    json_array_foreach(v->containers, i, c) {
        total += json_array_size(json_object_get(c, "portMappings"));
    }
    cleanup_free struct port_use *u = xcalloc(total + 1, sizeof(*u));
    json_array_foreach(v->containers, i, c) {
        json_array_foreach(json_object_get(c, "portMappings"), j, pm) {
            const char *proto = json_str(pm, "protocol");
            struct port_use p = {host_port_of(v, pm), proto ? proto : "tcp", cname(c),
                                 json_str(pm, "name")};
            if (check_port_use(u, used, &p, err) < 0)
                return -1;
            u[used++] = p;
        }
    }
    return 0;
}
