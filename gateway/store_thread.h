/*
 * store_thread.h: consultation threads in the store (PROTOCOL.md 17): the
 * thread rows, their chains (in chain_links, kind "thread"), who is or was
 * a member, the messages with the users each one is sealed to, and the read
 * marks. Texts in, texts out: the checks are flow_thread.c's, which verifies
 * every stored chain again when it reads it. The membership kept beside the
 * links (thread_members) and the recipients kept beside each message
 * (thread_recipients) only let listing, sync and marks find rows without
 * parsing chains or envelopes; who may do what is decided on the verified
 * chain.
 *
 * Same rules as store.h: one connection, prepared statements, BEGIN
 * IMMEDIATE for every write (joining the caller's transaction when one is
 * open, as the group commit of thread_send needs), VARSKO_OK or a negative
 * VARSKO_ERR_*. The writes of threads and links and every message are
 * audited with ids only (thread, seq, op, message id), never content.
 */
#ifndef VARSKO_STORE_THREAD_H
#define VARSKO_STORE_THREAD_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define STORE_THREAD_HASH_LEN 32

/* One thread row. */
struct store_thread {
	char id[PROTO_ID_MAX + 1];
	char institution[PROTO_ID_MAX + 1];
	int anonymous;
	char creator[PROTO_ID_MAX + 1];
	int64_t version;   /* the seq of the last stored link */
	int64_t last_seq;  /* the last message's seq, 0 before the first */
	int64_t last_time; /* when the last message was received, 0 before the first */
	int64_t created_at;
	int64_t purged_at; /* when its content was purged (store_thread_purge), 0 while it is not */
};

/* The thread row of id into *out; VARSKO_ERR_NOT_FOUND when there is none. */
int store_thread_get(struct store *s, const char *thread, struct store_thread *out);

/*
 * Whether user is a present member of thread by the rows kept beside its
 * links: *present 1 or 0; VARSKO_ERR_NOT_FOUND when the user never was one
 * (or there is no such thread).
 */
int store_thread_member(struct store *s, const char *thread, const char *user, int *present);

/* One link to store: its JSON text, seq and op, and the user it is about, present after it (1) or not (0). */
struct store_thread_link {
	int64_t seq;
	const char *op;
	const char *json;
	const char *user;
	int present;
};

/*
 * A new thread: the row of t (version = the last link's seq; last_seq 0;
 * created_at now) and links[0..n) (seq 1..n), in one transaction; audited
 * "thread_create" (actor the creating device, detail the thread id and the
 * version). VARSKO_ERR_EXISTS when the thread id is taken.
 */
int store_thread_create(struct store *s, const struct store_thread *t, const struct store_thread_link *links, size_t n,
                        int64_t now, const char *actor);

/*
 * One more link of thread (its version becomes l->seq); audited
 * "thread_append" (thread, seq, op). VARSKO_ERR_EXISTS when that seq is taken
 * (two appends raced: the caller refuses with bad_chain).
 */
int store_thread_append(struct store *s, const char *thread, const struct store_thread_link *l, int64_t now,
                        const char *actor);

/* A message to store; every pointer borrowed. */
struct store_thread_message {
	const char *thread;
	const char *message; /* the message id */
	const char *sender_user;
	const char *sender_device;
	int64_t version;           /* the membership version it was sealed against */
	const char *envelope_json; /* compact, sorted keys */
	const uint8_t *envelope_hash;
	const char *const *recipients; /* the users it is sealed to */
	size_t n_recipients;
};

/*
 * Store a message in the caller's transaction (or its own): the next seq of
 * its thread (*seq), the row, one recipient row per user, the thread's
 * last_seq and last_time; audited "thread_message" (thread, seq, message
 * id). VARSKO_ERR_EXISTS when the thread already has that message id.
 */
int store_thread_message_add(struct store *s, const struct store_thread_message *m, int64_t now, int64_t *seq);

/*
 * The stored message `message` of thread: its seq, envelope hash and the
 * time it was received. VARSKO_ERR_NOT_FOUND when there is none.
 */
