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

/* ---- small helpers --------------------------------------------------------- */

/* A malloc'd copy of text column col (NULL column: VARSKO_ERR_DB). */
static int col_dup(sqlite3_stmt *st, int col, char **out, size_t *len)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	int n = sqlite3_column_bytes(st, col);

	*out = NULL;
	if (len != NULL)
		*len = 0;
	if (t == NULL || n < 0)
		return VARSKO_ERR_DB;
	if ((*out = malloc((size_t)n + 1)) == NULL)
		return VARSKO_ERR_NOMEM;
	memcpy(*out, t, (size_t)n);
	(*out)[n] = '\0';
	if (len != NULL)
		*len = (size_t)n;
	return VARSKO_OK;
}

/* Step a write: DONE -> OK; a UNIQUE conflict -> EXISTS; a dangling reference -> BAD_INPUT. Resets. */
static int step_write(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st), ext = sqlite3_extended_errcode(sqlite3_db_handle(st));

	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return VARSKO_OK;
	if ((rc & 0xff) == SQLITE_CONSTRAINT) {
		if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
			return VARSKO_ERR_EXISTS;
		if (ext == SQLITE_CONSTRAINT_FOREIGNKEY)
			return VARSKO_ERR_BAD_INPUT;
		return VARSKO_ERR_DB;
	}
	return store_sqlite_err(rc);
}

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

static const char sql_roster_bump[] = "UPDATE teams SET roster_version = roster_version + 1 WHERE id = ?1";
static const char sql_team_version[] = "SELECT roster_version FROM teams WHERE id = ?1";
static const char sql_roster_devices[] =
        "SELECT d.cert_json FROM devices d JOIN users u ON u.id = d.user"
        " WHERE u.team = ?1 AND u.role IN ('myndighed', 'leder', 'agent') AND d.revoked_at IS NULL ORDER BY d.id";
static const char sql_user_devices[] =
        "SELECT cert_json FROM devices WHERE user = ?1 AND revoked_at IS NULL ORDER BY id";

int store_roster_role(const char *role)
{
	return policy_team_role(role); /* the SQL of sql_roster_devices names the same roles */
}

int store_team_roster_bump(struct store *s, const char *team)
{
	sqlite3_stmt *st;
	int own = 0, r;

	if (team == NULL || team[0] == '\0')
		return VARSKO_OK;
	if ((r = store_tx_start(s, &own)) != VARSKO_OK)
		return r;
	if ((st = store_stmt(s, sql_roster_bump)) == NULL) {
		r = VARSKO_ERR_DB;
		goto out;
	}
	sqlite3_bind_text(st, 1, team, -1, SQLITE_STATIC);
	r = store_step_done(st);
out:
	return store_tx_end(s, own, r);
}

/* The certificate in text column 0, checked to be valid at now. 1: take it, 0: skip it, <0: error. */
static int cert_row(sqlite3_stmt *st, int64_t now, struct proto_cert *c)
{
	const void *json = sqlite3_column_text(st, 0);
	int n = sqlite3_column_bytes(st, 0);

	if (json == NULL || n <= 0 || proto_cert_from_json(json, (size_t)n, c) != VARSKO_OK)
		return VARSKO_ERR_DB;
	return c->not_before <= now && now <= c->not_after;
}

int store_team_roster(struct store *s, const char *team, int64_t now, struct flow_roster *out)
{
	struct proto_cert c;
	sqlite3_stmt *st;
	int rc, r;

	memset(out, 0, sizeof(*out));
	if (team == NULL || strlen(team) > PROTO_ID_MAX)
		return VARSKO_ERR_BAD_INPUT;
	if ((st = store_stmt(s, sql_team_version)) == NULL)
		return VARSKO_ERR_DB;
	sqlite3_bind_text(st, 1, team, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		out->version = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? VARSKO_ERR_NOT_FOUND : store_sqlite_err(rc);
	snprintf(out->team, sizeof(out->team), "%s", team);
	out->issued = now;
	if ((st = store_stmt(s, sql_roster_devices)) == NULL)
		return VARSKO_ERR_DB;
	sqlite3_bind_text(st, 1, team, -1, SQLITE_STATIC);
	r = VARSKO_OK;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int take = cert_row(st, now, &c);

		if (take < 0) {
			r = take;
			break;
		}
		/* The certificate is what a client checks: it must name the team and a roster role too. */
		if (!take || strcmp(c.team, team) != 0 || !store_roster_role(c.role))
			continue;
		if (out->n == FLOW_ROSTER_MAX) {
			r = VARSKO_ERR_TOO_LARGE;
			break;
		}
		out->certs[out->n++] = c;
	}
	if (r == VARSKO_OK && rc != SQLITE_DONE)
		r = store_sqlite_err(rc);
	sqlite3_reset(st);
	if (r != VARSKO_OK)
		memset(out, 0, sizeof(*out));
	return r;
}

