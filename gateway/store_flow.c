/*
 * store_flow.c: underretninger, their events and what the flow frames read
 * (store.h, "underretninger and events"; docs/FLOW.md steps 2, 4, 7 and 8).
 *
 * The gateway only ever stores ciphertext: envelopes as their JSON, the
 * signed receipt and events as their JSON, and the cleartext routing header
 * fields in columns. JSON written here is compact with sorted keys, like
 * every JSON object of flow.h. Large objects (an envelope is up to 2 MiB)
 * are never parsed again just to be embedded in another object: frames and
 * MQTT payloads that carry one are put together from canonical texts
 * (flow_text.c). Who may store which event, and what it does, is
 * flow_event.c's; here are only the reads and writes it needs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "envelope.h"
#include "flow.h"
#include "flow_text.h"
#include "policy.h"
#include "store-internal.h"

#define JSON_FLAGS (JSON_COMPACT | JSON_SORT_KEYS)

/* ---- the statements of this file (store-internal.h) ------------------------- */

#define U_SELECT                                                                                                       \
	"SELECT u.seq, u.reference, u.submission, u.sender_user, u.sender_device, u.institution, u.team,"              \
	" u.first_team, u.age_group, u.akut, u.handicap, u.outside_office, u.created_at, u.received_at,"               \
	" coalesce(u.current_hash, u.envelope_hash), u.receipt,"                                                       \
	" CASE ?2 WHEN 1 THEN coalesce(u.current_envelope, u.envelope) WHEN 2 THEN u.envelope ELSE NULL END,"          \
	" CASE ?2 WHEN 2 THEN u.sender_device ELSE coalesce((SELECT e.device FROM events e"                            \
	" WHERE e.reference = u.reference AND e.kind = 'omdirigeret' ORDER BY e.seq DESC LIMIT 1), u.sender_device)"    \
	" END FROM underretninger u"

#define ITEM_SELECT                                                                                                    \
	"SELECT u.reference, u.team, u.institution, u.age_group, u.akut, u.handicap, u.received_at,"                   \
	" coalesce((SELECT d.due_at FROM deadlines d WHERE d.reference = u.reference AND d.kind = 'vurdering'), 0),"   \
	" coalesce((SELECT d.due_at FROM deadlines d WHERE d.reference = u.reference AND d.kind = 'kvittering'), 0),"  \
	" coalesce((SELECT e.kind FROM events e WHERE e.reference = u.reference AND e.kind = 'afsluttet' LIMIT 1),"    \
	" (SELECT e.kind FROM events e WHERE e.reference = u.reference ORDER BY e.seq DESC LIMIT 1),"                  \
	" 'modtaget_gateway') FROM underretninger u"

