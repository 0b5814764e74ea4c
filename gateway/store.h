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

#define STORE_SCHEMA_VERSION 1

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

#endif
