#include "sched/query.h"

#include <ctype.h>
#include <fnmatch.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/xalloc.h"

enum subject { SUBJ_ATTRIBUTE, SUBJ_INSTANCE_ID, SUBJ_AGENT_CONNECTED, SUBJ_AGENT_VERSION,
               SUBJ_REGISTERED_AT, SUBJ_RUNNING_TASKS, SUBJ_TASK_GROUP };
enum op { OP_EQ, OP_NE, OP_GT, OP_GE, OP_LT, OP_LE, OP_EXISTS, OP_NOT_EXISTS, OP_IN, OP_NOT_IN,
          OP_MATCHES, OP_NOT_MATCHES };
enum node_kind { NODE_AND, NODE_OR, NODE_NOT, NODE_CMP };

struct query {
    enum node_kind kind;
    struct query *a, *b; /* AND/OR: both; NOT: a */
    enum subject subj;
    char *attr; /* SUBJ_ATTRIBUTE */
    enum op op;
    char **values;
    size_t nvalues;
    regex_t re;
    bool has_re;
    /* Placement matches the same few values (instance types, zones) over thousands of
     * instances: the last verdicts of the pattern, by value. A query is used by one thread. */
    struct {
        char *value;
        bool match;
    } memo[8];
};

static const struct {
    const char *word;
    enum op op;
    bool needs_value;
} ops[] = {
    {"==", OP_EQ, true},          {"equals", OP_EQ, true},
    {"!=", OP_NE, true},          {"not_equals", OP_NE, true},
    {">=", OP_GE, true},          {"greater_than_equal", OP_GE, true},
    {">", OP_GT, true},           {"greater_than", OP_GT, true},
    {"<=", OP_LE, true},          {"less_than_equal", OP_LE, true},
    {"<", OP_LT, true},           {"less_than", OP_LT, true},
    {"exists", OP_EXISTS, false}, {"!exists", OP_NOT_EXISTS, false},
    {"not_exists", OP_NOT_EXISTS, false},
    {"in", OP_IN, true},          {"!in", OP_NOT_IN, true},
    {"not_in", OP_NOT_IN, true},  {"=~", OP_MATCHES, true},
    {"matches", OP_MATCHES, true}, {"!~", OP_NOT_MATCHES, true},
    {"not_matches", OP_NOT_MATCHES, true},
};

static const struct {
    const char *word;
    enum subject subj;
} subjects[] = {
    {"ec2InstanceId", SUBJ_INSTANCE_ID},   {"agentConnected", SUBJ_AGENT_CONNECTED},
    {"agentVersion", SUBJ_AGENT_VERSION},  {"registeredAt", SUBJ_REGISTERED_AT},
    {"runningTasksCount", SUBJ_RUNNING_TASKS}, {"task:group", SUBJ_TASK_GROUP},
};

/* ---- tokens ---- */

struct tok {
    char *text;
    size_t pos;
    bool quoted;
};

struct parser {
    const char *src;
    struct tok *toks;
    size_t n, i;
    struct wh_err *err;
};

static bool is_punct(char c)
{
    return c == '(' || c == ')' || c == '[' || c == ']' || c == ',';
}

static bool is_opchar(char c)
{
    return c == '=' || c == '!' || c == '<' || c == '>' || c == '&' || c == '|' || c == '~';
}

/* s starts with the whole word w (not a longer word). */
static bool word_at(const char *s, const char *w)
{
    size_t n = strlen(w);
    return strncmp(s, w, n) == 0 && !isalnum((unsigned char)s[n]) && s[n] != '_' && s[n] != ':';
}

static int fail(struct parser *p, size_t pos, const char *what)
{
    return wh_err_set(p->err, 400, "InvalidParameterException",
                      "invalid query expression '%s': %s at position %zu", p->src, what, pos + 1);
}

