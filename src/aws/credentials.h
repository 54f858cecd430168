/* The credentials file: AWS shared-credentials format, every profile's key pair accepted.
 * Created on first start with one random [default] pair (mode 0600, written atomically). */
#pragma once
#include <stdbool.h>

#include "core/err.h"

struct credentials;

/* Load path, creating it first when it does not exist (*ret_created tells). */
int credentials_load_or_create(const char *path, struct credentials **ret_creds, bool *ret_created,
                               struct wh_err *err);
/* Parse credentials text (pure; for tests). Profiles without both keys are skipped. */
int credentials_parse(const char *text, struct credentials **ret_creds, struct wh_err *err);
/* The secret for an access key id, or NULL. */
const char *credentials_secret(const struct credentials *c, const char *access_key);
/* The first profile's access key (to print usage hints), or NULL when there is none. */
const char *credentials_first_key(const struct credentials *c);
unsigned credentials_count(const struct credentials *c);
void credentials_free(struct credentials *c);