const char *const store_sql_flow[STORE_SQL_COUNT] = {
        [SQL_ROSTER_BUMP] = "UPDATE teams SET roster_version = roster_version + 1 WHERE id = ?1",
        [SQL_TEAM_VERSION] = "SELECT roster_version FROM teams WHERE id = ?1",
        [SQL_ROSTER_DEVICES] = "SELECT d.cert_json FROM devices d JOIN users u ON u.id = d.user"
                               " WHERE u.team = ?1 AND u.role IN ('myndighed', 'leder', 'agent')"
                               " AND d.revoked_at IS NULL ORDER BY d.id",
        [SQL_USER_DEVICES] = "SELECT cert_json FROM devices WHERE user = ?1 AND revoked_at IS NULL ORDER BY id",
        [SQL_INST_DISTRICT] = "SELECT district FROM institutions WHERE id = ?1",
        [SQL_RULES_ALL] = "SELECT rule_json FROM routing_rules ORDER BY pos",
        [SQL_UNDERRETNING_GET] = U_SELECT " WHERE u.reference = ?1",
        [SQL_UNDERRETNING_FIND] = U_SELECT " WHERE u.sender_user = ?1 AND u.submission = ?3",
        [SQL_UNDERRETNING_INSERT] =
                "INSERT INTO underretninger (reference, submission, sender_user, sender_device, institution, team,"
                " first_team, age_group, akut, handicap, outside_office, created_at, received_at, envelope,"
                " envelope_hash, receipt)"
                " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        [SQL_UNDERRETNING_REROUTE] =
                "UPDATE underretninger SET team = ?2, current_envelope = ?3, current_hash = ?4 WHERE reference = ?1",
        [SQL_ITEM_ONE] = ITEM_SELECT " WHERE u.reference = ?1",
        [SQL_ITEMS_TEAM] = ITEM_SELECT " WHERE u.team = ?1 ORDER BY"
                                       " (SELECT min(d.due_at) FROM deadlines d WHERE d.reference = u.reference"
                                       " AND d.met_at IS NULL) IS NULL,"
                                       " (SELECT min(d.due_at) FROM deadlines d WHERE d.reference = u.reference"
                                       " AND d.met_at IS NULL),"
                                       " u.seq LIMIT ?2",
        [SQL_ITEMS_USER] = ITEM_SELECT " WHERE u.sender_user = ?1 ORDER BY u.seq DESC LIMIT ?2",
        [SQL_EVENTS_OF] = "SELECT e.event, e.kind, e.device, e.envelope,"
                          " (SELECT d.cert_json FROM devices d WHERE d.id = e.device)"
                          " FROM events e WHERE e.reference = ?1 ORDER BY e.seq LIMIT ?2",
        [SQL_EVENT_SAME] =
                "SELECT seq, event FROM events WHERE reference = ?1 AND kind = ?2 AND device = ?3 AND time = ?4",
        [SQL_EVENT_FIRST_BY] =
                "SELECT seq FROM events WHERE reference = ?1 AND kind = ?2 AND device = ?3 ORDER BY seq LIMIT 1",
        [SQL_EVENT_KINDS] = "SELECT DISTINCT kind FROM events WHERE reference = ?1",
        [SQL_EVENT_INSERT] = "INSERT INTO events (reference, kind, device, role, team, time, received_at, event,"
                             " envelope) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        [SQL_AGENT_DONE] = "SELECT count(DISTINCT kind) FROM events WHERE reference = ?1 AND team = ?2"
                           " AND role = 'agent' AND kind IN ('modtaget', 'journaliseret')",
};

/* ---- small helpers --------------------------------------------------------- */

/* A JSON value as compact text with sorted keys (owned by the caller), or NULL. */
static char *dump(const json_t *v)
{
	return v ? json_dumps(v, JSON_FLAGS | JSON_ENCODE_ANY) : NULL;
}

/* Strict load of one JSON value of text[0..len). NULL when it does not parse. */
static json_t *load(const char *text, size_t len)
{
	return text ? json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL) : NULL;
}

static int time_set(json_t *o, const char *key, int64_t t)
{
	char buf[PROTO_TIME_LEN + 1];

	proto_time_format(t, buf);
	return json_object_set_new(o, key, json_string(buf));
}

/* ---- rosters ---------------------------------------------------------------- */

int store_roster_role(const char *role)
{
	return policy_team_role(role); /* the SQL of SQL_ROSTER_DEVICES names the same roles */
}

int store_team_roster_bump(struct store *s, const char *team)
{
	if (team == NULL || team[0] == '\0')
		return VARSKO_OK;
	return store_write(s, SQL_ROSTER_BUMP, "s", team);
}

/* The certificates that cert_row() takes into certs[0..max). */
struct cert_rows {
	int64_t now;
	const char *team; /* a roster's team, or NULL for a user's devices */
	struct proto_cert *certs;
	size_t max, n;
};

/*
 * A row of SQL_ROSTER_DEVICES or SQL_USER_DEVICES: the certificate in text
 * column 0, taken when it is valid at now and, for a roster, names the team
 * and a roster role (the certificate is what a client checks). VARSKO_ERR_DB
 * when it does not parse, VARSKO_ERR_TOO_LARGE when one more would not fit.
 */