int store_user_devices(struct store *s, const char *user, int64_t now, struct proto_cert *certs, size_t max, size_t *n)
{
	struct proto_cert c;
	sqlite3_stmt *st;
	int rc, r = VARSKO_OK;

	*n = 0;
	if ((st = store_stmt(s, sql_user_devices)) == NULL)
		return VARSKO_ERR_DB;
	sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int take = cert_row(st, now, &c);

		if (take < 0) {
			r = take;
			break;
		}
		if (!take)
			continue;
		if (*n == max) {
			r = VARSKO_ERR_TOO_LARGE;
			break;
		}
		certs[(*n)++] = c;
	}
	if (r == VARSKO_OK && rc != SQLITE_DONE)
		r = store_sqlite_err(rc);
	sqlite3_reset(st);
	if (r != VARSKO_OK)
		*n = 0;
	return r;
}

/* ---- institutions and routing rules ------------------------------------------ */

static const char sql_inst_district[] = "SELECT district FROM institutions WHERE id = ?1";
static const char sql_rules_all[] = "SELECT rule_json FROM routing_rules ORDER BY pos";
static const char sql_office_hours[] = "SELECT value FROM meta WHERE key = 'office_hours'";

int store_institution_district(struct store *s, const char *id, char *out, size_t cap)
{
	sqlite3_stmt *st;
	int rc, r;

	if (cap > 0)
		out[0] = '\0';
	if ((st = store_stmt(s, sql_inst_district)) == NULL)
		return VARSKO_ERR_DB;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = store_col_text(st, 0, out, cap);
	else
		r = rc == SQLITE_DONE ? VARSKO_ERR_NOT_FOUND : store_sqlite_err(rc);
	sqlite3_reset(st);
	return r;
}

int store_routing_doc(struct store *s, char **out, size_t *len)
{
	struct proto_buf b = {0}; /* appends are checked once, by proto_buf_take() */
	size_t rules = 0;
	sqlite3_stmt *st;
	int rc, r;

	*out = NULL;
	*len = 0;
	proto_buf_add_str(&b, "{");
	if ((st = store_stmt(s, sql_office_hours)) == NULL) {
		r = VARSKO_ERR_DB;
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);

		proto_buf_add_str(&b, "\"office_hours\":");
		if (t != NULL)
			proto_buf_add_str(&b, t);
		proto_buf_add_str(&b, ",");
		r = VARSKO_OK;
	} else {
		r = rc == SQLITE_DONE ? VARSKO_OK : store_sqlite_err(rc);
	}
	sqlite3_reset(st);
	if (r != VARSKO_OK)
		goto out;
	proto_buf_add_str(&b, "\"routing\":[");
	if ((st = store_stmt(s, sql_rules_all)) == NULL) {
		r = VARSKO_ERR_DB;
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);

		if (t == NULL) {
			r = VARSKO_ERR_DB;
			break;
		}
		if (rules++ > 0)
			proto_buf_add_str(&b, ",");
		proto_buf_add_str(&b, t);
	}
	if (r == VARSKO_OK && rc != SQLITE_DONE)
		r = store_sqlite_err(rc);
	sqlite3_reset(st);
	if (r != VARSKO_OK)
		goto out;
	if (rules == 0) {
		r = VARSKO_ERR_NOT_FOUND;
		goto out;
	}
	proto_buf_add_str(&b, "]}");
	r = proto_buf_take(&b, out, len);
out:
	proto_buf_free(&b);
	return r;
}

/* ---- underretninger ---------------------------------------------------------- */

#define U_SELECT                                                                                                       \
	"SELECT u.seq, u.reference, u.submission, u.sender_user, u.sender_device, u.institution, u.team,"              \
	" u.first_team, u.age_group, u.akut, u.handicap, u.outside_office, u.created_at, u.received_at,"               \
	" coalesce(u.current_hash, u.envelope_hash), u.receipt,"                                                      \
	" CASE WHEN ?2 THEN coalesce(u.current_envelope, u.envelope) ELSE NULL END,"                                 \
	" coalesce((SELECT e.device FROM events e WHERE e.reference = u.reference AND e.kind = 'omdirigeret'"          \
	" ORDER BY e.seq DESC LIMIT 1), u.sender_device) FROM underretninger u"

