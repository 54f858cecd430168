/* Content digests ("sha256:<hex>", "sha512:<hex>") computed incrementally, as blobs stream in. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct digester;

/* A digester for the algorithm of `digest_or_algo` ("sha256:…", "sha512", …); NULL when the
 * algorithm is not sha256 or sha512. */
struct digester *digester_new(const char *digest_or_algo);
void digester_update(struct digester *d, const void *data, size_t len);
/* "algo:hex" of everything fed so far (new string); the digester is freed. */
char *digester_finish(struct digester *d);
void digester_free(struct digester *d);

/* One-shot: "algo:hex" of data (new string), algo taken as in digester_new; NULL if unknown. */
char *digest_compute(const char *digest_or_algo, const void *data, size_t len);
