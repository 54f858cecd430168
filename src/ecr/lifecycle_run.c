#include "ecr/lifecycle_run.h"

#include <string.h>

#include "core/xalloc.h"
#include "ecr/lifecycle_eval.h"
#include "store/ecr_extra.h"

void ecr_lc_verdicts_free(struct ecr_lc_verdict *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        free(v[i].digest);
        store_strv_free(v[i].tags, v[i].ntags);
    }
    free(v);
}

static bool in_sorted(char **v, size_t n, const char *s)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(v[mid], s);
        if (c == 0)
            return true;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* The repository's images minus index children: moves them out of all[] into a compact
 * array of evaluation inputs pointing into all[]. */
static int load_candidates(struct store *st, int64_t repo_id, struct store_image **ret_all,
                           size_t *ret_nall, struct ecr_lc_image **ret_in, size_t *ret_nin,
                           struct wh_err *err)
{
    struct store_image *all = NULL;
    size_t nall = 0, nchild = 0;
    char **children = NULL;
    if (store_image_list(st, repo_id, STORE_TAGS_ANY, NULL, 0, &all, &nall, NULL, err) < 0)
        return -EIO;
    if (store_ecr_manifest_children(st, repo_id, &children, &nchild, err) < 0) {
        store_images_free(all, nall);
        return -EIO;
    }
    /* strcmp order: SQLite's ORDER BY on TEXT uses memcmp, the same for these ASCII digests. */
    struct ecr_lc_image *in = xcalloc(nall ? nall : 1, sizeof(*in));
    size_t nin = 0;
    for (size_t i = 0; i < nall; i++) {
        if (in_sorted(children, nchild, all[i].digest))
            continue;
        in[nin++] = (struct ecr_lc_image){all[i].digest, (const char *const *)all[i].tags,
                                          all[i].ntags, all[i].pushed_at};
    }
    store_strv_free(children, nchild);
    *ret_all = all;
    *ret_nall = nall;
    *ret_in = in;
    *ret_nin = nin;
    return 0;
}

static void copy_verdict(struct ecr_lc_verdict *out, const struct ecr_lc_image *img, int rule)
{
    out->digest = xstrdup(img->digest);
    out->ntags = img->ntags;
    out->tags = xcalloc(img->ntags ? img->ntags : 1, sizeof(char *));
    for (size_t t = 0; t < img->ntags; t++)
        out->tags[t] = xstrdup(img->tags[t]);
    out->pushed_at = img->pushed_at;
    out->rule = rule;
}

static int verdict_newest_first(const void *a, const void *b)
{
    const struct ecr_lc_verdict *x = a, *y = b;
    if (x->pushed_at != y->pushed_at)
        return x->pushed_at < y->pushed_at ? 1 : -1;
    return strcmp(x->digest, y->digest);
}

int ecr_lifecycle_plan(struct store *st, int64_t repo_id, const char *policy_text, double now,
                       struct ecr_lc_verdict **ret_v, size_t *ret_n, struct wh_err *err)
{
    struct ecr_lifecycle *policy = NULL;
    if (ecr_lifecycle_parse(policy_text, &policy, err) < 0)
        return -EINVAL;
    struct store_image *all = NULL;
    struct ecr_lc_image *in = NULL;
    size_t nall = 0, nin = 0;
    int r = load_candidates(st, repo_id, &all, &nall, &in, &nin, err);
    if (r < 0) {
        ecr_lifecycle_free(policy);
        return r;
    }
    cleanup_free int *rule = xcalloc(nin ? nin : 1, sizeof(*rule));
    ecr_lifecycle_evaluate(policy, in, nin, now, rule);
    struct ecr_lc_verdict *v = xcalloc(nin ? nin : 1, sizeof(*v));
    size_t n = 0;
    for (size_t i = 0; i < nin; i++)
        if (rule[i])
            copy_verdict(&v[n++], &in[i], rule[i]);
    qsort(v, n, sizeof(*v), verdict_newest_first);
    free(in);
    store_images_free(all, nall);
    ecr_lifecycle_free(policy);
    *ret_v = v;
    *ret_n = n;
    return 0;
}

struct apply_arg {
    const struct store_repo *repo;
    double now;
    struct ecr_lc_verdict *v;
    size_t n;
};

static int apply_tx(struct store *st, void *arg, struct wh_err *err)
{
    struct apply_arg *a = arg;
    int r = ecr_lifecycle_plan(st, a->repo->id, a->repo->lifecycle_policy_text, a->now, &a->v,
                               &a->n, err);
    if (r < 0)
        return r;
    for (size_t i = 0; i < a->n; i++) {
        r = store_manifest_delete(st, a->repo->id, a->v[i].digest, err);
        if (r < 0 && r != -ENOENT)
            return r;
    }
    return store_ecr_lifecycle_evaluated_set(st, a->repo->id, a->now, err);
}

int ecr_lifecycle_apply(struct store *st, const struct store_repo *repo, double now,
                        struct ecr_lc_verdict **ret_v, size_t *ret_n, struct wh_err *err)
{
    if (!repo->lifecycle_policy_text) {
        if (ret_v) {
            *ret_v = NULL;
            *ret_n = 0;
        }
        return 0;
    }
    struct apply_arg a = {.repo = repo, .now = now};
    int r = store_tx(st, apply_tx, &a, err);
    if (r < 0 || !ret_v) {
        ecr_lc_verdicts_free(a.v, a.n);
        return r;
    }
    *ret_v = a.v;
    *ret_n = a.n;
    return 0;
}
