/* Image references as Docker and containerd read them:
 *
 *   busybox                          → docker.io/library/busybox:latest
 *   team/app:1                       → docker.io/team/app:1
 *   127.0.0.1:5000/team/app:tag      → registry 127.0.0.1:5000, repository team/app, tag "tag"
 *   host/app@sha256:<64 hex>         → by digest (no tag)
 *   host/app:tag@sha256:<64 hex>     → the digest wins; the tag is kept for messages only
 *
 * The first path component is a registry host when it contains '.' or ':' or is "localhost"
 * (Docker's rule); otherwise the reference is on Docker Hub. Docker Hub references stay
 * parseable even though a host without Internet access cannot pull them. Pure functions. */
#pragma once
#include <stdbool.h>

#include "core/err.h"

#define IMAGE_REF_DOCKER_HUB "docker.io"
#define IMAGE_REF_DOCKER_HUB_API "registry-1.docker.io"

struct image_ref {
    char *domain; /* "docker.io" for Docker Hub, else the host[:port] as written */
    char *path;   /* repository inside the registry: "library/busybox", "team/app" */
    char *tag;    /* "latest" when neither tag nor digest was given; NULL for a bare digest */
    char *digest; /* "sha256:<hex>" / "sha512:<hex>", or NULL */
};

/* Parse s. On error fills err (type CannotPullContainerError, message "invalid reference
 * format: '<s>': <why>") and leaves *ret untouched. */
int image_ref_parse(const char *s, struct image_ref *ret, struct wh_err *err);
void image_ref_free(struct image_ref *r);

/* "domain/path:tag", "domain/path@digest" or "domain/path:tag@digest" (new string). */
char *image_ref_string(const struct image_ref *r);
/* The manifest reference to ask the registry for: the digest when there is one, else the tag. */
const char *image_ref_manifest_ref(const struct image_ref *r);
/* The host[:port] to connect to: Docker Hub's API host for docker.io, else the domain. */
const char *image_ref_api_host(const struct image_ref *r);
bool image_ref_is_docker_hub(const struct image_ref *r);

/* True for "sha256:<64 lower-case hex>" and "sha512:<128 lower-case hex>": the digests wharf
 * can verify. */
bool image_digest_valid(const char *d);
/* True when host (host[:port], IPv6 in brackets) is loopback: localhost, 127.0.0.0/8, [::1]. */
bool image_host_is_loopback(const char *host);
