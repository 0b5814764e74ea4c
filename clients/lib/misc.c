/*
 * misc.c: error texts, the version, and small helpers shared by the modules.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "calendar.h"
#include "catalogue.h"
#include "client.h"
#include "wipe.h"

_Static_assert(VARSKO_ID_MAX == PROTO_ID_MAX, "identity sizes follow the protocol");
_Static_assert(VARSKO_NAME_MAX == PROTO_NAME_MAX, "identity sizes follow the protocol");
_Static_assert(VARSKO_ROLE_MAX == PROTO_ROLE_MAX, "identity sizes follow the protocol");
_Static_assert(VARSKO_INST_MAX == PROTO_INST_MAX, "identity sizes follow the protocol");
_Static_assert(VARSKO_FPR_LEN == PROTO_FPR_LEN, "fingerprint length follows the protocol");

const char *varsko_strerror(int err)
{
	return varsko_err_text(err);
}

const char *varsko_strerrname(int err)
{
	return varsko_err_name(err);
}

static const struct catalogue_entry *catalogue_of(int err)
{
	for (size_t i = 0; i < varsko_catalogue_len; i++)
		if (varsko_catalogue[i].code == err)
			return &varsko_catalogue[i];
	return NULL;
}

const char *varsko_text(int err)
{
	const struct catalogue_entry *e = catalogue_of(err);

	return e != NULL ? e->text : catalogue_of(VARSKO_ERR_INTERNAL)->text;
}

const char *varsko_next_step(int err)
{
	const struct catalogue_entry *e = catalogue_of(err);

	return e != NULL ? e->next : catalogue_of(VARSKO_ERR_INTERNAL)->next;
}

static const char *pair_lookup(const struct catalogue_pair *list, const char *key)
{
	for (; list->key != NULL; list++)
		if (strcmp(list->key, key) == 0)
			return list->text;
	return NULL;
}

const char *varsko_step_label(const char *step)
{
	const char *t = step != NULL ? pair_lookup(varsko_steps, step) : NULL;

	return t != NULL ? t : (step != NULL ? step : "?");
}

const char *varsko_notice(const char *name, const char *arg, char *out, size_t cap)
{
	const char *t = pair_lookup(varsko_notices, name), *at, *end;

	if (cap == 0)
		return out;
	if (t == NULL || (at = strchr(t, '{')) == NULL || (end = strchr(at, '}')) == NULL) {
		snprintf(out, cap, "%s", name);
		return out;
	}
	snprintf(out, cap, "%.*s%s%s", (int)(at - t), t, arg != NULL ? arg : "", end + 1);
	return out;
}

const char *varsko_document_problem_text(const struct varsko_doc_problem *p, char *out, size_t cap)
{
	char field[VARSKO_PATH_MAX + 1];
	const char *what, *form, *add;
	size_t k = 0;

	if (cap == 0)
		return out;
	out[0] = '\0';
	if (p == NULL)
		return out;
	/* The catalogue names fields without indexes: parents[1].phone is parents[].phone. */
	for (const char *s = p->path; *s != '\0' && k + 1 < sizeof(field); s++) {
		field[k++] = *s;
		if (*s == '[')
			while (s[1] != '\0' && s[1] != ']')
				s++;
	}
	field[k] = '\0';
	what = pair_lookup(varsko_doc_problems, p->problem);
	if (strcmp(p->problem, "bad_json") == 0) {
		if (p->line > 0)
			snprintf(out, cap, "Dokumentet er ikke gyldig JSON: fejlen er i linje %zu, kolonne %zu.", p->line,
			         p->column);
		else
			snprintf(out, cap, "Dokumentet skal være ét JSON-objekt { ... } i UTF-8 med hvert felt én gang.");
		return out;
	}
	if (p->path[0] == '\0') {
		snprintf(out, cap, "Dokumentet %s.", what != NULL ? what : p->problem);
		return out;
	}
	form = pair_lookup(varsko_doc_forms, field);
	add = strcmp(p->problem, "missing") == 0 ? pair_lookup(varsko_doc_missing, field) : NULL;
	if (add != NULL)
		snprintf(out, cap, "%s %s. %s", p->path, what != NULL ? what : p->problem, add);
	else if (form != NULL && strcmp(p->problem, "unknown_field") != 0 && strcmp(p->problem, "not_allowed") != 0)
		snprintf(out, cap, "%s %s. Skriv det som %s.", p->path, what != NULL ? what : p->problem, form);
	else
		snprintf(out, cap, "%s %s.", p->path, what != NULL ? what : p->problem);
	return out;
}

/*
 * A catalogue text with {name} placeholders filled from keys[i] -> vals[i]
 * (an unknown placeholder is copied as it is) into out; never overflows.
 */
static void fill(const char *tmpl, const char *const *keys, const char *const *vals, size_t n, char *out, size_t cap)
{
	size_t k = 0;

	while (*tmpl != '\0' && k + 1 < cap) {
		size_t i;

		if (*tmpl == '{') {
			for (i = 0; i < n; i++) {
				size_t kl = strlen(keys[i]);

				if (strncmp(tmpl + 1, keys[i], kl) == 0 && tmpl[1 + kl] == '}') {
					k += (size_t)snprintf(out + k, cap - k, "%s", vals[i]);
					if (k >= cap)
						k = cap - 1;
					tmpl += kl + 2;
					break;
				}
			}
			if (i < n)
				continue;
		}
		out[k++] = *tmpl++;
	}
	out[k] = '\0';
}