static int tokenize(struct parser *p)
{
    const char *s = p->src;
    size_t i = 0, len = strlen(s);
    while (i < len) {
        if (isspace((unsigned char)s[i])) {
            i++;
            continue;
        }
        size_t start = i;
        struct tok t = {.pos = start};
        if (is_punct(s[i])) {
            t.text = xstrndup(s + i, 1);
            i++;
        } else if (s[i] == '\'' || s[i] == '"') {
            char q = s[i++];
            const char *end = strchr(s + i, q);
            if (!end)
                return fail(p, start, "unterminated quoted value");
            t.text = xstrndup(s + i, (size_t)(end - (s + i)));
            t.quoted = true;
            i = (size_t)(end - s) + 1;
        } else if (s[i] == '!' && (word_at(s + i + 1, "exists") || word_at(s + i + 1, "in"))) {
            i += word_at(s + i + 1, "exists") ? 7 : 3; /* "!exists", "!in" */
            t.text = xstrndup(s + start, i - start);
        } else if (is_opchar(s[i])) {
            while (i < len && is_opchar(s[i]))
                i++;
            t.text = xstrndup(s + start, i - start);
        } else {
            /* A word ends at space, punctuation or an operator ('!' only as "!=" or "!~"). */
            while (i < len && !isspace((unsigned char)s[i]) && !is_punct(s[i]) &&
                   !(is_opchar(s[i]) && s[i] != '!') &&
                   !(s[i] == '!' && (s[i + 1] == '=' || s[i + 1] == '~')))
                i++;
            t.text = xstrndup(s + start, i - start);
        }
        p->toks = xrealloc(p->toks, (p->n + 1) * sizeof(*p->toks));
        p->toks[p->n++] = t;
    }
    return 0;
}

static struct tok *peek(struct parser *p)
{
    return p->i < p->n ? &p->toks[p->i] : NULL;
}

static bool accept(struct parser *p, const char *a, const char *b)
{
    struct tok *t = peek(p);
    if (t && !t->quoted && (strcmp(t->text, a) == 0 || (b && strcmp(t->text, b) == 0))) {
        p->i++;
        return true;
    }
    return false;
}

static size_t here(struct parser *p)
{
    return p->i < p->n ? p->toks[p->i].pos : strlen(p->src);
}

/* ---- grammar ---- */

static struct query *parse_or(struct parser *p);

static struct query *node(enum node_kind k, struct query *a, struct query *b)
{
    struct query *q = xcalloc(1, sizeof(*q));
    q->kind = k;
    q->a = a;
    q->b = b;
    return q;
}

static int parse_values(struct parser *p, struct query *q)
{
    bool list = accept(p, "[", NULL);
    if (!list && (q->op == OP_IN || q->op == OP_NOT_IN) && peek(p) && strcmp(peek(p)->text, "(") == 0) {
        p->i++; /* some write in (a, b) */
        list = true;
    }
    for (;;) {
        struct tok *t = peek(p);
        if (!t || (!t->quoted && (is_punct(t->text[0]))))
            return fail(p, here(p), "expected a value");
        q->values = xrealloc(q->values, (q->nvalues + 1) * sizeof(char *));
        q->values[q->nvalues++] = xstrdup(t->text);
        p->i++;
        if (!list)
            return 0;
        if (accept(p, ",", NULL))
            continue;
        if (accept(p, "]", NULL) || accept(p, ")", NULL))
            return 0;
        return fail(p, here(p), "expected ',' or ']' in a list");
    }
}

static struct query *parse_cmp(struct parser *p)
{
    struct tok *t = peek(p);
    if (!t || t->quoted || is_punct(t->text[0]))
        return fail(p, here(p), "expected a subject such as attribute:NAME"), NULL;
    struct query *q = node(NODE_CMP, NULL, NULL);
    if (strncmp(t->text, "attribute:", 10) == 0 && t->text[10]) {
        q->subj = SUBJ_ATTRIBUTE;
        q->attr = xstrdup(t->text + 10);
    } else {
        size_t i;
        for (i = 0; i < ARRAY_SIZE(subjects); i++)
            if (strcmp(t->text, subjects[i].word) == 0)
                break;
        if (i == ARRAY_SIZE(subjects)) {
            query_free(q);
            char what[160];
            snprintf(what, sizeof(what), "unknown subject '%.80s'", t->text);
            return fail(p, t->pos, what), NULL;
        }
        q->subj = subjects[i].subj;
    }
    p->i++;
    t = peek(p);
    size_t oi = ARRAY_SIZE(ops);
    if (t && !t->quoted)
        for (oi = 0; oi < ARRAY_SIZE(ops); oi++)
            if (strcmp(t->text, ops[oi].word) == 0)
                break;
    if (oi == ARRAY_SIZE(ops)) {
        query_free(q);
        return fail(p, here(p), "expected an operator (==, !=, >, >=, <, <=, exists, in, =~, ...)"), NULL;
    }
    q->op = ops[oi].op;
    p->i++;
    if (ops[oi].needs_value && parse_values(p, q) < 0) {
        query_free(q);
        return NULL;
    }
    if ((q->op == OP_MATCHES || q->op == OP_NOT_MATCHES)) {
        cleanup_free char *anchored = xasprintf("^(%s)$", q->values[0]);
        if (regcomp(&q->re, anchored, REG_EXTENDED | REG_NOSUB) != 0) {
            query_free(q);
            return fail(p, here(p), "invalid regular expression"), NULL;
        }
        q->has_re = true;
    }
    return q;
}

