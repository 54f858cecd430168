/* GET /v2/<name>/tags/list and GET /v2/_catalog, paginated with n and last (Link header). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/xalloc.h"
#include "registry/errors.h"
#include "registry/request.h"

#define PAGE_MAX 1000

/* ?n= (0..PAGE_MAX; absent: everything) and ?last=. */
static int page_args(struct reg_req *rq, unsigned *ret_n, bool *ret_has_n, char **ret_last)
{
    cleanup_free char *n = reg_query(rq, "n");
    *ret_has_n = n != NULL;
    *ret_n = 0;
    if (n) {
        char *end;
        long v = strtol(n, &end, 10);
        if (!*n || *end || v < 0)
            return oci_err(&rq->err, OCI_UNSUPPORTED, "n=%.40s is not a count", n);
        *ret_n = v > PAGE_MAX ? PAGE_MAX : (unsigned)v;
    }
    *ret_last = reg_query(rq, "last");
    return 0;
}

static void add_link(struct http_resp *resp, const char *path, unsigned n, const char *last)
{
    cleanup_free char *link = xasprintf("<%s?n=%u&last=%s>; rel=\"next\"", path, n, last);
    http_resp_add_header(resp, "Link", link);
}

int tags_list_begin(struct reg_req *rq, struct http_resp *resp)
{
    unsigned n;
    bool has_n;
    cleanup_free char *last = NULL;
    if (page_args(rq, &n, &has_n, &last) < 0)
        return -1;
    json_auto_t *tags = json_array();
    char **v = NULL;
    size_t count = 0;
    bool more = false;
    if (!has_n || n > 0) {
        if (store_tag_list(rq->app->st, rq->repo.id, last, has_n ? n : 0, &v, &count, &more,
                           &rq->err) < 0)
            return -1;
    }
    for (size_t i = 0; i < count; i++)
        json_array_append_new(tags, json_string(v[i]));
    json_auto_t *j = json_pack("{s:s, s:O}", "name", rq->path.name, "tags", tags);
    reg_resp_json(resp, 200, "application/json", json_text(j));
    if (more) {
        cleanup_free char *path = xasprintf("/v2/%s/tags/list", rq->path.name);
        add_link(resp, path, n, v[count - 1]);
    }
    store_strv_free(v, count);
    return 1;
}

int catalog_begin(struct reg_req *rq, struct http_resp *resp)
{
    unsigned n;
    bool has_n;
    cleanup_free char *last = NULL;
    if (page_args(rq, &n, &has_n, &last) < 0)
        return -1;
    json_auto_t *names = json_array();
    struct store_repo *v = NULL;
    size_t count = 0;
    bool more = false;
    if (!has_n || n > 0) {
        if (store_repo_list(rq->app->st, rq->who.account, rq->who.region, last, has_n ? n : 0,
                            &v, &count, &more, &rq->err) < 0)
            return -1;
    }
    for (size_t i = 0; i < count; i++)
        json_array_append_new(names, json_string(v[i].name));
    json_auto_t *j = json_pack("{s:O}", "repositories", names);
    reg_resp_json(resp, 200, "application/json", json_text(j));
    if (more)
        add_link(resp, "/v2/_catalog", n, v[count - 1].name);
    store_repos_free(v, count);
    return 1;
}
