/* CNI plugin execution (spec 1.0.0) and result parsing. */
#include "agent/net/cni.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/json.h"
#include "core/proc.h"
#include "core/xalloc.h"

#define DEFAULT_TIMEOUT_MS 30000
#define MAX_OUTPUT (1u << 20)
/* Plugins run iptables and friends: a plain system PATH, never the agent's. */
#define PLUGIN_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

char *cni_find(const struct cni *c, const char *type)
{
    if (!type || !*type || strchr(type, '/') || strcmp(type, ".") == 0 ||
        strcmp(type, "..") == 0)
        return NULL;
    cleanup_free char *dirs = xstrdup(c->path);
    char *save = NULL;
    for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        char *p = xasprintf("%s/%s", d, type);
        if (access(p, X_OK) == 0)
            return p;
        free(p);
    }
    return NULL;
}

int cni_init(struct cni *c, const char *path, int timeout_ms, const char *const *required,
             struct wh_err *err)
{
    *c = (struct cni){.path = xstrdup(path && *path ? path : CNI_DEFAULT_PATH),
                      .timeout_ms = timeout_ms > 0 ? timeout_ms : DEFAULT_TIMEOUT_MS};
    for (size_t i = 0; required && required[i]; i++) {
        cleanup_free char *p = cni_find(c, required[i]);
        if (!p) {
            wh_err_set(err, 500, "CniError",
                       "CNI plugin '%s' not found in %s (Debian package "
                       "containernetworking-plugins)", required[i], c->path);
            cni_free(c);
            return -1;
        }
    }
    return 0;
}

void cni_free(struct cni *c)
{
    free(c->path);
    c->path = NULL;
}

json_t *cni_plugin_conf(const json_t *conflist, size_t i, const json_t *prev_result)
{
    const json_t *p = json_array_get(json_object_get(conflist, "plugins"), i);
    json_t *conf = p ? json_deep_copy(p) : json_object();
    json_object_set(conf, "cniVersion", json_object_get(conflist, "cniVersion"));
    json_object_set(conf, "name", json_object_get(conflist, "name"));
    if (prev_result)
        json_object_set_new(conf, "prevResult", json_deep_copy(prev_result));
    return conf;
}

static char *first_line(const char *s)
{
    while (s && (*s == ' ' || *s == '\n' || *s == '\t'))
        s++;
    if (!s || !*s)
        return NULL;
    size_t n = strcspn(s, "\n");
    return xstrndup(s, n > 300 ? 300 : n);
}

char *cni_error_text(const char *out, const char *errtext, const char *status)
{
    json_auto_t *e = out && *out ? json_loads(out, 0, NULL) : NULL;
    const char *msg = json_str(e, "msg");
    if (msg) {
        const char *details = json_str(e, "details");
        long long code = json_int(e, "code", 0);
        if (details && *details && strcmp(details, msg) != 0)
            return xasprintf("%s: %s (code %lld)", msg, details, code);
        return xasprintf("%s (code %lld)", msg, code);
    }
    char *line = first_line(errtext);
    if (!line)
        line = first_line(out);
    return line ? line : xstrdup(status ? status : "failed");
}

int cni_exec(const struct cni *c, const char *command, const struct cni_rt *rt,
             const json_t *conf, json_t **ret_result, struct wh_err *err)
{
    const char *type = json_str(conf, "type");
    cleanup_free char *exe = cni_find(c, type);
    if (!exe)
        return wh_err_set(err, 500, "CniError", "CNI plugin '%s' not found in %s",
                          type ? type : "", c->path);
    cleanup_free char *e_cmd = xasprintf("CNI_COMMAND=%s", command);
    cleanup_free char *e_id = xasprintf("CNI_CONTAINERID=%s", rt->container_id);
    cleanup_free char *e_ns = xasprintf("CNI_NETNS=%s", rt->netns ? rt->netns : "");
    cleanup_free char *e_if = xasprintf("CNI_IFNAME=%s", rt->ifname ? rt->ifname : "eth0");
    cleanup_free char *e_path = xasprintf("CNI_PATH=%s", c->path);
    const char *envp[] = {e_cmd, e_id, e_ns, e_if, e_path, "PATH=" PLUGIN_PATH, NULL};
    const char *argv[] = {exe, NULL};
    cleanup_free char *input = json_dumps(conf, JSON_COMPACT);
    struct proc_opts o = {.argv = argv, .envp = envp, .input = input,
                          .input_len = strlen(input), .max_output = MAX_OUTPUT,
                          .timeout_ms = c->timeout_ms, .extra_fd = -1};
    struct proc_result res;
    if (proc_run(&o, &res, err) < 0)
        return wh_err_prefix(err, "%s %s: ", type, command);
    int r = 0;
    if (!proc_ok(&res)) {
        cleanup_free char *msg =
            cni_error_text(res.out, res.err, proc_describe(&res, c->timeout_ms));
        r = wh_err_set(err, 500, "CniError", "%s %s: %s", type, command, msg);
    } else if (ret_result) {
        json_error_t je;
        json_t *j = res.out_len ? json_loads(res.out, 0, &je) : NULL;
        if (res.out_len && !j)
            r = wh_err_set(err, 500, "CniError", "%s %s: result is not JSON: %s", type,
                           command, je.text);
        else
            *ret_result = j;
    }
    proc_result_free(&res);
    return r;
}

