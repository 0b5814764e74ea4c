/*
 * flow.h: the signed objects and the frames of the underretning flow
 * (DESIGN.md "The underretning flow"; PROTOCOL.md, section "Underretning
 * flow", is the normative text). Builds on proto.h (certificates, canonical
 * field encoding, signatures), envelope.h and underretning.h.
 *
 * Three signed objects:
 *   roster   which devices may read a team's underretninger; signed by the
 *            organisation key
 *   receipt  what the gateway accepted and when; signed by the gateway key
 *   event    a step in an underretning's life (modtaget, vurderet, ...);
 *            signed by the device that took it (the gateway's own events,
 *            "leveret", by the gateway key)
 *
 * JSON forms are compact with sorted keys (json_dumps JSON_COMPACT |
 * JSON_SORT_KEYS); parsers are strict (no duplicate, unknown or missing key,
 * exact types, exact base64 lengths, times as proto_time_parse()). Times are
 * Unix seconds, UTC, written as "YYYY-MM-DDTHH:MM:SSZ".
 *
 * Pure code (no I/O, no clock), safe in any thread. Pointers are borrowed for
 * the call unless a comment says otherwise. Functions return VARSKO_OK or a
 * negative VARSKO_ERR_*.
 */
#ifndef VARSKO_FLOW_H
#define VARSKO_FLOW_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "envelope.h"
#include "proto.h"

#define FLOW_VERSION      1
#define FLOW_ROSTER_MAX   (ENV_RECIPIENTS_MAX - 1) /* member devices; +1 room for nothing else */
#define FLOW_REF_MAX      16                       /* "U-2026-000123" */
#define FLOW_KIND_MAX     16
#define FLOW_ITEMS_MAX    1000                     /* items in a list answer */
#define FLOW_EVENTS_MAX   256                      /* events in a timeline answer */
#define FLOW_FRAME_MAX    (ENV_JSON_MAX + 65536u)  /* a flow frame (submit, event with envelope) */

#define FLOW_TAG_ROSTER  "varsko-roster-v1"
#define FLOW_TAG_RECEIPT "varsko-receipt-v1"
#define FLOW_TAG_EVENT   "varsko-event-v1"
#define FLOW_TAG_REFUSAL "varsko-refusal-v1"
#define FLOW_TAG_ENVHASH "varsko-envelope-hash-v1"

/* ---- envelope hash --------------------------------------------------- */

/*
 * SHA-256 over ( FLOW_TAG_ENVHASH field || env_signing_input(e) as one
 * field ), the canonical field encoding of proto.h. It names exactly one
 * envelope, signature input included: the receipt's envelope_hash and an
 * event's envelope_hash. VARSKO_ERR_BAD_INPUT for a malformed envelope.
 */
int flow_envelope_hash(uint8_t out[32], const struct env_envelope *e) VARSKO_WUR;

/* ---- roster ------------------------------------------------------------ */

/*
 * A team roster: the certificates of the devices that may read the team's
 * underretninger (roles "myndighed", "leder" and "agent" of that team, not
 * revoked, valid at `issued`), sorted by device id (bytewise, strictly
 * ascending, 1..FLOW_ROSTER_MAX). version grows by one whenever a device
 * joins or leaves the team; a client refuses a version lower than one it
 * has seen for that team (rollback).
 *
 * Signing input: FLOW_TAG_ROSTER, version (u64 FLOW_VERSION), team,
 * roster version (u64), issued (i64), count (u64), then per certificate:
 * device id, sign_pk, box_pk, serial (u64).
 * JSON: {"devices":[CERT...],"issued":TIME,"sig":B64,"team":S,"version":N}
 * (CERT as proto_cert_to_json; "version" is the roster version).
 */
struct flow_roster {
	char team[PROTO_ID_MAX + 1];
	uint64_t version;
	int64_t issued;
	size_t n;
	struct proto_cert certs[FLOW_ROSTER_MAX];
	uint8_t sig[PROTO_SIG_LEN];
};

