#include "core/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/xalloc.h"

const char *json_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

int64_t json_int(const json_t *obj, const char *key, int64_t def)
{
    json_t *v = json_object_get(obj, key);
    if (json_is_integer(v))
        return json_integer_value(v);
    if (json_is_real(v))
        return (int64_t)json_real_value(v);
    return def;
}

bool json_bool(const json_t *obj, const char *key, bool def)
{
    json_t *v = json_object_get(obj, key);
    return json_is_boolean(v) ? json_is_true(v) : def;
}

json_t *json_arr(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_array(v) && json_array_size(v) ? v : NULL;
}

void json_set_str(json_t *obj, const char *key, const char *s)
{
    if (s)
        json_object_set_new(obj, key, json_string(s));
}

char *json_text(const json_t *v)
{
    if (!v)
        return xstrdup("null");
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!s)
        abort();
    return s;
}

json_t *json_parse_trusted(const char *text)
{
    if (!text)
        return NULL;
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
    if (!v) {
        fprintf(stderr, "wharf: stored JSON is corrupt (%s): %.200s\n", e.text, text);
        abort();
    }
    return v;
}

json_t *json_timestamp(double epoch)
{
    return json_real(round(epoch * 1000.0) / 1000.0);
}
