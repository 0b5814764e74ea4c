/*
 * test-policy.c: gateway/policy.c's tables against PROTOCOL.md 12.5 and 12.8,
 * written out here once more by hand: every role x request, every event
 * kind x signer role x relation, the case's states, and the actor built from
 * a certificate and the user's current record.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "policy.h"

static struct proto_cert person(const char *user, const char *role, const char *team)
{
	struct proto_cert c;

	memset(&c, 0, sizeof(c));
	snprintf(c.user, sizeof(c.user), "%s", user);
	snprintf(c.role, sizeof(c.role), "%s", role);
	snprintf(c.team, sizeof(c.team), "%s", team);
	snprintf(c.device, sizeof(c.device), "d-%s", user);
	return c;
}

static struct policy_actor actor(const char *role, const char *team)
{
	struct proto_cert c = person("u", role, team);
	struct policy_actor a;

	CHECK_EQ_INT(policy_actor(&c, &c, &a), VARSKO_OK);
	return a;
}

/* PROTOCOL.md 12.8: which roles may make each request (1 = allowed), for a role with a team where it has one. */
static void test_requests(void)
{
	static const char *const roles[] = {"fagperson", "myndighed", "leder", "raadgiver", "agent", "admin"};
	static const struct {
		enum flow_type t;
		int ok[6]; /* in the order of roles[] */
	} rows[] = {
	        {FLOW_T_ROUTE, {1, 0, 0, 0, 0, 0}},
	        {FLOW_T_SUBMIT, {1, 0, 0, 0, 0, 0}},
	        {FLOW_T_MINE, {1, 0, 0, 0, 0, 0}},
	        {FLOW_T_INBOX, {0, 1, 1, 0, 0, 0}},
	        {FLOW_T_FETCH, {1, 1, 1, 0, 0, 0}},
	        {FLOW_T_STATUS, {1, 1, 1, 0, 0, 0}},
	        {FLOW_T_NOTIFIER_DEVICES, {0, 1, 1, 0, 0, 0}},
	        {FLOW_T_ROSTER, {0, 1, 0, 0, 0, 0}},
	        {FLOW_T_OVERVIEW, {0, 0, 1, 0, 0, 0}},
	        {FLOW_T_REPORT_GET, {0, 0, 1, 0, 0, 0}},
	        {FLOW_T_EVENT, {0, 1, 1, 0, 1, 0}},
	        /* PROTOCOL.md 17.3: threads are for fagpersoner, raadgivere and ledere; ledere do not open them. */
	        {FLOW_T_THREAD_CREATE, {1, 0, 0, 1, 0, 0}},
	        {FLOW_T_THREAD_GET, {1, 0, 1, 1, 0, 0}},
	        {FLOW_T_THREAD_APPEND, {1, 0, 1, 1, 0, 0}},
	        {FLOW_T_THREAD_SEND, {1, 0, 1, 1, 0, 0}},
	        {FLOW_T_THREAD_LIST, {1, 0, 1, 1, 0, 0}},
	        {FLOW_T_THREAD_SYNC, {1, 0, 1, 1, 0, 0}},
	        {FLOW_T_THREAD_MARK, {1, 0, 1, 1, 0, 0}},
	        /* The municipality's names: every device. */
	        {FLOW_T_DIRECTORY_GET, {1, 1, 1, 1, 1, 1}},
	};
	const char *why;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		for (size_t k = 0; k < 6; k++) {
			int team = policy_team_role(roles[k]);
			struct policy_actor a = actor(roles[k], team ? "team-a" : "");
			int r = policy_request(rows[i].t, &a, &why);

			if (r != (rows[i].ok[k] ? VARSKO_OK : VARSKO_ERR_FORBIDDEN))
				fprintf(stderr, "request %s as %s: %s\n", flow_type_name(rows[i].t), roles[k],
				        varsko_err_name(r));
			CHECK_EQ_INT(r, rows[i].ok[k] ? VARSKO_OK : VARSKO_ERR_FORBIDDEN);
			CHECK(r == VARSKO_OK ? why == NULL : why != NULL);
		}
	}
	/* A team reader without a team has no inbox; an answer type is not a request. */
	{
		struct policy_actor a = actor("leder", "");

		CHECK_EQ_INT(policy_request(FLOW_T_INBOX, &a, &why), VARSKO_ERR_FORBIDDEN);
		CHECK_EQ_INT(policy_request(FLOW_T_REPORT_GET, &a, &why), VARSKO_ERR_FORBIDDEN);
		CHECK_EQ_INT(policy_request(FLOW_T_REPORT, &a, &why), VARSKO_ERR_PROTOCOL);
		CHECK_EQ_INT(policy_request(FLOW_T_ITEMS, &a, &why), VARSKO_ERR_PROTOCOL);
		CHECK_EQ_INT(policy_request(FLOW_T_COUNT_, &a, &why), VARSKO_ERR_PROTOCOL);
	}
	/* Who sees an underretning in which request. */
	CHECK(policy_sees(FLOW_T_FETCH, POL_REL_TEAM));
	CHECK(policy_sees(FLOW_T_FETCH, POL_REL_NOTIFIER));
	CHECK(policy_sees(FLOW_T_STATUS, POL_REL_NOTIFIER));
	CHECK(policy_sees(FLOW_T_STATUS, POL_REL_TEAM));
	CHECK(!policy_sees(FLOW_T_STATUS, 0));
	CHECK(!policy_sees(FLOW_T_NOTIFIER_DEVICES, POL_REL_NOTIFIER));
	CHECK(policy_sees(FLOW_T_EVENT, POL_REL_TEAM));
	CHECK(!policy_sees(FLOW_T_EVENT, POL_REL_NOTIFIER));
}

