/* Names, references, digests, /v2/ paths and byte ranges: pure functions. */
#include "registry/names.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* One path component: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* */
static bool component_valid(const char *s, size_t len)
{
    if (len == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[len - 1]))
        return false;
    size_t i = 0;
    while (i < len) {
        if (is_lower_alnum(s[i])) {
            i++;
            continue;
        }
        /* A separator run: ".", "_", "__" or one or more "-". */
        size_t start = i;
        char c = s[i];
        while (i < len && s[i] == c)
            i++;
        size_t run = i - start;
        if (c == '.' && run != 1)
            return false;
        if (c == '_' && run > 2)
            return false;
        if (c != '.' && c != '_' && c != '-')
            return false;
        if (!is_lower_alnum(s[i])) /* separators never meet */
            return false;
    }
    return true;
}

bool registry_name_valid(const char *name, size_t len)
{
    if (len < 2 || len > REGISTRY_NAME_MAX)
        return false;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || name[i] == '/') {
            if (!component_valid(name + start, i - start))
                return false;
            start = i + 1;
        }
    }
    return true;
}

static bool is_tag_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '-';
}

bool registry_tag_valid(const char *tag)
{
    size_t len = strlen(tag);
    if (len == 0 || len > REGISTRY_TAG_MAX || tag[0] == '.' || tag[0] == '-')
        return false;
    for (size_t i = 0; i < len; i++)
        if (!is_tag_char(tag[i]))
            return false;
    return true;
}

bool registry_ref_is_digest(const char *ref)
{
    return strchr(ref, ':') != NULL;
}

/* OCI digest grammar: algorithm ":" encoded, algorithm = component ([+._-] component)*,
 * component = [a-z0-9]+, encoded = [a-zA-Z0-9=_-]+. */
static bool digest_grammar_ok(const char *s, const char *colon)
{
    if (colon == s || !is_lower_alnum(s[0]) || !is_lower_alnum(colon[-1]))
        return false;
    for (const char *p = s; p < colon; p++)
        if (!is_lower_alnum(*p) && !(strchr("+._-", *p) && is_lower_alnum(p[1])))
            return false;
    if (!colon[1])
        return false;
    for (const char *p = colon + 1; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '=' || *p == '_' || *p == '-'))
            return false;
    return true;
}

int registry_digest_parse(const char *s, struct registry_digest *ret)
{
    const char *colon = strchr(s, ':');
    if (!colon || !digest_grammar_ok(s, colon))
        return -EINVAL;
    size_t alen = (size_t)(colon - s);
    enum registry_digest_alg alg;
    size_t want;
    if (alen == 6 && memcmp(s, "sha256", 6) == 0) {
        alg = DIGEST_SHA256;
        want = 64;
    } else if (alen == 6 && memcmp(s, "sha512", 6) == 0) {
        alg = DIGEST_SHA512;
        want = 128;
    } else {
        return -ENOTSUP;
    }
    const char *hex = colon + 1;
    if (strlen(hex) != want)
        return -EINVAL;
    for (size_t i = 0; i < want; i++)
        if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
            return -EINVAL;
    ret->alg = alg;
    memcpy(ret->hex, hex, want + 1);
    return 0;
}

static bool ends_with(const char *s, size_t len, const char *suffix, size_t *ret_prefix_len)
{
    size_t n = strlen(suffix);
    if (len < n || memcmp(s + len - n, suffix, n) != 0)
        return false;
    *ret_prefix_len = len - n;
    return true;
}

/* Split "<name>/<word>/<last>" when the path's second-to-last component is word. */
static bool split_last(const char *s, size_t len, const char *word, size_t *ret_name_len,
                       const char **ret_last)
{
    const char *slash = memrchr(s, '/', len);
    if (!slash)
        return false;
    size_t wl = strlen(word);
    size_t before = (size_t)(slash - s);
    if (before < wl + 1 || memcmp(slash - wl, word, wl) != 0 || slash[-(long)wl - 1] != '/')
        return false;
    *ret_name_len = before - wl - 1;
    *ret_last = slash + 1;
    return true;
}

static int fill(struct registry_path *ret, enum registry_path_kind kind, const char *name,
                size_t name_len, const char *ref, size_t ref_len)
{
    if (!registry_name_valid(name, name_len))
        return -EINVAL;
    if (ref_len >= sizeof(ret->ref))
        return -E2BIG;
    ret->kind = kind;
    memcpy(ret->name, name, name_len);
    ret->name[name_len] = 0;
    memcpy(ret->ref, ref, ref_len);
    ret->ref[ref_len] = 0;
    return 0;
}

