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

#include <jansson.h>

#include "proto.h"

struct store;

#define STORE_SCHEMA_VERSION 13
#define STORE_SCHEMA_VERSION_NEXT 14 /* for tests: a database from newer code */

/*
 * Open (and with create != 0 create) the database at `path`, set and verify
 * the pragmas (WAL, synchronous=FULL, foreign_keys, secure_delete) and run the
 * migrations up to STORE_SCHEMA_VERSION. A database newer than this code is
 * refused with VARSKO_ERR_DB. *out is owned by the caller: store_close().
 */
int store_open(struct store **out, const char *path, int create);
void store_close(struct store *s); /* NULL-safe */
/* The schema version the file had when store_open() opened it (0: new); the migrations took it to STORE_SCHEMA_VERSION. */
int store_opened_at_version(const struct store *s);
/*
 * 1 unless the store refuses every write because synchronous=FULL could not
 * be restored after a failed commit (see store.c, commit_barrier()); for
 * /healthz.
 */
int store_writable(const struct store *s);

/*
 * Whether this code can use a database of schema `version`: VARSKO_OK from
 * 0 (new) to STORE_SCHEMA_VERSION (an older one is migrated by store_open(),
 * and so by `varskoctl migrate`), VARSKO_ERR_DB for anything else (made by
 * newer code, or damaged). store_open() refuses a database with it.
 */
int store_schema_check(long long version);

/* Explicit transactions for callers that group several writes (group commit). */
int store_begin(struct store *s); /* BEGIN IMMEDIATE */
int store_commit(struct store *s);
void store_rollback(struct store *s);

/*
 * A savepoint inside the open explicit transaction, so that one job of a
 * group commit can be undone alone (worker.c). store_savepoint() needs a
 * transaction from store_begin() (else VARSKO_ERR_INTERNAL) and does not
 * nest. store_savepoint_release() keeps the writes since the savepoint in
 * the transaction; store_savepoint_rollback() undoes them and keeps the
 * transaction. Either returns VARSKO_ERR_DB when the transaction itself is
 * gone (SQLite rolls a whole transaction back on some errors, such as a
 * full disk or an I/O error): then nothing of it is left, the store is out
 * of its transaction, and the caller must redo the earlier writes.
 */
int store_savepoint(struct store *s);
int store_savepoint_release(struct store *s);
int store_savepoint_rollback(struct store *s);

/*
 * WAL checkpoints off the writer's commit path (varskod; worker.c). By
 * default SQLite checkpoints inside the COMMIT that takes the WAL past
 * 1,000 pages: that COMMIT then also copies up to 4 MiB into the database
 * and syncs it twice, and every job queued behind it waits. Instead, a
 * second connection (struct store_ckpt, its own thread) runs PASSIVE
 * checkpoints, which never block the writer, and the writer's own are off.
 *
 * store_ckpt_open(): a checkpoint connection to s's database file, and
 * s's automatic checkpoints off (call it before s is used on another
 * thread). store_ckpt_run(): one PASSIVE checkpoint; *wal_frames and
 * *copied (may be NULL) receive the WAL's frames and how many of them are
 * now in the database. store_ckpt_close(): closes the connection and turns
 * s's automatic checkpoints on again (call it once nothing else uses s);
 * NULL-safe. A store_ckpt is used by one thread at a time. Errors:
 * VARSKO_ERR_DB, VARSKO_ERR_IO, VARSKO_ERR_FULL, VARSKO_ERR_NOMEM.
 */
struct store_ckpt;
int store_ckpt_open(struct store_ckpt **out, struct store *s);
int store_ckpt_run(struct store_ckpt *c, int *wal_frames, int *copied);
void store_ckpt_close(struct store_ckpt *c);

/*
 * Start a transaction unless the caller already has one open. *own is set to
 * 1 when this call began it (the caller must then end it with store_tx_end).
 */
int store_tx_start(struct store *s, int *own);

/*
 * End a transaction begun by store_tx_start: commit when r is VARSKO_OK (the
 * result of COMMIT is returned), else roll back and return r. With own == 0
 * it just returns r and leaves the caller's transaction alone.
 */
int store_tx_end(struct store *s, int own, int r);

/* ---- backup and restore (store_backup.c, store.c; docs/OPERATIONS.md) ---- */

/*
 * Copy the database at `live` (varskod may be running on it and writing) to
 * a new file `copy` (VARSKO_ERR_EXISTS when something is there; mode 0600)
 * with SQLite's online backup API, all pages in one step: a consistent
 * snapshot of everything committed when the step began, WAL frames
 * included. The live database is not migrated or otherwise changed. The
 * copy is one self-contained file in rollback-journal mode (no -wal),
 * fsync'ed; its directory is the caller's to fsync. On failure nothing is
 * left at `copy`. VARSKO_ERR_NOT_FOUND when `live` does not open.
 */
