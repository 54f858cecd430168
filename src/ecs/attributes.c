/* ECS attributes: PutAttributes, DeleteAttributes and ListAttributes. Targets are container
 * instances of the cluster, stored by full ARN. */
#include "ecs/attributes.h"

#include <ctype.h>
#include <string.h>

#include "core/json.h"
#include "core/page.h"
#include "core/xalloc.h"
#include "ecs/clusters.h"
#include "ecs/handlers.h"
#include "ecs/instances.h"
#include "store/attributes.h"

#define LIST_MAX 100

static bool chars_ok(const char *s, const char *extra)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > ECS_ATTRIBUTE_MAX)
        return false;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr(extra, *p))
            return false;
    return true;
}

bool ecs_attribute_name_valid(const char *name)
{
    return chars_ok(name, "-_/\\.");
}

bool ecs_attribute_value_valid(const char *value)
{
    if (!chars_ok(value, "-_.@/\\: "))
        return false;
    return value[0] != ' ' && value[strlen(value) - 1] != ' ';
}

int ecs_attribute_check(const json_t *attr, const char *field, struct wh_err *err)
{
    const char *name = json_str(attr, "name");
    const char *value = json_str(attr, "value");
    const char *type = json_str(attr, "targetType");
    if (!ecs_attribute_name_valid(name))
        return api_invalid(err,
                           "%s.name '%s' is not valid: 1 to %d letters, numbers, hyphens, "
                           "underscores, forward slashes, back slashes or periods",
                           field, name ? name : "", ECS_ATTRIBUTE_MAX);
    if (value && !ecs_attribute_value_valid(value))
        return api_invalid(err,
                           "%s.value '%s' is not valid: 1 to %d letters, numbers, hyphens, "
                           "underscores, periods, at signs, forward slashes, back slashes, "
                           "colons or spaces, not starting or ending with a space",
                           field, value, ECS_ATTRIBUTE_MAX);
    if (type && strcmp(type, "container-instance") != 0)
        return api_invalid(err, "%s.targetType '%s' is not valid: use container-instance", field,
                           type);
    return 0;
}

/* ---- PutAttributes, DeleteAttributes ---- */

struct change_args {
    struct api_ctx *ctx;
    const json_t *attrs;
    bool delete;
    struct store_cluster c;
};

static int target_arn(struct api_ctx *ctx, const struct store_cluster *c, const json_t *attr,
                      char **ret_arn, struct wh_err *err)
{
    const char *id = json_str(attr, "targetId");
    if (!id)
        return api_invalid(err, "attributes: targetId is required for attribute '%s'",
                           json_str(attr, "name"));
    struct store_instance in = {0};
    int r = ecs_instance_resolve(ctx, c, id, &in, err);
    if (r == -ENOENT)
        return wh_err_set(err, 400, "TargetNotFoundException", "Could not find %s.", id);
    if (r < 0)
        return r;
    *ret_arn = TAKE_PTR(in.arn);
    store_instance_clear(&in);
    return 0;
}

static int change_tx(struct store *st, void *arg, struct wh_err *err)
{
    struct change_args *a = arg;
    size_t i;
    const json_t *attr;
    json_array_foreach(a->attrs, i, attr) {
        cleanup_free char *arn = NULL;
        int r = target_arn(a->ctx, &a->c, attr, &arn, err);
        if (r < 0)
            return r;
        const char *name = json_str(attr, "name");
        if (a->delete) {
            r = store_attribute_delete(st, a->c.arn, arn, name, err);
            if (r == -ENOENT)
                r = 0;
        } else {
            struct store_attribute row = {arn, (char *)"container-instance", (char *)name,
                                          (char *)json_str(attr, "value")};
            r = store_attribute_put(st, a->c.arn, &row, err);
        }
        if (r < 0)
            return r;
    }
    return 0;
}

