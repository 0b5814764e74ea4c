/*
 * test-route.c: routing rules and the first-match decision (gateway/route.c)
 * with the demo municipality's rules (deploy/demo/slagelse.json). Instants
 * are Unix seconds computed with Python's calendar.timegm from the UTC
 * reading noted next to each (Copenhagen is UTC+1 in winter, UTC+2 in summer).
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "route.h"

/* Monday 23 November 2026, a hverdag. */
#define MON_2200     1795467600LL /* 21:00Z */
#define MON_1000     1795424400LL /* 09:00Z */
#define MON_0800     1795417200LL /* 07:00Z */
#define MON_0759     1795417140LL /* 06:59Z */
#define MON_1530     1795444200LL /* 14:30Z */
#define MON_1529     1795444140LL /* 14:29Z */
#define SAT_1200     1795863600LL /* Saturday 28 November 2026, 11:00Z */
#define JUL2_1200    1766746800LL /* 2. juledag, Friday 26 December 2025, 11:00Z */
#define PAASKE2_1200 1775469600LL /* 2. påskedag, Monday 6 April 2026 (CEST), 10:00Z */
#define FRI_1330     1795782600LL /* Friday 27 November 2026, 12:30Z */
#define FRI_1259     1795780740LL /* 11:59Z */
#define SUMMER_1529  1781530140LL /* Monday 15 June 2026 (CEST), 13:29Z */
#define SUMMER_1530  1781530200LL /* 13:30Z */

static struct route_rules *demo;

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
		return NULL;
	if ((buf = malloc((size_t)n + 1)) == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

static void load_demo(void)
{
	const char *root = getenv("VARSKO_SOURCE_ROOT");
	char path[4096];
	const char *detail = NULL;
	size_t len;
	char *buf;

	snprintf(path, sizeof(path), "%s/deploy/demo/slagelse.json", root ? root : ".");
	if ((buf = read_file(path, &len)) == NULL || (demo = malloc(sizeof(*demo))) == NULL) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(1);
	}
	CHECK_EQ_INT(route_load(buf, len, demo, &detail), VARSKO_OK);
	CHECK_EQ_INT(demo->n, 5);
	CHECK(demo->has_office_hours);
	CHECK(demo->hours.open[0] == 8 * 60 && demo->hours.close[0] == 15 * 60 + 30);
	CHECK(demo->hours.open[4] == 8 * 60 && demo->hours.close[4] == 13 * 60);
	CHECK(demo->hours.open[5] == 0 && demo->hours.close[5] == 0);
	free(buf);
}

static void decide(const char *inst, const char *district, const char *group, int akut, int handicap, int64_t now,
                   int want_r, const char *want_team, int line)
{
	struct uh_header h;
	char team[PROTO_ID_MAX + 1] = "junk";
	int r;

	memset(&h, 0, sizeof(h));
	snprintf(h.institution, sizeof(h.institution), "%s", inst);
	snprintf(h.age_group, sizeof(h.age_group), "%s", group);
	h.akut = akut;
	h.handicap = handicap;
	snprintf(h.submission, sizeof(h.submission), "s-1");
	h.created = now;
	r = route_decide(demo, &h, district, now, team);
	if (r != want_r || strcmp(team, want_team) != 0)
		fprintf(stderr, "line %d: got %d \"%s\"\n", line, r, team);
	CHECK_EQ_INT(r, want_r);
	CHECK_EQ_STR(team, want_team);
}

#define ROUTE(inst, district, group, akut, handicap, now, team)                                                        \
	decide(inst, district, group, akut, handicap, now, VARSKO_OK, team, __LINE__)