int store_backup(const char *live, const char *copy);

/*
 * Open a copy made by store_backup() (or any database file nobody writes)
 * to check it: read-only and immutable, so nothing is written or created
 * beside it, no migration. store_opened_at_version() is its schema version,
 * which may be any number (check it with store_schema_check()). For a copy
 * of an older schema, the statements that need a newer one are left out
 * (running one is VARSKO_ERR_DB); the audit log's work from schema 1 on.
 * A file that is not a database is VARSKO_ERR_DB. *out: store_close().
 */
int store_open_copy(struct store **out, const char *path);

/* PRAGMA integrity_check: VARSKO_OK when it answers "ok", VARSKO_ERR_DB when it finds a fault. */
int store_integrity_check(struct store *s);

/* The number of underretninger (each with its signed receipt) and of stored events. */
int store_backup_counts(struct store *s, int64_t *underretninger, int64_t *events);

/*
 * Before a restore replaces the database at `path`: make sure no other
 * connection has it open, and leave it as one self-contained file. Takes an
 * exclusive lock without waiting (refused while varskod, or any other
 * process, has the database open: VARSKO_ERR_UNAVAILABLE), checkpoints the
 * WAL into the file and closes, which removes the -wal file (a -shm file
 * may stay). The contents do not change. VARSKO_ERR_NOT_FOUND when nothing
 * opens at path; VARSKO_ERR_DB and others when it cannot be told (a file
 * that is not a database). Nothing keeps varskod from starting afterwards.
 */
int store_take_offline(const char *path);

