/* Manifest parsing, validation and storing. */
#include "registry/manifests.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "core/xalloc.h"
#include "registry/blobstore.h"
#include "registry/errors.h"
#include "registry/names.h"

static const char *const media_types[] = {MT_OCI_MANIFEST_V1, MT_OCI_INDEX_V1,
                                          MT_DOCKER_MANIFEST_V2, MT_DOCKER_LIST_V2};

static const char *known_type(const char *s)
{
    if (!s)
        return NULL;
    for (size_t i = 0; i < ARRAY_SIZE(media_types); i++)
        if (strcmp(s, media_types[i]) == 0)
            return media_types[i];
    return NULL;
}

/* An OCI or Docker manifest media type, known or not (a schema 1 one, say). */
static bool looks_like_manifest_type(const char *t)
{
    return strncmp(t, "application/vnd.oci.image.", 26) == 0 ||
           strncmp(t, "application/vnd.docker.distribution.manifest.", 45) == 0;
}

/* Content-Type without parameters ("...+json; charset=utf-8"). */
static char *bare_type(const char *ct)
{
    if (!ct)
        return NULL;
    size_t n = strcspn(ct, "; ");
    return xstrndup(ct, n);
}

void manifest_info_clear(struct manifest_info *mi)
{
    free(mi->artifact_type);
    free(mi->subject_digest);
    free(mi->config_digest);
    for (size_t i = 0; i < mi->nrefs; i++)
        free(mi->ref_strings[i]);
    free(mi->ref_strings);
    free(mi->refs);
    memset(mi, 0, sizeof(*mi));
}

static void add_ref(struct manifest_info *mi, const char *digest, bool is_manifest)
{
    for (size_t i = 0; i < mi->nrefs; i++)
        if (strcmp(mi->ref_strings[i], digest) == 0)
            return; /* the same layer twice is one reference */
    mi->ref_strings = xrealloc(mi->ref_strings, (mi->nrefs + 1) * sizeof(*mi->ref_strings));
    mi->refs = xrealloc(mi->refs, (mi->nrefs + 1) * sizeof(*mi->refs));
    mi->ref_strings[mi->nrefs] = xstrdup(digest);
    mi->refs[mi->nrefs] = (struct store_manifest_ref){mi->ref_strings[mi->nrefs], is_manifest};
    mi->nrefs++;
}

/* A descriptor {mediaType, digest, size}: checks it and returns its digest and size. */
static int descriptor(const json_t *d, const char *where, const char **ret_digest,
                      int64_t *ret_size, struct wh_err *err)
{
    if (!json_is_object(d))
        return oci_err(err, OCI_MANIFEST_INVALID, "%s is not an object", where);
    const char *mt = json_string_value(json_object_get(d, "mediaType"));
    const char *digest = json_string_value(json_object_get(d, "digest"));
    json_t *size = json_object_get(d, "size");
    struct registry_digest pd;
    if (!mt || !*mt)
        return oci_err(err, OCI_MANIFEST_INVALID, "%s.mediaType is missing", where);
    if (!digest)
        return oci_err(err, OCI_MANIFEST_INVALID, "%s.digest is missing", where);
    if (registry_digest_parse(digest, &pd) < 0)
        return oci_err(err, OCI_MANIFEST_INVALID, "%s.digest '%.140s' is not a valid digest",
                       where, digest);
    if (!json_is_integer(size) || json_integer_value(size) < 0)
        return oci_err(err, OCI_MANIFEST_INVALID, "%s.size is missing or negative", where);
    *ret_digest = digest;
    *ret_size = json_integer_value(size);
    return 0;
}

/* Layers that live elsewhere (Windows foreign layers) need not be in the registry. */
static bool is_foreign(const json_t *d)
{
    const char *mt = json_string_value(json_object_get(d, "mediaType"));
    return mt && (strstr(mt, "foreign") || strstr(mt, "nondistributable")) &&
           json_array_size(json_object_get(d, "urls")) > 0;
}

