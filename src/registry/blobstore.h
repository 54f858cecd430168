/* The content-addressed blob store: DATA/blobs/<alg>/<first two hex>/<hex>, shared by every
 * repository. Files enter it only whole: an upload's file is written and fsynced elsewhere
 * (DATA/uploads), then renamed in and the directory fsynced, so a reader never sees a partial
 * blob, even after kill -9 or a power cut. Which repositories may see a blob is the store's
 * business (store_blob_*), not this file's.
 *
 * Garbage collection and commits must not interleave between "row deleted" and "file removed":
 * commits hold the GC lock shared, the collector holds it exclusive (blobstore_gc_lock). */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "registry/names.h"

struct blobstore;

/* Create DATA/blobs and DATA/uploads as needed. */
int blobstore_open(const char *data_dir, struct blobstore **ret_bs, struct wh_err *err);
void blobstore_close(struct blobstore *bs);

/* The directory upload files live in (DATA/uploads). */
const char *blobstore_uploads_dir(const struct blobstore *bs);
/* The path a committed blob has (new string). */
char *blobstore_path(const struct blobstore *bs, const struct registry_digest *d);
/* Open a committed blob for reading (O_CLOEXEC). -ENOENT when absent, other -errno. */
int blobstore_open_blob(const struct blobstore *bs, const struct registry_digest *d, int *ret_fd,
                        uint64_t *ret_size);
/* Move tmp_path (complete, already fsynced) in as d. When d is already present, tmp_path is
 * removed instead (same content by definition). 0 or -errno. Call with the GC lock shared. */
int blobstore_commit(struct blobstore *bs, const char *tmp_path, const struct registry_digest *d);
/* Remove a blob's file; absent is fine. Call with the GC lock exclusive. */
int blobstore_remove(struct blobstore *bs, const struct registry_digest *d);
void blobstore_gc_lock(struct blobstore *bs, bool exclusive);
void blobstore_gc_unlock(struct blobstore *bs);

/* Streaming digests. sha256 is always computed; sha512 only when asked at init (the algorithm
 * of the final digest is not always known up front; blob_hash_fd re-reads the file then). */
struct blob_hasher {
    void *sha256; /* EVP_MD_CTX */
    void *sha512; /* EVP_MD_CTX or NULL */
    uint64_t n;   /* bytes hashed */
};

void blob_hasher_init(struct blob_hasher *h, bool with_sha512);
void blob_hasher_update(struct blob_hasher *h, const void *data, size_t len);
/* Hex of the digest so far (the hasher stays usable). -ENOTSUP when that algorithm is not
 * being computed. */
int blob_hasher_peek(const struct blob_hasher *h, enum registry_digest_alg alg, char hex[129]);
void blob_hasher_free(struct blob_hasher *h);
/* Hash len bytes of fd from offset 0 with a fresh hasher into h (h initialised by the caller). */
int blob_hasher_feed_fd(struct blob_hasher *h, int fd, uint64_t len);
/* Digest of a memory buffer ("sha256:..." into out, 72 bytes for sha256, 136 for sha512). */
void blob_digest_of(enum registry_digest_alg alg, const void *data, size_t len, char out[136]);
