/*
 * flow_event.h: one signed event of the underretning flow, checked and
 * stored (PROTOCOL.md 12.5; docs/FLOW.md step 7). The WebSocket
 * (server_flow.c), MQTT (mqtt.c) and the gateway's own leveret all come
 * here. The rules are policy.c's tables; the reads and writes store_flow.c's.
 */
#ifndef VARSKO_FLOW_EVENT_H
#define VARSKO_FLOW_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* What applying an event did (for the push to online sessions). */
struct event_result {
	int64_t seq;   /* the event's row */
	int duplicate; /* 1: the same signed event was already stored; nothing changed */
	char reference[PROTO_ID_MAX + 1];
	char kind[16];
	char notifier_user[PROTO_ID_MAX + 1];
	char team[PROTO_ID_MAX + 1]; /* the underretning's team after the event */
	int outbox_added;            /* 1 when an outbox row was added (omdirigeret) */
	char *push_frame;            /* owned: the `pushed` frame (flow.h) as JSON text, or NULL */
	size_t push_len;
	const char *why; /* on a refusal: a static English text saying why, or NULL */
};
void event_result_clear(struct event_result *r); /* frees push_frame; NULL-safe */

/*
 * Check and store one signed event. event_json is the EVENT object,
 * envelope_json the ENV object or NULL. tenant names the MQTT topics;
 * gateway_cert_json (the gateway certificate as JSON) verifies the
 * gateway's own events and goes into the MQTT payload of a re-routed
 * underretning. Joins the caller's transaction if one is open, else runs
 * in its own. Refusals: VARSKO_ERR_BAD_FRAME (malformed),
 * VARSKO_ERR_NOT_FOUND (unknown reference), VARSKO_ERR_UNKNOWN_DEVICE,
 * VARSKO_ERR_DEVICE_REVOKED (also: the signer's user no longer has the
 * certificate's role or team), VARSKO_ERR_DEVICE_EXPIRED,
 * VARSKO_ERR_BAD_SIGNATURE, VARSKO_ERR_FORBIDDEN (policy.c: the signer may
 * not sign this kind for this underretning), VARSKO_ERR_CASE_STATE (the
 * kind does not fit the case's state), VARSKO_ERR_BAD_INPUT (envelope
 * missing, superfluous, with the wrong recipients or, for omdirigeret,
 * other routing bytes than the underretning's), VARSKO_ERR_BAD_TIME.
 * Nothing is stored on a refusal except, when the caller has no
 * transaction open, an audit entry "event_refused"; out->why says why.
 */
int event_apply(struct store *s, const char *event_json, size_t event_len, const char *envelope_json,
                size_t envelope_len, int64_t now, const char *tenant, const char *gateway_cert_json,
                struct event_result *out);

/*
 * Apply an agent's refusal (PROTOCOL.md 12.9; refusal_json the REFUSAL
 * object): the signer must be an enrolled agent device, valid now, whose
 * signature verifies, for an underretning that exists, at a time not in the
 * future nor before it came. Then its team's outbox rows for the reference
 * become a dead letter, audited ("dead_letter"), with an `alert` of kind
 * dead_letter queued for the team's MQTT alert topic (out->outbox_added)
 * and as out->push_frame for the team's leders. A refusal for rows already
 * dead, done or never meant for that team changes nothing
 * (out->duplicate = 1). out->team is the agent's team, out->kind the
 * reason. Refusals as event_apply() (bad_frame, not_found, unknown_device,
 * device_revoked, device_expired, bad_signature, forbidden: not an agent,
 * bad_time), audited "mqtt_refused" by the caller. Joins the caller's
 * transaction if one is open.
 */
int refusal_apply(struct store *s, const char *refusal_json, size_t len, int64_t now, const char *tenant,
                  struct event_result *out);

#endif
