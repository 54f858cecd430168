/* Blob upload sessions: the bytes in DATA/uploads/<uuid>, the durable offset in the store
 * (uploads table), the running digest in memory.
 *
 * A session is held by one request at a time (upload_acquire ... upload_release). Bytes are
 * appended through a buffer and hashed as they stream, never held whole. upload_release makes
 * them durable (fdatasync) and records the offset; only then is the offset reported to the
 * client. After a wharfd restart (or a failed write) the in-memory state is rebuilt from the
 * durable offset: the file is cut back to it and re-hashed, so an upload resumes exactly where
 * the client was last told it stood.
 *
 * These functions are also the ECR layer-upload API's (InitiateLayerUpload, UploadLayerPart,
 * CompleteLayerUpload): see the registry_upload_* wrappers at the end. Errors are OCI codes in
 * err->type: BLOB_UPLOAD_UNKNOWN (no such upload in that repository), BLOB_UPLOAD_INVALID
 * (held by another request, or a bad request), RANGE_INVALID (a part that does not start at
 * the current offset; HTTP 416), DIGEST_INVALID (content does not match the digest; the
 * upload is removed and nothing is stored), SIZE_INVALID; anything else is a 500. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "registry/names.h"

struct registry;
struct store;
struct wharf_app;
struct upload_table;
struct upload_session;

struct upload_table *upload_table_new(void);
void upload_table_free(struct upload_table *t);

const char *upload_uuid(const struct upload_session *s);
/* Bytes received so far (durable once released). */
uint64_t upload_offset(const struct upload_session *s);

/* A new session for repo_id, returned held. with_sha512: hash sha512 while streaming as well
 * (when the final digest is known to be sha512). */
int upload_start(struct registry *reg, struct store *st, int64_t repo_id, bool with_sha512,
                 double now, struct upload_session **ret, struct wh_err *err);
int upload_acquire(struct registry *reg, struct store *st, const char *uuid, int64_t repo_id,
                   struct upload_session **ret, struct wh_err *err);
int upload_write(struct upload_session *s, const void *data, size_t len, struct wh_err *err);
/* Durable, recorded, let go. On failure the in-memory state is dropped (see above). */
int upload_release(struct registry *reg, struct store *st, struct upload_session *s, double now,
                   struct wh_err *err);
/* Let go of a session nothing was written to (a status query, a refused chunk). */
void upload_unhold(struct registry *reg, struct upload_session *s);
/* Let go without recording what was written since acquire (a failed or refused chunk): the
 * next request resumes from the last durable offset. */
void upload_forget(struct registry *reg, struct upload_session *s);
/* Check the content against digest and commit it as a blob linked to the session's repository;
 * the session is consumed whatever happens. *ret_size (may be NULL) gets the blob's size. */
int upload_finish(struct registry *reg, struct store *st, struct upload_session *s,
                  const char *digest, double now, uint64_t *ret_size, struct wh_err *err);
/* Remove the session, its file and its row. */
int upload_cancel(struct registry *reg, struct store *st, struct upload_session *s,
                  struct wh_err *err);
/* Remove sessions untouched since before (abandoned), held ones excepted. Returns how many. */
int upload_reap(struct registry *reg, struct store *st, double before, struct wh_err *err);

/* ---- for the ECR layer-upload API ---- */

/* InitiateLayerUpload: a new upload id (37 bytes with the NUL). */
int registry_upload_begin(const struct wharf_app *app, int64_t repo_id, double now,
                          char ret_uuid[37], struct wh_err *err);
/* UploadLayerPart: append len bytes that must start at first (the current offset; else
 * RANGE_INVALID). *ret_last gets the last byte received (offset - 1). */
int registry_upload_part(const struct wharf_app *app, int64_t repo_id, const char *uuid,
                         uint64_t first, const void *data, size_t len, double now,
                         uint64_t *ret_last, struct wh_err *err);
/* CompleteLayerUpload. */
int registry_upload_complete(const struct wharf_app *app, int64_t repo_id, const char *uuid,
                             const char *digest, double now, struct wh_err *err);