int flow_roster_signing_input(const struct flow_roster *r, struct proto_buf *b) VARSKO_WUR;
/* Sorts r->certs by device id, then signs with org_sk. VARSKO_ERR_BAD_INPUT for n out of range or a duplicate device. */
int flow_roster_sign(struct flow_roster *r, const uint8_t org_sk[64]) VARSKO_WUR;
/*
 * Full client-side check: the signature verifies with org_pk; every
 * certificate verifies with org_pk at `now` (proto_cert_verify), has
 * team == r->team and role myndighed, leder or agent; devices strictly
 * sorted; 1..FLOW_ROSTER_MAX entries. VARSKO_OK, VARSKO_ERR_BAD_SIGNATURE
 * (roster signature), VARSKO_ERR_BAD_CERT (a certificate), or
 * VARSKO_ERR_DEVICE_EXPIRED. detail (if not NULL) gets a static English text.
 */
int flow_roster_verify(const struct flow_roster *r, const uint8_t org_pk[PROTO_PK_LEN], int64_t now,
                       const char **detail) VARSKO_WUR;
/*
 * How many people of the roster's team can read and assess an underretning
 * now: the distinct users of its "myndighed" certificates (PROTOCOL.md
 * 12.3). 0 means only the team's agent and leders: the case system files it,
 * but no caseworker has an active device ("nobody to read it").
 */
size_t flow_roster_readers(const struct flow_roster *r);
/*
 * The alert that nobody can read an underretning now (PROTOCOL.md 12.7,
 * 12.9): {"akut":B,"kind":"no_reader","reference":S,"team":S,"type":"alert"},
 * the push to the team's sessions and the MQTT payload alike. A new
 * reference (json_decref), NULL when out of memory.
 */
json_t *flow_no_reader_alert(const char *reference, const char *team, int akut);
/*
 * The same alert for an underretning its team's agent refused (a dead
 * letter, PROTOCOL.md 12.9): {"type":"alert","kind":"dead_letter",...}.
 */
json_t *flow_dead_letter_alert(const char *reference, const char *team, int akut);
/* *out is a new reference owned by the caller (json_decref). */
int flow_roster_to_json(const struct flow_roster *r, json_t **out) VARSKO_WUR;
/* Strict parse of a borrowed json_t; no signature check. *out zeroed on failure (VARSKO_ERR_BAD_FRAME). */
int flow_roster_from_json(const json_t *j, struct flow_roster *out) VARSKO_WUR;

/* ---- receipt ------------------------------------------------------------- */

/*
 * The gateway's signed receipt for an accepted underretning.
 * Signing input: FLOW_TAG_RECEIPT, version (u64), reference, submission,
 * envelope_hash (32 bytes), sender (device), sender_user, institution,
 * team, received (i64), vurdering_due (i64), kvittering_due (i64),
 * tilbagemelding_due (i64), gateway (device id of the gateway key).
 * JSON: {"envelope_hash":B64,"gateway":S,"institution":S,"kvittering_due":TIME,
 * "received":TIME,"reference":S,"sender":S,"sender_user":S,"sig":B64,
 * "submission":S,"team":S,"tilbagemelding_due":TIME,"version":1,
 * "vurdering_due":TIME}
 */
struct flow_receipt {
	uint32_t version; /* FLOW_VERSION */
	char reference[FLOW_REF_MAX + 1];
	char submission[PROTO_ID_MAX + 1];
	uint8_t envelope_hash[32];
	char sender[PROTO_ID_MAX + 1]; /* device id */
	char sender_user[PROTO_ID_MAX + 1];
	char institution[PROTO_ID_MAX + 1];
	char team[PROTO_ID_MAX + 1]; /* the team it was routed to at receipt */
	int64_t received;
	int64_t vurdering_due;
	int64_t kvittering_due;
	int64_t tilbagemelding_due;
	char gateway[PROTO_ID_MAX + 1]; /* device id of the gateway certificate */
	uint8_t sig[PROTO_SIG_LEN];
};

/* "U-" + 4-digit year + "-" + at least 6 digits: 1 if s is a well-formed reference, else 0. */
int flow_reference_valid(const char *s);
int flow_receipt_signing_input(const struct flow_receipt *r, struct proto_buf *b) VARSKO_WUR;
int flow_receipt_sign(struct flow_receipt *r, const uint8_t gateway_sk[64]) VARSKO_WUR;
/*
 * Offline check: gateway_cert verifies with org_pk at `now` (pass the
 * receipt's `received` time to check a receipt as of its issue), has role
 * "gateway" and device == r->gateway, and r's signature verifies with its
 * sign_pk. VARSKO_OK, VARSKO_ERR_BAD_CERT or VARSKO_ERR_BAD_SIGNATURE.
 */
