/* Hashes, MACs and randomness. sha256/hmac_sha256 have two implementations with this one
 * contract: crypto.c (OpenSSL, wharfd and the pull helper) and crypto_lite.c (plain C, the
 * agent); everything else is crypto_util.c. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32
#define SHA256_HEX_LEN 64
#define SHA512_LEN 64

void sha256(const void *data, size_t len, uint8_t out[SHA256_LEN]);
/* Lower-case hex of the SHA-256 of data into out (65 bytes with the NUL). */
void sha256_hex(const void *data, size_t len, char out[SHA256_HEX_LEN + 1]);
void sha512(const void *data, size_t len, uint8_t out[SHA512_LEN]);
void hmac_sha256(const void *key, size_t klen, const void *data, size_t dlen,
                 uint8_t out[SHA256_LEN]);
void hex_encode(const uint8_t *in, size_t len, char *out); /* out holds 2*len+1 */
/* Cryptographically random bytes; aborts if the kernel cannot supply them. */
void random_bytes(void *buf, size_t len);
/* n random lower-case hex digits into out (n+1 bytes). */
void random_hex(char *out, size_t n);
/* A random RFC 4122 version-4 UUID (37 bytes with the NUL). */
void random_uuid(char out[37]);
/* Constant-time comparison of two equal-length buffers. */
int ct_memeq(const void *a, const void *b, size_t len);
/* base64 (standard alphabet, padded). Returns a new string. */
char *base64_encode(const void *data, size_t len);
/* Decode standard or url-safe base64; returns length or -1 on bad input. out must hold
 * 3*strlen(in)/4+3 bytes. */
long base64_decode(const char *in, uint8_t *out);
