/* core/sha2.c and crypto_lite.c (the agent's SHA-256/HMAC without OpenSSL): FIPS 180-4
 * example vectors (NIST CSRC "Example Values"), RFC 4231 HMAC-SHA-256 test cases, and
 * feeding in odd-sized pieces. Linked with crypto_lite, not OpenSSL (see meson.build). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/crypto.h"
#include "core/sha2.h"

static void hex(const uint8_t *b, size_t n, char *out)
{
    hex_encode(b, n, out);
}

/* "a" repeated n times. */
static char *rep(char c, size_t n)
{
    char *s = malloc(n + 1);
    memset(s, c, n);
    s[n] = 0;
    return s;
}

static const char M448[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
static const char M896[] = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
                           "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";

static void test_sha256_vectors(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {M448, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {M896, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char got[SHA256_HEX_LEN + 1];
        sha256_hex(cases[i].in, strlen(cases[i].in), got);
        assert_string_equal(got, cases[i].want);
    }
    char *m = rep('a', 1000000);
    char got[SHA256_HEX_LEN + 1];
    sha256_hex(m, 1000000, got);
    assert_string_equal(got, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(m);
}

static void test_sha256_pieces(void **state)
{
    (void)state;
    /* Every split point of M896 across two updates, and byte-at-a-time. */
    uint8_t whole[32], part[32];
    sha256(M896, strlen(M896), whole);
    for (size_t cut = 0; cut <= strlen(M896); cut++) {
        struct sha2_256 s;
        sha2_256_init(&s);
        sha2_256_update(&s, M896, cut);
        sha2_256_update(&s, M896 + cut, strlen(M896) - cut);
        sha2_256_final(&s, part);
        assert_memory_equal(whole, part, 32);
    }
    struct sha2_256 s;
    sha2_256_init(&s);
    for (size_t i = 0; i < strlen(M896); i++)
        sha2_256_update(&s, M896 + i, 1);
    sha2_256_final(&s, part);
    assert_memory_equal(whole, part, 32);
    /* Lengths around the padding boundary (55, 56, 63, 64 bytes). */
    static const struct {
        size_t n;
        const char *want;
    } edge[] = {
        {55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
        {56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
        {63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"},
        {64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
    };
    for (size_t i = 0; i < sizeof(edge) / sizeof(edge[0]); i++) {
        char *m = rep('a', edge[i].n);
        char got[SHA256_HEX_LEN + 1];
        sha256_hex(m, edge[i].n, got);
        assert_string_equal(got, edge[i].want);
        free(m);
    }
}

static void test_sha512_vectors(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"abc", "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"},
        {"", "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
             "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"},
        {M896, "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018"
               "501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t md[SHA512_LEN];
        char got[2 * SHA512_LEN + 1];
        sha512(cases[i].in, strlen(cases[i].in), md);
        hex(md, sizeof(md), got);
        assert_string_equal(got, cases[i].want);
    }
    char *m = rep('a', 1000000);
    uint8_t md[SHA512_LEN];
    char got[2 * SHA512_LEN + 1];
    sha512(m, 1000000, md);
    hex(md, sizeof(md), got);
    assert_string_equal(got, "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973eb"
                             "de0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b");
    free(m);
}

/* RFC 4231 section 4: test cases 1, 2, 3, 4, 6, 7 (5 is a truncated MAC). */
static void test_hmac_rfc4231(void **state)
{
    (void)state;
    uint8_t k20[20], k25[25], k131[131], aa50[50], cd50[50];
    memset(k20, 0x0b, sizeof(k20));
    for (int i = 0; i < 25; i++)
        k25[i] = (uint8_t)(i + 1);
    memset(k131, 0xaa, sizeof(k131));
    memset(aa50, 0xdd, sizeof(aa50));
    memset(cd50, 0xcd, sizeof(cd50));
    uint8_t aa20[20];
    memset(aa20, 0xaa, sizeof(aa20));
    static const char big[] = "This is a test using a larger than block-size key and a larger "
                              "than block-size data. The key needs to be hashed before being "
                              "used by the HMAC algorithm.";
    const struct {
        const void *key;
        size_t klen;
        const void *data;
        size_t dlen;
        const char *want;
    } cases[] = {
        {k20, 20, "Hi There", 8,
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
        {"Jefe", 4, "what do ya want for nothing?", 28,
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
        {aa20, 20, aa50, 50, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
        {k25, 25, cd50, 50, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
        {k131, 131, "Test Using Larger Than Block-Size Key - Hash Key First", 54,
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
        {k131, 131, big, strlen(big),
         "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t mac[SHA256_LEN];
        char got[SHA256_HEX_LEN + 1];
        hmac_sha256(cases[i].key, cases[i].klen, cases[i].data, cases[i].dlen, mac);
        hex(mac, sizeof(mac), got);
        assert_string_equal(got, cases[i].want);
    }
}

static void test_base64_and_memeq(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want;
    } cases[] = {{"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="},
                 {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *got = base64_encode(cases[i].in, strlen(cases[i].in));
        assert_string_equal(got, cases[i].want);
        uint8_t back[16];
        long n = base64_decode(got, back);
        assert_int_equal(n, (long)strlen(cases[i].in));
        assert_memory_equal(back, cases[i].in, (size_t)n);
        free(got);
    }
    assert_true(ct_memeq("abcd", "abcd", 4));
    assert_false(ct_memeq("abcd", "abce", 4));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_vectors), cmocka_unit_test(test_sha256_pieces),
        cmocka_unit_test(test_sha512_vectors), cmocka_unit_test(test_hmac_rfc4231),
        cmocka_unit_test(test_base64_and_memeq),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
