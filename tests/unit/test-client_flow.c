/*
 * test-client_flow.c: the pure parts of libvarsko's underretning flow,
 * without a server: the submission id (against values computed
 * independently), the Copenhagen clock, the message text codec, the roster
 * check and its rollback refusal with the roster file in the home, the
 * offline check of a saved receipt (bit flips, truncation, swapped values,
 * a wrong organisation key), and the status check refusing forged or
 * uncertified events.
 *
 * Links the static core of the library (libvarsko_dep) so the internal
 * functions of clients/lib/client.h are reachable.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "calendar.h"
#include "check.h"
#include "client.h"
#include "wipe.h"

static char base[] = "/tmp/varsko-test-client-flow-XXXXXX";
static int64_t now;

/* ---- fixtures ------------------------------------------------------------------------ */

struct dev {
	uint8_t sign_pk[32], sign_sk[64], box_pk[32], box_sk[32];
	struct proto_cert cert;
};

static uint8_t org_pk[32], org_sk[64], org2_pk[32], org2_sk[64];
static uint64_t next_serial = 1;

/* A device of `role` (team or institution as the role needs) certified by sk. */
static void make_dev(struct dev *d, const char *user, const char *role, const char *team, const uint8_t sk[64])
{
	struct proto_cert *c = &d->cert;

	crypto_sign_keypair(d->sign_pk, d->sign_sk);
	crypto_box_keypair(d->box_pk, d->box_sk);
	memset(c, 0, sizeof(*c));
	c->version = PROTO_VERSION;
	c->serial = next_serial++;
	snprintf(c->user, sizeof(c->user), "%s", user);
	snprintf(c->name, sizeof(c->name), "Test %s", user);
	snprintf(c->role, sizeof(c->role), "%s", role);
	if (strcmp(role, "fagperson") == 0) {
		c->n_institutions = 1;
		snprintf(c->institutions[0], sizeof(c->institutions[0]), "inst-1");
	} else if (team != NULL) {
		snprintf(c->team, sizeof(c->team), "%s", team);
	}
	memcpy(c->sign_pk, d->sign_pk, 32);
	memcpy(c->box_pk, d->box_pk, 32);
	c->not_before = now - 86400;
	c->not_after = now + 86400 * 30;
	if (proto_cert_sign(c, sk) != VARSKO_OK)
		fprintf(stderr, "proto_cert_sign failed\n");
}

static json_t *cert_obj(const struct proto_cert *c)
{
	char *text = NULL;
	json_t *o;

	if (proto_cert_to_json(c, &text) != VARSKO_OK)
		return NULL;
	o = json_loads(text, 0, NULL);
	free(text);
	return o;
}

static struct varsko_home *new_home(const char *name)
{
	char path[512];
	struct varsko_home *h = NULL;

	snprintf(path, sizeof(path), "%s/%s", base, name);
	if (varsko_home_open(path, &h) != VARSKO_OK)
		fprintf(stderr, "cannot open home %s\n", path);
	return h;
}

static unsigned mode_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (unsigned)(st.st_mode & 07777) : 0xffffffffu;
}

/* ---- submission id, clock, texts ----------------------------------------------------- */

