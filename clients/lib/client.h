/*
 * client.h: internal surface shared by the libvarsko modules. Nothing here is
 * exported from the shared library (-fvisibility=hidden and the version
 * script); the unit test links the static core to reach it.
 *
 *   home.c    the home directory: files, modes, atomic writes
 *   keys.c    the device's secret keys (sodium_malloc) and their file format
 *   wsc.c     a synchronous WebSocket client over libwebsockets
 *   enroll.c  varsko_enroll() and the check of an `enrolled` answer
 *   conn.c    varsko_connect(), varsko_whoami(), varsko_close()
 *   request.c requests with ids over a session, the queue of pushes, varsko_watch()
 *   text.c    plaintext through JSON: jansson's wiping allocator, message texts
 *   submit.c  the document check, submission ids, rosters, varsko_underret_send()
 *   receipt.c receipts: verify, save, varsko_receipt_verify_file()
 *   status.c  the verified timeline (varsko_status)
 *   caseworker.c the authority's side: list, open, events, re-routing, overview
 *   misc.c    errors, version, identity helpers
 *   userkey.c the user key on the wire: the user chain, key box sets, recovery
 *   approve.c approving a new device from an existing one (both sides)
 *   team.c    the org chain from the pinned root, team chains and their changes
 *   teamkey.c team key sets: the key a sender seals to, opening it, keeping it fit
 *   threadchain.c consultation threads' membership: fetched, verified, changed, created
 *   threadmsg.c   thread messages (sealed, verified, opened) and read marks
 *   directory.c   the municipality's names (directory), kept in the home
 */
#ifndef VARSKO_CLIENT_H
#define VARSKO_CLIENT_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "blob.h"
#include "chain.h"
#include "envelope.h"
#include "file.h"
#include "flow.h"
#include "keybox.h"
#include "proto.h"
#include "thread.h"
#include "underretning.h"
#include "varsko/varsko.h"

#define HOME_DETAIL_MAX PROTO_MSG_MAX
#define HOME_FILE_MAX   (1024 * 1024) /* largest file the library reads */

/* File names inside a home. */
#define HOME_F_KEY      "device.key"
#define HOME_F_CERT     "device.cert"
#define HOME_F_ORG      "org.pub"
#define HOME_F_GATEWAY  "gateway.cert"
#define HOME_F_SERVER   "server"
#define HOME_F_CA       "ca.pem"
#define HOME_D_ROSTERS  "rosters"         /* rosters/<team>: the newest roster seen for the team */
#define HOME_D_RECEIPTS "receipts"        /* receipts/<REF>.json: receipts of own underretninger */
#define HOME_F_CHAIN_SEEN "chain.seen" /* "<seq> <hash hex>": the own user chain as this device last saw it */
#define HOME_F_PENDING  "userkey.pending" /* user-key seeds between the steps of a setup or recovery (userkey.c) */
#define HOME_F_ROOT     "root.pub" /* the organisation root key (PROTOCOL.md 16.2), when the hello had one */
#define HOME_F_ORG_SEEN "org.seen" /* "<seq> <hash hex>": the org chain as this home last verified it */
#define HOME_D_TEAMS    "teams"    /* teams/<team>.seen: "<seq> <hash hex>", each team chain as last verified */
#define HOME_D_THREADS  "threads"  /* threads/<id>.seen: as teams/; threads/<id>.last: the newest message shown */
#define HOME_D_UPLOADS  "uploads"  /* uploads/<thread>-<hash>.json and .bin: an attachment being uploaded (attach.c) */
#define HOME_F_DIRECTORY  "directory.json" /* the last directory answer (PROTOCOL.md 12.7), without its "id" */

struct varsko_home {
	char *path; /* owned */
	int dirfd;  /* O_DIRECTORY descriptor of path */
	char detail[HOME_DETAIL_MAX + 1];
};

/* ---- misc.c ---- */

/* Copy a message into dst (capacity cap), replacing bytes outside printable ASCII by '?'. NULL src gives "". */
void detail_set(char *dst, size_t cap, const char *src);
/* Fill an identity from a certificate that has already been verified. */
void identity_from_cert(const struct proto_cert *c, struct varsko_identity *out);

/* ---- home.c ---- */

/*
 * A name in the home is a file name or "DIR/FILE" (one directory level, e.g.
 * "receipts/U-2026-000001.json"); no part is empty, "." or "..", and no
 * directory is followed through a symbolic link.
 *
 * Read file `name` of the home into a NUL-terminated buffer owned by the
 * caller (file_free(*out, *len, 0) wipes it; for secrets use
 * home_read_secret), with common/file.c's file_read_at(). Refuses files
 * larger than HOME_FILE_MAX (VARSKO_ERR_TOO_LARGE), a symbolic link or
 * what is not a regular file (VARSKO_ERR_CONFIG). VARSKO_ERR_NOT_FOUND if absent.
 */
int home_read(struct varsko_home *h, const char *name, char **out, size_t *len);
/* As home_read, but the buffer is sodium_malloc memory (free with sodium_free, which wipes). */
int home_read_secret(struct varsko_home *h, const char *name, char **out, size_t *len);
/* As home_read, for a file of up to max bytes (an upload's ciphertext, attach.c). */
int home_read_large(struct varsko_home *h, const char *name, size_t max, char **out, size_t *len);
/* Remove file `name` of the home (gone already: VARSKO_OK); VARSKO_ERR_IO. */
int home_remove(struct varsko_home *h, const char *name);
/*
 * Write `name` atomically: a temporary file in the home created with
 * O_CREAT|O_EXCL and `mode`, written, fsync'ed, then renamed over `name`
 * (or, with noreplace, renamed only if `name` does not exist:
 * VARSKO_ERR_EXISTS otherwise), and the directory fsync'ed. The temporary is
 * removed on failure. A missing directory of "DIR/FILE" is created with
 * mode 0700 (an existing one is set to 0700).
 */
int home_write(struct varsko_home *h, const char *name, const void *buf, size_t len, unsigned mode, int noreplace);
/* A second handle on the same home (own descriptor and path): *out owned by the caller (varsko_home_close()). */
int home_dup(const struct varsko_home *h, struct varsko_home **out);
/*
 * The atomic write under home_write(), for any directory: `name` (one path
 * component) in dirfd gets buf[0..len) with exactly `mode`, through a
 * temporary created O_EXCL, fsync, rename (RENAME_NOREPLACE with noreplace:
 * VARSKO_ERR_EXISTS if name exists) and an fsync of the directory. The
 * temporary is removed on failure. Used by varsko-agent for its case files.
 */
int dir_write_atomic(int dirfd, const char *name, const void *buf, size_t len, unsigned mode, int noreplace);
/*
 * dir_write_atomic() in two halves, for a writer that makes many files
 * durable at once (varsko-agent's batch): dir_write_temp() writes
 * ".<name>.tmp-<hex>" (its name into tmp) with exactly `mode`, fsync'ed
 * only with sync; dir_rename_temp() renames it to name (noreplace:
 * VARSKO_ERR_EXISTS when name exists) and removes it when that fails. The
 * caller makes the data durable before the renames (fsync, syncfs) and
 * fsyncs the directory after them.
 */
