/* OCI / Docker schema 2 documents a pull reads: manifests, indexes (manifest lists) and
 * image configs. Pure parsing of untrusted registry bytes; every error is a
 * CannotPullContainerError naming the field and the value. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"

/* The Accept header value a pull sends for manifests. */
#define MANIFEST_ACCEPT                                                                        \
    MT_OCI_INDEX ", " MT_OCI_MANIFEST ", " MT_DOCKER_LIST ", " MT_DOCKER_MANIFEST

/* Largest manifest / config accepted (the distribution spec lets registries cap manifests at
 * 4 MiB; configs with long histories are bigger). */
#define MANIFEST_MAX_BYTES (4u << 20)
#define CONFIG_MAX_BYTES (16u << 20)

enum manifest_kind { MANIFEST_IMAGE, MANIFEST_INDEX };

struct descriptor {
    char *media_type;
    char *digest;
    int64_t size;
};

struct image_manifest {
    struct descriptor config;
    struct descriptor *layers; /* bottom → top */
    size_t n_layers;
};

/* Tell an image manifest from an index by its mediaType member, else the Content-Type,
 * else its shape. Schema 1 and unknown types are refused. */
int manifest_kind(const char *body, size_t len, const char *content_type,
                  enum manifest_kind *ret_kind, struct wh_err *err);
/* Pick os/arch[/variant] from an index (variant NULL: any). An index whose only entry has no
 * platform is taken as is. */
int manifest_index_select(const char *body, size_t len, const char *os, const char *arch,
                          const char *variant, struct descriptor *ret, struct wh_err *err);
int manifest_parse_image(const char *body, size_t len, struct image_manifest *ret,
                         struct wh_err *err);
void descriptor_free(struct descriptor *d);
void image_manifest_free(struct image_manifest *m);
/* True for the layer media types wharf unpacks (tar, tar+gzip, tar+zstd; OCI and Docker). */
bool manifest_layer_type_ok(const char *media_type);

/* OCI architecture name for a uname machine ("x86_64" → "amd64", "aarch64" → "arm64");
 * *ret_variant is set for arm ("v7", "v8") or NULL. Unknown machines are returned as is. */
const char *manifest_arch_from_machine(const char *machine, const char **ret_variant);

/* The parts of an image config the runtime needs. Arrays are NULL-terminated and NULL when
 * the image does not set them (so "not set" and "set to []" stay apart, as Docker's
 * precedence rules need). JSON-valued fields are compact JSON text or NULL. */
struct image_config {
    char **entrypoint, **cmd, **env;
    char *working_dir, *user, *stop_signal;
    char *exposed_ports; /* {"80/tcp":{}} */
    char *healthcheck;   /* {"Test":["CMD-SHELL","..."],"Interval":30000000000,...} */
    char *labels;
    char *os, *architecture;
    char **diff_ids; /* rootfs.diff_ids, bottom → top */
    size_t n_diff_ids;
};

int image_config_parse(const char *text, size_t len, struct image_config *ret, struct wh_err *err);
void image_config_free(struct image_config *c);