int flow_receipt_verify(const struct flow_receipt *r, const struct proto_cert *gateway_cert,
                        const uint8_t org_pk[PROTO_PK_LEN], int64_t now) VARSKO_WUR;
int flow_receipt_to_json(const struct flow_receipt *r, json_t **out) VARSKO_WUR;
int flow_receipt_from_json(const json_t *j, struct flow_receipt *out) VARSKO_WUR;

/* ---- events ---------------------------------------------------------------- */

/*
 * Event kinds and who may sign them (checked by varskod, shown by clients):
 *   leveret        gateway: the broker acknowledged (PUBACK) the publication
 *   modtaget       agent of the underretning's current team: received and decrypted
 *   journaliseret  agent of the current team: filed in the case system
 *   aabnet         myndighed or leder of the current team: opened
 *   vurderet       myndighed of the current team: assessed; akut = 0 or 1
 *   kvitteret      myndighed of the current team: kvittering; carries an envelope
 *                  (kind "kvittering") to the notifier's devices
 *   tilbagemelding myndighed of the current team; started = 0 or 1, carries an
 *                  envelope (kind "tilbagemelding") to the notifier's devices
 *   omdirigeret    myndighed of the current team; team = the new team, carries
 *                  an envelope (kind "underretning", object id = the reference)
 *                  re-encrypted to the new team's roster
 *   afsluttet      myndighed of the current team: closed
 * The envelope's object id is the reference; its sender is the event's device.
 */
enum flow_event_kind {
	FLOW_EV_NONE = 0,
	FLOW_EV_LEVERET,
	FLOW_EV_MODTAGET,
	FLOW_EV_JOURNALISERET,
	FLOW_EV_AABNET,
	FLOW_EV_VURDERET,
	FLOW_EV_KVITTERET,
	FLOW_EV_TILBAGEMELDING,
	FLOW_EV_OMDIRIGERET,
	FLOW_EV_AFSLUTTET,
	FLOW_EV_COUNT_
};

/* Wire name ("vurderet") or NULL; and back (FLOW_EV_NONE when unknown). */
const char *flow_event_kind_name(enum flow_event_kind k);
enum flow_event_kind flow_event_kind_from_name(const char *s);
/* 1 when the kind must carry an envelope (kvitteret, tilbagemelding, omdirigeret), else 0. */
int flow_event_needs_envelope(enum flow_event_kind k);

/*
 * Signing input: FLOW_TAG_EVENT, version (u64), reference, kind name,
 * device, time (i64), akut (i64: -1 when not vurderet), started (i64: -1
 * when not tilbagemelding), team ("" unless omdirigeret), has_envelope
 * (u64 0/1), envelope_hash (32 bytes; zeros when none).
 * JSON: {"akut":B (only vurderet),"device":S,"envelope_hash":B64 (only with
 * an envelope),"kind":S,"reference":S,"sig":B64,"started":B (only
 * tilbagemelding),"team":S (only omdirigeret),"time":TIME,"version":1}
 * from_json also checks that exactly the fields of that kind are present.
 */
struct flow_event {
	uint32_t version;
	char reference[FLOW_REF_MAX + 1];
	enum flow_event_kind kind;
	char device[PROTO_ID_MAX + 1];
	int64_t time;
	int akut;    /* -1, 0, 1 */
	int started; /* -1, 0, 1 */
	char team[PROTO_ID_MAX + 1];
	int has_envelope;
	uint8_t envelope_hash[32];
	uint8_t sig[PROTO_SIG_LEN];
};

int flow_event_signing_input(const struct flow_event *e, struct proto_buf *b) VARSKO_WUR;
int flow_event_sign(struct flow_event *e, const uint8_t sk[64]) VARSKO_WUR;
/* Signature only (the caller checks the signer's certificate and rights). VARSKO_ERR_BAD_SIGNATURE. */
int flow_event_verify(const struct flow_event *e, const uint8_t sign_pk[PROTO_PK_LEN]) VARSKO_WUR;
int flow_event_to_json(const struct flow_event *e, json_t **out) VARSKO_WUR;
int flow_event_from_json(const json_t *j, struct flow_event *out) VARSKO_WUR;

