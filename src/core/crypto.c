#include "core/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/xalloc.h"

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

void hex_encode(const uint8_t *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = 0;
}

void sha256_hex(const void *data, size_t len, char out[SHA256_HEX_LEN + 1])
{
    uint8_t md[SHA256_LEN];
    sha256(data, len, md);
    hex_encode(md, sizeof(md), out);
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

void random_bytes(void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len) {
        ssize_t n = getrandom(p, len, 0);
        if (n <= 0) {
            perror("wharf: getrandom");
            abort();
        }
        p += n;
        len -= (size_t)n;
    }
}

void random_hex(char *out, size_t n)
{
    uint8_t buf[64];
    size_t bytes = (n + 1) / 2;
    if (bytes > sizeof(buf))
        abort();
    random_bytes(buf, bytes);
    char tmp[129];
    hex_encode(buf, bytes, tmp);
    memcpy(out, tmp, n);
    out[n] = 0;
}

void random_uuid(char out[37])
{
    uint8_t b[16];
    random_bytes(b, sizeof(b));
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

int ct_memeq(const void *a, const void *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}

char *base64_encode(const void *data, size_t len)
{
    char *out = xmalloc(4 * ((len + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    return out;
}

static int b64val(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

long base64_decode(const char *in, uint8_t *out)
{
    uint32_t acc = 0;
    int bits = 0;
    long n = 0;
    for (const char *p = in; *p; p++) {
        if (*p == '=') {
            for (; *p; p++)
                if (*p != '=')
                    return -1;
            break;
        }
        int v = b64val((unsigned char)*p);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (uint8_t)(acc >> bits);
        }
    }
    return n;
}
