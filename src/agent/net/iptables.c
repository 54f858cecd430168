/* iptables runs and rule parsing. */
#include "agent/net/iptables.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/crypto.h"
#include "core/proc.h"
#include "core/xalloc.h"

#define IPT_TIMEOUT_MS 30000

char *ipt_find(void)
{
    static const char *const dirs[] = {"/usr/sbin", "/sbin", "/usr/bin", "/bin"};
    for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
        char *p = xasprintf("%s/iptables", dirs[i]);
        if (access(p, X_OK) == 0)
            return p;
        free(p);
    }
    return NULL;
}

/* Run iptables with args; *ret_ok tells whether it exited 0 (NULL: failing is an error). */
static int run(const char *ipt, const char *const *args, bool *ret_ok, char **ret_out,
               struct wh_err *err)
{
    const char *argv[72] = {ipt, "-w", "10"};
    size_t n = 3;
    for (size_t i = 0; args[i] && n < ARRAY_SIZE(argv) - 1; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    static const char *const envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
    struct proc_opts o = {.argv = argv, .envp = envp, .max_output = 8u << 20,
                          .timeout_ms = IPT_TIMEOUT_MS, .extra_fd = -1};
    struct proc_result res;
    if (proc_run(&o, &res, err) < 0)
        return -1;
    bool ok = proc_ok(&res);
    int r = 0;
    if (ret_ok)
        *ret_ok = ok;
    else if (!ok)
        r = wh_err_set(err, 500, "ServerException", "iptables %s %s: %s", args[0],
                       args[1] ? args[1] : "", proc_describe(&res, IPT_TIMEOUT_MS));
    if (r == 0 && ret_out) {
        *ret_out = res.out;
        res.out = NULL;
    }
    proc_result_free(&res);
    return r;
}

int ipt_list(const char *ipt, const char *table, char **ret_text, struct wh_err *err)
{
    const char *args[] = {"-t", table, "-S", NULL};
    return run(ipt, args, NULL, ret_text, err);
}

/* The next dotted-quad in s at or after *pos (with /N or :port after it allowed). */
static bool next_ip(const char *s, size_t *pos, char ip[16])
{
    for (size_t i = *pos; s[i]; i++) {
        if (s[i] < '0' || s[i] > '9' || (i > 0 && (s[i - 1] == '.' ||
                                                   (s[i - 1] >= '0' && s[i - 1] <= '9'))))
            continue;
        size_t n = strspn(s + i, "0123456789.");
        if (n >= 7 && n < 16) {
            memcpy(ip, s + i, n);
            ip[n] = 0;
            int dots = 0;
            for (size_t k = 0; k < n; k++)
                dots += ip[k] == '.';
            if (dots == 3) {
                *pos = i + n;
                return true;
            }
        }
        i += n ? n - 1 : 0;
    }
    return false;
}

static void parse_comment(const char *line, const char *const *names, size_t nnames,
                          struct ipt_rule_info *r)
{
    const char *p = strstr(line, "name: \\\"");
    if (!p)
        return;
    p += 8;
    const char *q = strstr(p, "\\\"");
    if (!q)
        return;
    size_t len = (size_t)(q - p);
    bool known = false;
    for (size_t i = 0; i < nnames && !known; i++)
        known = strlen(names[i]) == len && strncmp(names[i], p, len) == 0;
    if (!known || len >= sizeof(r->network))
        return;
    memcpy(r->network, p, len);
    r->network[len] = 0;
    r->ours = true;
    const char *id = strstr(q, "id: \\\"");
    if (!id)
        return;
    id += 6;
    const char *e = strstr(id, "\\\"");
    if (e && (size_t)(e - id) < sizeof(r->id)) {
        memcpy(r->id, id, (size_t)(e - id));
        r->id[e - id] = 0;
    }
}

void ipt_rule_parse(const char *line, const char *const *names, size_t nnames,
                    const struct net_subnet *const *subnets, size_t nsubnets,
                    struct ipt_rule_info *ret)
{
    memset(ret, 0, sizeof(*ret));
    if (strncmp(line, "-A ", 3) != 0 || strstr(line, "\"wharf: "))
        return; /* not a rule, or one of ours that every task shares */
    parse_comment(line, names, nnames, ret);
    bool forward = strncmp(line, "-A CNI-FORWARD ", 15) == 0;
    size_t pos = 0;
    char ip[16];
    while (next_ip(line, &pos, ip)) {
        bool mine = false;
        for (size_t i = 0; i < nsubnets; i++)
            mine |= net_subnet_contains(subnets[i], ip);
        ret->ours |= mine;
        if (mine && forward && !ret->fwd_ip[0] && strncmp(line + pos, "/32 ", 4) == 0)
            snprintf(ret->fwd_ip, sizeof(ret->fwd_ip), "%s", ip);
    }
}

/* -C the rule; -A it when missing. spec starts with the chain. */
static int ensure(const char *ipt, const char *table, const char *const *spec,
                  struct wh_err *err)
{
    const char *args[40] = {"-t", table, "-C"};
    size_t n = 3;
    for (size_t i = 0; spec[i] && n < ARRAY_SIZE(args) - 1; i++)
        args[n++] = spec[i];
    args[n] = NULL;
    bool ok;
    if (run(ipt, args, &ok, NULL, err) < 0)
        return -1;
    if (ok)
        return 0;
    args[2] = "-A";
    return run(ipt, args, NULL, NULL, err);
}

int ipt_expose_host_port(const char *ipt, const char *bridge, const char *gateway,
                         uint16_t port, struct wh_err *err)
{
    char p[8], dest[32];
    snprintf(p, sizeof(p), "%u", port);
    snprintf(dest, sizeof(dest), "127.0.0.1:%u", port);
    const char *dnat[] = {"PREROUTING", "-i", bridge, "-d", gateway, "-p", "tcp", "--dport", p,
                          "-m", "comment", "--comment", "wharf: host service", "-j", "DNAT",
                          "--to-destination", dest, NULL};
    const char *guard[] = {"INPUT", "-i", bridge, "-d", "127.0.0.0/8", "-m", "conntrack",
                           "!", "--ctstate", "DNAT", "-m", "comment", "--comment",
                           "wharf: no loopback from tasks", "-j", "DROP", NULL};
    if (ensure(ipt, "filter", guard, err) < 0)
        return -1;
    return ensure(ipt, "nat", dnat, err);
}

int ipt_prune_host_services(const char *ipt, const char *gateway, const uint16_t *keep,
                            size_t nkeep, struct wh_err *err)
{
    cleanup_free char *text = NULL;
    if (ipt_list(ipt, "nat", &text, err) < 0)
        return -1;
    cleanup_free char *dst = xasprintf(" -d %s/32 ", gateway);
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        const char *dport = strstr(line, "--dport ");
        if (!strstr(line, "\"wharf: host service\"") || !strstr(line, dst) || !dport)
            continue;
        long port = strtol(dport + 8, NULL, 10);
        bool kept = false;
        for (size_t i = 0; i < nkeep && !kept; i++)
            kept = keep[i] == port;
        if (!kept && ipt_delete_rule(ipt, "nat", line, err) < 0)
            return -1;
    }
    return 0;
}