int store_thread_message_find(struct store *s, const char *thread, const char *message, int64_t *seq,
                              uint8_t hash[STORE_THREAD_HASH_LEN], int64_t *received);

/* A stored message as thread_sync and the thread_message push hand it on; the texts are borrowed for the call. */
struct store_thread_row {
	int64_t seq;
	int64_t received;
	const char *envelope;    /* its JSON text, as stored */
	const char *sender_cert; /* the sending device's certificate (JSON text), NULL when the device is gone */
};

/*
 * The messages of thread whose recipients include user, through fn: with
 * before == 0 those with seq > after, ascending; with before > 0 those with
 * seq < before, descending (the newest first: the caller turns them round).
 * At most limit rows. fn may call other store functions but not this one.
 */
int store_thread_messages(struct store *s, const char *thread, const char *user, int64_t after, int64_t before,
                          int64_t limit, int (*fn)(const struct store_thread_row *r, void *arg), void *arg);

/* The stored marks of message seq of thread (JSON texts), oldest first, through fn. */
int store_thread_marks(struct store *s, const char *thread, int64_t seq,
                       int (*fn)(const char *json, size_t len, void *arg), void *arg);

/*
 * The message seq of thread as a mark by user needs it: its message id
 * (PROTO_ID_MAX + 1 bytes), envelope hash and sender user (PROTO_ID_MAX + 1
 * bytes). VARSKO_ERR_NOT_FOUND when there is no such message or user is not
 * one of its recipients.
 */
int store_thread_mark_target(struct store *s, const char *thread, int64_t seq, const char *user, char *message,
                             uint8_t hash[STORE_THREAD_HASH_LEN], char *sender_user);

/*
 * Store a read mark (its JSON text) of user for message seq of thread.
 * VARSKO_ERR_EXISTS when that user has one of that kind for it already
 * (nothing is stored). Not audited: marks are many and carry nothing the
 * audit log needs.
 */
int store_thread_mark_add(struct store *s, const char *thread, int64_t seq, const char *user, const char *kind,
                          const char *device, const char *json, int64_t now);

/*
 * The threads user is a present member of (by the rows kept beside the
 * links), the newest activity first (the last message, else the creation),
 * at most max, through fn.
 */
int store_thread_list(struct store *s, const char *user, size_t max, int (*fn)(const struct store_thread *t, void *arg),
                      void *arg);

/*
 * The rådgivere assigned to institution (users with role raadgiver whose
 * institutions, as imported, include it), by id, through fn.
 */
int store_institution_raadgivere(struct store *s, const char *institution, int (*fn)(const char *user, void *arg),
                                 void *arg);

/* ---- retention (docs/THREADS.md "Retention") ---- */

/*
 * A thread whose content is (or would be) purged: its last activity (the
 * newest of its creation, its last message and its chain's last link) and
 * what purging deletes: messages, the bytes of their envelopes, read marks.
 */
struct store_thread_purge {
	char thread[PROTO_ID_MAX + 1];
	int64_t last_activity;
	int64_t messages, bytes, marks;
};

/*
 * The threads not purged yet whose last activity is before cutoff, the
 * oldest first, at most max, through fn (which must not write). Changes
 * nothing: the dry run of `varskoctl threads purge` is this.
 */
int store_thread_purge_due(struct store *s, int64_t cutoff, size_t max,
                           int (*fn)(const struct store_thread_purge *p, void *arg), void *arg);

/*
 * Purge thread's content in one transaction, if its last activity is still
 * before cutoff (looked at again under the write lock) and it was not
 * purged: its messages, their recipient rows and its read marks are
 * deleted (the store runs with secure_delete, so the envelopes' bytes are
 * overwritten), purged_at is set to now, and one audit row "thread_purge"
 * (actor; detail the thread id, the counts and bytes deleted and the last
 * activity) is written. The thread row, its chain and its membership rows
 * stay. *out says what went. VARSKO_ERR_NOT_FOUND when the thread is
 * unknown, already purged or active again.
 */
int store_thread_purge(struct store *s, const char *thread, int64_t cutoff, int64_t now, const char *actor,
                       struct store_thread_purge *out);

#endif