int cni_list_add(const struct cni *c, const json_t *conflist, const struct cni_rt *rt,
                 json_t **ret_result, struct wh_err *err)
{
    size_t n = json_array_size(json_object_get(conflist, "plugins"));
    json_t *prev = NULL;
    for (size_t i = 0; i < n; i++) {
        json_auto_t *conf = cni_plugin_conf(conflist, i, prev);
        json_t *res = NULL;
        if (cni_exec(c, "ADD", rt, conf, &res, err) < 0) {
            /* The spec asks the runtime to DEL after a failed ADD. */
            cni_list_del(c, conflist, rt, prev, NULL);
            json_decref(prev);
            return -1;
        }
        if (res) {
            json_decref(prev);
            prev = res;
        }
    }
    if (!prev)
        return wh_err_set(err, 500, "CniError", "network %s: the plugins returned no result",
                          json_str(conflist, "name"));
    *ret_result = prev;
    return 0;
}

int cni_list_del(const struct cni *c, const json_t *conflist, const struct cni_rt *rt,
                 const json_t *prev_result, struct wh_err *err)
{
    size_t n = json_array_size(json_object_get(conflist, "plugins"));
    int r = 0;
    for (size_t i = n; i-- > 0;) {
        json_auto_t *conf = cni_plugin_conf(conflist, i, prev_result);
        struct wh_err e = {0};
        if (cni_exec(c, "DEL", rt, conf, NULL, &e) < 0 && r == 0) {
            if (err)
                *err = e;
            r = -1;
        }
    }
    return r;
}

int cni_list_check(const struct cni *c, const json_t *conflist, const struct cni_rt *rt,
                   const json_t *prev_result, struct wh_err *err)
{
    size_t n = json_array_size(json_object_get(conflist, "plugins"));
    for (size_t i = 0; i < n; i++) {
        json_auto_t *conf = cni_plugin_conf(conflist, i, prev_result);
        if (cni_exec(c, "CHECK", rt, conf, NULL, err) < 0)
            return -1;
    }
    return 0;
}

void cni_iface_clear(struct cni_iface *i)
{
    free(i->name);
    free(i->mac);
    free(i->ip);
    free(i->gateway);
    memset(i, 0, sizeof(*i));
}

/* Index of the sandbox interface in result.interfaces, or -1. */
static long sandbox_index(const json_t *ifs, const char *netns, const char *ifname)
{
    size_t i;
    const json_t *f;
    json_array_foreach(ifs, i, f) {
        const char *sb = json_str(f, "sandbox");
        if (sb && netns && strcmp(sb, netns) == 0 &&
            (!ifname || !json_str(f, "name") || strcmp(json_str(f, "name"), ifname) == 0))
            return (long)i;
    }
    json_array_foreach(ifs, i, f) {
        const char *name = json_str(f, "name");
        if (json_str(f, "sandbox") && ifname && name && strcmp(name, ifname) == 0)
            return (long)i;
    }
    return -1;
}

/* "10.0.0.5/24" → ip, prefix; false unless a valid IPv4 CIDR. */
static bool parse_v4_cidr(const char *s, char **ret_ip, int *ret_prefix)
{
    const char *slash = s ? strchr(s, '/') : NULL;
    if (!slash || slash - s >= INET_ADDRSTRLEN)
        return false;
    char ip[INET_ADDRSTRLEN];
    memcpy(ip, s, (size_t)(slash - s));
    ip[slash - s] = 0;
    struct in_addr a;
    char *end;
    long p = strtol(slash + 1, &end, 10);
    if (inet_pton(AF_INET, ip, &a) != 1 || *end || end == slash + 1 || p < 0 || p > 32)
        return false;
    *ret_ip = xstrdup(ip);
    *ret_prefix = (int)p;
    return true;
}

int cni_result_iface(const json_t *result, const char *netns, const char *ifname,
                     struct cni_iface *ret, struct wh_err *err)
{
    const json_t *ifs = json_object_get(result, "interfaces");
    long idx = sandbox_index(ifs, netns, ifname);
    if (idx < 0)
        return wh_err_set(err, 500, "CniError",
                          "the CNI result has no interface in namespace %s",
                          netns ? netns : "(none)");
    struct cni_iface out = {0};
    const json_t *f = json_array_get(ifs, (size_t)idx);
    out.name = json_str(f, "name") ? xstrdup(json_str(f, "name")) : NULL;
    out.mac = json_str(f, "mac") ? xstrdup(json_str(f, "mac")) : NULL;
    size_t i;
    const json_t *ip;
    json_array_foreach(json_object_get(result, "ips"), i, ip) {
        const json_t *ifi = json_object_get(ip, "interface");
        if (json_is_integer(ifi) && json_integer_value(ifi) != idx)
            continue;
        if (!parse_v4_cidr(json_str(ip, "address"), &out.ip, &out.prefix))
            continue;
        const char *gw = json_str(ip, "gateway");
        out.gateway = gw ? xstrdup(gw) : NULL;
        break;
    }
    if (!out.ip) {
        cni_iface_clear(&out);
        return wh_err_set(err, 500, "CniError",
                          "the CNI result has no IPv4 address for interface %s in %s",
                          ifname ? ifname : "?", netns ? netns : "(none)");
    }
    *ret = out;
    return 0;
}
