#include "agent/images.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "agent/flight.h"
#include "agent/image_cache.h"
#include "agent/image_check.h"
#include "agent/image_ref.h"
#include "agent/layer_store.h"
#include "agent/pull_msg.h"
#include "core/crypto.h"
#include "core/json.h"
#include "core/proc.h"
#include "core/fsutil.h"
#include "core/xalloc.h"

/* A pull's ceiling, on top of the helper's own connect/read timeouts and retries. */
#define PULL_TIMEOUT_MS (60 * 60 * 1000)
#define HELPER_NAME "wharf-agent-pull"

#define PULL_ERR "CannotPullContainerError"

struct images {
    struct images_opts o; /* as given (platform resolved), strings owned below: what each
                             pull helper is told */
    char *dir, *helper;
    struct registry_opts reg;
    char **plain_http;
    char *ca_file;
    char *os, *arch, *variant;
    struct layer_store *ls;
    struct flight_group pulls; /* in-flight pulls, keyed by reference + credentials */
    pthread_rwlock_t gc_lock;  /* pulls read, GC writes */
    pthread_mutex_t mu;
    struct images_stats st;
};

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

int images_open(const struct images_opts *o, struct images **ret, struct wh_err *err)
{
    struct layer_store_opts lo = {.dir = o->dir, .unpack = o->unpack, .no_sync = o->no_sync};
    cleanup_free char *helper = o->pull_helper ? xstrdup(o->pull_helper) : fs_beside_self(HELPER_NAME);
    if (!helper || access(helper, X_OK) < 0)
        return wh_err_set(err, 500, PULL_ERR, "image pull helper %s: %s (it is installed "
                          "beside wharf-agent)", helper ? helper : HELPER_NAME,
                          helper ? strerror(errno) : "cannot find this program's directory");
    struct layer_store *ls;
    if (layer_store_open(&lo, &ls, err) < 0)
        return -1;
    struct images *im = xcalloc(1, sizeof(*im));
    im->ls = ls;
    im->helper = TAKE_PTR(helper);
    size_t n = 0;
    while (o->registry.plain_http && o->registry.plain_http[n])
        n++;
    im->plain_http = xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        im->plain_http[i] = xstrdup(o->registry.plain_http[i]);
    im->ca_file = dup_or_null(o->registry.ca_file);
    im->reg = o->registry;
    im->reg.plain_http = (const char *const *)im->plain_http;
    im->reg.ca_file = im->ca_file;
    struct utsname u;
    const char *variant = NULL;
    const char *arch = o->arch;
    if (!arch) {
        uname(&u);
        arch = manifest_arch_from_machine(u.machine, &variant);
    } else {
        variant = o->variant;
    }
    im->os = xstrdup(o->os ? o->os : "linux");
    im->arch = xstrdup(arch);
    im->variant = dup_or_null(variant);
    im->dir = xstrdup(layer_store_dir(ls));
    im->o = *o;
    im->o.dir = im->dir;
    im->o.registry = im->reg;
    im->o.os = im->os;
    im->o.arch = im->arch;
    im->o.variant = im->variant;
    im->o.pull_helper = im->helper;
    flight_group_init(&im->pulls);
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    /* GC must not starve behind a steady stream of pulls. */
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&im->gc_lock, &ra);
    pthread_rwlockattr_destroy(&ra);
    pthread_mutex_init(&im->mu, NULL);
    *ret = im;
    return 0;
}

void images_close(struct images *im)
{
    if (!im)
        return;
    layer_store_close(im->ls);
    flight_group_destroy(&im->pulls);
    pthread_rwlock_destroy(&im->gc_lock);
    pthread_mutex_destroy(&im->mu);
    for (char **p = im->plain_http; *p; p++)
        free(*p);
    free(im->plain_http);
    free(im->ca_file);
    free(im->os);
    free(im->arch);
    free(im->variant);
    free(im->dir);
    free(im->helper);
    free(im);
}

#define COUNT(im, field)                                                                       \
    do {                                                                                       \
        pthread_mutex_lock(&(im)->mu);                                                         \
        (im)->st.field++;                                                                      \
        pthread_mutex_unlock(&(im)->mu);                                                       \
    } while (0)

void images_stats(struct images *im, struct images_stats *ret)
{
    pthread_mutex_lock(&im->mu);
    *ret = im->st; /* the helpers' counts are added as their answers come */
    pthread_mutex_unlock(&im->mu);
}

/* ---- one pull, in a helper process -------------------------------------------------- */

struct pull {
    struct images *im;
    const struct image_ref *ref;
    const char *canonical;
    const struct image_auth *auth;
    bool fetched; /* a blob was downloaded */
};

extern char **environ;

