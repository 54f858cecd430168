/* The retention sweeper: a thread in wharfd that deletes events older than their group's
 * retention policy (reads already hide them; this frees the space). */
#pragma once

struct store;

void logs_retention_start(struct store *st, int interval_seconds);
void logs_retention_stop(void);
