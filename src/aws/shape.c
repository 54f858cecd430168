#include "aws/shape.h"

#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <regex.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

/* Deeper than any botocore input shape; guards against a recursive model. */
#define MAX_DEPTH 64
/* How much of a bad value a message quotes. */
#define QUOTE_MAX 64

static int op_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const struct shape_op *)elem)->name);
}

const struct shape_op *shape_model_op(const struct shape_model *m, const char *op_name)
{
    if (!m || !op_name)
        return NULL;
    return bsearch(op_name, m->ops, m->nops, sizeof(m->ops[0]), op_cmp);
}

/* ---- compiled patterns ----------------------------------------------------------------------
 * Each pattern compiles on first use, once per (model, shape), and lives as long as the
 * process. Readers take no lock: a slot is published with a release store. Patterns are built
 * for byte-wise matching in the C locale (see tools/gen_shapes.py), so compiling and matching
 * switch this thread to it, whatever locale the process runs in. */

struct pattern_cache {
    const struct shape_model *model;
    _Atomic(regex_t *) *slots; /* one per shape */
    struct pattern_cache *next;
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic(struct pattern_cache *) caches;
static locale_t c_locale; /* (locale_t)0 if newlocale failed: uselocale(0) then changes nothing */
static regex_t uncompilable; /* slot sentinel: the generator vets patterns, so never expected */

static struct pattern_cache *cache_for(const struct shape_model *m)
{
    struct pattern_cache *c;
    for (c = atomic_load_explicit(&caches, memory_order_acquire); c; c = c->next)
        if (c->model == m)
            return c;
    pthread_mutex_lock(&cache_lock);
    for (c = atomic_load_explicit(&caches, memory_order_relaxed); c; c = c->next)
        if (c->model == m)
            break;
    if (!c) {
        if (!c_locale)
            c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
        c = xcalloc(1, sizeof(*c));
        c->model = m;
        c->slots = xcalloc(m->nshapes, sizeof(c->slots[0]));
        c->next = atomic_load_explicit(&caches, memory_order_relaxed);
        atomic_store_explicit(&caches, c, memory_order_release);
    }
    pthread_mutex_unlock(&cache_lock);
    return c;
}

/* The compiled pattern of shape idx, NULL if it does not compile (then it is not enforced). */
static const regex_t *pattern_regex(const struct shape_model *m, unsigned idx)
{
    struct pattern_cache *c = cache_for(m);
    regex_t *re = atomic_load_explicit(&c->slots[idx], memory_order_acquire);
    if (!re) {
        pthread_mutex_lock(&cache_lock);
        re = atomic_load_explicit(&c->slots[idx], memory_order_relaxed);
        if (!re) {
            re = xmalloc(sizeof(*re));
            locale_t old = uselocale(c_locale);
            int rc = regcomp(re, m->shapes[idx].pattern, REG_EXTENDED | REG_NOSUB);
            uselocale(old);
            if (rc != 0) {
                free(re);
                re = &uncompilable;
            }
            atomic_store_explicit(&c->slots[idx], re, memory_order_release);
        }
        pthread_mutex_unlock(&cache_lock);
    }
    return re == &uncompilable ? NULL : re;
}

static bool pattern_matches(const regex_t *re, const char *s, size_t len)
{
    /* REG_STARTEND: the whole JSON string, even with an embedded NUL */
    regmatch_t range[1] = {{.rm_so = 0, .rm_eo = (regoff_t)len}};
    locale_t old = uselocale(c_locale);
    int rc = regexec(re, s, 1, range, REG_STARTEND);
    uselocale(old);
    return rc == 0;
}

/* ---- validation context ---------------------------------------------------------------------- */

struct vctx {
    const struct shape_model *m;
    const char *err_type;
    struct wh_err *err;
    unsigned depth;
    unsigned sensitive; /* > 0 inside a sensitive shape: values are not quoted */
    size_t len;
    char path[512]; /* "containerDefinitions[2].portMappings[0]" */
};

/* Append to the path; returns the length to restore with path_pop. Truncates quietly. */
__attribute__((format(printf, 2, 3))) static size_t path_push(struct vctx *c, const char *fmt, ...)
{
    size_t old = c->len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(c->path + c->len, sizeof(c->path) - c->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        c->len = c->len + (size_t)n < sizeof(c->path) ? c->len + (size_t)n : sizeof(c->path) - 1;
    return old;
}

static void path_pop(struct vctx *c, size_t old)
{
    c->len = old;
    c->path[old] = '\0';
}

/* Plain appends for the hot cases (every member and list element of every request), so the
 * path costs a copy, not a printf. */
static size_t path_append(struct vctx *c, const char *s, size_t n)
{
    size_t old = c->len;
    if (n > sizeof(c->path) - 1 - c->len)
        n = sizeof(c->path) - 1 - c->len;
    memcpy(c->path + c->len, s, n);
    c->len += n;
    c->path[c->len] = '\0';
    return old;
}

static size_t path_member(struct vctx *c, const char *name)
{
    size_t old = c->len;
    if (c->len)
        path_append(c, ".", 1);
    path_append(c, name, strlen(name));
    return old;
}

static size_t path_index(struct vctx *c, size_t i)
{
    char buf[24];
    size_t n = sizeof(buf);
    buf[--n] = ']';
    do {
        buf[--n] = (char)('0' + i % 10);
        i /= 10;
    } while (i);
    buf[--n] = '[';
    return path_append(c, buf + n, sizeof(buf) - n);
}

__attribute__((format(printf, 2, 3))) static int fail(struct vctx *c, const char *fmt, ...)
{
    char msg[sizeof(c->err->msg)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (!c->len)
        return wh_err_set(c->err, 400, c->err_type, "%s", msg);
    return wh_err_set(c->err, 400, c->err_type, "%s: %s", c->path, msg);
}

/* ---- formatting ------------------------------------------------------------------------------ */

static size_t utf8_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

/* 'value' (shortened at a character boundary), or "value" inside a sensitive shape. */
static const char *quote(const struct vctx *c, const char *s, size_t len, char buf[QUOTE_MAX + 8])
{
    if (c->sensitive)
        return "value";
    size_t n = len;
    if (n > QUOTE_MAX) {
        n = QUOTE_MAX;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    snprintf(buf, QUOTE_MAX + 8, "'%.*s%s'", (int)n, s, n < len ? "..." : "");
    return buf;
}

/* Without libm: doubles of magnitude 2^52 and above have no fraction. */
static bool integral(double x)
{
    if (x != x)
        return false;
    return fabs(x) >= 0x1p52 || x == (double)(long long)x;
}

/* Shortest text that reads back as x: 100, 1.5, 0.1. */
static const char *fmt_num(double x, char buf[32])
{
    if (integral(x) && fabs(x) < 1e18) {
        snprintf(buf, 32, "%.0f", x);
        return buf;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, 32, "%.*g", prec, x);
        if (strtod(buf, NULL) == x)
            break;
    }
    return buf;
}

static const char *value_text(const struct vctx *c, const json_t *v, char buf[32])
{
    if (c->sensitive)
        return "value";
    if (json_is_integer(v)) {
        snprintf(buf, 32, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return buf;
    }
    return fmt_num(json_number_value(v), buf);
}

static const char *const json_kinds[] = {
    [JSON_OBJECT] = "object", [JSON_ARRAY] = "array",  [JSON_STRING] = "string",
    [JSON_INTEGER] = "integer", [JSON_REAL] = "number", [JSON_TRUE] = "boolean",
    [JSON_FALSE] = "boolean",  [JSON_NULL] = "null",
};

static const char *const expected[] = {
    [SHAPE_STRUCTURE] = "a JSON object",
    [SHAPE_LIST] = "an array",
    [SHAPE_MAP] = "a JSON object",
    [SHAPE_STRING] = "a string",
    [SHAPE_INTEGER] = "an integer",
    [SHAPE_LONG] = "an integer",
    [SHAPE_BOOLEAN] = "a boolean",
    [SHAPE_DOUBLE] = "a number",
    [SHAPE_FLOAT] = "a number",
    [SHAPE_TIMESTAMP] = "a timestamp (epoch seconds or an ISO-8601 string)",
    [SHAPE_BLOB] = "a base64-encoded string",
    [SHAPE_DOCUMENT] = "a JSON value",
};

static int type_error(struct vctx *c, const struct shape *s, const json_t *v)
{
    return fail(c, "expected %s, got %s", expected[s->type], json_kinds[json_typeof(v)]);
}

/* min/max: "length 0 is below the minimum of 1", "500 is above the maximum of 100". */
static int check_bounds(struct vctx *c, const struct shape *s, double x, const char *what)
{
    char bound[32];
    if (s->has_min && x < s->min)
        return fail(c, "%s is below the minimum of %s", what, fmt_num(s->min, bound));
    if (s->has_max && x > s->max)
        return fail(c, "%s is above the maximum of %s", what, fmt_num(s->max, bound));
    return 0;
}

static int check_count(struct vctx *c, const struct shape *s, size_t n, const char *unit)
{
    char what[48];
    snprintf(what, sizeof(what), "%s %zu", unit, n);
    return check_bounds(c, s, (double)n, what);
}

/* ---- value syntax ---------------------------------------------------------------------------- */

static bool take_digits(const char **p, int n, int *ret)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if ((*p)[i] < '0' || (*p)[i] > '9')
            return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *ret = v;
    return true;
}

static bool take_char(const char **p, const char *set)
{
    if (!**p || !strchr(set, **p))
        return false;
    (*p)++;
    return true;
}

static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return days[m - 1] + (m == 2 && leap);
}

/* YYYY-MM-DD[(T| )hh:mm[:ss[.fff]][Z|±hh[:mm]]] */
static bool iso8601_valid(const char *s, size_t len)
{
    const char *p = s;
    int y, mo, d, h, mi, sec = 0, zh, zm = 0;
    if (strlen(s) != len)
        return false;
    if (!take_digits(&p, 4, &y) || !take_char(&p, "-") || !take_digits(&p, 2, &mo) ||
        !take_char(&p, "-") || !take_digits(&p, 2, &d))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
        return false;
    if (!*p)
        return true;
    if (!take_char(&p, "Tt ") || !take_digits(&p, 2, &h) || !take_char(&p, ":") ||
        !take_digits(&p, 2, &mi))
        return false;
    if (take_char(&p, ":")) {
        if (!take_digits(&p, 2, &sec))
            return false;
        if (take_char(&p, ".,")) {
            if (*p < '0' || *p > '9')
                return false;
            while (*p >= '0' && *p <= '9')
                p++;
        }
    }
    if (h > 23 || mi > 59 || sec > 60)
        return false;
    if (take_char(&p, "Zz"))
        return !*p;
    if (take_char(&p, "+-")) {
        if (!take_digits(&p, 2, &zh))
            return false;
        take_char(&p, ":");
        if (*p && !take_digits(&p, 2, &zm))
            return false;
        if (zh > 23 || zm > 59)
            return false;
    }
    return !*p;
}

/* Decoded size of standard base64 (padding optional), false if s is not base64. */
static bool base64_size(const char *s, size_t len, size_t *ret_size)
{
    size_t n = 0, pad = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        bool alpha = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                     (ch >= '0' && ch <= '9') || ch == '+' || ch == '/';
        if (alpha && !pad)
            n++;
        else if (ch == '=' && ++pad <= 2)
            continue;
        else
            return false;
    }
    if (n % 4 == 1 || (pad && (n + pad) % 4 != 0))
        return false;
    *ret_size = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
    return true;
}

/* ---- checkers, one per shape type ------------------------------------------------------------ */

static int check(struct vctx *c, unsigned idx, const json_t *v);

static int check_text(struct vctx *c, unsigned idx, const char *str, size_t len)
{
    const struct shape *s = &c->m->shapes[idx];
    char q[QUOTE_MAX + 8];
    if ((s->has_min || s->has_max) && check_count(c, s, utf8_chars(str, len), "length") < 0)
        return -1;
    if (s->nenums) {
        for (unsigned i = 0; i < s->nenums; i++)
            if (strlen(s->enums[i]) == len && memcmp(s->enums[i], str, len) == 0)
                return 0;
        char list[sizeof(c->err->msg)];
        size_t at = 0;
        for (unsigned i = 0; i < s->nenums && at < sizeof(list); i++)
            at += (size_t)snprintf(list + at, sizeof(list) - at, "%s%s", i ? ", " : "", s->enums[i]);
        return fail(c, "%s is not one of %s", quote(c, str, len, q), list);
    }
    if (s->pattern) {
        const regex_t *re = pattern_regex(c->m, idx);
        if (re && !pattern_matches(re, str, len))
            return fail(c, "%s does not match the pattern %s", quote(c, str, len, q),
                        s->pattern_src ? s->pattern_src : s->pattern);
    }
    return 0;
}

static int check_string(struct vctx *c, unsigned idx, const json_t *v)
{
    if (!json_is_string(v))
        return type_error(c, &c->m->shapes[idx], v);
    return check_text(c, idx, json_string_value(v), json_string_length(v));
}

/* Integers as JSON integers or integral reals, within [lo, hi] (a two's complement range). */
static int check_integral(struct vctx *c, unsigned idx, const json_t *v, json_int_t lo,
                          json_int_t hi, const char *range_name)
{
    const struct shape *s = &c->m->shapes[idx];
    char txt[32];
    double x;
    bool in_range;
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        in_range = i >= lo && i <= hi; /* compared as integers: 2^63-1 is no double */
        x = (double)i;
    } else if (json_is_real(v) && integral(json_real_value(v))) {
        x = json_real_value(v);
        in_range = x >= (double)lo && x < -(double)lo;
    } else if (json_is_real(v)) {
        return fail(c, "expected an integer, got %s",
                    c->sensitive ? "a fraction" : value_text(c, v, txt));
    } else {
        return type_error(c, s, v);
    }
    if (!in_range)
        return fail(c, "%s is out of range for a %s", value_text(c, v, txt), range_name);
    return check_bounds(c, s, x, value_text(c, v, txt));
}

