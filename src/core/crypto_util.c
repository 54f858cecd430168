/* The parts of crypto.h that need no digest library: hex, randomness, base64, constant-time
 * compare, and SHA-512 (only the agent's iptables chain names use it). Linked by every
 * program; sha256/hmac_sha256 come from crypto.c (OpenSSL) or crypto_lite.c. */
#include "core/crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/sha2.h"
#include "core/xalloc.h"

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

void sha512(const void *data, size_t len, uint8_t out[SHA512_LEN])
{
    struct sha2_512 s;
    sha2_512_init(&s);
    sha2_512_update(&s, data, len);
    sha2_512_final(&s, out);
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
    /* Touch every byte whatever differs, so timing tells nothing; volatile keeps the
     * compiler from turning it back into an early exit. */
    const volatile uint8_t *x = a, *y = b;
    uint8_t acc = 0;
    for (size_t i = 0; i < len; i++)
        acc |= x[i] ^ y[i];
    return acc == 0;
}

char *base64_encode(const void *data, size_t len)
{
    static const char alpha[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const uint8_t *in = data;
    char *out = xmalloc(4 * ((len + 2) / 3) + 1), *o = out;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        *o++ = alpha[v >> 18];
        *o++ = alpha[(v >> 12) & 63];
        *o++ = i + 1 < len ? alpha[(v >> 6) & 63] : '=';
        *o++ = i + 2 < len ? alpha[v & 63] : '=';
    }
    *o = 0;
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
