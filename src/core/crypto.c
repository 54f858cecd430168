#include "core/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/xalloc.h"

void sha256(const void *data, size_t len, uint8_t out[SHA256_LEN])
{
    SHA256(data, len, out);
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
    unsigned int olen = SHA256_LEN;
    if (!HMAC(EVP_sha256(), key, (int)klen, data, dlen, out, &olen))
        abort();
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