static int cert_row(sqlite3_stmt *st, void *arg)
{
	struct cert_rows *a = arg;
	const void *json = sqlite3_column_text(st, 0);
	int n = sqlite3_column_bytes(st, 0);
	struct proto_cert c;

	if (json == NULL || n <= 0 || proto_cert_from_json(json, (size_t)n, &c) != VARSKO_OK)
		return VARSKO_ERR_DB;
	if (c.not_before > a->now || a->now > c.not_after)
		return VARSKO_OK;
	if (a->team != NULL && (strcmp(c.team, a->team) != 0 || !store_roster_role(c.role)))
		return VARSKO_OK;
	if (a->n == a->max)
		return VARSKO_ERR_TOO_LARGE;
	a->certs[a->n++] = c;
	return VARSKO_OK;
}

int store_team_roster(struct store *s, const char *team, int64_t now, struct flow_roster *out)
{
	struct cert_rows a = {now, team, out->certs, FLOW_ROSTER_MAX, 0};
	int64_t version;
	int r;

	memset(out, 0, sizeof(*out));
	if (team == NULL || strlen(team) > PROTO_ID_MAX)
		return VARSKO_ERR_BAD_INPUT;
	if ((r = store_query_int(s, SQL_TEAM_VERSION, &version, "s", team)) != VARSKO_OK)
		return r;
	out->version = (uint64_t)version;
	snprintf(out->team, sizeof(out->team), "%s", team);
	out->issued = now;
	r = store_query(s, SQL_ROSTER_DEVICES, cert_row, &a, "s", team);
	out->n = a.n;
	if (r != VARSKO_OK)
		memset(out, 0, sizeof(*out));
	return r;
}

int store_user_devices(struct store *s, const char *user, int64_t now, struct proto_cert *certs, size_t max, size_t *n)
{
	struct cert_rows a = {now, NULL, certs, max, 0};
	int r;

	*n = 0;
	if ((r = store_query(s, SQL_USER_DEVICES, cert_row, &a, "s", user)) == VARSKO_OK)
		*n = a.n;
	return r;
}

/* ---- institutions and routing rules ------------------------------------------ */

struct text_out {
	char *dst;
	size_t cap;
};

/* A row whose text column 0 goes into the struct text_out `arg` (store_col_text). */
static int text_row(sqlite3_stmt *st, void *arg)
{
	struct text_out *t = arg;

	return store_col_text(st, 0, t->dst, t->cap);
}

int store_institution_district(struct store *s, const char *id, char *out, size_t cap)
{
	struct text_out t = {out, cap};

	if (cap > 0)
		out[0] = '\0';
	return store_query_one(s, SQL_INST_DISTRICT, text_row, &t, "s", id);
}

/* The routing document being put together by store_routing_doc(); appends are checked once, by proto_buf_take(). */
struct doc {
	struct proto_buf b;
	size_t rules;
};

/* The row of SQL_META_GET for 'office_hours': "office_hours":VALUE, into the document. */
static int office_hours_row(sqlite3_stmt *st, void *arg)
{
	struct doc *d = arg;
	const char *t = (const char *)sqlite3_column_text(st, 0);

	proto_buf_add_str(&d->b, "\"office_hours\":");
	if (t != NULL)
		proto_buf_add_str(&d->b, t);
	proto_buf_add_str(&d->b, ",");
	return VARSKO_OK;
}

/* A row of SQL_RULES_ALL: one more rule of the "routing" array. */
static int rule_row(sqlite3_stmt *st, void *arg)
{
	struct doc *d = arg;
	const char *t = (const char *)sqlite3_column_text(st, 0);

	if (t == NULL)
		return VARSKO_ERR_DB;
	if (d->rules++ > 0)
		proto_buf_add_str(&d->b, ",");
	proto_buf_add_str(&d->b, t);
	return VARSKO_OK;
}

