#include "agent/pull_msg.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/json.h"
#include "core/xalloc.h"

#define PULL_ERR "CannotPullContainerError"

json_t *pull_request_to_json(const struct images_opts *o, const char *ref,
                             const struct image_auth *auth)
{
    json_t *plain = json_array();
    for (size_t i = 0; o->registry.plain_http && o->registry.plain_http[i]; i++)
        json_array_append_new(plain, json_string(o->registry.plain_http[i]));
    const struct registry_opts *r = &o->registry;
    json_t *j = json_pack(
        "{s:s, s:s, s:s?, s:s?, s:o, s:s?, s:i, s:i, s:i, s:i, s:s?, s:s?, s:s?, s:i, s:i, "
        "s:i, s:b, s:b, s:I, s:I, s:I}",
        "dir", o->dir, "reference", ref, "username", auth ? auth->username : NULL, "password",
        auth ? auth->password : NULL, "plainHttp", plain, "caFile", r->ca_file,
        "connectTimeoutMs", r->connect_timeout_ms, "readTimeoutMs", r->read_timeout_ms,
        "requestTimeoutMs", r->request_timeout_ms, "policy", (int)o->policy, "os", o->os, "arch",
        o->arch, "variant", o->variant, "attempts", o->attempts, "retryDelayMs",
        o->retry_delay_ms, "parallel", o->parallel, "noSync", o->no_sync, "allowDevices",
        o->unpack.allow_devices, "maxEntrySize", (json_int_t)o->unpack.max_entry_size,
        "maxTotalSize", (json_int_t)o->unpack.max_total_size, "parentPid",
        (json_int_t)getpid());
    if (!j)
        abort(); /* only a programming error (a bad format) gets here */
    return j;
}

int pull_request_from_json(json_t *j, struct pull_request *ret, struct wh_err *err)
{
    const char *dir = json_str(j, "dir"), *ref = json_str(j, "reference");
    if (!json_is_object(j) || !dir || !ref)
        return wh_err_set(err, 400, PULL_ERR, "pull request without dir and reference");
    json_t *plain = json_arr(j, "plainHttp");
    size_t n = json_array_size(plain);
    struct pull_request r = {.ref = ref, .j = json_incref(j)};
    r.plain = xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        r.plain[i] = json_string_value(json_array_get(plain, i));
    r.auth = (struct image_auth){json_str(j, "username"), json_str(j, "password")};
    r.parent = (pid_t)json_int(j, "parentPid", 0);
    r.o = (struct images_opts){
        .dir = dir,
        .registry = {.plain_http = r.plain, .ca_file = json_str(j, "caFile"),
                     .connect_timeout_ms = (int)json_int(j, "connectTimeoutMs", 0),
                     .read_timeout_ms = (int)json_int(j, "readTimeoutMs", 0),
                     .request_timeout_ms = (int)json_int(j, "requestTimeoutMs", 0)},
        .unpack = {.allow_devices = json_bool(j, "allowDevices", false),
                   .max_entry_size = json_int(j, "maxEntrySize", 0),
                   .max_total_size = json_int(j, "maxTotalSize", 0)},
        .policy = (enum images_pull_policy)json_int(j, "policy", 0),
        .os = json_str(j, "os"), .arch = json_str(j, "arch"), .variant = json_str(j, "variant"),
        .attempts = (int)json_int(j, "attempts", 0),
        .retry_delay_ms = (int)json_int(j, "retryDelayMs", 0),
        .parallel = (int)json_int(j, "parallel", 0),
        .no_sync = json_bool(j, "noSync", false),
    };
    *ret = r;
    return 0;
}

void pull_request_free(struct pull_request *r)
{
    if (!r)
        return;
    free(r->plain);
    json_decref(r->j);
    *r = (struct pull_request){0};
}

json_t *pull_answer_to_json(const struct puller_result *res, const struct wh_err *failed)
{
    if (failed)
        return json_pack("{s:{s:s, s:i, s:s}}", "error", "type", failed->type, "status",
                         failed->status, "message", failed->msg);
    return json_pack("{s:s, s:s, s:b, s:I, s:I, s:I}", "repoDigest", res->repo_digest,
                     "digest", res->digest, "fetched", res->fetched, "manifestFetches",
                     (json_int_t)res->manifest_fetches, "layerDownloads",
                     (json_int_t)res->layer_downloads, "layerUnpacks",
                     (json_int_t)res->layer_unpacks);
}

int pull_answer_from_json(const json_t *j, struct puller_result *ret, struct wh_err *err)
{
    const json_t *e = json_object_get(j, "error");
    if (e) {
        const char *type = json_str(e, "type"), *msg = json_str(e, "message");
        return wh_err_set(err, (int)json_int(e, "status", 500), type && *type ? type : PULL_ERR,
                          "%s", msg ? msg : "(no message)");
    }
    const char *repo = json_str(j, "repoDigest"), *digest = json_str(j, "digest");
    if (!repo || !digest)
        return wh_err_set(err, 500, PULL_ERR, "pull helper answered without repoDigest/digest");
    *ret = (struct puller_result){
        .repo_digest = xstrdup(repo),
        .digest = xstrdup(digest),
        .fetched = json_bool(j, "fetched", false),
        .manifest_fetches = (uint64_t)json_int(j, "manifestFetches", 0),
        .layer_downloads = (uint64_t)json_int(j, "layerDownloads", 0),
        .layer_unpacks = (uint64_t)json_int(j, "layerUnpacks", 0),
    };
    return 0;
}

void puller_result_free(struct puller_result *r)
{
    if (!r)
        return;
    free(r->repo_digest);
    free(r->digest);
    *r = (struct puller_result){0};
}
