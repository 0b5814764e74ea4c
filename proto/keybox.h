/*
 * keybox.h: the key material of the key model (docs/KEYS.md; PROTOCOL.md
 * section 14 is the normative text): user-key and team-key generations,
 * the key box set that hands a generation to its readers, the recovery
 * code and recovery box, and the six-digit approval code of a new device.
 *
 *   generation   one 32-byte seed; crypto_kdf_derive_from_key with context
 *                "vskuser1" (user keys) or "vskteam1" (team keys) gives
 *                subkey 1 = Ed25519 signing seed (user keys only), 2 = X25519
 *                box seed (crypto_box_seed_keypair), 3 = the secretbox key
 *                that seals the previous generation's seed
 *   key box set  tag "varsko-keybox-v1": owner, generation, pub, prev_box,
 *                (recipient key id, crypto_box_seal(seed)) for each reader;
 *                Ed25519-signed by its creator
 *   recovery     26 base32 characters (128 bits) shown once; the seeds of
 *                every user-key generation under secretbox with an Argon2id
 *                key of the code
 *   approval     six digits from SHA-256 of both devices' keys and a nonce
 *
 * Pure code: no I/O, no clock, no globals, safe in any thread. Functions that
 * draw randomness (randombytes_buf, crypto_box_seal) take the random bytes
 * from the caller instead when given them, so the vectors are deterministic.
 * Pointers are borrowed for the call unless a comment says otherwise.
 * Functions return VARSKO_OK or a negative VARSKO_ERR_*; on failure nothing
 * secret is left in an output.
 */
#ifndef VARSKO_KEYBOX_H
#define VARSKO_KEYBOX_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define KEYBOX_SEED_LEN       32
#define KEYBOX_SEALED_LEN     80 /* crypto_box_seal of a seed: epk (32) + MAC (16) + seed (32) */
#define KEYBOX_PREV_BOX_LEN   48 /* secretbox of a seed: MAC (16) + seed (32) */
#define KEYBOX_RECIPIENTS_MAX 128
#define KEYBOX_OWNER_MAX      (5 + PROTO_ID_MAX)          /* "team:<id>" / "user:<id>" */
#define KEYBOX_KEYID_MAX      (5 + PROTO_ID_MAX + 1 + 19) /* "team:<id>:<generation>" */
#define KEYBOX_GEN_MAX        INT64_MAX                   /* generations count 1..2^63-1 */
#define KEYBOX_JSON_MAX       65536                       /* a key box set or recovery box as JSON */

#define KEYBOX_TAG_SET      "varsko-keybox-v1"
#define KEYBOX_TAG_PREV     "varsko-prevbox-v1"
#define KEYBOX_TAG_RECOVERY "varsko-recovery-v1"
#define KEYBOX_TAG_APPROVE  "varsko-approve-v1"
#define KEYBOX_TAG_APPROVE_COMMIT "varsko-approve-commit-v1"
#define KEYBOX_TAG_APPROVE_NONCE  "varsko-approve-nonce-v1"

#define KEYBOX_CTX_USER "vskuser1"
#define KEYBOX_CTX_TEAM "vskteam1"

/* ---- generations ------------------------------------------------------- */

enum keybox_kind {
	KEYBOX_NONE = 0,
	KEYBOX_USER = 1, /* a user key: signing, box and previous-generation keys */
	KEYBOX_TEAM = 2, /* a team key: box and previous-generation keys, no signing key */
};

/*
 * One generation's secret and derived keys. Always in sodium_malloc memory
 * (guarded, locked), made by keybox_gen_derive() or keybox_gen_new() and
 * released by keybox_gen_free(), which wipes it.
 */
struct keybox_gen {
	enum keybox_kind kind;
	uint64_t generation; /* 1..KEYBOX_GEN_MAX */
	uint8_t seed[KEYBOX_SEED_LEN];
	uint8_t sign_pk[PROTO_PK_LEN]; /* user keys only; zeros for a team key */
	uint8_t sign_sk[64];           /* libsodium form (seed || pk); zeros for a team key */
	uint8_t box_pk[PROTO_PK_LEN];  /* X25519 */
	uint8_t box_sk[32];
	uint8_t prev_key[32]; /* secretbox key of this generation's prev_box */
};

/*
 * Derive generation `generation` of a user or team key from seed (borrowed,
 * not kept). *out is owned by the caller: keybox_gen_free(). VARSKO_ERR_NOMEM,
 * or VARSKO_ERR_BAD_INPUT for an unknown kind or a generation out of range.
 */