static int check_integer(struct vctx *c, unsigned idx, const json_t *v)
{
    return check_integral(c, idx, v, INT32_MIN, INT32_MAX, "32-bit integer");
}

static int check_long(struct vctx *c, unsigned idx, const json_t *v)
{
    return check_integral(c, idx, v, INT64_MIN, INT64_MAX, "64-bit integer");
}

static int check_number(struct vctx *c, unsigned idx, const json_t *v)
{
    char txt[32];
    if (!json_is_number(v))
        return type_error(c, &c->m->shapes[idx], v);
    return check_bounds(c, &c->m->shapes[idx], json_number_value(v), value_text(c, v, txt));
}

static int check_boolean(struct vctx *c, unsigned idx, const json_t *v)
{
    return json_is_boolean(v) ? 0 : type_error(c, &c->m->shapes[idx], v);
}

static int check_timestamp(struct vctx *c, unsigned idx, const json_t *v)
{
    char q[QUOTE_MAX + 8];
    if (json_is_number(v))
        return 0;
    if (!json_is_string(v))
        return type_error(c, &c->m->shapes[idx], v);
    if (iso8601_valid(json_string_value(v), json_string_length(v)))
        return 0;
    return fail(c, "expected %s, got %s", expected[SHAPE_TIMESTAMP],
                quote(c, json_string_value(v), json_string_length(v), q));
}

