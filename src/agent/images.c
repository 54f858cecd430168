#include "agent/images.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "agent/flight.h"
#include "agent/image_ref.h"
#include "agent/layer_store.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/xalloc.h"

#define PULL_ERR "CannotPullContainerError"

struct images {
    struct registry_opts reg;
    char **plain_http;
    char *ca_file;
    char *os, *arch, *variant;
    enum images_pull_policy policy;
    int attempts, retry_delay_ms, parallel;
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
    struct layer_store *ls;
    if (layer_store_open(&lo, &ls, err) < 0)
        return -1;
    struct images *im = xcalloc(1, sizeof(*im));
    im->ls = ls;
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
    im->policy = o->policy;
    im->attempts = o->attempts > 0 ? o->attempts : 3;
    im->retry_delay_ms = o->retry_delay_ms > 0 ? o->retry_delay_ms : 250;
    im->parallel = o->parallel > 0 ? o->parallel : 3;
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
    *ret = im->st;
    pthread_mutex_unlock(&im->mu);
    struct layer_store_stats ls;
    layer_store_stats(im->ls, &ls);
    ret->layer_unpacks = ls.unpacks;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* ---- one pull ------------------------------------------------------------------------ */

struct pull {
    struct images *im;
    const struct image_ref *ref;
    const char *canonical;
    const struct image_auth *auth;
    struct registry_client *client;
    bool fetched; /* a blob was downloaded */
};

/* GET a manifest, retrying what is worth retrying. ret_tries: attempts made. */
static int get_manifest(struct pull *p, const char *reference, struct registry_manifest *m,
                        int *ret_tries, struct wh_err *err)
{
    int delay = p->im->retry_delay_ms;
    for (int i = 1;; i++) {
        COUNT(p->im, manifest_fetches);
        int r = registry_get_manifest(p->client, reference, m, err);
        *ret_tries = i;
        if (r == 0 || i >= p->im->attempts || !registry_err_retriable(err))
            return r;
        sleep_ms(delay);
        delay *= 2;
    }
}

struct fetch_arg {
    struct pull *p;
    struct registry_client *client;
};

static int fetch_layer(void *arg, const struct layer_desc *d, const char *path,
                       struct wh_err *err)
{
    struct fetch_arg *fa = arg;
    struct images *im = fa->p->im;
    int delay = im->retry_delay_ms;
    for (int i = 1;; i++) {
        int r = registry_get_blob_file(fa->client, d->digest, d->size, path, err);
        if (r == 0) {
            pthread_mutex_lock(&im->mu);
            im->st.layer_downloads++;
            fa->p->fetched = true;
            pthread_mutex_unlock(&im->mu);
            return 0;
        }
        if (i >= im->attempts || !registry_err_retriable(err))
            return wh_err_prefix(err, "ref pull has been retried %d time(s): failed to copy: ", i);
        sleep_ms(delay);
        delay *= 2;
    }
}

struct layers_job {
    struct pull *p;
    const struct image_manifest *m;
    const struct image_config *cfg;
    pthread_mutex_t mu;
    size_t next;
    bool failed;
    struct wh_err err;
};

static void *layers_worker(void *arg)
{
    struct layers_job *j = arg;
    struct fetch_arg fa = {j->p, registry_client_dup(j->p->client)};
    for (;;) {
        pthread_mutex_lock(&j->mu);
        size_t i = j->next++;
        bool stop = j->failed || i >= j->m->n_layers;
        pthread_mutex_unlock(&j->mu);
        if (stop)
            break;
        const struct descriptor *l = &j->m->layers[i];
        struct layer_desc d = {l->digest, j->cfg->diff_ids[i], l->media_type, l->size};
        cleanup_free char *dir = NULL;
        struct wh_err e = {0};
        if (layer_store_ensure(j->p->im->ls, &d, fetch_layer, &fa, &dir, NULL, &e) < 0) {
            pthread_mutex_lock(&j->mu);
            if (!j->failed)
                j->err = e;
            j->failed = true;
            pthread_mutex_unlock(&j->mu);
            break;
        }
    }
    registry_client_free(fa.client);
    return NULL;
}

/* Make every layer present, several at once. */
static int fetch_layers(struct pull *p, const struct image_manifest *m,
                        const struct image_config *cfg, struct wh_err *err)
{
    struct layers_job j = {.p = p, .m = m, .cfg = cfg};
    pthread_mutex_init(&j.mu, NULL);
    size_t n = (size_t)p->im->parallel < m->n_layers ? (size_t)p->im->parallel : m->n_layers;
    pthread_t *t = xcalloc(n ? n : 1, sizeof(*t));
    size_t started = 0;
    for (; started < n; started++)
        if (pthread_create(&t[started], NULL, layers_worker, &j) != 0)
            break;
    if (started == 0 && n > 0)
        layers_worker(&j); /* no thread to spare: do it here */
    for (size_t i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    free(t);
    pthread_mutex_destroy(&j.mu);
    if (j.failed) {
        if (err)
            *err = j.err;
        return -1;
    }
    return 0;
}

/* Download config and layers of an image manifest and record the image. */
static int fetch_image(struct pull *p, const char *digest, const struct registry_manifest *rm,
                       struct wh_err *err)
{
    struct image_manifest m;
    if (manifest_parse_image(rm->body, rm->len, &m, err) < 0)
        return wh_err_prefix(err, "manifest %s: ", digest);
    cleanup_free char *cfg_text = NULL;
    size_t cfg_len = 0;
    struct image_config cfg = {0};
    int rc = -1;
    int delay = p->im->retry_delay_ms;
    for (int i = 1;; i++) {
        if (registry_get_blob_mem(p->client, m.config.digest, m.config.size, CONFIG_MAX_BYTES,
                                  &cfg_text, &cfg_len, err) == 0)
            break;
        if (i >= p->im->attempts || !registry_err_retriable(err)) {
            wh_err_prefix(err, "ref pull has been retried %d time(s): failed to copy: ", i);
            goto out;
        }
        sleep_ms(delay);
        delay *= 2;
    }
    p->fetched = true;
    if (image_config_parse(cfg_text, cfg_len, &cfg, err) < 0)
        goto out;
    if (cfg.n_diff_ids != m.n_layers) {
        wh_err_set(err, 500, PULL_ERR, "image %s: config has %zu rootfs.diff_ids for %zu layers",
                   digest, cfg.n_diff_ids, m.n_layers);
        goto out;
    }
    if (fetch_layers(p, &m, &cfg, err) < 0)
        goto out;
    struct image_record rec = {
        .digest = (char *)digest,
        .media_type = rm->content_type,
        .config_digest = m.config.digest,
        .config_json = cfg_text,
        .layers = xcalloc(m.n_layers + 1, sizeof(*rec.layers)),
        .n_layers = m.n_layers,
    };
    for (size_t i = 0; i < m.n_layers; i++)
        rec.layers[i] = (struct image_layer){m.layers[i].digest, cfg.diff_ids[i],
                                             m.layers[i].media_type, m.layers[i].size};
    rc = layer_store_image_put(p->im->ls, &rec, err);
    free(rec.layers);
out:
    image_config_free(&cfg);
    image_manifest_free(&m);
    return rc;
}

/* The image digest a repo digest stands for (an index → its platform manifest). */
static char *image_for(struct images *im, const char *repo_digest)
{
    cleanup_free char *key = xasprintf("index:%s", repo_digest);
    char *d = layer_store_ref_get(im->ls, key);
    return d ? d : xstrdup(repo_digest);
}

static bool have_image(struct images *im, const char *digest)
{
    struct image_record rec;
    if (layer_store_image_get(im->ls, digest, &rec, NULL) < 0)
        return false;
    image_record_free(&rec);
    return true;
}

/* Answer from the store alone when the reference pins (or, with by_tag, recalls) a digest. */
static char *from_cache(struct pull *p, bool by_tag)
{
    cleanup_free char *repo = NULL;
    if (p->ref->digest) {
        repo = xstrdup(p->ref->digest);
    } else if (by_tag) {
        cleanup_free char *key = xasprintf("tag:%s", p->canonical);
        repo = layer_store_ref_get(p->im->ls, key);
    }
    if (!repo)
        return NULL;
    cleanup_free char *img = image_for(p->im, repo);
    return have_image(p->im, img) ? xasprintf("%s %s", repo, img) : NULL;
}

/* Resolve the reference to an image manifest (through an index if need be). */
static int resolve(struct pull *p, char **ret_repo, struct registry_manifest *ret_m,
                   struct wh_err *err)
{
    struct registry_manifest top;
    int tries;
    if (get_manifest(p, image_ref_manifest_ref(p->ref), &top, &tries, err) < 0)
        return wh_err_prefix(err, "pull image manifest has been retried %d time(s): failed to "
                                  "resolve ref %s: ", tries, p->canonical);
    enum manifest_kind kind;
    if (manifest_kind(top.body, top.len, top.content_type, &kind, err) < 0) {
        registry_manifest_free(&top);
        return wh_err_prefix(err, "ref %s: ", p->canonical);
    }
    if (kind == MANIFEST_IMAGE) {
        *ret_repo = xstrdup(top.digest);
        *ret_m = top;
        return 0;
    }
    struct descriptor d;
    int r = manifest_index_select(top.body, top.len, p->im->os, p->im->arch, p->im->variant, &d,
                                  err);
    cleanup_free char *repo = TAKE_PTR(top.digest);
    registry_manifest_free(&top);
    if (r < 0)
        return wh_err_prefix(err, "ref %s: ", p->canonical);
    cleanup_free char *key = xasprintf("index:%s", repo);
    layer_store_ref_put(p->im->ls, key, d.digest);
    if (have_image(p->im, d.digest)) {
        *ret_m = (struct registry_manifest){.digest = TAKE_PTR(d.digest)};
    } else if (get_manifest(p, d.digest, ret_m, &tries, err) < 0) {
        wh_err_prefix(err, "pull image manifest has been retried %d time(s): failed to resolve "
                           "ref %s (platform manifest %s): ", tries, p->canonical, d.digest);
        descriptor_free(&d);
        return -1;
    }
    descriptor_free(&d);
    *ret_repo = TAKE_PTR(repo);
    return 0;
}

/* The flight: leaves "<repo digest> <image digest>" in *ret_value. */
static int pull_run(void *arg, char **ret_value, struct wh_err *err)
{
    struct pull *p = arg;
    char *hit = from_cache(p, p->im->policy == IMAGES_PULL_PREFER_CACHED);
    if (hit) {
        *ret_value = hit;
        return 0;
    }
    p->client = registry_client_new(&p->im->reg, image_ref_api_host(p->ref), p->ref->path,
                                    p->auth);
    cleanup_free char *repo = NULL;
    struct registry_manifest m = {0};
    int rc = resolve(p, &repo, &m, err);
    if (rc < 0 && p->im->policy == IMAGES_PULL_DEFAULT && (hit = from_cache(p, true))) {
        log_warn("image %s: %s; using the image it last resolved to", p->canonical, err->msg);
        *ret_value = hit;
        registry_client_free(p->client);
        p->client = NULL;
        return 0;
    }
    if (rc == 0 && p->ref->tag) {
        cleanup_free char *key = xasprintf("tag:%s", p->canonical);
        layer_store_ref_put(p->im->ls, key, repo);
    }
    if (rc == 0 && !have_image(p->im, m.digest))
        rc = fetch_image(p, m.digest, &m, err);
    if (rc == 0)
        *ret_value = xasprintf("%s %s", repo, m.digest);
    registry_manifest_free(&m);
    registry_client_free(p->client);
    p->client = NULL;
    return rc;
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
