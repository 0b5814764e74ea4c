/*
 * audit_agg.h: audit entries that a peer can cause in bulk (refused frames,
 * refused logins and enrollments), counted instead of written one by one.
 *
 * A refusal costs the peer one frame; written as its own audit entry it
 * would cost varskod a transaction and an fsync (issue 13: 8 sockets of junk
 * made about 5,000 fsync'd rows a second). So these entries are counted by
 * (event, actor, detail) and written about once a second, one audit row per
 * key with the count appended to the detail ("bad_json count=37") and the
 * time of the first of them, all rows of a second in one transaction of one
 * worker job. Nothing is dropped: a full table is handed to the worker at
 * once, and audit_agg_free() writes what the last jobs counted. Entries that decide
 * something (a login that succeeded, an enrollment) are never counted here:
 * they are written with the work they record.
 */
#ifndef VARSKO_AUDIT_AGG_H
#define VARSKO_AUDIT_AGG_H

#include <stdint.h>

struct audit_agg;
struct store;
struct worker;

/*
 * A new, empty aggregator that writes through worker `w`, and, once that
 * has stopped, into store `s` (both borrowed); it also counts the store's
 * own refusals that go with no write (store_set_refusal_audit(), until
 * audit_agg_free()). Call it before any job that enrolls is submitted.
 * *out owned by the caller:
 * audit_agg_free(). Returns VARSKO_OK, VARSKO_ERR_NOMEM or
 * VARSKO_ERR_INTERNAL.
 */
int audit_agg_new(struct audit_agg **out, struct worker *w, struct store *s);

/*
 * Count one entry at wall clock `now` (Unix seconds). event, actor and
 * detail are borrowed and truncated to the sizes of an audit job (event 31
 * bytes, actor an id, detail 63 bytes). Any thread (the lws thread, the
 * worker from inside a job); never blocks beyond a short mutex hold. NULL
 * a: nothing.
 */
void audit_agg_add(struct audit_agg *a, int64_t now, const char *event, const char *actor, const char *detail);

/*
 * Hand everything counted so far to the worker as one job (nothing when
 * nothing was counted). The server's tick calls it about once a second, as
 * fn(arg, now) of server_add_tick() (now unused). Any thread.
 */
void audit_agg_tick(void *a, int64_t now);

/*
 * At shutdown: call audit_agg_tick() before worker_stop() (the worker writes
 * what was counted until then), and this after it: it writes, on the
 * calling thread, what the jobs run during worker_stop() counted (a login
 * refused at the last moment), since nothing else uses the store any more;
 * then frees. NULL-safe.
 */
void audit_agg_free(struct audit_agg *a);

#endif