int dir_write_temp(int dirfd, const char *name, const void *buf, size_t len, unsigned mode, int sync,
                   char tmp[NAME_MAX + 1]);
int dir_rename_temp(int dirfd, const char *tmp, const char *name, int noreplace);
/*
 * Remove the device's key and certificate from the home (an enrollment the
 * server refused to confirm: the device will never be active), so the home
 * can be enrolled again.
 */
void home_forget_device(struct varsko_home *h);
/* 1 if `name` exists in the home, else 0. */
int home_has(const struct varsko_home *h, const char *name);
/*
 * 1 when id (a team id, a user id) can be one component of a name in the
 * home: 1..PROTO_ID_MAX of A-Z a-z 0-9 - _ . and not starting with '.'; else 0.
 */
int home_part_ok(const char *id);
/*
 * A chain as this home last saw it (rollback and fork detection, PROTOCOL.md
 * 13.4): file `name` holds "<seq> <hash hex>\n" of the newest link seen.
 * home_seen_check compares it with a verified chain whose link hashes are
 * hashes[0..n) (by seq - 1): VARSKO_OK when the chain still holds that link
 * unchanged, or when the file does not exist (a first look; *seen_seq 0);
 * VARSKO_ERR_BAD_CHAIN when the chain is shorter or has another link there
 * (it went backwards or was changed); VARSKO_ERR_BAD_INPUT when the file is
 * damaged. *seen_seq is the seq the file names (0: none). The caller writes
 * the detail. home_seen_write records head (nothing for an empty chain),
 * atomically, mode 0600.
 */
int home_seen_check(struct varsko_home *h, const char *name, const uint8_t (*hashes)[CHAIN_HASH_LEN], size_t n,
                    uint64_t *seen_seq);
int home_seen_write(struct varsko_home *h, const char *name, const struct chain_head *head);
/* A file outside the home (a CA file, a receipt file): file_read() of common/file.h, up to HOME_FILE_MAX. */

/* ---- keys.c ---- */

/* A device's secret keys; always lives in sodium_malloc memory. */
struct keys {
	uint8_t sign_sk[64]; /* libsodium Ed25519 secret key: seed || public key */
	uint8_t box_sk[32];  /* X25519 secret key */
	uint8_t sign_pk[PROTO_PK_LEN];
	uint8_t box_pk[PROTO_PK_LEN];
};

/* Make both key pairs. *out is owned by the caller (keys_free()). */
int keys_generate(struct keys **out);
/* Free and wipe; NULL-safe. */
void keys_free(struct keys *k);
/*
 * The key file text: {"sign_sk":B64(64),"box_sk":B64(32)} and a newline, in
 * sodium_malloc memory owned by the caller (sodium_free()), NUL-terminated.
 */
int keys_to_text(const struct keys *k, char **out, size_t *len);
/*
 * Parse key file text (borrowed). Strict: one JSON object with exactly the
 * members sign_sk and box_sk holding standard base64 strings of the right
 * length; the Ed25519 public half must match the seed. Public keys are
 * derived. Returns VARSKO_OK or VARSKO_ERR_BAD_INPUT.
 */
int keys_from_text(const char *text, size_t len, struct keys **out);

/* ---- wsc.c ---- */

struct wsc;

/*
 * Connect to a wss:// URL with TLS verified against the PEM CA file ca_file
 * (and only it), ALPN http/1.1, subprotocol varsko.v1, and wait until the
 * WebSocket is open or the deadline (Unix ms, monotonic clock as returned by
 * wsc_now_ms()) passes. On failure, detail (capacity dcap) explains. *out is
 * owned by the caller (wsc_close()). Errors: VARSKO_ERR_BAD_INPUT (URL),
 * VARSKO_ERR_CONNECT, VARSKO_ERR_TLS, VARSKO_ERR_TIMEOUT, VARSKO_ERR_NOMEM.
 */
int wsc_open(const char *url, const char *ca_file, int64_t deadline_ms, struct wsc **out, char *detail, size_t dcap);
/*
 * What a failed wsc_open() found when it looked for the cause of
 * VARSKO_ERR_CONNECT (or VARSKO_ERR_TIMEOUT): the detail starts with one of
 * these (varsko_unreachable_text() tells people in Danish which it was).
 */
#define WSC_WHY_DNS     "the host name was not found (DNS)"
#define WSC_WHY_REFUSED "connection refused: nothing listens at the address"
#define WSC_WHY_ROUTE   "no route to the host"
#define WSC_WHY_TIMEOUT "the address did not answer in time"
#define WSC_WHY_SERVER  "the server accepted the connection but ended the handshake"
#define WSC_DIAGNOSE_MS 3000
/* Send one text message (borrowed) and wait until it has been written. */
int wsc_send(struct wsc *w, const char *buf, size_t len, int64_t deadline_ms);
/*
 * Wait for the next complete text message and decode it as a frame.
 * VARSKO_ERR_CLOSED if the server closed first, VARSKO_ERR_TIMEOUT,
 * VARSKO_ERR_PROTOCOL for a binary message, or the decoder's error.
 */
int wsc_recv(struct wsc *w, struct proto_frame *out, int64_t deadline_ms);
/*
 * Wait for the next complete text message and hand it out undecoded: *text
 * (owned by the caller, free()) holds *len bytes and a NUL after them.
 * Errors as wsc_recv() (without decoding).
 */
int wsc_recv_raw(struct wsc *w, char **text, size_t *len, int64_t deadline_ms);
/* Accept messages up to max bytes from now on (at least PROTO_FRAME_MAX, the default; larger closes). */
void wsc_set_max(struct wsc *w, size_t max);
/* Detail of the last failure on w (never NULL). */
const char *wsc_detail(const struct wsc *w);
/* Close normally (waiting at most a moment) and free; NULL-safe. */
void wsc_close(struct wsc *w);
/* Milliseconds on the monotonic clock. */
int64_t wsc_now_ms(void);

/* ---- conn.c, request.c ---- */

#define CONN_TIMEOUT_MS (60 * 1000) /* one flow request and its answer */
#define CONN_PUSH_MAX   256         /* pushes kept for varsko_watch(); older ones are dropped */
#define CONN_PING_MS    (30 * 1000) /* varsko_watch() pings after this long without a frame sent */

struct conn_push {
	struct conn_push *next;
	char *text; /* the push as received, NUL-terminated */
	size_t len;
};

struct varsko_conn {
	struct wsc *w;
	struct keys *k; /* sodium_malloc */
	uint8_t org_pk[PROTO_PK_LEN];
	int has_root;                  /* 1 when the home pinned the organisation root (root.pub) */
	uint8_t root_pk[PROTO_PK_LEN]; /* that root; the server's hello must carry it (PROTOCOL.md 16.2) */
	struct proto_cert cert; /* this device's certificate as the server returned and we verified it */
	struct varsko_identity id;
	struct varsko_home *home; /* own handle on the home (home_dup) */
	unsigned next_id;
	int64_t last_send_ms;
	struct conn_push *push_head, **push_tail;
	size_t n_push;
	char detail[HOME_DETAIL_MAX + 1];
};

