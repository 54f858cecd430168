/* A small AWS JSON 1.1 client for the agent: signs each call with SigV4 (reusing the
 * server's canonicalisation in aws/sigv4.c) and posts it over plain http with our own
 * HTTP/1.1 client (agent/http_client.c): wharfd serves http; https endpoints are refused. */
#pragma once
#include <jansson.h>

#include "core/err.h"

struct aws_client;

/* Keys come from an AWS shared-credentials file (its first profile with both keys, or the
 * named profile). endpoint: "http://127.0.0.1:4566". */
int aws_client_new(const char *endpoint, const char *region, const char *credentials_file,
                   const char *profile, struct aws_client **ret_client, struct wh_err *err);
void aws_client_free(struct aws_client *c);
const char *aws_client_endpoint(const struct aws_client *c);
/* Calls in flight give up (TransportError "aborted") within about a second once *flag becomes
 * non-zero: how an agent leaves a parked long poll at shutdown. NULL: never. */
void aws_client_set_abort(struct aws_client *c, const volatile int *flag);
const char *aws_client_region(const struct aws_client *c);

/* POST target (e.g. "AmazonEC2ContainerServiceV20141113.RegisterContainerInstance") signed
 * for service ("ecs"). On an AWS error answer, err->type is its __type and err->status the
 * HTTP status; transport failures are type "TransportError" with status 0. Thread-safe (a
 * connection per thread, kept between calls). */
int aws_client_call(struct aws_client *c, const char *service, const char *target,
                    const json_t *in, long timeout_ms, json_t **ret_out, struct wh_err *err);

/* Build the SigV4 headers for a request (exposed for the registry client and tests):
 * returns "Authorization: ..." and "X-Amz-Date: ..." lines in out_auth/out_date. */
void aws_client_sign(const char *access_key, const char *secret, const char *region,
                     const char *service, const char *host, const char *target,
                     const char *body, size_t body_len, time_t now, char out_auth[2048],
                     char out_date[64]);
