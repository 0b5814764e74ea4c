/*
 * chain.h: the hash-linked signed chains of the key model (docs/KEYS.md
 * "Chains"; PROTOCOL.md section 13 is the normative text). Four kinds:
 *
 *   org chain     root: the organisation root key (offline). Admins, the
 *                 enrollment keys varskod may use, the gateway key.
 *   user chain    one per user, root: the user's first device. The user key
 *                 generations and the devices the user key cross-signed.
 *   team chain    one per team, root: an admin. The members, their roles and
 *                 pinned user keys, and which of them are leders.
 *   thread chain  one per consultation thread (docs/THREADS.md), root: the
 *                 creator's user key. The institution, whether the thread is
 *                 anonymous, and the members with their roles and pinned
 *                 user keys, present or departed. Who may be a member is
 *                 not this layer's question (struct chain_thread_state).
 *
 * A link carries seq (1, 2, ...) and prev = SHA-256 of the previous link's
 * signing input (32 zero bytes for seq 1); its hash is SHA-256 of its own
 * signing input. The signatures are not part of the signing input nor of
 * the hash. A verifier keeps a state per chain (the last seq and hash plus
 * what the chain says so far) and extends it link by link; a link that
 * does not extend it is refused and the state is left as it was.
 *
 * Pure code (no I/O, no clock, no globals), safe in any thread. Pointers
 * are borrowed for the call. Functions return VARSKO_OK or a negative
 * VARSKO_ERR_*.
 */
#ifndef VARSKO_CHAIN_H
#define VARSKO_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "proto.h"

#define CHAIN_TAG_ORG    "varsko-orglink-v1"
#define CHAIN_TAG_USER   "varsko-userlink-v1"
#define CHAIN_TAG_TEAM   "varsko-teamlink-v1"
#define CHAIN_TAG_THREAD "varsko-threadlink-v1"

#define CHAIN_HASH_LEN      32
#define CHAIN_SIGS_MAX      2    /* uk_rotate: the previous user key and a device */
#define CHAIN_ADMINS_MAX    64   /* admins in the org state */
#define CHAIN_ENROLL_MAX    16   /* enrollment keys in the org state */
#define CHAIN_DEVICES_MAX   64   /* devices of one user, revoked ones included */
#define CHAIN_MEMBERS_MAX   64   /* members of one team; users ever added to one thread */
#define CHAIN_LINK_JSON_MAX 4096 /* the JSON text of one link (a canonical one is under 1 KiB) */

enum chain_kind {
	CHAIN_KIND_NONE = 0,
	CHAIN_KIND_ORG,
	CHAIN_KIND_USER,
	CHAIN_KIND_TEAM,
	CHAIN_KIND_THREAD,
};

/*
 * The ops of all four kinds; an op belongs to exactly one kind
 * (chain_op_kind()), so the thread chain's ops have wire names of their own
 * ("thread_member_add", not the team chain's "member_add").
 */
enum chain_op {
	CHAIN_OP_NONE = 0,
	/* org */
	CHAIN_OP_ADMIN_ADD,
	CHAIN_OP_ADMIN_REMOVE,
	CHAIN_OP_ENROLL_KEY,
	CHAIN_OP_GATEWAY_KEY,
	/* user */
	CHAIN_OP_UK_CREATE,
	CHAIN_OP_DEVICE_ADD,
	CHAIN_OP_DEVICE_REVOKE,
	CHAIN_OP_UK_ROTATE,
	/* team */
	CHAIN_OP_TEAM_CREATE,
	CHAIN_OP_MEMBER_ADD,
	CHAIN_OP_MEMBER_REMOVE,
	CHAIN_OP_LEDER_ADD,
	CHAIN_OP_LEDER_REMOVE,
	/* thread */
	CHAIN_OP_THREAD_CREATE,
	CHAIN_OP_THREAD_MEMBER_ADD,
	CHAIN_OP_THREAD_MEMBER_REMOVE,
	CHAIN_OP_THREAD_MEMBER_LEAVE,
	CHAIN_OP_COUNT_
};

/*
 * A member's role (the role of the user's certificates). A team member is
 * myndighed, leder or agent; a thread member fagperson, raadgiver or leder
 * (chain_role_of_kind()).
 */