static struct query *parse_not(struct parser *p)
{
    if (accept(p, "not", "!")) {
        struct query *a = parse_not(p);
        return a ? node(NODE_NOT, a, NULL) : NULL;
    }
    if (accept(p, "(", NULL)) {
        struct query *a = parse_or(p);
        if (!a)
            return NULL;
        if (!accept(p, ")", NULL)) {
            query_free(a);
            return fail(p, here(p), "expected ')'"), NULL;
        }
        return a;
    }
    return parse_cmp(p);
}

static struct query *parse_and(struct parser *p)
{
    struct query *a = parse_not(p);
    while (a && accept(p, "and", "&&")) {
        struct query *b = parse_not(p);
        if (!b) {
            query_free(a);
            return NULL;
        }
        a = node(NODE_AND, a, b);
    }
    return a;
}

static struct query *parse_or(struct parser *p)
{
    struct query *a = parse_and(p);
    while (a && accept(p, "or", "||")) {
        struct query *b = parse_and(p);
        if (!b) {
            query_free(a);
            return NULL;
        }
        a = node(NODE_OR, a, b);
    }
    return a;
}

int query_parse(const char *text, struct query **ret_query, struct wh_err *err)
{
    struct parser p = {.src = text, .err = err};
    struct query *q = NULL;
    if (strlen(text) > 2000)
        wh_err_set(err, 400, "InvalidParameterException",
                   "query expression is %zu characters long; the limit is 2000", strlen(text));
    else if (tokenize(&p) == 0) {
        if (p.n == 0)
            fail(&p, 0, "empty expression");
        else if ((q = parse_or(&p)) && p.i < p.n) {
            fail(&p, here(&p), "unexpected text after the expression");
            query_free(q);
            q = NULL;
        }
    }
    for (size_t i = 0; i < p.n; i++)
        free(p.toks[i].text);
    free(p.toks);
    if (!q)
        return -1;
    *ret_query = q;
    return 0;
}

void query_free(struct query *q)
{
    if (!q)
        return;
    query_free(q->a);
    query_free(q->b);
    free(q->attr);
    for (size_t i = 0; i < q->nvalues; i++)
        free(q->values[i]);
    free(q->values);
    if (q->has_re)
        regfree(&q->re);
    for (size_t i = 0; i < ARRAY_SIZE(q->memo); i++)
        free(q->memo[i].value);
    free(q);
}

/* ---- evaluation ---- */

static bool parse_number(const char *s, double *ret)
{
    char *end;
    double d = strtod(s, &end);
    if (end == s || *end)
        return false;
    *ret = d;
    return true;
}

/* registeredAt compares against dates: "2024-01-31" or "2024-01-31T10:00:00". */
static bool parse_date(const char *s, double *ret)
{
    struct tm tm = {0};
    const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!end || *end) {
        memset(&tm, 0, sizeof(tm));
        end = strptime(s, "%Y-%m-%d", &tm);
        if (!end || *end)
            return parse_number(s, ret);
    }
    *ret = (double)timegm(&tm);
    return true;
}

static int compare(const struct query *q, const char *have, const char *want)
{
    double a, b;
    if (q->subj == SUBJ_REGISTERED_AT && parse_number(have, &a) && parse_date(want, &b))
        return (a > b) - (a < b);
    if (parse_number(have, &a) && parse_number(want, &b))
        return (a > b) - (a < b);
    return strcmp(have, want);
}

