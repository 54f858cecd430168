/* Clocks. Wall time for what users see (epoch seconds, fractional as AWS's JSON uses), the
 * monotonic clock for durations and deadlines. */
#pragma once
#include <stdint.h>

double time_now(void);       /* wall clock, epoch seconds */
double time_monotonic(void); /* seconds since an arbitrary point */
int64_t time_now_ms(void);
