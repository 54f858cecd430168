#include "agent/oci_spec.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent/caps.h"
#include "agent/env.h"
#include "agent/oci_internal.h"
#include "agent/userdb.h"
#include "core/json.h"
#include "core/xalloc.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define INIT_IN_CONTAINER "/sbin/wharf-init"

void oci_warn(struct oci_ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *m = xvasprintf(fmt, ap);
    va_end(ap);
    struct oci_spec *o = c->out;
    o->warnings = xrealloc(o->warnings, (o->n_warnings + 1) * sizeof(*o->warnings));
    o->warnings[o->n_warnings++] = m;
}

json_t *oci_pick(const struct oci_ctx *c, const char *key)
{
    json_t *v = json_object_get(c->ov, key);
    return v && !json_is_null(v) ? v : json_object_get(c->def, key);
}

static int parse_doc(const char *text, const char *what, json_t **ret, struct wh_err *err)
{
    json_error_t je;
    json_t *v = json_loads(text, 0, &je);
    if (!v || !json_is_object(v)) {
        json_decref(v);
        return wh_err_set(err, 400, "InvalidParameterException", "%s is not a JSON object: %s",
                          what, v ? "another JSON value" : je.text);
    }
    *ret = v;
    return 0;
}

/* Non-empty array of strings, or NULL (ECS sends [] for "not set"). */
static json_t *str_list(json_t *v)
{
    return json_is_array(v) && json_array_size(v) ? v : NULL;
}

static int build_args(struct oci_ctx *c, json_t **ret, struct wh_err *err)
{
    json_t *def_ep = str_list(json_object_get(c->def, "entryPoint"));
    json_t *cmd = str_list(json_object_get(c->ov, "command"));
    if (!cmd)
        cmd = str_list(json_object_get(c->def, "command"));
    json_t *ep = def_ep ? def_ep : str_list(json_object_get(c->img, "Entrypoint"));
    if (!cmd && !def_ep)
        cmd = str_list(json_object_get(c->img, "Cmd"));
    json_t *args = json_array();
    if (json_bool(c->lp, "initProcessEnabled", false)) {
        if (!c->in->init_path) {
            json_decref(args);
            return wh_err_set(err, 500, "ServerException",
                              "container '%s': initProcessEnabled but no init binary", c->name);
        }
        json_array_append_new(args, json_string(INIT_IN_CONTAINER));
        json_array_append_new(args, json_string("--"));
    }
    size_t first = json_array_size(args);
    if (ep)
        json_array_extend(args, ep);
    if (cmd)
        json_array_extend(args, cmd);
    size_t i;
    json_t *a;
    json_array_foreach(args, i, a)
        if (!json_is_string(a)) {
            json_decref(args);
            return wh_err_set(err, 400, "InvalidParameterException",
                              "container '%s': entryPoint/command element %zu is not a string",
                              c->name, i - first);
        }
    if (json_array_size(args) == first) {
        json_decref(args);
        return wh_err_set(err, 400, "InvalidParameterException",
                          "container '%s' has no command: the image sets neither Entrypoint nor "
                          "Cmd and the definition gives neither entryPoint nor command", c->name);
    }
    *ret = args;
    return 0;
}

/* ECS [{name, value}] pairs onto e, later wins. */
static void apply_pairs(struct env_list *e, const json_t *pairs)
{
    size_t i;
    json_t *p;
    json_array_foreach(pairs, i, p) {
        const char *n = json_str(p, "name");
        if (n && *n)
            env_set(e, n, json_str(p, "value"), true);
    }
}

static json_t *build_env(struct oci_ctx *c, const char *hostname, const char *home)
{
    struct env_list e = {0};
    env_set(&e, "PATH", DEFAULT_PATH, true);
    if (hostname)
        env_set(&e, "HOSTNAME", hostname, true);
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(c->img, "Env"), i, v)
        if (json_is_string(v))
            env_set_pair(&e, json_string_value(v), true);
    struct env_list files = {0};
    for (size_t f = 0; f < c->in->n_env_files; f++)
        env_parse_file(c->in->env_files[f], &files, false);
    for (i = 0; i < files.n; i++)
        env_set_pair(&e, files.v[i], true);
    env_free(&files);
    apply_pairs(&e, json_object_get(c->def, "environment"));
    apply_pairs(&e, json_object_get(c->ov, "environment"));
    if (!env_has(&e, "HOME"))
        env_set(&e, "HOME", home, true);
    json_t *arr = json_array();
    for (i = 0; i < e.n; i++)
        json_array_append_new(arr, json_string(e.v[i]));
    env_free(&e);
    return arr;
}

static int build_cwd(struct oci_ctx *c, const char **ret, struct wh_err *err)
{
    const char *wd = json_str(c->def, "workingDirectory");
    if (!wd || !*wd)
        wd = json_str(c->img, "WorkingDir");
    if (!wd || !*wd)
        wd = "/";
    if (wd[0] != '/')
        return wh_err_set(err, 400, "InvalidParameterException",
                          "container '%s' workingDirectory '%s' is not an absolute path", c->name,
                          wd);
    *ret = wd;
    return 0;
}

