/*
 * agent.h: the internal surface of varsko-agent, the daemon that takes a
 * team's underretninger off MQTT, checks and decrypts them, files them in a
 * case directory (or hands them to a command) and answers with signed
 * `modtaget` and `journaliseret` events (docs/FLOW.md, step 6).
 *
 *   agent.c    command line, home, MQTT connection and main loop, signals; the
 *              WebSocket session with varskod and the team key tick
 *   handle.c   one MQTT message: parse, verify, decrypt, decide, file, ack
 *   casedir.c  the case directory: atomic files, stored acks, the spool and
 *              the filing command
 *
 * Everything runs on the main thread: libmosquitto is driven with
 * mosquitto_loop() and its callbacks (where messages are handled) run inside
 * that call, so blocking file I/O and waiting for the command are fine here.
 * So are the requests to varskod (each has libvarsko's timeout): every
 * AGENT_TEAMKEY_TICK seconds one teamkey_maintain() (PROTOCOL.md 16.6: the
 * team's agent keeps the team key fit), and teamkey_open() for a message
 * sealed to a team key generation not yet in the cache.
 *
 * Case directory layout (every entry mode 0600, directories 0700):
 *   <REF>.json                    a filed underretning (without --command)
 *   <REF>.bilag/<n>-<name>        its attachments, written before <REF>.json (name: A-Z a-z 0-9 . _ -)
 *   .spool/<REF>.json             waiting for the command (with --command)
 *   .acks/<REF>.<kind>.json       the signed event, stored before it is published
 *   .acks/<REF>.<kind>.sent       the broker acknowledged (PUBACK) its publication
 *   .<name>.tmp-<hex>             a write in progress (removed at start)
 * Only <REF>.json files are visible (not dot-names) to a case system that
 * scans the directory.
 */
#ifndef VARSKO_AGENT_H
#define VARSKO_AGENT_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "client.h"
#include "flow.h"

#define AGENT_INFLIGHT_MAX  65536 /* publications whose PUBACK we track: indexed by MQTT message id, all of them */
#define AGENT_ACK_MAX       65536 /* size cap of a stored event file */
#define AGENT_TEAMKEY_TICK  5     /* seconds (monotonic) between two teamkey_maintain() */
#define AGENT_TEAMKEY_CACHE 32    /* opened team key generations kept in memory */
#define AGENT_METRICS_TICK  5     /* seconds (monotonic) between two writes of --metrics-file */
#define AGENT_BATCH_FILES   192   /* files made durable together: three per underretning (casedir.c "batch") */

struct mosquitto;

/*
 * The counters of --metrics-file (agent_metrics_write()). Counted since the
 * agent started; main thread only, like everything else.
 */
struct agent_stats {
	uint64_t filed;       /* underretninger filed (a case file written, or the command succeeded) */
	uint64_t events_sent; /* signed events the broker acknowledged (PUBACK) */
	uint64_t errors;      /* underretninger refused or failed (logged "refused:" or "failed:") */
	uint64_t refused;     /* refusals (dead letters) published to varskod */
	uint64_t syncs;       /* calls that wait for the disk (fsync, syncfs) for case files and events */
	int64_t last_success; /* wall clock of the last one filed or acknowledged again as a duplicate; 0: none */
};

/*
 * A publication waiting for its PUBACK, so its ack can be marked sent. The
 * table covers every MQTT message id (1..65535): a burst of underretninger
 * from the broker is read before the PUBACKs queued behind it, so the
 * publications in flight can number thousands (a fixed table of 1024 left
 * later ones unmarked, sent again on every connect).
 */
struct agent_inflight {
	int mid; /* 0: free slot */
	char reference[FLOW_REF_MAX + 1];
	enum flow_event_kind kind;
};

/*
 * The batch (casedir.c): files written during one turn of the MQTT loop,
 * made durable and visible together at its end (one syncfs, the renames,
 * one fsync per directory), and the events published only then.
 */
enum agent_pending_what { AGENT_PENDING_EVENT, AGENT_PENDING_RECORD };

struct agent_pending {
	int dirfd; /* borrowed: a->acks_fd or a->case_fd */
	char tmp[NAME_MAX + 1];
	char name[NAME_MAX + 1];
	char reference[FLOW_REF_MAX + 1];
	enum agent_pending_what what;
	int rerouted; /* a record: filed after an omdirigering (the log says so) */
};