static int parse_image(const json_t *j, struct manifest_info *mi, struct wh_err *err)
{
    const char *digest;
    int64_t size;
    json_t *config = json_object_get(j, "config");
    if (!config)
        return oci_err(err, OCI_MANIFEST_INVALID, "config is missing");
    if (descriptor(config, "config", &digest, &size, err) < 0)
        return -1;
    mi->config_digest = xstrdup(digest);
    mi->image_size = size;
    add_ref(mi, digest, false);
    json_t *layers = json_object_get(j, "layers");
    if (!json_is_array(layers))
        return oci_err(err, OCI_MANIFEST_INVALID, "layers is missing or not an array");
    size_t i;
    json_t *l;
    json_array_foreach(layers, i, l) {
        char where[32];
        snprintf(where, sizeof(where), "layers[%zu]", i);
        if (descriptor(l, where, &digest, &size, err) < 0)
            return -1;
        mi->image_size += size;
        if (!is_foreign(l))
            add_ref(mi, digest, false);
    }
    const char *at = json_string_value(json_object_get(j, "artifactType"));
    const char *cmt = json_string_value(json_object_get(config, "mediaType"));
    if (at && *at)
        mi->artifact_type = xstrdup(at);
    else if (strcmp(mi->media_type, MT_OCI_MANIFEST_V1) == 0 && cmt)
        mi->artifact_type = xstrdup(cmt);
    return 0;
}

static int parse_index(const json_t *j, struct manifest_info *mi, struct wh_err *err)
{
    json_t *ms = json_object_get(j, "manifests");
    if (!json_is_array(ms))
        return oci_err(err, OCI_MANIFEST_INVALID, "manifests is missing or not an array");
    size_t i;
    json_t *m;
    json_array_foreach(ms, i, m) {
        char where[32];
        const char *digest;
        int64_t size;
        snprintf(where, sizeof(where), "manifests[%zu]", i);
        if (descriptor(m, where, &digest, &size, err) < 0)
            return -1;
        add_ref(mi, digest, true);
    }
    const char *at = json_string_value(json_object_get(j, "artifactType"));
    if (at && *at)
        mi->artifact_type = xstrdup(at);
    mi->is_index = true;
    return 0;
}

/* The media type: the body's own, else the Content-Type, else guessed from the shape. */
static int pick_type(const json_t *j, const char *content_type, struct manifest_info *mi,
                     struct wh_err *err)
{
    const char *own = json_string_value(json_object_get(j, "mediaType"));
    cleanup_free char *ct = bare_type(content_type);
    const char *t = own ? own : known_type(ct) ? ct : NULL;
    if (!t)
        t = json_object_get(j, "manifests") ? MT_OCI_INDEX_V1 : MT_OCI_MANIFEST_V1;
    mi->media_type = known_type(t);
    if (!mi->media_type)
        return oci_err(err, OCI_MANIFEST_INVALID,
                       "media type '%.100s' is not supported (OCI image manifest or index, "
                       "Docker schema 2 manifest or manifest list)",
                       t);
    if (own && ct && looks_like_manifest_type(ct) && strcmp(own, ct) != 0)
        return oci_err(err, OCI_MANIFEST_INVALID,
                       "Content-Type '%.100s' disagrees with the manifest's mediaType '%.100s'",
                       ct, own);
    return 0;
}

int manifest_parse(const char *body, size_t len, const char *content_type,
                   struct manifest_info *ret, struct wh_err *err)
{
    json_error_t jerr;
    json_auto_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j || !json_is_object(j))
        return oci_err(err, OCI_MANIFEST_INVALID, "the manifest is not a JSON object: %s",
                       j ? "another JSON value" : jerr.text);
    json_t *sv = json_object_get(j, "schemaVersion");
    if (!json_is_integer(sv) || json_integer_value(sv) != 2)
        return oci_err(err, OCI_MANIFEST_INVALID,
                       "schemaVersion must be 2 (schema 1 manifests are not supported)");
    struct manifest_info mi = {0};
    int r = pick_type(j, content_type, &mi, err);
    if (r == 0) {
        bool index = strcmp(mi.media_type, MT_OCI_INDEX_V1) == 0 ||
                     strcmp(mi.media_type, MT_DOCKER_LIST_V2) == 0;
        r = index ? parse_index(j, &mi, err) : parse_image(j, &mi, err);
    }
    json_t *subject = json_object_get(j, "subject");
    if (r == 0 && subject) {
        const char *digest;
        int64_t size;
        r = descriptor(subject, "subject", &digest, &size, err);
        if (r == 0)
            mi.subject_digest = xstrdup(digest);
    }
    if (r < 0) {
        manifest_info_clear(&mi);
        return -1;
    }
    *ret = mi;
    return 0;
}

