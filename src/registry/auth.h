/* Who a /v2/ request is: the Authorization header checked against registry tokens
 * (registry/token.h), the 401 challenge, and the token endpoint of the Bearer flow. */
#pragma once
#include "core/err.h"
#include "http/server.h"
#include "registry/token.h"

struct wharf_app;
struct reg_req;

/* "Basic base64(AWS:<password>)" or "Bearer <password>". 0 with *ret (and *ret_password, a
 * new string, when not NULL); -1 with err an OCI UNAUTHORIZED. */
int registry_auth(const struct wharf_app *app, const char *authorization, double now,
                  struct registry_principal *ret, char **ret_password, struct wh_err *err);
/* Render a 401 with the WWW-Authenticate challenge pointing at this host's token endpoint. */
void registry_auth_challenge(const struct http_req *req, struct http_resp *resp,
                             const struct wh_err *err);
/* GET /v2/token: the Bearer token for Basic credentials. */
int token_begin(struct reg_req *rq, struct http_resp *resp);
