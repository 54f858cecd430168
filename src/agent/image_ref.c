#include "agent/image_ref.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

#define NAME_MAX_LEN 255
#define TAG_MAX_LEN 128

static int bad(struct wh_err *err, const char *s, const char *why)
{
    return wh_err_set(err, 400, "CannotPullContainerError", "invalid reference format: '%s': %s",
                      s, why);
}

static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* path-component := [a-z0-9]+ (separator [a-z0-9]+)*, separator := [_.] | __ | -+ */
static bool component_valid(const char *c, size_t n)
{
    if (n == 0 || !is_lower_alnum(c[0]) || !is_lower_alnum(c[n - 1]))
        return false;
    for (size_t i = 0; i < n;) {
        if (is_lower_alnum(c[i])) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < n && !is_lower_alnum(c[j]))
            j++;
        size_t len = j - i;
        const char *sep = c + i;
        bool ok = (len == 1 && (*sep == '_' || *sep == '.')) ||
                  (len == 2 && sep[0] == '_' && sep[1] == '_') ||
                  strspn(sep, "-") >= len;
        if (!ok)
            return false;
        i = j;
    }
    return true;
}

static bool path_valid(const char *p)
{
    while (*p) {
        size_t n = strcspn(p, "/");
        if (!component_valid(p, n))
            return false;
        p += n;
        if (*p == '/' && *++p == 0)
            return false; /* trailing slash */
    }
    return true;
}

/* domain := component ('.' component)* [':' port]; component := alnum ([alnum-]* alnum)?;
 * or an IPv6 literal in brackets. */
static bool domain_valid(const char *d)
{
    const char *colon;
    if (d[0] == '[') {
        const char *close = strchr(d, ']');
        if (!close || close == d + 1 || strspn(d + 1, "0123456789abcdefABCDEF:.") !=
                                             (size_t)(close - d - 1))
            return false;
        colon = close[1] ? close + 1 : NULL;
        if (colon && *colon != ':')
            return false;
    } else {
        colon = strchr(d, ':');
        size_t n = colon ? (size_t)(colon - d) : strlen(d);
        for (size_t i = 0; i < n;) {
            size_t len = strcspn(d + i, ".:");
            if (len == 0 || d[i] == '-' || d[i + len - 1] == '-')
                return false;
            for (size_t k = 0; k < len; k++)
                if (!isalnum((unsigned char)d[i + k]) && d[i + k] != '-')
                    return false;
            i += len;
            if (i < n)
                i++; /* the dot */
            if (i == n && d[n - 1] == '.')
                return false;
        }
    }
    if (colon) {
        const char *port = colon + 1;
        size_t np = strspn(port, "0123456789");
        if (np == 0 || np > 5 || port[np] != 0 || atoi(port) > 65535)
            return false;
    }
    return true;
}

static bool tag_valid(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > TAG_MAX_LEN || !(isalnum((unsigned char)t[0]) || t[0] == '_'))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)t[i]) && !strchr("_.-", t[i]))
            return false;
    return true;
}

bool image_digest_valid(const char *d)
{
    size_t want;
    if (strncmp(d, "sha256:", 7) == 0)
        want = 64;
    else if (strncmp(d, "sha512:", 7) == 0)
        want = 128;
    else
        return false;
    const char *hex = d + 7;
    return strlen(hex) == want && strspn(hex, "0123456789abcdef") == want;
}

/* Docker's rule: the first component names a registry when it looks like a host. */
static bool looks_like_domain(const char *first, size_t n)
{
    if (n == 9 && strncmp(first, "localhost", 9) == 0)
        return true;
    for (size_t i = 0; i < n; i++)
        if (strchr(".:[", first[i]) || isupper((unsigned char)first[i]))
            return true;
    return false;
}

/* Split "name[:tag]" (the part before '@'): the tag colon is the last one after the last '/'. */
static char *split_tag(char *name)
{
    char *slash = strrchr(name, '/');
    char *colon = strrchr(slash ? slash : name, ':');
    if (!colon)
        return NULL;
    *colon = 0;
    return colon + 1;
}

