/*
 * flow_text.c: JSON texts put together from canonical texts (flow_text.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "flow_text.h"
#include "varsko/err.h"

struct rawkv {
	const char *key;   /* a plain ASCII key (no escaping needed) */
	const char *value; /* raw JSON text; NULL: member left out; raw_hole: the value is left to the reader */
};

/* The value of the one member whose text raw_object() leaves out, telling where it goes instead. */
static const char raw_hole[] = "";

static int rawkv_cmp(const void *a, const void *b)
{
	return strcmp(((const struct rawkv *)a)->key, ((const struct rawkv *)b)->key);
}

/* s as a JSON string (owned by the caller), or NULL. */
static char *quote(const char *s)
{
	json_t *v = json_string(s);
	char *t = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

	json_decref(v);
	return t;
}

/* {"k1":v1,...} from raw JSON value texts, keys sorted; kv is sorted in place. *out owned by the caller. */
static int raw_object(struct rawkv *kv, size_t n, char **out, size_t *len, size_t *hole)
{
	size_t total = 2, i, o = 0;
	char *p;

	*out = NULL;
	if (len != NULL)
		*len = 0;
	if (hole != NULL)
		*hole = 0;
	qsort(kv, n, sizeof(*kv), rawkv_cmp);
	for (i = 0; i < n; i++)
		if (kv[i].value != NULL)
			total += strlen(kv[i].key) + strlen(kv[i].value) + 4;
	if ((p = malloc(total + 1)) == NULL)
		return VARSKO_ERR_NOMEM;
	p[o++] = '{';
	for (i = 0; i < n; i++) {
		size_t kl, vl;

		if (kv[i].value == NULL)
			continue;
		if (o > 1)
			p[o++] = ',';
		kl = strlen(kv[i].key);
		vl = strlen(kv[i].value);
		p[o++] = '"';
		memcpy(p + o, kv[i].key, kl);
		o += kl;
		p[o++] = '"';
		p[o++] = ':';
		if (kv[i].value == raw_hole && hole != NULL)
			*hole = o;
		memcpy(p + o, kv[i].value, vl);
		o += vl;
	}
	p[o++] = '}';
	p[o] = '\0';
	*out = p;
	if (len != NULL)
		*len = o;
	return VARSKO_OK;
}

int flow_text_topic_team(char *out, size_t cap, const char *tenant, const char *team, const char *leaf)
{
	int n = snprintf(out, cap, "varsko/%s/team/%s/%s", tenant, team, leaf);

	return n > 0 && (size_t)n < cap ? VARSKO_OK : VARSKO_ERR_BAD_INPUT;
}

int flow_text_topic_underretning(char *out, size_t cap, const char *tenant, const char *team)
{
	return flow_text_topic_team(out, cap, tenant, team, "underretning");
}

int flow_text_underretning(const char *reference, const char *envelope_json, const char *receipt_json,
                           const char *sender_cert_json, const char *gateway_cert_json, char **out,
                           size_t *envelope_at)
{
	struct rawkv kv[6];
	char *ref = quote(reference);
	int r;

	*out = NULL;
	if (ref == NULL)
		return VARSKO_ERR_NOMEM;
	kv[0] = (struct rawkv){"type", "\"underretning\""};
	kv[1] = (struct rawkv){"reference", ref};
	kv[2] = (struct rawkv){"envelope", envelope_json != NULL ? envelope_json : raw_hole};
	kv[3] = (struct rawkv){"receipt", receipt_json};
	kv[4] = (struct rawkv){"sender_cert", sender_cert_json};
	kv[5] = (struct rawkv){"gateway_cert", gateway_cert_json};
	r = raw_object(kv, 6, out, NULL, envelope_at);
	free(ref);
	return r;
}

int flow_text_pushed(const char *reference, const char *event_json, const char *cert_json, const char *env_json,
                     char **out, size_t *len)
{
	struct rawkv kv[5];
	char *ref = quote(reference);
	int r;

	*out = NULL;
	if (ref == NULL)
		return VARSKO_ERR_NOMEM;
	kv[0] = (struct rawkv){"type", "\"pushed\""};
	kv[1] = (struct rawkv){"reference", ref};
	kv[2] = (struct rawkv){"event", event_json};
	kv[3] = (struct rawkv){"cert", cert_json};
	kv[4] = (struct rawkv){"envelope", env_json};
	r = raw_object(kv, 5, out, len, NULL);
	free(ref);
	return r;
}

int flow_text_merge(const json_t *small, const struct flow_text_kv *raw, size_t n, char **out, size_t *len)
{
	size_t n_small = json_object_size(small), k = 0;
	struct rawkv *kv;
	const char *key;
	json_t *v;
	int r = VARSKO_ERR_NOMEM;

	*out = NULL;
	if (len != NULL)
		*len = 0;
	if ((kv = calloc(n_small + n + 1, sizeof(*kv))) == NULL)
		return VARSKO_ERR_NOMEM;
	json_object_foreach((json_t *)small, key, v)
	{
		char *t = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);

		if (t == NULL)
			goto out;
		kv[k++] = (struct rawkv){key, t};
	}
	for (size_t i = 0; i < n; i++)
		kv[k + i] = (struct rawkv){raw[i].key, raw[i].value};
	r = raw_object(kv, k + n, out, len, NULL);
out:
	/* raw_object() sorted kv: the texts of small's members are the ones not among raw's. */
	for (size_t i = 0; i < k + n; i++) {
		size_t m;

		for (m = 0; m < n && kv[i].value != raw[m].value; m++)
			;
		if (m == n)
			free((char *)kv[i].value);
	}
	free(kv);
	return r;
}