static void test_submission_id(void)
{
	char a[VARSKO_SUBMISSION_LEN + 1], b[VARSKO_SUBMISSION_LEN + 1];
	const char doc[] = "{\"x\":1}\n";

	/* Expected values computed outside C: Python's hashlib.blake2b(digest_size=32) over the
	 * length-prefixed fields ("varsko-submission-v1", user, document). */
	CHECK_EQ_INT(varsko_submission_id("laerer-anna", doc, strlen(doc), a), VARSKO_OK);
	CHECK_EQ_STR(a, "s-ad60e252047d47ce98657874d8e84524");
	CHECK_EQ_INT(varsko_submission_id("laerer-anna", "", 0, a), VARSKO_OK);
	CHECK_EQ_STR(a, "s-714e124af8534cfc1358923345470b4f");
	/* The same file by the same user: the same id; anything else differs. */
	CHECK_EQ_INT(varsko_submission_id("laerer-anna", doc, strlen(doc), b), VARSKO_OK);
	CHECK_EQ_STR(b, "s-ad60e252047d47ce98657874d8e84524");
	CHECK_EQ_INT(varsko_submission_id("laerer-bent", doc, strlen(doc), b), VARSKO_OK);
	CHECK(strcmp(a, b) != 0 && strlen(b) == VARSKO_SUBMISSION_LEN && strncmp(b, "s-", 2) == 0);
	CHECK_EQ_INT(varsko_submission_id("laerer-anna", doc, strlen(doc) - 1, b), VARSKO_OK);
	CHECK(strcmp(b, "s-ad60e252047d47ce98657874d8e84524") != 0);
	/* The field encoding keeps user and document apart: ("ab", "c") is not ("a", "bc"). */
	CHECK_EQ_INT(varsko_submission_id("ab", "c", 1, a), VARSKO_OK);
	CHECK_EQ_INT(varsko_submission_id("a", "bc", 2, b), VARSKO_OK);
	CHECK(strcmp(a, b) != 0);
	CHECK_EQ_INT(varsko_submission_id("", doc, 1, a), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(varsko_submission_id(NULL, doc, 1, a), VARSKO_ERR_BAD_INPUT);
}

static void check_local(int64_t t, int y, int mo, int d, int h, int mi, int s, int off)
{
	struct cal_local lt;

	CHECK_EQ_INT(cal_to_local(t, &lt), VARSKO_OK);
	if (lt.year != y || lt.month != mo || lt.day != d || lt.hour != h || lt.minute != mi || lt.second != s ||
	    lt.utc_offset != off) {
		fprintf(stderr,
		        "cal_to_local(%lld) = %04d-%02d-%02d %02d:%02d:%02d %+d, expected %04d-%02d-%02d %02d:%02d:%02d "
		        "%+d\n",
		        (long long)t, lt.year, lt.month, lt.day, lt.hour, lt.minute, lt.second, lt.utc_offset, y, mo, d,
		        h, mi, s, off);
		CHECK(0);
	}
}

static void test_copenhagen(void)
{
	struct cal_local lt;
	char out[VARSKO_LOCAL_LEN + 1];

	/* Unix times written out by hand (days since 1970 * 86400 + seconds). */
	check_local(1795424400, 2026, 11, 23, 10, 0, 0, 3600); /* 2026-11-23T09:00:00Z, winter */
	check_local(1781172000, 2026, 6, 11, 12, 0, 0, 7200);  /* 2026-06-11T10:00:00Z, summer */
	/* 29 March 2026 (last Sunday of March): 01:00Z is the jump from 02:00 CET to 03:00 CEST. */
	check_local(1774745999, 2026, 3, 29, 1, 59, 59, 3600);
	check_local(1774746000, 2026, 3, 29, 3, 0, 0, 7200);
	/* 25 October 2026 (last Sunday of October): 01:00Z goes back from 03:00 CEST to 02:00 CET. */
	check_local(1792889999, 2026, 10, 25, 2, 59, 59, 7200);
	check_local(1792890000, 2026, 10, 25, 2, 0, 0, 3600);
	/* The Copenhagen date is not the UTC date: 23:30Z on New Year's Eve is already next year. */
	check_local(1798759800, 2027, 1, 1, 0, 30, 0, 3600);
	/* 29 February in a leap year. */
	check_local(1709208000, 2024, 2, 29, 13, 0, 0, 3600);
	CHECK_EQ_INT(cal_to_local(0, &lt), VARSKO_ERR_BAD_INPUT);            /* 1970: outside the rule's years */
	CHECK_EQ_INT(cal_to_local(4102444800LL, &lt), VARSKO_ERR_BAD_INPUT); /* 2100-01-01 */
	CHECK_EQ_INT(varsko_local_format(1795424400, out), VARSKO_OK);
	CHECK_EQ_STR(out, "23.11.2026 kl. 10.00");
	CHECK_EQ_INT(varsko_local_format(0, out), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_STR(out, "1970-01-01T00:00:00Z");
}

static void test_messages(void)
{
	struct proto_buf b = {0};
	char *text = NULL;
	size_t len = 0;
	const char *t = "Tak for underretningen.\n\tVi \"vurderer\" den i dag \\ æøå \xf0\x9f\x98\x80";
	const char *bad[] = {"{\"text\":1}",
	                     "{\"text\":\"a\",\"x\":1}",
	                     "{\"txt\":\"a\"}",
	                     "[\"a\"]",
	                     "{\"text\":\"a\"",
	                     "{\"text\":\"\\u0000\"}",
	                     "{\"text\":\"\\ud800\"}",
	                     "{\"text\":\"a\x01\"}",
	                     "{\"text\":\"\\u001b[31m\"}",
	                     "{\"text\":\"a\"} x",
	                     "{\"text\":\"\xc3\x28\"}"};

	/* libvarsko's constructor made jansson wipe what it frees. */
	{
		json_malloc_t jm = NULL;
		json_free_t jf = NULL;

		json_get_alloc_funcs(&jm, &jf);
		CHECK(jm == malloc && jf == wipe_free);
	}
	CHECK_EQ_INT(msg_encode(t, &b), VARSKO_OK);
	CHECK_EQ_INT(msg_decode((const uint8_t *)b.p, b.len, &text, &len), VARSKO_OK);
	CHECK_EQ_STR(text, t);
	CHECK_EQ_INT((long long)len, (long long)strlen(t));
	varsko_free_secret(text, len);
	proto_buf_free(&b);
	/* Escapes written by another encoder decode to the same text; whitespace around tokens is fine. */
	{
		const char *esc = " { \"text\" : \"\\u00e6\\/\\ud83d\\ude00\" } ";

		CHECK_EQ_INT(msg_decode((const uint8_t *)esc, strlen(esc), &text, &len), VARSKO_OK);
	}
	CHECK_EQ_STR(text, "\xc3\xa6/\xf0\x9f\x98\x80");
	varsko_free_secret(text, len);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = msg_decode((const uint8_t *)bad[i], strlen(bad[i]), &text, &len);

		if (r != VARSKO_ERR_BAD_FRAME)
			fprintf(stderr, "message %zu was accepted\n", i);
		CHECK_EQ_INT(r, VARSKO_ERR_BAD_FRAME);
		CHECK(text == NULL);
	}
	CHECK_EQ_INT(msg_encode("a\x1b[31m", &b), VARSKO_ERR_BAD_INPUT);
	proto_buf_free(&b);
	/* The compact form of a document drops only whitespace between tokens. */
	{
		const char *pretty = "{ \"a\" : [ 1, \"x y\\\" z\" ],\n\t\"b\":true }";

		CHECK_EQ_INT(json_compact(pretty, strlen(pretty), &b), VARSKO_OK);
	}
	CHECK_EQ_STR((const char *)b.p, "{\"a\":[1,\"x y\\\" z\"],\"b\":true}");
	proto_buf_free(&b);
}

/* ---- rosters ----------------------------------------------------------------------- */

static json_t *roster_obj(struct flow_roster *r, uint64_t version, struct dev *devs, size_t n, const uint8_t sk[64])
{
	json_t *o = NULL;

	memset(r, 0, sizeof(*r));
	snprintf(r->team, sizeof(r->team), "team-a");
	r->version = version;
	r->issued = now;
	r->n = n;
	for (size_t i = 0; i < n; i++)
		r->certs[i] = devs[i].cert;
	if (flow_roster_sign(r, sk) != VARSKO_OK || flow_roster_to_json(r, &o) != VARSKO_OK)
		fprintf(stderr, "cannot make a roster\n");
	return o;
}

static void test_roster(void)
{
	struct dev devs[4], stranger;
	struct flow_roster *r = calloc(1, sizeof(*r)), *got = calloc(1, sizeof(*got));
	struct varsko_home *h = new_home("roster-home");
	char detail[256], path[600];
	json_t *o;
	FILE *f;

	if (r == NULL || got == NULL || h == NULL) {
		CHECK(0);
		goto out;
	}
	make_dev(&devs[0], "lene", "myndighed", "team-a", org_sk);
	make_dev(&devs[1], "agent-team-a", "agent", "team-a", org_sk);
	make_dev(&devs[2], "leder-a", "leder", "team-a", org_sk);
	make_dev(&devs[3], "ole", "myndighed", "team-a", org_sk);
	/* The same kind of device, but certified by a key that is not the organisation's. */
	make_dev(&stranger, "mallory", "myndighed", "team-a", org2_sk);

	o = roster_obj(r, 3, devs, 3, org_sk);
	CHECK_EQ_INT(roster_check(o, "team-a", org_pk, now, got, detail, sizeof(detail)), VARSKO_OK);
	CHECK_EQ_INT((long long)got->n, 3);
	/* Asked for another team, signed by another key: refused. */
	CHECK_EQ_INT(roster_check(o, "team-b", org_pk, now, got, detail, sizeof(detail)), VARSKO_ERR_BAD_CERT);
	CHECK_EQ_INT(roster_check(o, "team-a", org2_pk, now, got, detail, sizeof(detail)), VARSKO_ERR_BAD_SIGNATURE);
	json_decref(o);
	/* A device the organisation never certified, in a roster the server signed with the org key anyway. */
	devs[3] = stranger;
	o = roster_obj(r, 3, devs, 4, org_sk);
	CHECK_EQ_INT(roster_check(o, "team-a", org_pk, now, got, detail, sizeof(detail)), VARSKO_ERR_BAD_CERT);
	json_decref(o);
	make_dev(&devs[3], "ole", "myndighed", "team-a", org_sk);
	/* A fagperson has no place in a team roster. */
	make_dev(&stranger, "anna", "fagperson", NULL, org_sk);
	devs[2] = stranger;
	o = roster_obj(r, 3, devs, 3, org_sk);
	CHECK_EQ_INT(roster_check(o, "team-a", org_pk, now, got, detail, sizeof(detail)), VARSKO_ERR_BAD_CERT);
	json_decref(o);
	make_dev(&devs[2], "leder-a", "leder", "team-a", org_sk);

	/* Version 3 is the first seen: kept in rosters/team-a, private. */
	json_decref(roster_obj(r, 3, devs, 3, org_sk));
	CHECK_EQ_INT(roster_accept(h, r, detail, sizeof(detail)), VARSKO_OK);
	snprintf(path, sizeof(path), "%s/roster-home/rosters", base);
	CHECK_EQ_INT(mode_of(path), 0700);
	snprintf(path, sizeof(path), "%s/roster-home/rosters/team-a", base);
	CHECK_EQ_INT(mode_of(path), 0600);
	/* The same version and devices again: fine. */
	CHECK_EQ_INT(roster_accept(h, r, detail, sizeof(detail)), VARSKO_OK);
	/* Rolled back to version 2: refused, whatever it lists. */
	json_decref(roster_obj(r, 2, devs, 3, org_sk));
	CHECK_EQ_INT(roster_accept(h, r, detail, sizeof(detail)), VARSKO_ERR_BAD_CERT);
	CHECK(strstr(detail, "older") != NULL);
	json_decref(roster_obj(r, 2, devs, 2, org_sk));
	CHECK_EQ_INT(roster_accept(h, r, detail, sizeof(detail)), VARSKO_ERR_BAD_CERT);
	/* Version 3 again but with a device more: refused (the same version must list the same devices). */
	json_decref(roster_obj(r, 3, devs, 4, org_sk));
	CHECK_EQ_INT(roster_accept(h, r, detail, sizeof(detail)), VARSKO_ERR_BAD_CERT);
	/* Version 4 moves the floor up; 3 is now a rollback too. */
	json_decref(roster_obj(r, 4, devs, 4, org_sk));
	CHECK_EQ_INT(roster_accept(h, r, detail, sizeof(detail)), VARSKO_OK);
	json_decref(roster_obj(r, 3, devs, 3, org_sk));
	CHECK_EQ_INT(roster_accept(h, r, detail, sizeof(detail)), VARSKO_ERR_BAD_CERT);
	/* The floor survives closing and reopening the home. */
	varsko_home_close(h);
	h = new_home("roster-home");
	CHECK_EQ_INT(roster_accept(h, r, detail, sizeof(detail)), VARSKO_ERR_BAD_CERT);
	json_decref(roster_obj(r, 4, devs, 4, org_sk));
	CHECK_EQ_INT(roster_accept(h, r, detail, sizeof(detail)), VARSKO_OK);
	/* A damaged roster file is refused rather than taken as "nothing seen". */
	if ((f = fopen(path, "w")) != NULL) {
		fputs("{\"version\":", f);
		fclose(f);
	}
	CHECK_EQ_INT(roster_accept(h, r, detail, sizeof(detail)), VARSKO_ERR_BAD_INPUT);
	/* A team id that is no file name is never used as one. */
	snprintf(r->team, sizeof(r->team), "../x");
	CHECK_EQ_INT(roster_accept(h, r, detail, sizeof(detail)), VARSKO_ERR_BAD_INPUT);
out:
	varsko_home_close(h);
	free(r);
	free(got);
}

/* ---- receipts --------------------------------------------------------------------------- */

static struct dev gateway, notifier;

static void make_receipt(struct flow_receipt *rc, const uint8_t env_hash[32])
{
	memset(rc, 0, sizeof(*rc));
	rc->version = FLOW_VERSION;
	snprintf(rc->reference, sizeof(rc->reference), "U-2026-000042");
	snprintf(rc->submission, sizeof(rc->submission), "s-ad60e252047d47ce98657874d8e84524");
	memcpy(rc->envelope_hash, env_hash, 32);
	snprintf(rc->sender, sizeof(rc->sender), "%s", notifier.cert.device);
	snprintf(rc->sender_user, sizeof(rc->sender_user), "%s", notifier.cert.user);
	snprintf(rc->institution, sizeof(rc->institution), "inst-1");
	snprintf(rc->team, sizeof(rc->team), "team-a");
	rc->received = now - 3600;
	rc->vurdering_due = rc->received + 86400;
	rc->kvittering_due = rc->received + 8 * 86400;
	rc->tilbagemelding_due = rc->received + 30 * 86400;
	snprintf(rc->gateway, sizeof(rc->gateway), "%s", gateway.cert.device);
	if (flow_receipt_sign(rc, gateway.sign_sk) != VARSKO_OK)
		fprintf(stderr, "flow_receipt_sign failed\n");
}

/* Write the pinned files an enrollment leaves: org.pub and gateway.cert (device.key marks it enrolled). */
static void pin(struct varsko_home *h, const uint8_t pk[32])
{
	char b64[64], line[80], *gw = NULL;

	CHECK_EQ_INT(proto_b64_encode(pk, 32, b64, sizeof(b64)), VARSKO_OK);
	snprintf(line, sizeof(line), "%s\n", b64);
	CHECK_EQ_INT(home_write(h, HOME_F_ORG, line, strlen(line), 0600, 0), VARSKO_OK);
	CHECK_EQ_INT(proto_cert_to_json(&gateway.cert, &gw), VARSKO_OK);
	CHECK_EQ_INT(home_write(h, HOME_F_GATEWAY, gw, strlen(gw), 0600, 0), VARSKO_OK);
	CHECK_EQ_INT(home_write(h, HOME_F_KEY, "x", 1, 0600, 0), VARSKO_OK);
	free(gw);
}

static int write_file(const char *path, const char *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	int ok;

	if (f == NULL)
		return -1;
	ok = fwrite(buf, 1, len, f) == len;
	return fclose(f) == 0 && ok ? 0 : -1;
}

static void test_receipt_file(void)
{
	struct varsko_home *h = new_home("receipt-home");
	struct flow_receipt rc, swapped;
	struct varsko_receipt_info info;
	uint8_t hash[32];
	char path[600], tpath[600], *text = NULL, *copy = NULL, *json = NULL;
	size_t len = 0;
	int failures = 0, r;

	if (h == NULL) {
		CHECK(0);
		return;
	}
	randombytes_buf(hash, sizeof(hash));
	make_receipt(&rc, hash);
	pin(h, org_pk);
	CHECK_EQ_INT(receipt_save(h, &rc), VARSKO_OK);
	snprintf(path, sizeof(path), "%s/receipt-home/receipts/U-2026-000042.json", base);
	snprintf(tpath, sizeof(tpath), "%s/receipt-home/tampered.json", base);
	CHECK_EQ_INT(mode_of(path), 0600);
	snprintf(tpath, sizeof(tpath), "%s/receipt-home/receipts", base);
	CHECK_EQ_INT(mode_of(tpath), 0700);
	snprintf(tpath, sizeof(tpath), "%s/receipt-home/tampered.json", base);

	CHECK_EQ_INT(varsko_receipt_verify_file(h, path, &info, &json), VARSKO_OK);
	CHECK_EQ_STR(info.reference, "U-2026-000042");
	CHECK_EQ_STR(info.team, "team-a");
	CHECK(json != NULL && strstr(json, "\"reference\":\"U-2026-000042\"") != NULL);
	varsko_free(json);
	json = NULL;

	if (file_read(path, HOME_FILE_MAX, 0, &text, &len) != VARSKO_OK || (copy = malloc(len + 1)) == NULL) {
		CHECK(0);
		goto out;
	}
	/* Every single bit flipped, one at a time: never accepted. */
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			memcpy(copy, text, len);
			copy[i] = (char)(copy[i] ^ (1 << bit));
			if (write_file(tpath, copy, len) != 0 ||
			    varsko_receipt_verify_file(h, tpath, NULL, NULL) == VARSKO_OK) {
				if (failures++ < 5)
					fprintf(stderr, "receipt with byte %zu bit %d flipped was accepted\n", i, bit);
			}
		}
	}
	CHECK_EQ_INT(failures, 0);
	/* Cut anywhere inside the JSON (the last byte is the newline): never accepted. */
	failures = 0;
	for (size_t n = 0; n + 1 < len; n++) {
		if (write_file(tpath, text, n) != 0 || varsko_receipt_verify_file(h, tpath, NULL, NULL) == VARSKO_OK) {
			if (failures++ < 5)
				fprintf(stderr, "receipt cut to %zu bytes was accepted\n", n);
		}
	}
	CHECK_EQ_INT(failures, 0);
	CHECK_EQ_INT(write_file(tpath, text, len - 1), 0);
	CHECK_EQ_INT(varsko_receipt_verify_file(h, tpath, NULL, NULL), VARSKO_OK);

	/* Values swapped between fields, the signature kept: refused. */
	swapped = rc;
	swapped.vurdering_due = rc.kvittering_due;
	swapped.kvittering_due = rc.vurdering_due;
	free(copy);
	copy = NULL;
	{
		json_t *o = NULL;

		CHECK_EQ_INT(flow_receipt_to_json(&swapped, &o), VARSKO_OK);
		copy = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(o);
	}
	CHECK(copy != NULL && write_file(tpath, copy, strlen(copy)) == 0);
	CHECK_EQ_INT(varsko_receipt_verify_file(h, tpath, NULL, NULL), VARSKO_ERR_BAD_SIGNATURE);
	/* Two receipts in one file, or a duplicate key: not one receipt. */
	{
		char *two = malloc(2 * len + 1);

		if (two != NULL) {
			memcpy(two, text, len);
			memcpy(two + len, text, len);
			CHECK(write_file(tpath, two, 2 * len) == 0);
			CHECK_EQ_INT(varsko_receipt_verify_file(h, tpath, NULL, NULL), VARSKO_ERR_BAD_JSON);
			free(two);
		}
	}
	/* A receipt signed by a key that is not the gateway's certified key. */
	swapped = rc;
	CHECK_EQ_INT(flow_receipt_sign(&swapped, notifier.sign_sk), VARSKO_OK);
	{
		json_t *o = NULL;
		char *t2;

		CHECK_EQ_INT(flow_receipt_to_json(&swapped, &o), VARSKO_OK);
		t2 = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(o);
		CHECK(t2 != NULL && write_file(tpath, t2, strlen(t2)) == 0);
		CHECK_EQ_INT(varsko_receipt_verify_file(h, tpath, NULL, NULL), VARSKO_ERR_BAD_SIGNATURE);
		free(t2);
	}
	/* The home pins another organisation key: the gateway certificate no longer verifies. */
	pin(h, org2_pk);
	r = varsko_receipt_verify_file(h, path, NULL, NULL);
	CHECK_EQ_INT(r, VARSKO_ERR_BAD_CERT);
	CHECK(varsko_home_detail(h)[0] != '\0');
	pin(h, org_pk);
	CHECK_EQ_INT(varsko_receipt_verify_file(h, path, NULL, NULL), VARSKO_OK);
	snprintf(tpath, sizeof(tpath), "%s/receipt-home/missing.json", base);
	CHECK_EQ_INT(varsko_receipt_verify_file(h, tpath, NULL, NULL), VARSKO_ERR_NOT_FOUND);
