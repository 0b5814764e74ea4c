/*
 * retention_tick.h: varskod's periodic purge of thread content
 * (retention.h has the rule; docs/THREADS.md "Retention").
 *
 * From the server's tick (once a second, lws thread) it hands one job to
 * the store worker shortly after start and then every hour; the job purges
 * at most RETENTION_BATCH threads (retention_purge, actor "varskod"), and
 * when the batch was full the next job goes at the next tick. Nothing of it
 * runs on the event loop but the scheduling; only one job is out at a time.
 */
#ifndef VARSKO_RETENTION_TICK_H
#define VARSKO_RETENTION_TICK_H

struct config;
struct server;
struct retention_engine;

#define RETENTION_INTERVAL 3600 /* seconds between two purge runs */
#define RETENTION_BATCH    100  /* threads purged by one worker job at most */

/* Start the periodic purge (registers its tick). cfg and srv borrowed until retention_stop(). */
int retention_start(struct retention_engine **out, const struct config *cfg, struct server *srv);

/* After server_run() returned and before server_destroy() (as deadline_stop()). NULL-safe. */
void retention_stop(struct retention_engine *e);

#endif