static json_t *user_json(const struct userdb_user *u)
{
    json_t *o = json_pack("{s:I,s:I}", "uid", (json_int_t)u->uid, "gid", (json_int_t)u->gid);
    if (u->n_groups) {
        json_t *g = json_array();
        for (size_t i = 0; i < u->n_groups; i++)
            json_array_append_new(g, json_integer(u->groups[i]));
        json_object_set_new(o, "additionalGids", g);
    }
    return o;
}

/* Effective capabilities: privileged → all; else Docker's default set tweaked by
 * linuxParameters.capabilities; then limited to what the host can grant. */
static int build_caps(struct oci_ctx *c, struct wh_err *err)
{
    uint64_t caps = CAPS_ALL;
    if (!c->privileged) {
        json_t *kc = json_object_get(c->lp, "capabilities");
        if (caps_tweak(caps_docker_default, json_object_get(kc, "add"),
                       json_object_get(kc, "drop"), "linuxParameters.capabilities", &caps,
                       err) < 0)
            return wh_err_prefix(err, "container '%s': ", c->name);
    }
    uint64_t host = c->in->host ? c->in->host->caps : CAPS_ALL;
    uint64_t missing = caps & ~host;
    if (missing && !c->privileged) {
        for (int b = 0; b <= CAPS_LAST; b++)
            if (missing & (UINT64_C(1) << b))
                oci_warn(c, "container '%s': capability %s is not available on this host and "
                            "was left out", c->name, caps_name(b));
    } else if (missing) {
        oci_warn(c, "container '%s': privileged, but this host cannot grant %d capabilities "
                    "(left out)", c->name, __builtin_popcountll(missing));
    }
    c->caps = caps & host;
    return 0;
}

static json_t *caps_json(uint64_t caps)
{
    return json_pack("{s:o,s:o,s:o}", "bounding", caps_to_json(caps), "effective",
                     caps_to_json(caps), "permitted", caps_to_json(caps));
}

static int build_process(struct oci_ctx *c, const char *hostname, json_t **ret,
                         struct wh_err *err)
{
    json_auto_t *args = NULL;
    const char *cwd = "/";
    if (build_args(c, &args, err) < 0 || build_cwd(c, &cwd, err) < 0 || build_caps(c, err) < 0)
        return -1;
    const char *uspec = json_str(c->def, "user");
    if (!uspec || !*uspec)
        uspec = json_str(c->img, "User");
    struct userdb_user u;
    if (userdb_resolve(uspec, c->in->passwd, c->in->group, &u, err) < 0)
        return wh_err_prefix(err, "container '%s' ", c->name);
    json_t *rl = NULL;
    if (oci_rlimits_build(c, &rl, err) < 0) {
        userdb_user_free(&u);
        return -1;
    }
    json_t *p = json_pack("{s:b,s:o,s:O,s:o,s:s,s:o,s:b}", "terminal", 0, "user", user_json(&u),
                          "args", args, "env", build_env(c, hostname, u.home), "cwd", cwd,
                          "capabilities", caps_json(c->caps), "noNewPrivileges",
                          !c->privileged);
    userdb_user_free(&u);
    if (rl)
        json_object_set_new(p, "rlimits", rl);
    *ret = p;
    return 0;
}

static int check_task_limits(const struct oci_ctx *c, struct wh_err *err)
{
    json_t *m = oci_pick(c, "memory");
    int64_t mem = json_is_integer(m) ? json_integer_value(m) : 0;
    if (c->in->task_memory > 0 && mem > c->in->task_memory)
        return wh_err_set(err, 400, "InvalidParameterException",
                          "container '%s' memory %lld MiB exceeds the task's memory %d MiB",
                          c->name, (long long)mem, c->in->task_memory);
    json_t *cpu = oci_pick(c, "cpu");
    if (c->in->task_cpu > 0 && json_is_integer(cpu) && json_integer_value(cpu) > c->in->task_cpu)
        return wh_err_set(err, 400, "InvalidParameterException",
                          "container '%s' cpu %lld exceeds the task's cpu %d", c->name,
                          (long long)json_integer_value(cpu), c->in->task_cpu);
    return 0;
}