enum chain_role {
	CHAIN_ROLE_NONE = 0,
	CHAIN_ROLE_MYNDIGHED,
	CHAIN_ROLE_LEDER,
	CHAIN_ROLE_AGENT,
	CHAIN_ROLE_FAGPERSON,
	CHAIN_ROLE_RAADGIVER,
	CHAIN_ROLE_COUNT_
};

/* Wire names ("admin_add", "myndighed") or NULL; and back (..._NONE when unknown). */
const char *chain_op_name(enum chain_op op);
enum chain_op chain_op_from_name(const char *s);
const char *chain_role_name(enum chain_role r);
/* The kind an op belongs to; CHAIN_KIND_NONE for an unknown op. */
enum chain_kind chain_op_kind(enum chain_op op);
/* 1 when r is a role a member of a chain of kind k may have (team or thread), else 0. */
int chain_role_of_kind(enum chain_role r, enum chain_kind k);

/* One signature of a link: the signer's Ed25519 public key and its signature over the signing input. */
struct chain_sig {
	uint8_t pk[PROTO_PK_LEN];
	uint8_t sig[PROTO_SIG_LEN];
};

/*
 * One link of any kind. Which fields an op uses (all others are zero, ""
 * or CHAIN_ROLE_NONE, and chain_link_well_formed() insists on it):
 *
 *   kind    op                    chain      fields
 *   org     admin_add             ""         user, pk (the admin's user key), generation (its generation)
 *   org     admin_remove          ""         user
 *   org     enroll_key            ""         pk, not_after
 *   org     gateway_key           ""         pk
 *   user    uk_create             user id    device, device_sign_pk, device_box_pk, generation (1), uk_sign_pk,
 *                                            uk_box_pk
 *   user    device_add            user id    device, device_sign_pk, device_box_pk
 *   user    device_revoke         user id    device
 *   user    uk_rotate             user id    generation, uk_sign_pk, uk_box_pk
 *   team    team_create           team id    user, role (always leder), generation, uk_sign_pk (the first leder)
 *   team    member_add            team id    user, role (myndighed, leder, agent), generation, uk_sign_pk
 *   team    member_remove         team id    user
 *   team    leder_add             team id    user
 *   team    leder_remove          team id    user
 *   thread  thread_create         thread id  institution, anonymous (0 or 1), user, role (fagperson or
 *                                            raadgiver), generation, uk_sign_pk (the creator)
 *   thread  thread_member_add     thread id  user, role (fagperson, raadgiver, leder), generation, uk_sign_pk
 *   thread  thread_member_remove  thread id  user
 *   thread  thread_member_leave   thread id  user (the member who leaves)
 *
 * A thread id is thread.h's ("T-" + 26 base32 characters, canonical); a
 * thread link with another chain id is not well-formed.
 * kind always equals chain_op_kind(op). n_sigs is 2 for uk_rotate (sigs[0]
 * by the previous user key, sigs[1] by a device of the user) and 1 for
 * every other op.
 */
struct chain_link {
	enum chain_kind kind;
	char chain[PROTO_ID_MAX +
	           1]; /* user id (user chain), team id (team chain), thread id (thread chain), "" (org) */
	uint64_t seq;  /* 1, 2, ... */
	uint8_t prev[CHAIN_HASH_LEN]; /* hash of link seq - 1; zeros for seq 1 */
	enum chain_op op;
	char user[PROTO_ID_MAX + 1];   /* org: the admin; team, thread: the member */
	char device[PROTO_ID_MAX + 1]; /* user chain: the device id (proto_device_id(device_sign_pk)) */
	uint8_t device_sign_pk[PROTO_PK_LEN];
	uint8_t device_box_pk[PROTO_PK_LEN];
	uint8_t pk[PROTO_PK_LEN]; /* org: admin's user key, enrollment key or gateway key */
	uint64_t generation;      /* user key generation (org admin_add, user chain, team member) */
	int64_t not_after;        /* org enroll_key: last second the key may be used */
	uint8_t uk_sign_pk[PROTO_PK_LEN];
	uint8_t uk_box_pk[PROTO_PK_LEN];
	enum chain_role role;
	char institution[PROTO_ID_MAX + 1]; /* thread_create: the institution the thread belongs to */
	int anonymous;                      /* thread_create: 1 for "anonym sparring", else 0 */
	int64_t time; /* Unix seconds, UTC: when the link was made (not checked against any clock) */
	size_t n_sigs;
	struct chain_sig sigs[CHAIN_SIGS_MAX];
};

