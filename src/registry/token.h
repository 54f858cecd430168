/* Registry credentials: the password of `aws ecr get-login-password`.
 *
 * A password is "wharf1.<base64 payload>.<hex HMAC-SHA256>", the payload
 * "account\nregion\naccess-key\nexpiry" and the key a random 32-byte secret made once in
 * DATA/registry-token.key (0600, written atomically). It is accepted by /v2/ as the Basic
 * password of user AWS and as a Bearer token (GET /v2/token hands it back). Its region selects
 * which region's repositories a request sees. Tokens live 12 hours, as ECR's do, and die with
 * the access key that asked for them (removed from the credentials file). */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct wharf_app;

#define REGISTRY_TOKEN_TTL (12 * 3600.0)
#define REGISTRY_TOKEN_KEY_LEN 32

struct registry_principal {
    char account[16];
    char region[32];
    char access_key[128];
    double expires;
};

/* ECR's authorizationToken: base64("AWS:" + password) for a token valid until now + 12 h
 * (*ret_expires, epoch seconds, when not NULL). New heap string. */
char *registry_token_issue(const struct wharf_app *app, const char *account, const char *region,
                           const char *access_key, double now, double *ret_expires);
/* Check a password (the part after "AWS:"). 0 and *ret filled, or -1 with err an OCI
 * UNAUTHORIZED naming what is wrong (malformed, bad signature, expired, unknown key). */
int registry_token_verify(const struct wharf_app *app, const char *password, double now,
                          struct registry_principal *ret, struct wh_err *err);

/* The pure halves, for tests: make / check a password with an explicit key. */
char *registry_password_make(const uint8_t key[REGISTRY_TOKEN_KEY_LEN], const char *account,
                             const char *region, const char *access_key, double expires);
int registry_password_check(const uint8_t key[REGISTRY_TOKEN_KEY_LEN], const char *password,
                            double now, struct registry_principal *ret, struct wh_err *err);
/* Load DATA/registry-token.key, creating it when absent. 0 or -1 with err. */
int registry_token_key_load(const char *data_dir, uint8_t ret_key[REGISTRY_TOKEN_KEY_LEN],
                            struct wh_err *err);
