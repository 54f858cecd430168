#include "agent/puller.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/image_cache.h"
#include "agent/image_ref.h"
#include "agent/layer_store.h"
#include "core/log.h"
#include "core/xalloc.h"

#define PULL_ERR "CannotPullContainerError"

struct puller {
    struct registry_opts reg;
    enum images_pull_policy policy;
    const char *os, *arch, *variant;
    int attempts, retry_delay_ms, parallel;
    struct layer_store *ls;
    pthread_mutex_t mu;
    struct images_stats st; /* manifest_fetches, layer_downloads */
};

#define COUNT(im, field)                                                                       \
    do {                                                                                       \
        pthread_mutex_lock(&(im)->mu);                                                         \
        (im)->st.field++;                                                                      \
        pthread_mutex_unlock(&(im)->mu);                                                       \
    } while (0)

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* ---- one pull ------------------------------------------------------------------------ */

struct pull {
    struct puller *im;
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
    struct puller *im = fa->p->im;
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
    if (image_cache_have(p->im->ls, d.digest)) {
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
    char *hit = image_cache_lookup(p->im->ls, p->ref, p->canonical, p->im->policy == IMAGES_PULL_PREFER_CACHED);
    if (hit) {
        *ret_value = hit;
        return 0;
    }
    p->client = registry_client_new(&p->im->reg, image_ref_api_host(p->ref), p->ref->path,
                                    p->auth);
    cleanup_free char *repo = NULL;
    struct registry_manifest m = {0};
    int rc = resolve(p, &repo, &m, err);
    if (rc < 0 && p->im->policy == IMAGES_PULL_DEFAULT && (hit = image_cache_lookup(p->im->ls, p->ref, p->canonical, true))) {
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
    if (rc == 0 && !image_cache_have(p->im->ls, m.digest))
        rc = fetch_image(p, m.digest, &m, err);
    if (rc == 0)
        *ret_value = xasprintf("%s %s", repo, m.digest);
    registry_manifest_free(&m);
    registry_client_free(p->client);
    p->client = NULL;
    return rc;
}


int puller_pull(const struct images_opts *o, const char *ref_s, const struct image_auth *auth,
                struct puller_result *ret, struct wh_err *err)
{
    struct image_ref ref;
    if (image_ref_parse(ref_s, &ref, err) < 0)
        return -1;
    /* Not the store's owner: the agent swept it when it opened it, and other helpers may
     * be mid-download in tmp/ right now. */
    struct layer_store_opts lo = {.dir = o->dir, .unpack = o->unpack, .no_sync = o->no_sync,
                                  .no_sweep = true};
    struct puller im = {
        .reg = o->registry, .policy = o->policy, .os = o->os ? o->os : "linux",
        .arch = o->arch, .variant = o->variant,
        .attempts = o->attempts > 0 ? o->attempts : 3,
        .retry_delay_ms = o->retry_delay_ms > 0 ? o->retry_delay_ms : 250,
        .parallel = o->parallel > 0 ? o->parallel : 3,
    };
    if (!im.arch) {
        image_ref_free(&ref);
        return wh_err_set(err, 500, PULL_ERR, "pull request without a platform architecture");
    }
    if (layer_store_open(&lo, &im.ls, err) < 0) {
        image_ref_free(&ref);
        return -1;
    }
    pthread_mutex_init(&im.mu, NULL);
    cleanup_free char *canonical = image_ref_string(&ref);
    struct pull p = {.im = &im, .ref = &ref, .canonical = canonical, .auth = auth};
    cleanup_free char *value = NULL;
    int rc = pull_run(&p, &value, err);
    if (rc == 0) {
        const char *sp = strchr(value, ' ');
        struct layer_store_stats ls;
        layer_store_stats(im.ls, &ls);
        *ret = (struct puller_result){
            .repo_digest = xstrndup(value, (size_t)(sp - value)),
            .digest = xstrdup(sp + 1),
            .fetched = p.fetched,
            .manifest_fetches = im.st.manifest_fetches,
            .layer_downloads = im.st.layer_downloads,
            .layer_unpacks = ls.unpacks,
        };
    }
    pthread_mutex_destroy(&im.mu);
    layer_store_close(im.ls);
    image_ref_free(&ref);
    return rc;
}
