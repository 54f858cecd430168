#include "core/arn.h"

#include <stdio.h>
#include <string.h>

#include "core/xalloc.h"

char *arn_make(const char *service, const char *region, const char *account, const char *resource)
{
    return xasprintf("arn:aws:%s:%s:%s:%s", service, region, account, resource);
}

bool arn_looks_like(const char *s)
{
    return s && strncmp(s, "arn:", 4) == 0;
}

static int field(const char **p, char *out, size_t cap)
{
    const char *colon = strchr(*p, ':');
    if (!colon)
        return -1;
    size_t n = (size_t)(colon - *p);
    if (n >= cap)
        return -1;
    memcpy(out, *p, n);
    out[n] = 0;
    *p = colon + 1;
    return 0;
}

int arn_parse(const char *s, struct arn *ret_arn)
{
    struct arn a;
    if (!arn_looks_like(s))
        return -1;
    const char *p = s + 4;
    if (field(&p, a.partition, sizeof(a.partition)) < 0 ||
        field(&p, a.service, sizeof(a.service)) < 0 || field(&p, a.region, sizeof(a.region)) < 0 ||
        field(&p, a.account, sizeof(a.account)) < 0)
        return -1;
    if (!a.partition[0] || !a.service[0] || strlen(p) >= sizeof(a.resource) || !*p)
        return -1;
    strcpy(a.resource, p);
    *ret_arn = a;
    return 0;
}
