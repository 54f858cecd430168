/* Pure parsing and validation for the registry: repository names, tags, digests, the /v2/ path
 * and byte ranges. No I/O; unit-tested in tests/unit/test-registry-names.c. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REGISTRY_NAME_MAX 256
#define REGISTRY_TAG_MAX 128

/* OCI / ECR repository name: components [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* joined by '/', 2..256
 * bytes. The name arrives raw from the URL, so any percent-encoding ("%2e") is refused too. */
bool registry_name_valid(const char *name, size_t len);
/* OCI tag: [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}. */
bool registry_tag_valid(const char *tag);

enum registry_digest_alg { DIGEST_SHA256 = 1, DIGEST_SHA512 = 2 };

struct registry_digest {
    enum registry_digest_alg alg;
    char hex[129]; /* lower-case hex of the hash */
};

/* "sha256:<64 hex>" or "sha512:<128 hex>" (lower case). 0; -EINVAL when malformed; -ENOTSUP
 * for a well-formed digest of another algorithm. */
int registry_digest_parse(const char *s, struct registry_digest *ret);
/* Whether a manifest reference is a digest (it holds ':') rather than a tag. */
bool registry_ref_is_digest(const char *ref);

/* What a /v2/ path asks for. */
enum registry_path_kind {
    RP_BASE,         /* /v2/ */
    RP_TOKEN,        /* /v2/token */
    RP_CATALOG,      /* /v2/_catalog */
    RP_MANIFEST,     /* /v2/<name>/manifests/<ref> */
    RP_BLOB,         /* /v2/<name>/blobs/<digest> */
    RP_UPLOAD_START, /* /v2/<name>/blobs/uploads/ */
    RP_UPLOAD,       /* /v2/<name>/blobs/uploads/<uuid> */
    RP_TAGS,         /* /v2/<name>/tags/list */
    RP_REFERRERS,    /* /v2/<name>/referrers/<digest> */
};

struct registry_path {
    enum registry_path_kind kind;
    char name[REGISTRY_NAME_MAX + 1];
    char ref[256]; /* tag, digest or upload uuid; "" when the kind has none */
};

/* Parse a raw /v2/ path. -ENOENT when it is no registry endpoint (404); -EINVAL when it is
 * one but the repository name is invalid (NAME_INVALID); -E2BIG when the reference is too long. */
int registry_path_parse(const char *path, struct registry_path *ret);

/* "bytes=START-END" / "bytes=START-" / "bytes=-SUFFIX" against a blob of size bytes; the range
 * is returned as [*ret_start, *ret_end] inclusive. -EINVAL when malformed (ignore the header),
 * -ERANGE when not satisfiable (416). Only single ranges are supported. */
int registry_range_parse(const char *header, uint64_t size, uint64_t *ret_start,
                         uint64_t *ret_end);
/* A PATCH Content-Range "START-END" (inclusive; "bytes " or "bytes=" prefix tolerated).
 * -EINVAL when malformed. */
int registry_content_range_parse(const char *header, uint64_t *ret_start, uint64_t *ret_end);

/* Content negotiation for manifests: whether an Accept value (all Accept headers joined by
 * ',') lets a manifest of media_type be returned. A request whose Accept names no manifest
 * type (absent, any-type wildcard, "application/json") accepts anything. */
bool registry_accept_allows(const char *accept, const char *media_type);
