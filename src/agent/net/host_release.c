/* On a clean stop with no task network left, take off the host what this agent's networking
 * put there besides its tasks' networks: the rules on its bridges (host-service DNAT, the
 * loopback guard), the bridges, and its namespace directory. Without this every agent data
 * dir ever used leaves two bridges and their rules behind (hundreds after a test run), and
 * every packet to the host walks the guard rules of bridges long gone. net_open puts the
 * rules back; the CNI bridge plugin makes a bridge again when a task needs it. */
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/sockios.h>

#include "agent/net/iptables.h"
#include "agent/net/netpriv.h"
#include "core/log.h"
#include "core/xalloc.h"

static bool task_networks_left(const struct net *n)
{
    DIR *d = opendir(n->tasks_dir);
    if (!d)
        return errno != ENOENT; /* cannot tell: keep everything */
    struct dirent *e;
    bool any = false;
    while (!any && (e = readdir(d))) {
        size_t len = strlen(e->d_name);
        any = len > 5 && strcmp(e->d_name + len - 5, ".json") == 0;
    }
    closedir(d);
    return any;
}

/* Rules of ours (a "wharf: " comment) that name bridge as their input interface. */
static void drop_rules(const struct net *n, const char *bridge)
{
    cleanup_free char *in = xasprintf(" -i %s ", bridge);
    static const char *const tables[] = {"filter", "nat"};
    for (size_t t = 0; t < ARRAY_SIZE(tables); t++) {
        struct wh_err err = {0};
        cleanup_free char *text = NULL;
        if (ipt_list(n->ipt, tables[t], &text, &err) < 0) {
            log_warn("net: cannot list %s rules: %s", tables[t], err.msg);
            continue;
        }
        char *save = NULL;
        for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
            if (strncmp(l, "-A ", 3) == 0 && strstr(l, in) && strstr(l, "\"wharf: ") &&
                ipt_delete_rule(n->ipt, tables[t], l, &err) < 0)
                log_warn("net: cannot remove the rule '%s': %s", l, err.msg);
    }
}

/* Down, then deleted (the bridge ioctl, as brctl delbr does); a bridge that is not there is
 * fine. */
static void delete_bridge(const char *name)
{
    int fd = socket(AF_LOCAL, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
        ifr.ifr_flags &= (short)~IFF_UP;
        if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0 || ioctl(fd, SIOCBRDELBR, name) < 0)
            log_warn("net: cannot remove the bridge %s: %s", name, strerror(errno));
        else
            log_debug("net: removed the bridge %s", name);
    }
    close(fd);
}

void net_release_host(struct net *n)
{
    if (!n->ipt || task_networks_left(n))
        return;
    const struct net_bridge *bs[] = {&n->awsvpc, &n->bridge};
    for (size_t i = 0; i < ARRAY_SIZE(bs); i++) {
        if (!bs[i]->bridge)
            continue;
        drop_rules(n, bs[i]->bridge);
        delete_bridge(bs[i]->bridge);
    }
    /* empty by now (the pool's namespaces are torn down); /run/wharf/<tag> is ours too */
    if (rmdir(n->run_dir) == 0 && n->own_run_dir) {
        cleanup_free char *parent = xstrdup(n->run_dir);
        char *slash = strrchr(parent, '/');
        if (slash) {
            *slash = 0;
            rmdir(parent);
        }
    }
}