/* One frame from the server, classified. */
struct conn_frame {
	json_t *flow;           /* a flow frame (flow.h), or NULL */
	enum flow_type ft;      /* its type */
	struct proto_frame *pf; /* a proto.h frame (calloc'ed), or NULL */
	char id[PROTO_ID_MAX + 1];
};
void conn_frame_clear(struct conn_frame *f);

/*
 * Send one frame text (borrowed) and note the time (for keep-alive pings).
 * On failure c->detail explains.
 */
int conn_send_text(struct varsko_conn *c, const char *text, size_t len, int64_t deadline);
/*
 * Receive the next frame that is not a push. Pushes (flow frames without
 * an id: pushed, new_underretning, frist) are queued for varsko_watch()
 * and waiting goes on; with want_push the first push is returned instead
 * (the queue is left alone). A message that is neither a valid flow frame
 * nor a valid proto.h frame is VARSKO_ERR_PROTOCOL. On failure c->detail
 * explains; *out is cleared first and owned by the caller
 * (conn_frame_clear()).
 */
int conn_next(struct varsko_conn *c, int64_t deadline, int want_push, struct conn_frame *out);
/*
 * Send the flow request req (borrowed; the caller has set "type" and the
 * members) with a fresh "id", then wait for the answer with that id: a
 * flow frame of type `expect` (*ans, a new reference owned by the caller)
 * or an error frame (its code, the server's message in c->detail; an error
 * without an id counts as the answer, it means the server could not read
 * ours). Unrelated frames are skipped, a few at most.
 */
int conn_request(struct varsko_conn *c, json_t *req, enum flow_type expect, json_t **ans);
/* Drop every queued push. */
void conn_push_free_all(struct varsko_conn *c);

/* ---- directory.c ---- */

/*
 * "Name (id)" of an institution or team (list "institutions" or "teams")
 * from the directory kept in the home, or the id alone when the home keeps
 * none or it does not know the id; into out (cap bytes, always
 * NUL-terminated). Returns out.
 */
const char *directory_name_of(struct varsko_home *h, const char *list, const char *id, char *out, size_t cap);

/* ---- text.c ---- */

/*
 * Makes jansson wipe every block it frees (json_set_alloc_funcs). Run by a
 * constructor when libvarsko is loaded; programs that link the static core
 * (the agent) call it first thing in main() as well.
 */
void text_json_wipe_install(void);
/* s as a JSON string literal (quotes, escapes; bytes >= 0x80 kept as they are) appended to b. */
void text_json_str(struct proto_buf *b, const char *s);

/*
 * A message for the notifier (kvittering, tilbagemelding) is the plaintext
 * {"text":S}: S is 0..MSG_TEXT_MAX bytes of UTF-8 without control
 * characters other than line feed and tab. msg_encode appends that JSON
 * for text (VARSKO_ERR_BAD_INPUT for a text that is not allowed);
 * msg_decode parses it strictly (exactly that one member) into *text
 * (owned by the caller, varsko_free_secret(*text, *text_len)), else
 * VARSKO_ERR_BAD_FRAME. Neither leaves a copy of the text behind.
 */
#define MSG_TEXT_MAX UH_TEXT_MAX
int msg_text_valid(const char *s, size_t len);
int msg_encode(const char *text, struct proto_buf *out);
int msg_decode(const uint8_t *pt, size_t len, char **text, size_t *text_len);
/*
 * Append s[0..len), a JSON text, in jansson's compact form (no whitespace
 * between tokens, escapes normalised). VARSKO_ERR_BAD_FRAME when it is not JSON.
 */
int json_compact(const char *s, size_t len, struct proto_buf *out);

/* ---- submit.c ---- */

/*
 * Check a routed/roster answer's roster: it is for team `team`, its
 * signature and every certificate verify against org_pk at `now`
 * (flow_roster_verify), and it fits in an envelope. On failure detail says why.
 */
int roster_check(const json_t *roster_obj, const char *team, const uint8_t org_pk[PROTO_PK_LEN], int64_t now,
                 struct flow_roster *out, char *detail, size_t dcap);
/*
 * Compare r with the newest roster of its team seen before
 * (rosters/<team> in the home): a lower version, or the same version with
 * another device list, is refused (VARSKO_ERR_BAD_CERT, rollback); a higher
 * version (or the first one) is stored atomically. A stored file that does
 * not parse is refused too (VARSKO_ERR_BAD_INPUT).
 */
int roster_accept(struct varsko_home *h, const struct flow_roster *r, char *detail, size_t dcap);

#define SEAL_STALE_WAIT 20 /* seconds a sender waits for a stale team key to be renewed (PROTOCOL.md 16.6) */

/* Whom an underretning for a team is sealed to (PROTOCOL.md 16.7). */
struct seal_targets {
	struct env_recipient rcpt[ENV_RECIPIENTS_MAX]; /* device points into ids */
	size_t n;
	int keyed; /* 1: the team key (and the own user key), 0: the team's roster */
	char ids[ENV_RECIPIENTS_MAX][ENV_RECIPIENT_ID_MAX + 1];
};
/*
 * The recipients of an underretning for team: its newest team key
 * (teamkey_for_sender(); with own_copy also the sender's current user key),
 * or for a team without a team key its roster, verified and accepted
 * (roster_check(), roster_accept()): roster_obj is the roster an answer
 * carried, or NULL to ask for it. A stale team key is waited for, up to
 * SEAL_STALE_WAIT seconds (the team's agent renews it), then stale_key.
 */
int seal_targets_for(struct varsko_conn *c, const char *team, const json_t *roster_obj, int own_copy,
                     struct seal_targets *out);

/* ---- receipt.c ---- */

/*
 * Verify a receipt: the reference is well formed, the gateway certificate
 * gw verifies against org_pk (as of the receipt's time), has role gateway
 * and is the receipt's gateway, and the signature verifies
 * (flow_receipt_verify). VARSKO_OK, VARSKO_ERR_BAD_CERT,
 * VARSKO_ERR_BAD_SIGNATURE or VARSKO_ERR_BAD_FRAME (reference).
 */
int receipt_check(const struct flow_receipt *r, const struct proto_cert *gw, const uint8_t org_pk[PROTO_PK_LEN],
                  char *detail, size_t dcap);
/* Parse a saved receipt text strictly (one JSON object, no duplicate key) and receipt_check() it. */
int receipt_verify_text(const char *text, size_t len, const struct proto_cert *gw, const uint8_t org_pk[PROTO_PK_LEN],
                        struct flow_receipt *out, char *detail, size_t dcap);
/* Save r as receipts/<REF>.json in the home (directory 0700, file 0600, atomic). */
int receipt_save(struct varsko_home *h, const struct flow_receipt *r);
/* The receipt as compact JSON with sorted keys; *out owned by the caller (free()). */
int receipt_json_text(const struct flow_receipt *r, char **out);
/* Fill the public summary of a receipt. */
void receipt_info(const struct flow_receipt *r, int duplicate, struct varsko_receipt_info *out);
/* The home's pinned organisation key and gateway certificate. On failure h->detail explains. */
int home_load_org(struct varsko_home *h, uint8_t org_pk[PROTO_PK_LEN]);
int home_load_gateway(struct varsko_home *h, struct proto_cert *gw);