int store_routing_doc(struct store *s, char **out, size_t *len)
{
	struct doc d;
	int r;

	memset(&d, 0, sizeof(d));
	*out = NULL;
	*len = 0;
	proto_buf_add_str(&d.b, "{");
	r = store_query_one(s, SQL_META_GET, office_hours_row, &d, "s", "office_hours");
	if (r != VARSKO_OK && r != VARSKO_ERR_NOT_FOUND)
		goto out;
	proto_buf_add_str(&d.b, "\"routing\":[");
	if ((r = store_query(s, SQL_RULES_ALL, rule_row, &d, "")) != VARSKO_OK)
		goto out;
	if (d.rules == 0) {
		r = VARSKO_ERR_NOT_FOUND;
		goto out;
	}
	proto_buf_add_str(&d.b, "]}");
	r = proto_buf_take(&d.b, out, len);
out:
	proto_buf_free(&d.b);
	return r;
}

/* ---- underretninger ---------------------------------------------------------- */

void store_underretning_clear(struct store_underretning *u)
{
	if (u == NULL)
		return;
	free(u->receipt);
	free(u->envelope);
	memset(u, 0, sizeof(*u));
}

/* The row of SQL_UNDERRETNING_GET or _FIND into the struct store_underretning `arg`. */
static int u_row(sqlite3_stmt *st, void *arg)
{
	struct store_underretning *u = arg;
	const void *h;
	int r;

	u->seq = sqlite3_column_int64(st, 0);
	if ((r = store_col_text(st, 1, u->reference, sizeof(u->reference))) != VARSKO_OK ||
	    (r = store_col_text(st, 2, u->submission, sizeof(u->submission))) != VARSKO_OK ||
	    (r = store_col_text(st, 3, u->sender_user, sizeof(u->sender_user))) != VARSKO_OK ||
	    (r = store_col_text(st, 4, u->sender_device, sizeof(u->sender_device))) != VARSKO_OK ||
	    (r = store_col_text(st, 5, u->institution, sizeof(u->institution))) != VARSKO_OK ||
	    (r = store_col_text(st, 6, u->team, sizeof(u->team))) != VARSKO_OK ||
	    (r = store_col_text(st, 7, u->first_team, sizeof(u->first_team))) != VARSKO_OK ||
	    (r = store_col_text(st, 8, u->age_group, sizeof(u->age_group))) != VARSKO_OK ||
	    (r = store_col_text(st, 17, u->envelope_sender, sizeof(u->envelope_sender))) != VARSKO_OK)
		return r;
	u->akut = sqlite3_column_int(st, 9);
	u->handicap = sqlite3_column_int(st, 10);
	u->outside_office = sqlite3_column_int(st, 11);
	u->created_at = sqlite3_column_int64(st, 12);
	u->received_at = sqlite3_column_int64(st, 13);
	h = sqlite3_column_blob(st, 14);
	if (h == NULL || sqlite3_column_bytes(st, 14) != 32)
		return VARSKO_ERR_DB;
	memcpy(u->envelope_hash, h, 32);
	if ((r = store_col_dup(st, 15, &u->receipt, &u->receipt_len)) != VARSKO_OK)
		return r;
	if (sqlite3_column_type(st, 16) != SQLITE_NULL &&
	    (r = store_col_dup(st, 16, &u->envelope, &u->envelope_len)) != VARSKO_OK)
		return r;
	return VARSKO_OK;
}

/* The underretning of statement id (?1 a, ?3 b unless NULL); the envelope too as with_envelope says (store.h). */
static int u_lookup(struct store *s, enum store_sql id, const char *a, const char *b, int with_envelope,
                    struct store_underretning *out)
{
	int64_t env = with_envelope == STORE_ENV_ORIGINAL ? 2 : with_envelope != STORE_ENV_NONE ? 1 : 0;
	int r;

	memset(out, 0, sizeof(*out));
	if (a == NULL)
		return VARSKO_ERR_BAD_INPUT;
	if (b == NULL)
		r = store_query_one(s, id, u_row, out, "si", a, env);
	else
		r = store_query_one(s, id, u_row, out, "sis", a, env, b);
	if (r != VARSKO_OK)
		store_underretning_clear(out);
	return r;
}

