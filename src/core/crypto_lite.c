/* crypto.h's digests in plain C (core/sha2.c), for the agent: it hashes a few small request
 * bodies a minute, and not loading libcrypto keeps megabytes out of every host's idle
 * agent. wharfd links crypto.c (OpenSSL) instead; both keep the same contract. */
#include "core/crypto.h"

#include <string.h>

#include "core/sha2.h"

void sha256(const void *data, size_t len, uint8_t out[SHA256_LEN])
{
    struct sha2_256 s;
    sha2_256_init(&s);
    sha2_256_update(&s, data, len);
    sha2_256_final(&s, out);
}

void hmac_sha256(const void *key, size_t klen, const void *data, size_t dlen,
                 uint8_t out[SHA256_LEN])
{
    /* RFC 2104: H((K^opad) || H((K^ipad) || data)), keys longer than a block hashed first. */
    uint8_t k[64] = {0}, pad[64], inner[SHA256_LEN];
    if (klen > sizeof(k))
        sha256(key, klen, k);
    else
        memcpy(k, key, klen);
    struct sha2_256 s;
    for (int i = 0; i < 64; i++)
        pad[i] = k[i] ^ 0x36;
    sha2_256_init(&s);
    sha2_256_update(&s, pad, sizeof(pad));
    sha2_256_update(&s, data, dlen);
    sha2_256_final(&s, inner);
    for (int i = 0; i < 64; i++)
        pad[i] = k[i] ^ 0x5c;
    sha2_256_init(&s);
    sha2_256_update(&s, pad, sizeof(pad));
    sha2_256_update(&s, inner, sizeof(inner));
    sha2_256_final(&s, out);
}