/* Certificates and envelopes nested in a flow frame (borrowed json_t). */
int cert_from_obj(const json_t *o, struct proto_cert *out);
int env_from_obj(const json_t *o, struct env_envelope **out);
/* An envelope as a json_t (new reference, caller json_decref). */
int env_to_obj(const struct env_envelope *e, json_t **out);

/* ---- status.c ---- */

/*
 * Verify a timeline answer for reference ref and build the status (owned
 * by the caller, varsko_status_free()). org_pk: the pinned organisation
 * key. me/my_device: when not NULL, messages (kvittering, tilbagemelding)
 * whose envelope names my_device are opened with me->box_sk; uks[0..n_uks):
 * those whose envelope names one of these user key ids ("user:<id>:<g>",
 * every generation the device holds) are opened with its box key. Checks: the
 * gateway certificate and the receipt (receipt_check), the receipt is for
 * ref, the sender certificate is the receipt's sender (role fagperson,
 * same user, valid at receipt time), and for every event: it is for ref,
 * its certificate verifies against org_pk at the event's time and is its
 * device's, its signature verifies, the signer's role (and team, following
 * re-routings) may sign that kind, and an envelope is present exactly when
 * the kind carries a message for the notifier, signed by the event's
 * device, with the event's envelope hash. Any failure refuses the whole
 * timeline: VARSKO_ERR_BAD_CERT, VARSKO_ERR_BAD_SIGNATURE,
 * VARSKO_ERR_CRYPTO (a message for this device does not open) or
 * VARSKO_ERR_BAD_FRAME; detail says which entry.
 */
/* A user key a message may be sealed to: its key id ("user:<id>:<g>") and X25519 secret key (borrowed). */
struct status_key {
	char id[KEYBOX_KEYID_MAX + 1];
	const uint8_t *box_sk;
};
int status_verify(const json_t *timeline, const char *ref, const uint8_t org_pk[PROTO_PK_LEN], const struct keys *me,
                  const char *my_device, const struct status_key *uks, size_t n_uks, struct varsko_status **out,
                  char *detail, size_t dcap);
/*
 * Check one event with its signer's certificate: the certificate verifies
 * against org_pk at the event's time and names the event's device, and the
 * event's signature verifies. VARSKO_ERR_BAD_CERT or VARSKO_ERR_BAD_SIGNATURE.
 */
int event_check(const struct flow_event *ev, const struct proto_cert *cert, const uint8_t org_pk[PROTO_PK_LEN]);

/* ---- enroll.c ---- */

/*
 * Check an `enrolled` answer against the keys we registered: the
 * organisation key's fingerprint equals expected_fpr (if not NULL; dashes,
 * spaces and case ignored), the device certificate verifies against org_pk at
 * `now` and carries exactly sign_pk and box_pk (and the matching device id),
 * and the gateway certificate verifies too and has role "gateway". fpr_out
 * receives the organisation key's fingerprint. On failure detail (capacity
 * dcap) says which check failed. Returns VARSKO_OK, VARSKO_ERR_BAD_CERT or
 * VARSKO_ERR_DEVICE_EXPIRED.
 */
int enroll_check_reply(const struct proto_frame *f, const uint8_t sign_pk[PROTO_PK_LEN],
                       const uint8_t box_pk[PROTO_PK_LEN], const char *expected_fpr, int64_t now,
                       char fpr_out[PROTO_FPR_LEN + 1], char *detail, size_t dcap);

/*
 * The fingerprint check alone, on the key of the server's hello before
 * anything is sent: fpr_out receives org_pk's fingerprint; with
 * expected_fpr (NULL: no check) a mismatch is VARSKO_ERR_BAD_CERT and detail
 * says so.
 */
int enroll_check_fpr(const uint8_t org_pk[PROTO_PK_LEN], const char *expected_fpr, char fpr_out[PROTO_FPR_LEN + 1],
                     char *detail, size_t dcap);

/*
 * The same for a server's hello: once the org chain exists (has_root) the
 * fingerprint is the organisation root key's (PROTOCOL.md 16.2), else the
 * organisation key's; fpr_out receives the fingerprint of the key checked.
 */
int enroll_check_hello_fpr(const struct proto_frame *hello, const char *expected_fpr, char fpr_out[PROTO_FPR_LEN + 1],
                           char *detail, size_t dcap);

/*
 * Send enroll_confirm for the device of keys k over w, whose hello carried
 * nonce (the connection of the enroll, or a fresh one), and wait for
 * `confirmed`. VARSKO_OK, a server error's code (detail says) or wsc's.
 */
int client_confirm(struct wsc *w, const uint8_t nonce[PROTO_NONCE_LEN], const char *origin, const struct keys *k,
                   int64_t deadline, char *detail, size_t dcap);

/*
 * The code of a server error frame (varsko_err_from_name of its name;
 * VARSKO_ERR_PROTOCOL for a name that is not an error), its message copied
 * into detail with control characters replaced.
 */
int client_server_error(char *detail, size_t dcap, const struct proto_frame *f);

/* Encode f and send it over w (the encoded text is wiped: it may carry a one-time code). */
int client_send_frame(struct wsc *w, const struct proto_frame *f, int64_t deadline);

/*
 * Wait for the server's hello on w and check its version; f receives it.
 * On failure h->detail explains. VARSKO_ERR_PROTOCOL for any other frame,
 * a server error frame's code, or wsc_recv's error.
 */
int client_wait_hello(struct varsko_home *h, struct wsc *w, struct proto_frame *f, int64_t deadline);

/*
 * Check a certificate returned by login or whoami: it verifies against
 * org_pk at `now`, and its keys are the device's own. VARSKO_OK or
 * VARSKO_ERR_BAD_CERT / VARSKO_ERR_DEVICE_EXPIRED.
 */
int session_check_cert(const struct proto_cert *c, const uint8_t org_pk[PROTO_PK_LEN], const struct keys *k,
                       int64_t now);

/* ---- userkey.c ---- */

/* What the user chain says about one device, besides chain.h's state. */
struct userkey_device {
	uint64_t added_seq; /* the link that added it (uk_create or device_add) */
	int64_t added_time; /* that link's time (as its signer wrote it) */
	uint64_t revoked_seq;
	int certified; /* 1: a certificate from the organisation, valid now, for the user and these keys */
	int server_revoked; /* 1: varskod has revoked it (an operator) and the chain has not yet */
	char role[PROTO_ROLE_MAX + 1]; /* certified: the role of its newest such certificate (else "") */
	int64_t cert_not_before;       /* that certificate's not_before */
};

