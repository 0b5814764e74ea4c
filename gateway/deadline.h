/*
 * deadline.h: the deadline engine of varskod (issue 4; DOMAIN.md "The legal
 * deadlines the system tracks"; DESIGN.md "Deadlines").
 *
 * deadline_plan() is pure: the deadline rows of an underretning received at
 * `received`, with their warning instants. The server calls it at submit
 * and stores the rows with store_deadline_add() in the same transaction.
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

#define DEADLINE_PLAN_MAX 4

struct deadline_plan_row {
	const char *kind; /* static: "vurdering", "kvittering", "tilbagemelding" */
	int64_t due_at;
	int64_t warn_at; /* 0: no warning */
};

/*
 * The deadlines of an underretning received at `received`: vurdering (warned
 * cfg->warn_vurdering_minutes before), kvittering (warned at the end of the
 * hverdag before the due day, i.e. one hverdag earlier; cfg->
 * warn_kvittering_hverdage), tilbagemelding (cfg->tilbagemelding_days, no
 * warning). rows has room for DEADLINE_PLAN_MAX; *n gets the count.
 * VARSKO_ERR_BAD_INPUT for an instant outside the calendar.
 */
int deadline_plan(const struct config *cfg, int64_t received, struct deadline_plan_row *rows, size_t *n);

/* Start the engine (registers its tick). cfg and srv borrowed until deadline_stop(). */
int deadline_start(struct deadline_engine **out, const struct config *cfg, struct server *srv);
void deadline_stop(struct deadline_engine *e); /* NULL-safe */

#endif