/* PROTOCOL.md 12.5: who signs each kind, for the underretning's current team only. */
static void test_signers(void)
{
	static const char *const roles[] = {"fagperson", "myndighed", "leder", "raadgiver", "agent", "admin"};
	static const struct {
		enum flow_event_kind k;
		int gateway;
		int ok[6];
	} rows[] = {
	        {FLOW_EV_LEVERET, 1, {0, 0, 0, 0, 0, 0}},        {FLOW_EV_MODTAGET, 0, {0, 0, 0, 0, 1, 0}},
	        {FLOW_EV_JOURNALISERET, 0, {0, 0, 0, 0, 1, 0}},  {FLOW_EV_AABNET, 0, {0, 1, 1, 0, 0, 0}},
	        {FLOW_EV_VURDERET, 0, {0, 1, 0, 0, 0, 0}},       {FLOW_EV_KVITTERET, 0, {0, 1, 0, 0, 0, 0}},
	        {FLOW_EV_TILBAGEMELDING, 0, {0, 1, 0, 0, 0, 0}}, {FLOW_EV_OMDIRIGERET, 0, {0, 1, 0, 0, 0, 0}},
	        {FLOW_EV_AFSLUTTET, 0, {0, 1, 0, 0, 0, 0}},
	};

	CHECK_EQ_INT(sizeof(rows) / sizeof(rows[0]), FLOW_EV_COUNT_ - 1);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		CHECK_EQ_INT(policy_may_sign(rows[i].k, NULL, 1, 0),
		             rows[i].gateway ? VARSKO_OK : VARSKO_ERR_FORBIDDEN);
		for (size_t k = 0; k < 6; k++) {
			struct policy_actor a = actor(roles[k], "team-a");

			CHECK_EQ_INT(policy_may_sign(rows[i].k, &a, 0, POL_REL_TEAM),
			             rows[i].ok[k] ? VARSKO_OK : VARSKO_ERR_FORBIDDEN);
			/* Never for another team's underretning, not even the notifier. */
			CHECK_EQ_INT(policy_may_sign(rows[i].k, &a, 0, POL_REL_NOTIFIER), VARSKO_ERR_FORBIDDEN);
		}
	}
	CHECK(policy_event_rule(FLOW_EV_NONE) == NULL);
	CHECK(policy_event_rule(FLOW_EV_COUNT_) == NULL);
	/* What each kind carries and meets. */
	CHECK_EQ_STR(policy_event_rule(FLOW_EV_KVITTERET)->envelope, "kvittering");
	CHECK_EQ_INT(policy_event_rule(FLOW_EV_KVITTERET)->to, POL_ENV_NOTIFIER);
	CHECK_EQ_STR(policy_event_rule(FLOW_EV_TILBAGEMELDING)->envelope, "tilbagemelding");
	CHECK_EQ_INT(policy_event_rule(FLOW_EV_TILBAGEMELDING)->to, POL_ENV_NOTIFIER);
	CHECK_EQ_STR(policy_event_rule(FLOW_EV_OMDIRIGERET)->envelope, "underretning");
	CHECK_EQ_INT(policy_event_rule(FLOW_EV_OMDIRIGERET)->to, POL_ENV_NEW_TEAM);
	CHECK(policy_event_rule(FLOW_EV_VURDERET)->envelope == NULL);
	CHECK_EQ_STR(policy_event_rule(FLOW_EV_VURDERET)->meets, "vurdering");
	CHECK_EQ_STR(policy_event_rule(FLOW_EV_KVITTERET)->meets, "kvittering");
	CHECK_EQ_STR(policy_event_rule(FLOW_EV_TILBAGEMELDING)->meets, "tilbagemelding");
	CHECK(policy_event_rule(FLOW_EV_AFSLUTTET)->meets == NULL);
	CHECK(policy_event_rule(FLOW_EV_AABNET)->once_per_device);
}