static int assemble(struct oci_ctx *c, struct wh_err *err)
{
    const char *hostname = c->in->hostname ? c->in->hostname : json_str(c->def, "hostname");
    json_auto_t *process = NULL, *mounts = NULL, *linux_ = NULL;
    if (check_task_limits(c, err) < 0 || build_process(c, hostname, &process, err) < 0 ||
        oci_mounts_build(c, &mounts, err) < 0 || oci_linux_build(c, &linux_, err) < 0)
        return -1;
    json_t *spec = json_pack("{s:s,s:O,s:{s:s,s:b},s:O,s:O}", "ociVersion", "1.0.2", "process",
                             process, "root", "path", c->in->rootfs, "readonly",
                             json_bool(c->def, "readonlyRootFilesystem", false), "mounts",
                             mounts, "linux", linux_);
    if (hostname && *hostname)
        json_object_set_new(spec, "hostname", json_string(hostname));
    json_t *labels = json_object_get(c->def, "dockerLabels");
    if (json_is_object(labels) && json_object_size(labels))
        json_object_set(spec, "annotations", labels);
    if (json_bool(c->def, "pseudoTerminal", false) || json_bool(c->def, "interactive", false))
        oci_warn(c, "container '%s': pseudoTerminal/interactive are not supported; the "
                    "container runs without a terminal or stdin", c->name);
    const char *sig = json_str(c->img, "StopSignal");
    int signo = sig ? oci_signal_from_name(sig) : SIGTERM;
    if (signo < 0) {
        oci_warn(c, "container '%s': image StopSignal '%s' is unknown, using SIGTERM", c->name,
                 sig);
        signo = SIGTERM;
    }
    c->out->stop_signal = signo;
    c->out->spec = spec;
    return 0;
}

int oci_spec_build(const struct oci_spec_in *in, struct oci_spec *ret_spec, struct wh_err *err)
{
    json_auto_t *img_doc = NULL, *def = NULL, *ov = NULL;
    if (!in->rootfs || in->rootfs[0] != '/' || !in->task_id || !in->container_def)
        return wh_err_set(err, 500, "ServerException",
                          "oci_spec_build needs an absolute rootfs, a task id and a definition");
    if (parse_doc(in->container_def, "the container definition", &def, err) < 0 ||
        (in->image_config &&
         parse_doc(in->image_config, "the image config", &img_doc, err) < 0) ||
        (in->overrides && parse_doc(in->overrides, "the container override", &ov, err) < 0))
        return -1;
    json_t *img = json_object_get(img_doc, "config");
    if (!json_is_object(img))
        img = img_doc;
    json_auto_t *empty = json_object();
    struct oci_spec out = {0};
    struct oci_ctx c = {
        .in = in,
        .name = json_str(def, "name") ? json_str(def, "name") : "",
        .img = img ? img : empty,
        .def = def,
        .ov = ov,
        .lp = json_object_get(def, "linuxParameters"),
        .privileged = json_bool(def, "privileged", false),
        .out = &out,
    };
    if (assemble(&c, err) < 0) {
        oci_spec_free(&out);
        return -1;
    }
    *ret_spec = out;
    return 0;
}

void oci_spec_free(struct oci_spec *s)
{
    if (!s)
        return;
    json_decref(s->spec);
    for (size_t i = 0; i < s->n_warnings; i++)
        free(s->warnings[i]);
    free(s->warnings);
    *s = (struct oci_spec){0};
}

int oci_signal_from_name(const char *name)
{
    static const struct {
        const char *name;
        int sig;
    } sigs[] = {
        {"HUP", SIGHUP},   {"INT", SIGINT},     {"QUIT", SIGQUIT}, {"KILL", SIGKILL},
        {"USR1", SIGUSR1}, {"USR2", SIGUSR2},   {"TERM", SIGTERM}, {"STOP", SIGSTOP},
        {"CONT", SIGCONT}, {"WINCH", SIGWINCH}, {"PWR", SIGPWR},   {"ABRT", SIGABRT},
        {"ALRM", SIGALRM}, {"TSTP", SIGTSTP},
    };
    if (!name || !*name)
        return -1;
    if (isdigit((unsigned char)name[0])) {
        char *end;
        long v = strtol(name, &end, 10);
        return *end || v <= 0 || v >= NSIG ? -1 : (int)v;
    }
    if (strncasecmp(name, "SIG", 3) == 0)
        name += 3;
    for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
        if (strcasecmp(name, sigs[i].name) == 0)
            return sigs[i].sig;
    if (strncasecmp(name, "RTMIN+", 6) == 0) {
        int n = atoi(name + 6);
        return SIGRTMIN + n <= SIGRTMAX ? SIGRTMIN + n : -1;
    }
    return -1;
}

/* Our own capability bounding set: a container can only get capabilities we still have. */
static uint64_t probe_caps(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    if (!f)
        return CAPS_ALL;
    char line[256];
    uint64_t caps = CAPS_ALL;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "CapBnd:", 7) == 0)
            caps = strtoull(line + 7, NULL, 16) & CAPS_ALL;
    fclose(f);
    return caps;
}

void oci_host_probe(struct oci_host *ret_host)
{
    struct oci_host h = {.caps = probe_caps()};
    for (int r = 0; r < RLIM_NLIMITS; r++) {
        struct rlimit rl;
        h.hard_limits[r] = getrlimit(r, &rl) == 0 ? rl.rlim_max : RLIM_INFINITY;
    }
    h.swap_accounting = access("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", F_OK) == 0 ||
                        access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;
#if defined(__x86_64__)
    /* getpid through the x32 ABI (syscall number with bit 30 set) */
    h.no_x32 = syscall(0x40000000L | SYS_getpid) == -1 && errno == ENOSYS;
#endif
    *ret_host = h;
}
