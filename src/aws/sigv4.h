/* AWS Signature Version 4 verification (AWS4-HMAC-SHA256), header and presigned-query forms.
 *
 * Pure: no I/O, no clock (the caller passes `now`), no logging. The only state is a small
 * per-thread cache of derived signing keys, so the steady state costs one SHA-256 of the
 * canonical request and one HMAC of the string to sign.
 *
 * Typical use by the HTTP layer:
 *
 *     struct sigv4_auth auth;
 *     if (sigv4_parse(&req, &auth, err) < 0) return -1;
 *     secret = credentials_lookup(auth.access_key);      // unknown key: the caller's error
 *     // optionally: auth.region / auth.service must be ours
 *     if (sigv4_verify(&req, &auth, secret, time(NULL), err) < 0) return -1;
 *
 * Canonicalisation follows SigV4 for non-S3 services: the path is normalised (".", "..",
 * empty segments) and URI-encoded once more as received (so an already percent-encoded wire
 * path ends up double-encoded, as the SDKs compute it). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "core/err.h"

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
/* Allowed clock skew for the header form, and the presigned "not yet valid" margin. */
#define SIGV4_MAX_SKEW_SECONDS (15 * 60)
/* Longest X-Amz-Expires AWS accepts: seven days. */
#define SIGV4_MAX_EXPIRES 604800L

struct sigv4_header {
    const char *name;  /* as received, any case */
    const char *value; /* as received; trimmed and space-collapsed here */
};

struct sigv4_request {
    const char *method; /* "POST" */
    /* Raw request path as received on the wire (still percent-encoded), no query. Note that
     * libmicrohttpd unescapes the URL it hands to the access handler by default; the caller
     * must pass the raw form. NULL or "" means "/". */
    const char *path;
    const char *query; /* raw query string without '?', or NULL */
    const struct sigv4_header *headers;
    size_t nheaders;
    /* Lower-hex SHA-256 of the body (the caller computes it and, if the client sent
     * x-amz-content-sha256, checks it), or that header's value such as "UNSIGNED-PAYLOAD". */
    const char *payload_hash;
};

/* What the client claimed, from the Authorization header or the presigned query. */
struct sigv4_auth {
    char access_key[129];
    char date[9]; /* credential scope date, YYYYMMDD */
    char region[33];
    char service[33];
    char signed_headers[1024]; /* "host;x-amz-date", as sent */
    char signature[65];        /* 64 lower-case hex digits */
    char amz_date[17];         /* YYYYMMDDTHHMMSSZ (converted from a Date header if needed) */
    bool presigned;
    long expires; /* X-Amz-Expires, presigned form only */
};

/* Parse the client's claim. The header form needs X-Amz-Date or Date (RFC 1123 or ISO 8601
 * basic); the query form needs X-Amz-Algorithm, -Credential, -Date, -Expires (1..604800),
 * -SignedHeaders and -Signature. Errors: no authentication at all -> 400
 * "MissingAuthenticationTokenException"; anything malformed or missing -> 400
 * "IncompleteSignatureException" naming it. ret_auth is written only on success. */
int sigv4_parse(const struct sigv4_request *req, struct sigv4_auth *ret_auth, struct wh_err *err);

/* The canonical request and the string to sign, as new heap strings (exposed for tests and
 * debugging). Only the headers named in auth->signed_headers are included; for a presigned
 * request the X-Amz-Signature query parameter is left out. */
char *sigv4_canonical_request(const struct sigv4_request *req, const struct sigv4_auth *auth);
char *sigv4_string_to_sign(const struct sigv4_request *req, const struct sigv4_auth *auth);

/* The signature a client holding `secret` computes for req under auth's scope and date
 * (auth->signature is ignored): 64 lower-case hex digits and a NUL. */
void sigv4_signature(const struct sigv4_request *req, const struct sigv4_auth *auth,
                     const char *secret, char out[65]);

/* Check a parsed claim against the secret of auth->access_key at time `now`:
 *  - the credential scope date equals the date of amz_date, "host" is a signed header
 *    (400 InvalidSignatureException otherwise);
 *  - header form: amz_date within 15 minutes of now (400 InvalidSignatureException
 *    "Signature expired: ..." or "Signature not yet current: ...");
 *  - presigned: now <= amz_date + expires and amz_date not more than 15 minutes ahead
 *    (403 AccessDeniedException "Request has expired" / "Request is not yet valid");
 *  - the signature matches, compared in constant time (400 InvalidSignatureException).
 * Returns 0 when the request is authentic. */
int sigv4_verify(const struct sigv4_request *req, const struct sigv4_auth *auth, const char *secret,
                 time_t now, struct wh_err *err);
