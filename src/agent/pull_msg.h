/* The agent ↔ pull helper protocol (wharf-agent-pull): one JSON request on the helper's
 * stdin (stdin, not argv, so the registry password is not in /proc/PID/cmdline), one JSON
 * answer on its stdout, exit status 0 either way; anything else is a broken helper.
 *
 *   request: {"dir", "reference", "username"?, "password"?, "plainHttp": [...], "caFile"?,
 *             "connectTimeoutMs", "readTimeoutMs", "requestTimeoutMs", "policy", "os",
 *             "arch", "variant"?, "attempts", "retryDelayMs", "parallel", "noSync",
 *             "allowDevices", "maxEntrySize", "maxTotalSize", "parentPid"}
 *   answer:  {"repoDigest", "digest", "fetched", "manifestFetches", "layerDownloads",
 *             "layerUnpacks"}  or  {"error": {"type", "status", "message"}} */
#pragma once
#include <jansson.h>
#include <sys/types.h>

#include "agent/images.h"
#include "agent/puller.h"

json_t *pull_request_to_json(const struct images_opts *o, const char *ref,
                             const struct image_auth *auth);

struct pull_request {
    struct images_opts o; /* strings point into j */
    const char *ref;
    struct image_auth auth;
    pid_t parent;         /* the agent; 0 when not given */
    const char **plain;   /* o.registry.plain_http */
    json_t *j;
};
int pull_request_from_json(json_t *j, struct pull_request *ret, struct wh_err *err);
void pull_request_free(struct pull_request *r);

json_t *pull_answer_to_json(const struct puller_result *res, const struct wh_err *failed);
/* 0 with *ret filled, or -1 with err: the pull's own error (type/status/message as the
 * helper had them) or a complaint about the answer. */
int pull_answer_from_json(const json_t *j, struct puller_result *ret, struct wh_err *err);
