/* Content-addressed blob files and streaming digests. */
#include "registry/blobstore.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/crypto.h"
#include "core/fsutil.h"
#include "core/xalloc.h"

struct blobstore {
    char *blobs_dir;
    char *uploads_dir;
    pthread_rwlock_t gc_lock;
};

static const char *alg_name(enum registry_digest_alg alg)
{
    return alg == DIGEST_SHA512 ? "sha512" : "sha256";
}

int blobstore_open(const char *data_dir, struct blobstore **ret_bs, struct wh_err *err)
{
    struct blobstore *bs = xcalloc(1, sizeof(*bs));
    bs->blobs_dir = xasprintf("%s/blobs", data_dir);
    bs->uploads_dir = xasprintf("%s/uploads", data_dir);
    pthread_rwlock_init(&bs->gc_lock, NULL);
    const char *dirs[] = {bs->uploads_dir, bs->blobs_dir};
    for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
        int r = fs_mkdir_p(dirs[i], 0700);
        if (r < 0) {
            wh_err_set(err, 500, "ServerException", "cannot create %s: %s", dirs[i], strerror(-r));
            blobstore_close(bs);
            return r;
        }
    }
    *ret_bs = bs;
    return 0;
}

void blobstore_close(struct blobstore *bs)
{
    if (!bs)
        return;
    pthread_rwlock_destroy(&bs->gc_lock);
    free(bs->blobs_dir);
    free(bs->uploads_dir);
    free(bs);
}

const char *blobstore_uploads_dir(const struct blobstore *bs)
{
    return bs->uploads_dir;
}

char *blobstore_path(const struct blobstore *bs, const struct registry_digest *d)
{
    return xasprintf("%s/%s/%.2s/%s", bs->blobs_dir, alg_name(d->alg), d->hex, d->hex);
}

int blobstore_open_blob(const struct blobstore *bs, const struct registry_digest *d, int *ret_fd,
                        uint64_t *ret_size)
{
    cleanup_free char *path = blobstore_path(bs, d);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat stbuf;
    if (fstat(fd, &stbuf) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    *ret_fd = fd;
    *ret_size = (uint64_t)stbuf.st_size;
    return 0;
}

int blobstore_commit(struct blobstore *bs, const char *tmp_path, const struct registry_digest *d)
{
    cleanup_free char *path = blobstore_path(bs, d);
    cleanup_free char *dir = xasprintf("%s/%s/%.2s", bs->blobs_dir, alg_name(d->alg), d->hex);
    int r = fs_mkdir_p(dir, 0700);
    if (r < 0)
        return r;
    if (access(path, F_OK) == 0) {
        unlink(tmp_path);
        return 0;
    }
    if (rename(tmp_path, path) < 0)
        return -errno;
    /* The rename is durable once the shard directory is; a new shard directory needs its
     * parent synced as well. */
    r = fs_fsync_dir_of(path);
    if (r == 0)
        r = fs_fsync_dir_of(dir);
    return r;
}

int blobstore_remove(struct blobstore *bs, const struct registry_digest *d)
{
    cleanup_free char *path = blobstore_path(bs, d);
    if (unlink(path) < 0 && errno != ENOENT)
        return -errno;
    return 0;
}

void blobstore_gc_lock(struct blobstore *bs, bool exclusive)
{
    if (exclusive)
        pthread_rwlock_wrlock(&bs->gc_lock);
    else
        pthread_rwlock_rdlock(&bs->gc_lock);
}

void blobstore_gc_unlock(struct blobstore *bs)
{
    pthread_rwlock_unlock(&bs->gc_lock);
}

/* ---- digests ---- */

static EVP_MD_CTX *md_new(const EVP_MD *md)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (!c || EVP_DigestInit_ex(c, md, NULL) != 1)
        abort();
    return c;
}

void blob_hasher_init(struct blob_hasher *h, bool with_sha512)
{
    h->sha256 = md_new(EVP_sha256());
    h->sha512 = with_sha512 ? md_new(EVP_sha512()) : NULL;
    h->n = 0;
}

void blob_hasher_update(struct blob_hasher *h, const void *data, size_t len)
{
    EVP_DigestUpdate(h->sha256, data, len);
    if (h->sha512)
        EVP_DigestUpdate(h->sha512, data, len);
    h->n += len;
}

int blob_hasher_peek(const struct blob_hasher *h, enum registry_digest_alg alg, char hex[129])
{
    EVP_MD_CTX *src = alg == DIGEST_SHA512 ? h->sha512 : h->sha256;
    if (!src)
        return -ENOTSUP;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!c || EVP_MD_CTX_copy_ex(c, src) != 1 || EVP_DigestFinal_ex(c, md, &mdlen) != 1)
        abort();
    EVP_MD_CTX_free(c);
    hex_encode(md, mdlen, hex);
    return 0;
}

void blob_hasher_free(struct blob_hasher *h)
{
    EVP_MD_CTX_free(h->sha256);
    EVP_MD_CTX_free(h->sha512);
    h->sha256 = h->sha512 = NULL;
}

int blob_hasher_feed_fd(struct blob_hasher *h, int fd, uint64_t len)
{
    enum { BUF = 1 << 20 };
    cleanup_free char *buf = xmalloc(BUF);
    uint64_t off = 0;
    while (off < len) {
        size_t want = len - off < BUF ? (size_t)(len - off) : BUF;
        ssize_t n = pread(fd, buf, want, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -EIO; /* shorter than it should be */
        blob_hasher_update(h, buf, (size_t)n);
        off += (uint64_t)n;
    }
    return 0;
}

void blob_digest_of(enum registry_digest_alg alg, const void *data, size_t len, char out[136])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_Digest(data, len, md, &mdlen, alg == DIGEST_SHA512 ? EVP_sha512() : EVP_sha256(),
                   NULL) != 1)
        abort();
    char hex[129];
    hex_encode(md, mdlen, hex);
    snprintf(out, 136, "%s:%s", alg_name(alg), hex);
}