static const char sql_u_get[] = U_SELECT " WHERE u.reference = ?1";
static const char sql_u_find[] = U_SELECT " WHERE u.sender_user = ?1 AND u.submission = ?3";
static const char sql_u_insert[] =
        "INSERT INTO underretninger (reference, submission, sender_user, sender_device, institution, team,"
        " first_team, age_group, akut, handicap, outside_office, created_at, received_at, envelope,"
        " envelope_hash, receipt) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)";
static const char sql_meta_get[] = "SELECT value FROM meta WHERE key = ?1";
static const char sql_meta_set[] =
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value";

void store_underretning_clear(struct store_underretning *u)
{
	if (u == NULL)
		return;
	free(u->receipt);
	free(u->envelope);
	memset(u, 0, sizeof(*u));
}

static int u_from_row(sqlite3_stmt *st, struct store_underretning *u)
{
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
	if ((r = col_dup(st, 15, &u->receipt, &u->receipt_len)) != VARSKO_OK)
		return r;
	if (sqlite3_column_type(st, 16) != SQLITE_NULL &&
	    (r = col_dup(st, 16, &u->envelope, &u->envelope_len)) != VARSKO_OK)
		return r;
	return VARSKO_OK;
}

static int u_lookup(struct store *s, const char *sql, const char *a, const char *b, int with_envelope,
                    struct store_underretning *out)
{
	sqlite3_stmt *st;
	int rc, r;

	memset(out, 0, sizeof(*out));
	if (a == NULL)
		return VARSKO_ERR_BAD_INPUT;
	if ((st = store_stmt(s, sql)) == NULL)
		return VARSKO_ERR_DB;
	sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, with_envelope ? 1 : 0);
	if (b != NULL)
		sqlite3_bind_text(st, 3, b, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = u_from_row(st, out);
	else
		r = rc == SQLITE_DONE ? VARSKO_ERR_NOT_FOUND : store_sqlite_err(rc);
	sqlite3_reset(st);
	if (r != VARSKO_OK)
		store_underretning_clear(out);
	return r;
}

int store_underretning_get(struct store *s, const char *reference, int with_envelope, struct store_underretning *out)
{
	return u_lookup(s, sql_u_get, reference, NULL, with_envelope, out);
}

int store_underretning_find(struct store *s, const char *sender_user, const char *submission, int with_envelope,
                            struct store_underretning *out)
{
	if (submission == NULL) {
		memset(out, 0, sizeof(*out));
		return VARSKO_ERR_BAD_INPUT;
	}
	return u_lookup(s, sql_u_find, sender_user, submission, with_envelope, out);
}

int store_reference_next(struct store *s, int year, char out[PROTO_ID_MAX + 1])
{
	char key[16], num[24];
	sqlite3_stmt *st;
	long long n = 0;
	int own = 0, rc, r;

	out[0] = '\0';
	if (year < 1000 || year > 9999)
		return VARSKO_ERR_BAD_INPUT;
	snprintf(key, sizeof(key), "ref_%04d", year);
	if ((r = store_tx_start(s, &own)) != VARSKO_OK)
		return r;
	if ((st = store_stmt(s, sql_meta_get)) == NULL) {
		r = VARSKO_ERR_DB;
		goto out;
	}
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);
		char *end = NULL;

		n = t ? strtoll(t, &end, 10) : -1;
		if (t == NULL || end == t || *end != '\0' || n < 0)
			rc = SQLITE_CORRUPT;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		r = store_sqlite_err(rc);
		goto out;
	}
	if (n >= 999999999LL) { /* the reference has room for 9 digits */
		r = VARSKO_ERR_TOO_LARGE;
		goto out;
	}
	n++;
	snprintf(num, sizeof(num), "%lld", n);
	if ((st = store_stmt(s, sql_meta_set)) == NULL) {
		r = VARSKO_ERR_DB;
		goto out;
	}
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, num, -1, SQLITE_STATIC);
	if ((r = store_step_done(st)) != VARSKO_OK)
		goto out;
	snprintf(out, PROTO_ID_MAX + 1, "U-%04d-%06lld", year, n);
	r = VARSKO_OK;
