/* The agent's images: pull by reference (tag or digest) from an OCI registry into the host's
 * layer store, and hand the runtime what it needs to start a container: the image config
 * and the layer directories to stack as overlayfs lowerdirs. One `struct images` per agent,
 * shared by all its threads.
 *
 *   images_pull(im, "127.0.0.1:5000/app:1", &auth, &img, &err)
 *     → img->layer_dirs (bottom → top), img->config (Entrypoint, Cmd, Env, …)
 *
 * The registry work (HTTP, digests, unpacking) runs in a child process, wharf-agent-pull
 * (puller.h), started per pull: the idle agent keeps none of its libraries loaded. The
 * store (GC, the image records, answers from the cache) stays here.
 *
 * Pulls of the same reference (with the same credentials) that overlap are done once: the
 * later callers wait for the first and share its result. Different images sharing layers
 * download and unpack each shared layer once. Every manifest and blob is checked against its
 * digest. A failed pull is a wh_err of type "CannotPullContainerError" whose message is the
 * whole ECS-style reason, ready for a container's `reason`:
 *   "CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to
 *    resolve ref 127.0.0.1:5000/app:missing: not found" */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/manifest.h"
#include "agent/registry_client.h"
#include "agent/unpack.h"
#include "core/err.h"

/* As the ECS agent's ECS_IMAGE_PULL_BEHAVIOR. Blobs already here are never fetched again,
 * and a reference by digest that is here is never looked up, whatever the policy. */
enum images_pull_policy {
    IMAGES_PULL_DEFAULT = 0,   /* ask the registry what a tag points to; if that fails and the
                                  image the tag last resolved to is here, use it */
    IMAGES_PULL_ALWAYS,        /* ask the registry; a failure fails the pull */
    IMAGES_PULL_PREFER_CACHED, /* use what a tag resolved to last time, if the image is here
                                  (also ECS's "once") */
};

struct images_opts {
    const char *dir;                /* the store (DIR/layers, DIR/images, …) */
    struct registry_opts registry;  /* http hosts, CA file, timeouts */
    struct unpack_opts unpack;      /* devices allowed?, size caps (.what is ignored) */
    enum images_pull_policy policy;
    const char *os, *arch, *variant; /* platform to pick from an index; NULL: linux/uname */
    int attempts;                    /* tries for a retriable failure (default 3) */
    int retry_delay_ms;              /* before the 2nd try, doubled each time (default 250) */
    int parallel;                    /* layer downloads at once per pull (default 3) */
    bool no_sync;                    /* skip syncfs on layer commit (tests only) */
    const char *pull_helper;         /* wharf-agent-pull; NULL: beside this program */
};

struct images;

int images_open(const struct images_opts *o, struct images **ret, struct wh_err *err);
void images_close(struct images *im);

struct pulled_image {
    char *reference;     /* canonical: "127.0.0.1:5000/app:1", "docker.io/library/busybox:latest" */
    char *repo_digest;   /* what the reference resolved to (an index's digest for multi-arch):
                            ECS's container imageDigest */
    char *digest;        /* the image manifest's digest (the platform's, for an index) */
    char *config_digest; /* the image id */
    char *config_json;   /* the whole image config as pulled */
    struct image_config config;
    char **layer_dirs;   /* absolute, bottom → top, NULL-terminated */
    size_t n_layers;
    int64_t size;        /* sum of the layer blob sizes */
};

/* Pull ref (or find it here) and return the image. auth may be NULL (anonymous). */
int images_pull(struct images *im, const char *ref, const struct image_auth *auth,
                struct pulled_image **ret, struct wh_err *err);
void pulled_image_free(struct pulled_image *p);

struct images_gc_stats {
    unsigned images_removed, layers_removed, refs_removed, leftovers_removed;
};

/* Remove the images not in in_use[] (manifest digests, pulled_image.digest, of the images
 * that containers on this host use or are about to use) and last pulled more than
 * min_age_s seconds ago, then the layers no remaining image needs. Waits for pulls in
 * progress and holds new ones until it is done. ret may be NULL. */
int images_gc(struct images *im, const char *const *in_use, size_t n_in_use, int64_t min_age_s,
              struct images_gc_stats *ret, struct wh_err *err);

struct images_stats {
    uint64_t pulls;            /* images_pull calls */
    uint64_t shared;           /* ... that waited for an identical pull in flight */
    uint64_t cached;           /* ... answered without fetching a blob */
    uint64_t manifest_fetches; /* manifest GETs sent (index and image) */
    uint64_t layer_downloads;  /* layer blobs downloaded */
    uint64_t layer_unpacks;    /* layers unpacked */
};
void images_stats(struct images *im, struct images_stats *ret);
