/*
 * store.h: the SQLite store of varskod and varskoctl.
 *
 * One connection per `struct store`; in varskod exactly one exists, owned by
 * the store worker thread (worker.h), so nothing here is called from the lws
 * thread. A `struct store` is not thread-safe. Every write runs in its own
 * BEGIN IMMEDIATE transaction unless the comment says it joins the caller's
 * (store_begin / store_commit). Statements are prepared and bound.
 * Functions return VARSKO_OK or a negative VARSKO_ERR_* (varsko/err.h).
 */
#ifndef VARSKO_STORE_H
#define VARSKO_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct store;

#define STORE_SCHEMA_VERSION 2

/*
 * Open (and with create != 0 create) the database at `path`, set and verify
 * the pragmas (WAL, synchronous=FULL, foreign_keys, secure_delete) and run the
 * migrations up to STORE_SCHEMA_VERSION. A database newer than this code is
 * refused with VARSKO_ERR_DB. *out is owned by the caller: store_close().
 */
int store_open(struct store **out, const char *path, int create);
void store_close(struct store *s); /* NULL-safe */

/* Explicit transactions for callers that group several writes (group commit). */
int store_begin(struct store *s); /* BEGIN IMMEDIATE */
int store_commit(struct store *s);
void store_rollback(struct store *s);

/* ---- audit log (audit.c) ---- */

/*
 * Append one entry to the hash-chained audit log: time (Unix seconds), event
 * name ("login_ok", "login_refused", "enroll_ok", "enroll_refused",
 * "revoke", "import", "init", "invite", "bad_frame", ...), actor (device id,
 * user id or "-"), detail (short ASCII, no personal data; control characters
 * are escaped before storing). Joins the caller's transaction if one is open,
 * else runs in its own.
 */
int store_audit(struct store *s, int64_t now, const char *event, const char *actor, const char *detail);

/*
 * Walk the chain from the first entry. *count gets the number of entries
 * checked; on VARSKO_ERR_BAD_SIGNATURE (chain broken) *bad_seq gets the first
 * entry whose hash or link does not match.
 */
int store_audit_verify(struct store *s, uint64_t *count, uint64_t *bad_seq);

/*
 * The head of the chain as recorded with the last append: its seq (0 when
 * the log is empty) and hash (zeros when empty). Recording it outside the
 * database now and then lets a later verify show that the whole log was not
 * rewritten. Not a proof of anything by itself; store_audit_verify checks it.
 */
int store_audit_head(struct store *s, uint64_t *seq, uint8_t hash[32]);

/* ---- users, invites, devices ---- */

/*
 * A one-time enrollment code for `user` valid until `expires`. The code is
 * written to code_out (NUL-terminated, PROTO_CODE_MAX + 1 bytes); only its
 * hash is stored. Audited ("invite"). VARSKO_ERR_NOT_FOUND for an unknown user.
 */
int store_invite_create(struct store *s, const char *user, int64_t now, int64_t expires,
                        char code_out[PROTO_CODE_MAX + 1]);

/*
 * Enroll a device with a code, in one transaction: check the code (unknown,
 * expired or used: VARSKO_ERR_CODE_UNKNOWN / _EXPIRED / _USED), build the
 * device certificate from the user's record (role, name, institutions, team)
 * with a fresh serial and validity [now, now + validity), sign it with
 * org_sk, store the device, mark the code used, and write the audit entry
 * ("enroll_ok" or "enroll_refused" with the reason) in the same transaction.
 * A refusal ("enroll_refused", detail "reason=<error name>") is committed
 * even though the enrollment is not; a device whose sign_pk is already
 * enrolled is refused with VARSKO_ERR_EXISTS and leaves the code unused.
 * Joins the caller's transaction if one is open. *cert_out is filled only on
 * VARSKO_OK (zeroed otherwise). org_sk is borrowed and only read.
 */
int store_enroll(struct store *s, const char *code, int64_t now, int64_t validity,
                 const uint8_t sign_pk[PROTO_PK_LEN], const uint8_t box_pk[PROTO_PK_LEN], const char *label,
                 const uint8_t org_sk[64], struct proto_cert *cert_out);