int keybox_gen_derive(struct keybox_gen **out, enum keybox_kind kind, uint64_t generation,
                      const uint8_t seed[KEYBOX_SEED_LEN]) VARSKO_WUR;
/* As keybox_gen_derive() with a fresh random seed. */
int keybox_gen_new(struct keybox_gen **out, enum keybox_kind kind, uint64_t generation) VARSKO_WUR;
/* Wipes and frees. NULL-safe. */
void keybox_gen_free(struct keybox_gen *g);

/* ---- key ids ------------------------------------------------------------ */

/*
 * Owners are "team:<id>" and "user:<id>"; key ids name one generation,
 * "team:<id>:<g>" and "user:<id>:<g>" (g decimal, no leading zero, 1..2^63-1),
 * or a device, "device:<device id>"; <id> is an id (1..64 visible ASCII).
 * keybox_owner_kind() gives KEYBOX_USER, KEYBOX_TEAM or KEYBOX_NONE (not an
 * owner); keybox_keyid_valid() 1 or 0. keybox_key_id() writes owner's key id
 * of generation g: VARSKO_ERR_BAD_INPUT for a bad owner or generation.
 */
enum keybox_kind keybox_owner_kind(const char *owner);
int keybox_keyid_valid(const char *id);
int keybox_key_id(char out[KEYBOX_KEYID_MAX + 1], const char *owner, uint64_t generation) VARSKO_WUR;
/* "user:<user>": the owner of a user's key box sets (a user id, 1..PROTO_ID_MAX visible ASCII; else BAD_INPUT). */
int keybox_user_owner(char out[KEYBOX_OWNER_MAX + 1], const char *user) VARSKO_WUR;
/* "user:<user>:<generation>": the key id of a user key, as keybox_key_id() of keybox_user_owner(). */
int keybox_user_key_id(char out[KEYBOX_KEYID_MAX + 1], const char *user, uint64_t generation) VARSKO_WUR;

/* "team:<team>": the owner of a team's key box sets (as keybox_user_owner()). */
int keybox_team_owner(char out[KEYBOX_OWNER_MAX + 1], const char *team) VARSKO_WUR;
/*
 * Split a key id "user:<id>:<g>" or "team:<id>:<g>" into its owner and
 * generation; VARSKO_ERR_BAD_INPUT for anything else (a device key id too).
 */
int keybox_key_id_split(const char *id, char owner[KEYBOX_OWNER_MAX + 1], uint64_t *generation) VARSKO_WUR;

/* ---- key box set ------------------------------------------------------------ */

/* A reader of a generation: its key id and X25519 public key (from a verified chain). */
struct keybox_recipient {
	const char *id;
	uint8_t box_pk[PROTO_PK_LEN];
};

struct keybox_box {
	char recipient[KEYBOX_KEYID_MAX + 1];
	uint8_t sealed[KEYBOX_SEALED_LEN]; /* crypto_box_seal(seed, recipient's box_pk) */
};

/*
 * A key box set: generation `generation` of `owner`'s key, sealed to each
 * recipient (sorted by key id, bytewise, strictly ascending, 1..
 * KEYBOX_RECIPIENTS_MAX), with the previous generation's seed under this
 * generation's prev_key (present exactly when generation > 1), signed by
 * `signer`. Nothing in it is secret. About 22 KiB: allocate it.
 *
 * Signing input: enc(KEYBOX_TAG_SET, owner, u64 generation, pub,
 * prev_box (48 bytes or empty), u64 n, recipient_1, sealed_1, ...,
 * recipient_n, sealed_n).
 * JSON: {"boxes":[{"recipient":S,"sealed":B64}...],"generation":N,
 * "owner":S,"prev_box":B64 (absent for generation 1),"pub":B64,"sig":B64,
 * "signer":B64}
 */
struct keybox_set {
	char owner[KEYBOX_OWNER_MAX + 1];
	uint64_t generation;
	uint8_t pub[PROTO_PK_LEN]; /* the generation's X25519 public key */
	int has_prev;              /* 1 exactly when generation > 1 */
	uint8_t prev_box[KEYBOX_PREV_BOX_LEN];
	size_t n;
	struct keybox_box boxes[KEYBOX_RECIPIENTS_MAX];
	uint8_t signer[PROTO_PK_LEN]; /* Ed25519 key of the creator */
	uint8_t sig[PROTO_SIG_LEN];
};

