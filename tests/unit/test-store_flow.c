/*
 * test-store_flow.c: gateway/store_flow.c on a real database with real keys,
 * certificates, envelopes and signatures made here: an underretning stored
 * with its deadlines, outbox row (MQTT payload whose receipt verifies) and
 * audit entry; lookup and idempotency; reference numbers per year (and
 * given back by a rollback); the event rights matrix (every kind x every
 * role x own/foreign team, plus the gateway); deadlines met by the first
 * event only; the outbox acknowledged by the agent's modtaget; omdirigering;
 * the recipients of kvittering envelopes; duplicates and conflicts; every
 * refusal and its audit entry; rosters and their versions (enroll, revoke,
 * import); the read queries.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>
#include <sqlite3.h>

#include "check.h"
#include "config.h"
#include "deadline_plan.h"
#include "envelope.h"
#include "flow_event.h"
#include "flow.h"
#include "route.h"
#include "store-internal.h" /* white box: the test reads the store's own connection */
#include "store.h"
#include "store_keys.h"
#include "underretning.h"
#include "chains.h"

static char dir[] = "/tmp/varsko-test-store_flow-XXXXXX";
static char dbpath[300];

static const int64_t T0 = 1795424400; /* 2026-11-23T09:00:00Z, a Monday */
static const int64_t YEAR = 365 * 86400;
static const char TENANT[] = "slagelse";

static const char DOC[] =
        "{\"tenant\":\"slagelse\","
        "\"office_hours\":{\"time_zone\":\"Europe/Copenhagen\",\"mon\":\"08:00-15:30\"},"
        "\"institutions\":[{\"id\":\"inst-a\",\"name\":\"Skole A\",\"kind\":\"skole\",\"district\":\"Slagelse\"}],"
        "\"teams\":[{\"id\":\"team-a\",\"name\":\"Team A\"},{\"id\":\"team-b\",\"name\":\"Team B\"}],"
        "\"users\":["
        "{\"id\":\"fag\",\"name\":\"Fagperson\",\"role\":\"fagperson\",\"institutions\":[\"inst-a\"]},"
        "{\"id\":\"fag2\",\"name\":\"Fagperson To\",\"role\":\"fagperson\",\"institutions\":[\"inst-a\"]},"
        "{\"id\":\"mynd-a\",\"name\":\"M A\",\"role\":\"myndighed\",\"team\":\"team-a\"},"
        "{\"id\":\"leder-a\",\"name\":\"L A\",\"role\":\"leder\",\"team\":\"team-a\"},"
        "{\"id\":\"agent-a\",\"name\":\"Agent A\",\"role\":\"agent\",\"team\":\"team-a\"},"
        "{\"id\":\"raad-a\",\"name\":\"R A\",\"role\":\"raadgiver\",\"team\":\"team-a\"},"
        "{\"id\":\"mynd-b\",\"name\":\"M B\",\"role\":\"myndighed\",\"team\":\"team-b\"},"
        "{\"id\":\"leder-b\",\"name\":\"L B\",\"role\":\"leder\",\"team\":\"team-b\"},"
        "{\"id\":\"agent-b\",\"name\":\"Agent B\",\"role\":\"agent\",\"team\":\"team-b\"},"
        "{\"id\":\"admin\",\"name\":\"Admin\",\"role\":\"admin\"}],"
        "\"routing\":[{\"if\":{\"outside_office_hours\":true},\"team\":\"team-b\"},{\"if\":{},\"team\":\"team-a\"}]}";

/* A device with its secret keys. */
struct dev {
	struct proto_cert cert;
	uint8_t sk[64];
	uint8_t box_sk[32];
};

enum { FAG, FAG_B, FAG2, MYND_A, LEDER_A, AGENT_A, RAAD_A, MYND_B, LEDER_B, AGENT_B, ADMIN, GW, N_DEVS };
static const char *const dev_user[N_DEVS] = {"fag",    "fag",    "fag2",    "mynd-a",  "leder-a", "agent-a",
                                             "raad-a", "mynd-b", "leder-b", "agent-b", "admin",   "gateway"};

static struct store *S;
static uint8_t org_pk[32], org_sk[64];
static struct dev devs[N_DEVS];
static char *gw_json;

/* ---- helpers ------------------------------------------------------------------- */

