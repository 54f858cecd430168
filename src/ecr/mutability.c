#include "ecr/mutability.h"

#include <string.h>

#include "aws/api.h"

static bool with_exclusion(const char *m)
{
    return m && strstr(m, "_WITH_EXCLUSION") != NULL;
}

int ecr_mutability_check(const char *mutability, const json_t *filters, struct wh_err *err)
{
    bool has = filters && json_array_size(filters) > 0;
    if (with_exclusion(mutability) && !has)
        return api_invalid(err, "imageTagMutability %s requires imageTagMutabilityExclusionFilters",
                           mutability);
    if (!with_exclusion(mutability) && has)
        return api_invalid(err,
                           "imageTagMutabilityExclusionFilters can only be given with "
                           "IMMUTABLE_WITH_EXCLUSION or MUTABLE_WITH_EXCLUSION, not %s",
                           mutability ? mutability : "MUTABLE");
    return 0;
}
