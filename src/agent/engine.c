/* The shared pieces behind every task runner: runtime, image store, pull credentials. */
#include "agent/engine.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent/aws_client.h"
#include "agent/image_ref.h"
#include "core/crypto.h"
#include "core/fsutil.h"
#include "core/json.h"
#include "core/log.h"
#include "core/proc.h"
#include "core/timeutil.h"
#include "core/xalloc.h"

#define ECR_TARGET "AmazonEC2ContainerRegistry_V20150921."
#define TOKEN_MARGIN_S 600 /* refresh the ECR token this long before it expires */
#define PULL_ERR "CannotPullContainerError"

/* "http://host:port/..." → "host:port" (new string). */
static char *url_host(const char *url)
{
    const char *h = strstr(url, "://");
    h = h ? h + 3 : url;
    return xstrndup(h, strcspn(h, "/"));
}

static int mkdirs(struct engine *e, struct wh_err *err)
{
    const char *dirs[] = {e->state_dir, e->tasks_dir, e->rootfs_dir, e->logs_dir};
    for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
        int r = fs_mkdir_p(dirs[i], 0700);
        if (r < 0)
            return wh_err_set(err, 0, "IOError", "cannot create %s: %s", dirs[i], strerror(-r));
    }
    return 0;
}

/* GetAuthorizationToken: cache the password and learn the registry host. */
static int token_refresh_locked(struct engine *e, struct wh_err *err)
{
    json_auto_t *in = json_object();
    json_auto_t *out = NULL;
    if (aws_client_call(e->aws, "ecr", ECR_TARGET "GetAuthorizationToken", in, 15000, &out,
                        err) < 0)
        return -1;
    const json_t *d = json_array_get(json_object_get(out, "authorizationData"), 0);
    const char *tok = json_str(d, "authorizationToken");
    const char *proxy = json_str(d, "proxyEndpoint");
    const json_t *exp = json_object_get(d, "expiresAt");
    if (!tok)
        return wh_err_set(err, 0, "ProtocolError", "GetAuthorizationToken: no authorizationToken");
    size_t cap = 3 * strlen(tok) / 4 + 3;
    cleanup_free uint8_t *raw = xmalloc(cap + 1);
    long n = base64_decode(tok, raw);
    if (n < 0 || (size_t)n > cap)
        return wh_err_set(err, 0, "ProtocolError", "GetAuthorizationToken: token is not base64");
    raw[n] = 0;
    char *colon = strchr((char *)raw, ':');
    if (!colon)
        return wh_err_set(err, 0, "ProtocolError", "GetAuthorizationToken: token is not USER:PASS");
    free(e->tok_password);
    e->tok_password = xstrdup(colon + 1);
    e->tok_expires = json_is_number(exp) ? json_number_value(exp) : time_now() + 3600;
    if (proxy) {
        free(e->registry_host);
        e->registry_host = url_host(proxy);
    }
    return 0;
}

int engine_open(const struct engine_opts *o, struct aws_client *aws, struct engine **ret,
                struct wh_err *err)
{
    struct engine *e = xcalloc(1, sizeof(*e));
    e->aws = aws;
    pthread_mutex_init(&e->tok_mu, NULL);
    e->data_dir = xstrdup(o->data_dir);
    e->state_dir = xasprintf("%s/state", o->data_dir);
    e->tasks_dir = xasprintf("%s/tasks", o->data_dir);
    e->rootfs_dir = xasprintf("%s/rootfs", o->data_dir);
    e->logs_dir = xasprintf("%s/logs", o->data_dir);
    e->endpoint_host = url_host(aws_client_endpoint(aws));
    cleanup_free char *init = fs_beside_self("wharf-init");
    if (init && access(init, X_OK) == 0)
        e->init_path = TAKE_PTR(init);
    oci_host_probe(&e->host);
    if (mkdirs(e, err) < 0 || rt_init(&e->rt, o->data_dir, o->runc, o->shim, err) < 0) {
        engine_close(e);
        return -1;
    }
    /* Learn where wharf's registry is (its host may differ from the API endpoint); a failure
     * here is not fatal: the token is fetched again when a pull needs it. */
    struct wh_err terr = {0};
    if (token_refresh_locked(e, &terr) < 0)
        log_warn("GetAuthorizationToken: %s; will retry when pulling", terr.msg);
    const char *plain[] = {e->endpoint_host, e->registry_host, NULL};
    cleanup_free char *images_dir = xasprintf("%s/images", o->data_dir);
    struct images_opts io = {
        .dir = images_dir,
        .registry = {.plain_http = plain},
        .policy = o->prefer_cached ? IMAGES_PULL_PREFER_CACHED : IMAGES_PULL_ALWAYS,
    };
    if (images_open(&io, &e->images, err) < 0) {
        engine_close(e);
        return -1;
    }
    *ret = e;
    return 0;
}

void engine_close(struct engine *e)
{
    if (!e)
        return;
    images_close(e->images);
    rt_free(&e->rt);
    free(e->data_dir);
    free(e->state_dir);
    free(e->tasks_dir);
    free(e->rootfs_dir);
    free(e->logs_dir);
    free(e->init_path);
    free(e->endpoint_host);
    free(e->registry_host);
    free(e->tok_password);
    pthread_mutex_destroy(&e->tok_mu);
    free(e);
}

