/* clock.h: the one clock reading of the bench programs (seconds as a double). */
#ifndef VARSKO_BENCH_CLOCK_H
#define VARSKO_BENCH_CLOCK_H

#include <time.h>

/* Seconds on clock `id`: CLOCK_MONOTONIC for wall time, CLOCK_THREAD_CPUTIME_ID for one core's work. */
static inline double bench_clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