static void test_demo(void)
{
	ROUTE("inst-halsskov-strandskole", "Korsør", "6-13", 0, 0, MON_1000, "team-korsoer-skaelskoer");
	ROUTE("inst-noorskolen", "Skælskør", "0-5", 0, 0, MON_1000, "team-korsoer-skaelskoer");
	ROUTE("inst-nordskovskolen", "Slagelse", "14-17", 0, 0, MON_1000, "team-ung");
	ROUTE("inst-halsskov-strandskole", "Korsør", "14-17", 0, 0, MON_1000, "team-ung"); /* age before district */
	ROUTE("inst-nordskovskolen", "Slagelse", "6-13", 0, 1, MON_1000, "team-handicap");
	ROUTE("inst-nordskovskolen", "Slagelse", "14-17", 0, 1, MON_1000, "team-handicap"); /* handicap before age */
	ROUTE("inst-nordskovskolen", "Slagelse", "6-13", 0, 0, MON_1000, "team-slagelse");
	ROUTE("inst-nordskovskolen", "Slagelse", "18-22", 0, 0, MON_1000, "team-slagelse");
	ROUTE("inst-nordskovskolen", NULL, "0-5", 0, 0, MON_1000, "team-slagelse");
	/* Not akut: the time does not matter. */
	ROUTE("inst-nordskovskolen", "Slagelse", "6-13", 0, 0, MON_2200, "team-slagelse");
	ROUTE("inst-nordskovskolen", "Slagelse", "6-13", 0, 0, SAT_1200, "team-slagelse");
	/* akut: Døgnvagt outside office hours only. */
	ROUTE("inst-nordskovskolen", "Slagelse", "6-13", 1, 0, MON_2200, "doegnvagt");
	ROUTE("inst-nordskovskolen", "Slagelse", "6-13", 1, 0, MON_1000, "team-slagelse");
	ROUTE("inst-halsskov-strandskole", "Korsør", "14-17", 1, 1, MON_1000, "team-handicap");
	ROUTE("inst-halsskov-strandskole", "Korsør", "14-17", 1, 1, MON_2200, "doegnvagt");
	ROUTE("inst-nordskovskolen", "Slagelse", "6-13", 1, 0, SAT_1200, "doegnvagt");
	ROUTE("inst-nordskovskolen", "Slagelse", "6-13", 1, 0, JUL2_1200, "doegnvagt");
	ROUTE("inst-nordskovskolen", "Slagelse", "6-13", 1, 0, PAASKE2_1200, "doegnvagt");
	ROUTE("inst-nordskovskolen", "Slagelse", "6-13", 1, 0, FRI_1330, "doegnvagt");
	ROUTE("inst-nordskovskolen", "Slagelse", "6-13", 1, 0, FRI_1259, "team-slagelse");
	/* Edges of the office day: open at 08:00, closed at 15:30. */
	ROUTE("inst-nordskovskolen", "Slagelse", "6-13", 1, 0, MON_0759, "doegnvagt");
	ROUTE("inst-nordskovskolen", "Slagelse", "6-13", 1, 0, MON_0800, "team-slagelse");
	ROUTE("inst-nordskovskolen", "Slagelse", "6-13", 1, 0, MON_1529, "team-slagelse");
	ROUTE("inst-nordskovskolen", "Slagelse", "6-13", 1, 0, MON_1530, "doegnvagt");
	ROUTE("inst-nordskovskolen", "Slagelse", "6-13", 1, 0, SUMMER_1529, "team-slagelse");
	ROUTE("inst-nordskovskolen", "Slagelse", "6-13", 1, 0, SUMMER_1530, "doegnvagt");
	/* Bad headers. */
	decide("inst-nordskovskolen", "Slagelse", "5-9", 0, 0, MON_1000, VARSKO_ERR_BAD_INPUT, "", __LINE__);
	decide("inst-nordskovskolen", "Slagelse", "", 0, 0, MON_1000, VARSKO_ERR_BAD_INPUT, "", __LINE__);
	/* A year the calendar cannot answer for, when a rule needs the office hours. */
	decide("inst-nordskovskolen", "Slagelse", "6-13", 1, 0, 0, VARSKO_ERR_BAD_INPUT, "", __LINE__);
}

static int load(const char *js, struct route_rules *r, const char **detail)
{
	*detail = NULL;
	return route_load(js, strlen(js), r, detail);
}