/* host[:port] equality, with every loopback name equal to every other. */
static bool same_host(const char *a, const char *b)
{
    if (!a || !b)
        return false;
    if (strcasecmp(a, b) == 0)
        return true;
    const char *pa = strrchr(a, ':'), *pb = strrchr(b, ':');
    if (!pa || !pb || strcmp(pa, pb) != 0 || strchr(pa, ']') || strchr(pb, ']'))
        return false;
    cleanup_free char *ha = xstrndup(a, (size_t)(pa - a));
    cleanup_free char *hb = xstrndup(b, (size_t)(pb - b));
    return image_host_is_loopback(ha) && image_host_is_loopback(hb);
}

static int ecr_auth(struct engine *e, char **ret_user, char **ret_password, struct wh_err *err)
{
    pthread_mutex_lock(&e->tok_mu);
    int r = 0;
    if (!e->tok_password || time_now() > e->tok_expires - TOKEN_MARGIN_S)
        r = token_refresh_locked(e, err);
    if (r == 0) {
        *ret_user = xstrdup("AWS");
        *ret_password = xstrdup(e->tok_password);
    }
    pthread_mutex_unlock(&e->tok_mu);
    if (r < 0)
        return wh_err_set(err, 0, PULL_ERR, "%s: cannot get the registry token: %s", PULL_ERR,
                          err->msg);
    return 0;
}

/* repositoryCredentials.credentialsParameter → secrets.json's secret string, which holds
 * {"username": …, "password": …} as Secrets Manager secrets for ECS do. */
static int secret_auth(struct engine *e, const char *param, char **ret_user, char **ret_password,
                       struct wh_err *err)
{
    cleanup_free char *path = xasprintf("%s/secrets.json", e->data_dir);
    cleanup_free char *text = NULL;
    if (fs_read_file(path, 1 << 20, &text, NULL) < 0)
        return wh_err_set(err, 0, PULL_ERR, "%s: repositoryCredentials %s: no %s on this host",
                          PULL_ERR, param, path);
    json_auto_t *all = json_loads(text, 0, NULL);
    json_t *v = json_object_get(all, param);
    json_auto_t *parsed = json_is_string(v) ? json_loads(json_string_value(v), 0, NULL) : NULL;
    const json_t *sec = parsed ? parsed : v;
    const char *u = json_str(sec, "username"), *p = json_str(sec, "password");
    if (!u || !p)
        return wh_err_set(err, 0, PULL_ERR,
                          "%s: repositoryCredentials %s: not found in %s (or no username/password)",
                          PULL_ERR, param, path);
    *ret_user = xstrdup(u);
    *ret_password = xstrdup(p);
    return 0;
}

int engine_image_auth(struct engine *e, const char *image, const json_t *container_def,
                      char **ret_user, char **ret_password, struct wh_err *err)
{
    *ret_user = *ret_password = NULL;
    const char *param =
        json_str(json_object_get(container_def, "repositoryCredentials"), "credentialsParameter");
    if (param)
        return secret_auth(e, param, ret_user, ret_password, err);
    struct image_ref ref;
    if (image_ref_parse(image, &ref, err) < 0)
        return -1; /* the pull reports it with its own wording */
    pthread_mutex_lock(&e->tok_mu);
    bool ours = same_host(ref.domain, e->endpoint_host) || same_host(ref.domain, e->registry_host);
    pthread_mutex_unlock(&e->tok_mu);
    image_ref_free(&ref);
    return ours ? ecr_auth(e, ret_user, ret_password, err) : 0;
}

int engine_exec(struct engine *e, const char *id, const char *const *argv, int timeout_ms,
                int *ret_exit, struct wh_err *err)
{
    size_t n = 0;
    while (argv[n])
        n++;
    const char **av = xcalloc(n + 5, sizeof(char *));
    cleanup_free char *root = xasprintf("--root=%s", e->rt.root);
    size_t k = 0;
    av[k++] = e->rt.runc;
    av[k++] = root;
    av[k++] = "exec";
    av[k++] = id;
    for (size_t i = 0; i < n; i++)
        av[k++] = argv[i];
    av[k] = NULL;
    static const char *const env[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                      NULL};
    struct proc_opts po = {.argv = av, .envp = env, .timeout_ms = timeout_ms,
                           .max_output = 4096, .extra_fd = -1};
    struct proc_result r;
    int rc = proc_run(&po, &r, err);
    free(av);
    if (rc < 0)
        return -1;
    *ret_exit = r.timed_out ? -1 : r.signaled ? 128 + r.term_signal : r.exit_code;
    proc_result_free(&r);
    return 0;
}

char *engine_read_in_root(const char *rootfs, const char *path, size_t max)
{
    int root = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return NULL;
    /* Symlinks (absolute ones too) resolve inside the root, as they would in the container. */
    struct open_how how = {.flags = O_RDONLY | O_CLOEXEC,
                           .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
    int fd = (int)syscall(SYS_openat2, root, path, &how, sizeof(how));
    close(root);
    if (fd < 0)
        return NULL;
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
        close(fd);
        return NULL;
    }
    char *buf = xmalloc((size_t)st.st_size + 1);
    size_t len = 0;
    for (;;) {
        ssize_t r = read(fd, buf + len, (size_t)st.st_size - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
        if (len == (size_t)st.st_size)
            break;
    }
    close(fd);
    buf[len] = 0;
    return buf;
}

int engine_gc(struct engine *e, const char *const *in_use, size_t n, int64_t min_age_s)
{
    struct images_gc_stats st = {0};
    struct wh_err err = {0};
    if (images_gc(e->images, in_use, n, min_age_s, &st, &err) < 0) {
        log_warn("image GC: %s", err.msg);
        return -1;
    }
    if (st.images_removed || st.layers_removed || st.leftovers_removed)
        log_info("image GC: removed %u images, %u layers, %u leftovers", st.images_removed,
                 st.layers_removed, st.leftovers_removed);
    return 0;
}