/*
 * The nonce of a prev_box: the first 24 bytes of
 * SHA-256(enc(KEYBOX_TAG_PREV, owner, u64 generation)), where generation is
 * the box set's (the newer) generation. Each prev_key seals exactly one
 * message, so a nonce derived from the set is safe; it is never sent.
 */
int keybox_prev_nonce(uint8_t out[24], const char *owner, uint64_t generation) VARSKO_WUR;

/*
 * Make the box set of generation g (g->kind must match owner's kind), with
 * prev (generation g->generation - 1, same kind) sealed in prev_box, or prev
 * NULL for generation 1. Seals g's seed to each of rcpts[0..n) and signs with
 * signer_sk (64-byte Ed25519, borrowed). eph_sks NULL: crypto_box_seal with
 * fresh ephemeral keys; otherwise n * 32 bytes, the X25519 ephemeral secret
 * key of rcpts[i] at eph_sks + 32 * i (for test vectors: the result is then
 * deterministic and opens with crypto_box_seal_open). VARSKO_ERR_BAD_INPUT
 * (bad owner, kinds or generations, a bad or repeated key id, n == 0),
 * VARSKO_ERR_TOO_LARGE (n > KEYBOX_RECIPIENTS_MAX), VARSKO_ERR_CRYPTO (a
 * recipient key of low order). *out is zeroed on failure.
 */
int keybox_set_make(struct keybox_set *out, const char *owner, const struct keybox_gen *g,
                    const struct keybox_gen *prev, const struct keybox_recipient *rcpts, size_t n,
                    const uint8_t signer_sk[64], const uint8_t *eph_sks) VARSKO_WUR;

/* Appends the signing input to b (initialised and freed by the caller); returns b->err (BAD_INPUT if malformed). */
int keybox_set_signing_input(const struct keybox_set *s, struct proto_buf *b) VARSKO_WUR;

/*
 * Check s's signature with its signer; with signer_pk not NULL, the signer
 * must also be that key. VARSKO_OK or VARSKO_ERR_BAD_SIGNATURE (also for a
 * malformed set). Whether the signer may make the set (a member, a device of
 * the user) is the caller's to check against the chains.
 */
int keybox_set_verify(const struct keybox_set *s, const uint8_t signer_pk[PROTO_PK_LEN]) VARSKO_WUR;

/*
 * A set whose generation is not after `known` (the last generation of the
 * owner the caller has accepted; 0 for none) is VARSKO_ERR_STALE_KEY.
 */
int keybox_set_check_newer(const struct keybox_set *s, uint64_t known) VARSKO_WUR;

/*
 * Open the box of `recipient` with its X25519 key pair (borrowed) and derive
 * the generation (kind from the owner). VARSKO_ERR_NOT_FOUND (no box for that
 * key id), VARSKO_ERR_CRYPTO (the box does not open, or the seed's box key is
 * not s->pub), VARSKO_ERR_BAD_INPUT (malformed set), VARSKO_ERR_NOMEM. *out
 * owned by the caller (keybox_gen_free), NULL on failure. Does not check the
 * signature: verify first.
 */
int keybox_set_open(const struct keybox_set *s, const char *recipient, const uint8_t box_pk[PROTO_PK_LEN],
                    const uint8_t box_sk[32], struct keybox_gen **out) VARSKO_WUR;

/*
 * Walk back from `top` (generation g) through the box sets of generations
 * 1..g: sets[i] is the set of generation i + 1 (n == g), all of the same
 * owner, sets[g - 1].pub the box key of top. Opens each prev_box and checks
 * that the seed it holds derives the pub of the set before. out[0..g-1)
 * receive generations 1..g-1, owned by the caller (keybox_gen_free each).
 * VARSKO_ERR_BAD_INPUT (wrong number, order or owner of sets, or top not of
 * them), VARSKO_ERR_CRYPTO (a prev_box that does not open or a seed that does
 * not match), VARSKO_ERR_NOMEM; on failure out[] is all NULL.
 */
int keybox_walk_back(const struct keybox_gen *top, const struct keybox_set *const *sets, size_t n,
                     struct keybox_gen **out) VARSKO_WUR;

/*
 * JSON text of s (compact, keys sorted): *out owned by the caller (free()),
 * *len without the NUL (len may be NULL). VARSKO_ERR_BAD_INPUT for a set
 * that would not parse back.
 */