void ipt_cni_chain(const char *network, const char *id, const char *prefix, char out[29])
{
    cleanup_free char *in = xasprintf("%s%s", network, id);
    uint8_t md[SHA512_LEN];
    sha512(in, strlen(in), md);
    char hex[2 * SHA512_LEN + 1];
    hex_encode(md, sizeof(md), hex);
    cleanup_free char *full = xasprintf("CNI-%s%s", prefix, hex);
    memcpy(out, full, 28);
    out[28] = 0;
}

size_t ipt_split(const char *line, char **ret_buf, char **argv, size_t max)
{
    char *buf = xstrdup(line), *w = buf;
    size_t n = 0;
    const char *p = line;
    while (*p && n + 1 < max) {
        while (*p == ' ' || *p == '\n')
            p++;
        if (!*p)
            break;
        argv[n++] = w;
        bool quoted = false;
        for (; *p && (quoted || (*p != ' ' && *p != '\n')); p++) {
            if (*p == '"') {
                quoted = !quoted;
            } else if (quoted && p[0] == '\\' && p[1] == '"') {
                *w++ = '"';
                p++;
            } else {
                *w++ = *p;
            }
        }
        *w++ = 0;
    }
    argv[n] = NULL;
    *ret_buf = buf;
    return n;
}

int ipt_delete_rule(const char *ipt, const char *table, const char *line, struct wh_err *err)
{
    char *tok[64];
    cleanup_free char *buf = NULL;
    size_t n = ipt_split(line, &buf, tok, ARRAY_SIZE(tok));
    if (n < 2 || strcmp(tok[0], "-A") != 0)
        return wh_err_set(err, 500, "ServerException", "cannot delete iptables rule '%s'", line);
    const char *args[ARRAY_SIZE(tok) + 3] = {"-t", table, "-D"};
    size_t k = 3;
    for (size_t i = 1; i < n; i++)
        args[k++] = tok[i];
    args[k] = NULL;
    return run(ipt, args, NULL, NULL, err);
}

int ipt_drop_chain(const char *ipt, const char *table, const char *chain, struct wh_err *err)
{
    const char *flush[] = {"-t", table, "-F", chain, NULL};
    bool ok;
    if (run(ipt, flush, &ok, NULL, err) < 0)
        return -1;
    if (!ok)
        return 0; /* no such chain */
    const char *del[] = {"-t", table, "-X", chain, NULL};
    return run(ipt, del, NULL, NULL, err);
}
