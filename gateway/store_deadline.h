/*
 * store_deadline.h: what the deadline engine (deadline.c) and the reports
 * (ctl_report.c) need from the store beyond store.h's "deadlines" section.
 * Implemented in store_deadline.c; same rules as store.h (one connection, not
 * thread-safe, prepared statements, BEGIN IMMEDIATE for writes, VARSKO_OK or
 * a negative VARSKO_ERR_*).
 */
#ifndef VARSKO_STORE_DEADLINE_H
#define VARSKO_STORE_DEADLINE_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "store.h"

struct report_input;
struct report_item;

/* ---- the deadline engine ---- */

#define STORE_FRIST_PAYLOAD_MAX 256 /* the frist JSON object (flow.h) */
#define STORE_FIRE_MAX          32  /* warnings and escalations one store_deadline_fire() handles */

/* One warning or escalation that store_deadline_fire() recorded. */
struct store_deadline_fired {
	char reference[PROTO_ID_MAX + 1];
	char team[PROTO_ID_MAX + 1];
	char deadline[16]; /* "vurdering" or "kvittering" */
	int escalation;    /* 0: warning, 1: escalation */
	int64_t due_at;
	/*
	 * {"deadline":D,"due":TIME,"kind":"warning"|"escalation","reference":S,
	 * "type":"frist"}, compact with sorted keys: the MQTT payload queued on
	 * varsko/<tenant>/team/<team>/frist, and also the `frist` frame (flow.h)
	 * for the team's leder sessions.
	 */
	char payload[STORE_FRIST_PAYLOAD_MAX];
	size_t payload_len;
};

/*
 * Record the warnings and escalations that are due at the wall-clock
 * instant `now`, in ONE transaction of its own (the caller must not have one
 * open): only vurdering and kvittering deadlines that are not met; a
 * warning when warn_at <= now <= due_at and it was not warned yet (a
 * warning that comes too late for its deadline is never sent: the
 * escalation says more); an escalation when due_at < now and it was not
 * escalated yet. For each: warned_at or escalated_at = now, an outbox row
 * (store_outbox_add, needs_ack 0) on varsko/<tenant>/team/<team>/frist with
 * the payload above, and an audit entry ("deadline_warning" or
 * "deadline_escalation", actor "-", detail "ref=... deadline=... due=...").
 * Since the marks and the outbox rows commit together, each warning and
 * escalation is queued exactly once, also across a restart or a crash, and a
 * clock that goes back finds nothing new. At most `max` (<= STORE_FIRE_MAX)
 * are handled per call, soonest due first; call again to get the rest.
 * out[0..*n) describes what was committed (*n is 0 after a failure).
 */
int store_deadline_fire(struct store *s, int64_t now, const char *tenant, struct store_deadline_fired *out, size_t max,
                        size_t *n);

/* ---- metrics (read only) ---- */

/* The open deadlines of one team and kind (strings borrowed for the callback). */
struct store_deadline_count {
	const char *team;
	const char *kind; /* "vurdering", "kvittering", "tilbagemelding", "undersoegelse" */
	int64_t due;       /* open: not met yet */
	int64_t warned;    /* of those, warned */
	int64_t escalated; /* of those, escalated */
	int64_t overdue;   /* of those, due_at < now */
};

/*
 * Call fn(c, arg) for every (team, kind) that has open (not met) deadlines,
 * ordered by team then kind, with the counts at the wall-clock instant
 * `now`. For /metrics: counts only, never a reference. Stops at fn's first
 * non-OK and returns it.
 */
int store_deadline_counts(struct store *s, int64_t now, int (*fn)(const struct store_deadline_count *c, void *arg),
                          void *arg);

/* ---- reports (read only) ---- */

/*
 * Call fn(id, name, arg) for every team, ordered by id. The strings are
 * borrowed for the call. Stops at fn's first non-OK and returns it.
 */
int store_team_foreach(struct store *s, int (*fn)(const char *id, const char *name, void *arg), void *arg);

/*
 * Call fn(item, arg) for every underretning received in [from, to] (Unix
 * seconds, both inclusive) whose current team is `team` (NULL: every team),
 * ordered by received_at then reference: its reference, current team,
 * received_at, outside_office, the signed times of its first `vurderet` and
 * first `kvitteret` event (lowest seq; 0 when there is none) and its
 * deadlines (report.h). item is borrowed for the call. Stops at fn's first
 * non-OK and returns it.
 */
int store_report_foreach(struct store *s, int64_t from, int64_t to, const char *team,
                         int (*fn)(const struct report_item *item, void *arg), void *arg);

/*
 * Fill in (report_input_init()ed, with from, to and team set; report.h)
 * with what report_compute() needs: the teams, in id order (only in->team
 * when it is not ""), and the underretninger of the period [from, to]
 * (report_period()) by store_report_foreach(). VARSKO_ERR_NOT_FOUND when
 * in->team is not a team of the municipality document,
 * VARSKO_ERR_BAD_INPUT for a bad period, or a store error; in may then
 * hold part of the rows (report_input_clear() frees them either way).
 */
int store_report_read(struct store *s, struct report_input *in);

#endif
