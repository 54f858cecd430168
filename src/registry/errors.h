/* OCI distribution errors: {"errors":[{"code","message","detail"}]} with the spec's statuses.
 * Registry functions fill a struct wh_err whose type is the OCI code; routes.c renders it. */
#pragma once
#include "core/err.h"
#include "http/server.h"

#define OCI_BLOB_UNKNOWN "BLOB_UNKNOWN"
#define OCI_BLOB_UPLOAD_INVALID "BLOB_UPLOAD_INVALID"
#define OCI_BLOB_UPLOAD_UNKNOWN "BLOB_UPLOAD_UNKNOWN"
#define OCI_DIGEST_INVALID "DIGEST_INVALID"
#define OCI_MANIFEST_BLOB_UNKNOWN "MANIFEST_BLOB_UNKNOWN"
#define OCI_MANIFEST_INVALID "MANIFEST_INVALID"
#define OCI_MANIFEST_UNKNOWN "MANIFEST_UNKNOWN"
#define OCI_NAME_INVALID "NAME_INVALID"
#define OCI_NAME_UNKNOWN "NAME_UNKNOWN"
#define OCI_SIZE_INVALID "SIZE_INVALID"
#define OCI_UNAUTHORIZED "UNAUTHORIZED"
#define OCI_DENIED "DENIED"
#define OCI_UNSUPPORTED "UNSUPPORTED"
#define OCI_TOOMANYREQUESTS "TOOMANYREQUESTS"
#define OCI_TAG_INVALID "TAG_INVALID"
#define OCI_RANGE_INVALID "RANGE_INVALID" /* 416: an out-of-order chunk */

/* Fill err with an OCI code; the status comes from the code's table row. Returns -1. */
int oci_err(struct wh_err *err, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The HTTP status of an OCI code (500 for an unknown one). */
int oci_status(const char *code);
/* Render err as the OCI error body. An error that is not an OCI code (a store failure, a
 * ServerException) becomes a 500 with code UNKNOWN. */
void oci_render_error(struct http_resp *resp, const struct wh_err *err);
