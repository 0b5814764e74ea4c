/*
 * test-metrics.c: the counters of varskod and their two texts (metrics.h):
 * the exact /metrics lines for known counts (labels, cumulative histogram
 * buckets, sums, every team and deadline kind), label escaping, and the
 * /healthz verdict for each way a check can fail, at chosen instants.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "check.h"
#include "metrics.h"
#include "varsko/err.h"

#define S 1000000 /* microseconds per second */

static int has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return 1;
	return 0;
}

#define CHECK_LINE(text, line)                                                                                         \
	do {                                                                                                           \
		check_count_++;                                                                                        \
		if (!has_line((text), (line))) {                                                                       \
			check_failures_++;                                                                             \
			fprintf(stderr, "%s:%d: no line \"%s\"\n", __FILE__, __LINE__, (line));                        \
		}                                                                                                      \
	} while (0)

static char *render(const struct metrics *m, const struct metrics_view *v)
{
	struct proto_buf b = {0};
	char *out = NULL;

	CHECK_EQ_INT(metrics_text(m, v, &b), VARSKO_OK);
	if (proto_buf_take(&b, &out, NULL) != VARSKO_OK)
		return NULL;
	return out;
}

static void test_text(void)
{
	struct metrics *m = NULL;
	struct metrics_team teams[2];
	struct metrics_store st;
	struct metrics_view v;
	char *t;

	CHECK_EQ_INT(metrics_new(&m), VARSKO_OK);
	if (m == NULL)
		return;
	metrics_login(m, 1);
	metrics_login(m, 1);
	metrics_login(m, 0);
	metrics_refused(m, VARSKO_ERR_BAD_JSON);
	metrics_refused(m, VARSKO_ERR_BAD_JSON);
	metrics_refused(m, VARSKO_ERR_BAD_JSON);
	metrics_refused(m, -999);      /* unknown: counted as internal */
	metrics_refused(m, VARSKO_OK); /* not a refusal */
	metrics_submission(m);
	metrics_submission(m);
	metrics_commit(m, 1, 300, VARSKO_OK);
	metrics_commit(m, 5, 3000, VARSKO_OK);
	metrics_commit(m, 64, 2 * S, VARSKO_ERR_IO);
	metrics_refused(NULL, VARSKO_ERR_BAD_JSON); /* NULL-safe */

	memset(teams, 0, sizeof(teams));
	snprintf(teams[0].team, sizeof(teams[0].team), "team-ung");
	teams[0].due[0] = 3;
	teams[0].warned[0] = 2;
	teams[0].escalated[0] = 1;
	teams[0].overdue[0] = 1;
	teams[0].due[1] = 4;
	snprintf(teams[1].team, sizeof(teams[1].team), "odd\"\\team");
	memset(&st, 0, sizeof(st));
	st.probed = 1;
	st.result = VARSKO_OK;
	st.writable = 1;
	st.outbox_depth = 7;
	st.outbox_oldest = 1000;
	st.audit_rows = 42;
	st.teams = teams;
	st.n_teams = 2;
	memset(&v, 0, sizeof(v));
	v.now = 1090;
	v.mono_us = 50 * (int64_t)S;
	v.sessions = 3;
	v.sessions_logged_in = 2;
	v.store_queue = 17;
	v.store_queue_max = 4096;
	v.store = &st;

	if ((t = render(m, &v)) == NULL) {
		metrics_free(m);
		return;
	}
	CHECK_LINE(t, "# HELP varsko_sessions Open varsko.v1 WebSocket sessions.");
	CHECK_LINE(t, "# TYPE varsko_sessions gauge");
	CHECK_LINE(t, "varsko_sessions 3");
	CHECK_LINE(t, "varsko_sessions_logged_in 2");
	CHECK_LINE(t, "# TYPE varsko_logins_total counter");
	CHECK_LINE(t, "varsko_logins_total{result=\"ok\"} 2");
	CHECK_LINE(t, "varsko_logins_total{result=\"failed\"} 1");
	CHECK_LINE(t, "varsko_frames_refused_total{code=\"bad_json\"} 3");
	CHECK_LINE(t, "varsko_frames_refused_total{code=\"internal\"} 1");
	CHECK_LINE(t, "varsko_frames_refused_total{code=\"purged\"} 0"); /* the last code of err.h */
	CHECK(strstr(t, "code=\"ok\"") == NULL);
	CHECK_LINE(t, "varsko_submissions_accepted_total 2");
	CHECK_LINE(t, "# TYPE varsko_store_commit_batch_size histogram");
	CHECK_LINE(t, "varsko_store_commit_batch_size_bucket{le=\"1\"} 1");
	CHECK_LINE(t, "varsko_store_commit_batch_size_bucket{le=\"4\"} 1");
	CHECK_LINE(t, "varsko_store_commit_batch_size_bucket{le=\"8\"} 2");
	CHECK_LINE(t, "varsko_store_commit_batch_size_bucket{le=\"64\"} 3");
	CHECK_LINE(t, "varsko_store_commit_batch_size_bucket{le=\"+Inf\"} 3");
	CHECK_LINE(t, "varsko_store_commit_batch_size_sum 70");
	CHECK_LINE(t, "varsko_store_commit_batch_size_count 3");
	CHECK_LINE(t, "varsko_store_commit_seconds_bucket{le=\"0.00025\"} 0");
	CHECK_LINE(t, "varsko_store_commit_seconds_bucket{le=\"0.0005\"} 1");
	CHECK_LINE(t, "varsko_store_commit_seconds_bucket{le=\"0.005\"} 2");
	CHECK_LINE(t, "varsko_store_commit_seconds_bucket{le=\"1\"} 2");
	CHECK_LINE(t, "varsko_store_commit_seconds_bucket{le=\"2.5\"} 3");
	CHECK_LINE(t, "varsko_store_commit_seconds_bucket{le=\"+Inf\"} 3");
	CHECK_LINE(t, "varsko_store_commit_seconds_sum 2.003300");
	CHECK_LINE(t, "varsko_store_commit_seconds_count 3");
	CHECK_LINE(t, "varsko_store_commit_failures_total 1");
	CHECK_LINE(t, "varsko_store_up 1");
	CHECK_LINE(t, "# TYPE varsko_store_queue_depth gauge");
	CHECK_LINE(t, "varsko_store_queue_depth 17");
	CHECK_LINE(t, "varsko_store_queue_max 4096");
	CHECK_LINE(t, "varsko_outbox_depth 7");
	CHECK_LINE(t, "varsko_outbox_oldest_age_seconds 90");
	CHECK_LINE(t, "varsko_mqtt_connected 0");
	CHECK_LINE(t, "varsko_deadlines_due{team=\"team-ung\",deadline=\"vurdering\"} 3");
	CHECK_LINE(t, "varsko_deadlines_due{team=\"team-ung\",deadline=\"kvittering\"} 4");
	CHECK_LINE(t, "varsko_deadlines_due{team=\"team-ung\",deadline=\"undersoegelse\"} 0");
	CHECK_LINE(t, "varsko_deadlines_warned{team=\"team-ung\",deadline=\"vurdering\"} 2");
	CHECK_LINE(t, "varsko_deadlines_escalated{team=\"team-ung\",deadline=\"vurdering\"} 1");
	CHECK_LINE(t, "varsko_deadlines_overdue{team=\"team-ung\",deadline=\"vurdering\"} 1");
	/* A label value is escaped (team ids cannot hold these; the text must stay parseable anyway). */
	CHECK_LINE(t, "varsko_deadlines_overdue{team=\"odd\\\"\\\\team\",deadline=\"tilbagemelding\"} 0");
	CHECK_LINE(t, "varsko_audit_rows 42");
	CHECK(t[strlen(t) - 1] == '\n');
	proto_wipe_free(t, strlen(t) + 1);

	/* No probe yet: zeros and the store down; no team listed. */
	v.store = NULL;
	metrics_mqtt_enable(m);
	metrics_mqtt_link(m, 1, 10 * (int64_t)S);
	if ((t = render(m, &v)) != NULL) {
		CHECK_LINE(t, "varsko_store_up 0");
		CHECK_LINE(t, "varsko_outbox_depth 0");
		CHECK_LINE(t, "varsko_outbox_oldest_age_seconds 0");
		CHECK_LINE(t, "varsko_mqtt_connected 1");
		CHECK(strstr(t, "team=") == NULL);
		proto_wipe_free(t, strlen(t) + 1);
	}
	metrics_free(m);
	metrics_free(NULL);
}

