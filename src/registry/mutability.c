/* Which tags a repository's mutability setting protects. */
#include <jansson.h>
#include <string.h>

#include "registry/manifests.h"

bool registry_wildcard_match(const char *pattern, const char *s)
{
    /* Iterative glob with backtracking to the last '*'. */
    const char *star = NULL, *resume = NULL;
    while (*s) {
        if (*pattern == '*') {
            star = pattern++;
            resume = s;
        } else if (*pattern == *s) {
            pattern++;
            s++;
        } else if (star) {
            pattern = star + 1;
            s = ++resume;
        } else {
            return false;
        }
    }
    while (*pattern == '*')
        pattern++;
    return !*pattern;
}

/* Whether tag matches one of the exclusion filters ([{filterType: WILDCARD, filter}]). */
static bool excluded(const char *exclusions_json, const char *tag)
{
    if (!exclusions_json)
        return false;
    json_auto_t *j = json_loads(exclusions_json, 0, NULL);
    size_t i;
    json_t *f;
    json_array_foreach(j, i, f) {
        const char *pat = json_string_value(json_object_get(f, "filter"));
        if (pat && registry_wildcard_match(pat, tag))
            return true;
    }
    return false;
}

bool registry_tag_immutable(const char *mutability, const char *exclusions_json, const char *tag)
{
    if (!mutability || strcmp(mutability, "MUTABLE") == 0)
        return false;
    if (strcmp(mutability, "IMMUTABLE") == 0)
        return true;
    bool ex = excluded(exclusions_json, tag);
    if (strcmp(mutability, "IMMUTABLE_WITH_EXCLUSION") == 0)
        return !ex;
    if (strcmp(mutability, "MUTABLE_WITH_EXCLUSION") == 0)
        return ex;
    return false;
}