/* PROTOCOL.md 12.5, the case's states: open takes everything; closed only delivery and opening. */
static void test_states(void)
{
	unsigned open = POLICY_KIND_BIT(FLOW_EV_LEVERET) | POLICY_KIND_BIT(FLOW_EV_VURDERET);
	unsigned closed = open | POLICY_KIND_BIT(FLOW_EV_AFSLUTTET);
	const char *why;

	CHECK(!policy_case_closed(open));
	CHECK(policy_case_closed(closed));
	for (int k = FLOW_EV_LEVERET; k < FLOW_EV_COUNT_; k++) {
		int fact = k == FLOW_EV_LEVERET || k == FLOW_EV_MODTAGET || k == FLOW_EV_JOURNALISERET ||
		           k == FLOW_EV_AABNET;

		CHECK_EQ_INT(policy_case_allows((enum flow_event_kind)k, 0, &why), VARSKO_OK);
		CHECK_EQ_INT(policy_case_allows((enum flow_event_kind)k, open, &why), VARSKO_OK);
		CHECK_EQ_INT(policy_case_allows((enum flow_event_kind)k, closed, &why),
		             fact ? VARSKO_OK : VARSKO_ERR_CASE_STATE);
		if (!fact)
			CHECK(why != NULL && strstr(why, "closed") != NULL);
	}
	CHECK_EQ_INT(policy_case_allows(FLOW_EV_NONE, 0, &why), VARSKO_ERR_CASE_STATE);
}