/* A verified user chain: the state and, per device (same index), the above. */
struct userkey_chain {
	struct chain_user_state st;
	struct userkey_device dev[CHAIN_DEVICES_MAX];
	size_t n_links;                                          /* the chain's links, all verified */
	uint8_t link_hash[FLOW_CHAIN_LINKS_MAX][CHAIN_HASH_LEN]; /* each link's hash (13.4), by seq - 1 */
	uint64_t pinned_seq; /* own chain: the seq this home saw last (HOME_F_CHAIN_SEEN; 0: none yet) */
	uint8_t gen_sign_pk[FLOW_CHAIN_LINKS_MAX][PROTO_PK_LEN]; /* uk_sign_pk of generation g, at g - 1 */
	/*
	 * The newest (by not_before) certificate, valid now, of a device the
	 * chain lists and has not revoked: what the organisation says the user
	 * is now (role, team, institutions: who may be a thread member,
	 * PROTOCOL.md 17.5). has_cert 0 when no device has one.
	 */
	int has_cert;
	struct proto_cert cert;
};

/*
 * Check a chain answer's links and certs (borrowed arrays) for user `user`
 * (PROTOCOL.md 15.2): every link parses and the whole chain verifies from
 * its root (chain_user_verify; its error: VARSKO_ERR_BAD_CHAIN,
 * VARSKO_ERR_BAD_SIGNATURE, ...; a link that does not parse is
 * VARSKO_ERR_BAD_CHAIN too), every certificate parses (else
 * VARSKO_ERR_BAD_CERT), and the first device (the chain's root) has a
 * certificate that verifies against org_pk (at its own not_before), names
 * `user` and carries the link's keys (else VARSKO_ERR_BAD_CERT). Each
 * device's `certified` says whether it has such a certificate valid at
 * `now`; a device without one is listed but relied on for nothing; the
 * newest of those of unrevoked devices is kept (has_cert, cert). An
 * empty chain is VARSKO_OK with generation 0. On failure *out is zeroed
 * and detail says which check failed.
 */
int userkey_chain_check(const json_t *links, const json_t *certs, const char *user, const uint8_t org_pk[PROTO_PK_LEN],
                        int64_t now, struct userkey_chain *out, char *detail, size_t dcap);
/*
 * chain_get of any user's chain (PROTOCOL.md 15.2), checked with
 * userkey_chain_check() against the pinned organisation key. An answer
 * bad_chain from varskod (its stored chain does not verify) keeps its code
 * and c->detail says the chain was tampered with.
 */
int userkey_chain_of(struct varsko_conn *c, const char *user, struct userkey_chain *uc);
/*
 * 1 when the verified chain's user key of `generation` had signing key
 * uk_sign_pk (the key a team or org chain pinned for the user, PROTOCOL.md
 * 16.4 step 3), else 0: a chain that does not contain the pinned key is not
 * the one the pin was made from.
 */
int userkey_had_key(const struct userkey_chain *uc, uint64_t generation, const uint8_t uk_sign_pk[PROTO_PK_LEN]);
/* The index of `device` in the chain's devices, or -1. */
int userkey_find_device(const struct userkey_chain *uc, const char *device);
/*
 * The JSON of varsko_user_devices() for a verified chain: cur is the
 * verified key box set of the current generation (NULL when none), holds
 * whether this device's box in it opens, pending whether a setup is
 * unfinished (the pending file). *out owned by the caller (varsko_free()).
 */
int userkey_devices_json(const struct userkey_chain *uc, const char *user, const char *self,
                         const struct keybox_set *cur, int holds, int pending, char **out);
/*
 * Every generation of the own user key (1..*n into out[0..cap), each owned by
 * the caller: keybox_gen_free()), from this device's own box of the newest
 * and the prev_box chain. Errors as userkey_current().
 */
int userkey_all(struct varsko_conn *c, struct keybox_gen **out, size_t cap, size_t *n);
/*
 * The user key of the current generation: the verified chain names this
 * device, and its box in the current key box set (signed by the chain's
 * user key) opens to a seed that derives the chain's key. *out owned by
 * the caller (keybox_gen_free(), which wipes). VARSKO_ERR_NOT_FOUND (no user
 * key yet, no set, no box for this device), VARSKO_ERR_NOT_CROSS_SIGNED,
 * VARSKO_ERR_CRYPTO, the chain's errors, transport errors; c->detail says.
 */
int userkey_current(struct varsko_conn *c, struct keybox_gen **out);
/*
 * Make `device` (of the own user, with these keys, whose certificate the
 * caller has checked against the organisation key) one of the user's
 * devices, from this device, which must hold the user key: append
 * device_add for it signed by the user key (unless the chain names it
 * already, with these keys), then put the current key box set with it
 * added (unless the stored set has its box). The steps 3 and 4 of a
 * recovery (PROTOCOL.md 15.6) for another device; step 5 of an approval
 * (15.7). Errors: VARSKO_ERR_NOT_CROSS_SIGNED (this device is not the
 * user's), VARSKO_ERR_DEVICE_REVOKED, VARSKO_ERR_BAD_CHAIN (the chain names
 * device with other keys), the chain's, the key box sets', the server's
 * and transport errors; c->detail says.
 */
int userkey_add_device(struct varsko_conn *c, const char *device, const uint8_t sign_pk[PROTO_PK_LEN],
                       const uint8_t box_pk[PROTO_PK_LEN]);

/*
 * keys_get of `owner` ("user:<own id>", or any "team:<id>", PROTOCOL.md 15.4,
 * 16.5): *sets (a new reference to the answer's array of sets in generation
 * order, unchecked) is owned by the caller (json_decref()).
 */
int userkey_keys_get(struct varsko_conn *c, const char *owner, json_t **sets);
/* One set object of a keys answer (borrowed), parsed strictly; not verified. */
int userkey_set_from_obj(const json_t *o, struct keybox_set *out);
/*
 * keys_put of s (borrowed): VARSKO_OK when varskod stored it (as s's
 * generation), else the server's code with c->detail, or a transport error.
 */
int userkey_keys_put(struct varsko_conn *c, const struct keybox_set *s);

/* ---- team.c ---- */

/*
 * The links of a chain answer (links: a JSON array, borrowed) parsed into
 * *out (free() it; NULL when empty) and *n. A link that does not parse is
 * VARSKO_ERR_BAD_CHAIN, c->detail naming it in `what` ("the team chain T",
 * "thread T"). Shared by team.c and threadchain.c.
 */
int chain_links_parse(struct varsko_conn *c, const json_t *links, const char *what, struct chain_link **out,
                      size_t *n);
/* The hash of each of ls[0..n) into hashes (by seq - 1, as home_seen_check() wants them). */
int chain_links_hash(const struct chain_link *ls, size_t n, uint8_t (*hashes)[CHAIN_HASH_LEN]);
/*
 * home_seen_check() of a chain with its refusal for people: a damaged
 * <home>/<name> keeps VARSKO_ERR_BAD_INPUT, a chain that does not extend
 * what this home verified last is VARSKO_ERR_BAD_CHAIN, c->detail naming
 * the chain as `what` ("a team chain of T").
 */
int chain_seen_refuse(struct varsko_conn *c, const char *name, const uint8_t (*hashes)[CHAIN_HASH_LEN], size_t n,
                      const char *what, uint64_t *seen_seq);

