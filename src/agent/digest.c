#include "agent/digest.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/xalloc.h"

struct digester {
    EVP_MD_CTX *ctx;
    const char *algo;
};

struct digester *digester_new(const char *digest_or_algo)
{
    const EVP_MD *md;
    const char *algo;
    if (strncmp(digest_or_algo, "sha256", 6) == 0 && strchr(":", digest_or_algo[6])) {
        md = EVP_sha256();
        algo = "sha256";
    } else if (strncmp(digest_or_algo, "sha512", 6) == 0 && strchr(":", digest_or_algo[6])) {
        md = EVP_sha512();
        algo = "sha512";
    } else {
        return NULL;
    }
    struct digester *d = xcalloc(1, sizeof(*d));
    d->ctx = EVP_MD_CTX_new();
    if (!d->ctx || EVP_DigestInit_ex(d->ctx, md, NULL) != 1)
        abort(); /* out of memory inside OpenSSL */
    d->algo = algo;
    return d;
}

void digester_update(struct digester *d, const void *data, size_t len)
{
    if (len && EVP_DigestUpdate(d->ctx, data, len) != 1)
        abort();
}

char *digester_finish(struct digester *d)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_DigestFinal_ex(d->ctx, md, &n) != 1)
        abort();
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    hex_encode(md, n, hex);
    char *out = xasprintf("%s:%s", d->algo, hex);
    digester_free(d);
    return out;
}

void digester_free(struct digester *d)
{
    if (!d)
        return;
    EVP_MD_CTX_free(d->ctx);
    free(d);
}

char *digest_compute(const char *digest_or_algo, const void *data, size_t len)
{
    struct digester *d = digester_new(digest_or_algo);
    if (!d)
        return NULL;
    digester_update(d, data, len);
    return digester_finish(d);
}