/* 1 when l is complete and consistent as the table above says (signatures counted, not checked), else 0. */
int chain_link_well_formed(const struct chain_link *l);

/*
 * Signing input (PROTOCOL.md 13.3), appended to b (initialised and freed
 * by the caller); returns b->err. VARSKO_ERR_BAD_INPUT for a link that is
 * not well-formed apart from its signatures.
 */
int chain_link_signing_input(const struct chain_link *l, struct proto_buf *b) VARSKO_WUR;
/* SHA-256 of the signing input: the link's hash, the next link's prev. */
int chain_link_hash(const struct chain_link *l, uint8_t out[CHAIN_HASH_LEN]) VARSKO_WUR;

/*
 * JSON (PROTOCOL.md 13.2): compact, sorted keys, exactly the members of the
 * link's op. to_json: *out a new reference owned by the caller
 * (json_decref), VARSKO_ERR_BAD_INPUT for a link that is not well-formed.
 * from_json: strict parse of a borrowed object, no signature check; *out
 * zeroed on failure (VARSKO_ERR_BAD_FRAME). The text forms add the loader:
 * to_text's *out is owned by the caller (free()), NUL-terminated, *len
 * without the NUL; from_text refuses more than CHAIN_LINK_JSON_MAX bytes
 * (VARSKO_ERR_TOO_LARGE), malformed JSON or anything but one object
 * (VARSKO_ERR_BAD_JSON), a duplicate key (VARSKO_ERR_DUPLICATE_KEY) and
 * everything from_json refuses (VARSKO_ERR_BAD_FRAME).
 */
int chain_link_to_json(const struct chain_link *l, json_t **out) VARSKO_WUR;
int chain_link_from_json(const json_t *j, struct chain_link *out) VARSKO_WUR;
int chain_link_to_text(const struct chain_link *l, char **out, size_t *len) VARSKO_WUR;
int chain_link_from_text(const char *buf, size_t len, struct chain_link *out) VARSKO_WUR;

/* ---- verifier states ------------------------------------------------------ */

/* Where a chain stands: the last verified seq (0 for an empty chain) and that link's hash (zeros when empty). */
struct chain_head {
	uint64_t seq;
	uint8_t hash[CHAIN_HASH_LEN];
};

struct chain_admin {
	char user[PROTO_ID_MAX + 1];
	uint8_t uk_sign_pk[PROTO_PK_LEN]; /* pinned by admin_add */
	uint64_t uk_generation;
};

struct chain_enroll_key {
	uint8_t pk[PROTO_PK_LEN];
	int64_t not_after; /* the caller compares it with its clock */
};

struct chain_org_state {
	struct chain_head head;
	size_t n_admins;
	struct chain_admin admins[CHAIN_ADMINS_MAX];
	size_t n_enroll;
	struct chain_enroll_key enroll[CHAIN_ENROLL_MAX]; /* in the order first named */
	int has_gateway;
	uint8_t gateway_pk[PROTO_PK_LEN];
};

struct chain_device {
	char device[PROTO_ID_MAX + 1];
	uint8_t sign_pk[PROTO_PK_LEN];
	uint8_t box_pk[PROTO_PK_LEN];
	int revoked; /* 0 or 1; a revoked device stays listed and can never be added again */
};

struct chain_user_state {
	struct chain_head head;
	char user[PROTO_ID_MAX + 1];
	uint64_t generation; /* the current user key: 0 before uk_create */
	uint8_t uk_sign_pk[PROTO_PK_LEN];
	uint8_t uk_box_pk[PROTO_PK_LEN];
	size_t n_devices;
	struct chain_device devices[CHAIN_DEVICES_MAX]; /* in the order added, the uk_create device first */
};

struct chain_member {
	char user[PROTO_ID_MAX + 1];
	enum chain_role role;
	uint8_t uk_sign_pk[PROTO_PK_LEN]; /* pinned by team_create / member_add */
	uint64_t uk_generation;
	int leder; /* 1 when the member may change the team chain */
};

