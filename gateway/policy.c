/*
 * policy.c: the access rules and the case's state machine as tables
 * (policy.h; PROTOCOL.md 12.5 and 12.8). A new request or event kind is a
 * new row here; nothing else in the gateway decides who may do what.
 */
#include <string.h>

#include "policy.h"

static const struct {
	const char *name;
	unsigned bit;
} roles[] = {
        {"fagperson", POL_FAGPERSON}, {"myndighed", POL_MYNDIGHED}, {"leder", POL_LEDER},
        {"raadgiver", POL_RAADGIVER}, {"agent", POL_AGENT},         {"admin", POL_ADMIN},
};

unsigned policy_role_bit(const char *role)
{
	if (role == NULL)
		return 0;
	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (strcmp(roles[i].name, role) == 0)
			return roles[i].bit;
	return 0;
}

int policy_team_role(const char *role)
{
	return (policy_role_bit(role) & POL_TEAM_ROLES) != 0;
}

int policy_actor(const struct proto_cert *cert, const struct proto_cert *record, struct policy_actor *out)
{
	memset(out, 0, sizeof(*out));
	if (cert == NULL || record == NULL)
		return VARSKO_ERR_INTERNAL;
	/* The certificate stands for the user only while the record agrees with it. */
	if (strcmp(cert->user, record->user) != 0 || strcmp(cert->role, record->role) != 0 ||
	    strcmp(cert->team, record->team) != 0 || policy_role_bit(record->role) == 0)
		return VARSKO_ERR_DEVICE_REVOKED;
	memcpy(out->user, record->user, sizeof(out->user));
	memcpy(out->device, cert->device, sizeof(out->device));
	memcpy(out->team, record->team, sizeof(out->team));
	out->role = policy_role_bit(record->role);
	for (size_t i = 0; i < cert->n_institutions && i < PROTO_INST_MAX; i++)
		for (size_t k = 0; k < record->n_institutions && k < PROTO_INST_MAX; k++)
			if (strcmp(cert->institutions[i], record->institutions[k]) == 0) {
				memcpy(out->institutions[out->n_institutions++], cert->institutions[i],
				       sizeof(out->institutions[0]));
				break;
			}
	return VARSKO_OK;
}

int policy_institution(const struct policy_actor *a, const char *id)
{
	for (size_t i = 0; id != NULL && i < a->n_institutions; i++)
		if (strcmp(a->institutions[i], id) == 0)
			return 1;
	return 0;
}

unsigned policy_relation(const struct policy_actor *a, const char *team, const char *sender_user)
{
	unsigned rel = 0;

	if (a->team[0] != '\0' && team != NULL && strcmp(a->team, team) == 0)
		rel |= POL_REL_TEAM;
	if (sender_user != NULL && strcmp(a->user, sender_user) == 0)
		rel |= POL_REL_NOTIFIER;
	return rel;
}

/* ---- requests (PROTOCOL.md 12.8) ------------------------------------------------- */

#define TEAM_READERS (POL_MYNDIGHED | POL_LEDER)
#define THREAD_ROLES (POL_FAGPERSON | POL_RAADGIVER | POL_LEDER)
#define KEY_HOLDERS  (POL_FAGPERSON | POL_MYNDIGHED | POL_LEDER | POL_RAADGIVER | POL_AGENT | POL_ADMIN)