/*
 * The home's pinned organisation root key (root.pub): VARSKO_ERR_NOT_FOUND
 * when the home holds none (enrolled before the org chain existed); other
 * failures with h->detail. (conn.c)
 */
int home_load_root(struct varsko_home *h, uint8_t root_pk[PROTO_PK_LEN]);

/*
 * The org chain (chain_get kind org), verified from the pinned root
 * (PROTOCOL.md 16.2, 16.4 step 1): every link signed by the root, the chain
 * still containing what this home verified last (org.seen, then updated),
 * and the pinned organisation key an enrollment key of the chain whose
 * not_after has not passed (the local clock). Any failure to verify is
 * VARSKO_ERR_BAD_CHAIN (c->detail names the cause); a home without a root
 * is VARSKO_ERR_NOT_FOUND; server and transport errors pass through.
 * On failure *out is zeroed.
 */
int team_org_fetch(struct varsko_conn *c, struct chain_org_state *out);
/*
 * The check of the first login after an enrollment with a root (PROTOCOL.md
 * 16.2): team_org_fetch() unless the home has verified the org chain before
 * (org.seen) or holds no root. varsko_connect() runs it before it returns,
 * so nothing (a user key above all) is registered under an enrollment key
 * the root does not vouch for.
 */
int team_org_first_check(struct varsko_conn *c);

/* A member's current user key by the member's verified user chain. */
struct team_member_key {
	char name[PROTO_NAME_MAX + 1]; /* the member's name, from a certificate of the member's chain ("" when none) */
	uint64_t generation;
	uint8_t uk_sign_pk[PROTO_PK_LEN];
	uint8_t uk_box_pk[PROTO_PK_LEN];
};

/* A team chain checked as PROTOCOL.md 16.4 says, with the org state it was checked against. */
struct team_chain {
	struct chain_org_state org;
	struct chain_team_state st;
	size_t n_links;
	uint8_t link_hash[FLOW_CHAIN_LINKS_MAX][CHAIN_HASH_LEN]; /* by seq - 1 */
	uint64_t seen_seq;                                       /* what teams/<team>.seen named before (0: none) */
	struct team_member_key cur[CHAIN_MEMBERS_MAX];           /* by the index of st.members */
};

/*
 * Fetch and check team `team`'s chain (PROTOCOL.md 16.4): 1. the org chain
 * (team_org_fetch); 2. the team chain verified against it (its errors:
 * VARSKO_ERR_BAD_CHAIN, VARSKO_ERR_BAD_SIGNATURE, VARSKO_ERR_NOT_MEMBER,
 * VARSKO_ERR_FORBIDDEN, ...); 4. it contains what teams/<team>.seen
 * names (else VARSKO_ERR_BAD_CHAIN); 3. every member's user chain verifies
 * (userkey_chain_of) and contains the key the team chain pinned
 * (team_pin_check); then teams/<team>.seen is updated. An empty chain (a
 * team without one) is VARSKO_OK with no members. A team id that cannot be a
 * file name is VARSKO_ERR_BAD_INPUT. c->detail explains; on failure *tc is
 * zeroed.
 */
int team_chain_of(struct varsko_conn *c, const char *team, struct team_chain *tc);
/*
 * Step 3 for one member: uc (the member's verified user chain) is m's and
 * had, at m's pinned generation, m's pinned uk_sign_pk. VARSKO_OK, or
 * VARSKO_ERR_BAD_CHAIN with detail.
 */
int team_pin_check(const struct chain_member *m, const struct userkey_chain *uc, char *detail, size_t dcap);
/* The index of user among the team's members, or -1. */
int team_member_index(const struct chain_team_state *st, const char *user);
/* What varsko_team_show() says about the team's key (teamkey_state()). */
enum teamkey_st { TEAMKEY_NONE = 0, TEAMKEY_OK, TEAMKEY_MISSING, TEAMKEY_STALE };
struct teamkey_info {
	uint64_t generation; /* the newest set's; 0 with TEAMKEY_NONE */
	enum teamkey_st state;
};
/*
 * The JSON of varsko_team_show() for a checked chain; self: the session's
 * user; key: the team key's state (NULL: the key members are left out).
 * *out owned by the caller.
 */
int team_json(const struct team_chain *tc, const char *team, const char *self, const struct teamkey_info *key,
              char **out);

/* ---- teamkey.c ---- */

#define TEAMKEY_GENS_MAX 256 /* team key generations a client walks through at most */

/*
 * The team key a sender seals an underretning to (PROTOCOL.md 16.5/16.6): team_chain_of() verified,
 * the team's sets fetched (keys_get owner "team:<team>"), the NEWEST set verified: its signature by its
 * `signer`, and the signer is the current user key of a member by the verified chain (else VARSKO_ERR_NOT_MEMBER);
 * keybox_team_fit() against the members' current user-key generations: STALE -> VARSKO_ERR_STALE_KEY
 * (detail: the team's key is being renewed, try again shortly). *has_key = 0 (and VARSKO_OK) when the team
 * has no chain or no set yet; else 1 with key_id "team:<team>:<g>" and pub = the set's pub.
 */
int teamkey_for_sender(struct varsko_conn *c, const char *team, int *has_key, char key_id[KEYBOX_KEYID_MAX + 1],
                       uint8_t pub[PROTO_PK_LEN]);
/*
 * For a member: generation `generation` of the team's key. Opens the own box (recipient
 * "user:<own user>:<g>") of the newest set with the own user key of that generation (userkey_all),
 * checks the seed derives the set's pub, and walks back via prev_box (keybox_walk_back) to `generation`.
 * *out: a keybox_gen (keybox_gen_free). VARSKO_ERR_NOT_FOUND when this user has no box (not a member,
 * or not sealed to yet: the detail says so), VARSKO_ERR_CRYPTO when it does not open.
 * When the newest set has no box for this user, the newest set from there down to `generation`
 * that has one is used (a member added since, whose box in the newest is still missing, has none
 * anywhere; a member removed since keeps what it could read).
 */
int teamkey_open(struct varsko_conn *c, const char *team, uint64_t generation, struct keybox_gen **out);
/*
 * For a member (the team's agent does this on its own, PROTOCOL.md 16.6): no set yet -> make generation 1;
 * newest STALE -> make generation L+1 (random seed, prev_box holding L's seed: open L first with teamkey_open);
 * MISSING -> put set L again with boxes added for the members lacking one (needs L's seed). Boxes are sealed
 * to each member's CURRENT user key box pk (from the member's verified user chain), recipient
 * "user:<member>:<current generation>". Signed with the own current user key (signer = own uk_sign_pk).
 * *changed: 0 nothing to do, 1 boxes added, 2 a new generation. A put refused with stale_key (someone else
 * was faster) is retried once after fetching again.
 * A newest set whose signer is not a member's current user key counts as stale (it is replaced, never
 * extended). Not a member (or a team without a chain): VARSKO_ERR_NOT_MEMBER.
 */