out:
	r = store_tx_end(s, own, r);
	if (r != VARSKO_OK)
		out[0] = '\0';
	return r;
}

int store_underretning_add(struct store *s, const struct store_underretning_new *u, int64_t now)
{
	const struct flow_receipt *rc;
	char topic[256], detail[PROTO_ID_MAX + 8];
	char *receipt = NULL, *payload = NULL;
	json_t *rj = NULL;
	sqlite3_stmt *st;
	size_t i;
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
	if ((r = flow_text_underretning(rc->reference, u->envelope_json, receipt, u->sender_cert_json, u->gateway_cert_json,
	                      &payload)) != VARSKO_OK)
		goto out0;
	if ((r = store_tx_start(s, &own)) != VARSKO_OK)
		goto out0;
	if ((st = store_stmt(s, sql_u_insert)) == NULL) {
		r = VARSKO_ERR_DB;
		goto out;
	}
	sqlite3_bind_text(st, 1, rc->reference, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, rc->submission, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, rc->sender_user, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, rc->sender, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, rc->institution, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, rc->team, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, u->age_group, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 8, u->akut ? 1 : 0);
	sqlite3_bind_int(st, 9, u->handicap ? 1 : 0);
	sqlite3_bind_int(st, 10, u->outside_office ? 1 : 0);
	sqlite3_bind_int64(st, 11, u->created);
	sqlite3_bind_int64(st, 12, rc->received);
	sqlite3_bind_text(st, 13, u->envelope_json, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 14, u->envelope_hash, 32, SQLITE_STATIC);
	sqlite3_bind_text(st, 15, receipt, -1, SQLITE_STATIC);
	if ((r = step_write(st)) != VARSKO_OK)
		goto out;
	for (i = 0; i < u->n_deadlines; i++)
		if ((r = store_deadline_add(s, rc->reference, u->deadlines[i].kind, rc->team, u->deadlines[i].due_at,
		                            u->deadlines[i].warn_at)) != VARSKO_OK)
			goto out;
	if ((r = store_outbox_add(s, rc->reference, rc->team, topic, payload, 1, now, NULL)) != VARSKO_OK)
		goto out;
	snprintf(detail, sizeof(detail), "ref=%s", rc->reference);
	r = store_audit(s, now, "underretning_received", rc->sender, detail);
out:
	r = store_tx_end(s, own, r);
out0:
	json_decref(rj);
	free(receipt);
	free(payload);
	return r;
}

/* ---- items ---------------------------------------------------------------------- */

#define ITEM_SELECT                                                                                                    \
	"SELECT u.reference, u.team, u.institution, u.age_group, u.akut, u.handicap, u.received_at,"                   \
	" coalesce((SELECT d.due_at FROM deadlines d WHERE d.reference = u.reference AND d.kind = 'vurdering'), 0),"   \
	" coalesce((SELECT d.due_at FROM deadlines d WHERE d.reference = u.reference AND d.kind = 'kvittering'), 0),"  \
	" coalesce((SELECT e.kind FROM events e WHERE e.reference = u.reference AND e.kind = 'afsluttet' LIMIT 1),"  \
	" (SELECT e.kind FROM events e WHERE e.reference = u.reference ORDER BY e.seq DESC LIMIT 1),"                  \
	" 'modtaget_gateway') FROM underretninger u"

static const char sql_item_one[] = ITEM_SELECT " WHERE u.reference = ?1";
static const char sql_items_team[] =
        ITEM_SELECT " WHERE u.team = ?1 ORDER BY"
                    " (SELECT min(d.due_at) FROM deadlines d WHERE d.reference = u.reference AND d.met_at IS NULL)"
                    " IS NULL,"
                    " (SELECT min(d.due_at) FROM deadlines d WHERE d.reference = u.reference AND d.met_at IS NULL),"
                    " u.seq LIMIT ?2";
static const char sql_items_user[] = ITEM_SELECT " WHERE u.sender_user = ?1 ORDER BY u.seq DESC LIMIT ?2";

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

