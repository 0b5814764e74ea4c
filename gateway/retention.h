/*
 * retention.h: the retention rule of consultation threads (issue 10, Must
 * 8; docs/THREADS.md "Retention"), shared by varskod's periodic purge
 * (retention_tick.c) and `varskoctl threads purge` (ctl.c).
 *
 * A thread's content (its message envelopes, their recipient rows and its
 * read marks) is purged once its last activity (its creation, its last
 * message or its chain's last link, whichever is newest) is more than
 * thread_retention_days days old. What stays: the thread row (ids,
 * institution, times, last seq), its membership chain and membership rows,
 * and the audit log, which gets one "thread_purge" row per thread with the
 * counts and bytes that went. A purged thread is closed: see PROTOCOL.md
 * 17.8.
 */
#ifndef VARSKO_RETENTION_H
#define VARSKO_RETENTION_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "store_thread.h"

#define RETENTION_DAY 86400 /* seconds: a retention day is 24 hours of the wall clock */

/* The cutoff at `now` for `days` days: threads whose last activity is before it are due. */
int64_t retention_cutoff(int64_t now, int days);

/*
 * Purge (or, with dry_run, only find) at most max threads due at now for
 * `days` days, the oldest activity first, each in its own transaction
 * (store_thread_purge: audited with `actor`). fn (may be NULL) sees each
 * thread that was purged, or would be; *n counts them. A thread that became
 * active between the listing and its purge is skipped silently. Runs on the
 * caller's thread and blocks on the database: in varskod only on the store
 * worker. On an error the threads purged before it stay purged.
 */
int retention_purge(struct store *s, int64_t now, int days, int dry_run, size_t max, const char *actor,
                    int (*fn)(const struct store_thread_purge *p, void *arg), void *arg, size_t *n);

#endif