/* ---- refusal (an agent's dead letter, PROTOCOL.md 12.9) ----------------------- */

/* Why an agent refuses an underretning for good; the names are stable (the wire, the audit, /metrics). */
enum flow_refusal_reason {
	FLOW_RF_NONE = 0,
	FLOW_RF_CANNOT_OPEN,  /* "cannot_open": no key of the agent opens the envelope */
	FLOW_RF_BAD_DOCUMENT, /* "bad_document": it opens, but the document fails its checks */
	FLOW_RF_FAILED_CHECK, /* "failed_check": a certificate, receipt or signature does not verify */
	FLOW_RF_COUNT_
};
const char *flow_refusal_reason_name(enum flow_refusal_reason r); /* NULL for none or unknown */
enum flow_refusal_reason flow_refusal_reason_from_name(const char *s);

/*
 * Signing input: FLOW_TAG_REFUSAL, version (u64), reference, device, time
 * (i64), reason name.
 * JSON: {"device":S,"reason":S,"reference":S,"sig":B64,"time":TIME,"version":1}
 */
struct flow_refusal {
	uint32_t version;
	char reference[FLOW_REF_MAX + 1];
	char device[PROTO_ID_MAX + 1];
	int64_t time;
	enum flow_refusal_reason reason;
	uint8_t sig[PROTO_SIG_LEN];
};

/* enc("varsko-refusal-v1", u64 version, reference, device, i64 time, reason) into b (PROTOCOL.md 12.9). */
int flow_refusal_signing_input(const struct flow_refusal *f, struct proto_buf *b) VARSKO_WUR;
int flow_refusal_sign(struct flow_refusal *f, const uint8_t sk[64]) VARSKO_WUR;
/* Signature only (the caller checks the signer's certificate and team). VARSKO_ERR_BAD_SIGNATURE. */
int flow_refusal_verify(const struct flow_refusal *f, const uint8_t sign_pk[PROTO_PK_LEN]) VARSKO_WUR;
int flow_refusal_to_json(const struct flow_refusal *f, json_t **out) VARSKO_WUR;
/* Strict parse of a borrowed json_t; *out zeroed on failure (VARSKO_ERR_BAD_FRAME). */
int flow_refusal_from_json(const json_t *j, struct flow_refusal *out) VARSKO_WUR;

/* ---- frames ------------------------------------------------------------------ */