struct chain_team_state {
	struct chain_head head;
	char team[PROTO_ID_MAX + 1];
	size_t n_members;
	struct chain_member members[CHAIN_MEMBERS_MAX]; /* in the order added */
};

/*
 * A user who is or was a member of a thread. One entry per user: a user
 * who is added again after leaving or being removed gets the same entry
 * back with the new role, pin and `added`, and `removed` set to 0.
 */
struct chain_thread_member {
	char user[PROTO_ID_MAX + 1];
	enum chain_role role;             /* fagperson, raadgiver or leder */
	uint8_t uk_sign_pk[PROTO_PK_LEN]; /* pinned by thread_create / thread_member_add */
	uint64_t uk_generation;
	uint64_t added;   /* the version (seq) of the link that made the user a member, the last time */
	uint64_t removed; /* the version of the link that removed the user or that the user left with; 0: a member */
};

/*
 * What a thread chain says. head.seq is the membership version (the seq of
 * the last link). Who may be a member (a certificate that lists the
 * institution, a leder of a rådgiver member's team) is not checked here:
 * the gateway checks it against the municipality document and every client
 * against certificates and user chains, as for the pins (docs/THREADS.md).
 */
struct chain_thread_state {
	struct chain_head head;
	char thread[PROTO_ID_MAX + 1];
	char institution[PROTO_ID_MAX + 1];                    /* from thread_create; never changes */
	int anonymous;                                         /* from thread_create; never changes */
	char creator[PROTO_ID_MAX + 1];                        /* the user of thread_create */
	size_t n_members;                                      /* entries, present and departed */
	struct chain_thread_member members[CHAIN_MEMBERS_MAX]; /* in the order first added, the creator first */
};

/*
 * Extend a verified state by one link. Checks, in this order, and the
 * error of each (PROTOCOL.md 13.5):
 *   1. the link is well-formed and of the state's kind; its chain id is the
 *      state's (the first link's sets it, unless the caller set the id in
 *      the empty state to pin it): else VARSKO_ERR_BAD_CHAIN;
 *   2. seq is the state's seq + 1 and prev the state's hash (zeros for
 *      seq 1): else VARSKO_ERR_BAD_CHAIN (a broken link, a skip, a fork);
 *   3. every signature verifies with the key it names: else
 *      VARSKO_ERR_BAD_SIGNATURE;
 *   4. the signers are the ones the op needs (below);
 *   5. the op makes sense in the state: else VARSKO_ERR_BAD_CHAIN, or
 *      VARSKO_ERR_TOO_LARGE past a CHAIN_*_MAX.
 * On success the state includes the link; on any failure *s is unchanged.
 */

/*
 * Org chain: every link is signed by root_pk (else
 * VARSKO_ERR_BAD_SIGNATURE). admin_add of an admin already listed,
 * admin_remove of one not listed: VARSKO_ERR_BAD_CHAIN. enroll_key of a key
 * already listed sets its not_after (a time in the past retires it).
 * gateway_key replaces the gateway key.
 */
int chain_org_extend(struct chain_org_state *s, const struct chain_link *l,
                     const uint8_t root_pk[PROTO_PK_LEN]) VARSKO_WUR;

/*
 * User chain. Link 1, and only link 1, is uk_create, generation 1, signed
 * by the device it names (device_sign_pk), which becomes the user's first
 * device. The caller must check that device's certificate against an
 * enrollment key of the org chain (and its user against the chain id):
 * this function cannot, it sees no certificate. device_add is signed by the
 * current user key (it too names a device's id and keys, not its
 * certificate, which the caller checks the same way); device_revoke by the current user key or the user key
 * of an admin of `org` (NULL: no admins); uk_rotate by the current user key
 * (sigs[0]) and a non-revoked device of the user (sigs[1]), with generation
 * exactly the current one + 1. A wrong signer is VARSKO_ERR_BAD_SIGNATURE,
 * except a revoked device signing uk_rotate (VARSKO_ERR_DEVICE_REVOKED).
 * A device id that is not proto_device_id() of its sign_pk, a device (id or
 * key) added twice, a revoke of an unknown or revoked device, a generation
 * that does not step by one: VARSKO_ERR_BAD_CHAIN.
 */
