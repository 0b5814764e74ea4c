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

/* varsko/<tenant>/team/<team>/underretning into out[cap]; VARSKO_ERR_BAD_INPUT when it does not fit. */
int flow_text_topic_underretning(char *out, size_t cap, const char *tenant, const char *team);

/* {"envelope":..,"gateway_cert":..,"receipt":..,"reference":..,"sender_cert":..,"type":"underretning"}; *out owned. */
int flow_text_underretning(const char *reference, const char *envelope_json, const char *receipt_json,
                           const char *sender_cert_json, const char *gateway_cert_json, char **out);

/* {"cert":..,"envelope":.. (left out when env_json is NULL),"event":..,"reference":..,"type":"pushed"}. */
int flow_text_pushed(const char *reference, const char *event_json, const char *cert_json, const char *env_json,
                     char **out, size_t *len);

#endif
