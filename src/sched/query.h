/* The ECS cluster query language, used by memberOf placement constraints and
 * ListContainerInstances filters:
 *
 *   expression := or ; or := and (("or"|"||") and)* ; and := not (("and"|"&&") not)*
 *   not := ("not"|"!") not | "(" expression ")" | subject operator [argument]
 *   subject := attribute:NAME | ec2InstanceId | agentConnected | agentVersion | registeredAt
 *              | runningTasksCount | task:group
 *   operator := == equals != not_equals > greater_than >= greater_than_equal < less_than
 *               <= less_than_equal exists !exists not_exists in !in not_in =~ matches
 *               !~ not_matches
 *   argument := value | [value, ...]      values may be quoted with ' or "
 *
 * Parsing refuses bad expressions with a message that quotes the expression and points at
 * the offending position. A parsed query keeps a small cache of its pattern verdicts, so one
 * thread at a time evaluates it (each request and each controller pass parses its own). */
#pragma once
#include <stdbool.h>

#include "core/err.h"
#include "sched/instance.h"

struct query;

/* Parse; on failure err is an InvalidParameterException naming the position. */
int query_parse(const char *text, struct query **ret_query, struct wh_err *err);
bool query_eval(const struct query *q, const struct sched_instance *inst);
/* As query_eval, with `placed` more tasks of group `group` on inst than its snapshot lists
 * (placement's own tasks so far, for task:group). */
bool query_eval_placed(const struct query *q, const struct sched_instance *inst,
                       const char *group, unsigned placed);
void query_free(struct query *q);