struct store_device {
	struct proto_cert cert;
	char label[PROTO_ID_MAX + 1];
	int64_t created_at;
	int64_t revoked_at; /* 0 when not revoked */
};

/* Look up an enrolled device by id. VARSKO_ERR_UNKNOWN_DEVICE when there is none. */
int store_device_get(struct store *s, const char *device, struct store_device *out);

/* Revoke a device (audited "revoke" with actor). VARSKO_ERR_NOT_FOUND, or VARSKO_OK if already revoked. */
int store_device_revoke(struct store *s, const char *device, int64_t now, const char *actor);

/*
 * Call fn for every device, oldest first; stops and returns fn's value when it
 * is not VARSKO_OK. d is borrowed for the call only. fn may call other store
 * functions but not store_device_foreach itself (the statement is shared).
 */
int store_device_foreach(struct store *s, int (*fn)(const struct store_device *d, void *arg), void *arg);

/*
 * Take the next certificate serial: one more than the largest ever handed
 * out (enrolled devices and certificates made by varskoctl init, which are
 * not devices), starting at 1. Joins the caller's transaction if one is
 * open, else runs in its own; a serial is never handed out twice.
 */
int store_serial_take(struct store *s, uint64_t *out);

/* Normalize a typed enrollment code (uppercase; '-' and spaces dropped; O->0, I/L->1). out: 17 bytes. */
#define STORE_CODE_LEN 16
int store_code_normalize(const char *typed, char out[STORE_CODE_LEN + 1]);

/*
 * Import a municipality document (JSON text, see deploy/demo/slagelse.json and
 * docs/DEVELOPING.md) in one transaction: institutions, teams, users with
 * their role, institutions and team, fremskudte rådgivere, routing rules.
 * Upserts by id. On a bad document nothing is stored, VARSKO_ERR_BAD_INPUT
 * is returned and errbuf receives "JSON-path: message" (no personal data).
 * Audited ("import", with counts). When the caller has a transaction open the
 * import joins it, and the caller must roll back after a failure.
 */
int store_import(struct store *s, const char *json, size_t len, int64_t now, char *errbuf, size_t errcap);

/* ---- outbox (store_outbox.c) ---- */

/*
 * The outbox: MQTT publications that must reach the broker (DESIGN.md step
 * 5). A row is due when done_at is NULL and next_at <= now. needs_ack = 0
 * (a frist message): done at PUBACK. needs_ack = 1 (an underretning): PUBACK
 * only sets puback_at; the row stays due again at next_at (republish with
 * backoff) until the team's agent acknowledges the reference with
 * `modtaget` (store_outbox_ack).
 */
struct store_outbox_row {
	int64_t id;
	char reference[PROTO_ID_MAX + 1]; /* "" when none */
	char team[PROTO_ID_MAX + 1];      /* "" when none */
	char topic[256];
	char *payload; /* owned by the row: store_outbox_row_clear() */
	size_t payload_len;
	int needs_ack;
	int64_t attempts;
	int64_t puback_at; /* 0 when none */
};
void store_outbox_row_clear(struct store_outbox_row *r); /* frees payload; NULL-safe */

/* Queue a publication, due at `now`. Joins the caller's transaction if one is open. *id_out may be NULL. */
int store_outbox_add(struct store *s, const char *reference, const char *team, const char *topic, const char *payload,
                     int needs_ack, int64_t now, int64_t *id_out);

/*
 * Take up to `max` due rows (oldest first) into rows[0..*n), and in the same
 * transaction count the attempt and move next_at to now + backoff(attempts)
 * (backoff_first seconds doubling up to backoff_max), so a crash never loses
 * a row and a row is never handed out twice at once. Own transaction.
 */
int store_outbox_take(struct store *s, int64_t now, int backoff_first, int backoff_max, struct store_outbox_row *rows,
                      size_t max, size_t *n);

/* PUBACK for row id: sets puback_at (first one only); for needs_ack = 0 rows also done_at. Own or joined transaction. */
int store_outbox_puback(struct store *s, int64_t id, int64_t now);