/* /healthz at view v: the HTTP verdict, and the parsed JSON (owned by the caller). */
static int health(const struct metrics *m, const struct metrics_view *v, const struct metrics_limits *lim,
                  json_t **out)
{
	struct proto_buf b = {0};
	int healthy = -1;

	CHECK_EQ_INT(metrics_health(m, v, lim, &b, &healthy), VARSKO_OK);
	*out = json_loadb((const char *)b.p, b.len, 0, NULL);
	CHECK(*out != NULL);
	proto_buf_free(&b);
	return healthy;
}

static int check_ok(json_t *o, const char *check)
{
	return json_is_true(json_object_get(json_object_get(json_object_get(o, "checks"), check), "ok"));
}

static json_int_t check_int(json_t *o, const char *check, const char *key)
{
	return json_integer_value(json_object_get(json_object_get(json_object_get(o, "checks"), check), key));
}

static void test_health(void)
{
	struct metrics *m = NULL;
	struct metrics_store st;
	struct metrics_view v;
	struct metrics_limits lim = {2, 10, 10};
	json_t *o = NULL;

	CHECK_EQ_INT(metrics_new(&m), VARSKO_OK);
	if (m == NULL)
		return;
	memset(&st, 0, sizeof(st));
	memset(&v, 0, sizeof(v));
	v.now = 5000;
	v.mono_us = 100 * (int64_t)S;
	v.store = &st;

	/* Before the first probe: the store and the outbox are unknown, so not ok. MQTT off is fine. */
	CHECK_EQ_INT(health(m, &v, &lim, &o), 0);
	CHECK_EQ_STR(json_string_value(json_object_get(o, "status")), "fail");
	CHECK(!check_ok(o, "store") && !check_ok(o, "outbox") && check_ok(o, "mqtt"));
	CHECK(json_is_false(json_object_get(json_object_get(json_object_get(o, "checks"), "mqtt"), "enabled")));
	json_decref(o);

	/* A good probe a second ago, the link up: healthy. */
	st.probed = 1;
	st.result = VARSKO_OK;
	st.writable = 1;
	st.probed_mono_us = 99 * (int64_t)S;
	st.outbox_depth = 9;
	st.outbox_oldest = 4900;
	metrics_mqtt_enable(m);
	metrics_mqtt_link(m, 1, 90 * (int64_t)S);
	CHECK_EQ_INT(health(m, &v, &lim, &o), 1);
	CHECK_EQ_STR(json_string_value(json_object_get(o, "status")), "ok");
	CHECK(check_ok(o, "store") && check_ok(o, "mqtt") && check_ok(o, "outbox"));
	CHECK_EQ_INT(check_int(o, "outbox", "depth"), 9);
	CHECK_EQ_INT(check_int(o, "outbox", "oldest_age_seconds"), 100);
	CHECK_EQ_INT(check_int(o, "store", "probe_age_seconds"), 1);
	CHECK_EQ_INT(check_int(o, "mqtt", "down_seconds"), 0);
	json_decref(o);

	/* The link goes down at 99 s: within the grace at 100.9 s, failed from 101 s (grace 2). */
	metrics_mqtt_link(m, 0, 99 * (int64_t)S);
	metrics_mqtt_link(m, 0, 100 * (int64_t)S); /* the same state again does not restart the clock */
	v.mono_us = 100 * (int64_t)S + 900000;
	CHECK_EQ_INT(health(m, &v, &lim, &o), 1);
	CHECK_EQ_INT(check_int(o, "mqtt", "down_seconds"), 1);
	json_decref(o);
	v.mono_us = 101 * (int64_t)S;
	CHECK_EQ_INT(health(m, &v, &lim, &o), 0);
	CHECK(!check_ok(o, "mqtt") && check_ok(o, "store") && check_ok(o, "outbox"));
	CHECK_EQ_INT(check_int(o, "mqtt", "down_seconds"), 2);
	CHECK(json_is_false(json_object_get(json_object_get(json_object_get(o, "checks"), "mqtt"), "connected")));
	json_decref(o);
	metrics_mqtt_link(m, 1, 101 * (int64_t)S);
	CHECK_EQ_INT(health(m, &v, &lim, &o), 1);
	json_decref(o);

	/* The outbox at its maximum. */
	st.outbox_depth = 10;
	CHECK_EQ_INT(health(m, &v, &lim, &o), 0);
	CHECK(!check_ok(o, "outbox") && check_ok(o, "store"));
	json_decref(o);
	st.outbox_depth = 0;
	st.outbox_oldest = 0;

	/* A probe that is too old (the worker is stuck), a failed one, a store that takes no writes. */
	v.mono_us = 110 * (int64_t)S;
	CHECK_EQ_INT(health(m, &v, &lim, &o), 0);
	CHECK(!check_ok(o, "store"));
	CHECK_EQ_INT(check_int(o, "store", "probe_age_seconds"), 11);
	json_decref(o);
	st.probed_mono_us = 109 * (int64_t)S;
	st.result = VARSKO_ERR_DB;
	CHECK_EQ_INT(health(m, &v, &lim, &o), 0);
	CHECK(!check_ok(o, "store") && !check_ok(o, "outbox"));
	CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(json_object_get(o, "checks"), "store"), "error")),
	             "db");
	json_decref(o);
	st.result = VARSKO_OK;
	st.writable = 0;
	CHECK_EQ_INT(health(m, &v, &lim, &o), 0);
	CHECK(!check_ok(o, "store") && check_ok(o, "outbox"));
	json_decref(o);
	st.writable = 1;

	/* A failed COMMIT fails the store until the next one succeeds. */
	metrics_commit(m, 3, 1000, VARSKO_ERR_IO);
	CHECK_EQ_INT(health(m, &v, &lim, &o), 0);
	CHECK(!check_ok(o, "store"));
	CHECK(json_is_false(json_object_get(json_object_get(json_object_get(o, "checks"), "store"), "last_commit_ok")));
	json_decref(o);
	metrics_commit(m, 1, 1000, VARSKO_OK);
	CHECK_EQ_INT(health(m, &v, &lim, &o), 1);
	json_decref(o);
	metrics_free(m);
}

int main(void)
{
	test_text();
	test_health();
	return check_result();
}
