/* What a tag means, asked by the agent itself: a GET of the manifest over plain http, its
 * digest computed over the bytes (what the registry's Docker-Content-Digest says). Enough for
 * the common start of a task whose image is here already (ECS's default pull behaviour asks
 * the registry every time): no pull helper to start, ≈ 1 ms instead of ≈ 40. Only where it is
 * that simple: registries spoken to over http (loopback, or listed as plain http), anonymous
 * or with Basic credentials (wharf's own registry takes the ECR token so). Anything else
 * (https, a Bearer challenge, an error) answers NULL and the pull helper does the whole
 * pull, as before. */
#pragma once
#include "agent/image_ref.h"
#include "agent/registry_client.h"

/* "sha256:<hex>" the tag of ref points to (new string), or NULL (ask the helper). */
char *image_check_tag(const struct registry_opts *o, const struct image_ref *ref,
                      const struct image_auth *auth);