static int change(struct api_ctx *ctx, json_t *in, bool delete, json_t **ret_out,
                  struct wh_err *err)
{
    const json_t *attrs = json_object_get(in, "attributes");
    if (json_array_size(attrs) > ECS_ATTRIBUTES_PER_CALL)
        return api_invalid(err, "attributes has %zu entries; at most %d can be given at once",
                           json_array_size(attrs), ECS_ATTRIBUTES_PER_CALL);
    size_t i;
    const json_t *attr;
    json_array_foreach(attrs, i, attr) {
        char field[48];
        snprintf(field, sizeof(field), "attributes[%zu]", i);
        if (ecs_attribute_check(attr, field, err) < 0)
            return -1;
    }
    struct change_args a = {.ctx = ctx, .attrs = attrs, .delete = delete};
    int r = ecs_cluster_resolve(ctx, json_str(in, "cluster"), ECS_CLUSTER_ACTIVE, &a.c, err);
    if (r == 0)
        r = store_tx(ctx->st, change_tx, &a, err);
    store_cluster_clear(&a.c);
    if (r < 0)
        return r;
    json_t *out = json_array();
    json_array_foreach(attrs, i, attr) {
        json_t *o = json_deep_copy(attr);
        json_object_set_new(o, "targetType", json_string("container-instance"));
        json_array_append_new(out, o);
    }
    *ret_out = json_pack("{s:o}", "attributes", out);
    return 0;
}

int ecs_put_attributes(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    return change(ctx, in, false, ret_out, err);
}

int ecs_delete_attributes(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    return change(ctx, in, true, ret_out, err);
}

/* ---- ListAttributes ---- */

static json_t *attribute_json(const struct store_attribute *a)
{
    json_t *o = json_pack("{s:s}", "name", a->name);
    json_set_str(o, "value", a->value);
    json_set_str(o, "targetType", a->target_type);
    json_set_str(o, "targetId", a->target_id);
    return o;
}

/* The page key is "TARGET\nNAME". */
static int page_after(const char *tok, char **ret_target, char **ret_name, struct wh_err *err)
{
    char *key = NULL;
    if (page_token_decode(tok, &key) < 0 || !strchr(key, '\n')) {
        free(key);
        return api_invalid(err, "nextToken '%.64s' is not a token this service returned", tok);
    }
    char *nl = strchr(key, '\n');
    *ret_name = xstrdup(nl + 1);
    *nl = '\0';
    *ret_target = key;
    return 0;
}

int ecs_list_attributes(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    const char *type = json_str(in, "targetType");
    const char *name = json_str(in, "attributeName"), *value = json_str(in, "attributeValue");
    if (type && strcmp(type, "container-instance") != 0)
        return api_invalid(err, "targetType '%s' is not valid: use container-instance", type);
    if (value && !name)
        return api_invalid(err, "attributeValue can be given only with attributeName");
    int64_t max = json_int(in, "maxResults", LIST_MAX);
    if (max < 1 || max > LIST_MAX)
        return api_invalid(err, "maxResults %lld is out of range 1..%d", (long long)max, LIST_MAX);
    cleanup_free char *after_target = NULL, *after_name = NULL;
    const char *tok = json_str(in, "nextToken");
    if (tok && page_after(tok, &after_target, &after_name, err) < 0)
        return -1;
    cleanup_cluster struct store_cluster c = {0};
    int r = ecs_cluster_resolve(ctx, json_str(in, "cluster"), ECS_CLUSTER_ANY_STATUS, &c, err);
    if (r < 0)
        return r;
    struct store_attribute_query q = {type, name, value, after_target, after_name,
                                      (unsigned)max + 1};
    struct store_attribute *v = NULL;
    size_t n = 0;
    if ((r = store_attributes_list(ctx->st, c.arn, &q, &v, &n, err)) < 0)
        return r;
    bool more = n > (size_t)max;
    json_t *list = json_array();
    for (size_t i = 0; i < n && i < (size_t)max; i++)
        json_array_append_new(list, attribute_json(&v[i]));
    json_t *out = json_pack("{s:o}", "attributes", list);
    if (more) {
        cleanup_free char *key = xasprintf("%s\n%s", v[max - 1].target_id, v[max - 1].name);
        cleanup_free char *next = page_token_encode(key);
        json_object_set_new(out, "nextToken", json_string(next));
    }
    store_attributes_free(v, n);
    *ret_out = out;
    return 0;
}
