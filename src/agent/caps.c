#include "agent/caps.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "core/xalloc.h"

/* Indexed by bit number (linux/capability.h). */
static const char *const full_names[CAPS_LAST + 1] = {
#define C(n) "CAP_" n
    C("CHOWN"),          C("DAC_OVERRIDE"),  C("DAC_READ_SEARCH"), C("FOWNER"),     C("FSETID"),
    C("KILL"),           C("SETGID"),        C("SETUID"),          C("SETPCAP"),    C("LINUX_IMMUTABLE"),
    C("NET_BIND_SERVICE"), C("NET_BROADCAST"), C("NET_ADMIN"),     C("NET_RAW"),    C("IPC_LOCK"),
    C("IPC_OWNER"),      C("SYS_MODULE"),    C("SYS_RAWIO"),       C("SYS_CHROOT"), C("SYS_PTRACE"),
    C("SYS_PACCT"),      C("SYS_ADMIN"),     C("SYS_BOOT"),        C("SYS_NICE"),   C("SYS_RESOURCE"),
    C("SYS_TIME"),       C("SYS_TTY_CONFIG"), C("MKNOD"),          C("LEASE"),      C("AUDIT_WRITE"),
    C("AUDIT_CONTROL"),  C("SETFCAP"),       C("MAC_OVERRIDE"),    C("MAC_ADMIN"),  C("SYSLOG"),
    C("WAKE_ALARM"),     C("BLOCK_SUSPEND"), C("AUDIT_READ"),      C("PERFMON"),    C("BPF"),
    C("CHECKPOINT_RESTORE"),
#undef C
};

#define B(n) (UINT64_C(1) << (n))
const uint64_t caps_docker_default = B(0) | B(1) | B(3) | B(4) | B(5) | B(6) | B(7) | B(8) |
                                     B(10) | B(13) | B(18) | B(27) | B(29) | B(31);
#undef B

int caps_from_name(const char *name)
{
    if (!name)
        return -1;
    if (strncasecmp(name, "CAP_", 4) == 0)
        name += 4;
    for (int i = 0; i <= CAPS_LAST; i++)
        if (strcasecmp(name, full_names[i] + 4) == 0)
            return i;
    return -1;
}

const char *caps_name(int bit)
{
    return bit >= 0 && bit <= CAPS_LAST ? full_names[bit] : NULL;
}

static bool is_all(const char *s)
{
    return s && (strcasecmp(s, "ALL") == 0 || strcasecmp(s, "CAP_ALL") == 0);
}

static bool has_all(const json_t *list)
{
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
        if (is_all(json_string_value(v)))
            return true;
    return false;
}

/* The names in list (except ALL) as a mask. */
static int to_mask(const json_t *list, const char *what, const char *key, uint64_t *ret,
                   struct wh_err *err)
{
    uint64_t m = 0;
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
        const char *s = json_string_value(v);
        if (is_all(s))
            continue;
        int bit = caps_from_name(s);
        if (bit < 0)
            return wh_err_set(err, 400, "InvalidParameterException",
                              "%s.%s[%zu] '%s' is not a Linux capability", what, key, i,
                              s ? s : "(not a string)");
        m |= UINT64_C(1) << bit;
    }
    *ret = m;
    return 0;
}

int caps_tweak(uint64_t base, const json_t *add, const json_t *drop, const char *what,
               uint64_t *ret_caps, struct wh_err *err)
{
    uint64_t a = 0, d = 0;
    if (to_mask(add, what, "add", &a, err) < 0 || to_mask(drop, what, "drop", &d, err) < 0)
        return -1;
    uint64_t caps;
    if (has_all(drop))
        caps = 0;
    else if (has_all(add))
        caps = CAPS_ALL & ~d;
    else
        caps = base & ~d;
    *ret_caps = caps | a;
    return 0;
}

json_t *caps_to_json(uint64_t mask)
{
    json_t *arr = json_array();
    for (int i = 0; i <= CAPS_LAST; i++)
        if (mask & (UINT64_C(1) << i))
            json_array_append_new(arr, json_string(full_names[i]));
    return arr;
}