out:
	free(text);
	free(copy);
	varsko_home_close(h);
}

/* ---- status ---------------------------------------------------------------------------- */

static struct dev agent, lene, leder_b, lene_b;

static json_t *event_entry(struct flow_event *ev, enum flow_event_kind kind, const struct dev *signer,
                           const uint8_t sign_sk[64], struct env_envelope *env)
{
	json_t *entry = json_object(), *eo = NULL;
	char *text = NULL;
	size_t len = 0;

	memset(ev, 0, sizeof(*ev));
	ev->version = FLOW_VERSION;
	snprintf(ev->reference, sizeof(ev->reference), "U-2026-000042");
	ev->kind = kind;
	snprintf(ev->device, sizeof(ev->device), "%s", signer->cert.device);
	ev->time = now - 1800 + (int64_t)kind;
	ev->akut = kind == FLOW_EV_VURDERET ? 1 : -1;
	ev->started = kind == FLOW_EV_TILBAGEMELDING ? 0 : -1;
	if (kind == FLOW_EV_OMDIRIGERET)
		snprintf(ev->team, sizeof(ev->team), "team-b");
	if (env != NULL) {
		ev->has_envelope = 1;
		if (flow_envelope_hash(ev->envelope_hash, env) != VARSKO_OK)
			fprintf(stderr, "flow_envelope_hash failed\n");
	}
	if (flow_event_sign(ev, sign_sk) != VARSKO_OK || flow_event_to_json(ev, &eo) != VARSKO_OK)
		fprintf(stderr, "cannot make an event\n");
	json_object_set_new(entry, "event", eo);
	json_object_set_new(entry, "cert", cert_obj(&signer->cert));
	if (env != NULL && env_to_json(env, &text, &len) == VARSKO_OK)
		json_object_set_new(entry, "envelope", json_loadb(text, len, 0, NULL));
	free(text);
	return entry;
}

