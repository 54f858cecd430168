/* The AWS JSON 1.1 protocol: services, action tables and the handler contract.
 *
 * A handler gets input already checked against the botocore model (types, required members,
 * enums, ranges) and a request context; it returns 0 and sets *ret_out (an object, possibly
 * empty), or returns -1 with err filled (AWS error code in err->type, HTTP status). Handlers
 * never see HTTP or SQL, and never render responses themselves. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "core/err.h"

struct store;
struct shape_model;
struct wharf_config;
struct wharf_app;

struct api_ctx {
    const struct wharf_app *app; /* for the few handlers that reach the registry's files */
    const struct wharf_config *cfg;
    struct store *st;
    const char *account;       /* 12 digits */
    const char *region;        /* from the SigV4 credential scope */
    const char *principal_arn; /* arn:aws:iam::ACCOUNT:root for the credentials file's keys */
    const char *access_key;
    const char *request_id;
    double now;                /* wall clock at the start of the request, epoch seconds */
    /* A handler whose answer is large and regular (a page of log events) may render it itself:
     * compact JSON text in raw_out (heap) instead of *ret_out, sent as it is. */
    char *raw_out;

    /* Long polls: a handler may return API_WAIT after setting wait_key and wait_until (a
     * monotonic deadline); the request is parked without a thread and the handler runs again
     * with the same input when the key is notified (waiters_notify) or the deadline passes.
     * It must answer when no_wait is set (shutting down) or the deadline has passed. */
    char wait_key[256];
    uint64_t wait_gen;
    double wait_until;
    bool no_wait;
};

/* A long-polling handler calls this with what it waits on BEFORE it reads the state it
 * compares, then returns API_WAIT (after setting wait_until) when nothing changed. */
void api_wait_prepare(struct api_ctx *ctx, const char *key);

#define API_WAIT 1

typedef int (*api_handler_fn)(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                              struct wh_err *err);

enum api_flags {
    API_READ = 0,
    API_MUTATES = 1 << 0, /* changes state (for metrics and future policy checks) */
};

struct api_action {
    const char *name; /* "CreateCluster" */
    api_handler_fn fn;
    unsigned flags;
};

struct api_service {
    const char *target_prefix; /* "AmazonEC2ContainerServiceV20141113" */
    const char *signing_name;  /* SigV4 service in the credential scope: "ecs" */
    const struct shape_model *model;
    const char *validation_error; /* "InvalidParameterException" */
    const struct api_action *actions;
    size_t nactions;
};

/* Shorthands for the errors every service uses. */
#define ERR_INVALID_PARAM "InvalidParameterException"
int api_invalid(struct wh_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
