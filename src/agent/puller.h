/* One image pull done in this process: resolve the reference at the registry (through an
 * index to the platform's manifest), download config and layers (several at once, each
 * checked against its digest), unpack the layers into the store and record the image.
 * This is the work of the pull helper, wharf-agent-pull (pull_main.c), so that libcurl,
 * libarchive and libcrypto are loaded only while a pull runs, never in the idle agent.
 * The agent's side (dedupe of concurrent pulls, GC, the result) is images.c. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "agent/images.h"

struct puller_result {
    char *repo_digest; /* what the reference resolved to */
    char *digest;      /* the image manifest's digest (recorded in the store) */
    bool fetched;      /* a blob was downloaded */
    uint64_t manifest_fetches, layer_downloads, layer_unpacks;
};

/* Pull ref into the store o->dir under the policy o->policy; o->arch must be set (the agent
 * resolves the platform). Errors are the ECS-style reason without the
 * "CannotPullContainerError: " prefix (images.c adds it). */
int puller_pull(const struct images_opts *o, const char *ref, const struct image_auth *auth,
                struct puller_result *ret, struct wh_err *err);
void puller_result_free(struct puller_result *r); /* in pull_msg.c: the agent uses it too */
