/*
 * server.h: the TLS WebSocket server of varskod (libwebsockets).
 *
 * One lws context with one vhost on cfg->listen:cfg->port, TLS only (TLS 1.2
 * or newer, ECDHE+AEAD suites for TLS 1.2, ALPN "http/1.1" only), serving
 * the WebSocket subprotocol "varsko.v1" on path "/" exactly as
 * docs/WIRE-BEHAVIOUR.md describes, and over HTTPS either the web client's
 * files (server_set_web) or a minimal page on GET /. A
 * second vhost in the same context, the admin listener (admin.h), serves
 * /healthz and /metrics over plain HTTP on cfg->admin_listen:admin_port.
 *
 * Threads: everything here runs on the thread that calls server_create()
 * and server_run() (the lws thread), except server_stop(), which any
 * thread or a signal handler may call. The server starts and owns the store
 * worker thread (worker.h); all database work of a session runs there.
 */
#ifndef VARSKO_SERVER_H
#define VARSKO_SERVER_H

#include <stdint.h>

#include "proto.h"

struct config;
struct store;
struct server;

/*
 * Create the lws context and vhost (binds the listening socket) and start
 * the worker thread.
 *   cfg           borrowed; must stay valid and unchanged until server_destroy().
 *   store         borrowed; used only on the worker thread; the caller closes
 *                 it after server_destroy().
 *   org_sk        borrowed 64-byte organisation secret key in sodium_malloc
 *                 memory; from now until server_destroy() only the worker
 *                 thread touches it, and the server keeps it no-access
 *                 (sodium_mprotect_noaccess) while it is not in use. It is
 *                 read-write again when server_destroy() returns. The worker
 *                 signs rosters with it.
 *   gw_sk         the gateway's 64-byte secret key, the same way (sodium_malloc
 *                 memory, no-access except while the worker signs a receipt or
 *                 a gateway event). May be NULL: submissions are then refused
 *                 as unavailable.
 *   gateway_cert  copied.
 * *out is owned by the caller: server_destroy(). Returns VARSKO_OK,
 * VARSKO_ERR_NOMEM, VARSKO_ERR_CRYPTO, VARSKO_ERR_TLS (context or listener
 * could not be set up: bad certificate or key, port in use), VARSKO_ERR_IO
 * (the admin port cannot be bound) or VARSKO_ERR_INTERNAL.
 */
int server_create(struct server **out, const struct config *cfg, struct store *store, uint8_t *org_sk, uint8_t *gw_sk,
                  const struct proto_cert *gateway_cert);

/* The TCP port the server listens on (useful when cfg->port was taken as is). */
int server_port(const struct server *srv);

struct webroot;

/*
 * Serve the web client from `web` (borrowed: it must outlive the server;
 * webroot.h) on the HTTPS port instead of the plain page at /, with the
 * headers of docs/OPERATIONS.md "The web client". Before server_run().
 * VARSKO_OK or VARSKO_ERR_NOMEM.
 */
int server_set_web(struct server *srv, const struct webroot *web);

/* The organisation root key that hello carries from now on (PROTOCOL.md 16.2); before server_run(). */
void server_set_root(struct server *srv, const uint8_t root_pk[PROTO_PK_LEN]);

/*
 * Serve until server_stop() is called. Returns VARSKO_OK after a stop, or
 * VARSKO_ERR_INTERNAL if the event loop failed.
 */
int server_run(struct server *srv);

/*
 * Ask server_run() to return. Safe from any thread and from a signal
 * handler (it sets a flag and wakes the event loop).
 */
void server_stop(struct server *srv);

/*
 * Stop the worker (jobs already queued still run, so their audit entries are
 * written), close every connection and free everything. NULL-safe. Call on
 * the lws thread after server_run() has returned.
 */
void server_destroy(struct server *srv);

/* ---- hooks for the other parts of varskod (all on the lws thread) ---- */

struct worker;

/* The store worker the server started; borrowed, valid until server_destroy(). */
struct worker *server_worker(struct server *srv);

struct audit_agg;

/* The counted audit entries (audit_agg.h); borrowed, valid until server_destroy(); any thread. */
struct audit_agg *server_audit_agg(struct server *srv);

struct metrics;
/*
 * The counters of /metrics and /healthz (metrics.h); borrowed, valid until
 * server_destroy(). Counting is thread-safe: the MQTT side counts its link.
 */
struct metrics *server_metrics(struct server *srv);

/* The port of the admin listener (admin.h), 0 when there is none. */
int server_admin_port(const struct server *srv);

/*
 * Call fn(arg, now) about once a second on the lws thread (an lws_sul timer
 * on the monotonic clock; `now` is the wall clock, time(NULL)). Up to
 * SERVER_TICKS_MAX functions. VARSKO_ERR_NOMEM when full.
 */
#define SERVER_TICKS_MAX 16
int server_add_tick(struct server *srv, void (*fn)(void *arg, int64_t now), void *arg);

/* fn(arg) is called on the lws thread after every commit that added outbox rows (the MQTT publisher). */
void server_set_outbox_kick(struct server *srv, void (*fn)(void *arg), void *arg);

/* Call the outbox kick now, if one is set (for other parts that added outbox rows). */
void server_outbox_kick(struct server *srv);

/*
 * Send the frame json[0..len) (borrowed; copied per session) to every
 * logged-in session whose certificate's user equals `user` (when not NULL),
 * and to every one whose team equals `team` (when not NULL) and whose role
 * is one of the comma-separated `roles` (NULL: myndighed, leder). A session
 * whose output queue is full is closed (1008) rather than left behind.
 * Returns the number of sessions it was queued for.
 */
int server_push(struct server *srv, const char *user, const char *team, const char *roles, const char *json,
                size_t len);

struct event_result;

/*
 * Worker thread only: store the gateway-signed event `kind` (flow.h, for
 * now only "leveret") for `reference` at `now`, signed with the gateway key,
 * with the same effects and result as event_apply(). Used by the MQTT
 * publisher at the first PUBACK of an underretning.
 */
int server_gateway_event(struct server *srv, struct store *st, const char *reference, const char *kind, int64_t now,
                         struct event_result *out);

#endif
