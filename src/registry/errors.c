/* OCI error codes and their rendering. */
#include "registry/errors.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/json.h"
#include "core/xalloc.h"

static const struct {
    const char *code;
    int status;
} codes[] = {
    {OCI_BLOB_UNKNOWN, 404},
    {OCI_BLOB_UPLOAD_INVALID, 400},
    {OCI_BLOB_UPLOAD_UNKNOWN, 404},
    {OCI_DIGEST_INVALID, 400},
    {OCI_MANIFEST_BLOB_UNKNOWN, 400},
    {OCI_MANIFEST_INVALID, 400},
    {OCI_MANIFEST_UNKNOWN, 404},
    {OCI_NAME_INVALID, 400},
    {OCI_NAME_UNKNOWN, 404},
    {OCI_SIZE_INVALID, 400},
    {OCI_UNAUTHORIZED, 401},
    {OCI_DENIED, 403},
    {OCI_UNSUPPORTED, 405},
    {OCI_TOOMANYREQUESTS, 429},
    {OCI_TAG_INVALID, 400},
    {OCI_RANGE_INVALID, 416},
};

int oci_status(const char *code)
{
    for (size_t i = 0; i < ARRAY_SIZE(codes); i++)
        if (strcmp(codes[i].code, code) == 0)
            return codes[i].status;
    return 500;
}

int oci_err(struct wh_err *err, const char *code, const char *fmt, ...)
{
    if (!err)
        return -1;
    err->status = oci_status(code);
    snprintf(err->type, sizeof(err->type), "%s", code);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return -1;
}

void oci_render_error(struct http_resp *resp, const struct wh_err *err)
{
    bool known = oci_status(err->type) != 500;
    const char *code = known ? err->type : "UNKNOWN";
    int status = known ? err->status : 500;
    /* The range code is ours (the spec names only the status); clients see the upload code. */
    if (strcmp(code, OCI_RANGE_INVALID) == 0)
        code = OCI_BLOB_UPLOAD_INVALID;
    json_auto_t *j = json_pack("{s:[{s:s, s:s, s:{}}]}", "errors", "code", code, "message",
                               err->msg[0] ? err->msg : code, "detail");
    char *body = json_text(j);
    http_resp_set_body(resp, status ? status : 500, "application/json", body, strlen(body));
}