/* The helper's environment: only what libcurl and the sanitizers read. */
static const char *const *helper_env(void)
{
    static const char *const names[] = {
        "PATH", "HOME", "TMPDIR", "SSL_CERT_FILE", "SSL_CERT_DIR", "CURL_CA_BUNDLE",
        "http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
        "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS",
    };
    static __thread const char *env[ARRAY_SIZE(names) + 1];
    size_t k = 0;
    for (char **e = environ; e && *e && k < ARRAY_SIZE(names); e++)
        for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
            size_t n = strlen(names[i]);
            if (strncmp(*e, names[i], n) == 0 && (*e)[n] == '=') {
                env[k++] = *e;
                break;
            }
        }
    env[k] = NULL;
    return env;
}

/* Relay the helper's log lines (a warning about a cached image, say) to ours. */
static void relay_stderr(const struct proc_result *r)
{
    if (!r->err_len)
        return;
    flockfile(stderr); /* as log.c does: whole lines, not interleaved with other threads' */
    fwrite(r->err, 1, r->err_len, stderr);
    if (r->err[r->err_len - 1] != '\n')
        fputc('\n', stderr);
    funlockfile(stderr);
}

static int run_helper(struct pull *p, struct puller_result *ret, struct wh_err *err)
{
    struct images *im = p->im;
    json_auto_t *rq = pull_request_to_json(&im->o, p->canonical, p->auth);
    cleanup_free char *text = json_text(rq);
    const char *argv[] = {im->helper, NULL};
    struct proc_opts po = {.argv = argv, .envp = helper_env(), .input = text,
                           .input_len = strlen(text), .max_output = 1 << 20,
                           .timeout_ms = PULL_TIMEOUT_MS, .extra_fd = -1};
    struct proc_result r;
    int rc = proc_run(&po, &r, err);
    explicit_bzero(text, strlen(text)); /* it holds the registry password */
    if (rc < 0)
        return wh_err_prefix(err, "cannot start %s: ", im->helper);
    relay_stderr(&r);
    json_error_t je;
    json_auto_t *ans = proc_ok(&r) ? json_loadb(r.out, r.out_len, 0, &je) : NULL;
    if (!ans)
        rc = wh_err_set(err, 500, PULL_ERR, "image pull helper %s %s", im->helper,
                        proc_ok(&r) ? "answered something that is not JSON"
                                    : proc_describe(&r, PULL_TIMEOUT_MS));
    else
        rc = pull_answer_from_json(ans, ret, err);
    proc_result_free(&r);
    return rc;
}

/* What the tag resolved to, for the default policy's fallback when the registry cannot be
 * asked later (as the helper records it); written only when it changed. */
static void remember_tag(struct pull *p, const char *repo_digest)
{
    cleanup_free char *key = xasprintf("tag:%s", p->canonical);
    cleanup_free char *old = layer_store_ref_get(p->im->ls, key);
    if (!old || strcmp(old, repo_digest) != 0)
        layer_store_ref_put(p->im->ls, key, repo_digest);
}

/* The flight: leaves "<repo digest> <image digest>" in *ret_value. */
static int pull_run(void *arg, char **ret_value, struct wh_err *err)
{
    struct pull *p = arg;
    char *hit = image_cache_lookup(p->im->ls, p->ref, p->canonical,
                                   p->im->o.policy == IMAGES_PULL_PREFER_CACHED);
    if (!hit && p->im->o.policy != IMAGES_PULL_PREFER_CACHED) {
        /* The registry's answer for the tag, asked from here: when that image is here, no
         * helper is needed. */
        cleanup_free char *rd = image_check_tag(&p->im->o.registry, p->ref, p->auth);
        cleanup_free char *img = rd ? image_cache_image_for(p->im->ls, rd) : NULL;
        if (img && image_cache_have(p->im->ls, img)) {
            hit = xasprintf("%s %s", rd, img);
            remember_tag(p, rd);
        }
        if (rd) {
            pthread_mutex_lock(&p->im->mu);
            p->im->st.manifest_fetches++;
            pthread_mutex_unlock(&p->im->mu);
        }
    }
    if (hit) {
        *ret_value = hit;
        return 0;
    }
    struct puller_result res;
    if (run_helper(p, &res, err) < 0)
        return -1;
    pthread_mutex_lock(&p->im->mu);
    p->im->st.manifest_fetches += res.manifest_fetches;
    p->im->st.layer_downloads += res.layer_downloads;
    p->im->st.layer_unpacks += res.layer_unpacks;
    pthread_mutex_unlock(&p->im->mu);
    p->fetched = res.fetched;
    *ret_value = xasprintf("%s %s", res.repo_digest, res.digest);
    puller_result_free(&res);
    return 0;
}

