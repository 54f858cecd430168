/* Linux capabilities as a bit mask, with Docker's names and default set. Pure. */
#pragma once
#include <jansson.h>
#include <stdint.h>

#include "core/err.h"

#define CAPS_LAST 40 /* CAP_CHECKPOINT_RESTORE */
#define CAPS_ALL ((UINT64_C(1) << (CAPS_LAST + 1)) - 1)

/* Docker's default set: CHOWN DAC_OVERRIDE FSETID FOWNER MKNOD NET_RAW SETGID SETUID SETFCAP
 * SETPCAP NET_BIND_SERVICE SYS_CHROOT KILL AUDIT_WRITE (CapEff 00000000a80425fb). */
extern const uint64_t caps_docker_default;

/* "CAP_SYS_ADMIN", "SYS_ADMIN", "sys_admin" → its bit number; -1 when unknown. "ALL" is not a
 * capability (see caps_tweak). */
int caps_from_name(const char *name);
/* Bit number → "CAP_SYS_ADMIN", or NULL. */
const char *caps_name(int bit);

/* Docker's rule for cap-add/cap-drop over a base set: "ALL" in drop starts from nothing, "ALL" in
 * add starts from everything; otherwise base minus drop; then add (so add wins over drop).
 * add/drop are JSON arrays of names (or NULL). Errors name the field and the value, with
 * `what` as prefix ("linuxParameters.capabilities"). */
int caps_tweak(uint64_t base, const json_t *add, const json_t *drop, const char *what,
               uint64_t *ret_caps, struct wh_err *err);

/* The capabilities in mask as a JSON array of "CAP_*" names, in bit order. */
json_t *caps_to_json(uint64_t mask);
