/*
 * server_limits.c: counting tables and the token bucket of server_limits.h.
 * Lws thread only.
 */
#include "server_limits.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

struct limits_count {
	struct limits_count *next;
	uint8_t key[LIMITS_KEY_LEN];
	unsigned n;
};

struct limits_conn {
	struct limits_conn *next;
	const void *conn;
	uint8_t key[LIMITS_KEY_LEN];
	int64_t accepted_us;
};

void limits_key(enum limits_kind kind, const void *p, size_t len, uint8_t out[LIMITS_KEY_LEN])
{
	crypto_generichash_state st;
	uint8_t k = (uint8_t)kind;

	crypto_generichash_init(&st, NULL, 0, LIMITS_KEY_LEN);
	crypto_generichash_update(&st, &k, 1);
	crypto_generichash_update(&st, p, len);
	crypto_generichash_final(&st, out, LIMITS_KEY_LEN);
}

int limits_address_key(const struct sockaddr *sa, socklen_t len, uint8_t out[LIMITS_KEY_LEN])
{
	static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		limits_key(LIMITS_ADDRESS, &in->sin_addr, 4, out);
		return 0;
	}
	if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const uint8_t *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;

		/* One host of IPv6 usually has a whole /64; an IPv4 peer on a dual-stack socket is its IPv4 address. */
		if (memcmp(a, v4mapped, sizeof v4mapped) == 0)
			limits_key(LIMITS_ADDRESS, a + 12, 4, out);
		else
			limits_key(LIMITS_ADDRESS, a, 8, out);
		return 0;
	}
	return -1;
}

static size_t limits_bucket(const uint8_t key[LIMITS_KEY_LEN])
{
	return ((size_t)key[0] | (size_t)key[1] << 8) % LIMITS_BUCKETS;
}

static size_t limits_conn_bucket(const void *conn)
{
	uintptr_t v = (uintptr_t)conn;

	return (size_t)((v >> 4) ^ (v >> 16)) % LIMITS_BUCKETS;
}

unsigned limits_count(const struct limits *l, const uint8_t key[LIMITS_KEY_LEN])
{
	for (const struct limits_count *c = l->counts[limits_bucket(key)]; c; c = c->next)
		if (memcmp(c->key, key, LIMITS_KEY_LEN) == 0)
			return c->n;
	return 0;
}

int limits_inc(struct limits *l, const uint8_t key[LIMITS_KEY_LEN])
{
	struct limits_count **b = &l->counts[limits_bucket(key)], *c;

	for (c = *b; c; c = c->next) {
		if (memcmp(c->key, key, LIMITS_KEY_LEN) == 0) {
			c->n++;
			return 0;
		}
	}
	if ((c = malloc(sizeof *c)) == NULL)
		return -1;
	memcpy(c->key, key, LIMITS_KEY_LEN);
	c->n = 1;
	c->next = *b;
	*b = c;
	return 0;
}

void limits_dec(struct limits *l, const uint8_t key[LIMITS_KEY_LEN])
{
	for (struct limits_count **p = &l->counts[limits_bucket(key)]; *p; p = &(*p)->next) {
		struct limits_count *c = *p;

		if (memcmp(c->key, key, LIMITS_KEY_LEN) != 0)
			continue;
		if (--c->n == 0) {
			*p = c->next;
			free(c);
		}
		return;
	}
}

int limits_conn_add(struct limits *l, const void *conn, const uint8_t key[LIMITS_KEY_LEN], int64_t mono_us)
{
	struct limits_conn **b = &l->conns[limits_conn_bucket(conn)], *c = malloc(sizeof *c);

	if (c == NULL)
		return -1;
	c->conn = conn;
	memcpy(c->key, key, LIMITS_KEY_LEN);
	c->accepted_us = mono_us;
	c->next = *b;
	*b = c;
	l->n_conns++;
	return 0;
}

int64_t limits_conn_accepted(const struct limits *l, const void *conn)
{
	for (const struct limits_conn *c = l->conns[limits_conn_bucket(conn)]; c; c = c->next)
		if (c->conn == conn)
			return c->accepted_us;
	return 0;
}

int limits_conn_remove(struct limits *l, const void *conn)
{
	for (struct limits_conn **p = &l->conns[limits_conn_bucket(conn)]; *p; p = &(*p)->next) {
		struct limits_conn *c = *p;

		if (c->conn != conn)
			continue;
		*p = c->next;
		limits_dec(l, c->key);
		free(c);
		l->n_conns--;
		return 1;
	}
	return 0;
}

/* Refill b at rate tokens per second up to cap since its last use, as of mono_us. */
static void bucket_refill(struct limits_bucket *b, double rate, double cap, int64_t mono_us)
{
	if (b->us == 0) {
		b->tokens = cap;
	} else if (mono_us > b->us) {
		b->tokens += (double)(mono_us - b->us) * rate / 1e6;
		if (b->tokens > cap)
			b->tokens = cap;
	}
	if (mono_us > b->us)
		b->us = mono_us;
}

int limits_take(struct limits *l, int rate, int64_t mono_us)
{
	bucket_refill(&l->unauth, rate, rate, mono_us);
	if (l->unauth.tokens < 1.0)
		return 0;
	l->unauth.tokens -= 1.0;
	return 1;
}

/* The login bucket of key, refilled as of mono_us; a slot that held another key starts over, full. */
static struct limits_bucket *login_bucket(struct limits *l, const uint8_t key[LIMITS_KEY_LEN], int per_minute,
                                          int64_t mono_us)
{
	uint32_t h = (uint32_t)key[0] | (uint32_t)key[1] << 8 | (uint32_t)key[2] << 16 | (uint32_t)key[3] << 24;
	struct limits_rate *r = &l->logins[h % LIMITS_BUCKETS];

	if (memcmp(r->key, key, LIMITS_KEY_LEN) != 0) {
		memcpy(r->key, key, LIMITS_KEY_LEN);
		memset(&r->b, 0, sizeof(r->b));
	}
	bucket_refill(&r->b, per_minute / 60.0, per_minute, mono_us);
	return &r->b;
}

int limits_login_allowed(struct limits *l, const uint8_t key[LIMITS_KEY_LEN], int per_minute, int64_t mono_us)
{
	return login_bucket(l, key, per_minute, mono_us)->tokens >= 1.0;
}

void limits_login_taken(struct limits *l, const uint8_t key[LIMITS_KEY_LEN], int per_minute, int64_t mono_us)
{
	struct limits_bucket *b = login_bucket(l, key, per_minute, mono_us);

	/* Logins checked together may take it below zero: the bucket then refills from there. */
	if (b->tokens > -per_minute)
		b->tokens -= 1.0;
}

void limits_clear(struct limits *l)
{
	for (size_t i = 0; i < LIMITS_BUCKETS; i++) {
		while (l->counts[i] != NULL) {
			struct limits_count *c = l->counts[i];

			l->counts[i] = c->next;
			free(c);
		}
		while (l->conns[i] != NULL) {
			struct limits_conn *c = l->conns[i];

			l->conns[i] = c->next;
			free(c);
		}
	}
	memset(l, 0, sizeof *l);
}