/*
 * Flow frames are JSON objects like the frames of proto.h ({"type":S,
 * "id":S,...}) but may be up to FLOW_FRAME_MAX bytes and nest the objects
 * above. C->S requests (all need a logged-in session):
 *   route            {"header":UH_HEADER_JSON}                          -> routed
 *   submit           {"envelope":ENV}                                   -> receipt
 *   event            {"event":EVENT,"envelope":ENV (iff the kind needs one)} -> event_ok
 *   inbox            {}  team's underretninger (myndighed, leder)        -> items
 *   mine             {}  own underretninger (fagperson)                  -> items
 *   fetch            {"reference":S}  (myndighed, leder of current team)  -> underretning
 *   status           {"reference":S}  (the notifier, or the current team) -> timeline
 *   notifier_devices {"reference":S}  (current team)                     -> devices
 *   roster           {"team":S}  (myndighed; to re-route)                -> routed
 *   overview         {}  open deadlines of the leder's team              -> deadlines
 *   directory_get    {}  names of institutions and teams (every person)  -> directory
 *   report_get       {"from":DATE?,"to":DATE?}  the ledelsestilsyn figures of
 *                    the leder's team (DATE "YYYY-MM-DD", checked for shape
 *                    here and as a date by the gateway)                 -> report
 * S->C answers (echo "id"):
 *   routed           {"team":S,"roster":ROSTER}
 *   receipt          {"receipt":RECEIPT,"duplicate":B}
 *   event_ok         {"seq":N}
 *   items            {"items":[ITEM...]}
 *     ITEM = {"reference":S,"team":S,"institution":S,"age_group":S,"akut":B,
 *             "handicap":B,"received":TIME,"vurdering_due":TIME,
 *             "kvittering_due":TIME,"state":S (the last event kind, or "modtaget_gateway")}
 *   underretning     {"reference":S,"envelope":ENV,"receipt":RECEIPT,
 *                     "sender_cert":CERT,"gateway_cert":CERT}
 *   timeline         {"receipt":RECEIPT,"gateway_cert":CERT,"sender_cert":CERT,
 *                     "events":[{"event":EVENT,"cert":CERT,"envelope":ENV?}...]}
 *                    (envelope only for kvitteret / tilbagemelding, the
 *                    messages meant for the notifier)
 *   devices          {"certs":[CERT...]}  (the notifier's active devices)
 *   deadlines        {"items":[{"reference":S,"kind":S,"due":TIME,"state":
 *                     "open"|"warned"|"overdue"}...]} soonest first
 *   directory        {"institutions":[{"id":S,"name":S,"kind":S}...],
 *                     "teams":[{"id":S,"name":S,"phone":S?}...],
 *                     "akut_team":S?} (the municipality document's names)
 *   report           {"figures":FIGURES} (one team's entry of the ledelsestilsyn
 *                    report, gateway/report.h; an object, not checked here)
 * S->C pushes (no "id"):
 *   pushed           {"reference":S,"event":EVENT,"cert":CERT,"envelope":ENV?}
 *                    to the notifier's and the current team's online sessions
 *   new_underretning {"item":ITEM} to the team's online sessions
 *   frist            {"reference":S,"kind":"warning"|"escalation",
 *                     "deadline":"vurdering"|"kvittering","due":TIME} to the
 *                     team's leder sessions
 *   alert            {"kind":"no_reader"|"dead_letter","reference":S,"team":S,"akut":B}
 *                    to the team's online sessions when nobody in the team
 *                    can read a new underretning (flow_no_reader_alert()),
 *                    or to its leders when its agent refused one
 *                    (flow_dead_letter_alert())
 *   missed           {"count":N} (N >= 1) to a session whose queue was too
 *                    full for N pushes, once it drained: fetch again
 *
 * The frames of consultation threads (PROTOCOL.md 17.3; LINK a thread
 * chain link, ENV an envelope, MARK a read mark as thread.h's
 * thread_mark_to_json, CERT a certificate):
 *   thread_create    {"links":[LINK...] (1..64)}                        -> thread_ok
 *   thread_get       {"thread":S}                                       -> thread
 *   thread_append    {"thread":S,"link":LINK}                           -> thread_ok
 *   thread_send      {"thread":S,"envelope":ENV}                        -> thread_sent
 *   thread_list      {}                                                 -> threads
 *   thread_sync      {"thread":S, exactly one of "after":N (>= 0) and
 *                     "before":N (>= 1), "limit":N (1..100, optional)}  -> messages
 *   thread_mark      {"mark":MARK}                                      -> mark_ok
 *   thread_raadgivere {"institution":S}                                 -> raadgivere
 * answers:
 *   thread_ok        {"thread":S,"version":N}
 *   thread           {"thread":S,"links":[LINK...]}
 *   thread_sent      {"thread":S,"message":S,"seq":N,"received":TIME,"duplicate":B}
 *   threads          {"threads":[{"thread":S,"institution":S,"anonymous":B,
 *                     "version":N,"last_seq":N,"last_time":TIME (absent when
 *                     there is no message)}...]}
 *   messages         {"thread":S,"messages":[{"seq":N,"envelope":ENV,
 *                     "received":TIME,"sender_cert":CERT,"marks":[MARK...]}...],
 *                     "more":B}
 *   mark_ok          {"thread":S,"seq":N}
 *   raadgivere       {"institution":S,"users":[S...] (0..64)}
 * pushes (no "id"):
 *   thread_message   {"thread":S,"seq":N,"envelope":ENV,"received":TIME,"sender_cert":CERT}
 *   thread_changed   {"thread":S,"version":N}
 *   thread_mark      {"mark":MARK,"cert":CERT} (FLOW_T_THREAD_MARK_PUSH: the
 *                    request and the push share the name; a frame with
 *                    "cert" is the push, one without it the request)
 * Every "thread" member is a thread id and every "message" a message id
 * (thread.h), checked here; the nested LINK, ENV, MARK and CERT objects are
 * checked by their own from_json in the caller (a MARK's members are
 * checked for shape here too).
 *
 * flow_frame_parse(): parse buf[0..len) with JSON_REJECT_DUPLICATES; if it
 * is an object whose "type" is one of the flow types above, check its
 * top-level shape (exactly the listed keys plus "type" and "id"; each of
 * the right JSON type; nested objects are checked by their own from_json
 * by the caller) and return VARSKO_OK with *out a new reference (caller
 * json_decref) and *type its enum. A JSON object with any other "type":
 * VARSKO_ERR_UNKNOWN_TYPE and *out NULL (the caller then tries
 * proto_frame_decode()). Other failures: VARSKO_ERR_TOO_LARGE (len >
 * FLOW_FRAME_MAX), VARSKO_ERR_BAD_JSON, VARSKO_ERR_DUPLICATE_KEY,
 * VARSKO_ERR_BAD_FRAME; id_out (PROTO_ID_MAX + 1 bytes, may be NULL) gets
 * the request id when one could be read, detail a static English text.
 */
