/*
 * flow_text.h: the flow's JSON texts that carry other canonical texts
 * (an envelope is up to 2 MiB and is never parsed again just to be
 * embedded): the MQTT underretning payload and topic, and the `pushed`
 * frame (PROTOCOL.md 12.7, 12.9). Every text is compact with sorted keys,
 * the same bytes as json_dumps(JSON_COMPACT | JSON_SORT_KEYS) of the
 * parsed object when every embedded value is itself in that form.
 */
#ifndef VARSKO_FLOW_TEXT_H
#define VARSKO_FLOW_TEXT_H

#include <stddef.h>

#include <jansson.h>

/* varsko/<tenant>/team/<team>/<leaf> into out[cap]; VARSKO_ERR_BAD_INPUT when it does not fit. */
int flow_text_topic_team(char *out, size_t cap, const char *tenant, const char *team, const char *leaf);
/* flow_text_topic_team(..., "underretning"). */
int flow_text_topic_underretning(char *out, size_t cap, const char *tenant, const char *team);

/*
 * {"envelope":..,"gateway_cert":..,"receipt":..,"reference":..,"sender_cert":..,"type":"underretning"}; *out
 * owned. With envelope_json NULL the envelope's text is left out and *envelope_at (may be NULL otherwise) is the
 * byte offset where it belongs: the outbox keeps an underretning's envelope once, in its row (store.h).
 */
int flow_text_underretning(const char *reference, const char *envelope_json, const char *receipt_json,
                           const char *sender_cert_json, const char *gateway_cert_json, char **out,
                           size_t *envelope_at);

/* {"cert":..,"envelope":.. (left out when env_json is NULL),"event":..,"reference":..,"type":"pushed"}. */
int flow_text_pushed(const char *reference, const char *event_json, const char *cert_json, const char *env_json,
                     char **out, size_t *len);

/* A member of an object put together by flow_text_merge(): a plain ASCII key and a raw JSON value text. */
struct flow_text_kv {
	const char *key;
	const char *value; /* raw JSON text, in canonical form; NULL: member left out */
};

/*
 * One object from the members of `small` (borrowed; each value written
 * compact with sorted keys) and raw[0..n) (texts embedded as they are),
 * keys sorted; a key must not be in both. *out owned by the caller
 * (free()), *len (may be NULL) its length. Used for the thread frames that
 * carry envelopes (PROTOCOL.md 17.3).
 */
int flow_text_merge(const json_t *small, const struct flow_text_kv *raw, size_t n, char **out, size_t *len);

#endif
