/* Host-side steps of a task: its resources, its containers' creation, its cleanup. */
#include "agent/task_setup.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/cgroup.h"
#include "agent/engine.h"
#include "agent/images.h"
#include "agent/logship.h"
#include "agent/net/task_net.h"
#include "agent/net/netns.h"
#include "agent/oci_spec.h"
#include "agent/rmtree.h"
#include "agent/rootfs.h"
#include "agent/runtime.h"
#include "agent/task_runner.h"
#include "agent/volumes.h"
#include "core/fsutil.h"
#include "core/json.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "core/xalloc.h"

#define ENV_FILE_MAX (1u << 20)
#define PASSWD_MAX (4u << 20)

int setup_parse_cpu(const char *s)
{
    if (!s)
        return 0;
    char *end;
    double v = strtod(s, &end);
    if (end == s || v <= 0)
        return 0;
    while (*end == ' ')
        end++;
    if (strncasecmp(end, "vcpu", 4) == 0)
        v *= 1024;
    return (int)(v + 0.5);
}

int setup_parse_memory(const char *s)
{
    if (!s)
        return 0;
    char *end;
    double v = strtod(s, &end);
    if (end == s || v <= 0)
        return 0;
    while (*end == ' ')
        end++;
    if (strncasecmp(end, "gb", 2) == 0)
        v *= 1024;
    return (int)(v + 0.5);
}

static struct engine *eng(const struct task *t)
{
    return t->agent->engine;
}

static char *task_dir(const struct task *t)
{
    return xasprintf("%s/%s", eng(t)->tasks_dir, t->rec->id);
}

static char *ctr_dir(const struct task *t, const char *runtime_id)
{
    return xasprintf("%s/%s", eng(t)->rootfs_dir, runtime_id);
}

static const json_t *task_def(const struct task *t)
{
    return json_object_get(t->rec->desired, "taskDefinition");
}

/* Task-level cpu/memory: the poll answer's (overrides applied by wharfd), else the
 * definition's. */
static void task_limits(const struct task *t, int *ret_cpu, int *ret_mem)
{
    const json_t *d = t->rec->desired, *td = task_def(t);
    const char *cpu = json_str(d, "cpu") ? json_str(d, "cpu") : json_str(td, "cpu");
    const char *mem = json_str(d, "memory") ? json_str(d, "memory") : json_str(td, "memory");
    *ret_cpu = setup_parse_cpu(cpu);
    *ret_mem = setup_parse_memory(mem);
}

int setup_task(struct task *t, struct wh_err *err)
{
    cleanup_free char *dir = task_dir(t);
    cleanup_free char *logs = xasprintf("%s/%s", eng(t)->logs_dir, t->rec->id);
    int r = fs_mkdir_p(dir, 0700);
    if (r == 0)
        r = fs_mkdir_p(logs, 0755);
    if (r < 0)
        return wh_err_set(err, 500, "ServerException", "cannot create %s: %s", dir, strerror(-r));
    if (task_net_setup(t, err) < 0)
        return -1;
    int cpu, mem;
    task_limits(t, &cpu, &mem);
    return cgroup_task_create(t->rec->id, mem, err);
}

int setup_task_cpu(struct task *t, struct wh_err *err)
{
    int cpu, mem;
    task_limits(t, &cpu, &mem);
    return cgroup_task_limit_cpu(t->rec->id, cpu, err);
}

int setup_pull(struct task *t, size_t i, struct pulled_image **ret_img, struct wh_err *err)
{
    const json_t *def = task_rec_ctr_def(t->rec, i);
    const char *image = json_str(def, "image");
    if (!image)
        return wh_err_set(err, 400, "CannotPullContainerError",
                          "CannotPullContainerError: container %s has no image",
                          t->rec->c[i].name);
    cleanup_free char *user = NULL, *password = NULL;
    if (engine_image_auth(eng(t), image, def, &user, &password, err) < 0) {
        if (strncmp(err->msg, "CannotPullContainerError", 24) != 0)
            wh_err_prefix(err, "CannotPullContainerError: %s: ", image);
        return -1;
    }
    struct image_auth auth = {.username = user, .password = password};
    struct pulled_image *img;
    if (images_pull(eng(t)->images, image, user ? &auth : NULL, &img, err) < 0)
        return -1;
    pthread_mutex_lock(&t->mu);
    struct ctr_rec *c = &t->rec->c[i];
    free(c->image_digest);
    c->image_digest = xstrdup(img->repo_digest ? img->repo_digest : img->digest);
    free(c->image_id);
    c->image_id = xstrdup(img->digest);
    pthread_mutex_unlock(&t->mu);
    *ret_img = img;
    return 0;
}

