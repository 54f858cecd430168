/* SHA-256 and SHA-512 (FIPS 180-4) in plain C, for the programs that must not load OpenSSL
 * (the agent signs its calls with SHA-256 and names iptables chains with SHA-512). wharfd
 * keeps OpenSSL's faster implementation behind core/crypto.h. */
#pragma once
#include <stddef.h>
#include <stdint.h>

struct sha2_256 {
    uint32_t h[8];
    uint64_t len; /* bytes fed */
    uint8_t buf[64];
};

void sha2_256_init(struct sha2_256 *s);
void sha2_256_update(struct sha2_256 *s, const void *data, size_t len);
void sha2_256_final(struct sha2_256 *s, uint8_t out[32]);

struct sha2_512 {
    uint64_t h[8];
    uint64_t len; /* bytes fed (2^64 bytes is plenty) */
    uint8_t buf[128];
};

void sha2_512_init(struct sha2_512 *s);
void sha2_512_update(struct sha2_512 *s, const void *data, size_t len);
void sha2_512_final(struct sha2_512 *s, uint8_t out[64]);
