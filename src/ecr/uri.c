#include "ecr/uri.h"

#include <stdbool.h>
#include <string.h>

#include "app.h"
#include "core/xalloc.h"

char *ecr_host_expand(const char *tmpl, const char *account, const char *region)
{
    size_t cap = strlen(tmpl) + 1, n = 0;
    for (const char *p = tmpl; (p = strchr(p, '{')); p++)
        cap += strlen(account) + strlen(region); /* generous: enough for any expansion */
    char *out = xmalloc(cap);
    for (const char *p = tmpl; *p;) {
        const char *with = NULL;
        size_t skip = 0;
        if (strncmp(p, "{account}", 9) == 0)
            with = account, skip = 9;
        else if (strncmp(p, "{region}", 8) == 0)
            with = region, skip = 8;
        if (with) {
            memcpy(out + n, with, strlen(with));
            n += strlen(with);
            p += skip;
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = 0;
    return out;
}

char *ecr_registry_host(const struct wharf_config *cfg, const char *account, const char *region)
{
    if (cfg->registry_host && *cfg->registry_host)
        return ecr_host_expand(cfg->registry_host, account, region);
    const char *h = cfg->listen_host;
    if (!h || !*h || strcmp(h, "0.0.0.0") == 0 || strcmp(h, "::") == 0 || strcmp(h, "[::]") == 0)
        h = "localhost";
    bool v6 = strchr(h, ':') && h[0] != '[';
    return xasprintf("%s%s%s:%d", v6 ? "[" : "", h, v6 ? "]" : "", cfg->listen_port);
}

char *ecr_repository_uri(const struct wharf_config *cfg, const char *account, const char *region,
                         const char *name)
{
    cleanup_free char *host = ecr_registry_host(cfg, account, region);
    return xasprintf("%s/%s", host, name);
}