int store_underretning_get(struct store *s, const char *reference, int with_envelope, struct store_underretning *out)
{
	return u_lookup(s, SQL_UNDERRETNING_GET, reference, NULL, with_envelope, out);
}

int store_underretning_find(struct store *s, const char *sender_user, const char *submission, int with_envelope,
                            struct store_underretning *out)
{
	if (submission == NULL) {
		memset(out, 0, sizeof(*out));
		return VARSKO_ERR_BAD_INPUT;
	}
	return u_lookup(s, SQL_UNDERRETNING_FIND, sender_user, submission, with_envelope, out);
}

/* The row of SQL_META_GET for a reference counter: its value into the long long `arg`. */
static int counter_row(sqlite3_stmt *st, void *arg)
{
	const char *t = (const char *)sqlite3_column_text(st, 0);
	char *end = NULL;
	long long n = t ? strtoll(t, &end, 10) : -1;

	if (t == NULL || end == t || *end != '\0' || n < 0)
		return VARSKO_ERR_DB;
	*(long long *)arg = n;
	return VARSKO_OK;
}

int store_reference_next(struct store *s, int year, char out[PROTO_ID_MAX + 1])
{
	char key[16], num[24];
	long long n = 0;
	int own = 0, r;

	out[0] = '\0';
	if (year < 1000 || year > 9999)
		return VARSKO_ERR_BAD_INPUT;
	snprintf(key, sizeof(key), "ref_%04d", year);
	if ((r = store_tx_start(s, &own)) != VARSKO_OK)
		return r;
	/* No counter yet (VARSKO_ERR_NOT_FOUND) is the year's first reference: n stays 0. */
	r = store_query_one(s, SQL_META_GET, counter_row, &n, "s", key);
	if (r != VARSKO_OK && r != VARSKO_ERR_NOT_FOUND)
		goto out;
	if (n >= 999999999LL) { /* the reference has room for 9 digits */
		r = VARSKO_ERR_TOO_LARGE;
		goto out;
	}
	n++;
	snprintf(num, sizeof(num), "%lld", n);
	if ((r = store_exec(s, SQL_META_SET, "ss", key, num)) != VARSKO_OK)
		goto out;
	snprintf(out, PROTO_ID_MAX + 1, "U-%04d-%06lld", year, n);
	r = VARSKO_OK;
out:
	r = store_tx_end(s, own, r);
	if (r != VARSKO_OK)
		out[0] = '\0';
	return r;
}