int registry_path_parse(const char *path, struct registry_path *ret)
{
    if (strncmp(path, "/v2", 3) != 0)
        return -ENOENT;
    const char *rest = path + 3;
    if (!*rest || strcmp(rest, "/") == 0) {
        ret->kind = RP_BASE;
        ret->name[0] = ret->ref[0] = 0;
        return 0;
    }
    if (*rest != '/')
        return -ENOENT;
    rest++;
    size_t len = strlen(rest), n;
    const char *last;
    if (strcmp(rest, "token") == 0 || strcmp(rest, "_catalog") == 0) {
        ret->kind = rest[0] == 't' ? RP_TOKEN : RP_CATALOG;
        ret->name[0] = ret->ref[0] = 0;
        return 0;
    }
    if (ends_with(rest, len, "/tags/list", &n))
        return fill(ret, RP_TAGS, rest, n, "", 0);
    if (ends_with(rest, len, "/blobs/uploads/", &n) || ends_with(rest, len, "/blobs/uploads", &n))
        return fill(ret, RP_UPLOAD_START, rest, n, "", 0);
    static const struct {
        const char *word;
        enum registry_path_kind kind;
    } tails[] = {
        {"manifests", RP_MANIFEST},
        {"referrers", RP_REFERRERS},
        {"blobs/uploads", RP_UPLOAD},
        {"blobs", RP_BLOB},
    };
    for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
        if (!split_last(rest, len, tails[i].word, &n, &last) || !*last)
            continue;
        return fill(ret, tails[i].kind, rest, n, last, strlen(last));
    }
    return -ENOENT;
}

/* Parse a decimal uint64 at *p, advancing it. -1 when there is no digit or it overflows. */
static int parse_u64(const char **p, uint64_t *ret)
{
    const char *s = *p;
    if (*s < '0' || *s > '9')
        return -1;
    uint64_t v = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *p = s;
    *ret = v;
    return 0;
}

int registry_range_parse(const char *header, uint64_t size, uint64_t *ret_start,
                         uint64_t *ret_end)
{
    const char *p = header;
    if (strncmp(p, "bytes=", 6) != 0)
        return -EINVAL;
    p += 6;
    uint64_t start = 0, end = 0;
    if (*p == '-') { /* suffix: the last N bytes */
        p++;
        uint64_t suffix;
        if (parse_u64(&p, &suffix) < 0 || *p)
            return -EINVAL;
        if (suffix == 0 || size == 0)
            return -ERANGE;
        *ret_start = suffix >= size ? 0 : size - suffix;
        *ret_end = size - 1;
        return 0;
    }
    if (parse_u64(&p, &start) < 0 || *p++ != '-')
        return -EINVAL;
    if (*p) {
        if (parse_u64(&p, &end) < 0 || *p || end < start)
            return -EINVAL;
    } else {
        end = UINT64_MAX;
    }
    if (start >= size)
        return -ERANGE;
    *ret_start = start;
    *ret_end = end >= size ? size - 1 : end;
    return 0;
}

int registry_content_range_parse(const char *header, uint64_t *ret_start, uint64_t *ret_end)
{
    const char *p = header;
    if (strncmp(p, "bytes ", 6) == 0 || strncmp(p, "bytes=", 6) == 0)
        p += 6;
    uint64_t start, end;
    if (parse_u64(&p, &start) < 0 || *p++ != '-' || parse_u64(&p, &end) < 0)
        return -EINVAL;
    if (*p == '/') { /* "START-END/TOTAL", TOTAL may be a star */
        p++;
        while (*p && *p != ' ')
            p++;
    }
    if (*p || end < start)
        return -EINVAL;
    *ret_start = start;
    *ret_end = end;
    return 0;
}

static bool is_manifest_type(const char *t, size_t n)
{
    static const char *const prefixes[] = {"application/vnd.oci.image.",
                                           "application/vnd.docker.distribution.manifest."};
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        size_t pl = strlen(prefixes[i]);
        if (n > pl && memcmp(t, prefixes[i], pl) == 0)
            return true;
    }
    return false;
}

bool registry_accept_allows(const char *accept, const char *media_type)
{
    if (!accept)
        return true;
    bool negotiates = false;
    size_t mlen = strlen(media_type);
    const char *p = accept;
    while (*p) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        size_t n = strcspn(p, ",;");
        size_t t = n;
        while (t && (p[t - 1] == ' ' || p[t - 1] == '\t'))
            t--;
        if (t == mlen && memcmp(p, media_type, mlen) == 0)
            return true;
        if ((t == 3 && memcmp(p, "*/*", 3) == 0))
            return true;
        if (is_manifest_type(p, t))
            negotiates = true;
        p += n;
        if (*p == ';')
            p += strcspn(p, ",");
    }
    return !negotiates;
}