static const struct request_rule {
	unsigned roles;  /* who may make the request at all */
	int needs_team;  /* 1: only with a team of one's own */
	unsigned sees;   /* relations to an underretning that make it visible (0: no underretning) */
	const char *why; /* the refusal text */
} requests[FLOW_T_COUNT_] = {
        [FLOW_T_ROUTE] = {POL_FAGPERSON, 0, 0, "only a fagperson may route an underretning"},
        [FLOW_T_SUBMIT] = {POL_FAGPERSON, 0, 0, "only a fagperson may submit an underretning"},
        [FLOW_T_MINE] = {POL_FAGPERSON, 0, 0, "only a fagperson has underretninger of their own"},
        [FLOW_T_INBOX] = {TEAM_READERS, 1, 0, "only myndighed and leder have an inbox"},
        /* The notifier gets the envelope as submitted (its own copy, sealed to the user key: 16.7). */
        [FLOW_T_FETCH] = {TEAM_READERS | POL_FAGPERSON, 0, POL_REL_TEAM | POL_REL_NOTIFIER,
                          "only the notifier and myndighed and leder of the team may fetch an underretning"},
        [FLOW_T_STATUS] = {TEAM_READERS | POL_FAGPERSON, 0, POL_REL_TEAM | POL_REL_NOTIFIER,
                           "only the notifier and the team may see the status"},
        [FLOW_T_NOTIFIER_DEVICES] = {TEAM_READERS, 1, POL_REL_TEAM,
                                     "only myndighed and leder of the team may ask for the notifier's devices"},
        [FLOW_T_ROSTER] = {POL_MYNDIGHED, 0, 0, "only myndighed may ask for a team's roster"},
        [FLOW_T_OVERVIEW] = {POL_LEDER, 1, 0, "only a leder has the deadline overview"},
        /* The ledelsestilsyn figures of the leder's own team (flow_read.c takes the team from the certificate). */
        [FLOW_T_REPORT_GET] = {POL_LEDER, 1, 0, "only a leder has the team's ledelsestilsyn figures"},
        [FLOW_T_EVENT] = {TEAM_READERS | POL_AGENT, 1, POL_REL_TEAM,
                          "only myndighed, leder and the team's agent sign events"},
        /* The key model (PROTOCOL.md 15): every person's device; flow_keys.c limits each to the caller's own user. */
        [FLOW_T_CHAIN_GET] = {KEY_HOLDERS, 0, 0, "not for this role"},
        [FLOW_T_CHAIN_APPEND] = {KEY_HOLDERS, 0, 0, "not for this role"},
        [FLOW_T_KEYS_GET] = {KEY_HOLDERS, 0, 0, "not for this role"},
        [FLOW_T_KEYS_PUT] = {KEY_HOLDERS, 0, 0, "not for this role"},
        [FLOW_T_RECOVERY_GET] = {KEY_HOLDERS, 0, 0, "not for this role"},
        [FLOW_T_RECOVERY_PUT] = {KEY_HOLDERS, 0, 0, "not for this role"},
        [FLOW_T_APPROVE_REQUEST] = {KEY_HOLDERS, 0, 0, "not for this role"},
        [FLOW_T_APPROVE_LIST] = {KEY_HOLDERS, 0, 0, "not for this role"},
        [FLOW_T_APPROVE_OFFER] = {KEY_HOLDERS, 0, 0, "not for this role"},
        [FLOW_T_APPROVE_REVEAL] = {KEY_HOLDERS, 0, 0, "not for this role"},
        [FLOW_T_APPROVE_GET] = {KEY_HOLDERS, 0, 0, "not for this role"},
        /* Consultation threads (PROTOCOL.md 17.3, 17.5): flow_thread.c limits each to the threads the user is in. */
        [FLOW_T_THREAD_CREATE] = {POL_FAGPERSON | POL_RAADGIVER, 0, 0, "only a fagperson or a raadgiver opens a thread"},
        [FLOW_T_THREAD_GET] = {THREAD_ROLES, 0, 0, "threads are for fagpersoner, raadgivere and ledere"},
        [FLOW_T_THREAD_APPEND] = {THREAD_ROLES, 0, 0, "threads are for fagpersoner, raadgivere and ledere"},
        [FLOW_T_THREAD_SEND] = {THREAD_ROLES, 0, 0, "threads are for fagpersoner, raadgivere and ledere"},
        [FLOW_T_THREAD_LIST] = {THREAD_ROLES, 0, 0, "threads are for fagpersoner, raadgivere and ledere"},
        [FLOW_T_THREAD_SYNC] = {THREAD_ROLES, 0, 0, "threads are for fagpersoner, raadgivere and ledere"},
        [FLOW_T_THREAD_MARK] = {THREAD_ROLES, 0, 0, "threads are for fagpersoner, raadgivere and ledere"},
        [FLOW_T_THREAD_RAADGIVERE] = {POL_FAGPERSON | POL_RAADGIVER, 0, 0,
                                      "only a fagperson or a raadgiver opens a thread"},
        /*
         * Attachments (PROTOCOL.md 17.9): flow_thread.c limits each to the threads the user is in, or to the
         * underretning the caller may see (an underretning's: its notifier, its team's myndighed, leder, agent).
         */
        [FLOW_T_BLOB_BEGIN] = {THREAD_ROLES, 0, 0, "threads are for fagpersoner, raadgivere and ledere"},
        [FLOW_T_BLOB_PUT] = {THREAD_ROLES, 0, 0, "threads are for fagpersoner, raadgivere and ledere"},
        [FLOW_T_BLOB_GET] = {THREAD_ROLES | POL_MYNDIGHED | POL_AGENT, 0, 0, "not for this role"},
        /* The names of the municipality document (PROTOCOL.md 12.7): every device of a person or an agent. */
        [FLOW_T_DIRECTORY_GET] = {KEY_HOLDERS, 0, 0, "not for this role"},
};

int policy_request(enum flow_type t, const struct policy_actor *a, const char **why)
{
	const struct request_rule *r;

	*why = "this frame type is only sent by the server";
	if ((unsigned)t >= FLOW_T_COUNT_ || (r = &requests[t])->roles == 0)
		return VARSKO_ERR_PROTOCOL;
	*why = r->why;
	if ((a->role & r->roles) == 0 || (r->needs_team && a->team[0] == '\0'))
		return VARSKO_ERR_FORBIDDEN;
	*why = NULL;
	return VARSKO_OK;
}

int policy_sees(enum flow_type t, unsigned relation)
{
	return (unsigned)t < FLOW_T_COUNT_ && (requests[t].sees & relation) != 0;
}

/* ---- who may be a member of a thread (PROTOCOL.md 17.5) -------------------------- */

enum thread_rule {
	THREAD_BY_INSTITUTION = 1, /* the thread's institution is one of the user's (for a raadgiver: assigned to it) */
	THREAD_BY_RAADGIVER_TEAM,  /* the user's team is the team of a raadgiver who is a present member */
};