static long long q_int(const char *sql, const char *arg)
{
	sqlite3_stmt *st = NULL;
	long long v = -1;

	if (sqlite3_prepare_v2(S->db, sql, -1, &st, NULL) == SQLITE_OK) {
		if (arg != NULL)
			sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	return v;
}

static void q_text(const char *sql, const char *arg, char *out, size_t cap)
{
	sqlite3_stmt *st = NULL;

	out[0] = '\0';
	if (sqlite3_prepare_v2(S->db, sql, -1, &st, NULL) == SQLITE_OK) {
		if (arg != NULL)
			sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL)
			snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
}

static long long roster_version(const char *team)
{
	return q_int("SELECT roster_version FROM teams WHERE id = ?1", team);
}

static int enroll(const char *user, struct dev *d, int64_t now)
{
	char code[PROTO_CODE_MAX + 1];
	uint8_t pk[32], box_pk[32];
	int r;

	crypto_sign_keypair(pk, d->sk);
	crypto_box_keypair(box_pk, d->box_sk);
	if ((r = store_invite_create(S, user, now, now + 3600, code)) != VARSKO_OK)
		return r;
	if ((r = store_enroll(S, code, now, YEAR, pk, box_pk, "test", org_sk, &d->cert)) != VARSKO_OK)
		return r;
	return store_enroll_confirm(S, d->cert.device, now);
}

static struct env_envelope *seal(const struct dev *from, const char *kind, const char *object, const uint8_t *routing,
                                 size_t rlen, const struct proto_cert *to, size_t n)
{
	struct env_recipient rc[ENV_RECIPIENTS_MAX];
	struct env_params p = {kind, object, from->cert.device, routing, rlen};
	struct env_envelope *e = NULL;

	for (size_t i = 0; i < n; i++) {
		rc[i].device = to[i].device;
		memcpy(rc[i].box_pk, to[i].box_pk, 32);
	}
	if (env_seal(&p, rc, n, (const uint8_t *)"indhold", 7, from->sk, &e) != VARSKO_OK)
		return NULL;
	return e;
}

static char *env_text(const struct env_envelope *e, size_t *len)
{
	char *t = NULL;

	*len = 0;
	if (e != NULL && env_to_json(e, &t, len) != VARSKO_OK)
		return NULL;
	return t;
}

/*
 * The payload store_outbox_take() hands out for the due row of `ref` (the
 * row is taken, so it is due again only after its backoff); NULL when none.
 * Owned by a static row, valid until the next call.
 */
static const char *taken_payload(const char *ref)
{
	static struct store_outbox_row rows[64];
	static size_t n;
	const char *p = NULL;
	size_t i;

	for (i = 0; i < n; i++)
		store_outbox_row_clear(&rows[i]);
	n = 0;
	CHECK_EQ_INT(store_outbox_take(S, INT64_MAX / 4, 30, 600, rows, 64, &n), VARSKO_OK);
	for (i = 0; i < n; i++)
		if (strcmp(rows[i].reference, ref) == 0)
			p = rows[i].payload;
	return p;
}

static void header_of(const char *submission, int64_t created, struct proto_buf *b)
{
	struct uh_header h;

	memset(&h, 0, sizeof(h));
	snprintf(h.institution, sizeof(h.institution), "inst-a");
	snprintf(h.age_group, sizeof(h.age_group), "6-13");
	snprintf(h.submission, sizeof(h.submission), "%s", submission);
	h.created = created;
	proto_buf_init(b);
	CHECK_EQ_INT(uh_header_encode(&h, b), VARSKO_OK);
}

/*
 * What varskod does for an accepted submission, at the store level: an
 * envelope sealed for the team's roster, a reference, the deadlines, the
 * receipt signed by the gateway key, and store_underretning_add() in one
 * transaction. ref gets the reference.
 */
static int submit(const struct dev *from, const char *submission, const char *team, int64_t now,
                  char ref[PROTO_ID_MAX + 1])
{
	struct flow_roster *ro = calloc(1, sizeof(*ro));
	struct store_underretning_new nu;
	struct deadline_plan_row plan[DEADLINE_PLAN_MAX];
	struct config cfg;
	struct flow_receipt rc;
	struct env_envelope *e = NULL;
	struct proto_buf b;
	char *text = NULL, *cert = NULL;
	uint8_t h[32];
	size_t len, n = 0;
	int r = VARSKO_ERR_INTERNAL;

	memset(&nu, 0, sizeof(nu));
	memset(&rc, 0, sizeof(rc));
	memset(&cfg, 0, sizeof(cfg));
	cfg.warn_vurdering_minutes = 240;
	cfg.warn_kvittering_hverdage = 1;
	cfg.tilbagemelding_days = 30;
	header_of(submission, now, &b);
	if (ro == NULL || store_team_roster(S, team, now, ro) != VARSKO_OK || ro->n == 0)
		goto out;
	if ((e = seal(from, "underretning", submission, b.p, b.len, ro->certs, ro->n)) == NULL)
		goto out;
	if ((text = env_text(e, &len)) == NULL || flow_envelope_hash(h, e) != VARSKO_OK ||
	    proto_cert_to_json(&from->cert, &cert) != VARSKO_OK || deadline_plan(&cfg, now, plan, &n) != VARSKO_OK)
		goto out;
	if ((r = store_begin(S)) != VARSKO_OK)
		goto out;
	if ((r = store_reference_next(S, 2026, ref)) != VARSKO_OK) {
		store_rollback(S);
		goto out;
	}
	rc.version = FLOW_VERSION;
	snprintf(rc.reference, sizeof(rc.reference), "%s", ref);
	snprintf(rc.submission, sizeof(rc.submission), "%s", submission);
	memcpy(rc.envelope_hash, h, 32);
	snprintf(rc.sender, sizeof(rc.sender), "%s", from->cert.device);
	snprintf(rc.sender_user, sizeof(rc.sender_user), "%s", from->cert.user);
	snprintf(rc.institution, sizeof(rc.institution), "inst-a");
	snprintf(rc.team, sizeof(rc.team), "%s", team);
	rc.received = now;
	rc.vurdering_due = plan[0].due_at;
	rc.kvittering_due = plan[1].due_at;
	rc.tilbagemelding_due = plan[2].due_at;
	snprintf(rc.gateway, sizeof(rc.gateway), "%s", devs[GW].cert.device);
	if ((r = flow_receipt_sign(&rc, devs[GW].sk)) != VARSKO_OK) {
		store_rollback(S);
		goto out;
	}
	nu.receipt = &rc;
	nu.envelope_json = text;
	nu.envelope_hash = h;
	nu.age_group = "6-13";
	nu.created = now;
	nu.sender_cert_json = cert;
	nu.gateway_cert_json = gw_json;
	nu.tenant = TENANT;
	nu.n_deadlines = n;
	for (size_t i = 0; i < n; i++) {
		nu.deadlines[i].kind = plan[i].kind;
		nu.deadlines[i].due_at = plan[i].due_at;
		nu.deadlines[i].warn_at = plan[i].warn_at;
	}
	if ((r = store_underretning_add(S, &nu, now)) != VARSKO_OK) {
		store_rollback(S);
		goto out;
	}
	r = store_commit(S);
out:
	proto_buf_free(&b);
	env_free(e);
	free(text);
	free(cert);
	free(ro);
	return r;
}

/* A signed event of `kind` by d (with envelope e, or NULL) as JSON text (owned). */
static char *event_text(const struct dev *d, const char *ref, enum flow_event_kind kind, int64_t t, const char *team,
                        const struct env_envelope *e)
{
	struct flow_event ev;
	json_t *o = NULL;
	char *text = NULL;

	memset(&ev, 0, sizeof(ev));
	ev.version = FLOW_VERSION;
	snprintf(ev.reference, sizeof(ev.reference), "%s", ref);
	ev.kind = kind;
	snprintf(ev.device, sizeof(ev.device), "%s", d->cert.device);
	ev.time = t;
	ev.akut = kind == FLOW_EV_VURDERET ? 0 : -1;
	ev.started = kind == FLOW_EV_TILBAGEMELDING ? 1 : -1;
	if (kind == FLOW_EV_OMDIRIGERET)
		snprintf(ev.team, sizeof(ev.team), "%s", team);
	if (e != NULL) {
		ev.has_envelope = 1;
		if (flow_envelope_hash(ev.envelope_hash, e) != VARSKO_OK)
			return NULL;
	}
	if (flow_event_sign(&ev, d->sk) != VARSKO_OK || flow_event_to_json(&ev, &o) != VARSKO_OK)
		return NULL;
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return text;
}

/* The envelope an event of `kind` by d needs (NULL for the kinds that carry none). */
static struct env_envelope *event_envelope(const struct dev *d, const char *ref, enum flow_event_kind kind,
                                           const char *to_team, int64_t now)
{
	struct proto_cert certs[ENV_RECIPIENTS_MAX];
	struct flow_roster *ro;
	struct env_envelope *e = NULL;
	size_t n = 0;

	if (kind == FLOW_EV_KVITTERET || kind == FLOW_EV_TILBAGEMELDING) {
		if (store_user_devices(S, "fag", now, certs, ENV_RECIPIENTS_MAX, &n) != VARSKO_OK)
			return NULL;
		return seal(d, kind == FLOW_EV_KVITTERET ? "kvittering" : "tilbagemelding", ref, NULL, 0, certs, n);
	}
	if (kind != FLOW_EV_OMDIRIGERET)
		return NULL;
	if ((ro = calloc(1, sizeof(*ro))) == NULL)
		return NULL;
	/* A re-routed envelope carries the underretning's routing bytes unchanged (PROTOCOL.md 12.5). */
	{
		struct store_underretning u;
		struct env_envelope *cur = NULL;

		if (store_underretning_get(S, ref, 1, &u) == VARSKO_OK &&
		    env_from_json(u.envelope, u.envelope_len, &cur) == VARSKO_OK &&
		    store_team_roster(S, to_team, now, ro) == VARSKO_OK)
			e = seal(d, "underretning", ref, cur->routing, cur->routing_len, ro->certs, ro->n);
		env_free(cur);
		store_underretning_clear(&u);
	}
	free(ro);
	return e;
}

/* Sign and apply an event; the envelope is made as the kind needs unless `e` is given (then borrowed). */
static int apply(const struct dev *d, const char *ref, enum flow_event_kind kind, int64_t t, const char *to_team,
                 const struct env_envelope *given, int use_given, int64_t now, struct event_result *res)
{
	struct env_envelope *made = NULL;
	const struct env_envelope *e;
	char *ev = NULL, *et = NULL;
	size_t elen = 0;
	int r = VARSKO_ERR_INTERNAL;

	e = use_given ? given : (made = event_envelope(d, ref, kind, to_team, now));
	if ((ev = event_text(d, ref, kind, t, to_team, e)) == NULL)
		goto out;
	if (e != NULL && (et = env_text(e, &elen)) == NULL)
		goto out;
	r = event_apply(S, ev, strlen(ev), et, elen, now, TENANT, gw_json, res);
out:
	env_free(made);
	free(ev);
	free(et);
	return r;
}

/* An event signed over hash_env's hash (or none) sent with sent_env (or none): for the envelope refusals. */
static int apply_split(const struct dev *d, const char *ref, enum flow_event_kind kind, int64_t t,
                       const struct env_envelope *hash_env, const struct env_envelope *sent_env, int64_t now,
                       struct event_result *res)
{
	char *ev = event_text(d, ref, kind, t, "team-b", hash_env), *et = NULL;
	size_t elen = 0;
	int r = VARSKO_ERR_INTERNAL;

	if (ev != NULL && (sent_env == NULL || (et = env_text(sent_env, &elen)) != NULL))
		r = event_apply(S, ev, strlen(ev), et, elen, now, TENANT, gw_json, res);
	free(ev);
	free(et);
	return r;
}

static int apply_simple(const struct dev *d, const char *ref, enum flow_event_kind kind, int64_t t,
                        struct event_result *res)
{
	return apply(d, ref, kind, t, "team-b", NULL, 0, T0 + 600, res);
}

/* ---- setup ------------------------------------------------------------------------ */

static int setup(void)
{
	char err[256];
	uint8_t gw_pk[32];
	long long va, vb;

	crypto_sign_keypair(org_pk, org_sk);
	snprintf(dbpath, sizeof(dbpath), "%s/flow.db", dir);
	CHECK_EQ_INT(store_open(&S, dbpath, 1), VARSKO_OK);
	if (S == NULL)
		return -1;
	CHECK_EQ_INT(store_import(S, DOC, strlen(DOC), T0 - 100, err, sizeof(err)), VARSKO_OK);
	CHECK_EQ_STR(err, "");

	/* The gateway certificate, as varskoctl init makes it. */
	crypto_sign_keypair(gw_pk, devs[GW].sk);
	devs[GW].cert.version = PROTO_VERSION;
	CHECK_EQ_INT(store_serial_take(S, &devs[GW].cert.serial), VARSKO_OK);
	snprintf(devs[GW].cert.user, sizeof(devs[GW].cert.user), "gateway");
	snprintf(devs[GW].cert.name, sizeof(devs[GW].cert.name), "Varsko gateway");
	snprintf(devs[GW].cert.role, sizeof(devs[GW].cert.role), "gateway");
	memcpy(devs[GW].cert.sign_pk, gw_pk, 32);
	crypto_box_keypair(devs[GW].cert.box_pk, devs[GW].box_sk);
	devs[GW].cert.not_before = T0 - 1000;
	devs[GW].cert.not_after = T0 + YEAR;
	CHECK_EQ_INT(proto_cert_sign(&devs[GW].cert, org_sk), VARSKO_OK);
	CHECK_EQ_INT(proto_cert_to_json(&devs[GW].cert, &gw_json), VARSKO_OK);

	/* Enrolling a roster role's device bumps its team's roster version; others do not. */
	va = roster_version("team-a");
	vb = roster_version("team-b");
	CHECK_EQ_INT(va, 1);
	for (int i = 0; i < N_DEVS; i++) {
		long long before_a = roster_version("team-a"), before_b = roster_version("team-b");
		int roster_a = i == MYND_A || i == LEDER_A || i == AGENT_A;
		int roster_b = i == MYND_B || i == LEDER_B || i == AGENT_B;

		if (i == GW || i == FAG_B)
			continue; /* the gateway is no device; fag's second device comes in test_rosters */
		CHECK_EQ_INT(enroll(dev_user[i], &devs[i], T0 - 50), VARSKO_OK);
		CHECK_EQ_INT(roster_version("team-a"), before_a + roster_a);
		CHECK_EQ_INT(roster_version("team-b"), before_b + roster_b);
	}
	CHECK_EQ_INT(roster_version("team-a"), va + 3);
	CHECK_EQ_INT(roster_version("team-b"), vb + 3);
	return 0;
}

/* ---- tests ------------------------------------------------------------------------- */

static void test_references(void)
{
	char ref[PROTO_ID_MAX + 1];

	CHECK_EQ_INT(store_reference_next(S, 2030, ref), VARSKO_OK);
	CHECK_EQ_STR(ref, "U-2030-000001");
	CHECK_EQ_INT(store_reference_next(S, 2030, ref), VARSKO_OK);
	CHECK_EQ_STR(ref, "U-2030-000002");
	/* Another year counts from 1 again, and does not disturb the first. */
	CHECK_EQ_INT(store_reference_next(S, 2031, ref), VARSKO_OK);
	CHECK_EQ_STR(ref, "U-2031-000001");
	CHECK_EQ_INT(store_reference_next(S, 2030, ref), VARSKO_OK);
	CHECK_EQ_STR(ref, "U-2030-000003");
	CHECK(flow_reference_valid(ref));
	/* A rolled back transaction gives its number back. */
	CHECK_EQ_INT(store_begin(S), VARSKO_OK);
	CHECK_EQ_INT(store_reference_next(S, 2030, ref), VARSKO_OK);
	CHECK_EQ_STR(ref, "U-2030-000004");
	store_rollback(S);
	CHECK_EQ_INT(store_reference_next(S, 2030, ref), VARSKO_OK);
	CHECK_EQ_STR(ref, "U-2030-000004");
	/* Past a million the number grows a digit. */
	CHECK(sqlite3_exec(S->db, "UPDATE meta SET value = '999999' WHERE key = 'ref_2030'", NULL, NULL, NULL) ==
	      SQLITE_OK);
	CHECK_EQ_INT(store_reference_next(S, 2030, ref), VARSKO_OK);
	CHECK_EQ_STR(ref, "U-2030-1000000");
	CHECK(flow_reference_valid(ref));
	CHECK_EQ_INT(store_reference_next(S, 99, ref), VARSKO_ERR_BAD_INPUT);
}

static void test_insert_and_lookup(void)
{
	char ref[PROTO_ID_MAX + 1], ref2[PROTO_ID_MAX + 1], topic[256], payload[4];
	struct store_underretning u;
	struct flow_receipt rc;
	json_t *j = NULL;
	enum flow_type type = FLOW_T_NONE;
	long long outbox, rows;
	(void)payload;

	outbox = q_int("SELECT count(*) FROM outbox", NULL);
	CHECK_EQ_INT(submit(&devs[FAG], "s-one", "team-a", T0, ref), VARSKO_OK);
	CHECK_EQ_STR(ref, "U-2026-000001");
	CHECK_EQ_INT(store_underretning_get(S, ref, 1, &u), VARSKO_OK);
	CHECK_EQ_STR(u.reference, ref);
	CHECK_EQ_STR(u.submission, "s-one");
	CHECK_EQ_STR(u.sender_user, "fag");
	CHECK_EQ_STR(u.sender_device, devs[FAG].cert.device);
	CHECK_EQ_STR(u.envelope_sender, devs[FAG].cert.device);
	CHECK_EQ_STR(u.team, "team-a");
	CHECK_EQ_STR(u.first_team, "team-a");
	CHECK_EQ_STR(u.institution, "inst-a");
	CHECK_EQ_STR(u.age_group, "6-13");
	CHECK_EQ_INT(u.received_at, T0);
	CHECK(u.envelope != NULL && u.envelope_len > 100);
	/* The stored receipt verifies against the gateway certificate. */
	j = json_loadb(u.receipt, u.receipt_len, 0, NULL);
	CHECK(j != NULL && flow_receipt_from_json(j, &rc) == VARSKO_OK);
	CHECK_EQ_INT(flow_receipt_verify(&rc, &devs[GW].cert, org_pk, rc.received), VARSKO_OK);
	CHECK_EQ_STR(rc.reference, ref);
	CHECK(sodium_memcmp(rc.envelope_hash, u.envelope_hash, 32) == 0);
	json_decref(j);
	store_underretning_clear(&u);

	/* Without the envelope, and by (user, submission). */
	CHECK_EQ_INT(store_underretning_find(S, "fag", "s-one", 0, &u), VARSKO_OK);
	CHECK_EQ_STR(u.reference, ref);
	CHECK(u.envelope == NULL);
	store_underretning_clear(&u);
	CHECK_EQ_INT(store_underretning_find(S, "fag2", "s-one", 0, &u), VARSKO_ERR_NOT_FOUND);
	CHECK_EQ_INT(store_underretning_get(S, "U-2026-999999", 0, &u), VARSKO_ERR_NOT_FOUND);

	/* Deadlines, outbox row with the MQTT payload, audit entry. */
	CHECK_EQ_INT(q_int("SELECT count(*) FROM deadlines WHERE reference = ?1", ref), 3);
	CHECK_EQ_INT(q_int("SELECT count(*) FROM deadlines WHERE reference = ?1 AND team = 'team-a'"
	                   " AND met_at IS NULL",
	                   ref),
	             3);
	CHECK_EQ_INT(q_int("SELECT count(*) FROM outbox", NULL), outbox + 1);
	CHECK_EQ_INT(q_int("SELECT needs_ack FROM outbox WHERE reference = ?1", ref), 1);
	q_text("SELECT topic FROM outbox WHERE reference = ?1", ref, topic, sizeof(topic));
	CHECK_EQ_STR(topic, "varsko/slagelse/team/team-a/underretning");
	/* The envelope is written once: the outbox row holds the message without it (schema 13). */
	CHECK_EQ_INT(q_int("SELECT count(*) FROM outbox o JOIN underretninger u USING (reference) WHERE o.reference = ?1"
	                   " AND o.envelope_at IS NOT NULL AND instr(o.payload, u.envelope) = 0",
	                   ref),
	             1);
	{
		const char *p = taken_payload(ref);
		json_t *o = NULL;
		struct env_envelope *e = NULL;
		char *et;

		CHECK(p != NULL && flow_mqtt_parse(p, strlen(p), &o, &type, NULL) == VARSKO_OK);
		CHECK_EQ_INT(type, FLOW_T_UNDERRETNING);
		/* Put together from canonical texts: the same bytes as a dump of the parsed object. */
		et = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		CHECK(et != NULL && p != NULL && strcmp(et, p) == 0);
		free(et);
		CHECK_EQ_STR(json_string_value(json_object_get(o, "reference")), ref);
		et = json_dumps(json_object_get(o, "envelope"), JSON_COMPACT | JSON_SORT_KEYS);
		CHECK(et != NULL && env_from_json(et, strlen(et), &e) == VARSKO_OK);
		CHECK(e != NULL && env_verify(e, devs[FAG].cert.sign_pk) == VARSKO_OK);
		free(et);
		env_free(e);
		json_decref(o);
	}
	CHECK_EQ_INT(q_int("SELECT count(*) FROM audit WHERE event = 'underretning_received' AND detail = 'ref=' || ?1"
	                   " AND actor = (SELECT sender_device FROM underretninger WHERE reference = ?1)",
	                   ref),
	             1);

	/* The same (user, submission) again stores nothing: the transaction is refused whole. */
	rows = q_int("SELECT (SELECT count(*) FROM underretninger) + (SELECT count(*) FROM deadlines) +"
	             " (SELECT count(*) FROM outbox) + (SELECT count(*) FROM audit)",
	             NULL);
	CHECK_EQ_INT(submit(&devs[FAG], "s-one", "team-a", T0 + 5, ref2), VARSKO_ERR_EXISTS);
	CHECK_EQ_INT(q_int("SELECT (SELECT count(*) FROM underretninger) + (SELECT count(*) FROM deadlines) +"
	                   " (SELECT count(*) FROM outbox) + (SELECT count(*) FROM audit)",
	                   NULL),
	             rows);
	/* ... and the reference it took was given back. */
	CHECK_EQ_INT(submit(&devs[FAG2], "s-one", "team-a", T0 + 5, ref2), VARSKO_OK);
	CHECK_EQ_STR(ref2, "U-2026-000002");
}

static void test_rosters(void)
{
	struct flow_roster *ro = calloc(1, sizeof(*ro));
	struct proto_cert certs[ENV_RECIPIENTS_MAX];
	struct dev extra;
	long long v;
	size_t n;

	if (ro == NULL)
		return;
	CHECK_EQ_INT(store_team_roster(S, "team-a", T0, ro), VARSKO_OK);
	CHECK_EQ_INT(ro->n, 3);
	CHECK_EQ_INT(ro->version, roster_version("team-a"));
	CHECK_EQ_INT(ro->issued, T0);
	for (size_t i = 0; i < ro->n; i++) {
		CHECK_EQ_STR(ro->certs[i].team, "team-a");
		CHECK(store_roster_role(ro->certs[i].role));
		if (i > 0)
			CHECK(strcmp(ro->certs[i - 1].device, ro->certs[i].device) < 0);
	}
	/* Signed, it verifies as a client checks it. */
	CHECK_EQ_INT(flow_roster_sign(ro, org_sk), VARSKO_OK);
	CHECK_EQ_INT(flow_roster_verify(ro, org_pk, T0, NULL), VARSKO_OK);
	CHECK_EQ_INT(store_team_roster(S, "team-x", T0, ro), VARSKO_ERR_NOT_FOUND);
	/* Not valid yet before enrollment; the certificates' validity counts. */
	CHECK_EQ_INT(store_team_roster(S, "team-a", T0 - 100, ro), VARSKO_OK);
	CHECK_EQ_INT(ro->n, 0);

	/* A second device of mynd-b, then revoked: version up both times, gone from the roster. */
	v = roster_version("team-b");
	CHECK_EQ_INT(enroll("mynd-b", &extra, T0), VARSKO_OK);
	CHECK_EQ_INT(roster_version("team-b"), v + 1);
	CHECK_EQ_INT(store_team_roster(S, "team-b", T0, ro), VARSKO_OK);
	CHECK_EQ_INT(ro->n, 4);
	CHECK_EQ_INT(store_device_revoke(S, extra.cert.device, T0 + 1, "test"), VARSKO_OK);
	CHECK_EQ_INT(roster_version("team-b"), v + 2);
	CHECK_EQ_INT(store_device_revoke(S, extra.cert.device, T0 + 2, "test"), VARSKO_OK); /* again: no change */
	CHECK_EQ_INT(roster_version("team-b"), v + 2);
	CHECK_EQ_INT(store_team_roster(S, "team-b", T0, ro), VARSKO_OK);
	CHECK_EQ_INT(ro->n, 3);
	for (size_t i = 0; i < ro->n; i++)
		CHECK(strcmp(ro->certs[i].device, extra.cert.device) != 0);

	/* A fagperson's device changes no roster. */
	v = roster_version("team-a");
	CHECK_EQ_INT(enroll("fag", &devs[FAG_B], T0), VARSKO_OK);
	CHECK_EQ_INT(roster_version("team-a"), v);
	CHECK_EQ_INT(store_user_devices(S, "fag", T0, certs, ENV_RECIPIENTS_MAX, &n), VARSKO_OK);
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_INT(store_user_devices(S, "fag", T0, certs, 1, &n), VARSKO_ERR_TOO_LARGE);
	free(ro);
}

static void test_import_moves(void)
{
	static const char moved[] = "{\"tenant\":\"slagelse\",\"users\":[{\"id\":\"leder-b\",\"name\":\"L B\","
	                            "\"role\":\"leder\",\"team\":\"team-a\"}]}";
	static const char back[] = "{\"tenant\":\"slagelse\",\"users\":[{\"id\":\"leder-b\",\"name\":\"L B\","
	                           "\"role\":\"leder\",\"team\":\"team-b\"}]}";
	struct flow_roster *ro = calloc(1, sizeof(*ro));
	char err[256];
	long long va = roster_version("team-a"), vb = roster_version("team-b");

	if (ro == NULL)
		return;
	/*
	 * A user with a device who moves: the device is revoked (its certificate states the old team;
	 * access follows the user's record), so the old team's roster changes and the device is in neither.
	 */
	CHECK_EQ_INT(store_import(S, moved, strlen(moved), T0, err, sizeof(err)), VARSKO_OK);
	CHECK_EQ_INT(roster_version("team-a"), va);
	CHECK_EQ_INT(roster_version("team-b"), vb + 1);
	CHECK_EQ_INT(q_int("SELECT count(*) FROM devices WHERE user = 'leder-b' AND revoked_at IS NULL", NULL), 0);
	CHECK_EQ_INT(q_int("SELECT count(*) FROM audit WHERE event = 'revoke' AND actor = 'import' AND detail = "
	                   "'device=' || ?1", devs[LEDER_B].cert.device),
	             1);
	CHECK_EQ_INT(store_team_roster(S, "team-a", T0, ro), VARSKO_OK);
	CHECK_EQ_INT(ro->n, 3);
	CHECK_EQ_INT(store_team_roster(S, "team-b", T0, ro), VARSKO_OK);
	CHECK_EQ_INT(ro->n, 2);
	/* The same document again changes nothing; moving back brings no revoked device back. */
	CHECK_EQ_INT(store_import(S, moved, strlen(moved), T0, err, sizeof(err)), VARSKO_OK);
	CHECK_EQ_INT(roster_version("team-a"), va);
	CHECK_EQ_INT(store_import(S, back, strlen(back), T0, err, sizeof(err)), VARSKO_OK);
	CHECK_EQ_INT(roster_version("team-a"), va);
	CHECK_EQ_INT(roster_version("team-b"), vb + 1);
	CHECK_EQ_INT(store_team_roster(S, "team-b", T0, ro), VARSKO_OK);
	CHECK_EQ_INT(ro->n, 2);
	/* Enrolled again, with a certificate for the team the record names. */
	CHECK_EQ_INT(enroll("leder-b", &devs[LEDER_B], T0), VARSKO_OK);
	CHECK_EQ_STR(devs[LEDER_B].cert.team, "team-b");
	CHECK_EQ_INT(roster_version("team-b"), vb + 2);
	CHECK_EQ_INT(store_team_roster(S, "team-b", T0, ro), VARSKO_OK);
	CHECK_EQ_INT(ro->n, 3);
	free(ro);
}

/* Every kind x every signer on an underretning of team-a; each cell in a transaction rolled back. */
static void test_rights_matrix(void)
{
	static const int signers[] = {FAG, FAG2, MYND_A, LEDER_A, AGENT_A, RAAD_A, MYND_B, LEDER_B, AGENT_B, ADMIN, GW};
	char ref[PROTO_ID_MAX + 1];
	int cells = 0, allowed = 0;

	CHECK_EQ_INT(submit(&devs[FAG], "s-matrix", "team-a", T0, ref), VARSKO_OK);
	for (int k = FLOW_EV_LEVERET; k < FLOW_EV_COUNT_; k++) {
		for (size_t i = 0; i < sizeof(signers) / sizeof(signers[0]); i++) {
			struct event_result res;
			int d = signers[i], expect, r;

			switch (k) {
			case FLOW_EV_LEVERET:
				expect = d == GW;
				break;
			case FLOW_EV_MODTAGET:
			case FLOW_EV_JOURNALISERET:
				expect = d == AGENT_A;
				break;
			case FLOW_EV_AABNET:
				expect = d == MYND_A || d == LEDER_A;
				break;
			default:
				expect = d == MYND_A;
				break;
			}
			CHECK_EQ_INT(store_begin(S), VARSKO_OK);
			r = apply_simple(&devs[d], ref, (enum flow_event_kind)k, T0 + 60, &res);
			store_rollback(S);
			cells++;
			allowed += expect;
			if (r != (expect ? VARSKO_OK : VARSKO_ERR_FORBIDDEN))
				fprintf(stderr, "matrix: kind %s signer %s: %s\n",
				        flow_event_kind_name((enum flow_event_kind)k), dev_user[d], varsko_err_name(r));
			CHECK_EQ_INT(r, expect ? VARSKO_OK : VARSKO_ERR_FORBIDDEN);
			if (r == VARSKO_OK) {
				CHECK(res.seq > 0);
				CHECK_EQ_INT(res.duplicate, 0);
				CHECK_EQ_STR(res.kind, flow_event_kind_name((enum flow_event_kind)k));
				CHECK_EQ_STR(res.notifier_user, "fag");
				CHECK_EQ_STR(res.team, k == FLOW_EV_OMDIRIGERET ? "team-b" : "team-a");
				CHECK(res.push_frame != NULL);
			}
			event_result_clear(&res);
		}
	}
	CHECK_EQ_INT(cells, 99);
	CHECK_EQ_INT(allowed, 10);
	/* Nothing of the matrix stayed. */
	CHECK_EQ_INT(q_int("SELECT count(*) FROM events WHERE reference = ?1", ref), 0);
}

static void test_events_effects(void)
{
	struct event_result res;
	char ref[PROTO_ID_MAX + 1];
	json_t *arr = NULL, *item = NULL;
	int64_t seq;
	long long n;

	CHECK_EQ_INT(submit(&devs[FAG], "s-effects", "team-a", T0, ref), VARSKO_OK);
	CHECK_EQ_INT(q_int("SELECT count(*) FROM outbox WHERE reference = ?1 AND done_at IS NULL", ref), 1);

	/*
	 * The gateway's leveret; the agent's modtaget alone leaves the outbox row
	 * due (a journaliseret lost on the way must be asked for again by
	 * republishing); modtaget and journaliseret together acknowledge it.
	 */
	CHECK_EQ_INT(apply_simple(&devs[GW], ref, FLOW_EV_LEVERET, T0 + 10, &res), VARSKO_OK);
	event_result_clear(&res);
	CHECK_EQ_INT(q_int("SELECT count(*) FROM outbox WHERE reference = ?1 AND done_at IS NULL", ref), 1);
	CHECK_EQ_INT(apply_simple(&devs[AGENT_A], ref, FLOW_EV_MODTAGET, T0 + 20, &res), VARSKO_OK);
	event_result_clear(&res);
	CHECK_EQ_INT(q_int("SELECT count(*) FROM outbox WHERE reference = ?1 AND done_at IS NULL", ref), 1);
	CHECK_EQ_INT(apply_simple(&devs[AGENT_A], ref, FLOW_EV_JOURNALISERET, T0 + 21, &res), VARSKO_OK);
	event_result_clear(&res);
	CHECK_EQ_INT(q_int("SELECT count(*) FROM outbox WHERE reference = ?1 AND done_at IS NULL", ref), 0);

	/* The first vurderet meets the deadline; a later one changes nothing. */
	CHECK_EQ_INT(apply_simple(&devs[MYND_A], ref, FLOW_EV_VURDERET, T0 + 30, &res), VARSKO_OK);
	seq = res.seq;
	CHECK(res.push_frame != NULL && strstr(res.push_frame, "\"type\":\"pushed\"") != NULL);
	event_result_clear(&res);
	CHECK_EQ_INT(q_int("SELECT met_at FROM deadlines WHERE reference = ?1 AND kind = 'vurdering'", ref), T0 + 30);
	CHECK_EQ_INT(q_int("SELECT met_event FROM deadlines WHERE reference = ?1 AND kind = 'vurdering'", ref), seq);
	CHECK_EQ_INT(apply_simple(&devs[MYND_A], ref, FLOW_EV_VURDERET, T0 + 40, &res), VARSKO_OK);
	CHECK(res.seq != seq);
	event_result_clear(&res);
	CHECK_EQ_INT(q_int("SELECT met_at FROM deadlines WHERE reference = ?1 AND kind = 'vurdering'", ref), T0 + 30);
	CHECK_EQ_INT(q_int("SELECT count(*) FROM deadlines WHERE reference = ?1 AND met_at IS NULL", ref), 2);

	/* kvitteret to both of the notifier's devices meets the kvittering deadline, and is pushed with it. */
	CHECK_EQ_INT(apply_simple(&devs[MYND_A], ref, FLOW_EV_KVITTERET, T0 + 50, &res), VARSKO_OK);
	CHECK(res.push_frame != NULL && strstr(res.push_frame, "\"envelope\":") != NULL);
	event_result_clear(&res);
	CHECK_EQ_INT(q_int("SELECT met_at FROM deadlines WHERE reference = ?1 AND kind = 'kvittering'", ref), T0 + 50);
	CHECK_EQ_INT(apply_simple(&devs[MYND_A], ref, FLOW_EV_TILBAGEMELDING, T0 + 55, &res), VARSKO_OK);
	event_result_clear(&res);
	CHECK_EQ_INT(q_int("SELECT count(*) FROM deadlines WHERE reference = ?1 AND met_at IS NULL", ref), 0);

	/* aabnet is recorded once per device: the second answers with the first. */
	CHECK_EQ_INT(apply_simple(&devs[LEDER_A], ref, FLOW_EV_AABNET, T0 + 60, &res), VARSKO_OK);
	seq = res.seq;
	event_result_clear(&res);
	CHECK_EQ_INT(apply_simple(&devs[LEDER_A], ref, FLOW_EV_AABNET, T0 + 70, &res), VARSKO_OK);
	CHECK_EQ_INT(res.duplicate, 1);
	CHECK_EQ_INT(res.seq, seq);
	CHECK(res.push_frame == NULL);
	event_result_clear(&res);

	/* The item and the timeline read it back. */
	CHECK_EQ_INT(store_flow_item(S, ref, &item), VARSKO_OK);
	CHECK_EQ_STR(json_string_value(json_object_get(item, "state")), "aabnet");
	CHECK_EQ_STR(json_string_value(json_object_get(item, "team")), "team-a");
	json_decref(item);
	CHECK_EQ_INT(store_flow_events(S, ref, gw_json, &arr), VARSKO_OK);
	n = (long long)json_array_size(arr);
	CHECK_EQ_INT(n, 8);
	if (n == 8) {
		struct flow_event ev;
		struct proto_cert c;
		char *ct;

		/* Each entry's certificate verifies its event; the gateway's is the gateway certificate. */
		for (size_t i = 0; i < 8; i++) {
			json_t *e = json_array_get(arr, i);
			const char *kind;

			CHECK(flow_event_from_json(json_object_get(e, "event"), &ev) == VARSKO_OK);
			ct = json_dumps(json_object_get(e, "cert"), JSON_COMPACT | JSON_SORT_KEYS);
			CHECK(ct != NULL && proto_cert_from_json(ct, strlen(ct), &c) == VARSKO_OK);
			free(ct);
			CHECK_EQ_STR(c.device, ev.device);
			CHECK_EQ_INT(flow_event_verify(&ev, c.sign_pk), VARSKO_OK);
			kind = flow_event_kind_name(ev.kind);
			CHECK_EQ_INT(json_object_get(e, "envelope") != NULL,
			             strcmp(kind, "kvitteret") == 0 || strcmp(kind, "tilbagemelding") == 0);
		}
		CHECK_EQ_STR(
		        json_string_value(json_object_get(json_object_get(json_array_get(arr, 0), "cert"), "role")),
		        "gateway");
	}
	json_decref(arr);
	CHECK_EQ_INT(
	        q_int("SELECT count(*) FROM audit WHERE event = 'event_stored' AND detail LIKE 'ref=' || ?1 || '%'",
	              ref),
	        8);
}

static void test_duplicates_and_refusals(void)
{
	struct event_result res;
	char ref[PROTO_ID_MAX + 1];
	char *ev, *bad;
	long long events, refused;
	struct env_envelope *e;
	size_t elen;
	char *et;

	CHECK_EQ_INT(submit(&devs[FAG], "s-refusals", "team-a", T0, ref), VARSKO_OK);

	/* The same signed event again: accepted, nothing new, no push. */
	ev = event_text(&devs[MYND_A], ref, FLOW_EV_VURDERET, T0 + 100, NULL, NULL);
	CHECK_EQ_INT(event_apply(S, ev, strlen(ev), NULL, 0, T0 + 200, TENANT, gw_json, &res), VARSKO_OK);
	CHECK_EQ_INT(res.duplicate, 0);
	event_result_clear(&res);
	events = q_int("SELECT count(*) FROM events", NULL);
	CHECK_EQ_INT(event_apply(S, ev, strlen(ev), NULL, 0, T0 + 300, TENANT, gw_json, &res), VARSKO_OK);
	CHECK_EQ_INT(res.duplicate, 1);
	CHECK(res.push_frame == NULL);
	event_result_clear(&res);
	CHECK_EQ_INT(q_int("SELECT count(*) FROM events", NULL), events);
	free(ev);

	refused = q_int("SELECT count(*) FROM audit WHERE event = 'event_refused'", NULL);
	/* A different event with the same kind, device and time: exists. */
	CHECK_EQ_INT(apply(&devs[MYND_A], ref, FLOW_EV_TILBAGEMELDING, T0 + 100, NULL, NULL, 0, T0 + 200, &res),
	             VARSKO_OK);
	event_result_clear(&res);
	{
		struct flow_event fe;
		json_t *o = NULL;
		struct env_envelope *env = event_envelope(&devs[MYND_A], ref, FLOW_EV_TILBAGEMELDING, NULL, T0 + 200);
		char *t, *etx;
		size_t l;

		/* started = 0 this time: another event under the same key. */
		memset(&fe, 0, sizeof(fe));
		fe.version = FLOW_VERSION;
		snprintf(fe.reference, sizeof(fe.reference), "%.16s", ref);
		fe.kind = FLOW_EV_TILBAGEMELDING;
		snprintf(fe.device, sizeof(fe.device), "%s", devs[MYND_A].cert.device);
		fe.time = T0 + 100;
		fe.akut = -1;
		fe.started = 0;
		fe.has_envelope = 1;
		CHECK(env != NULL && flow_envelope_hash(fe.envelope_hash, env) == VARSKO_OK);
		CHECK(flow_event_sign(&fe, devs[MYND_A].sk) == VARSKO_OK && flow_event_to_json(&fe, &o) == VARSKO_OK);
		t = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
		etx = env_text(env, &l);
		CHECK_EQ_INT(event_apply(S, t, strlen(t), etx, l, T0 + 200, TENANT, gw_json, &res),
		             VARSKO_ERR_EXISTS);
		free(t);
		free(etx);
		json_decref(o);
		env_free(env);
	}

	/* Malformed, unknown reference, unknown signer, bad signature. */
	CHECK_EQ_INT(event_apply(S, "{}", 2, NULL, 0, T0, TENANT, gw_json, &res), VARSKO_ERR_BAD_FRAME);
	CHECK_EQ_INT(event_apply(S, "nope", 4, NULL, 0, T0, TENANT, gw_json, &res), VARSKO_ERR_BAD_FRAME);
	CHECK_EQ_INT(apply_simple(&devs[MYND_A], "U-2026-777777", FLOW_EV_AFSLUTTET, T0 + 100, &res),
	             VARSKO_ERR_NOT_FOUND);
	{
		struct dev stranger = devs[MYND_A];
		uint8_t pk[32];

		crypto_sign_keypair(pk, stranger.sk);
		proto_device_id(pk, stranger.cert.device);
		CHECK_EQ_INT(apply_simple(&stranger, ref, FLOW_EV_AFSLUTTET, T0 + 100, &res),
		             VARSKO_ERR_UNKNOWN_DEVICE);
		/* The right device id with the wrong key. */
		stranger.cert = devs[MYND_A].cert;
		CHECK_EQ_INT(apply_simple(&stranger, ref, FLOW_EV_AFSLUTTET, T0 + 101, &res), VARSKO_ERR_BAD_SIGNATURE);
	}
	ev = event_text(&devs[MYND_A], ref, FLOW_EV_AFSLUTTET, T0 + 102, NULL, NULL);
	bad = ev ? strstr(ev, "\"sig\":\"") : NULL;
	if (bad != NULL) {
		bad += 7;
		*bad = *bad == 'A' ? 'B' : 'A';
		CHECK_EQ_INT(event_apply(S, ev, strlen(ev), NULL, 0, T0 + 200, TENANT, gw_json, &res),
		             VARSKO_ERR_BAD_SIGNATURE);
	}
	free(ev);

	/* A time in the future, or long before the underretning. */
	CHECK_EQ_INT(apply(&devs[MYND_A], ref, FLOW_EV_AFSLUTTET, T0 + 2000, NULL, NULL, 0, T0 + 100, &res),
	             VARSKO_ERR_BAD_TIME);
	CHECK_EQ_INT(apply(&devs[MYND_A], ref, FLOW_EV_AFSLUTTET, T0 - 1000, NULL, NULL, 0, T0 + 100, &res),
	             VARSKO_ERR_BAD_TIME);

	/* The envelope: missing, superfluous, wrong recipients, wrong kind, not the signer's. */
	e = event_envelope(&devs[MYND_A], ref, FLOW_EV_KVITTERET, NULL, T0 + 200);
	CHECK_EQ_INT(apply_split(&devs[MYND_A], ref, FLOW_EV_KVITTERET, T0 + 110, e, NULL, T0 + 200, &res),
	             VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(apply_split(&devs[MYND_A], ref, FLOW_EV_AFSLUTTET, T0 + 111, NULL, e, T0 + 200, &res),
	             VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(apply(&devs[MYND_A], ref, FLOW_EV_TILBAGEMELDING, T0 + 112, NULL, e, 1, T0 + 200, &res),
	             VARSKO_ERR_BAD_INPUT); /* a kvittering envelope for a tilbagemelding */
	env_free(e);
	{
		struct proto_cert one[1];
		size_t n = 0;

		/* Only one of the notifier's two devices. */
		CHECK_EQ_INT(store_user_devices(S, "fag", T0 + 200, one, 1, &n), VARSKO_ERR_TOO_LARGE);
		one[0] = devs[FAG].cert;
		e = seal(&devs[MYND_A], "kvittering", ref, NULL, 0, one, 1);
		CHECK_EQ_INT(apply(&devs[MYND_A], ref, FLOW_EV_KVITTERET, T0 + 113, NULL, e, 1, T0 + 200, &res),
		             VARSKO_ERR_BAD_INPUT);
		env_free(e);
		/* Sealed by another device than the event's signer. */
		e = event_envelope(&devs[LEDER_A], ref, FLOW_EV_KVITTERET, NULL, T0 + 200);
		CHECK_EQ_INT(apply(&devs[MYND_A], ref, FLOW_EV_KVITTERET, T0 + 114, NULL, e, 1, T0 + 200, &res),
		             VARSKO_ERR_BAD_INPUT);
		env_free(e);
	}
	/* Each refusal above (own transaction) left one audit entry, and nothing else. */
	CHECK_EQ_INT(q_int("SELECT count(*) FROM audit WHERE event = 'event_refused'", NULL), refused + 14);
	CHECK_EQ_INT(q_int("SELECT count(*) FROM audit WHERE event = 'event_refused' AND actor = ?1",
	                   devs[MYND_A].cert.device),
	             10);
	CHECK_EQ_INT(q_int("SELECT count(*) FROM events", NULL), events + 1);

	/* A revoked signer. */
	CHECK_EQ_INT(store_device_revoke(S, devs[RAAD_A].cert.device, T0, "test"), VARSKO_OK);
	CHECK_EQ_INT(apply_simple(&devs[RAAD_A], ref, FLOW_EV_AFSLUTTET, T0 + 120, &res), VARSKO_ERR_DEVICE_REVOKED);
	/* An expired signer (the certificate ends a year after T0 - 50). */
	CHECK_EQ_INT(apply(&devs[MYND_A], ref, FLOW_EV_AFSLUTTET, T0 + YEAR, NULL, NULL, 0, T0 + YEAR, &res),
	             VARSKO_ERR_DEVICE_EXPIRED);
	(void)et;
	(void)elen;
}

static void test_omdirigering(void)
{
	struct event_result res;
	struct store_underretning u;
	struct env_envelope *e;
	char ref[PROTO_ID_MAX + 1], topic[256];
	static char original[65536], kept[65536];
	json_t *items = NULL;

	CHECK_EQ_INT(submit(&devs[FAG], "s-omdiriger", "team-a", T0, ref), VARSKO_OK);
	q_text("SELECT envelope FROM underretninger WHERE reference = ?1", ref, original, sizeof(original));
	CHECK(original[0] != '\0');
	/* To its own team, or sealed for the wrong roster: refused. */
	e = event_envelope(&devs[MYND_A], ref, FLOW_EV_OMDIRIGERET, "team-a", T0 + 100);
	CHECK_EQ_INT(apply(&devs[MYND_A], ref, FLOW_EV_OMDIRIGERET, T0 + 10, "team-a", e, 1, T0 + 100, &res),
	             VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(apply(&devs[MYND_A], ref, FLOW_EV_OMDIRIGERET, T0 + 11, "team-b", e, 1, T0 + 100, &res),
	             VARSKO_ERR_BAD_INPUT);
	env_free(e);
	/* To a team that does not exist. */
	e = event_envelope(&devs[MYND_A], ref, FLOW_EV_OMDIRIGERET, "team-b", T0 + 100);
	CHECK_EQ_INT(apply(&devs[MYND_A], ref, FLOW_EV_OMDIRIGERET, T0 + 13, "team-x", e, 1, T0 + 100, &res),
	             VARSKO_ERR_BAD_INPUT);
	env_free(e);

	/* Sealed for the right roster, but with other routing bytes than the underretning's: the new team's agent
	 * would refuse it for ever (it checks them against the receipt), so varskod refuses it now. */
	{
		struct flow_roster *ro = calloc(1, sizeof(*ro));

		CHECK(ro != NULL && store_team_roster(S, "team-b", T0 + 100, ro) == VARSKO_OK);
		e = ro ? seal(&devs[MYND_A], "underretning", ref, NULL, 0, ro->certs, ro->n) : NULL;
		CHECK_EQ_INT(apply(&devs[MYND_A], ref, FLOW_EV_OMDIRIGERET, T0 + 14, "team-b", e, 1, T0 + 100, &res),
		             VARSKO_ERR_BAD_INPUT);
		CHECK(res.why != NULL && strstr(res.why, "routing bytes") != NULL);
		env_free(e);
		e = ro ? seal(&devs[MYND_A], "underretning", ref, (const uint8_t *)"r", 1, ro->certs, ro->n) : NULL;
		CHECK_EQ_INT(apply(&devs[MYND_A], ref, FLOW_EV_OMDIRIGERET, T0 + 15, "team-b", e, 1, T0 + 100, &res),
		             VARSKO_ERR_BAD_INPUT);
		env_free(e);
		free(ro);
	}
	CHECK_EQ_INT(apply(&devs[MYND_A], ref, FLOW_EV_OMDIRIGERET, T0 + 20, "team-b", NULL, 0, T0 + 100, &res),
	             VARSKO_OK);
	CHECK_EQ_STR(res.team, "team-b");
	CHECK_EQ_INT(res.outbox_added, 1);
	event_result_clear(&res);
	CHECK_EQ_INT(store_underretning_get(S, ref, 1, &u), VARSKO_OK);
	CHECK_EQ_STR(u.team, "team-b");
	CHECK_EQ_STR(u.first_team, "team-a");
	CHECK_EQ_STR(u.envelope_sender, devs[MYND_A].cert.device);
	CHECK(u.envelope != NULL && strstr(u.envelope, devs[MYND_B].cert.device) != NULL);
	store_underretning_clear(&u);
	/* The notifier's own envelope is kept byte for byte (the receipt names it); the re-routed one is beside it. */
	q_text("SELECT envelope FROM underretninger WHERE reference = ?1", ref, kept, sizeof(kept));
	CHECK_EQ_STR(kept, original);
	CHECK_EQ_INT(q_int("SELECT count(*) FROM underretninger WHERE reference = ?1 AND current_envelope IS NOT NULL"
	                   " AND current_envelope <> envelope", ref), 1);
	CHECK_EQ_INT(q_int("SELECT count(*) FROM deadlines WHERE reference = ?1 AND team = 'team-b'", ref), 3);
	/* The old team's row is done, the new team's row is due. */
	CHECK_EQ_INT(q_int("SELECT count(*) FROM outbox WHERE reference = ?1 AND done_at IS NULL", ref), 1);
	q_text("SELECT topic FROM outbox WHERE reference = ?1 AND done_at IS NULL", ref, topic, sizeof(topic));
	CHECK_EQ_STR(topic, "varsko/slagelse/team/team-b/underretning");
	/* Published with the re-routed envelope, which is stored once, in the underretning. */
	{
		const char *p = taken_payload(ref);

		CHECK(p != NULL && strstr(p, devs[MYND_B].cert.device) != NULL && strstr(p, original) == NULL);
		CHECK_EQ_INT(q_int("SELECT count(*) FROM outbox o JOIN underretninger u USING (reference)"
		                   " WHERE o.reference = ?1 AND o.done_at IS NULL AND instr(o.payload, u.current_envelope) = 0",
		                   ref),
		             1);
	}

	/* Now team-b's to handle, no longer team-a's. */
	CHECK_EQ_INT(apply_simple(&devs[MYND_A], ref, FLOW_EV_AFSLUTTET, T0 + 30, &res), VARSKO_ERR_FORBIDDEN);
	CHECK_EQ_INT(apply_simple(&devs[AGENT_B], ref, FLOW_EV_JOURNALISERET, T0 + 31, &res), VARSKO_OK);
	event_result_clear(&res);
	CHECK_EQ_INT(q_int("SELECT count(*) FROM outbox WHERE reference = ?1 AND done_at IS NULL", ref), 1);
	CHECK_EQ_INT(apply_simple(&devs[AGENT_B], ref, FLOW_EV_MODTAGET, T0 + 32, &res), VARSKO_OK);
	event_result_clear(&res);
	CHECK_EQ_INT(q_int("SELECT count(*) FROM outbox WHERE reference = ?1 AND done_at IS NULL", ref), 0);
	CHECK_EQ_INT(store_flow_items_team(S, "team-b", FLOW_ITEMS_MAX, &items), VARSKO_OK);
	CHECK_EQ_INT(json_array_size(items), 1);
	CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(items, 0), "state")), "modtaget");
	json_decref(items);
}

/* The case's state machine (policy.c): after afsluttet only the facts of delivery and opening are taken. */
static void test_case_state(void)
{
	static const enum flow_event_kind decisions[] = {FLOW_EV_VURDERET, FLOW_EV_KVITTERET, FLOW_EV_TILBAGEMELDING,
	                                                 FLOW_EV_OMDIRIGERET, FLOW_EV_AFSLUTTET};
	struct event_result res;
	char ref[PROTO_ID_MAX + 1];
	char *ev;
	json_t *item = NULL;
	long long events, refused;

	CHECK_EQ_INT(submit(&devs[FAG], "s-case-state", "team-a", T0, ref), VARSKO_OK);
	CHECK_EQ_INT(apply_simple(&devs[MYND_A], ref, FLOW_EV_VURDERET, T0 + 10, &res), VARSKO_OK);
	event_result_clear(&res);
	ev = event_text(&devs[MYND_A], ref, FLOW_EV_AFSLUTTET, T0 + 20, NULL, NULL);
	CHECK_EQ_INT(event_apply(S, ev, strlen(ev), NULL, 0, T0 + 600, TENANT, gw_json, &res), VARSKO_OK);
	event_result_clear(&res);
	events = q_int("SELECT count(*) FROM events WHERE reference = ?1", ref);
	refused = q_int("SELECT count(*) FROM audit WHERE event = 'event_refused'", NULL);
	/* Every decision after afsluttet is refused, and nothing is stored. */
	for (size_t i = 0; i < sizeof(decisions) / sizeof(decisions[0]); i++) {
		CHECK_EQ_INT(apply_simple(&devs[MYND_A], ref, decisions[i], T0 + 30 + (int64_t)i, &res),
		             VARSKO_ERR_CASE_STATE);
		CHECK(res.why != NULL && strstr(res.why, "closed") != NULL);
		event_result_clear(&res);
	}
	CHECK_EQ_INT(q_int("SELECT count(*) FROM events WHERE reference = ?1", ref), events);
	CHECK_EQ_INT(q_int("SELECT count(*) FROM audit WHERE event = 'event_refused'", NULL), refused + 5);
	CHECK_EQ_INT(q_int("SELECT count(*) FROM underretninger WHERE reference = ?1 AND team = 'team-a'", ref), 1);
	/* Who may not sign a kind is told so first (forbidden), whatever the state. */
	CHECK_EQ_INT(apply_simple(&devs[LEDER_A], ref, FLOW_EV_VURDERET, T0 + 40, &res), VARSKO_ERR_FORBIDDEN);
	/* The same signed afsluttet again is a duplicate, not a refusal. */
	CHECK_EQ_INT(event_apply(S, ev, strlen(ev), NULL, 0, T0 + 600, TENANT, gw_json, &res), VARSKO_OK);
	CHECK_EQ_INT(res.duplicate, 1);
	event_result_clear(&res);
	free(ev);
	/* Delivery and opening are facts, recorded whatever the state; the inbox still says afsluttet. */
	CHECK_EQ_INT(apply_simple(&devs[AGENT_A], ref, FLOW_EV_JOURNALISERET, T0 + 50, &res), VARSKO_OK);
	event_result_clear(&res);
	CHECK_EQ_INT(apply_simple(&devs[LEDER_A], ref, FLOW_EV_AABNET, T0 + 51, &res), VARSKO_OK);
	event_result_clear(&res);
	CHECK_EQ_INT(store_flow_item(S, ref, &item), VARSKO_OK);
	CHECK_EQ_STR(json_string_value(json_object_get(item, "state")), "afsluttet");
	json_decref(item);
}

/*
 * A notifier with a user key (a user chain) gets the kvittering sealed to
 * it, to the key id user:<id>:<g> (PROTOCOL.md 12.5); an envelope to the
 * notifier's devices is then refused, and so is everything while the
 * stored chain does not verify.
 */
static void test_user_key_kvittering(void)
{
	struct chain_link l;
	struct keybox_gen *g = NULL;
	struct env_envelope *e;
	struct proto_cert to;
	struct event_result res;
	char ref[PROTO_ID_MAX + 1], *text = NULL;
	size_t len = 0;

	memset(&l, 0, sizeof l);
	CHECK_EQ_INT(keybox_gen_new(&g, KEYBOX_USER, 1), VARSKO_OK);
	if (g == NULL)
		return;
	l.kind = CHAIN_KIND_USER;
	l.op = CHAIN_OP_UK_CREATE;
	l.seq = 1;
	l.time = T0;
	l.generation = 1;
	snprintf(l.chain, sizeof l.chain, "fag2");
	snprintf(l.device, sizeof l.device, "%s", devs[FAG2].cert.device);
	memcpy(l.device_sign_pk, devs[FAG2].cert.sign_pk, 32);
	memcpy(l.device_box_pk, devs[FAG2].cert.box_pk, 32);
	memcpy(l.uk_sign_pk, g->sign_pk, 32);
	memcpy(l.uk_box_pk, g->box_pk, 32);
	CHECK_EQ_INT(chain_link_sign(&l, devs[FAG2].sk), VARSKO_OK);
	CHECK_EQ_INT(chain_link_to_text(&l, &text, &len), VARSKO_OK);
	CHECK_EQ_INT(store_chain_add(S, "user", "fag2", 1, "uk_create", text, T0, devs[FAG2].cert.device), VARSKO_OK);

	CHECK_EQ_INT(submit(&devs[FAG2], "s-user-key", "team-a", T0, ref), VARSKO_OK);
	/* To the devices, as for a notifier without a user key: refused now. */
	e = event_envelope(&devs[MYND_A], ref, FLOW_EV_KVITTERET, NULL, T0 + 600);
	CHECK(e != NULL);
	CHECK_EQ_INT(apply(&devs[MYND_A], ref, FLOW_EV_KVITTERET, T0 + 10, NULL, e, 1, T0 + 600, &res), VARSKO_ERR_BAD_INPUT);
	env_free(e);
	/* To the user key: stored, and the notifier opens it with the key, not with a device key. */
	memset(&to, 0, sizeof to);
	snprintf(to.device, sizeof to.device, "user:fag2:1");
	memcpy(to.box_pk, g->box_pk, 32);
	e = seal(&devs[MYND_A], "kvittering", ref, NULL, 0, &to, 1);
	CHECK(e != NULL);
	CHECK_EQ_INT(apply(&devs[MYND_A], ref, FLOW_EV_KVITTERET, T0 + 11, NULL, e, 1, T0 + 600, &res), VARSKO_OK);
	event_result_clear(&res);
	{
		uint8_t *pt = NULL;
		size_t pl = 0;

		CHECK_EQ_INT(env_open(e, devs[MYND_A].cert.sign_pk, "user:fag2:1", g->box_sk, "kvittering", ref, &pt, &pl),
		             VARSKO_OK);
		env_plaintext_free(pt, pl);
	}
	env_free(e);
	/* A chain edited in the database: the tilbagemelding is refused bad_chain, nothing stored. */
	CHECK(sqlite3_exec(S->db, "UPDATE chain_links SET link_json = replace(link_json, '\"seq\":1', '\"seq\":2')",
	                   NULL, NULL, NULL) == SQLITE_OK);
	e = seal(&devs[MYND_A], "tilbagemelding", ref, NULL, 0, &to, 1);
	CHECK_EQ_INT(apply(&devs[MYND_A], ref, FLOW_EV_TILBAGEMELDING, T0 + 12, NULL, e, 1, T0 + 600, &res),
	             VARSKO_ERR_BAD_CHAIN);
	env_free(e);
	CHECK_EQ_INT(q_int("SELECT count(*) FROM events WHERE reference = ?1 AND kind = 'tilbagemelding'", ref), 0);
	free(text);
	keybox_gen_free(g);
}

static void test_queries(void)
{
	struct route_rules *rules = calloc(1, sizeof(*rules));
	struct uh_header h;
	char *doc = NULL, team[PROTO_ID_MAX + 1], district[PROTO_NAME_MAX + 1];
	json_t *items = NULL;
	size_t len = 0, i;

	CHECK_EQ_INT(store_flow_items_user(S, "fag", FLOW_ITEMS_MAX, &items), VARSKO_OK);
	CHECK_EQ_INT(json_array_size(items), 5);
	/* Newest first. */
	for (i = 1; i < json_array_size(items); i++)
		CHECK(strcmp(json_string_value(json_object_get(json_array_get(items, i - 1), "reference")),
		             json_string_value(json_object_get(json_array_get(items, i), "reference"))) > 0);
	json_decref(items);
	CHECK_EQ_INT(store_flow_items_user(S, "fag", 2, &items), VARSKO_OK);
	CHECK_EQ_INT(json_array_size(items), 2);
	json_decref(items);
	CHECK_EQ_INT(store_flow_items_team(S, "team-a", FLOW_ITEMS_MAX, &items), VARSKO_OK);
	CHECK_EQ_INT(json_array_size(items), 5);
	/* The one with every deadline met comes last. */
	CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(items, 4), "state")), "aabnet");
	json_decref(items);
	CHECK_EQ_INT(store_flow_item(S, "U-2026-555555", &items), VARSKO_ERR_NOT_FOUND);

	CHECK_EQ_INT(store_institution_district(S, "inst-a", district, sizeof(district)), VARSKO_OK);
	CHECK_EQ_STR(district, "Slagelse");
	CHECK_EQ_INT(store_institution_district(S, "inst-x", district, sizeof(district)), VARSKO_ERR_NOT_FOUND);

	/* The stored rules load and route: Monday 10:00 in office hours, 20:00 outside. */
	CHECK_EQ_INT(store_routing_doc(S, &doc, &len), VARSKO_OK);
	CHECK(rules != NULL && doc != NULL && route_load(doc, len, rules, NULL) == VARSKO_OK);
	memset(&h, 0, sizeof(h));
	snprintf(h.institution, sizeof(h.institution), "inst-a");
	snprintf(h.age_group, sizeof(h.age_group), "6-13");
	snprintf(h.submission, sizeof(h.submission), "s-x");
	h.created = T0;
	if (rules != NULL) {
		CHECK_EQ_INT(route_decide(rules, &h, district, T0, team), VARSKO_OK);
		CHECK_EQ_STR(team, "team-a");
		CHECK_EQ_INT(route_decide(rules, &h, district, T0 + 10 * 3600, team), VARSKO_OK);
		CHECK_EQ_STR(team, "team-b");
	}
	free(doc);
	free(rules);
}

int main(void)
{
	if (sodium_init() < 0 || mkdtemp(dir) == NULL) {
		fprintf(stderr, "cannot initialise libsodium or make a temporary directory\n");
		return 77;
	}
	if (setup() == 0) {
		test_references();
		test_insert_and_lookup();
		test_rosters();
		test_import_moves();
		test_rights_matrix();
		test_events_effects();
		test_duplicates_and_refusals();
		test_omdirigering();
		test_queries();
		test_case_state();
		test_user_key_kvittering();
	}
	store_close(S);
	free(gw_json);
	{
		char p[400];

		snprintf(p, sizeof(p), "%s/flow.db-wal", dir);
		unlink(p);
		snprintf(p, sizeof(p), "%s/flow.db-shm", dir);
		unlink(p);
		unlink(dbpath);
		rmdir(dir);
	}
	return check_result();
}