static bool equals(const char *have, const char *want)
{
    return strchr(want, '*') ? fnmatch(want, have, 0) == 0 : strcmp(have, want) == 0;
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* have =~ the pattern, through the memo (the cast: the memo is a cache, not the query). */
static bool matches(const struct query *q, const char *have)
{
    struct query *m = (struct query *)q;
    size_t slot = hash_str(have) % ARRAY_SIZE(m->memo);
    if (m->memo[slot].value && strcmp(m->memo[slot].value, have) == 0)
        return m->memo[slot].match;
    bool match = regexec(&q->re, have, 0, NULL, 0) == 0;
    free(m->memo[slot].value);
    m->memo[slot].value = xstrdup(have);
    m->memo[slot].match = match;
    return match;
}

/* One value of the subject against the operator (absent: have == NULL). */
static bool eval_value(const struct query *q, const char *have)
{
    switch (q->op) {
    case OP_EXISTS:
        return have != NULL;
    case OP_NOT_EXISTS:
        return have == NULL;
    case OP_EQ:
        return have && equals(have, q->values[0]);
    case OP_NE:
        return !have || !equals(have, q->values[0]);
    case OP_GT:
        return have && compare(q, have, q->values[0]) > 0;
    case OP_GE:
        return have && compare(q, have, q->values[0]) >= 0;
    case OP_LT:
        return have && compare(q, have, q->values[0]) < 0;
    case OP_LE:
        return have && compare(q, have, q->values[0]) <= 0;
    case OP_IN:
    case OP_NOT_IN: {
        bool in = false;
        for (size_t i = 0; have && i < q->nvalues && !in; i++)
            in = equals(have, q->values[i]);
        return q->op == OP_IN ? in : !in;
    }
    case OP_MATCHES:
        return have && matches(q, have);
    case OP_NOT_MATCHES:
        return !have || !matches(q, have);
    }
    return false;
}

/* What task:group sees: the instance's groups plus those placement has just added. */
struct placed {
    const char *group;
    unsigned n;
};

/* task:group is a set: positive operators hold when some task's group satisfies them,
 * negative ones when no task's group fails them. */
static bool eval_groups(const struct query *q, const struct sched_instance *inst,
                        const struct placed *extra)
{
    bool negative = q->op == OP_NE || q->op == OP_NOT_IN || q->op == OP_NOT_MATCHES ||
                    q->op == OP_NOT_EXISTS;
    bool any = false;
    for (size_t i = 0; i <= inst->ngroups; i++) {
        const char *g = i < inst->ngroups ? inst->groups[i].name : extra->group;
        unsigned n = i < inst->ngroups ? inst->groups[i].count : extra->n;
        if (!g || n == 0)
            continue;
        any = true;
        bool r = eval_value(q, g);
        if (negative && !r)
            return false;
        if (!negative && r)
            return true;
    }
    return any ? negative : eval_value(q, NULL);
}

static bool eval_cmp(const struct query *q, const struct sched_instance *inst,
                     const struct placed *extra)
{
    char buf[64];
    const char *have = NULL;
    bool present = false;
    switch (q->subj) {
    case SUBJ_TASK_GROUP:
        return eval_groups(q, inst, extra);
    case SUBJ_ATTRIBUTE:
        have = sched_instance_attr(inst, q->attr, &present);
        if (present && !have)
            have = ""; /* set without a value: exists, equals nothing */
        break;
    case SUBJ_INSTANCE_ID:
        have = inst->ec2_instance_id;
        break;
    case SUBJ_AGENT_CONNECTED:
        have = inst->agent_connected ? "true" : "false";
        break;
    case SUBJ_AGENT_VERSION:
        have = inst->agent_version;
        break;
    case SUBJ_REGISTERED_AT:
        snprintf(buf, sizeof(buf), "%.0f", inst->registered_at);
        have = buf;
        break;
    case SUBJ_RUNNING_TASKS:
        snprintf(buf, sizeof(buf), "%u", inst->running_tasks);
        have = buf;
        break;
    }
    return eval_value(q, have);
}

static bool eval(const struct query *q, const struct sched_instance *inst,
                 const struct placed *extra)
{
    switch (q->kind) {
    case NODE_AND:
        return eval(q->a, inst, extra) && eval(q->b, inst, extra);
    case NODE_OR:
        return eval(q->a, inst, extra) || eval(q->b, inst, extra);
    case NODE_NOT:
        return !eval(q->a, inst, extra);
    case NODE_CMP:
        return eval_cmp(q, inst, extra);
    }
    return false;
}

bool query_eval(const struct query *q, const struct sched_instance *inst)
{
    struct placed none = {NULL, 0};
    return eval(q, inst, &none);
}

bool query_eval_placed(const struct query *q, const struct sched_instance *inst,
                       const char *group, unsigned placed)
{
    struct placed extra = {group, placed};
    return eval(q, inst, &extra);
}

const char *sched_instance_attr(const struct sched_instance *inst, const char *name,
                                bool *ret_present)
{
    for (size_t i = 0; i < inst->nattrs; i++)
        if (strcmp(inst->attrs[i].name, name) == 0) {
            if (ret_present)
                *ret_present = true;
            return inst->attrs[i].value;
        }
    if (ret_present)
        *ret_present = false;
    return NULL;
}

unsigned sched_instance_group_count(const struct sched_instance *inst, const char *group)
{
    unsigned n = 0;
    for (size_t i = 0; i < inst->ngroups; i++)
        if (!group || (inst->groups[i].name && strcmp(inst->groups[i].name, group) == 0))
            n += inst->groups[i].count;
    return n;
}
