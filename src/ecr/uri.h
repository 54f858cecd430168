/* The registry's advertised host, as repositoryUri (HOST/NAME) and GetAuthorizationToken's
 * proxyEndpoint (http://HOST) show it. One function so the ECR API and the registry agree. */
#pragma once

struct wharf_config;

/* HOST for (account, region): cfg->registry_host (--registry-host) with {account} and {region}
 * replaced, or else the listen address HOST:PORT, a wildcard listen address (0.0.0.0, ::,
 * empty) shown as "localhost". New heap string. */
char *ecr_registry_host(const struct wharf_config *cfg, const char *account, const char *region);
/* HOST/NAME (new heap string). */
char *ecr_repository_uri(const struct wharf_config *cfg, const char *account, const char *region,
                         const char *name);
/* The pure template expansion: every {account} and {region} in tmpl replaced. */
char *ecr_host_expand(const char *tmpl, const char *account, const char *region);