enum flow_type {
	FLOW_T_NONE = 0,
	/* requests */
	FLOW_T_ROUTE,
	FLOW_T_SUBMIT,
	FLOW_T_EVENT,
	FLOW_T_INBOX,
	FLOW_T_MINE,
	FLOW_T_FETCH,
	FLOW_T_STATUS,
	FLOW_T_NOTIFIER_DEVICES,
	FLOW_T_ROSTER,
	FLOW_T_OVERVIEW,
	FLOW_T_CHAIN_GET, /* the key model (PROTOCOL.md 15): chains, key box sets, the recovery box */
	FLOW_T_CHAIN_APPEND,
	FLOW_T_KEYS_GET,
	FLOW_T_KEYS_PUT,
	FLOW_T_RECOVERY_GET,
	FLOW_T_RECOVERY_PUT,
	FLOW_T_APPROVE_REQUEST,
	FLOW_T_APPROVE_LIST,
	FLOW_T_APPROVE_OFFER,
	FLOW_T_APPROVE_REVEAL,
	FLOW_T_APPROVE_GET,
	FLOW_T_THREAD_CREATE, /* consultation threads (PROTOCOL.md 17.3) */
	FLOW_T_THREAD_GET,
	FLOW_T_THREAD_APPEND,
	FLOW_T_THREAD_SEND,
	FLOW_T_THREAD_LIST,
	FLOW_T_THREAD_SYNC,
	FLOW_T_THREAD_MARK,
	FLOW_T_THREAD_RAADGIVERE,
	FLOW_T_BLOB_BEGIN, /* attachments (PROTOCOL.md 17.9) */
	FLOW_T_BLOB_PUT,
	FLOW_T_BLOB_GET,
	FLOW_T_DIRECTORY_GET, /* the municipality's names (PROTOCOL.md 12.7) */
	FLOW_T_REPORT_GET,    /* the leder's ledelsestilsyn figures (PROTOCOL.md 12.7) */
	/* answers */
	FLOW_T_ROUTED,
	FLOW_T_RECEIPT,
	FLOW_T_EVENT_OK,
	FLOW_T_ITEMS,
	FLOW_T_UNDERRETNING,
	FLOW_T_TIMELINE,
	FLOW_T_DEVICES,
	FLOW_T_DEADLINES,
	FLOW_T_CHAIN,
	FLOW_T_CHAIN_OK,
	FLOW_T_KEYS,
	FLOW_T_KEYS_OK,
	FLOW_T_RECOVERY,
	FLOW_T_RECOVERY_OK,
	FLOW_T_APPROVAL,
	FLOW_T_APPROVALS,
	FLOW_T_THREAD_OK,
	FLOW_T_THREAD, /* the answer "thread" (to thread_get) */
	FLOW_T_THREAD_SENT,
	FLOW_T_THREADS,
	FLOW_T_MESSAGES,
	FLOW_T_MARK_OK,
	FLOW_T_RAADGIVERE,
	FLOW_T_BLOB_OK,
	FLOW_T_BLOB_DATA,
	FLOW_T_DIRECTORY,
	FLOW_T_REPORT,
	/* pushes */
	FLOW_T_PUSHED,
	FLOW_T_NEW_UNDERRETNING,
	FLOW_T_FRIST,
	FLOW_T_THREAD_MESSAGE,
	FLOW_T_THREAD_CHANGED,
	FLOW_T_THREAD_MARK_PUSH, /* also named "thread_mark": the push carries "cert", the request does not */
	FLOW_T_ALERT,
	FLOW_T_MISSED,
	/* MQTT only */
	FLOW_T_REFUSAL,
	FLOW_T_COUNT_
};