static int items_query(struct store *s, const char *sql, const char *arg, size_t max, json_t **out)
{
	sqlite3_stmt *st;
	json_t *arr, *item;
	int rc, r = VARSKO_OK;

	*out = NULL;
	if (arg == NULL)
		return VARSKO_ERR_BAD_INPUT;
	if ((arr = json_array()) == NULL)
		return VARSKO_ERR_NOMEM;
	if ((st = store_stmt(s, sql)) == NULL) {
		json_decref(arr);
		return VARSKO_ERR_DB;
	}
	sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((item = item_from_row(st)) == NULL || json_array_append_new(arr, item) != 0) {
			r = VARSKO_ERR_NOMEM;
			break;
		}
	}
	if (r == VARSKO_OK && rc != SQLITE_DONE)
		r = store_sqlite_err(rc);
	sqlite3_reset(st);
	if (r != VARSKO_OK) {
		json_decref(arr);
		return r;
	}
	*out = arr;
	return VARSKO_OK;
}

int store_flow_item(struct store *s, const char *reference, json_t **out)
{
	json_t *arr = NULL;
	int r;

	*out = NULL;
	if ((r = items_query(s, sql_item_one, reference, 1, &arr)) != VARSKO_OK)
		return r;
	if (json_array_size(arr) != 1) {
		json_decref(arr);
		return VARSKO_ERR_NOT_FOUND;
	}
	*out = json_incref(json_array_get(arr, 0));
	json_decref(arr);
	return VARSKO_OK;
}

int store_flow_items_team(struct store *s, const char *team, size_t max, json_t **out)
{
	return items_query(s, sql_items_team, team, max, out);
}

int store_flow_items_user(struct store *s, const char *user, size_t max, json_t **out)
{
	return items_query(s, sql_items_user, user, max, out);
}

/* ---- the timeline ---------------------------------------------------------------- */

static const char sql_events_of[] =
        "SELECT e.event, e.kind, e.device, e.envelope, (SELECT d.cert_json FROM devices d WHERE d.id = e.device)"
        " FROM events e WHERE e.reference = ?1 ORDER BY e.seq LIMIT ?2";

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

int store_flow_events(struct store *s, const char *reference, const char *gateway_cert_json, json_t **out)
{
	char gw_dev[PROTO_ID_MAX + 1];
	sqlite3_stmt *st;
	json_t *arr;
	int rc, r = VARSKO_OK;

	*out = NULL;
	cert_device(gateway_cert_json, gw_dev);
	if ((arr = json_array()) == NULL)
		return VARSKO_ERR_NOMEM;
	if ((st = store_stmt(s, sql_events_of)) == NULL) {
		json_decref(arr);
		return VARSKO_ERR_DB;
	}
	sqlite3_bind_text(st, 1, reference, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, FLOW_EVENTS_MAX);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *ev = (const char *)sqlite3_column_text(st, 0);
		const char *kind = (const char *)sqlite3_column_text(st, 1);
		const char *dev = (const char *)sqlite3_column_text(st, 2);
		const char *env = (const char *)sqlite3_column_text(st, 3);
		const char *cert = (const char *)sqlite3_column_text(st, 4);
		json_t *o = NULL, *v;

		if (ev == NULL || kind == NULL || dev == NULL) {
			r = VARSKO_ERR_DB;
			break;
		}
		if (cert == NULL && gw_dev[0] != '\0' && strcmp(dev, gw_dev) == 0)
			cert = gateway_cert_json;
		if (cert == NULL) {
			r = VARSKO_ERR_DB;
			break;
		}
		r = VARSKO_ERR_NOMEM;
		if ((o = json_object()) == NULL)
			break;
		if ((v = load(ev, strlen(ev))) == NULL || json_object_set_new(o, "event", v) != 0)
			goto bad;
		if ((v = load(cert, strlen(cert))) == NULL || json_object_set_new(o, "cert", v) != 0)
			goto bad;
		if (env != NULL && kind_for_notifier(kind) &&
		    ((v = load(env, strlen(env))) == NULL || json_object_set_new(o, "envelope", v) != 0))
			goto bad;
		if (json_array_append_new(arr, o) != 0) {
			o = NULL;
			goto bad;
		}
		r = VARSKO_OK;
		continue;
	bad:
		json_decref(o);
		break;
	}
	if (r == VARSKO_OK && rc != SQLITE_DONE)
		r = store_sqlite_err(rc);
	sqlite3_reset(st);
	if (r != VARSKO_OK) {
		json_decref(arr);
		return r;
	}
	*out = arr;
	return VARSKO_OK;
}


/* ---- events: the reads and writes of flow_event.c --------------------------------------- */

