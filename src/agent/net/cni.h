/* The runtime side of the Container Network Interface, spec 1.0.0: plugins are executables
 * found in CNI_PATH, run with CNI_COMMAND / CNI_CONTAINERID / CNI_NETNS / CNI_IFNAME /
 * CNI_PATH (and PATH, since plugins run iptables) as their whole environment and their network
 * configuration as JSON on stdin; they answer a result (or an error object) on stdout.
 *
 * A network configuration list ("conflist": {cniVersion, name, plugins: [...]}) runs plugin by
 * plugin: ADD in order, each plugin getting the previous one's result as prevResult; DEL in
 * reverse order and CHECK in order, each with the result ADD returned. Every child process
 * goes through proc_run (argv, explicit environment, stdin, capped output, deadline).
 *
 * The JSON builders and the result parser are pure; tests/unit/test-net.c covers them. */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#include "core/err.h"

#define CNI_VERSION "1.0.0"
/* Debian's containernetworking-plugins, then the upstream default. */
#define CNI_DEFAULT_PATH "/usr/lib/cni:/opt/cni/bin"

struct cni {
    char *path;     /* CNI_PATH: directories separated by ':' */
    int timeout_ms; /* per plugin run; the child is killed at the deadline */
};

/* path NULL: CNI_DEFAULT_PATH; timeout_ms 0: 30 s. Checks that the plugins named in
 * required (NULL-terminated, may be NULL) exist, naming the missing one and the Debian
 * package. */
int cni_init(struct cni *c, const char *path, int timeout_ms, const char *const *required,
             struct wh_err *err);
void cni_free(struct cni *c);
/* The executable of plugin type (new string), or NULL. */
char *cni_find(const struct cni *c, const char *type);

/* The runtime's parameters of one attachment. */
struct cni_rt {
    const char *container_id; /* [A-Za-z0-9][A-Za-z0-9_.-]* */
    const char *netns;        /* path of the network namespace */
    const char *ifname;       /* interface inside it, "eth0" */
};

/* The stdin document of plugin i of conflist: the plugin's object with the list's name and
 * cniVersion, and prev_result (NULL: none) as prevResult. Pure. */
json_t *cni_plugin_conf(const json_t *conflist, size_t i, const json_t *prev_result);
/* The message of a failed run: the plugin's error object ({"code","msg","details"}) from
 * stdout when there is one, else the first line of stderr, else the exit status. Pure; new
 * string. */
char *cni_error_text(const char *out, const char *errtext, const char *status);

/* Run one plugin (command "ADD", "DEL", "CHECK", "VERSION") with conf on stdin. On success
 * *ret_result is the parsed stdout (NULL when empty, as DEL and CHECK answer; ret_result may
 * be NULL). Errors: 500 "CniError" "<type> <command>: <message>". */
int cni_exec(const struct cni *c, const char *command, const struct cni_rt *rt,
             const json_t *conf, json_t **ret_result, struct wh_err *err);

/* ADD the list; *ret_result is the last plugin's result. When a plugin fails, the list is
 * DELeted again (best effort, with the last result obtained) and its error returned. */
int cni_list_add(const struct cni *c, const json_t *conflist, const struct cni_rt *rt,
                 json_t **ret_result, struct wh_err *err);
/* DEL the list in reverse order with prev_result (NULL when ADD's result is unknown: plugins
 * then clean up by container id). Every plugin runs even when one fails; the first error is
 * returned. */
int cni_list_del(const struct cni *c, const json_t *conflist, const struct cni_rt *rt,
                 const json_t *prev_result, struct wh_err *err);
/* CHECK the list in order with prev_result: 0 when every plugin finds its work intact. */
int cni_list_check(const struct cni *c, const json_t *conflist, const struct cni_rt *rt,
                   const json_t *prev_result, struct wh_err *err);

/* What a result says about the interface named ifname inside netns. Strings are new; NULL
 * when the result does not say. */
struct cni_iface {
    char *name, *mac;
    char *ip;      /* "10.213.0.5" */
    int prefix;    /* 24 */
    char *gateway; /* "10.213.0.1" */
};
/* Find the sandbox interface (its "sandbox" is netns, or the name matches when no interface
 * names a sandbox) and its first IPv4 address. -1 (err) when the result has no such
 * interface or no IPv4 address for it. Pure. */
int cni_result_iface(const json_t *result, const char *netns, const char *ifname,
                     struct cni_iface *ret, struct wh_err *err);
void cni_iface_clear(struct cni_iface *i);
