/* crypto.h's digests over OpenSSL, for wharfd (hashing every request, where OpenSSL's
 * assembly pays). The agent links crypto_lite.c instead; the rest of crypto.h is in
 * crypto_util.c, shared by both. */
#include "core/crypto.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* SHA256() and HMAC() look the algorithm up on every call; a server hashing every request
 * fetches it once and keeps a digest context per thread (freed when the thread ends). */
static EVP_MD *md_sha256;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static pthread_key_t ctx_key;

static void ctx_free(void *p)
{
    EVP_MD_CTX_free(p);
}

static void md_init(void)
{
    md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!md_sha256 || pthread_key_create(&ctx_key, ctx_free) != 0)
        abort();
}

static EVP_MD_CTX *md_ctx(void)
{
    pthread_once(&md_once, md_init);
    EVP_MD_CTX *c = pthread_getspecific(ctx_key);
    if (!c) {
        c = EVP_MD_CTX_new();
        if (!c || pthread_setspecific(ctx_key, c) != 0)
            abort();
    }
    return c;
}

static void digest2(const void *a, size_t alen, const void *b, size_t blen, uint8_t out[SHA256_LEN])
{
    EVP_MD_CTX *c = md_ctx();
    if (!EVP_DigestInit_ex2(c, md_sha256, NULL) || !EVP_DigestUpdate(c, a, alen) ||
        (blen && !EVP_DigestUpdate(c, b, blen)) || !EVP_DigestFinal_ex(c, out, NULL))
        abort();
}

void sha256(const void *data, size_t len, uint8_t out[SHA256_LEN])
{
    digest2(data, len, NULL, 0, out);
}

void hmac_sha256(const void *key, size_t klen, const void *data, size_t dlen,
                 uint8_t out[SHA256_LEN])
{
    /* RFC 2104 over the cached digest: H((K^opad) || H((K^ipad) || data)). */
    uint8_t k[64] = {0}, pad[64], inner[SHA256_LEN];
    if (klen > sizeof(k))
        sha256(key, klen, k);
    else
        memcpy(k, key, klen);
    for (int i = 0; i < 64; i++)
        pad[i] = k[i] ^ 0x36;
    digest2(pad, sizeof(pad), data, dlen, inner);
    for (int i = 0; i < 64; i++)
        pad[i] = k[i] ^ 0x5c;
    digest2(pad, sizeof(pad), inner, sizeof(inner), out);
}
