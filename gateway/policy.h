/*
 * policy.h: who may do what in the underretning flow, and which event may
 * follow which (PROTOCOL.md 12.5 and 12.8). Every access rule of the flow is
 * a row of one of the tables in policy.c; the request handlers
 * (server_flow.c) and the event checks (flow_event.c) only ask.
 *
 * Pure: no I/O, no store. The caller loads the facts (the session's device
 * certificate, the user's current record, the underretning's team and
 * notifier, the kinds of event it has) and policy.c decides.
 */
#ifndef VARSKO_POLICY_H
#define VARSKO_POLICY_H

#include <stddef.h>

#include "flow.h"
#include "proto.h"

/* The roles of PROTOCOL.md 6, as bits (POL_GATEWAY: varskod's own key). */
enum policy_role {
	POL_FAGPERSON = 1u << 0,
	POL_MYNDIGHED = 1u << 1,
	POL_LEDER = 1u << 2,
	POL_RAADGIVER = 1u << 3,
	POL_AGENT = 1u << 4,
	POL_ADMIN = 1u << 5,
	POL_GATEWAY = 1u << 6,
};

/* The bit of a role name (0 for an unknown one: the roles are these and no others). */
unsigned policy_role_bit(const char *role);

/* The roles that belong to a team (a team is required), are on its roster and read its underretninger. */
#define POL_TEAM_ROLES (POL_MYNDIGHED | POL_LEDER | POL_AGENT)

/* 1 when role is one of POL_TEAM_ROLES. */
int policy_team_role(const char *role);

/*
 * The acting user: the device certificate checked against the user's
 * current record. Access follows the record: a certificate whose role or
 * team the record no longer has is not accepted (varskoctl import revokes
 * such devices; policy_actor() refuses them even when a database was
 * changed by hand). The institutions are those both the certificate and
 * the record list.
 */
struct policy_actor {
	char user[PROTO_ID_MAX + 1];
	char device[PROTO_ID_MAX + 1];
	char team[PROTO_ID_MAX + 1];
	unsigned role; /* one POL_* bit */
	size_t n_institutions;
	char institutions[PROTO_INST_MAX][PROTO_ID_MAX + 1];
};

/*
 * Build the actor from the device's certificate and its user's current
 * record (a proto_cert filled from the users table: user, role, team,
 * institutions). VARSKO_ERR_DEVICE_REVOKED when the record's role or team
 * differs from the certificate's, or the user differs.
 */
int policy_actor(const struct proto_cert *cert, const struct proto_cert *record, struct policy_actor *out);

/* 1 when the actor may act for institution id (route, submit). */
int policy_institution(const struct policy_actor *a, const char *id);

/* How the actor stands to an underretning. */
enum policy_relation {
	POL_REL_TEAM = 1u << 0,     /* the actor's team is the underretning's current team */
	POL_REL_NOTIFIER = 1u << 1, /* the actor is the user who sent it */
};

unsigned policy_relation(const struct policy_actor *a, const char *team, const char *sender_user);

/*
 * May the actor make request t at all (its role; a team where the request
 * needs one)? VARSKO_OK or VARSKO_ERR_FORBIDDEN with *why set to the
 * English refusal text.
 */
int policy_request(enum flow_type t, const struct policy_actor *a, const char **why);

/*
 * May the actor see the underretning in request t, given its relation?
 * 1 or 0 (0 answers not_found, like an unknown reference).
 */
int policy_sees(enum flow_type t, unsigned relation);

/*
 * May the user whose current record is `record` (users and
 * user_institutions as imported: role, team, institutions; a raadgiver's
 * institutions are those assigned to them) be a member of a thread of
 * `institution` with `role`, the role its link names (PROTOCOL.md 17.5)?
 * The role must be the record's; a fagperson or a raadgiver needs the
 * institution among the record's; a leder needs a team that is one of
 * raadgiver_teams[0..n), the teams of the raadgivere who are present
 * members. Nobody else (myndighed, agent, admin) ever is. 1 or 0.
 */
int policy_thread_member(const struct proto_cert *record, const char *role, const char *institution,
                         const char *const *raadgiver_teams, size_t n);

/* ---- events (PROTOCOL.md 12.5) ---- */

/* Who receives the envelope an event kind carries. */
enum policy_envelope_to {
	POL_ENV_NONE = 0,
	POL_ENV_NOTIFIER, /* the notifier's active devices */
	POL_ENV_NEW_TEAM, /* the roster of the event's new team */
};

struct policy_event {
	unsigned signers;     /* POL_* bits that may sign it */
	const char *envelope; /* the envelope kind it carries, NULL for none */
	enum policy_envelope_to to;
	const char *meets;   /* the deadline kind it meets, NULL for none */
	int when_closed;     /* 1: also accepted after afsluttet */
	int once_per_device; /* 1: a second one from the same device answers with the first */
};

/* The row of kind k, or NULL for FLOW_EV_NONE and out-of-range values. */
const struct policy_event *policy_event_rule(enum flow_event_kind k);

/* The bit of kind k in a "kinds seen" mask. */
#define POLICY_KIND_BIT(k) (1u << (unsigned)(k))

/*
 * May signer (its actor, or the gateway when is_gateway) sign kind k for an
 * underretning it has `relation` to? VARSKO_OK or VARSKO_ERR_FORBIDDEN.
 */
int policy_may_sign(enum flow_event_kind k, const struct policy_actor *signer, int is_gateway, unsigned relation);

/*
 * Does kind k fit an underretning whose stored events have the kinds in
 * `seen` (a mask of POLICY_KIND_BIT)? VARSKO_OK or VARSKO_ERR_CASE_STATE,
 * with *why set to the English reason.
 */
int policy_case_allows(enum flow_event_kind k, unsigned seen, const char **why);

/* 1 when the underretning with these kinds seen is closed (afsluttet). */
int policy_case_closed(unsigned seen);

#endif