static int check_blob(struct vctx *c, unsigned idx, const json_t *v)
{
    size_t size;
    if (!json_is_string(v))
        return type_error(c, &c->m->shapes[idx], v);
    if (!base64_size(json_string_value(v), json_string_length(v), &size))
        return fail(c, "expected %s, got a string that is not base64", expected[SHAPE_BLOB]);
    return check_count(c, &c->m->shapes[idx], size, "decoded length");
}

static int check_document(struct vctx *c, unsigned idx, const json_t *v)
{
    (void)c, (void)idx, (void)v;
    return 0;
}

static int union_error(struct vctx *c, const struct shape *s, unsigned nset)
{
    char names[512];
    size_t at = 0;
    for (unsigned i = 0; i < s->nmembers && at < sizeof(names); i++)
        at += (size_t)snprintf(names + at, sizeof(names) - at, "%s%s", i ? ", " : "",
                               s->members[i].name);
    return fail(c, "exactly one of %s must be set, got %u", names, nset);
}

static int check_structure(struct vctx *c, unsigned idx, const json_t *v)
{
    const struct shape *s = &c->m->shapes[idx];
    unsigned nset = 0;
    if (!json_is_object(v))
        return type_error(c, s, v);
    for (unsigned i = 0; i < s->nmembers; i++) {
        const struct shape_member *mem = &s->members[i];
        const json_t *mv = json_object_get(v, mem->name);
        size_t old = path_member(c, mem->name);
        int r = 0;
        if (mv && !json_is_null(mv)) {
            nset++;
            r = check(c, mem->shape, mv);
        } else if (mem->required) {
            r = wh_err_set(c->err, 400, c->err_type, "Missing required parameter: %s", c->path);
        }
        path_pop(c, old);
        if (r < 0)
            return r;
    }
    if (s->is_union && nset != 1)
        return union_error(c, s, nset);
    return 0;
}