/* The alert that nobody in the team can read u now: to the case system over MQTT, and audited. */
static int no_reader_alert(struct store *s, const struct store_underretning_new *u, int64_t now)
{
	const struct flow_receipt *rc = u->receipt;
	char topic[256], detail[2 * PROTO_ID_MAX + 16], *text = NULL;
	json_t *o = NULL;
	int r;

	if ((r = flow_text_topic_team(topic, sizeof(topic), u->tenant, rc->team, "alert")) != VARSKO_OK)
		return r;
	if ((o = flow_no_reader_alert(rc->reference, rc->team, u->akut)) == NULL ||
	    (text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((r = store_outbox_add(s, rc->reference, rc->team, topic, text, 0, now, NULL)) != VARSKO_OK)
		goto out;
	snprintf(detail, sizeof(detail), "ref=%s team=%s", rc->reference, rc->team);
	r = store_audit(s, now, "no_reader", "-", detail);
out:
	free(text);
	json_decref(o);
	return r;
}

int store_underretning_add(struct store *s, const struct store_underretning_new *u, int64_t now)
{
	const struct flow_receipt *rc;
	char topic[256], detail[PROTO_ID_MAX + 8];
	char *receipt = NULL, *payload = NULL;
	json_t *rj = NULL;
	size_t i, envelope_at = 0;
	int own = 0, r;

	if (u == NULL || (rc = u->receipt) == NULL || u->envelope_json == NULL || u->envelope_hash == NULL ||
	    u->age_group == NULL || u->sender_cert_json == NULL || u->gateway_cert_json == NULL || u->tenant == NULL ||
	    u->n_deadlines > STORE_DEADLINES_MAX || !flow_reference_valid(rc->reference))
		return VARSKO_ERR_BAD_INPUT;
	if ((r = flow_text_topic_underretning(topic, sizeof(topic), u->tenant, rc->team)) != VARSKO_OK)
		return r;
	if ((r = flow_receipt_to_json(rc, &rj)) != VARSKO_OK)
		return r;
	if ((receipt = dump(rj)) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out0;
	}
	if ((r = flow_text_underretning(rc->reference, NULL, receipt, u->sender_cert_json, u->gateway_cert_json,
	                                &payload, &envelope_at)) != VARSKO_OK)
		goto out0;
	if ((r = store_tx_start(s, &own)) != VARSKO_OK)
		goto out0;
	if ((r = store_exec(s, SQL_UNDERRETNING_INSERT, "sssssssiiiiisbs", rc->reference, rc->submission,
	                    rc->sender_user, rc->sender, rc->institution, rc->team, u->age_group,
	                    (int64_t)(u->akut ? 1 : 0), (int64_t)(u->handicap ? 1 : 0),
	                    (int64_t)(u->outside_office ? 1 : 0), (int64_t)u->created, (int64_t)rc->received,
	                    u->envelope_json, (const void *)u->envelope_hash, (size_t)32, receipt)) != VARSKO_OK)
		goto out;
	for (i = 0; i < u->n_deadlines; i++)
		if ((r = store_deadline_add(s, rc->reference, u->deadlines[i].kind, rc->team, u->deadlines[i].due_at,
		                            u->deadlines[i].warn_at)) != VARSKO_OK)
			goto out;
	if ((r = store_outbox_add_underretning(s, rc->reference, rc->team, topic, payload, envelope_at, now)) !=
	    VARSKO_OK)
		goto out;
	snprintf(detail, sizeof(detail), "ref=%s", rc->reference);
	if ((r = store_audit(s, now, "underretning_received", rc->sender, detail)) != VARSKO_OK)
		goto out;
	if (u->no_reader)
		r = no_reader_alert(s, u, now);
out:
	r = store_tx_end(s, own, r);
out0:
	json_decref(rj);
	free(receipt);
	free(payload);
	return r;
}

/* ---- items ---------------------------------------------------------------------- */

static json_t *item_from_row(sqlite3_stmt *st)
{
	json_t *o = json_object();
	const char *keys[] = {"reference", "team", "institution", "age_group"};
	int bad = o == NULL;

	for (int i = 0; i < 4 && !bad; i++) {
		const char *t = (const char *)sqlite3_column_text(st, i);

		bad = t == NULL || json_object_set_new(o, keys[i], json_string(t)) != 0;
	}
	if (!bad)
		bad = json_object_set_new(o, "akut", json_boolean(sqlite3_column_int(st, 4))) != 0 ||
		      json_object_set_new(o, "handicap", json_boolean(sqlite3_column_int(st, 5))) != 0 ||
		      time_set(o, "received", sqlite3_column_int64(st, 6)) != 0 ||
		      time_set(o, "vurdering_due", sqlite3_column_int64(st, 7)) != 0 ||
		      time_set(o, "kvittering_due", sqlite3_column_int64(st, 8)) != 0 ||
		      sqlite3_column_text(st, 9) == NULL ||
		      json_object_set_new(o, "state", json_string((const char *)sqlite3_column_text(st, 9))) != 0;
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* A row of SQL_ITEMS_TEAM or _USER: one more item of the json_t array `arg`. */
static int item_row(sqlite3_stmt *st, void *arg)
{
	json_t *item = item_from_row(st);

	if (item == NULL || json_array_append_new(arg, item) != 0)
		return VARSKO_ERR_NOMEM;
	return VARSKO_OK;
}

/* At most max items of statement id for ?1 arg, as a JSON array in *out (owned by the caller). */
static int items_query(struct store *s, enum store_sql id, const char *arg, size_t max, json_t **out)
{
	json_t *arr;
	int r;

	*out = NULL;
	if (arg == NULL)
		return VARSKO_ERR_BAD_INPUT;
	if ((arr = json_array()) == NULL)
		return VARSKO_ERR_NOMEM;
	if ((r = store_query(s, id, item_row, arr, "si", arg, (int64_t)max)) != VARSKO_OK) {
		json_decref(arr);
		return r;
	}
	*out = arr;
	return VARSKO_OK;
}

/* The row of SQL_ITEM_ONE into the json_t * `arg`. */
static int item_one_row(sqlite3_stmt *st, void *arg)
{
	json_t **out = arg;

	return (*out = item_from_row(st)) != NULL ? VARSKO_OK : VARSKO_ERR_NOMEM;
}

int store_flow_item(struct store *s, const char *reference, json_t **out)
{
	*out = NULL;
	if (reference == NULL)
		return VARSKO_ERR_BAD_INPUT;
	return store_query_one(s, SQL_ITEM_ONE, item_one_row, out, "s", reference);
}

int store_flow_items_team(struct store *s, const char *team, size_t max, json_t **out)
{
	return items_query(s, SQL_ITEMS_TEAM, team, max, out);
}

int store_flow_items_user(struct store *s, const char *user, size_t max, json_t **out)
{
	return items_query(s, SQL_ITEMS_USER, user, max, out);
}

/* ---- the timeline ---------------------------------------------------------------- */

/* The kinds whose envelope is a message to the notifier (timeline, pushed). */
static int kind_for_notifier(const char *kind)
{
	const struct policy_event *e = policy_event_rule(flow_event_kind_from_name(kind));

	return e != NULL && e->to == POL_ENV_NOTIFIER;
}

/* The device id of a certificate in JSON text, or "" (the gateway certificate is trusted input). */
static void cert_device(const char *cert_json, char out[PROTO_ID_MAX + 1])
{
	struct proto_cert c;

	out[0] = '\0';
	if (cert_json != NULL && proto_cert_from_json(cert_json, strlen(cert_json), &c) == VARSKO_OK)
		memcpy(out, c.device, PROTO_ID_MAX + 1);
}

/* The timeline being put together by store_flow_events(). */
struct timeline {
	json_t *arr;
	const char *gateway_cert_json;
	char gw_dev[PROTO_ID_MAX + 1]; /* the gateway certificate's device, or "" */
};

/*
 * A row of SQL_EVENTS_OF: one more {"event","cert","envelope"} of the
 * timeline, the certificate the device's or, for the gateway's own events,
 * gateway_cert_json.
 */
static int event_row(sqlite3_stmt *st, void *arg)
{
	struct timeline *t = arg;
	const char *ev = (const char *)sqlite3_column_text(st, 0);
	const char *kind = (const char *)sqlite3_column_text(st, 1);
	const char *dev = (const char *)sqlite3_column_text(st, 2);
	const char *env = (const char *)sqlite3_column_text(st, 3);
	const char *cert = (const char *)sqlite3_column_text(st, 4);
	json_t *o, *v;

	if (ev == NULL || kind == NULL || dev == NULL)
		return VARSKO_ERR_DB;
	if (cert == NULL && t->gw_dev[0] != '\0' && strcmp(dev, t->gw_dev) == 0)
		cert = t->gateway_cert_json;
	if (cert == NULL)
		return VARSKO_ERR_DB;
	if ((o = json_object()) == NULL)
		return VARSKO_ERR_NOMEM;
	if ((v = load(ev, strlen(ev))) == NULL || json_object_set_new(o, "event", v) != 0 ||
	    (v = load(cert, strlen(cert))) == NULL || json_object_set_new(o, "cert", v) != 0 ||
	    (env != NULL && kind_for_notifier(kind) &&
	     ((v = load(env, strlen(env))) == NULL || json_object_set_new(o, "envelope", v) != 0))) {
		json_decref(o);
		return VARSKO_ERR_NOMEM;
	}
	return json_array_append_new(t->arr, o) != 0 ? VARSKO_ERR_NOMEM : VARSKO_OK;
}

int store_flow_events(struct store *s, const char *reference, const char *gateway_cert_json, json_t **out)
{
	struct timeline t = {NULL, gateway_cert_json, ""};
	int r;

	*out = NULL;
	cert_device(gateway_cert_json, t.gw_dev);
	if ((t.arr = json_array()) == NULL)
		return VARSKO_ERR_NOMEM;
	if ((r = store_query(s, SQL_EVENTS_OF, event_row, &t, "si", reference, (int64_t)FLOW_EVENTS_MAX)) !=
	    VARSKO_OK) {
		json_decref(t.arr);
		return r;
	}
	*out = t.arr;
	return VARSKO_OK;
}

/* ---- events: the reads and writes of flow_event.c --------------------------------------- */

struct same {
	const char *event_json;
	int64_t *seq;
};

/* The row of SQL_EVENT_SAME: its seq into *seq when its text is event_json. */
static int same_row(sqlite3_stmt *st, void *arg)
{
	struct same *a = arg;
	const char *t = (const char *)sqlite3_column_text(st, 1);

	if (t != NULL && strcmp(t, a->event_json) == 0)
		*a->seq = sqlite3_column_int64(st, 0);
	return VARSKO_OK;
}

int store_event_same(struct store *s, const char *reference, const char *kind, const char *device, int64_t time,
                     const char *event_json, int64_t *seq)
{
	struct same a = {event_json, seq};
	int r;

	*seq = 0;
	r = store_query_one(s, SQL_EVENT_SAME, same_row, &a, "sssi", reference, kind, device, time);
	return r == VARSKO_ERR_NOT_FOUND ? VARSKO_OK : r;
}

int store_event_first_by(struct store *s, const char *reference, const char *kind, const char *device, int64_t *seq)
{
	int r;

	*seq = 0;
	r = store_query_int(s, SQL_EVENT_FIRST_BY, seq, "sss", reference, kind, device);
	return r == VARSKO_ERR_NOT_FOUND ? VARSKO_OK : r;
}

/* A row of SQL_EVENT_KINDS: the kind's bit into the unsigned `arg`; VARSKO_ERR_DB for an unknown kind. */
static int kind_row(sqlite3_stmt *st, void *arg)
{
	enum flow_event_kind k = flow_event_kind_from_name((const char *)sqlite3_column_text(st, 0));

	if (k == FLOW_EV_NONE)
		return VARSKO_ERR_DB;
	*(unsigned *)arg |= 1u << (unsigned)k;
	return VARSKO_OK;
}

int store_event_kinds(struct store *s, const char *reference, unsigned *seen)
{
	*seen = 0;
	return store_query(s, SQL_EVENT_KINDS, kind_row, seen, "s", reference);
}

int store_event_insert(struct store *s, const struct store_event_row *e, int64_t *seq)
{
	int r;

	*seq = 0;
	if ((r = store_write(s, SQL_EVENT_INSERT, "sssssiiss", e->reference, e->kind, e->device, e->role, e->team,
	                     e->time, e->received_at, e->event_json, e->envelope_json)) != VARSKO_OK)
		return r; /* EXISTS: another event with the same reference, kind, device and time */
	*seq = sqlite3_last_insert_rowid(s->db);
	return VARSKO_OK;
}

int store_agent_done(struct store *s, const char *reference, const char *team, int *done)
{
	int64_t kinds = 0;
	int r;

	*done = 0;
	if ((r = store_query_int(s, SQL_AGENT_DONE, &kinds, "ss", reference, team)) == VARSKO_OK)
		*done = kinds == 2;
	return r;
}

int store_underretning_reroute(struct store *s, const char *reference, const char *team, const char *envelope_json,
                               const uint8_t hash[32])
{
	return store_write(s, SQL_UNDERRETNING_REROUTE, "sssb", reference, team, envelope_json, (const void *)hash,
	                   (size_t)32);
}
