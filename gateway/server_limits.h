/*
 * server_limits.h: the bookkeeping behind varskod's connection limits
 * (docs/WIRE-BEHAVIOUR.md "Limits"): how many connections each source
 * address holds, how many sessions each device and user holds, which
 * accepted connection came from which address, and the token bucket on
 * unauthenticated work. Internal to the server module (server.c).
 *
 * Everything here runs on the lws thread and never blocks. Keys are short
 * unkeyed digests (BLAKE2b-128) of a kind byte and the counted value, so
 * no address or id is kept in the clear and one table serves every kind.
 */
#ifndef VARSKO_SERVER_LIMITS_H
#define VARSKO_SERVER_LIMITS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define LIMITS_KEY_LEN 16
#define LIMITS_BUCKETS 4096

enum limits_kind {
	LIMITS_ADDRESS = 'a', /* an IPv4 address, or the /64 of an IPv6 one */
	LIMITS_DEVICE = 'd',
	LIMITS_USER = 'u',
};

struct limits_count;
struct limits_conn;

/* A token bucket: tokens at the time us (0: never used, full). */
struct limits_bucket {
	double tokens;
	int64_t us;
};

/* A device's login bucket, direct-mapped by key (a collision starts the newcomer full). */
struct limits_rate {
	uint8_t key[LIMITS_KEY_LEN];
	struct limits_bucket b;
};

struct limits {
	struct limits_count *counts[LIMITS_BUCKETS];
	struct limits_conn *conns[LIMITS_BUCKETS];
	size_t n_conns; /* accepted connections not yet destroyed */
	/* The address of the connection just accepted, until its wsi is created. */
	int pending;
	uint8_t pending_key[LIMITS_KEY_LEN];
	/* The token bucket on unauthenticated work. */
	struct limits_bucket unauth;
	/* The successful logins of each device (logins_per_device_per_minute). */
	struct limits_rate logins[LIMITS_BUCKETS];
};

/* The key of `kind` for len bytes at p. */
void limits_key(enum limits_kind kind, const void *p, size_t len, uint8_t out[LIMITS_KEY_LEN]);

/*
 * The key of a peer address (IPv4, IPv4-mapped IPv6 as IPv4, IPv6 by its
 * /64 prefix). Returns 0, or -1 for another family (not counted).
 */
int limits_address_key(const struct sockaddr *sa, socklen_t len, uint8_t out[LIMITS_KEY_LEN]);

/* How many are counted under key. */
unsigned limits_count(const struct limits *l, const uint8_t key[LIMITS_KEY_LEN]);
/* Count one more under key. Returns 0, or -1 when out of memory (nothing counted). */
int limits_inc(struct limits *l, const uint8_t key[LIMITS_KEY_LEN]);
/* Count one less under key (nothing when it is not counted). */
void limits_dec(struct limits *l, const uint8_t key[LIMITS_KEY_LEN]);

/*
 * Remember that connection `conn` (an lws wsi, only compared) came from the
 * address with key, accepted at mono_us. Returns 0 or -1 (out of memory).
 */
int limits_conn_add(struct limits *l, const void *conn, const uint8_t key[LIMITS_KEY_LEN], int64_t mono_us);
/* When conn was accepted (0 when it is not known). */
int64_t limits_conn_accepted(const struct limits *l, const void *conn);
/* Forget conn and count one less for its address. Returns 1 when it was known. */
int limits_conn_remove(struct limits *l, const void *conn);

/*
 * Take one token of unauthenticated work from a bucket that refills at
 * rate tokens per second up to rate (one second's worth). Returns 1 when a
 * token was taken, 0 when the bucket is empty.
 */
int limits_take(struct limits *l, int rate, int64_t mono_us);

/*
 * The login bucket of the device with key: it holds up to per_minute
 * logins and refills at per_minute a minute. limits_login_allowed() says
 * whether one is left (1) or not (0) and takes nothing; limits_login_taken()
 * takes one for a login that succeeded. Only successful logins take from
 * it, so nobody but the device's holder can empty a device's bucket.
 */
int limits_login_allowed(struct limits *l, const uint8_t key[LIMITS_KEY_LEN], int per_minute, int64_t mono_us);
void limits_login_taken(struct limits *l, const uint8_t key[LIMITS_KEY_LEN], int per_minute, int64_t mono_us);

/* Free everything. */
void limits_clear(struct limits *l);

#endif
