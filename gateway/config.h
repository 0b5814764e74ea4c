/*
 * config.h: varskod.conf, the configuration of varskod and varskoctl.
 *
 * The file is `key = value` lines; `#` starts a comment (anywhere on a line),
 * blank lines are ignored, values are not quoted. The parser in config.c is
 * driven by one table of keys (name, type, default, range, field offset);
 * docs/DEVELOPING.md lists the keys. Any error (unknown key, duplicate key,
 * missing '=', bad number, value out of range, missing required key) is
 * reported as "FILE:LINE: message" in the caller's buffer; a missing
 * required key is reported at the last line of the file. Error texts never
 * contain the value of a key (a value could be a path naming a person).
 */
#ifndef VARSKO_CONFIG_H
#define VARSKO_CONFIG_H

#include <stddef.h>

#define CONFIG_DEFAULT_PATH "/etc/varsko/varskod.conf"
#define CONFIG_ORIGINS_MAX 16 /* entries of `origins` */
#define CONFIG_VALUE_MAX 1024 /* bytes of one value */
#define CONFIG_KEYS_MAX  64   /* keys config.c knows (checked at compile time there) */

/* The same numbers as enum log_format (log.h). */
enum config_log_format {
	CONFIG_LOG_FORMAT_AUTO = 0,
	CONFIG_LOG_FORMAT_TEXT = 1,
	CONFIG_LOG_FORMAT_JOURNAL = 2,
	CONFIG_LOG_FORMAT_JSON = 3,
};

enum config_log_level {
	CONFIG_LOG_ERROR = 0,
	CONFIG_LOG_WARN = 1,
	CONFIG_LOG_INFO = 2,
	CONFIG_LOG_DEBUG = 3,
};

/*
 * A parsed configuration. Every char * is a NUL-terminated string owned by
 * the struct (freed by config_free); an optional key that is not set is NULL.
 * Numbers are already range-checked.
 */
struct config {
	char *listen;       /* default "127.0.0.1" */
	int port;           /* 1..65535, default 8443 */
	char *tls_cert;     /* required */
	char *tls_key;      /* required, secret (mode 0600) */
	char *database;     /* required */
	char *org_key;      /* required, secret */
	char *gateway_key;  /* required, secret */
	char *gateway_cert; /* required */
	char **origins;     /* n_origins strings; default "wss://localhost:PORT wss://127.0.0.1:PORT" */
	size_t n_origins;   /* 1..CONFIG_ORIGINS_MAX */
	char *tenant;       /* default "slagelse"; [a-z0-9-], 1..64 bytes */
	int handshake_timeout;     /* seconds 1..300, default 10 */
	int idle_timeout;          /* seconds 10..86400, default 300 */
	int recheck_interval;      /* seconds 1..3600, default 30: logged-in sessions' devices checked again */
	int max_frame;             /* bytes 1024..16777216, default 65536 */
	int device_validity_days;  /* 1..3650, default 365 */
	int invite_validity_hours; /* 1..720, default 72 */
	int max_sessions;          /* 1..100000, default 10000 */
	int log_level;             /* enum config_log_level, default CONFIG_LOG_INFO */
	int log_format;            /* enum config_log_format, default CONFIG_LOG_FORMAT_AUTO */
	char *web_root;            /* optional: the web client's directory (webroot.h); NULL: the plain page at / */
	char *mqtt_host;           /* optional */
	int mqtt_port;             /* 1..65535, 0 when not set */
	char *mqtt_ca;             /* optional */
	char *mqtt_cert;           /* optional */
	char *mqtt_key;            /* optional, secret */
	int max_submit;            /* bytes of a flow frame after login (submit, event), 65536..16777216, default 4 MiB */
	int store_queue_max; /* store worker jobs waiting before a client's request is answered `unavailable`, 1..1000000, default 4096 */
	int outbox_backoff_first;  /* seconds before an unacknowledged publication goes out again, default 30 */
	int outbox_backoff_max;    /* the backoff doubles up to this, default 600 */
	int warn_vurdering_minutes;   /* warning before the vurdering deadline, 0..1440, default 240; 0: none */
	int warn_kvittering_hverdage; /* warning this many hverdage before the kvittering deadline, 0..5, default 1 */
	int tilbagemelding_days;      /* the municipality's tilbagemelding target, 0..3650, default 30 */
	/* The admin listener (plain HTTP: /healthz, /metrics; docs/OPERATIONS.md "Health and metrics"). */
	char *admin_listen;            /* default "127.0.0.1" */
	int admin_port;                /* 0..65535, default 8444; 0: no admin listener; never equal to port */
	int health_mqtt_grace_seconds; /* /healthz fails once MQTT has been down this long, 0..86400, default 30 */
	int health_outbox_max;         /* /healthz fails at this many undone outbox rows, 1..100000000, default 1000 */
	int thread_retention_days; /* a thread's content is purged after this many days without activity, 1..3650,
	                              default 180 (docs/THREADS.md "Retention") */
	int max_attachment;        /* bytes of one attachment's plaintext, 1..1073741824 (BLOB_PLAIN_MAX), default 25 MiB */
	/* Limits against abuse (docs/WIRE-BEHAVIOUR.md "Limits"). */
	int max_conns_per_address;    /* connections from one IPv4 address or IPv6 /64, 1..100000, default 256 */
	int max_sessions_per_device;  /* logged-in sessions of one device, 1..1000, default 4 (agents: per user) */
	int max_sessions_per_user;    /* logged-in sessions of one user, 1..10000, default 16 */
	int logins_per_device_per_minute; /* successful logins of one device, 1..1000000, default 600 (a minute's burst) */
	int mem_budget_bytes;         /* frame bytes all sessions may hold, 1 MiB..2 GiB-1, default 256 MiB */
	int unauth_frames_per_second; /* refused frames before login answered per second, 1..1000000, default 2000 */
	unsigned long key_lines[CONFIG_KEYS_MAX]; /* config_key_line() */
};

/*
 * Parse the configuration text text[0..len) (borrowed; need not be
 * NUL-terminated, may contain any bytes). `name` is the file name used in
 * error messages. Pure: no file access, no permission checks. On VARSKO_OK
 * *out is filled and owned by the caller (config_free); on failure *out is
 * left zeroed (nothing to free), err receives "NAME:LINE: message" and
 * VARSKO_ERR_CONFIG (or VARSKO_ERR_NOMEM) is returned. err may be NULL.
 */
int config_parse(const char *text, size_t len, const char *name, struct config *out, char *err, size_t errcap);

/*
 * Read the file at `path` and config_parse() it. A file that cannot be read
 * gives "PATH:0: cannot read file" and VARSKO_ERR_CONFIG. Does not check the
 * secret files; see config_check_secrets().
 */
int config_load(const char *path, struct config *out, char *err, size_t errcap);

/*
 * The line of the file where key `name` was set, 0 when it was not set (a
 * default) or there is no such key. For a check made after parsing (the
 * web_root directory at startup) that reports "FILE:LINE: message".
 */
unsigned long config_key_line(const struct config *c, const char *name);

/* Free everything c owns and zero it. NULL-safe; safe on a zeroed struct. */
void config_free(struct config *c);

/*
 * Check that each configured secret file (tls_key, org_key, gateway_key,
 * mqtt_key) exists, is a regular file owned by the current user and has no
 * group or other permission bits (mode 0600 or stricter). On failure err
 * gets "KEY: message" (the key name, not the path) and VARSKO_ERR_CONFIG is
 * returned. A missing file is an error: call it after `varskoctl init`.
 */
int config_check_secrets(const struct config *c, char *err, size_t errcap);

#endif