int image_ref_parse(const char *s, struct image_ref *ret, struct wh_err *err)
{
    if (!s || !*s)
        return bad(err, s ? s : "", "empty reference");
    if (strlen(s) > NAME_MAX_LEN + 1 + TAG_MAX_LEN + 1 + 7 + 128)
        return bad(err, s, "reference is too long");
    cleanup_free char *copy = xstrdup(s);
    char *digest = strchr(copy, '@');
    if (digest) {
        *digest++ = 0;
        if (!image_digest_valid(digest))
            return bad(err, s, "digest must be sha256:<64 hex> or sha512:<128 hex>");
    }
    char *tag = split_tag(copy);
    if (tag && !tag_valid(tag))
        return bad(err, s, "invalid tag");

    const char *slash = strchr(copy, '/');
    char *domain, *path;
    if (slash && looks_like_domain(copy, (size_t)(slash - copy))) {
        domain = xstrndup(copy, (size_t)(slash - copy));
        path = xstrdup(slash + 1);
        if (strcmp(domain, "index.docker.io") == 0) {
            free(domain);
            domain = xstrdup(IMAGE_REF_DOCKER_HUB);
        }
        if (strcmp(domain, IMAGE_REF_DOCKER_HUB) == 0 && !strchr(path, '/')) {
            char *lib = xasprintf("library/%s", path);
            free(path);
            path = lib;
        }
    } else {
        domain = xstrdup(IMAGE_REF_DOCKER_HUB);
        path = slash ? xstrdup(copy) : xasprintf("library/%s", copy);
    }
    const char *why = NULL;
    if (!domain_valid(domain))
        why = "invalid registry host";
    else if (strcspn(path, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(path))
        why = "repository name must be lowercase";
    else if (!path_valid(path))
        why = "invalid repository name";
    else if (strlen(domain) + 1 + strlen(path) > NAME_MAX_LEN)
        why = "repository name must not be more than 255 characters";
    if (why) {
        free(domain);
        free(path);
        return bad(err, s, why);
    }
    *ret = (struct image_ref){
        .domain = domain,
        .path = path,
        .tag = tag ? xstrdup(tag) : (digest ? NULL : xstrdup("latest")),
        .digest = digest ? xstrdup(digest) : NULL,
    };
    return 0;
}

void image_ref_free(struct image_ref *r)
{
    if (!r)
        return;
    free(r->domain);
    free(r->path);
    free(r->tag);
    free(r->digest);
    *r = (struct image_ref){0};
}

char *image_ref_string(const struct image_ref *r)
{
    return xasprintf("%s/%s%s%s%s%s", r->domain, r->path, r->tag ? ":" : "", r->tag ? r->tag : "",
                     r->digest ? "@" : "", r->digest ? r->digest : "");
}

const char *image_ref_manifest_ref(const struct image_ref *r)
{
    return r->digest ? r->digest : r->tag;
}

bool image_ref_is_docker_hub(const struct image_ref *r)
{
    return strcmp(r->domain, IMAGE_REF_DOCKER_HUB) == 0;
}

const char *image_ref_api_host(const struct image_ref *r)
{
    return image_ref_is_docker_hub(r) ? IMAGE_REF_DOCKER_HUB_API : r->domain;
}

bool image_host_is_loopback(const char *host)
{
    size_t n = strlen(host);
    if (host[0] == '[') {
        const char *close = strchr(host, ']');
        return close && close - host == 4 && strncmp(host, "[::1]", 5) == 0;
    }
    const char *colon = strchr(host, ':');
    if (colon)
        n = (size_t)(colon - host);
    if (n == 9 && strncmp(host, "localhost", 9) == 0)
        return true;
    if (n < 4 || strncmp(host, "127.", 4) != 0)
        return false;
    for (size_t i = 4; i < n; i++)
        if (!isdigit((unsigned char)host[i]) && host[i] != '.')
            return false;
    return true;
}