static int starts(const char *s, const char *prefix)
{
	return s != NULL && strncmp(s, prefix, strlen(prefix)) == 0;
}

int varsko_unreachable_text(int err, const char *detail, const char *url, char *out, size_t cap)
{
	static const char *const keys[] = {"adresse"};
	const char *vals[1] = {url != NULL ? url : "?"};
	const char *why;
	char addr[300];
	int kind;

	if (cap == 0)
		return VARSKO_REACH_NONE;
	out[0] = '\0';
	switch (err) {
	case VARSKO_ERR_TLS:
		kind = VARSKO_REACH_CERTIFICATE;
		why = "certificate";
		break;
	case VARSKO_ERR_CLOSED:
	case VARSKO_ERR_UNAVAILABLE:
		kind = VARSKO_REACH_SERVER;
		why = "server";
		break;
	case VARSKO_ERR_TIMEOUT:
		kind = VARSKO_REACH_NETWORK;
		why = "network_timeout";
		break;
	case VARSKO_ERR_CONNECT:
		/* wsc.c looked for the cause (client.h, WSC_WHY_*). */
		kind = VARSKO_REACH_NETWORK;
		why = starts(detail, WSC_WHY_REFUSED)   ? "network_refused"
		      : starts(detail, WSC_WHY_DNS)     ? "network_dns"
		      : starts(detail, WSC_WHY_ROUTE)   ? "network_route"
		      : starts(detail, WSC_WHY_TIMEOUT) ? "network_timeout"
		                                        : "network";
		if (starts(detail, WSC_WHY_SERVER)) {
			kind = VARSKO_REACH_SERVER;
			why = "server";
		}
		break;
	default:
		return VARSKO_REACH_NONE;
	}
	fill(pair_lookup(varsko_unreachable, "address"), keys, vals, 1, addr, sizeof(addr));
	snprintf(out, cap, "%s %s", addr, pair_lookup(varsko_unreachable, why));
	return kind;
}

const char *varsko_akut_advice(int sending, const char *team, const char *phone, char *out, size_t cap)
{
	static const char *const keys[] = {"team", "telefon"};
	const char *vals[2] = {team != NULL ? team : "Døgnvagten", phone != NULL ? phone : ""};
	int has_phone = phone != NULL && phone[0] != '\0';

	if (cap == 0)
		return out;
	fill(pair_lookup(varsko_unreachable, sending ? (has_phone ? "akut" : "akut_no_phone")
	                                             : (has_phone ? "if_akut" : "if_akut_no_phone")),
	     keys, vals, 2, out, cap);
	return out;
}

const char *varsko_version(void)
{
	return VARSKO_LIB_VERSION;
}

void detail_set(char *dst, size_t cap, const char *src)
{
	size_t i = 0;

	if (cap == 0)
		return;
	if (src != NULL) {
		for (; src[i] != '\0' && i + 1 < cap; i++) {
			unsigned char ch = (unsigned char)src[i];

			dst[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
		}
	}
	dst[i] = '\0';
}

void identity_from_cert(const struct proto_cert *c, struct varsko_identity *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->user, c->user, sizeof(out->user));
	memcpy(out->name, c->name, sizeof(out->name));
	memcpy(out->role, c->role, sizeof(out->role));
	memcpy(out->team, c->team, sizeof(out->team));
	out->n_institutions = c->n_institutions <= VARSKO_INST_MAX ? c->n_institutions : VARSKO_INST_MAX;
	for (size_t i = 0; i < out->n_institutions; i++)
		memcpy(out->institutions[i], c->institutions[i], sizeof(out->institutions[i]));
	memcpy(out->device, c->device, sizeof(out->device));
	out->serial = c->serial;
	out->not_before = c->not_before;
	out->not_after = c->not_after;
}

/* Whatever the library hands out may be plaintext or a list of names: wiped, the whole block (common/wipe.c). */
void varsko_free(void *p)
{
	wipe_free(p);
}

void varsko_free_secret(void *p, size_t len)
{
	proto_wipe_free(p, len);
}

/* The staff's wall clock: Copenhagen time (proto/calendar.c) as "dd.mm.yyyy kl. hh.mm". */
int varsko_local_format(int64_t t, char out[VARSKO_LOCAL_LEN + 1])
{
	struct cal_local lt;
	char buf[64];
	int r;

	if ((r = cal_to_local(t, &lt)) != VARSKO_OK) {
		proto_time_format(t, out);
		return r;
	}
	snprintf(buf, sizeof(buf), "%02d.%02d.%04d kl. %02d.%02d", lt.day, lt.month, lt.year, lt.hour, lt.minute);
	detail_set(out, VARSKO_LOCAL_LEN + 1, buf); /* 19 characters, all printable */
	return VARSKO_OK;
}