#define FLOW_T_FIRST_REQUEST FLOW_T_ROUTE
#define FLOW_T_LAST_REQUEST  FLOW_T_REPORT_GET
#define FLOW_APPROVALS_MAX   64 /* open approvals in one approvals answer */
#define FLOW_CHAIN_LINKS_MAX 1024 /* links in one chain answer */
#define FLOW_KEY_SETS_MAX    256  /* key box sets in one keys answer */
#define FLOW_THREAD_LINKS_MAX 64  /* links in one thread_create */
#define FLOW_THREAD_SYNC_MAX 100  /* messages in one messages answer (thread_sync's limit) */
#define FLOW_THREAD_MARKS_MAX 128 /* marks of one message: leveret and laest of 64 members */
#define FLOW_RAADGIVERE_MAX   64  /* rådgivere assigned to one institution, in a raadgivere answer */
#define FLOW_DIRECTORY_MAX    1000 /* institutions, and teams, in one directory answer */
#define FLOW_PHONE_MAX        32   /* bytes of a team's phone number (PROTOCOL.md 12.7, directory) */
#define FLOW_DATE_LEN         10   /* "YYYY-MM-DD" (report_get) */

const char *flow_type_name(enum flow_type t);
int flow_frame_parse(const char *buf, size_t len, json_t **out, enum flow_type *type, char *id_out,
                     const char **detail) VARSKO_WUR;

/*
 * flow_frame_decode(): any frame of the WebSocket protocol, flow.h's or
 * proto.h's, loaded once and dispatched once on its "type". A flow type is
 * checked as by flow_frame_parse() (*out, *type); any other type is decoded
 * into *pf (borrowed, overwritten) by proto_frame_decode()'s rules, its
 * PROTO_FRAME_MAX limit included, and *out stays NULL, *type FLOW_T_NONE.
 * pf NULL is flow_frame_parse(). Errors as both: VARSKO_ERR_TOO_LARGE,
 * VARSKO_ERR_BAD_JSON, VARSKO_ERR_DUPLICATE_KEY, VARSKO_ERR_BAD_FRAME,
 * VARSKO_ERR_UNKNOWN_TYPE; id_out gets the request id when one could be read.
 */
int flow_frame_decode(const char *buf, size_t len, json_t **out, enum flow_type *type, struct proto_frame *pf,
                      char *id_out, const char **detail) VARSKO_WUR;

/*
 * Serialise a frame object (borrowed) compactly with sorted keys. *out
 * owned by the caller (free()), NUL-terminated, *len without the NUL.
 */
int flow_frame_dump(const json_t *frame, char **out, size_t *len) VARSKO_WUR;

/*
 * The MQTT payloads (PROTOCOL.md "MQTT"):
 *   varsko/<tenant>/team/<team>/underretning
 *     {"type":"underretning","reference":S,"envelope":ENV,"receipt":RECEIPT,
 *      "sender_cert":CERT,"gateway_cert":CERT}
 *   varsko/<tenant>/ack   (agents publish)
 *     {"type":"event","event":EVENT,"cert":CERT}
 *     {"type":"refusal","refusal":REFUSAL,"cert":CERT}
 *   varsko/<tenant>/team/<team>/frist
 *     {"type":"frist","reference":S,"kind":"warning"|"escalation",
 *      "deadline":"vurdering"|"kvittering","due":TIME}
 *   varsko/<tenant>/team/<team>/alert
 *     {"type":"alert","kind":"no_reader"|"dead_letter","reference":S,"team":S,"akut":B}
 * flow_mqtt_parse() checks the top-level shape of one of these like
 * flow_frame_parse() (no "id"); *type is FLOW_T_UNDERRETNING, FLOW_T_EVENT,
 * FLOW_T_FRIST, FLOW_T_ALERT or FLOW_T_REFUSAL.
 */
int flow_mqtt_parse(const char *buf, size_t len, json_t **out, enum flow_type *type, const char **detail) VARSKO_WUR;

#endif
