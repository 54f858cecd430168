/* Manifests: parsing (pure) and storing, shared by PUT /v2/<name>/manifests/<ref> and ECR's
 * PutImage.
 *
 * Accepted media types: OCI image manifest and index, Docker schema 2 manifest and manifest
 * list. The body's own mediaType wins; without one the Content-Type is used; without either,
 * the shape decides (layers: a manifest; manifests: an index). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "store/registry.h"

#define MT_OCI_MANIFEST_V1 "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX_V1 "application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_MANIFEST_V2 "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST_V2 "application/vnd.docker.distribution.manifest.list.v2+json"

struct wharf_app;

struct manifest_info {
    const char *media_type;     /* one of the MT_* above (static) */
    bool is_index;
    char *artifact_type;        /* artifactType, else config.mediaType for an OCI manifest */
    char *subject_digest;       /* subject.digest or NULL */
    char *config_digest;        /* NULL for an index */
    int64_t image_size;         /* manifest: config + layers; index: 0 (filled when stored) */
    struct store_manifest_ref *refs; /* digests point into the strings below */
    size_t nrefs;
    char **ref_strings;
};

/* Parse and validate. -1 with err MANIFEST_INVALID naming the problem (e.g. "layers[2].digest
 * 'sha256:xyz' is not a valid digest"). */
int manifest_parse(const char *body, size_t len, const char *content_type,
                   struct manifest_info *ret, struct wh_err *err);
void manifest_info_clear(struct manifest_info *mi);

/* Store a manifest in repo under its digest, move tag (when reference is a tag), as one
 * transaction. reference: a tag, a digest the body must match, or NULL (by digest only).
 * ret_digest gets the manifest's digest ("sha256:..." unless reference was a sha512 digest);
 * *ret_subject (may be NULL) the subject's digest or NULL (new string).
 * Errors (OCI codes in err): MANIFEST_INVALID, TAG_INVALID, DIGEST_INVALID (the body does not
 * match the digest reference), MANIFEST_BLOB_UNKNOWN (a referenced blob or manifest is not in
 * the repository), and, returned as -EEXIST rather than -1, TAG_INVALID with ECR's
 * ImageTagAlreadyExistsException wording when the tag is immutable and points elsewhere. */
int registry_manifest_put(const struct wharf_app *app, const struct store_repo *repo,
                          const char *reference, const char *body, size_t len,
                          const char *content_type, double now, char ret_digest[136],
                          char **ret_subject, struct wh_err *err);

/* Whether the repository's mutability setting makes tag immutable (pure; exclusions_json is
 * the imageTagMutabilityExclusionFilters text, wildcard filters with '*'). */
bool registry_tag_immutable(const char *mutability, const char *exclusions_json, const char *tag);
/* '*' matches any run of characters; everything else itself. */
bool registry_wildcard_match(const char *pattern, const char *s);