struct agent_publish {
	char reference[FLOW_REF_MAX + 1];
	enum flow_event_kind kind;
};

struct agent_batch {
	int open; /* between casedir_batch_begin() and casedir_batch_commit() */
	size_t n, n_pub;
	struct agent_pending files[AGENT_BATCH_FILES];
	struct agent_publish pubs[AGENT_BATCH_FILES];
};

struct agent {
	/* command line (borrowed from argv) */
	const char *team;
	const char *tenant;
	const char *command; /* NULL: file into the case directory */

	/* identity from the home */
	struct keys *keys; /* sodium_malloc, owned */
	struct proto_cert cert;
	char *cert_json; /* owned: the certificate as published with every event */
	uint8_t org_pk[PROTO_PK_LEN];

	/* case directory */
	char *case_path; /* owned, absolute */
	int case_fd, acks_fd, spool_fd;

	/* MQTT */
	struct mosquitto *mosq;
	char ack_topic[PROTO_ID_MAX * 2 + 32];
	char sub_topic[PROTO_ID_MAX * 2 + 48];
	int connected; /* CONNACK accepted and not disconnected since */
	struct agent_inflight *inflight; /* AGENT_INFLIGHT_MAX entries, [mid]; allocated in main */
	struct agent_batch *batch;       /* allocated in main; NULL: every file durable on its own */

	/* varskod: the WebSocket session (NULL while down; reopened at the next tick or when a message needs it) */
	const char *home_path;    /* borrowed (argv or the environment) */
	struct varsko_conn *conn; /* owned */
	int conn_err;             /* the last connect failure logged (0: none) */
	int64_t tk_due;           /* monotonic seconds of the next team key tick; 0: at once */
	int tk_err;               /* the last team key failure logged (0: none) */
	int tk_not_member;        /* "not a member" was logged and nothing has succeeded since */
	/* team key generations opened for messages: sodium_malloc'ed, wiped by agent_teamkeys_wipe() */
	struct keybox_gen *tk_gens[AGENT_TEAMKEY_CACHE];
	size_t tk_next; /* the slot replaced next when the cache is full */

	/* --command retries */
	int64_t spool_due;     /* monotonic seconds when the spool is tried again; 0: not due */
	int64_t spool_backoff; /* seconds */

	/* --metrics-file: a Prometheus textfile-collector file, rewritten every AGENT_METRICS_TICK s */
	struct agent_stats stats;
	int metrics_dirfd;        /* the file's directory; -1 without --metrics-file */
	char *metrics_name;       /* owned: the file's name in that directory */
	int64_t metrics_due;      /* monotonic seconds of the next write */
	int metrics_err;          /* the last write failed (logged once until one succeeds) */
};

/* ---- agent.c ---- */

/* One log line on stderr: time, "varsko-agent", the formatted text. Never pass document content. */
void agent_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Seconds on the monotonic clock. */
int64_t agent_now_mono(void);

/*
 * The session with varskod, opened from the home (its server and CA, as the
 * varsko command does) when there is none. VARSKO_OK with a->conn set, or the
 * error (logged when it differs from the last one).
 */
int agent_conn(struct agent *a);
/* 1 when r means the session with varskod is gone or unusable (it is reopened), else 0. */
int agent_session_error(int r);
/* After a request on a->conn failed with r: a transport error closes the session (reopened later). */
void agent_conn_failed(struct agent *a, int r);
/*
 * One team key tick: teamkey_maintain() for the agent's team, logging what it
 * changed; failures are logged (by error name) when they change, "not a
 * member" once, and everything is tried again at the next tick.
 */
void agent_teamkey_tick(struct agent *a);

/* Count an underretning filed, or one handled again without error (a duplicate), at the wall clock now. */
void agent_count_filed(struct agent *a);
void agent_count_success(struct agent *a);

/*
 * Write --metrics-file now (when it is set): the counters in the Prometheus
 * text exposition format, atomically (a temporary file in the same
 * directory, fsync, rename), mode 0644, labelled with the team only. A
 * failure is logged once and tried again at the next tick.
 */
void agent_metrics_write(struct agent *a);

/* ---- handle.c ---- */