static struct env_envelope *message_env(const char *kind, const char *text, const struct dev *from,
                                        const struct dev *to)
{
	struct env_recipient rc = {to->cert.device, {0}};
	struct env_params p = {kind, "U-2026-000042", from->cert.device, NULL, 0};
	struct env_envelope *e = NULL;
	struct proto_buf b = {0};

	memcpy(rc.box_pk, to->box_pk, 32);
	if (msg_encode(text, &b) != VARSKO_OK ||
	    env_seal(&p, &rc, 1, (const uint8_t *)b.p, b.len, from->sign_sk, &e) != VARSKO_OK)
		fprintf(stderr, "cannot seal a message\n");
	proto_buf_free(&b);
	return e;
}

/* A timeline with: leveret, modtaget, aabnet, vurderet, kvitteret (message to the notifier). */
static json_t *timeline(struct env_envelope *kv)
{
	struct flow_receipt rc;
	struct flow_event ev;
	uint8_t hash[32];
	json_t *tl = json_object(), *events = json_array(), *ro = NULL;

	randombytes_buf(hash, sizeof(hash));
	make_receipt(&rc, hash);
	CHECK_EQ_INT(flow_receipt_to_json(&rc, &ro), VARSKO_OK);
	json_object_set_new(tl, "receipt", ro);
	json_object_set_new(tl, "gateway_cert", cert_obj(&gateway.cert));
	json_object_set_new(tl, "sender_cert", cert_obj(&notifier.cert));
	json_array_append_new(events, event_entry(&ev, FLOW_EV_LEVERET, &gateway, gateway.sign_sk, NULL));
	json_array_append_new(events, event_entry(&ev, FLOW_EV_MODTAGET, &agent, agent.sign_sk, NULL));
	json_array_append_new(events, event_entry(&ev, FLOW_EV_AABNET, &lene, lene.sign_sk, NULL));
	json_array_append_new(events, event_entry(&ev, FLOW_EV_VURDERET, &lene, lene.sign_sk, NULL));
	json_array_append_new(events, event_entry(&ev, FLOW_EV_KVITTERET, &lene, lene.sign_sk, kv));
	json_object_set_new(tl, "events", events);
	return tl;
}

