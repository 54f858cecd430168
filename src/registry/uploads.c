/* Upload sessions: files, durable offsets, streaming digests. */
#include "registry/uploads.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "registry/blobstore.h"
#include "registry/errors.h"
#include "registry/registry.h"
#include "store/registry.h"

#define WRITE_BUF (1u << 20)
/* Write-behind: every WRITEBACK_WINDOW bytes, start the disk writing them and wait for the
 * window before, so the final fdatasync has little left to do and dirty pages stay bounded. */
#define WRITEBACK_WINDOW (8u << 20)

struct upload_session {
    struct upload_session *next;
    char uuid[37];
    int64_t repo_id;
    int fd;
    uint64_t offset;  /* bytes written to the file or the buffer, all hashed */
    struct blob_hasher h;
    bool busy;
    char *buf;        /* write buffer while held */
    size_t buflen;
    uint64_t wb_started; /* bytes whose writeback was started */
    uint64_t wb_waited;  /* bytes whose writeback was waited for */
};

struct upload_table {
    pthread_mutex_t lock;
    struct upload_session *head;
};

struct upload_table *upload_table_new(void)
{
    struct upload_table *t = xcalloc(1, sizeof(*t));
    pthread_mutex_init(&t->lock, NULL);
    return t;
}

static void session_free(struct upload_session *s)
{
    if (s->fd >= 0)
        close(s->fd);
    blob_hasher_free(&s->h);
    free(s->buf);
    free(s);
}

void upload_table_free(struct upload_table *t)
{
    if (!t)
        return;
    while (t->head) {
        struct upload_session *s = t->head;
        t->head = s->next;
        session_free(s);
    }
    pthread_mutex_destroy(&t->lock);
    free(t);
}

const char *upload_uuid(const struct upload_session *s)
{
    return s->uuid;
}

uint64_t upload_offset(const struct upload_session *s)
{
    return s->offset;
}

static char *upload_path(const struct registry *reg, const char *uuid)
{
    return xasprintf("%s/%s", blobstore_uploads_dir(reg->bs), uuid);
}

static void table_insert(struct upload_table *t, struct upload_session *s)
{
    pthread_mutex_lock(&t->lock);
    s->next = t->head;
    t->head = s;
    pthread_mutex_unlock(&t->lock);
}

/* Unlink s from the table (if present). */
static void table_remove(struct upload_table *t, struct upload_session *s)
{
    pthread_mutex_lock(&t->lock);
    for (struct upload_session **pp = &t->head; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    pthread_mutex_unlock(&t->lock);
}

static int io_err(struct wh_err *err, const char *what, const char *uuid, int e)
{
    return wh_err_set(err, 500, "ServerException", "upload %s: %s: %s", uuid, what, strerror(e));
}

int upload_start(struct registry *reg, struct store *st, int64_t repo_id, bool with_sha512,
                 double now, struct upload_session **ret, struct wh_err *err)
{
    struct upload_session *s = xcalloc(1, sizeof(*s));
    random_uuid(s->uuid);
    s->repo_id = repo_id;
    cleanup_free char *path = upload_path(reg, s->uuid);
    s->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (s->fd < 0) {
        int e = errno;
        free(s);
        return io_err(err, "cannot create the upload file", "(new)", e);
    }
    blob_hasher_init(&s->h, with_sha512);
    struct store_upload row = {.repo_id = repo_id, .created_at = now, .updated_at = now};
    memcpy(row.uuid, s->uuid, sizeof(row.uuid));
    if (store_upload_create(st, &row, err) < 0) {
        unlink(path);
        session_free(s);
        return -1;
    }
    s->busy = true;
    s->buf = xmalloc(WRITE_BUF);
    table_insert(reg->uploads, s);
    *ret = s;
    return 0;
}

/* Rebuild a session from its durable state: the store row and the file cut back to it. */
static int session_load(struct registry *reg, struct store *st, const char *uuid,
                        struct upload_session **ret, struct wh_err *err)
{
    struct store_upload row;
    int r = store_upload_get(st, uuid, &row, err);
    if (r == -ENOENT)
        return oci_err(err, OCI_BLOB_UPLOAD_UNKNOWN, "upload %s is unknown", uuid);
    if (r < 0)
        return -1;
    cleanup_free char *path = upload_path(reg, uuid);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        store_upload_delete(st, uuid, NULL);
        return oci_err(err, OCI_BLOB_UPLOAD_UNKNOWN, "upload %s lost its data; start again", uuid);
    }
    struct stat stbuf;
    uint64_t durable = (uint64_t)row.received;
    if (fstat(fd, &stbuf) == 0 && (uint64_t)stbuf.st_size < durable)
        durable = (uint64_t)stbuf.st_size; /* cannot happen after fdatasync, but be safe */
    if (ftruncate(fd, (off_t)durable) < 0) {
        int e = errno;
        close(fd);
        return io_err(err, "cannot cut back to the durable offset", uuid, e);
    }
    struct upload_session *s = xcalloc(1, sizeof(*s));
    memcpy(s->uuid, row.uuid, sizeof(s->uuid));
    s->repo_id = row.repo_id;
    s->fd = fd;
    blob_hasher_init(&s->h, false);
    if ((r = blob_hasher_feed_fd(&s->h, fd, durable)) < 0) {
        session_free(s);
        return io_err(err, "cannot re-read the partial upload", uuid, -r);
    }
    s->offset = durable;
    s->wb_started = s->wb_waited = durable;
    log_info("registry: upload %s resumed at offset %llu", uuid, (unsigned long long)durable);
    *ret = s;
    return 0;
}