static int check_list(struct vctx *c, unsigned idx, const json_t *v)
{
    const struct shape *s = &c->m->shapes[idx];
    if (!json_is_array(v))
        return type_error(c, s, v);
    if (check_count(c, s, json_array_size(v), "count") < 0)
        return -1;
    for (size_t i = 0; i < json_array_size(v); i++) {
        size_t old = path_index(c, i);
        int r = check(c, s->member, json_array_get(v, i));
        path_pop(c, old);
        if (r < 0)
            return r;
    }
    return 0;
}

static int check_map(struct vctx *c, unsigned idx, const json_t *v)
{
    const struct shape *s = &c->m->shapes[idx];
    const char *key;
    json_t *val;
    if (!json_is_object(v))
        return type_error(c, s, v);
    if (check_count(c, s, json_object_size(v), "count") < 0)
        return -1;
    json_object_foreach ((json_t *)v, key, val) {
        size_t old = path_push(c, " (key '%s')", key);
        int r = check_text(c, s->key, key, strlen(key));
        path_pop(c, old);
        if (r < 0)
            return r;
        old = path_push(c, "[\"%s\"]", key);
        r = check(c, s->value, val);
        path_pop(c, old);
        if (r < 0)
            return r;
    }
    return 0;
}

static int (*const checkers[])(struct vctx *, unsigned, const json_t *) = {
    [SHAPE_STRUCTURE] = check_structure, [SHAPE_LIST] = check_list,
    [SHAPE_MAP] = check_map,             [SHAPE_STRING] = check_string,
    [SHAPE_INTEGER] = check_integer,     [SHAPE_LONG] = check_long,
    [SHAPE_BOOLEAN] = check_boolean,     [SHAPE_DOUBLE] = check_number,
    [SHAPE_FLOAT] = check_number,        [SHAPE_TIMESTAMP] = check_timestamp,
    [SHAPE_BLOB] = check_blob,           [SHAPE_DOCUMENT] = check_document,
};

static int check(struct vctx *c, unsigned idx, const json_t *v)
{
    const struct shape *s = &c->m->shapes[idx];
    if (c->depth >= MAX_DEPTH)
        return fail(c, "nested too deeply");
    c->depth++;
    c->sensitive += s->sensitive;
    int r = checkers[s->type](c, idx, v);
    c->sensitive -= s->sensitive;
    c->depth--;
    return r;
}

int shape_validate_input(const struct shape_model *m, const struct shape_op *op, const json_t *v,
                         const char *err_type, struct wh_err *err)
{
    if (!err_type)
        err_type = "ValidationException";
    if (v && !json_is_object(v))
        return wh_err_set(err, 400, err_type, "expected a JSON object for the request body");
    if (!op || op->input < 0)
        return 0;
    json_t *empty = v ? NULL : json_object();
    if (!v && !empty)
        abort(); /* allocation failure, as xmalloc */
    struct vctx c = {.m = m, .err_type = err_type, .err = err};
    int r = check(&c, (unsigned)op->input, v ? v : empty);
    json_decref(empty);
    return r;
}