static int verify(json_t *tl, const struct keys *me, const char *dev, struct varsko_status **st, char *detail)
{
	*st = NULL;
	return status_verify(tl, "U-2026-000042", org_pk, me, dev, NULL, 0, st, detail, 256);
}

static void test_status(void)
{
	struct env_envelope *kv =
	        message_env("kvittering", "Tak for din underretning. Vi har modtaget den.", &lene, &notifier);
	struct env_envelope *kv_other = message_env("kvittering", "Noget andet.", &lene, &notifier);
	struct keys me;
	struct varsko_status *st = NULL;
	struct flow_event ev;
	struct dev forger;
	char detail[256], *json = NULL;
	size_t jlen = 0;
	json_t *tl, *events;
	const char *sig;
	char flipped[200];

	memset(&me, 0, sizeof(me));
	memcpy(me.box_sk, notifier.box_sk, 32);
	memcpy(me.box_pk, notifier.box_pk, 32);

	/* The genuine timeline verifies; the notifier reads the kvittering. */
	tl = timeline(kv);
	CHECK_EQ_INT(verify(tl, &me, notifier.cert.device, &st, detail), VARSKO_OK);
	if (st != NULL) {
		CHECK_EQ_INT((long long)st->n_steps, 7);
		CHECK_EQ_STR(st->steps[0].step, "sendt");
		CHECK_EQ_STR(st->steps[1].step, "modtaget_gateway");
		CHECK_EQ_STR(st->steps[2].step, "leveret");
		CHECK_EQ_STR(st->steps[2].team, "team-a");
		CHECK_EQ_STR(st->steps[5].step, "vurderet");
		CHECK_EQ_INT(st->steps[5].akut, 1);
		CHECK_EQ_STR(st->steps[6].step, "kvitteret");
		CHECK_EQ_STR(st->steps[6].message, "Tak for din underretning. Vi har modtaget den.");
		CHECK_EQ_INT(varsko_status_json(st, &json, &jlen), VARSKO_OK);
		CHECK(json != NULL && strstr(json, "\"step\":\"kvitteret\"") != NULL &&
		      strstr(json, "\"message\":\"Tak for din underretning. Vi har modtaget den.\"") != NULL &&
		      strstr(json, "\"verified\":true") != NULL &&
		      strstr(json, "{\"reference\":\"U-2026-000042\",") == json);
		{
			json_t *parsed = json_loadb(json, jlen, JSON_REJECT_DUPLICATES, NULL);

			CHECK(json_is_array(json_object_get(parsed, "steps")));
			json_decref(parsed);
		}
		varsko_free_secret(json, jlen);
	}
	varsko_status_free(st);
	/* A team member sees the step but not the text (the message is not for its device). */
	CHECK_EQ_INT(verify(tl, NULL, NULL, &st, detail), VARSKO_OK);
	CHECK(st != NULL && st->steps[6].message == NULL);
	varsko_status_free(st);
	json_decref(tl);

	/* An event whose signature is forged (one bit of it flipped). */
	tl = timeline(kv);
	events = json_object_get(tl, "events");
	sig = json_string_value(json_object_get(json_object_get(json_array_get(events, 3), "event"), "sig"));
	snprintf(flipped, sizeof(flipped), "%s", sig);
	flipped[10] = flipped[10] == 'A' ? 'B' : 'A';
	json_object_set_new(json_object_get(json_array_get(events, 3), "event"), "sig", json_string(flipped));
	CHECK_EQ_INT(verify(tl, &me, notifier.cert.device, &st, detail), VARSKO_ERR_BAD_SIGNATURE);
	CHECK(st == NULL && strstr(detail, "vurderet") != NULL);
	json_decref(tl);

	/* An event whose signer's certificate the organisation never signed. */
	make_dev(&forger, "lene", "myndighed", "team-a", org2_sk);
	tl = timeline(kv);
	events = json_object_get(tl, "events");
	json_array_set_new(events, 3, event_entry(&ev, FLOW_EV_VURDERET, &forger, forger.sign_sk, NULL));
	CHECK_EQ_INT(verify(tl, &me, notifier.cert.device, &st, detail), VARSKO_ERR_BAD_CERT);
	json_decref(tl);

	/* A genuine certificate, but the event signed by another key. */
	tl = timeline(kv);
	events = json_object_get(tl, "events");
	json_array_set_new(events, 3, event_entry(&ev, FLOW_EV_VURDERET, &lene, forger.sign_sk, NULL));
	CHECK_EQ_INT(verify(tl, &me, notifier.cert.device, &st, detail), VARSKO_ERR_BAD_SIGNATURE);
	json_decref(tl);

	/* Certified, but not allowed to sign it: a myndighed worker of another team, a fagperson, an agent's vurderet.
	 */
	tl = timeline(kv);
	events = json_object_get(tl, "events");
	json_array_set_new(events, 3, event_entry(&ev, FLOW_EV_VURDERET, &lene_b, lene_b.sign_sk, NULL));
	CHECK_EQ_INT(verify(tl, &me, notifier.cert.device, &st, detail), VARSKO_ERR_BAD_CERT);
	json_array_set_new(events, 3, event_entry(&ev, FLOW_EV_VURDERET, &notifier, notifier.sign_sk, NULL));
	CHECK_EQ_INT(verify(tl, &me, notifier.cert.device, &st, detail), VARSKO_ERR_BAD_CERT);
	json_array_set_new(events, 3, event_entry(&ev, FLOW_EV_VURDERET, &agent, agent.sign_sk, NULL));
	CHECK_EQ_INT(verify(tl, &me, notifier.cert.device, &st, detail), VARSKO_ERR_BAD_CERT);
	json_array_set_new(events, 0, event_entry(&ev, FLOW_EV_LEVERET, &lene, lene.sign_sk, NULL));
	CHECK_EQ_INT(verify(tl, &me, notifier.cert.device, &st, detail), VARSKO_ERR_BAD_CERT);
	json_decref(tl);

	/* After a re-routing to team-b, team-b's myndighed may sign and team-a's may not. */
	tl = timeline(kv);
	events = json_object_get(tl, "events");
	json_array_remove(events, 4);
	{
		struct env_envelope *moved = message_env("underretning", "x", &lene, &lene_b);

		/* The event names the new envelope by its hash; a timeline carries no envelope for omdirigeret. */
		json_array_append_new(events, event_entry(&ev, FLOW_EV_OMDIRIGERET, &lene, lene.sign_sk, moved));
		json_object_del(json_array_get(events, 4), "envelope");
		json_array_append_new(events, event_entry(&ev, FLOW_EV_AFSLUTTET, &lene_b, lene_b.sign_sk, NULL));
		CHECK_EQ_INT(verify(tl, NULL, NULL, &st, detail), VARSKO_OK);
		if (st != NULL) {
			CHECK_EQ_STR(st->steps[6].step, "omdirigeret");
			CHECK_EQ_STR(st->steps[6].new_team, "team-b");
			CHECK_EQ_STR(st->steps[7].team, "team-b");
		}
		varsko_status_free(st);
		json_array_set_new(events, 5, event_entry(&ev, FLOW_EV_AFSLUTTET, &lene, lene.sign_sk, NULL));
		CHECK_EQ_INT(verify(tl, NULL, NULL, &st, detail), VARSKO_ERR_BAD_CERT);
		env_free(moved);
	}
	json_decref(tl);

	/* The kvittering's envelope swapped for another one the same worker signed: the event's hash differs. */
	tl = timeline(kv);
	events = json_object_get(tl, "events");
	{
		char *text = NULL;
		size_t len = 0;

		CHECK_EQ_INT(env_to_json(kv_other, &text, &len), VARSKO_OK);
		json_object_set_new(json_array_get(events, 4), "envelope", json_loadb(text, len, 0, NULL));
		free(text);
	}
	CHECK_EQ_INT(verify(tl, &me, notifier.cert.device, &st, detail), VARSKO_ERR_BAD_SIGNATURE);
	/* ... or taken away. */
	json_object_del(json_array_get(events, 4), "envelope");
	CHECK_EQ_INT(verify(tl, &me, notifier.cert.device, &st, detail), VARSKO_ERR_BAD_FRAME);
	json_decref(tl);

	/* The receipt's sender certificate replaced by another fagperson's. */
	tl = timeline(kv);
	json_object_set_new(tl, "sender_cert", cert_obj(&forger.cert));
	CHECK_EQ_INT(verify(tl, &me, notifier.cert.device, &st, detail), VARSKO_ERR_BAD_CERT);
	json_decref(tl);
	/* The timeline of another underretning. */
	tl = timeline(kv);
	CHECK_EQ_INT(status_verify(tl, "U-2026-000043", org_pk, &me, notifier.cert.device, NULL, 0, &st, detail, 256),
	             VARSKO_ERR_BAD_SIGNATURE);
	json_decref(tl);
	/* A notifier whose key is not the one the message was sealed for: the message does not open. */
	tl = timeline(kv);
	randombytes_buf(me.box_sk, 32);
	CHECK_EQ_INT(verify(tl, &me, notifier.cert.device, &st, detail), VARSKO_ERR_CRYPTO);
	json_decref(tl);
	sodium_memzero(&me, sizeof(me));
	env_free(kv);
	env_free(kv_other);
}

int main(void)
{
	char cmd[600];

	if (sodium_init() < 0) {
		fprintf(stderr, "sodium_init failed\n");
		return 1;
	}
	if (mkdtemp(base) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	now = (int64_t)time(NULL);
	crypto_sign_keypair(org_pk, org_sk);
	crypto_sign_keypair(org2_pk, org2_sk);
	make_dev(&gateway, "gateway", "gateway", NULL, org_sk);
	make_dev(&notifier, "laerer-anna", "fagperson", NULL, org_sk);
	make_dev(&agent, "agent-team-a", "agent", "team-a", org_sk);
	make_dev(&lene, "myndighed-lene", "myndighed", "team-a", org_sk);
	make_dev(&lene_b, "myndighed-bo", "myndighed", "team-b", org_sk);
	make_dev(&leder_b, "leder-b", "leder", "team-b", org_sk);

	test_submission_id();
	test_copenhagen();
	test_messages();
	test_roster();
	test_receipt_file();
	test_status();

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", base);
	return check_result();
}