/* Upload ids are ours: 36 characters of hex digits and dashes (they name files). */
static bool uuid_ok(const char *uuid)
{
    size_t n = strlen(uuid);
    return n == 36 && strspn(uuid, "0123456789abcdefABCDEF-") == n;
}

int upload_acquire(struct registry *reg, struct store *st, const char *uuid, int64_t repo_id,
                   struct upload_session **ret, struct wh_err *err)
{
    if (!uuid_ok(uuid))
        return oci_err(err, OCI_BLOB_UPLOAD_UNKNOWN, "upload '%.64s' is unknown", uuid);
    struct upload_table *t = reg->uploads;
    pthread_mutex_lock(&t->lock);
    struct upload_session *s = t->head;
    while (s && strcmp(s->uuid, uuid) != 0)
        s = s->next;
    if (s && s->busy) {
        pthread_mutex_unlock(&t->lock);
        return oci_err(err, OCI_BLOB_UPLOAD_INVALID,
                       "upload %s is in use by another request", uuid);
    }
    if (s)
        s->busy = true;
    pthread_mutex_unlock(&t->lock);
    if (!s) {
        if (session_load(reg, st, uuid, &s, err) < 0)
            return -1;
        s->busy = true;
        /* Two requests may have loaded the same session at once: keep the first. */
        pthread_mutex_lock(&t->lock);
        struct upload_session *o = t->head;
        while (o && strcmp(o->uuid, uuid) != 0)
            o = o->next;
        if (!o) {
            s->next = t->head;
            t->head = s;
        }
        pthread_mutex_unlock(&t->lock);
        if (o) {
            session_free(s);
            return oci_err(err, OCI_BLOB_UPLOAD_INVALID,
                           "upload %s is in use by another request", uuid);
        }
    }
    if (s->repo_id != repo_id) {
        upload_unhold(reg, s);
        return oci_err(err, OCI_BLOB_UPLOAD_UNKNOWN, "upload %s is unknown in this repository",
                       uuid);
    }
    if (s->fd < 0) {
        cleanup_free char *path = upload_path(reg, uuid);
        s->fd = open(path, O_RDWR | O_CLOEXEC);
        if (s->fd < 0) {
            upload_forget(reg, s);
            return oci_err(err, OCI_BLOB_UPLOAD_UNKNOWN, "upload %s lost its data; start again",
                           uuid);
        }
    }
    if (!s->buf)
        s->buf = xmalloc(WRITE_BUF);
    *ret = s;
    return 0;
}

static void write_behind(struct upload_session *s)
{
    uint64_t written = s->offset - s->buflen;
    if (written - s->wb_started < WRITEBACK_WINDOW)
        return;
    if (s->wb_started > s->wb_waited)
        sync_file_range(s->fd, (off_t)s->wb_waited, (off_t)(s->wb_started - s->wb_waited),
                        SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                            SYNC_FILE_RANGE_WAIT_AFTER);
    s->wb_waited = s->wb_started;
    sync_file_range(s->fd, (off_t)s->wb_started, (off_t)(written - s->wb_started),
                    SYNC_FILE_RANGE_WRITE);
    s->wb_started = written;
}