/*
 * Handle one payload from the team's underretning topic (borrowed). Logs one
 * line with the reference and the outcome (filed, duplicate, refused:<error
 * name>, or not filed yet when the command failed). Never fatal.
 */
void agent_handle(struct agent *a, const char *payload, size_t len);
/* Wipe and free the cached team key generations. */
void agent_teamkeys_wipe(struct agent *a);

/* ---- casedir.c ---- */

/*
 * Open (and create, mode 0700, when missing) the case directory and its
 * .acks and .spool directories, make the path absolute, and remove stale
 * temporary files of a previous run. On failure *detail (static) says which
 * step failed.
 */
int casedir_open(struct agent *a, const char *path, const char **detail);
void casedir_close(struct agent *a);

/*
 * Write buf[0..len) as `name` in directory dirfd: a temporary file created
 * O_EXCL with mode 0600, written, fsync'ed, renamed (with noreplace: only if
 * `name` does not exist, else VARSKO_ERR_EXISTS), and the directory
 * fsync'ed. The temporary is removed on failure. VARSKO_OK, VARSKO_ERR_EXISTS
 * or VARSKO_ERR_IO. Counted in a->stats.syncs.
 */
int casedir_write(struct agent *a, int dirfd, const char *name, const void *buf, size_t len, int noreplace);

/* 1 if `name` exists in dirfd, else 0. */
int casedir_has(int dirfd, const char *name);

/* 1 when the reference counts as filed: <REF>.json, or with --command the stored journaliseret. */
int casedir_is_filed(const struct agent *a, const char *ref);

/*
 * Make sure a signed event of `kind` for `ref` is stored in .acks (signing a
 * new one with the device key at the current time when there is none), then
 * publish it (again, also when it is marked sent: it is called when varskod
 * evidently has not got it). VARSKO_OK when it is stored; a publication that
 * fails is retried after the next connect.
 */
int casedir_ack(struct agent *a, const char *ref, enum flow_event_kind kind);

/*
 * Tell varskod that ref cannot be filed, for good (PROTOCOL.md 12.9): a new
 * refusal signed with the device key, published on the ack topic at QoS 1,
 * not stored (when it is lost, the underretning comes again and is refused
 * again). VARSKO_ERR_CLOSED while disconnected.
 */
int casedir_refuse(struct agent *a, const char *ref, enum flow_refusal_reason reason);

/* Publish every stored ack not yet marked sent (modtaget before journaliseret). Called after each connect. */
void casedir_publish_pending(struct agent *a);

/* The broker acknowledged publication `mid`: mark its ack sent. */
void casedir_on_puback(struct agent *a, int mid);

/*
 * With --command: run the command for .spool/<REF>.json (which must exist).
 * On exit status 0 the journaliseret event is stored and published and the
 * spool file removed. VARSKO_OK, or VARSKO_ERR_IO when the command could not
 * run or failed (the spool file stays; a retry is scheduled).
 */
int casedir_run_command(struct agent *a, const char *ref);

/* With --command: retry every spooled reference (at start and when the retry is due). */
void casedir_retry_spool(struct agent *a);

/*
 * The batch. casedir_batch_begin() opens one (not with --command, whose
 * spool file must be durable before the command runs); while it is open,
 * casedir_ack() and casedir_file_record() write their files as temporaries
 * and queue the events' publication. casedir_batch_commit() makes every
 * file durable (syncfs), renames them in order (a record that exists
 * already is a duplicate), fsyncs each directory once, and only then
 * publishes the queued events and logs each record filed: an event never
 * leaves before the files it speaks of are durable. When that fails nothing
 * is published: the underretninger come again. casedir_batch_full() says
 * when one more underretning would not fit (commit, then begin again).
 */
void casedir_batch_begin(struct agent *a);
int casedir_batch_full(const struct agent *a);
void casedir_batch_commit(struct agent *a);

/*
 * File the record of ref as <REF>.json in the case directory (without
 * --command), then its journaliseret event. *deferred 1 when a batch is
 * open (the outcome is logged at its commit), else *duplicate 1 when the
 * record existed already. VARSKO_OK or the write's error.
 */
int casedir_file_record(struct agent *a, const char *ref, const char *rec, size_t rec_len, int rerouted,
                        int *duplicate, int *deferred);

#endif