int chain_user_extend(struct chain_user_state *s, const struct chain_link *l,
                      const struct chain_org_state *org) VARSKO_WUR;

/*
 * Team chain. Link 1, and only link 1, is team_create, signed by the user
 * key of an admin of `org` (NULL: no admins); the user it names becomes the
 * first member and leder. Every later link is signed by the pinned user key
 * of a current leder of the team or the user key of an admin; a signer who
 * is a member but neither is VARSKO_ERR_FORBIDDEN, one who is neither member
 * nor admin VARSKO_ERR_NOT_MEMBER (team_create by a non-admin too).
 * member_add of a member, member_remove / leder_add of a non-member,
 * leder_add of a leder, leder_remove of a non-leder, and removing the last
 * leder (member_remove or leder_remove): VARSKO_ERR_BAD_CHAIN. leder_add
 * gives an existing member the leder's rights, whatever its role.
 */
int chain_team_extend(struct chain_team_state *s, const struct chain_link *l,
                      const struct chain_org_state *org) VARSKO_WUR;

/*
 * Thread chain. Link 1, and only link 1, is thread_create, signed by the
 * user key it pins for its user (the creator), who becomes the first
 * member; anything else signs it: VARSKO_ERR_BAD_SIGNATURE (as uk_create,
 * the root names its own key). Every later link is signed by the pinned
 * user key of a present member, else VARSKO_ERR_NOT_MEMBER (also a member
 * who left or was removed); and by the right one, else
 * VARSKO_ERR_FORBIDDEN:
 *   thread_member_add, thread_member_remove: the creator (while a member)
 *     or a member with the role raadgiver;
 *   thread_member_leave: the member the link names.
 * thread_member_add of a present member or with a user key pinned for
 * another user (present or departed), thread_member_remove of a user who is
 * not a present member or of the signer itself (a member leaves with
 * thread_member_leave): VARSKO_ERR_BAD_CHAIN. A user who left or was
 * removed may be added again. A thread has at most CHAIN_MEMBERS_MAX
 * users over its life (departed ones count): one more is
 * VARSKO_ERR_TOO_LARGE. The last member may leave; nobody can sign a link
 * of that thread afterwards.
 */
int chain_thread_extend(struct chain_thread_state *s, const struct chain_link *l) VARSKO_WUR;

/* The entry of user in s (a member or a departed one), or NULL. Borrowed from s. */
const struct chain_thread_member *chain_thread_member(const struct chain_thread_state *s, const char *user);

/*
 * Verify links[0..n) from an empty state (a chain from its root) into *out.
 * user / team / thread (may be NULL) pins the chain id. On failure *out is the state
 * after the last link that verified and *bad (may be NULL) the index of the
 * refused link; on success *bad is n.
 */
int chain_org_verify(const struct chain_link *links, size_t n, const uint8_t root_pk[PROTO_PK_LEN],
                     struct chain_org_state *out, size_t *bad) VARSKO_WUR;
int chain_user_verify(const struct chain_link *links, size_t n, const char *user, const struct chain_org_state *org,
                      struct chain_user_state *out, size_t *bad) VARSKO_WUR;
int chain_team_verify(const struct chain_link *links, size_t n, const char *team, const struct chain_org_state *org,
                      struct chain_team_state *out, size_t *bad) VARSKO_WUR;
int chain_thread_verify(const struct chain_link *links, size_t n, const char *thread, struct chain_thread_state *out,
                        size_t *bad) VARSKO_WUR;

/* ---- making links ------------------------------------------------------------ */

/*
 * For a client that makes a link: set l->seq and l->prev to follow head
 * (the head member of the chain's state) and drop any signatures. Fill the
 * op's fields first or after; sign last.
 */
void chain_link_follow(struct chain_link *l, const struct chain_head *head);

/*
 * Append one signature by sk (libsodium's 64-byte Ed25519 secret key,
 * borrowed; its public half is the signature's pk) over l's signing input.
 * uk_rotate is signed twice: first with the current user key, then with
 * the device's key. VARSKO_ERR_BAD_INPUT when l is not well-formed apart
 * from its signatures or already has all of them; nothing is signed then.
 */
int chain_link_sign(struct chain_link *l, const uint8_t sk[64]) VARSKO_WUR;

#endif
