/* ECS resource tags: validation with ECS's limits, storage through store/tags, JSON. */
#include "ecs/tagging.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "aws/api.h"
#include "core/json.h"
#include "core/xalloc.h"
#include "store/tags.h"

#define TAG_KEY_MAX 128
#define TAG_VALUE_MAX 256

/* Characters of s, counting each UTF-8 sequence once (lengths in the model are characters). */
static size_t utf8_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

/* The model's pattern [\p{L}\p{Z}\p{N}_.:/=+\-@]*: exact for ASCII; any non-ASCII character
 * is let through (telling Unicode letters from symbols needs tables we do not carry). */
static bool tag_chars_ok(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        if (c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9') || strchr(" _.:/=+-@", c))
            continue;
        return false;
    }
    return true;
}

static int check_one(const json_t *tag, const char *field, size_t i, struct wh_err *err)
{
    const char *key = json_str(tag, "key");
    const char *value = json_str(tag, "value");
    if (!key || !*key)
        return api_invalid(err, "%s[%zu].key is required and must not be empty", field, i);
    if (utf8_len(key) > TAG_KEY_MAX)
        return api_invalid(err, "%s[%zu].key '%.40s...' is longer than %d characters", field, i,
                           key, TAG_KEY_MAX);
    if (!tag_chars_ok(key))
        return api_invalid(err,
                           "%s[%zu].key '%s' may contain only letters, numbers, spaces and "
                           "_ . : / = + - @",
                           field, i, key);
    if (strncasecmp(key, "aws:", 4) == 0)
        return api_invalid(err, "%s[%zu].key '%s': the aws: prefix is reserved for AWS use", field,
                           i, key);
    if (value && utf8_len(value) > TAG_VALUE_MAX)
        return api_invalid(err, "%s[%zu].value of key '%s' is longer than %d characters", field, i,
                           key, TAG_VALUE_MAX);
    if (value && !tag_chars_ok(value))
        return api_invalid(err,
                           "%s[%zu].value '%s' may contain only letters, numbers, spaces and "
                           "_ . : / = + - @",
                           field, i, value);
    return 0;
}

int ecs_tags_validate(const json_t *tags, const char *field, struct wh_err *err)
{
    if (!tags)
        return 0;
    if (!json_is_array(tags))
        return api_invalid(err, "%s must be a list of {key, value}", field);
    size_t n = json_array_size(tags);
    if (n > ECS_MAX_TAGS)
        return api_invalid(err, "%s has %zu tags; a resource can have at most %d", field, n,
                           ECS_MAX_TAGS);
    for (size_t i = 0; i < n; i++) {
        const json_t *t = json_array_get(tags, i);
        if (check_one(t, field, i, err) < 0)
            return -1;
        for (size_t j = 0; j < i; j++)
            if (strcmp(json_str(json_array_get(tags, j), "key"), json_str(t, "key")) == 0)
                return api_invalid(err, "%s[%zu].key '%s' is given twice (also %s[%zu])", field, i,
                                   json_str(t, "key"), field, j);
    }
    return 0;
}

int ecs_tags_apply(struct store *st, const char *arn, const json_t *tags, struct wh_err *err)
{
    size_t i;
    const json_t *t;
    json_array_foreach(tags, i, t) {
        const char *value = json_str(t, "value");
        int r = store_resource_tag_put(st, arn, json_str(t, "key"), value ? value : "", err);
        if (r < 0)
            return r;
    }
    int n = store_resource_tags_count(st, arn, err);
    if (n < 0)
        return n;
    if (n > ECS_MAX_TAGS)
        return wh_err_set(err, 400, "LimitExceededException",
                          "%s would have %d tags; a resource can have at most %d", arn, n,
                          ECS_MAX_TAGS);
    return 0;
}

int ecs_tags_json(struct store *st, const char *arn, json_t **ret_tags, struct wh_err *err)
{
    struct store_resource_tag *tags = NULL;
    size_t n = 0;
    int r = store_resource_tags_get(st, arn, &tags, &n, err);
    if (r < 0)
        return r;
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a,
                              json_pack("{s:s, s:s}", "key", tags[i].key, "value", tags[i].value));
    store_resource_tags_free(tags, n);
    *ret_tags = a;
    return 0;
}

int ecs_tags_drop(struct store *st, const char *arn, struct wh_err *err)
{
    return store_resource_tags_delete_all(st, arn, err);
}

bool ecs_tags_included(const json_t *in)
{
    size_t i;
    const json_t *v;
    json_array_foreach(json_object_get(in, "include"), i, v) {
        if (json_is_string(v) && strcmp(json_string_value(v), "TAGS") == 0)
            return true;
    }
    return false;
}
