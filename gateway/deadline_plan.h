/*
 * deadline_plan.h: the deadline rows of an underretning (DOMAIN.md "The
 * legal deadlines the system tracks"; DESIGN.md "Deadlines").
 *
 * deadline_plan() is pure: the deadline rows of an underretning received at
 * `received`, with their warning instants. The server calls it at submit
 * and stores the rows with store_deadline_add() in the same transaction; the
 * engine (deadline.h) later fires what the rows say is due.
 */
#ifndef VARSKO_DEADLINE_PLAN_H
#define VARSKO_DEADLINE_PLAN_H

#include <stddef.h>
#include <stdint.h>

struct config;

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

#endif