static int flush_buf(struct upload_session *s, struct wh_err *err)
{
    uint64_t at = s->offset - s->buflen;
    size_t done = 0;
    while (done < s->buflen) {
        ssize_t n = pwrite(s->fd, s->buf + done, s->buflen - done, (off_t)(at + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return io_err(err, "cannot write", s->uuid, errno);
        done += (size_t)n;
    }
    s->buflen = 0;
    write_behind(s);
    return 0;
}

int upload_write(struct upload_session *s, const void *data, size_t len, struct wh_err *err)
{
    blob_hasher_update(&s->h, data, len);
    const char *p = data;
    while (len) {
        size_t n = WRITE_BUF - s->buflen < len ? WRITE_BUF - s->buflen : len;
        memcpy(s->buf + s->buflen, p, n);
        s->buflen += n;
        s->offset += n;
        p += n;
        len -= n;
        if (s->buflen == WRITE_BUF && flush_buf(s, err) < 0)
            return -1;
    }
    return 0;
}

void upload_unhold(struct registry *reg, struct upload_session *s)
{
    pthread_mutex_lock(&reg->uploads->lock);
    free(s->buf);
    s->buf = NULL;
    s->buflen = 0;
    /* Idle sessions hold no descriptor: abandoned uploads must not run wharfd out of them. */
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    s->busy = false;
    pthread_mutex_unlock(&reg->uploads->lock);
}

void upload_forget(struct registry *reg, struct upload_session *s)
{
    table_remove(reg->uploads, s);
    session_free(s);
}

int upload_release(struct registry *reg, struct store *st, struct upload_session *s, double now,
                   struct wh_err *err)
{
    if (flush_buf(s, err) < 0 || fdatasync(s->fd) < 0) {
        if (!wh_err_isset(err))
            io_err(err, "cannot sync", s->uuid, errno);
        upload_forget(reg, s);
        return -1;
    }
    if (store_upload_set_received(st, s->uuid, (int64_t)s->offset, now, err) < 0) {
        upload_forget(reg, s);
        return -1;
    }
    upload_unhold(reg, s);
    return 0;
}

/* The hex digest of everything received, in the algorithm asked for. */
static int final_hex(struct upload_session *s, enum registry_digest_alg alg, char hex[129],
                     struct wh_err *err)
{
    if (blob_hasher_peek(&s->h, alg, hex) == 0)
        return 0;
    /* sha512 asked for at the end: read the (flushed) file once more. */
    struct blob_hasher h;
    blob_hasher_init(&h, true);
    int r = blob_hasher_feed_fd(&h, s->fd, s->offset);
    if (r == 0)
        blob_hasher_peek(&h, alg, hex);
    blob_hasher_free(&h);
    return r < 0 ? io_err(err, "cannot re-read for the digest", s->uuid, -r) : 0;
}

static int remove_upload(struct registry *reg, struct store *st, struct upload_session *s,
                         struct wh_err *err)
{
    cleanup_free char *path = upload_path(reg, s->uuid);
    int r = store_upload_delete(st, s->uuid, err);
    unlink(path);
    upload_forget(reg, s);
    return r == -ENOENT ? 0 : r;
}

int upload_finish(struct registry *reg, struct store *st, struct upload_session *s,
                  const char *digest, double now, uint64_t *ret_size, struct wh_err *err)
{
    struct registry_digest d;
    int r = registry_digest_parse(digest, &d);
    if (r < 0) {
        upload_forget(reg, s); /* the upload stays; the client may retry with a good digest */
        return oci_err(err, r == -ENOTSUP ? OCI_UNSUPPORTED : OCI_DIGEST_INVALID,
                       "digest '%s' is not a sha256 or sha512 digest", digest);
    }
    char hex[129];
    if (flush_buf(s, err) < 0 || final_hex(s, d.alg, hex, err) < 0) {
        upload_forget(reg, s);
        return -1;
    }
    if (strcmp(hex, d.hex) != 0) {
        struct wh_err ignore = {0};
        uint64_t got = s->offset;
        remove_upload(reg, st, s, &ignore);
        return oci_err(err, OCI_DIGEST_INVALID,
                       "the %llu bytes uploaded have digest %s:%s, not %s; nothing was stored",
                       (unsigned long long)got, d.alg == DIGEST_SHA512 ? "sha512" : "sha256", hex,
                       digest);
    }
    if (fdatasync(s->fd) < 0) {
        int e = errno;
        upload_forget(reg, s);
        return io_err(err, "cannot sync", digest, e);
    }
    uint64_t size = s->offset;
    cleanup_free char *path = upload_path(reg, s->uuid);
    blobstore_gc_lock(reg->bs, false);
    r = blobstore_commit(reg->bs, path, &d);
    if (r == 0)
        r = store_blob_commit(st, s->repo_id, digest, (int64_t)size, now, err);
    else
        io_err(err, "cannot commit the blob", s->uuid, -r);
    blobstore_gc_unlock(reg->bs);
    if (r < 0) {
        upload_forget(reg, s);
        return -1;
    }
    store_upload_delete(st, s->uuid, NULL);
    upload_forget(reg, s);
    if (ret_size)
        *ret_size = size;
    return 0;
}

int upload_cancel(struct registry *reg, struct store *st, struct upload_session *s,
                  struct wh_err *err)
{
    return remove_upload(reg, st, s, err);
}

/* Take an idle session out of the table: 1 taken (*ret, may be NULL when it was not in
 * memory), 0 when a request holds it. */
static int take_idle(struct registry *reg, const char *uuid, struct upload_session **ret)
{
    struct upload_table *t = reg->uploads;
    int r = 1;
    *ret = NULL;
    pthread_mutex_lock(&t->lock);
    for (struct upload_session **pp = &t->head; *pp; pp = &(*pp)->next) {
        if (strcmp((*pp)->uuid, uuid) != 0)
            continue;
        if ((*pp)->busy) {
            r = 0;
        } else {
            *ret = *pp;
            *pp = (*pp)->next;
        }
        break;
    }
    pthread_mutex_unlock(&t->lock);
    return r;
}

/* Remove an abandoned upload (row, file, memory) unless a request holds it. */
static bool reap_one(struct registry *reg, struct store *st, const char *uuid)
{
    struct upload_session *s;
    if (!take_idle(reg, uuid, &s))
        return false;
    if (s)
        session_free(s);
    cleanup_free char *path = upload_path(reg, uuid);
    store_upload_delete(st, uuid, NULL);
    unlink(path);
    return true;
}

int upload_reap(struct registry *reg, struct store *st, double before, struct wh_err *err)
{
    struct store_upload *v = NULL;
    size_t n = 0;
    if (store_upload_stale(st, before, 100, &v, &n, err) < 0)
        return -1;
    int reaped = 0;
    for (size_t i = 0; i < n; i++)
        reaped += reap_one(reg, st, v[i].uuid);
    free(v);
    /* Files with no row: their repository was deleted, or wharfd died between creating the
     * file and recording it. */
    DIR *d = opendir(blobstore_uploads_dir(reg->bs));
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        cleanup_free char *path = upload_path(reg, de->d_name);
        struct stat stbuf;
        struct store_upload row;
        if (stat(path, &stbuf) < 0 || (double)stbuf.st_mtime >= before ||
            store_upload_get(st, de->d_name, &row, NULL) != -ENOENT)
            continue;
        reaped += reap_one(reg, st, de->d_name);
    }
    if (d)
        closedir(d);
    return reaped;
}

/* ---- the ECR layer-upload API ---- */

int registry_upload_begin(const struct wharf_app *app, int64_t repo_id, double now,
                          char ret_uuid[37], struct wh_err *err)
{
    struct upload_session *s;
    if (upload_start(app->registry, app->st, repo_id, false, now, &s, err) < 0)
        return -1;
    memcpy(ret_uuid, s->uuid, 37);
    return upload_release(app->registry, app->st, s, now, err);
}

int registry_upload_part(const struct wharf_app *app, int64_t repo_id, const char *uuid,
                         uint64_t first, const void *data, size_t len, double now,
                         uint64_t *ret_last, struct wh_err *err)
{
    struct upload_session *s;
    if (upload_acquire(app->registry, app->st, uuid, repo_id, &s, err) < 0)
        return -1;
    if (first != s->offset) {
        uint64_t at = s->offset;
        upload_unhold(app->registry, s);
        return oci_err(err, OCI_RANGE_INVALID,
                       "part starts at byte %llu but upload %s has %llu bytes; the next part "
                       "must start at %llu",
                       (unsigned long long)first, uuid, (unsigned long long)at,
                       (unsigned long long)at);
    }
    if (upload_write(s, data, len, err) < 0) {
        upload_forget(app->registry, s);
        return -1;
    }
    uint64_t off = s->offset;
    if (upload_release(app->registry, app->st, s, now, err) < 0)
        return -1;
    if (ret_last)
        *ret_last = off ? off - 1 : 0;
    return 0;
}

int registry_upload_complete(const struct wharf_app *app, int64_t repo_id, const char *uuid,
                             const char *digest, double now, struct wh_err *err)
{
    struct upload_session *s;
    if (upload_acquire(app->registry, app->st, uuid, repo_id, &s, err) < 0)
        return -1;
    return upload_finish(app->registry, app->st, s, digest, now, NULL, err);
}