int teamkey_maintain(struct varsko_conn *c, const char *team, int *changed);
/* teamkey_maintain() that also gives the newest generation afterwards (0: none), for a log line. */
int teamkey_maintain_gen(struct varsko_conn *c, const char *team, int *changed, uint64_t *generation);
/*
 * The state of the team's key for a checked chain tc (varsko_team_show): TEAMKEY_NONE without a chain or a
 * set; else the newest generation and how it fits the members (a set whose signer is not a member's current
 * user key, or whose signature fails, counts as stale).
 */
int teamkey_state(struct varsko_conn *c, const struct team_chain *tc, const char *team, struct teamkey_info *out);

/* ---- threadchain.c ---- */

#define THREAD_NAME_MAX (sizeof(HOME_D_THREADS) + PROTO_ID_MAX + 8) /* "threads/<id>.seen" and its NUL */
#define TMSG_TEXT_MAX  VARSKO_THREAD_TEXT_MAX  /* bytes of a message's text (PROTOCOL.md 17.2) */
#define TMSG_TITLE_MAX VARSKO_THREAD_TITLE_MAX /* bytes of a thread's title */
#define TMSG_FILE_NAME_MAX  VARSKO_FILE_NAME_MAX  /* bytes of an attachment's name */
#define TMSG_MEDIA_TYPE_MAX VARSKO_MEDIA_TYPE_MAX /* bytes of an attachment's media type */

/* A device of a thread's user, by the user's verified chain. */
struct tuser_device {
	char device[PROTO_ID_MAX + 1];
	uint8_t sign_pk[PROTO_PK_LEN];
	int certified; /* a certificate from the organisation, valid now (userkey_device) */
	int revoked;   /* revoked in the chain */
};

/* What a thread's user's verified user chain says (tuser_from_chain()). */
struct tuser {
	char user[PROTO_ID_MAX + 1];
	uint64_t generation; /* the current user key */
	uint8_t uk_box_pk[PROTO_PK_LEN];
	int has_cert;
	struct proto_cert cert; /* the newest valid certificate of an unrevoked device: role, team, institutions, name */
	size_t n_devices;
	struct tuser_device dev[CHAIN_DEVICES_MAX];
	int admitted; /* a present member whom the certificate admits (17.5); 0 for a departed one (tchain_of) */
};

/*
 * A thread chain checked as PROTOCOL.md 17.6 says: the verified state, its
 * links, and per entry of st.members (same index) what that user's verified
 * chain says. Owned by whoever got it (tchain_free()).
 */
struct tchain {
	struct chain_thread_state st;
	size_t n_links;
	struct chain_link *links; /* the verified links, seq 1.. */
	uint64_t seen_seq;        /* what threads/<id>.seen named before (0: none) */
	struct tuser *users;      /* st.n_members entries */
	char refused[HOME_DETAIL_MAX + 1]; /* the first present member not admitted, why; "" when all are */
};

/*
 * Fetch and check thread `thread` (PROTOCOL.md 17.6): thread_get; the chain
 * verified from its root (chain_thread_verify; any failure bad_chain); it
 * contains what threads/<id>.seen names (else VARSKO_ERR_BAD_CHAIN); every
 * user it ever added has a verified user chain (userkey_chain_of) that had
 * each key a link pinned for them (else VARSKO_ERR_BAD_CHAIN); then
 * threads/<id>.seen is updated. Whether each present member is admitted by
 * their newest valid certificate (tchain_admits()) is noted (users[i].admitted,
 * refused), not refused here: a member who no longer is (a leder whose
 * rådgiver left, a fagperson who moved) must still be removable.
 * varskod's not_found (an outsider, no such thread) passes through.
 * VARSKO_ERR_BAD_INPUT for something that is no thread id. *out owned by
 * the caller (tchain_free()); c->detail explains a failure.
 */
int tchain_of(struct varsko_conn *c, const char *thread, struct tchain **out);
/*
 * Before anything is sealed to t's members or shown from t (PROTOCOL.md
 * 17.6): every present member admitted, else VARSKO_ERR_BAD_CHAIN with the
 * detail naming the first who is not.
 */
int tchain_usable(struct varsko_conn *c, const struct tchain *t);
void tchain_free(struct tchain *t); /* NULL-safe */
/* The index of user among t's entries (present or departed), or -1. */
int tchain_user_index(const struct tchain *t, const char *user);
/* 1 when user is a present member at version (the seq of a link of ls[0..n), verified, in order), else 0. */
int tchain_present_at(const struct chain_link *ls, size_t n, const char *user, uint64_t version);
/*
 * Who may be a thread member (PROTOCOL.md 17.5), by the user's newest valid
 * certificate cert (NULL: none): the role must be a thread role and the
 * certificate's role; a fagperson or raadgiver whose certificate lists
 * institution; a leder whose certificate's team is one of raadgiver_teams
 * (the teams of the rådgivere who are present members). 1 or 0 with why.
 */
int tchain_admits(const char *institution, enum chain_role role, const struct proto_cert *cert,
                  const char *const *raadgiver_teams, size_t n_teams, char *why, size_t wcap);
/* What a verified user chain says, for a thread (no network). */
void tuser_from_chain(const struct userkey_chain *uc, struct tuser *out);
/* The device of u (NULL-safe) named device, or NULL. */
const struct tuser_device *tuser_device(const struct tuser *u, const char *device);
/* A fresh id: prefix ("T-" or "M-") and the canonical base32 of 16 random bytes. */
void tchain_new_id(const char *prefix, char out[THREAD_ID_LEN + 1]);
/* The id prefix + the 26 base32 characters of the 16 bytes b (canonical; tchain_new_id() with b random). */
void tchain_id_of(const char *prefix, const uint8_t b[KEYBOX_CODE_LEN], char out[THREAD_ID_LEN + 1]);
/*
 * Open a thread at institution as the session's user (a fagperson or
 * raadgiver whose certificate lists it, else VARSKO_ERR_FORBIDDEN): every
 * user in members[0..n) fetched (userkey_chain_of) and admitted by
 * certificate (VARSKO_ERR_FORBIDDEN, VARSKO_ERR_NOT_FOUND without a user
 * key), the links signed with the own current user key (thread_create, then
 * the rådgivere's thread_member_add, then the others'), sent as
 * thread_create; threads/<id>.seen written. thread_out gets the new id.
 */
int tchain_create(struct varsko_conn *c, const char *institution, int anonymous, const char *const *members,
                  size_t n_members, char thread_out[THREAD_ID_LEN + 1]);
/* The JSON of varsko_thread_members() for a verified chain (*out a new reference). */
int tchain_json(const struct tchain *t, const char *self, json_t **out);

/* ---- threadmsg.c ---- */

/* A message's text: 1..TMSG_TEXT_MAX bytes of UTF-8, no control characters but line feed and tab; a title: 1..TMSG_TITLE_MAX, none at all. */
int tmsg_text_valid(const char *s, size_t len);
int tmsg_title_valid(const char *s, size_t len);
/* The plaintext {"text":S,"title":S?} (compact, sorted) appended to out; VARSKO_ERR_BAD_INPUT for a text or title not allowed. */
int tmsg_plain_encode(const char *text, const char *title, struct proto_buf *out);
/*
 * A message's plaintext parsed (PROTOCOL.md 17.2): one object with "text"
 * (1..TMSG_TEXT_MAX bytes of UTF-8) and optionally "title" (1..TMSG_TITLE_MAX),
 * nothing else. *out a new reference (wiped when freed), else VARSKO_ERR_BAD_FRAME.
 */
