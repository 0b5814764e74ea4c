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
