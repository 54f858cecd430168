/* Request counters by action and status and a latency histogram, rendered as Prometheus text. */
#pragma once

void metrics_observe(const char *action, int status, double seconds);
/* A new heap string with the Prometheus exposition. */
char *metrics_render(void);
/* Free everything metrics_observe allocated (clean shutdown). */
void metrics_reset(void);