/* An index's size: the sum of its children's (they are in the repository by now). */
static int64_t index_size(struct store *st, int64_t repo_id, const struct manifest_info *mi)
{
    int64_t total = 0;
    for (size_t i = 0; i < mi->nrefs; i++) {
        struct store_image im;
        if (store_image_get(st, repo_id, mi->refs[i].digest, &im, NULL) == 0) {
            total += im.image_size;
            store_image_clear(&im);
        }
    }
    return total;
}

/* The digest of body under the reference's algorithm; DIGEST_INVALID when the reference is a
 * digest the body does not have. */
static int body_digest(const char *reference, const char *body, size_t len, char out[136],
                       struct wh_err *err)
{
    struct registry_digest want = {.alg = DIGEST_SHA256};
    bool by_digest = reference && registry_ref_is_digest(reference);
    if (by_digest) {
        int r = registry_digest_parse(reference, &want);
        if (r < 0)
            return oci_err(err, OCI_DIGEST_INVALID, "'%.140s' is not a %s", reference,
                           r == -ENOTSUP ? "supported digest (sha256, sha512)" : "valid digest");
    }
    blob_digest_of(want.alg, body, len, out);
    if (by_digest && strcmp(out, reference) != 0)
        return oci_err(err, OCI_DIGEST_INVALID,
                       "the manifest's digest is %s, not %s as the reference says", out,
                       reference);
    return 0;
}

int registry_manifest_put(const struct wharf_app *app, const struct store_repo *repo,
                          const char *reference, const char *body, size_t len,
                          const char *content_type, double now, char ret_digest[136],
                          char **ret_subject, struct wh_err *err)
{
    bool by_tag = reference && !registry_ref_is_digest(reference);
    if (by_tag && !registry_tag_valid(reference))
        return oci_err(err, OCI_TAG_INVALID,
                       "tag '%.140s' is invalid: [A-Za-z0-9_][A-Za-z0-9._-]{0,127}", reference);
    char digest[136];
    if (body_digest(reference, body, len, digest, err) < 0)
        return -1;
    struct manifest_info mi;
    if (manifest_parse(body, len, content_type, &mi, err) < 0)
        return -1;
    struct store_manifest_put in = {
        .repo_id = repo->id,
        .digest = digest,
        .media_type = mi.media_type,
        .artifact_type = mi.artifact_type,
        .subject_digest = mi.subject_digest,
        .config_digest = mi.config_digest,
        .body = body,
        .len = len,
        .image_size = mi.is_index ? index_size(app->st, repo->id, &mi) : mi.image_size,
        .refs = mi.refs,
        .nrefs = mi.nrefs,
        .tag = by_tag ? reference : NULL,
        .immutable = by_tag && registry_tag_immutable(repo->image_tag_mutability,
                                                      repo->mutability_exclusions, reference),
        .now = now,
    };
    cleanup_free char *missing = NULL;
    int r = store_manifest_put(app->st, &in, &missing, err);
    if (r == -ENOENT)
        oci_err(err, OCI_MANIFEST_BLOB_UNKNOWN, "%s %s referenced by the manifest is not in "
                "repository %s; push it first", mi.is_index ? "manifest" : "blob",
                missing, repo->name);
    else if (r == -EEXIST)
        oci_err(err, OCI_TAG_INVALID,
                "The image tag '%s' already exists in the '%s' repository and cannot be "
                "overwritten because the repository is immutable.",
                reference, repo->name);
    if (r == 0) {
        memcpy(ret_digest, digest, strlen(digest) + 1);
        if (ret_subject)
            *ret_subject = TAKE_PTR(mi.subject_digest);
    }
    manifest_info_clear(&mi);
    return r == 0 ? 0 : r == -EEXIST ? -EEXIST : -1;
}
