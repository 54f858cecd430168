/* Small jansson helpers. Inputs reaching handlers were already checked against the botocore
 * model, so these accessors only need to cope with absent members. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* json_auto_t (jansson >= 2.11) releases a reference when it goes out of scope. */

/* Member as a string, or NULL when absent or not a string. */
const char *json_str(const json_t *obj, const char *key);
/* Member as an integer, or def when absent. */
int64_t json_int(const json_t *obj, const char *key, int64_t def);
bool json_bool(const json_t *obj, const char *key, bool def);
/* Member as a non-empty array, or NULL. */
json_t *json_arr(const json_t *obj, const char *key);
/* Set obj[key] = string only when s is not NULL. */
void json_set_str(json_t *obj, const char *key, const char *s);
/* Compact JSON text of v (new heap string); v may be NULL → "null". */
char *json_text(const json_t *v);
/* Parse text that wharf wrote itself (store columns); aborts on corruption rather than
 * carrying on with half a resource. NULL text → NULL. */
json_t *json_parse_trusted(const char *text);
/* Epoch seconds as AWS's JSON protocol sends timestamps (fractional, millisecond precision). */
json_t *json_timestamp(double epoch);