/* The container's entry of overrides.containerOverrides, or NULL. */
static const json_t *ctr_override(const struct task *t, const char *name)
{
    const json_t *ovs = json_object_get(json_object_get(t->rec->desired, "overrides"),
                                        "containerOverrides");
    size_t k;
    const json_t *o;
    json_array_foreach(ovs, k, o) {
        const char *n = json_str(o, "name");
        if (n && strcmp(n, name) == 0)
            return o;
    }
    return NULL;
}

/* Written whole and renamed into place, not synced: these files live as long as the
 * container, which does not outlive a reboot either. */
static int write_file(const char *path, const char *text, struct wh_err *err)
{
    cleanup_free char *tmp = xasprintf("%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    size_t len = strlen(text), off = 0;
    while (fd >= 0 && off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    int e = errno;
    if (fd >= 0)
        close(fd);
    if (fd < 0 || off < len || rename(tmp, path) < 0) {
        unlink(tmp);
        return wh_err_set(err, 500, "ServerException", "cannot write %s: %s", path,
                          strerror(fd < 0 || off < len ? e : errno));
    }
    return 0;
}

/* /etc/hosts, /etc/resolv.conf and /etc/hostname for container i into dir. */
static int write_etc(const json_t *def, const char *hostname, const char *dir,
                     struct wh_err *err)
{
    char *hosts = xasprintf("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                            "127.0.1.1\t%s\n", hostname);
    size_t k;
    const json_t *h;
    json_array_foreach(json_object_get(def, "extraHosts"), k, h) {
        char *n = xasprintf("%s%s\t%s\n", hosts, json_str(h, "ipAddress") ?: "",
                            json_str(h, "hostname") ?: "");
        free(hosts);
        hosts = n;
    }
    char *resolv = NULL;
    const json_t *dns = json_object_get(def, "dnsServers");
    const json_t *search = json_object_get(def, "dnsSearchDomains");
    if (json_array_size(dns) || json_array_size(search)) {
        resolv = xstrdup("");
        const json_t *v;
        json_array_foreach(dns, k, v) {
            char *n = xasprintf("%snameserver %s\n", resolv, json_string_value(v) ?: "");
            free(resolv);
            resolv = n;
        }
        if (json_array_size(search)) {
            char *n = xasprintf("%ssearch", resolv);
            free(resolv);
            resolv = n;
            json_array_foreach(search, k, v) {
                n = xasprintf("%s %s", resolv, json_string_value(v) ?: "");
                free(resolv);
                resolv = n;
            }
            n = xasprintf("%s\n", resolv);
            free(resolv);
            resolv = n;
        }
    } else if (fs_read_file("/etc/resolv.conf", 1 << 16, &resolv, NULL) < 0) {
        resolv = xstrdup("");
    }
    cleanup_free char *hostname_text = xasprintf("%s\n", hostname);
    cleanup_free char *p1 = xasprintf("%s/hosts", dir);
    cleanup_free char *p2 = xasprintf("%s/resolv.conf", dir);
    cleanup_free char *p3 = xasprintf("%s/hostname", dir);
    int r = write_file(p1, hosts, err);
    if (r == 0)
        r = write_file(p2, resolv, err);
    if (r == 0)
        r = write_file(p3, hostname_text, err);
    free(hosts);
    free(resolv);
    return r;
}

/* The contents of the container's environment files (the override's list replaces the
 * definition's). Values are host files: an absolute path or a file:// URL; wharf has no S3. */
static int read_env_files(const json_t *def, const json_t *ov, char ***ret, size_t *ret_n,
                          struct wh_err *err)
{
    const json_t *files = json_object_get(ov, "environmentFiles");
    if (!json_array_size(files))
        files = json_object_get(def, "environmentFiles");
    size_t n = json_array_size(files);
    char **v = xcalloc(n + 1, sizeof(char *));
    for (size_t k = 0; k < n; k++) {
        const char *val = json_str(json_array_get(files, k), "value");
        const char *path = val && strncmp(val, "file://", 7) == 0 ? val + 7 : val;
        int r = path && path[0] == '/' ? fs_read_file(path, ENV_FILE_MAX, &v[k], NULL) : -EINVAL;
        if (r < 0) {
            for (size_t j = 0; j < k; j++)
                free(v[j]);
            free(v);
            if (r == -EINVAL)
                return wh_err_set(err, 400, "CannotCreateContainerError",
                                  "environmentFiles[%zu] '%s': wharf-agent reads environment "
                                  "files from the host (an absolute path or file:// URL); "
                                  "S3 is not available", k, val ? val : "");
            return wh_err_set(err, 400, "CannotCreateContainerError",
                              "environmentFiles[%zu] '%s': %s", k, val, strerror(-r));
        }
    }
    *ret = v;
    *ret_n = n;
    return 0;
}

static void free_strv(char **v, size_t n)
{
    for (size_t k = 0; k < n; k++)
        free(v[k]);
    free(v);
}

struct spec_job {
    struct task *t;
    size_t i;
    const struct pulled_image *img;
    const json_t *def, *ov;
    char *rootfs, *etc_dir, *passwd, *group, **env_files;
    size_t n_env;
    struct vol_mounts mounts;
};

static void spec_job_free(struct spec_job *j)
{
    free(j->rootfs);
    free(j->etc_dir);
    free(j->passwd);
    free(j->group);
    free_strv(j->env_files, j->n_env);
    vol_mounts_free(&j->mounts);
}

/* Rootfs, /etc files, volumes and environment files: everything the spec refers to. */
static int gather(struct spec_job *j, const char *runtime_id, struct wh_err *err)
{
    struct task *t = j->t;
    cleanup_free char *cdir = ctr_dir(t, runtime_id);
    if (rootfs_is_mounted(cdir) && rootfs_remove(cdir, err) < 0)
        return -1;
    if (rootfs_mount((const char *const *)j->img->layer_dirs, j->img->n_layers, cdir, NULL,
                     &j->rootfs, NULL, err) < 0)
        return -1;
    j->passwd = engine_read_in_root(j->rootfs, "/etc/passwd", PASSWD_MAX);
    j->group = engine_read_in_root(j->rootfs, "/etc/group", PASSWD_MAX);
    cleanup_free char *tdir = task_dir(t);
    j->etc_dir = xasprintf("%s/ctr-%s", tdir, t->rec->c[j->i].name);
    int r = fs_mkdir_p(j->etc_dir, 0755);
    if (r < 0)
        return wh_err_set(err, 500, "ServerException", "cannot create %s: %s", j->etc_dir,
                          strerror(-r));
    const char *hn = json_str(j->def, "hostname");
    cleanup_free char *hostname = hn ? xstrdup(hn) : xstrndup(t->rec->id, 12);
    if (write_etc(j->def, hostname, j->etc_dir, err) < 0)
        return -1;
    cleanup_free char *shared = xasprintf("%s/volumes", eng(t)->data_dir);
    const json_t *td = task_def(t);
    struct volumes_in vi = {.volumes = json_object_get(td, "volumes"),
                            .containers = json_object_get(td, "containerDefinitions"),
                            .container = t->rec->c[j->i].name, .task_dir = tdir,
                            .shared_dir = shared};
    if (volumes_resolve(&vi, &j->mounts, err) < 0 || volumes_prepare(&j->mounts, err) < 0)
        return -1;
    return read_env_files(j->def, j->ov, &j->env_files, &j->n_env, err);
}

static int build_spec(struct spec_job *j, const char *runtime_id, struct oci_spec *ret,
                      struct wh_err *err)
{
    struct task *t = j->t;
    cleanup_free char *def_text = json_text(j->def);
    cleanup_free char *ov_text = j->ov ? json_text(j->ov) : NULL;
    cleanup_free char *ns = NULL;
    bool host_net;
    if (task_net_container(t, j->i, &ns, &host_net, err) < 0)
        return -1;
    cleanup_free char *hosts = xasprintf("%s/hosts", j->etc_dir);
    cleanup_free char *resolv = xasprintf("%s/resolv.conf", j->etc_dir);
    cleanup_free char *hostname_path = xasprintf("%s/hostname", j->etc_dir);
    const char *hn = json_str(j->def, "hostname");
    cleanup_free char *hostname = hn ? xstrdup(hn) : xstrndup(t->rec->id, 12);
    int cpu, mem;
    task_limits(t, &cpu, &mem);
    (void)runtime_id;
    struct oci_spec_in in = {
        .image_config = j->img->config_json,
        .container_def = def_text,
        .overrides = ov_text,
        .task_cpu = cpu,
        .task_memory = mem,
        .task_id = t->rec->id,
        .rootfs = j->rootfs,
        .mounts = &j->mounts,
        .env_files = (const char *const *)j->env_files,
        .n_env_files = j->n_env,
        .passwd = j->passwd,
        .group = j->group,
        .netns = ns,
        .host_network = host_net,
        .hostname = hostname,
        .hosts_path = hosts,
        .resolv_conf_path = resolv,
        .hostname_path = hostname_path,
        .init_path = eng(t)->init_path,
        .host = &eng(t)->host,
    };
    return oci_spec_build(&in, ret, err);
}

int setup_create(struct task *t, size_t i, const struct pulled_image *img, struct wh_err *err)
{
    const char *name = t->rec->c[i].name;
    cleanup_free char *runtime_id = task_runtime_id(t->rec->id, name);
    struct spec_job j = {.t = t, .i = i, .img = img, .def = task_rec_ctr_def(t->rec, i),
                         .ov = ctr_override(t, name)};
    struct oci_spec spec = {0};
    double t0 = time_monotonic();
    int r = gather(&j, runtime_id, err);
    double t1 = time_monotonic();
    if (r == 0)
        r = build_spec(&j, runtime_id, &spec, err);
    log_debug("%s: container %s: rootfs and files %.1f ms, spec %.1f ms", t->rec->arn, name,
              (t1 - t0) * 1000, (time_monotonic() - t1) * 1000);
    spec_job_free(&j);
    if (r < 0)
        return wh_err_prefix(err, "CannotCreateContainerError: container %s: ", name);
    for (size_t k = 0; k < spec.n_warnings; k++)
        log_warn("%s: container %s: %s", t->rec->arn, name, spec.warnings[k]);
    cleanup_free char *spec_text = json_dumps(spec.spec, JSON_COMPACT);
    int stop_signal = spec.stop_signal;
    oci_spec_free(&spec);
    cleanup_free char *log = xasprintf("%s/%s/%s.log", eng(t)->logs_dir, t->rec->id, name);
    /* Before the container can write: a container whose awslogs cannot work does not start. */
    struct logship_container lc = {
        .task_arn = t->rec->arn, .container_name = name, .runtime_id = runtime_id,
        .log_path = log,
        .log_configuration = json_object_get(task_rec_ctr_def(t->rec, i), "logConfiguration")};
    if (logship_watch(t->agent->logship, &lc, err) < 0)
        return -1;
    /* The id is a function of the task and the name, so a crash before the record is saved
     * still finds the container (task_runtime_id). */
    pthread_mutex_lock(&t->mu);
    struct ctr_rec *c = &t->rec->c[i];
    free(c->runtime_id);
    c->runtime_id = xstrdup(runtime_id);
    c->stop_signal = stop_signal;
    pthread_mutex_unlock(&t->mu);
    struct rt_create_opts co = {.id = runtime_id, .spec = spec_text, .log_path = log};
    pid_t pid;
    double t2 = time_monotonic();
    int cr = rt_create(&eng(t)->rt, &co, &pid, err);
    log_debug("%s: container %s: created in %.1f ms", t->rec->arn, name,
              (time_monotonic() - t2) * 1000);
    if (cr < 0) {
        if (strncmp(err->msg, "Cannot", 6) != 0)
            wh_err_prefix(err, "CannotCreateContainerError: ");
        return -1;
    }
    t->live[i].pid = pid;
    t->live[i].stop_signal = stop_signal;
    return 0;
}

void setup_discard(struct task *t, size_t i)
{
    cleanup_free char *id = task_runtime_id(t->rec->id, t->rec->c[i].name);
    struct wh_err err = {0};
    if (rt_delete(&eng(t)->rt, id, &err) < 0)
        log_warn("%s: %s", t->rec->arn, err.msg);
    cleanup_free char *cdir = ctr_dir(t, id);
    if (rootfs_remove(cdir, &err) < 0)
        log_warn("%s: %s", t->rec->arn, err.msg);
    rmdir(cdir);
}

int setup_cleanup(struct task *t)
{
    int bad = 0;
    struct wh_err err = {0};
    for (size_t i = 0; i < t->rec->n; i++) {
        const char *id = t->rec->c[i].runtime_id;
        if (!id)
            continue;
        if (rt_delete(&eng(t)->rt, id, &err) < 0) {
            log_warn("%s: cleanup: %s", t->rec->arn, err.msg);
            bad = -1;
        }
        cleanup_free char *cdir = ctr_dir(t, id);
        if (rootfs_remove(cdir, &err) < 0) {
            log_warn("%s: cleanup: %s", t->rec->arn, err.msg);
            bad = -1;
        } else {
            rmdir(cdir);
        }
    }
    if (cgroup_task_remove(t->rec->id, &err) < 0) {
        log_warn("%s: cleanup: %s", t->rec->arn, err.msg);
        bad = -1;
    }
    if (task_net_teardown(t) < 0)
        bad = -1;
    cleanup_free char *dir = task_dir(t);
    cleanup_free char *ns = xasprintf("%s/netns", dir); /* of tasks from before task networking */
    int r = net_ns_remove(ns);
    if (r < 0) {
        log_warn("%s: cleanup: network namespace %s: %s", t->rec->arn, ns, strerror(-r));
        bad = -1;
    }
    if (bad == 0 && (r = rmtree(dir)) < 0) {
        log_warn("%s: cleanup: %s: %s", t->rec->arn, dir, strerror(-r));
        bad = -1;
    }
    return bad;
}