/* Access follows the record: a certificate whose role, team or user the record does not have is refused. */
static void test_actor(void)
{
	struct proto_cert cert = person("lene", "myndighed", "team-a"), rec = cert;
	struct policy_actor a;

	snprintf(cert.institutions[0], sizeof(cert.institutions[0]), "inst-1");
	snprintf(cert.institutions[1], sizeof(cert.institutions[1]), "inst-2");
	cert.n_institutions = 2;
	snprintf(rec.institutions[0], sizeof(rec.institutions[0]), "inst-2");
	snprintf(rec.institutions[1], sizeof(rec.institutions[1]), "inst-3");
	rec.n_institutions = 2;
	CHECK_EQ_INT(policy_actor(&cert, &rec, &a), VARSKO_OK);
	CHECK_EQ_INT(a.role, POL_MYNDIGHED);
	CHECK_EQ_STR(a.team, "team-a");
	/* Only the institutions both list. */
	CHECK_EQ_INT(a.n_institutions, 1);
	CHECK(policy_institution(&a, "inst-2"));
	CHECK(!policy_institution(&a, "inst-1"));
	CHECK(!policy_institution(&a, "inst-3"));
	CHECK_EQ_INT(policy_relation(&a, "team-a", "anna"), POL_REL_TEAM);
	CHECK_EQ_INT(policy_relation(&a, "team-b", "lene"), POL_REL_NOTIFIER);
	CHECK_EQ_INT(policy_relation(&a, "team-b", "anna"), 0);

	snprintf(rec.team, sizeof(rec.team), "team-ung");
	CHECK_EQ_INT(policy_actor(&cert, &rec, &a), VARSKO_ERR_DEVICE_REVOKED);
	rec = cert;
	snprintf(rec.role, sizeof(rec.role), "leder");
	CHECK_EQ_INT(policy_actor(&cert, &rec, &a), VARSKO_ERR_DEVICE_REVOKED);
	rec = cert;
	snprintf(rec.user, sizeof(rec.user), "peter");
	CHECK_EQ_INT(policy_actor(&cert, &rec, &a), VARSKO_ERR_DEVICE_REVOKED);
	rec = cert;
	snprintf(cert.role, sizeof(cert.role), "superuser");
	snprintf(rec.role, sizeof(rec.role), "superuser");
	CHECK_EQ_INT(policy_actor(&cert, &rec, &a), VARSKO_ERR_DEVICE_REVOKED); /* not a role */
	/* The roles and the team roles. */
	CHECK(policy_role_bit("agent") == POL_AGENT && policy_role_bit("") == 0 && policy_role_bit(NULL) == 0);
	CHECK(policy_team_role("myndighed") && policy_team_role("leder") && policy_team_role("agent"));
	CHECK(!policy_team_role("fagperson") && !policy_team_role("raadgiver") && !policy_team_role("admin"));
}

/* PROTOCOL.md 17.5: who may be a member of a thread of inst-a, by the user's record. */
static void test_thread_members(void)
{
	struct proto_cert fag = person("laerer-a", "fagperson", ""), raad = person("raad-r", "raadgiver", "team-t");
	struct proto_cert leder = person("leder-l", "leder", "team-t"), other = person("leder-o", "leder", "team-o");
	struct proto_cert myn = person("myndighed-m", "myndighed", "team-t"), agent = person("agent-t", "agent", "team-t");
	const char *teams[] = {"team-x", "team-t"};

	snprintf(fag.institutions[0], sizeof(fag.institutions[0]), "inst-b");
	snprintf(fag.institutions[1], sizeof(fag.institutions[1]), "inst-a");
	fag.n_institutions = 2;
	snprintf(raad.institutions[0], sizeof(raad.institutions[0]), "inst-a");
	raad.n_institutions = 1;
	snprintf(myn.institutions[0], sizeof(myn.institutions[0]), "inst-a");
	myn.n_institutions = 1;
	CHECK(policy_thread_member(&fag, "fagperson", "inst-a", NULL, 0));
	CHECK(!policy_thread_member(&fag, "fagperson", "inst-c", teams, 2)); /* another institution */
	CHECK(!policy_thread_member(&fag, "raadgiver", "inst-a", teams, 2)); /* not the user's role */
	CHECK(policy_thread_member(&raad, "raadgiver", "inst-a", NULL, 0));
	CHECK(!policy_thread_member(&raad, "raadgiver", "inst-b", teams, 2)); /* not assigned there */
	CHECK(policy_thread_member(&leder, "leder", "inst-a", teams, 2));
	CHECK(!policy_thread_member(&leder, "leder", "inst-a", teams, 1)); /* no raadgiver of the leder's team */
	CHECK(!policy_thread_member(&leder, "leder", "inst-a", NULL, 0));
	CHECK(!policy_thread_member(&other, "leder", "inst-a", teams, 2));
	CHECK(!policy_thread_member(&leder, "fagperson", "inst-a", teams, 2));
	CHECK(!policy_thread_member(&myn, "myndighed", "inst-a", teams, 2)); /* never a member */
	CHECK(!policy_thread_member(&agent, "agent", "inst-a", teams, 2));
	CHECK(!policy_thread_member(NULL, "fagperson", "inst-a", teams, 2));
}

int main(void)
{
	test_requests();
	test_signers();
	test_states();
	test_actor();
	test_thread_members();
	return check_result();
}