int tmsg_plain_decode(const uint8_t *pt, size_t len, json_t **out);

/* The "file" of a file message's plaintext (PROTOCOL.md 17.9): where the ciphertext is and how to open it. */
struct tmsg_file {
	char blob[THREAD_BLOB_ID_LEN + 1];
	uint8_t key[BLOB_KEY_LEN];
	char name[TMSG_FILE_NAME_MAX + 1];
	char media_type[TMSG_MEDIA_TYPE_MAX + 1];
	uint64_t size; /* plaintext bytes */
	uint8_t sha256[32]; /* of the plaintext */
};
/* A file's name: 1..TMSG_FILE_NAME_MAX bytes of UTF-8 without control characters, '/' or '\\', not "." or "..". */
int tmsg_file_name_valid(const char *s, size_t len);
/* A media type: 1..TMSG_MEDIA_TYPE_MAX bytes of visible ASCII, "type/subtype" with exactly one '/'. */
int tmsg_media_type_valid(const char *s, size_t len);
/*
 * The plaintext of a file message, {"file":{"blob","key","media_type","name",
 * "sha256","size"},"text"?} (compact, sorted), appended to out;
 * VARSKO_ERR_BAD_INPUT for a field not allowed (text may be NULL).
 */
int tmsg_file_encode(const struct tmsg_file *f, const char *text, struct proto_buf *out);
/* A "file" object (borrowed) into *out (wiped on failure): VARSKO_OK or VARSKO_ERR_BAD_FRAME. */
int tmsg_file_from_json(const json_t *o, struct tmsg_file *out);
/*
 * A message's plaintext of the routing kind `kind` parsed: for "text" as
 * tmsg_plain_decode(); for "file" one object with a valid "file" and an
 * optional "text", nothing else. Else VARSKO_ERR_BAD_FRAME.
 */
int tmsg_plain_decode_kind(const uint8_t *pt, size_t len, enum thread_msg_kind kind, json_t **out);

/* A message of a messages answer, for tmsg_verify(). */
struct tmsg_in {
	uint64_t seq;
	int64_t received;
	const struct env_envelope *env;
	const struct proto_cert *cert; /* sender_cert */
	struct thread_routing rt;      /* out: the decoded routing bytes */
};
/*
 * What a client checks before it shows a message of the verified thread t
 * (PROTOCOL.md 17.6): envelope kind thread_message, object id a message id,
 * routing bytes that decode and name t at a version it had
 * (VARSKO_ERR_BAD_SIGNATURE); the sender certificate verifies against
 * org_pk at the time received and is the envelope's sender
 * (VARSKO_ERR_BAD_CERT), whose device the sender's user chain lists with
 * that key (VARSKO_ERR_NOT_CROSS_SIGNED); the sender a present member at the
 * routing version (VARSKO_ERR_NOT_MEMBER); the envelope's signature
 * (VARSKO_ERR_BAD_SIGNATURE). detail says which.
 */
int tmsg_verify(const struct tchain *t, const uint8_t org_pk[PROTO_PK_LEN], struct tmsg_in *in, char *detail,
                size_t dcap);
/*
 * A MARK (borrowed) of message seq (id message, envelope hash hash) of t:
 * parsed, for this message, by a device of the marking user's verified
 * chain (certified, or revoked there since), signature verified. *out the
 * mark. VARSKO_OK or the failure's code.
 */
int tmsg_mark_check(const struct tchain *t, const json_t *mo, uint64_t seq, const char *message,
                    const uint8_t hash[THREAD_HASH_LEN], struct thread_mark *out);
/*
 * Seal text (and title, for a thread's first message; may be NULL) for the
 * present members of the verified thread and send it; on stale_key or
 * not_member the chain is fetched and checked again and the message sealed
 * once more. *seq the number varskod gave; *anonymous (may be NULL) whether
 * the thread is an anonymous one.
 */
int tmsg_send(struct varsko_conn *c, const char *thread, const char *text, const char *title, uint64_t *seq,
              int *anonymous);
/*
 * The same for a plaintext already encoded for kind (tmsg_file_encode()),
 * under the message id `id` (a fresh one when NULL): sending the same id
 * again is answered with the stored seq, so a send cut off by a dropped
 * connection can be repeated (attach.c).
 */
int tmsg_send_plain(struct varsko_conn *c, const char *thread, enum thread_msg_kind kind, const struct proto_buf *pt,
                    const char *id, uint64_t *seq, int *anonymous);

/* ---- attach.c ---- */

/*
 * The attachment f names (a thread message's "file", or an underretning's
 * attachment), fetched in parts (blob_get; each answer checked against f),
 * decrypted and checked against f's size and SHA-256: *data
 * (varsko_free_secret(*data, *len)). VARSKO_ERR_CRYPTO when it does not
 * open or is another file; the transport's and varskod's codes as they come.
 */
int attach_fetch_open(struct varsko_conn *c, const struct tmsg_file *f, uint8_t **data, size_t *len);
/*
 * Attachment number index (from 1) of an underretning's document doc[0..len)
 * (plaintext, borrowed): fetched and opened as attach_fetch_open(), name and
 * media_type from the document. VARSKO_ERR_NOT_FOUND for no such number or
 * an attachment that is only described (no file was sent). The agent and
 * varsko_underretning_attachment() use it.
 */
int attach_of_document(struct varsko_conn *c, const char *doc, size_t len, size_t index, uint8_t **data,
                       size_t *dlen, char name[VARSKO_FILE_NAME_MAX + 1], char media_type[VARSKO_MEDIA_TYPE_MAX + 1]);

/* ---- approve.c ---- */

#define APPROVE_NONCE_LEN 32 /* n_new, n_old, the commitment and the nonce of the code */
#define APPROVE_TYPED_MAX 64 /* bytes of a typed approval code */

/*
 * The code of PROTOCOL.md 14.6 with the nonce of n_old and n_new (15.7 step
 * 4): keybox_approval_code() of keybox_approval_nonce().
 */
int approve_code_of(char out[KEYBOX_APPROVAL_DIGITS + 1], const uint8_t n_old[APPROVE_NONCE_LEN],
                    const uint8_t n_new[APPROVE_NONCE_LEN], const uint8_t old_sign_pk[PROTO_PK_LEN],
                    const uint8_t new_sign_pk[PROTO_PK_LEN], const uint8_t new_box_pk[PROTO_PK_LEN]);
/*
 * A typed code as six digits: spaces, tabs and '-' anywhere are dropped
 * ("123 456"); anything else, or not exactly six digits, or more than
 * APPROVE_TYPED_MAX bytes, is VARSKO_ERR_BAD_INPUT (out zeroed).
 */
int approve_code_typed(const char *typed, char out[KEYBOX_APPROVAL_DIGITS + 1]);
/* 1 when id is an approval id ("a-" and 16 lowercase hex digits), else 0. */
int approve_id_valid(const char *id);

#endif
