/*
 * admin.h: the admin listener of varskod (docs/OPERATIONS.md "Health and
 * metrics"). Part of the server module: server.c starts and frees it.
 *
 * A second lws vhost in the server's lws context, so it runs on the same
 * event loop: plain HTTP (no TLS, no login) on cfg->admin_listen:admin_port,
 * loopback by default. It answers
 *   GET /healthz   200 or 503 with the JSON of metrics_health()
 *   GET /metrics   200 with the Prometheus text of metrics_text()
 * any other path 404, any other method 405. Nothing on this listener blocks:
 * what needs the database (outbox, deadlines, audit log, whether the store
 * answers) is read by a probe job on the store worker every
 * ADMIN_PROBE_SECONDS and kept on the lws thread; a request only renders
 * what is kept and the counters (metrics.h).
 *
 * Threads: everything here runs on the lws thread, except the probe job's
 * run(), which runs on the worker and touches only its job and the store.
 */
#ifndef VARSKO_ADMIN_H
#define VARSKO_ADMIN_H

struct server;
struct admin;

#define ADMIN_PROBE_SECONDS 2  /* the store is probed this often */
#define ADMIN_STALE_SECONDS 10 /* a store whose last good probe is older fails /healthz */

/*
 * With cfg->admin_port 0: *out = NULL and VARSKO_OK (no admin listener).
 * Else create the vhost (binds the port), register the probe on the
 * server's tick and queue the first probe. Call after the worker started.
 * *out owned by the server: admin_free() after worker_stop() (a probe's
 * done() uses it) and after the lws context is gone. VARSKO_OK,
 * VARSKO_ERR_NOMEM, VARSKO_ERR_IO (the port cannot be bound).
 */
int admin_start(struct admin **out, struct server *srv);

/* The port the admin listener is bound to, or 0 when there is none. */
int admin_port(const struct admin *a);

/* Free it. NULL-safe. */
void admin_free(struct admin *a);

#endif