static const char sql_event_same[] =
        "SELECT seq, event FROM events WHERE reference = ?1 AND kind = ?2 AND device = ?3 AND time = ?4";
static const char sql_event_first_by[] =
        "SELECT seq FROM events WHERE reference = ?1 AND kind = ?2 AND device = ?3 ORDER BY seq LIMIT 1";
static const char sql_event_kinds[] = "SELECT DISTINCT kind FROM events WHERE reference = ?1";
static const char sql_event_insert[] =
        "INSERT INTO events (reference, kind, device, role, team, time, received_at, event, envelope)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
static const char sql_agent_done[] =
        "SELECT count(DISTINCT kind) FROM events WHERE reference = ?1 AND team = ?2 AND role = 'agent'"
        " AND kind IN ('modtaget', 'journaliseret')";
static const char sql_u_reroute[] =
        "UPDATE underretninger SET team = ?2, current_envelope = ?3, current_hash = ?4 WHERE reference = ?1";

int store_event_same(struct store *s, const char *reference, const char *kind, const char *device, int64_t time,
                     const char *event_json, int64_t *seq)
{
	sqlite3_stmt *st;
	int rc;

	*seq = 0;
	if ((st = store_stmt(s, sql_event_same)) == NULL)
		return VARSKO_ERR_DB;
	sqlite3_bind_text(st, 1, reference, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, device, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, time);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 1);

		if (t != NULL && strcmp(t, event_json) == 0)
			*seq = sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? VARSKO_OK : store_sqlite_err(rc);
}

int store_event_first_by(struct store *s, const char *reference, const char *kind, const char *device, int64_t *seq)
{
	sqlite3_stmt *st;
	int rc;

	*seq = 0;
	if ((st = store_stmt(s, sql_event_first_by)) == NULL)
		return VARSKO_ERR_DB;
	sqlite3_bind_text(st, 1, reference, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, device, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*seq = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? VARSKO_OK : store_sqlite_err(rc);
}

int store_event_kinds(struct store *s, const char *reference, unsigned *seen)
{
	sqlite3_stmt *st;
	int rc;

	*seen = 0;
	if ((st = store_stmt(s, sql_event_kinds)) == NULL)
		return VARSKO_ERR_DB;
	sqlite3_bind_text(st, 1, reference, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		enum flow_event_kind k = flow_event_kind_from_name((const char *)sqlite3_column_text(st, 0));

		if (k == FLOW_EV_NONE) {
			rc = SQLITE_CORRUPT;
			break;
		}
		*seen |= 1u << (unsigned)k;
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? VARSKO_OK : store_sqlite_err(rc);
}

int store_event_insert(struct store *s, const struct store_event_row *e, int64_t *seq)
{
	sqlite3_stmt *st;
	int r;

	*seq = 0;
	if ((st = store_stmt(s, sql_event_insert)) == NULL)
		return VARSKO_ERR_DB;
	sqlite3_bind_text(st, 1, e->reference, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, e->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, e->device, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, e->role, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, e->team, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, e->time);
	sqlite3_bind_int64(st, 7, e->received_at);
	sqlite3_bind_text(st, 8, e->event_json, -1, SQLITE_STATIC);
	if (e->envelope_json != NULL)
		sqlite3_bind_text(st, 9, e->envelope_json, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 9);
	if ((r = step_write(st)) != VARSKO_OK)
		return r; /* EXISTS: another event with the same reference, kind, device and time */
	*seq = sqlite3_last_insert_rowid(s->db);
	return VARSKO_OK;
}

int store_agent_done(struct store *s, const char *reference, const char *team, int *done)
{
	sqlite3_stmt *st;
	int rc;

	*done = 0;
	if ((st = store_stmt(s, sql_agent_done)) == NULL)
		return VARSKO_ERR_DB;
	sqlite3_bind_text(st, 1, reference, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, team, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*done = sqlite3_column_int(st, 0) == 2;
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? VARSKO_OK : store_sqlite_err(rc);
}

int store_underretning_reroute(struct store *s, const char *reference, const char *team, const char *envelope_json,
                               const uint8_t hash[32])
{
	sqlite3_stmt *st;

	if ((st = store_stmt(s, sql_u_reroute)) == NULL)
		return VARSKO_ERR_DB;
	sqlite3_bind_text(st, 1, reference, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, team, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, envelope_json, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 4, hash, 32, SQLITE_STATIC);
	return step_write(st);
}
