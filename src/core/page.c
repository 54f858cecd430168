#include "core/page.h"

#include <stdint.h>
#include <string.h>

#include "core/crypto.h"
#include "core/xalloc.h"

#define PREFIX "wharf1:"

char *page_token_encode(const char *key)
{
    cleanup_free char *raw = xasprintf(PREFIX "%s", key);
    return base64_encode(raw, strlen(raw));
}

int page_token_decode(const char *tok, char **ret_key)
{
    size_t n = strlen(tok);
    if (n == 0 || n > 4096)
        return -1;
    cleanup_free uint8_t *buf = xmalloc(n);
    long len = base64_decode(tok, buf);
    if (len < (long)strlen(PREFIX) || memcmp(buf, PREFIX, strlen(PREFIX)) != 0)
        return -1;
    if (memchr(buf, 0, (size_t)len))
        return -1;
    *ret_key = xstrndup((char *)buf + strlen(PREFIX), (size_t)len - strlen(PREFIX));
    return 0;
}