/* ---- audit log (store_audit.c) ---- */

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
 * Refusal audit entries that a peer can cause in bulk and that go with no
 * write of their own (store_enroll()'s: a wrong, expired or used code) are
 * handed to fn(arg, now, event, actor, detail) instead of being written
 * each in a transaction of its own; varskod counts them (audit_agg.h).
 * fn is called on the thread that uses s, arguments borrowed for the call.
 * fn NULL (the default): written in the store as before.
 */
typedef void (*store_refusal_fn)(void *arg, int64_t now, const char *event, const char *actor, const char *detail);
void store_set_refusal_audit(struct store *s, store_refusal_fn fn, void *arg);

/*
 * Enroll a device with a code, in one transaction: check the code (unknown,
 * expired or used: VARSKO_ERR_CODE_UNKNOWN / _EXPIRED / _USED), build the
 * device certificate from the user's record (role, name, institutions, team)
 * with a fresh serial and validity [now, now + validity), sign it with
 * org_sk, and keep it as a *pending* enrollment ("enroll_pending" audited):
 * not a device, not on any roster, the code not used. Only
 * store_enroll_confirm() makes it a device and uses the code, so a client
 * that never confirms (a crash, a broken connection) leaves nothing active
 * and its code usable. A new enrollment with the same code replaces the
 * pending one ("enroll_replaced"). A refusal ("enroll_refused", detail
 * "reason=<error name>") is committed even though the enrollment is not
 * (or handed to store_set_refusal_audit()'s function instead); a
 * device whose sign_pk is already enrolled or pending is refused with
 * VARSKO_ERR_EXISTS. Joins the caller's transaction if one is open.
 * *cert_out is filled only on VARSKO_OK (zeroed otherwise). org_sk is
 * borrowed and only read.
 */
int store_enroll(struct store *s, const char *code, int64_t now, int64_t validity,
                 const uint8_t sign_pk[PROTO_PK_LEN], const uint8_t box_pk[PROTO_PK_LEN], const char *label,
                 const uint8_t org_sk[64], struct proto_cert *cert_out);

/*
 * The certificate of a pending enrollment (enrolled, not confirmed yet):
 * VARSKO_OK, or VARSKO_ERR_UNKNOWN_DEVICE when device has none.
 */
int store_enrollment_get(struct store *s, const char *device, struct proto_cert *cert_out);

/*
 * Confirm a pending enrollment: the device becomes active (a row of the
 * devices table, on its team's roster), its code is used, "enroll_ok" is
 * audited. VARSKO_ERR_UNKNOWN_DEVICE when there is no pending enrollment for
 * device, VARSKO_ERR_CODE_EXPIRED when its code expired meanwhile (the
 * pending enrollment is then dropped). Joins the caller's transaction if one
 * is open.
 */
int store_enroll_confirm(struct store *s, const char *device, int64_t now);

/* Call fn for every pending enrollment (as a device that is not active), oldest first. */
struct store_device;
int store_enrollment_foreach(struct store *s, int (*fn)(const struct store_device *d, void *arg), void *arg);

struct store_device {
	struct proto_cert cert;
	char label[PROTO_ID_MAX + 1];
	int64_t created_at;
	int64_t revoked_at; /* 0 when not revoked */
	uint8_t cert_digest[32]; /* memo.h key of the stored certificate text, which cert was parsed from */
};

/*
 * Look up an enrolled (confirmed) device by id. VARSKO_ERR_UNKNOWN_DEVICE when
 * there is none; a pending enrollment is not a device (store_enrollment_get).
 */
int store_device_get(struct store *s, const char *device, struct store_device *out);

/* Revoke a device (audited "revoke" with actor). VARSKO_ERR_NOT_FOUND, or VARSKO_OK if already revoked. */
int store_device_revoke(struct store *s, const char *device, int64_t now, const char *actor);
/* Revoke every active device of user (each as store_device_revoke()); *count of them. */
int store_user_revoke_devices(struct store *s, const char *user, int64_t now, const char *actor, int *count);

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
 * `modtaget` and `journaliseret` (store_outbox_ack).
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
 * Queue the publication of underretning `reference` to its team (needs_ack),
 * due at `now`, without writing its envelope twice: `payload` is the
 * message with the envelope's text left out at byte envelope_at
 * (flow_text_underretning() with no envelope), and store_outbox_take() puts
 * the underretning's current envelope back in (the one it was received
 * with, or its last re-routing's). Joins the caller's transaction if one is open.
 */
int store_outbox_add_underretning(struct store *s, const char *reference, const char *team, const char *topic,
                                  const char *payload, size_t envelope_at, int64_t now);

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
 * The team's agent acknowledged `reference` (events modtaget and journaliseret): every
 * needs_ack row of that reference for that team is done. Joins the caller's
 * transaction if one is open.
 */
int store_outbox_ack(struct store *s, const char *reference, const char *team, int64_t now);

/*
 * store_outbox_puback() that also tells whether this call set puback_at
 * (*first = 1: the row's first PUBACK) and gives the row's reference, team,
 * topic, needs_ack, attempts and puback_at in *info (payload not loaded;
 * info needs no clearing). VARSKO_ERR_NOT_FOUND for an unknown id. Joins
 * the caller's transaction if one is open. Used by mqtt.c to store the
 * `leveret` event exactly once.
 */
int store_outbox_puback_info(struct store *s, int64_t id, int64_t now, int *first, struct store_outbox_row *info);

/* After a (re)connect: make every row that is not done (and not dead) due now. */
int store_outbox_rearm(struct store *s, int64_t now);

/* Rows not done (for tests and metrics), dead letters included. */
int store_outbox_pending(struct store *s, int64_t *count);

/*
 * For /healthz and /metrics: the rows not done and not dead (*depth), the
 * created_at of the oldest of them (*oldest_created, 0 when there is none)
 * and the dead letters (*dead). A read; all are 0 after a failure.
 */
int store_outbox_stats(struct store *s, int64_t *depth, int64_t *oldest_created, int64_t *dead);

/*
 * A dead letter (PROTOCOL.md 12.9): the team's agent refused `reference`
 * for good. Its needs_ack rows for that team that are neither done nor dead
 * become dead (never taken again until store_outbox_retry) with `reason`
 * and the refusing device; *changed is how many. Joins the caller's
 * transaction if one is open.
 */
int store_outbox_dead(struct store *s, const char *reference, const char *team, const char *reason,
                      const char *device, int64_t now, int *changed);

/*
 * An operator's retry: the dead rows of `reference` (not done) are alive
 * again and due at `now`, their attempts counted from 0. *changed is how
 * many (0: the reference has no dead letter). Own or joined transaction.
 */
int store_outbox_retry(struct store *s, const char *reference, int64_t now, int *changed);

/* One dead letter, for store_outbox_dead_foreach. */
struct store_outbox_dead_row {
	char reference[PROTO_ID_MAX + 1];
	char team[PROTO_ID_MAX + 1];
	char reason[PROTO_ID_MAX + 1];
	char device[PROTO_ID_MAX + 1];
	int64_t dead_at;
	int64_t attempts;
};

/* Call fn for every dead letter, oldest first; stops at and returns fn's first error. d is borrowed for the call. */
int store_outbox_dead_foreach(struct store *s, int (*fn)(const struct store_outbox_dead_row *d, void *arg),
                              void *arg);

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

struct flow_receipt;
struct flow_roster;

/*
 * One stored underretning. The strings are copies; receipt (the signed
 * receipt as compact JSON) is always filled, envelope (the current
 * envelope as compact JSON) only when asked for: both owned by the struct,
 * free with store_underretning_clear(). envelope_sender is the device that
 * signed the current envelope: the sender, or after an omdirigering the
 * myndighed who re-encrypted it.
 */
struct store_underretning {
	int64_t seq;
	char reference[PROTO_ID_MAX + 1];
	char submission[PROTO_ID_MAX + 1];
	char sender_user[PROTO_ID_MAX + 1];
	char sender_device[PROTO_ID_MAX + 1];
	char envelope_sender[PROTO_ID_MAX + 1];
	char institution[PROTO_ID_MAX + 1];
	char team[PROTO_ID_MAX + 1]; /* current team */
	char first_team[PROTO_ID_MAX + 1];
	char age_group[8];
	int akut, handicap, outside_office;
	int64_t created_at, received_at;
	uint8_t envelope_hash[32];
	char *receipt;
	size_t receipt_len;
	char *envelope; /* NULL unless asked for */
	size_t envelope_len;
};
void store_underretning_clear(struct store_underretning *u); /* frees; NULL-safe */

/*
 * Look an underretning up by reference, or by (sender user, submission id)
 * for idempotency. with_envelope: STORE_ENV_NONE, STORE_ENV_CURRENT (the
 * envelope as it is now: after an omdirigering, the re-sealed one) or
 * STORE_ENV_ORIGINAL (the envelope as the notifier submitted it; then
 * envelope_sender is the notifier's device). *out is zeroed first;
 * VARSKO_ERR_NOT_FOUND when there is none.
 */
enum { STORE_ENV_NONE = 0, STORE_ENV_CURRENT = 1, STORE_ENV_ORIGINAL = 2 };
int store_underretning_get(struct store *s, const char *reference, int with_envelope, struct store_underretning *out);
int store_underretning_find(struct store *s, const char *sender_user, const char *submission, int with_envelope,
                            struct store_underretning *out);

/*
 * Take the next reference of `year` (the Copenhagen year of receipt):
 * "U-<year>-<n>", n from 1, at least 6 digits, from the counter
 * meta('ref_<year>'). Joins the caller's transaction if one is open (the
 * number is only used when that transaction commits; a rollback gives it
 * back). out: PROTO_ID_MAX + 1 bytes.
 */
int store_reference_next(struct store *s, int year, char out[PROTO_ID_MAX + 1]);

/* What store_underretning_add() stores; every pointer borrowed. */
#define STORE_DEADLINES_MAX 4
struct store_underretning_new {
	const struct flow_receipt *receipt; /* signed: reference, submission, sender, team, times */
	const char *envelope_json;          /* the envelope, compact JSON with sorted keys */
	const uint8_t *envelope_hash;       /* 32 bytes, flow_envelope_hash() */
	const char *age_group;
	int akut, handicap, outside_office;
	int no_reader; /* no caseworker of the team has an active device (flow_roster_readers() == 0) */
	int64_t created;
	const char *sender_cert_json;  /* for the MQTT payload */
	const char *gateway_cert_json; /* for the MQTT payload */
	const char *tenant;            /* names the MQTT topic */
	size_t n_deadlines;
	struct {
		const char *kind;
		int64_t due_at, warn_at;
	} deadlines[STORE_DEADLINES_MAX];
};

/*
 * Store an accepted underretning in the caller's transaction, or in its
 * own: the row, its deadline rows (store_deadline_add), the outbox row on
 * varsko/<tenant>/team/<team>/underretning with the MQTT payload of flow.h
 * (needs_ack 1) and the audit entry "underretning_received" (actor the
 * sender device, detail "ref=<REF>"); with no_reader also the alert on
 * varsko/<tenant>/team/<team>/alert (needs_ack 0, PROTOCOL.md 12.9) and the
 * audit entry "no_reader". VARSKO_ERR_EXISTS when the reference or the
 * (sender user, submission) is taken.
 */
int store_underretning_add(struct store *s, const struct store_underretning_new *u, int64_t now);

/*
 * The roster of `team` as it stands at `now`, unsigned: the certificates
 * of the unrevoked devices whose user and certificate both have that team
 * and one of the roles myndighed, leder, agent, valid at now, sorted by
 * device id; version = teams.roster_version, issued = now. n may be 0.
 * VARSKO_ERR_NOT_FOUND for an unknown team, VARSKO_ERR_TOO_LARGE for more
 * than FLOW_ROSTER_MAX devices.
 */
int store_team_roster(struct store *s, const char *team, int64_t now, struct flow_roster *out);

/* 1 when a device of `role` belongs to its team's roster (myndighed, leder, agent), else 0. */
int store_roster_role(const char *role);

/*
 * A device joined or left `team` (or its user changed team or role):
 * teams.roster_version grows by one. Joins the caller's transaction.
 * VARSKO_OK also when team is NULL, "" or unknown.
 */
int store_team_roster_bump(struct store *s, const char *team);

/*
 * The active devices of `user` at `now` (not revoked, certificate valid),
 * sorted by device id, into certs[0..*n) (room for max). VARSKO_ERR_TOO_LARGE
 * when there are more than max.
 */
int store_user_devices(struct store *s, const char *user, int64_t now, struct proto_cert *certs, size_t max,
                       size_t *n);

/* The district of institution `id` into out (cap bytes). VARSKO_ERR_NOT_FOUND for an unknown institution. */
int store_institution_district(struct store *s, const char *id, char *out, size_t cap);

/*
 * The routing part of the municipality document as stored by the import:
 * {"office_hours":{..},"routing":[..]} ("office_hours" only when stored),
 * for route_load(). *out owned by the caller (free()). VARSKO_ERR_NOT_FOUND
 * when no rules were imported.
 */
int store_routing_doc(struct store *s, char **out, size_t *len);

/*
 * The names of the municipality document as imported (PROTOCOL.md 12.7,
 * directory): every institution (id, name, kind) through inst, then every
 * team (id, name, phone or NULL) through team, each sorted by id. The
 * strings are borrowed for the call. A callback's error ends the walk and
 * is returned.
 */
int store_directory(struct store *s, int (*inst)(const char *id, const char *name, const char *kind, void *arg),
                    int (*team)(const char *id, const char *name, const char *phone, void *arg), void *arg);

/*
 * The ITEM objects of flow.h (items answer, new_underretning push): of one
 * reference (store_flow_item), of the underretninger whose current team is
 * `team` (soonest open deadline first; those with none last), or of those
 * `user` sent (newest first); at most max. *out is a new reference owned
 * by the caller (json_decref). store_flow_item: VARSKO_ERR_NOT_FOUND.
 */
int store_flow_item(struct store *s, const char *reference, json_t **out);
int store_flow_items_team(struct store *s, const char *team, size_t max, json_t **out);
int store_flow_items_user(struct store *s, const char *user, size_t max, json_t **out);

/*
 * The "events" array of the timeline answer (flow.h) for `reference`,
 * oldest first: {"event":EVENT,"cert":CERT,"envelope":ENV} with the
 * signer's certificate (gateway_cert_json for the gateway's own events) and
 * the envelope only for kvitteret and tilbagemelding. *out owned by the
 * caller (json_decref).
 */
int store_flow_events(struct store *s, const char *reference, const char *gateway_cert_json, json_t **out);

/*
 * The reads and writes of an event (flow_event.c decides, these only do).
 * store_event_same: *seq of the stored event with the same reference,
 * kind, device and time whose text is event_json, else 0.
 * store_event_first_by: *seq of the first event of kind by device, else 0.
 * store_event_kinds: the kinds the reference has, as bits 1 << kind.
 * store_event_insert: VARSKO_ERR_EXISTS when another event has the same
 * reference, kind, device and time. store_agent_done: *done = 1 when the
 * team's agent stored both modtaget and journaliseret.
 * store_underretning_reroute: the underretning's new team and envelope.
 */
struct store_event_row {
	const char *reference, *kind, *device, *role, *team;
	int64_t time, received_at;
	const char *event_json, *envelope_json; /* envelope_json may be NULL */
};
int store_event_same(struct store *s, const char *reference, const char *kind, const char *device, int64_t time,
                     const char *event_json, int64_t *seq);
int store_event_first_by(struct store *s, const char *reference, const char *kind, const char *device, int64_t *seq);
int store_event_kinds(struct store *s, const char *reference, unsigned *seen);
int store_event_insert(struct store *s, const struct store_event_row *e, int64_t *seq);
int store_agent_done(struct store *s, const char *reference, const char *team, int *done);
int store_underretning_reroute(struct store *s, const char *reference, const char *team, const char *envelope_json,
                               const uint8_t hash[32]);

/*
 * The user's current record (users and user_institutions) in the user
 * part of a certificate: user, name, role, team ("" for none),
 * institutions. VARSKO_ERR_NOT_FOUND for an unknown user.
 */
int store_user_get(struct store *s, const char *user, struct proto_cert *out);

#endif
