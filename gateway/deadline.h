/*
 * deadline.h: the deadline engine of varskod (issue 4; DOMAIN.md "The legal
 * deadlines the system tracks"; DESIGN.md "Deadlines").
 *
 * The plan (deadline_plan()) is in deadline_plan.h.
 *
 * The engine: once a second (server_add_tick, monotonic timer) it asks the
 * worker to fire what is due by the wall clock: for every open (unmet)
 * deadline whose warn_at <= now and not warned, and every one whose due_at <
 * now and not escalated, one transaction records warned_at / escalated_at
 * and queues the MQTT message on varsko/<tenant>/team/<team>/frist
 * (store_outbox_add, needs_ack 0). So each warning and escalation happens
 * exactly once, also across a restart, and never early; a clock that jumps
 * back fires nothing. Then it pushes a `frist` frame to the team's leder
 * sessions (server_push) and kicks the outbox.
 */
#ifndef VARSKO_DEADLINE_H
#define VARSKO_DEADLINE_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct server;
struct deadline_engine;

/* Start the engine (registers its tick). cfg and srv borrowed until deadline_stop(). */
int deadline_start(struct deadline_engine **out, const struct config *cfg, struct server *srv);
void deadline_stop(struct deadline_engine *e); /* NULL-safe */

#endif