/*
 * The team's agent acknowledged `reference` (event modtaget): every
 * needs_ack row of that reference for that team is done. Joins the caller's
 * transaction if one is open.
 */
int store_outbox_ack(struct store *s, const char *reference, const char *team, int64_t now);

/* After a (re)connect: make every row that is not done due now. */
int store_outbox_rearm(struct store *s, int64_t now);

/* Rows not done (for tests and metrics). */
int store_outbox_pending(struct store *s, int64_t *count);

/* ---- deadlines (store_deadline.c) ---- */

/* Deadline kinds as stored: "vurdering", "kvittering", "tilbagemelding", "undersoegelse". */
struct store_deadline {
	char reference[PROTO_ID_MAX + 1];
	char kind[16];
	char team[PROTO_ID_MAX + 1];
	int64_t due_at;
	int64_t warn_at;      /* 0: no warning */
	int64_t met_at;       /* 0: not met */
	int64_t warned_at;    /* 0: not warned */
	int64_t escalated_at; /* 0: not escalated */
};

/* Insert one deadline row (met/warned/escalated 0). Joins the caller's transaction if one is open. */
int store_deadline_add(struct store *s, const char *reference, const char *kind, const char *team, int64_t due_at,
                       int64_t warn_at);

/*
 * The first event that fulfils a deadline: sets met_at = at and met_event =
 * event_seq when the deadline exists and is not met yet (a later event
 * changes nothing). Joins the caller's transaction if one is open.
 * VARSKO_OK also when there is no such deadline.
 */
int store_deadline_met(struct store *s, const char *reference, const char *kind, int64_t at, int64_t event_seq);

/* The team of every open deadline of `reference` follows an omdirigering. Joins the caller's transaction. */
int store_deadline_set_team(struct store *s, const char *reference, const char *team);

/*
 * Call fn for every deadline that is not met, of `team` (NULL: all teams),
 * soonest first. d is borrowed for the call. Stops at fn's first non-OK.
 */
int store_deadline_foreach_open(struct store *s, const char *team,
                                int (*fn)(const struct store_deadline *d, void *arg), void *arg);

/* ---- underretninger and events (store_flow.c) ---- */

/* What applying an event did (for the push to online sessions). */
struct store_event_result {
	int64_t seq;   /* the event's row */
	int duplicate; /* 1: the same signed event was already stored; nothing changed */
	char reference[PROTO_ID_MAX + 1];
	char kind[16];
	char notifier_user[PROTO_ID_MAX + 1];
	char team[PROTO_ID_MAX + 1]; /* the underretning's team after the event */
	int outbox_added;            /* 1 when an outbox row was added (omdirigeret) */
	char *push_frame;            /* owned: the `pushed` frame (flow.h) as JSON text, or NULL */
	size_t push_len;
};
void store_event_result_clear(struct store_event_result *r); /* frees push_frame; NULL-safe */

/*
 * Check and store one signed event, from a WebSocket session or from MQTT
 * (docs/FLOW.md step 7). event_json is the EVENT object, envelope_json the
 * ENV object or NULL. tenant names the MQTT topics; gateway_cert_json (the
 * gateway certificate as JSON) goes into the MQTT payload of a re-routed
 * underretning. Joins the caller's transaction if one is open, else runs in
 * its own. Refusals: VARSKO_ERR_BAD_FRAME (malformed), VARSKO_ERR_NOT_FOUND
 * (unknown reference), VARSKO_ERR_UNKNOWN_DEVICE, VARSKO_ERR_DEVICE_REVOKED,
 * VARSKO_ERR_DEVICE_EXPIRED, VARSKO_ERR_BAD_SIGNATURE, VARSKO_ERR_FORBIDDEN
 * (the signer may not sign this kind for this underretning),
 * VARSKO_ERR_BAD_INPUT (envelope missing, superfluous, or with the wrong
 * recipients). Nothing is stored on a refusal except, when the caller has no
 * transaction open, an audit entry "event_refused".
 */
int store_event_apply(struct store *s, const char *event_json, size_t event_len, const char *envelope_json,
                      size_t envelope_len, int64_t now, const char *tenant, const char *gateway_cert_json,
                      struct store_event_result *out);

#endif