/* One row per role that may be a member; every other role (myndighed, agent, admin) never is. */
static const struct {
	unsigned role;
	enum thread_rule rule;
} thread_members[] = {
        {POL_FAGPERSON, THREAD_BY_INSTITUTION},
        {POL_RAADGIVER, THREAD_BY_INSTITUTION},
        {POL_LEDER, THREAD_BY_RAADGIVER_TEAM},
};

int policy_thread_member(const struct proto_cert *record, const char *role, const char *institution,
                         const char *const *raadgiver_teams, size_t n)
{
	unsigned bit;

	if (record == NULL || role == NULL || institution == NULL || strcmp(record->role, role) != 0)
		return 0;
	bit = policy_role_bit(role);
	for (size_t i = 0; i < sizeof(thread_members) / sizeof(thread_members[0]); i++) {
		if (thread_members[i].role != bit)
			continue;
		if (thread_members[i].rule == THREAD_BY_INSTITUTION) {
			for (size_t k = 0; k < record->n_institutions && k < PROTO_INST_MAX; k++)
				if (strcmp(record->institutions[k], institution) == 0)
					return 1;
			return 0;
		}
		for (size_t k = 0; k < n && record->team[0] != '\0'; k++)
			if (raadgiver_teams[k] != NULL && strcmp(raadgiver_teams[k], record->team) == 0)
				return 1;
		return 0;
	}
	return 0;
}

/* ---- events and the case's state machine (PROTOCOL.md 12.5) ---------------------- */

#define K(k) POLICY_KIND_BIT(FLOW_EV_##k)

/*
 * One row per kind: who signs it, what it carries, which deadline it
 * meets, and whether a closed case still takes it. The facts of delivery (leveret, modtaget,
 * journaliseret) and opening to read (aabnet) are recorded whatever the
 * case's state; the decisions (vurderet, kvitteret, tilbagemelding,
 * omdirigeret, afsluttet) only while it is open, in the order the team's
 * work takes. Nothing reopens a closed case: a new concern about the child
 * is a new underretning, and the same signed afsluttet sent again is a
 * duplicate.
 */
static const struct policy_event events[FLOW_EV_COUNT_] = {
        [FLOW_EV_LEVERET] = {POL_GATEWAY, NULL, POL_ENV_NONE, NULL, 1, 0},
        [FLOW_EV_MODTAGET] = {POL_AGENT, NULL, POL_ENV_NONE, NULL, 1, 0},
        [FLOW_EV_JOURNALISERET] = {POL_AGENT, NULL, POL_ENV_NONE, NULL, 1, 0},
        [FLOW_EV_AABNET] = {POL_MYNDIGHED | POL_LEDER, NULL, POL_ENV_NONE, NULL, 1, 1},
        [FLOW_EV_VURDERET] = {POL_MYNDIGHED, NULL, POL_ENV_NONE, "vurdering", 0, 0},
        [FLOW_EV_KVITTERET] = {POL_MYNDIGHED, "kvittering", POL_ENV_NOTIFIER, "kvittering", 0, 0},
        [FLOW_EV_TILBAGEMELDING] = {POL_MYNDIGHED, "tilbagemelding", POL_ENV_NOTIFIER, "tilbagemelding", 0, 0},
        [FLOW_EV_OMDIRIGERET] = {POL_MYNDIGHED, "underretning", POL_ENV_NEW_TEAM, NULL, 0, 0},
        [FLOW_EV_AFSLUTTET] = {POL_MYNDIGHED, NULL, POL_ENV_NONE, NULL, 0, 0},
};

const struct policy_event *policy_event_rule(enum flow_event_kind k)
{
	if ((unsigned)k >= FLOW_EV_COUNT_ || events[k].signers == 0)
		return NULL;
	return &events[k];
}

int policy_may_sign(enum flow_event_kind k, const struct policy_actor *signer, int is_gateway, unsigned relation)
{
	const struct policy_event *e = policy_event_rule(k);

	if (e == NULL)
		return VARSKO_ERR_FORBIDDEN;
	if (is_gateway)
		return (e->signers & POL_GATEWAY) ? VARSKO_OK : VARSKO_ERR_FORBIDDEN;
	/* Every other signer acts for the underretning's current team. */
	if (signer == NULL || (signer->role & e->signers) == 0 || !(relation & POL_REL_TEAM))
		return VARSKO_ERR_FORBIDDEN;
	return VARSKO_OK;
}

int policy_case_closed(unsigned seen)
{
	return (seen & K(AFSLUTTET)) != 0;
}

int policy_case_allows(enum flow_event_kind k, unsigned seen, const char **why)
{
	const struct policy_event *e = policy_event_rule(k);

	*why = NULL;
	if (e == NULL) {
		*why = "unknown event kind";
		return VARSKO_ERR_CASE_STATE;
	}
	if (policy_case_closed(seen) && !e->when_closed) {
		*why = "the underretning is closed (afsluttet)";
		return VARSKO_ERR_CASE_STATE;
	}
	return VARSKO_OK;
}