/* ---- the result ---------------------------------------------------------------------- */

void pulled_image_free(struct pulled_image *p)
{
    if (!p)
        return;
    free(p->reference);
    free(p->repo_digest);
    free(p->digest);
    free(p->config_digest);
    free(p->config_json);
    image_config_free(&p->config);
    for (size_t i = 0; i < p->n_layers; i++)
        free(p->layer_dirs[i]);
    free(p->layer_dirs);
    free(p);
}

static int load(struct images *im, const char *canonical, const char *value,
                struct pulled_image **ret, struct wh_err *err)
{
    const char *sp = strchr(value, ' ');
    cleanup_free char *repo = xstrndup(value, (size_t)(sp - value));
    struct image_record rec;
    int r = layer_store_image_get(im->ls, sp + 1, &rec, err);
    if (r == -ENOENT)
        return wh_err_set(err, 500, PULL_ERR, "image %s is not in the store after its pull",
                          sp + 1);
    if (r < 0)
        return -1;
    struct pulled_image *p = xcalloc(1, sizeof(*p));
    if (image_config_parse(rec.config_json, strlen(rec.config_json), &p->config, err) < 0) {
        image_record_free(&rec);
        free(p);
        return -1;
    }
    p->reference = xstrdup(canonical);
    p->repo_digest = TAKE_PTR(repo);
    p->digest = TAKE_PTR(rec.digest);
    p->config_digest = TAKE_PTR(rec.config_digest);
    p->config_json = TAKE_PTR(rec.config_json);
    p->layer_dirs = xcalloc(rec.n_layers + 1, sizeof(char *));
    for (size_t i = 0; i < rec.n_layers; i++) {
        char id[LAYER_ID_LEN + 1];
        snprintf(id, sizeof(id), "%s", strchr(rec.layers[i].digest, ':') + 1);
        p->layer_dirs[i] = xasprintf("%s/layers/%s", layer_store_dir(im->ls), id);
        p->size += rec.layers[i].size;
    }
    p->n_layers = rec.n_layers;
    image_record_free(&rec);
    *ret = p;
    return 0;
}

/* Pulls with different credentials are not merged: one must not ride on another's access. */
static char *flight_key(const char *canonical, const struct image_auth *auth)
{
    if (!auth || !auth->username || !auth->username[0])
        return xasprintf("%s\nanonymous", canonical);
    cleanup_free char *cred = xasprintf("%s:%s", auth->username,
                                        auth->password ? auth->password : "");
    char hex[SHA256_HEX_LEN + 1];
    sha256_hex(cred, strlen(cred), hex);
    explicit_bzero(cred, strlen(cred));
    return xasprintf("%s\n%s", canonical, hex);
}

static int pull_failed(struct wh_err *err)
{
    if (!err)
        return -1;
    snprintf(err->type, sizeof(err->type), "%s", PULL_ERR);
    return wh_err_prefix(err, "%s: ", PULL_ERR);
}

int images_pull(struct images *im, const char *ref_s, const struct image_auth *auth,
                struct pulled_image **ret, struct wh_err *err)
{
    COUNT(im, pulls);
    struct image_ref ref;
    if (image_ref_parse(ref_s, &ref, err) < 0)
        return pull_failed(err);
    cleanup_free char *canonical = image_ref_string(&ref);
    cleanup_free char *key = flight_key(canonical, auth);
    struct pull p = {.im = im, .ref = &ref, .canonical = canonical, .auth = auth};
    cleanup_free char *value = NULL;
    bool shared = false;
    pthread_rwlock_rdlock(&im->gc_lock);
    int rc = flight_do(&im->pulls, key, pull_run, &p, &value, &shared, err);
    if (rc == 0)
        rc = load(im, canonical, value, ret, err);
    pthread_rwlock_unlock(&im->gc_lock);
    image_ref_free(&ref);
    if (rc < 0)
        return pull_failed(err);
    if (shared)
        COUNT(im, shared);
    else if (!p.fetched)
        COUNT(im, cached);
    return 0;
}

int images_gc(struct images *im, const char *const *in_use, size_t n_in_use, int64_t min_age_s,
              struct images_gc_stats *ret, struct wh_err *err)
{
    struct layer_store_gc_stats st;
    pthread_rwlock_wrlock(&im->gc_lock);
    int rc = layer_store_gc(im->ls, in_use, n_in_use, min_age_s, &st, err);
    pthread_rwlock_unlock(&im->gc_lock);
    if (rc == 0 && ret)
        *ret = (struct images_gc_stats){st.images_removed, st.layers_removed, st.refs_removed,
                                        st.leftovers_removed};
    return rc;
}