/*
 * How a team key set fits the team's current members (PROTOCOL.md 16.6):
 * users[i], i < n, are the members and gens[i] the generation of each one's
 * current user key. KEYBOX_FIT_STALE when a box is for anyone but a member's
 * current user key (a member removed, a user key rotated): the generation
 * must not be sealed to and the next one is due; else KEYBOX_FIT_MISSING
 * when a member has no box (the set is put again with it); else
 * KEYBOX_FIT_OK.
 */
enum keybox_fit { KEYBOX_FIT_OK = 0, KEYBOX_FIT_MISSING, KEYBOX_FIT_STALE };
enum keybox_fit keybox_team_fit(const struct keybox_set *s, const char *const *users, const uint64_t *gens, size_t n);

int keybox_set_to_json(const struct keybox_set *s, char **out, size_t *len) VARSKO_WUR;
/*
 * Strict parse of buf[0..len) (borrowed; need not be NUL-terminated); does
 * not verify. VARSKO_OK, VARSKO_ERR_TOO_LARGE (len > KEYBOX_JSON_MAX),
 * VARSKO_ERR_BAD_JSON, VARSKO_ERR_DUPLICATE_KEY or VARSKO_ERR_BAD_FRAME;
 * *out zeroed on failure.
 */
int keybox_set_from_json(const char *buf, size_t len, struct keybox_set *out) VARSKO_WUR;

/* ---- recovery code ------------------------------------------------------------ */

#define KEYBOX_CODE_LEN       16 /* 128 random bits */
#define KEYBOX_CODE_CHARS     26 /* base32 characters */
#define KEYBOX_CODE_TEXT_LEN  31 /* "XXXXX-XXXXX-XXXXX-XXXXX-XXXXX-X" */
#define KEYBOX_CODE_INPUT_MAX 256

/* Fresh random code bytes. */
void keybox_code_new(uint8_t code[KEYBOX_CODE_LEN]);
/* The shown form: RFC 4648 base32 (upper case, no padding) in groups of 5 joined by '-'. */
void keybox_code_format(const uint8_t code[KEYBOX_CODE_LEN], char out[KEYBOX_CODE_TEXT_LEN + 1]);
/*
 * The typed form back to bytes: base32 letters of either case, with spaces
 * and '-' anywhere, exactly 26 letters whose 2 unused trailing bits are 0,
 * at most KEYBOX_CODE_INPUT_MAX bytes. VARSKO_ERR_BAD_INPUT otherwise (code
 * zeroed).
 */
int keybox_code_parse(const char *s, size_t len, uint8_t code[KEYBOX_CODE_LEN]) VARSKO_WUR;

/* ---- recovery box ----------------------------------------------------------------- */

#define KEYBOX_SALT_LEN         16
#define KEYBOX_BOX_NONCE_LEN    24
#define KEYBOX_RECOVERY_GEN_MAX 256 /* user-key generations in one recovery box */
#define KEYBOX_RECOVERY_BOX_MAX (16 + 4 + 18 + 4 + PROTO_ID_MAX + 12 + KEYBOX_RECOVERY_GEN_MAX * 36)

/*
 * The seeds of user-key generations 1..n under secretbox(key =
 * crypto_pwhash Argon2id13(32 bytes, code bytes, salt, opslimit, memlimit)).
 * Plaintext: enc(KEYBOX_TAG_RECOVERY, user, u64 n, seed_1, ..., seed_n).
 * JSON: {"box":B64,"memlimit":N,"nonce":B64,"opslimit":N,"salt":B64,"user":S}.
 * box is owned by the struct: keybox_recovery_clear().
 */
struct keybox_recovery {
	char user[PROTO_ID_MAX + 1];
	uint8_t salt[KEYBOX_SALT_LEN];
	uint64_t opslimit;
	uint64_t memlimit;
	uint8_t nonce[KEYBOX_BOX_NONCE_LEN];
	uint8_t *box; /* malloc'ed */
	size_t box_len;
};

/* Frees box and zeroes the struct. NULL-safe. */
void keybox_recovery_clear(struct keybox_recovery *r);

