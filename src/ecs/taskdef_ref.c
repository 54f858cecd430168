#include "ecs/taskdef_ref.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/arn.h"
#include "ecs/taskdef_validate.h"

/* "family[:revision]" into ref. */
static int parse_name(const char *s, struct taskdef_ref *ref)
{
    const char *colon = strchr(s, ':');
    size_t flen = colon ? (size_t)(colon - s) : strlen(s);
    if (flen == 0 || flen >= sizeof(ref->family))
        return -1;
    memcpy(ref->family, s, flen);
    ref->family[flen] = '\0';
    if (!taskdef_name_valid(ref->family))
        return -1;
    ref->revision = 0;
    if (!colon)
        return 0;
    const char *r = colon + 1;
    size_t rlen = strlen(r);
    if (rlen == 0 || rlen > 10)
        return -1;
    for (const char *p = r; *p; p++)
        if (!isdigit((unsigned char)*p))
            return -1;
    ref->revision = strtoll(r, NULL, 10);
    return ref->revision > 0 ? 0 : -1;
}

int taskdef_ref_parse(const char *s, const char *region, const char *account,
                      struct taskdef_ref *ret_ref, int *ret_foreign)
{
    struct taskdef_ref ref;
    int foreign = 0;
    if (!s)
        return -1;
    if (strncmp(s, "arn:", 4) == 0) {
        struct arn a;
        static const char prefix[] = "task-definition/";
        if (arn_parse(s, &a) < 0 || strcmp(a.service, "ecs") != 0 ||
            strncmp(a.resource, prefix, strlen(prefix)) != 0)
            return -1;
        if (parse_name(a.resource + strlen(prefix), &ref) < 0)
            return -1;
        foreign = strcmp(a.region, region) != 0 || strcmp(a.account, account) != 0;
    } else if (parse_name(s, &ref) < 0) {
        return -1;
    }
    *ret_ref = ref;
    *ret_foreign = foreign;
    return 0;
}
