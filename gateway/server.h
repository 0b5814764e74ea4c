/*
 * server.h: the TLS WebSocket server of varskod (libwebsockets).
 *
 * One lws context with one vhost on cfg->listen:cfg->port, TLS only (TLS 1.2
 * or newer, ECDHE+AEAD suites for TLS 1.2, ALPN "http/1.1" only), serving
 * the WebSocket subprotocol "varsko.v1" on path "/" exactly as
 * docs/WIRE-BEHAVIOUR.md describes, and a minimal HTTPS page on GET /.
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
 *                 read-write again when server_destroy() returns.
 *   gateway_cert  copied.
 * *out is owned by the caller: server_destroy(). Returns VARSKO_OK,
 * VARSKO_ERR_NOMEM, VARSKO_ERR_CRYPTO, VARSKO_ERR_TLS (context or listener
 * could not be set up: bad certificate or key, port in use) or
 * VARSKO_ERR_INTERNAL.
 */
int server_create(struct server **out, const struct config *cfg, struct store *store, uint8_t *org_sk,
                  const struct proto_cert *gateway_cert);

/* The TCP port the server listens on (useful when cfg->port was taken as is). */
int server_port(const struct server *srv);

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

#endif