/*
 * Seal gens[0..n) (user keys of generations 1..n, in order) for `user` under
 * the code. opslimit and memlimit must lie within
 * [crypto_pwhash_OPSLIMIT_MIN..MODERATE] and [crypto_pwhash_MEMLIMIT_MIN..
 * MODERATE] (the product uses INTERACTIVE). salt and nonce NULL: random;
 * else the caller's (for vectors). Blocks for the Argon2id time: never call
 * it on an event loop. VARSKO_ERR_BAD_INPUT, VARSKO_ERR_TOO_LARGE (n >
 * KEYBOX_RECOVERY_GEN_MAX), VARSKO_ERR_NOMEM. *out zeroed on failure,
 * else keybox_recovery_clear() it.
 */
int keybox_recovery_make(struct keybox_recovery *out, const char *user, const uint8_t code[KEYBOX_CODE_LEN],
                         const struct keybox_gen *const *gens, size_t n, uint64_t opslimit, uint64_t memlimit,
                         const uint8_t *salt, const uint8_t *nonce) VARSKO_WUR;

/*
 * Open r with the code: out[0..*n) get user-key generations 1..*n (owned by
 * the caller, keybox_gen_free each; cap is the room in out). Limits outside
 * the maker's ranges are VARSKO_ERR_BAD_INPUT before any work, so a server
 * cannot make a client burn memory; a wrong code or a tampered box is
 * VARSKO_ERR_CRYPTO; more generations than cap VARSKO_ERR_TOO_LARGE;
 * VARSKO_ERR_NOMEM. On failure *n is 0 and out[] untouched. Blocks for the
 * Argon2id time. The caller then checks the last generation's keys against
 * the user chain.
 */
int keybox_recovery_open(const struct keybox_recovery *r, const uint8_t code[KEYBOX_CODE_LEN], struct keybox_gen **out,
                         size_t cap, size_t *n) VARSKO_WUR;

/* JSON as for the key box set: to_json BAD_INPUT for what would not parse; from_json strict (r zeroed on failure). */
int keybox_recovery_to_json(const struct keybox_recovery *r, char **out, size_t *len) VARSKO_WUR;
int keybox_recovery_from_json(const char *buf, size_t len, struct keybox_recovery *out) VARSKO_WUR;

/* ---- approval code ------------------------------------------------------------------ */

#define KEYBOX_APPROVAL_DIGITS 6

/* Appends enc(KEYBOX_TAG_APPROVE, nonce, old_sign_pk, new_sign_pk, new_box_pk) to b; returns b->err. */
int keybox_approval_input(struct proto_buf *b, const uint8_t nonce[PROTO_NONCE_LEN],
                          const uint8_t old_sign_pk[PROTO_PK_LEN], const uint8_t new_sign_pk[PROTO_PK_LEN],
                          const uint8_t new_box_pk[PROTO_PK_LEN]) VARSKO_WUR;
/*
 * The code both devices show: v = the first 20 bits of SHA-256 of the input
 * above (big-endian), written as the six decimal digits of v mod 1000000.
 */
int keybox_approval_code(char out[KEYBOX_APPROVAL_DIGITS + 1], const uint8_t nonce[PROTO_NONCE_LEN],
                         const uint8_t old_sign_pk[PROTO_PK_LEN], const uint8_t new_sign_pk[PROTO_PK_LEN],
                         const uint8_t new_box_pk[PROTO_PK_LEN]) VARSKO_WUR;
/*
 * Compare two codes in constant time: VARSKO_OK when equal,
 * VARSKO_ERR_APPROVAL_FAILED when not, VARSKO_ERR_BAD_INPUT when either is
 * not exactly six decimal digits.
 */
int keybox_approval_equal(const char *a, const char *b) VARSKO_WUR;

/*
 * The exchange that carries the code (PROTOCOL.md 15.7): the new device's
 * commitment H(enc(KEYBOX_TAG_APPROVE_COMMIT, n_new, new sign_pk, new
 * box_pk)) and the code's nonce H(enc(KEYBOX_TAG_APPROVE_NONCE, n_old,
 * n_new)), H = SHA-256. VARSKO_ERR_BAD_INPUT for a NULL argument.
 */
int keybox_approval_commit(uint8_t out[32], const uint8_t n_new[32], const uint8_t new_sign_pk[PROTO_PK_LEN],
                           const uint8_t new_box_pk[PROTO_PK_LEN]) VARSKO_WUR;
int keybox_approval_nonce(uint8_t out[PROTO_NONCE_LEN], const uint8_t n_old[32], const uint8_t n_new[32]) VARSKO_WUR;

#endif