static void test_load_errors(void)
{
	static const char *const bad[] = {
	        "{\"routing\":[{\"if\":{\"akut\":true,\"weekend\":true},\"team\":\"t\"}]}",
	        "{\"routing\":[{\"if\":{},\"team\":\"t\",\"prio\":1}]}",
	        "{\"routing\":[{\"if\":{\"age_group\":[\"14-18\"]},\"team\":\"t\"}]}",
	        "{\"routing\":[{\"if\":{\"age_group\":[]},\"team\":\"t\"}]}",
	        "{\"routing\":[{\"if\":{\"age_group\":\"14-17\"},\"team\":\"t\"}]}",
	        "{\"routing\":[{\"if\":{\"age_group\":[\"6-13\",\"6-13\"]},\"team\":\"t\"}]}",
	        "{\"routing\":[{\"if\":{\"akut\":1},\"team\":\"t\"}]}",
	        "{\"routing\":[{\"if\":{\"district\":[\"\"]},\"team\":\"t\"}]}",
	        "{\"routing\":[{\"if\":{\"institution\":[\"a b\"]},\"team\":\"t\"}]}",
	        "{\"routing\":[{\"if\":{},\"team\":\"\"}]}",
	        "{\"routing\":[{\"if\":{},\"team\":7}]}",
	        "{\"routing\":[{\"team\":\"t\"}]}",
	        "{\"routing\":[{\"if\":[],\"team\":\"t\"}]}",
	        "{\"routing\":[]}",
	        "{\"routing\":{}}",
	        "{\"tenant\":\"x\"}",
	        "{\"routing\":[{\"if\":{\"outside_office_hours\":true},\"team\":\"t\"}]}",
	        "{\"office_hours\":{\"time_zone\":\"Europe/Berlin\"},\"routing\":[{\"if\":{},\"team\":\"t\"}]}",
	        "{\"office_hours\":{\"mon\":\"08:00-15:30\"},\"routing\":[{\"if\":{},\"team\":\"t\"}]}",
	        "{\"office_hours\":{\"time_zone\":\"Europe/"
	        "Copenhagen\",\"mon\":\"15:30-08:00\"},\"routing\":[{\"if\":{},\"team\":\"t\"}]}",
	        "{\"office_hours\":{\"time_zone\":\"Europe/"
	        "Copenhagen\",\"mon\":\"8:00-15:30\"},\"routing\":[{\"if\":{},\"team\":\"t\"}]}",
	        "{\"office_hours\":{\"time_zone\":\"Europe/"
	        "Copenhagen\",\"mon\":\"08:00-24:01\"},\"routing\":[{\"if\":{},\"team\":\"t\"}]}",
	        "{\"office_hours\":{\"time_zone\":\"Europe/"
	        "Copenhagen\",\"monday\":\"08:00-15:30\"},\"routing\":[{\"if\":{},\"team\":\"t\"}]}",
	};
	struct route_rules *r = malloc(sizeof(*r));
	const char *detail;

	if (r == NULL)
		abort();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = load(bad[i], r, &detail);
		if (rc != VARSKO_ERR_CONFIG)
			fprintf(stderr, "bad[%zu] accepted or wrong error %d\n", i, rc);
		CHECK_EQ_INT(rc, VARSKO_ERR_CONFIG);
		CHECK(detail != NULL);
		CHECK_EQ_INT(r->n, 0);
	}
	CHECK_EQ_INT(load("{\"routing\":[],\"routing\":[]}", r, &detail), VARSKO_ERR_DUPLICATE_KEY);
	CHECK_EQ_INT(load("[]", r, &detail), VARSKO_ERR_BAD_JSON);
	CHECK_EQ_INT(load("{", r, &detail), VARSKO_ERR_BAD_JSON);
	CHECK_EQ_INT(load("{\"routing\":[{\"if\":{\"akut\":true,\"akut\":false},\"team\":\"t\"}]}", r, &detail),
	             VARSKO_ERR_DUPLICATE_KEY);
	/* 64 rules load, 65 do not. */
	{
		char *big = malloc(65 * 32 + 32);
		size_t o = 0;
		if (big == NULL)
			abort();
		o += (size_t)sprintf(big + o, "{\"routing\":[");
		for (int i = 0; i < 65; i++)
			o += (size_t)sprintf(big + o, "%s{\"if\":{},\"team\":\"t%d\"}", i ? "," : "", i);
		sprintf(big + o, "]}");
		CHECK_EQ_INT(load(big, r, &detail), VARSKO_ERR_CONFIG);
		strcpy(strstr(big, ",{\"if\":{},\"team\":\"t64\"}"), "]}");
		CHECK_EQ_INT(load(big, r, &detail), VARSKO_OK);
		CHECK_EQ_INT(r->n, 64);
		free(big);
	}
	free(r);
}

static void test_other_rules(void)
{
	struct route_rules *r = malloc(sizeof(*r));
	struct uh_header h;
	char team[PROTO_ID_MAX + 1];
	const char *detail;

	if (r == NULL)
		abort();
	memset(&h, 0, sizeof(h));
	strcpy(h.institution, "inst-a");
	strcpy(h.age_group, "0-5");
	strcpy(h.submission, "s");
	/* No default rule: nothing matches. */
	CHECK_EQ_INT(load("{\"routing\":[{\"if\":{\"akut\":true},\"team\":\"t-akut\"},"
	                  "{\"if\":{\"institution\":[\"inst-b\",\"inst-a\"],\"outside_office_hours\":false},"
	                  "\"team\":\"t-inst\"}],"
	                  "\"office_hours\":{\"time_zone\":\"Europe/"
	                  "Copenhagen\",\"mon\":\"09:30-10:30\",\"sat\":\"10:00-14:00\"}}",
	                  r, &detail),
	             VARSKO_OK);
	CHECK_EQ_INT(route_decide(r, &h, "X", MON_1000, team), VARSKO_OK);
	CHECK_EQ_STR(team, "t-inst");
	/* Office hours count on hverdage only: the Saturday hours never open the office. */
	CHECK_EQ_INT(route_decide(r, &h, "X", SAT_1200, team), VARSKO_ERR_NOT_FOUND);
	CHECK_EQ_STR(team, "");
	CHECK_EQ_INT(route_decide(r, &h, "X", MON_0800, team), VARSKO_ERR_NOT_FOUND); /* before 09:30 */
	h.akut = 1;
	CHECK_EQ_INT(route_decide(r, &h, "X", MON_1000, team), VARSKO_OK);
	CHECK_EQ_STR(team, "t-akut");
	h.akut = 0;
	strcpy(h.institution, "inst-c");
	CHECK_EQ_INT(route_decide(r, &h, "X", MON_1000, team), VARSKO_ERR_NOT_FOUND);
	CHECK_EQ_INT(route_decide(NULL, &h, "X", SAT_1200, team), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(route_decide(r, NULL, "X", SAT_1200, team), VARSKO_ERR_BAD_INPUT);
	free(r);
}

int main(void)
{
	load_demo();
	test_demo();
	test_load_errors();
	test_other_rules();
	free(demo);
	return check_result();
}
