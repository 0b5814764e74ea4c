/*
 * tests/bench/loadgen.c: the load generator of the benchmarks (issue 13),
 * on libvarsko. Loopback only; every loop is bounded by --duration and/or
 * --count; it stops by itself.
 *
 * Modes (one per run; output is JSON lines on stdout, the last one the
 * summary):
 *   submit     --clients N threads, each with its own libvarsko home handle
 *              and connection (the homes listed in --homes, one per client
 *              while there are enough, then shared round-robin), sending the
 *              document --doc with a fresh submission id each time through
 *              varsko_underret_send() (route, roster check, seal, submit,
 *              receipt verified and saved: exactly what `varsko underret
 *              send` does). --bad-sig-percent P: P % of the submissions are
 *              sealed correctly but carry a broken signature (one bit
 *              flipped), which varskod must refuse with bad_signature.
 *              Each receipt's latency (call to verified receipt) is kept.
 *              Every client connects and logs in first; then a
 *              {"event":"ready"} line, and (--wait-go) a line on stdin,
 *              starts the clock, so the window holds submissions only.
 *   idle       --clients N raw TLS WebSockets, each logged in with a device
 *              key of --homes (16 opener threads), then held open for
 *              --duration seconds after the {"event":"ready"} line.
 *   garbage    --clients N raw TLS WebSockets, never logged in, each sending
 *              a junk text frame every --interval-ms; reopened when closed.
 *   slowloris  --clients N TCP connections that start a TLS handshake (a
 *              record header and a few bytes of a ClientHello) and then send
 *              one byte every few seconds; reopened when closed.
 *   flood      one logged-in raw session sending whoami frames as fast as the
 *              socket takes them, answers read and counted by code.
 *
 * The raw modes speak TLS (OpenSSL) and WebSocket (RFC 6455, client frames
 * masked) themselves, so that tens of thousands of connections need no
 * thread or libwebsockets context each. Logins are signed with the proto
 * library exactly as libvarsko signs them (proto_login_signing_input).
 *
 * Whether the generator is the bottleneck: every summary carries the
 * generator's own CPU time (getrusage: user + system, all threads) and its
 * wall time, so the bench can put its CPU share beside varskod's.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sodium.h>

#include <varsko/varsko.h>

#include "clock.h"
#include "client.h"
#include "calendar.h"
#include "envelope.h"
#include "file.h"
#include "proto.h"
#include "underretning.h"

/* ---- options and small helpers ---------------------------------------------- */

struct opts {
	const char *mode, *url, *ca, *doc_path, *homes_path;
	const char *source; /* --source: the local IPv4 address raw sockets connect from; NULL: any */
	char host[64];
	int port;
	int clients;
	double duration;
	long count;
	int bad_pct;
	int interval_ms;
	int wait_go; /* submit: after the ready line, wait for a line on stdin before starting the clock */
	char **homes;
	size_t n_homes;
	char *doc;
	size_t doc_len;
};

static double now_s(void)
{
	return bench_clock_s(CLOCK_MONOTONIC);
}

static double rusage_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       (double)ru.ru_stime.tv_usec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The q-quantile (0..1) of sorted v[0..n), nearest rank; 0 for none. */
static double quantile(const double *v, size_t n, double q)
{
	size_t k;

	if (n == 0)
		return 0;
	k = (size_t)(q * (double)n + 0.999999);
	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return v[k - 1];
}

static volatile sig_atomic_t g_stop;
static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

/* Error counts by name: a tiny fixed table (names are static strings from varsko_strerrname or the server). */
struct counts {
	pthread_mutex_t mu;
	char name[32][112];
	long n[32];
	int used;
};

static void count_add(struct counts *c, const char *name)
{
	int i;

	pthread_mutex_lock(&c->mu);
	for (i = 0; i < c->used; i++)
		if (strcmp(c->name[i], name) == 0)
			break;
	if (i == c->used && c->used < 32)
		snprintf(c->name[c->used++], sizeof(c->name[0]), "%s", name);
	if (i < 32)
		c->n[i]++;
	pthread_mutex_unlock(&c->mu);
}

static void count_print(const struct counts *c)
{
	printf("{");
	for (int i = 0; i < c->used; i++)
		printf("%s\"%s\":%ld", i ? "," : "", c->name[i], c->n[i]); /* names carry no '"' (see error_add) */
	printf("}");
}

/* ---- submit ------------------------------------------------------------------ */

struct submit_shared {
	const struct opts *o;
	atomic_long issued; /* submissions started (bounded by --count) */
	pthread_barrier_t connected, go; /* every client connected; the clock started */
	double t_end;
	struct counts errors;
};

struct submit_thread {
	struct submit_shared *sh;
	int idx;
	pthread_t th;
	double *lat; /* good receipts, seconds */
	size_t n_lat, cap_lat;
	double *bad_lat; /* bad signatures refused, seconds */
	size_t n_bad, cap_bad;
	long ok, bad_refused, bad_accepted, failed, reconnects;
};

static int push_lat(double **v, size_t *n, size_t *cap, double x)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 1024;
		double *p = realloc(*v, nc * sizeof(*p));
		if (p == NULL)
			return -1;
		*v = p;
		*cap = nc;
	}
	(*v)[(*n)++] = x;
	return 0;
}

/*
 * A submission whose envelope is sealed and well-formed but whose signature
 * is broken: varskod must refuse it (bad_signature) before anything else.
 * Internal libvarsko calls (client.h): the public API never signs wrongly.
 * Returns the server's answer as an error code (VARSKO_ERR_BAD_SIGNATURE
 * expected) or VARSKO_OK if it was accepted (a bug in varskod).
 */
static int submit_bad_signature(struct varsko_conn *c, const char *doc, size_t len, const char *sub)
{
	struct uh_doc *d = NULL;
	struct uh_error ue;
	struct uh_header hdr;
	struct uh_date today;
	struct cal_local lt;
	struct proto_buf routing;
	struct env_recipient rcpt;
	struct env_params ep;
	struct env_envelope *env = NULL;
	json_t *obj = NULL, *req = NULL, *ans = NULL;
	int64_t now = (int64_t)time(NULL);
	int r;

	proto_buf_init(&routing);
	memset(&ue, 0, sizeof(ue));
	if ((r = uh_parse(doc, len, &d, &ue)) != VARSKO_OK || (r = cal_to_local(now, &lt)) != VARSKO_OK)
		goto out;
	today.year = lt.year;
	today.month = lt.month;
	today.day = lt.day;
	if ((r = uh_header_derive(d, &today, sub, now, &hdr)) != VARSKO_OK || (r = uh_header_encode(&hdr, &routing)) != VARSKO_OK)
		goto out;
	rcpt.device = c->id.device;
	memcpy(rcpt.box_pk, c->k->box_pk, sizeof(rcpt.box_pk));
	memset(&ep, 0, sizeof(ep));
	ep.kind = "underretning";
	ep.object_id = sub;
	ep.sender = c->id.device;
	ep.routing = routing.p;
	ep.routing_len = routing.len;
	if ((r = env_seal(&ep, &rcpt, 1, (const uint8_t *)doc, len, c->k->sign_sk, &env)) != VARSKO_OK)
		goto out;
	env->sig[7] ^= 0x10;
	if ((r = env_to_obj(env, &obj)) != VARSKO_OK)
		goto out;
	if ((req = json_object()) == NULL || json_object_set_new(req, "type", json_string("submit")) != 0 ||
	    json_object_set(req, "envelope", obj) != 0) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	r = conn_request(c, req, FLOW_T_RECEIPT, &ans);
out:
	uh_doc_free(d);
	env_free(env);
	proto_buf_free(&routing);
	json_decref(obj);
	json_decref(req);
	json_decref(ans);
	return r;
}

/* Count error r under its name and the library's detail (quotes and backslashes dropped for the JSON). */
static void error_add(struct counts *c, int r, const char *detail)
{
	char buf[112];
	size_t n;

	snprintf(buf, sizeof(buf), "%s: %s", varsko_strerrname(r), detail != NULL ? detail : "");
	for (n = 0; buf[n] != '\0'; n++)
		if (buf[n] == '"' || buf[n] == '\\' || (unsigned char)buf[n] < 0x20)
			buf[n] = '\'';
	count_add(c, buf);
}

/*
 * varsko_connect() one at a time: connects made at the same moment from
 * several threads failed now and then in the TLS handshake ("the server
 * accepted the connection but ended the handshake", an empty OpenSSL error;
 * varskod logs nothing), already at 4 clients; serialised they have not so
 * far. Whether the client library or varskod is at fault is not known yet.
 */
static pthread_mutex_t g_connect_mu = PTHREAD_MUTEX_INITIALIZER;

static int connect_one(struct varsko_home *h, const char *ca, struct varsko_conn **c)
{
	int r;

	pthread_mutex_lock(&g_connect_mu);
	r = varsko_connect(h, ca, c);
	pthread_mutex_unlock(&g_connect_mu);
	return r;
}

static int transport_error(int r)
{
	return r == VARSKO_ERR_CONNECT || r == VARSKO_ERR_TLS || r == VARSKO_ERR_TIMEOUT || r == VARSKO_ERR_CLOSED ||
	       r == VARSKO_ERR_PROTOCOL;
}

static void *submit_main(void *arg)
{
	struct submit_thread *t = arg;
	struct submit_shared *sh = t->sh;
	const struct opts *o = sh->o;
	struct varsko_home *h = NULL;
	struct varsko_conn *c = NULL;
	struct varsko_receipt_info info;
	const char *home = o->homes[(size_t)t->idx % o->n_homes];
	uint32_t seed = (uint32_t)t->idx * 2654435761u + (uint32_t)getpid();
	int r;

	if ((r = varsko_home_open(home, &h)) != VARSKO_OK) {
		count_add(&sh->errors, "home_open");
		t->failed++;
	}
	/* Connected (a few tries) before the clock starts: the window measures submissions, not logins. */
	for (int k = 0; h != NULL && c == NULL && k < 3; k++) {
		if ((r = connect_one(h, o->ca, &c)) != VARSKO_OK) {
			error_add(&sh->errors, r, varsko_home_detail(h));
			t->failed++;
		} else {
			t->reconnects++;
		}
	}
	pthread_barrier_wait(&sh->connected);
	pthread_barrier_wait(&sh->go);
	while (h != NULL && !g_stop && now_s() < sh->t_end) {
		char sub[VARSKO_SUBMISSION_LEN + 1];
		uint8_t rnd[16];
		double t0;
		int bad;

		if (c == NULL) {
			if ((r = connect_one(h, o->ca, &c)) != VARSKO_OK) {
				error_add(&sh->errors, r, varsko_home_detail(h));
				t->failed++;
				usleep(100 * 1000);
				continue;
			}
			t->reconnects++;
		}
		if (o->count > 0 && atomic_fetch_add(&sh->issued, 1) >= o->count)
			break;
		randombytes_buf(rnd, sizeof(rnd));
		memcpy(sub, "s-", 2);
		sodium_bin2hex(sub + 2, sizeof(sub) - 2, rnd, sizeof(rnd));
		seed = seed * 1103515245u + 12345u;
		bad = o->bad_pct > 0 && (int)((seed >> 8) % 100u) < o->bad_pct;
		t0 = now_s();
		if (bad) {
			r = submit_bad_signature(c, o->doc, o->doc_len, sub);
			if (r == VARSKO_ERR_BAD_SIGNATURE) {
				t->bad_refused++;
				push_lat(&t->bad_lat, &t->n_bad, &t->cap_bad, now_s() - t0);
			} else if (r == VARSKO_OK) {
				t->bad_accepted++;
			}
		} else {
			r = varsko_underret_send(c, o->doc, o->doc_len, sub, &info, NULL);
			if (r == VARSKO_OK) {
				t->ok++;
				push_lat(&t->lat, &t->n_lat, &t->cap_lat, now_s() - t0);
			}
		}
		if (r != VARSKO_OK && !(bad && r == VARSKO_ERR_BAD_SIGNATURE)) {
			error_add(&sh->errors, r, varsko_conn_detail(c));
			t->failed++;
			if (transport_error(r)) {
				varsko_close(c);
				c = NULL;
			}
		}
	}
	varsko_close(c);
	varsko_home_close(h);
	return NULL;
}

static int run_submit(const struct opts *o)
{
	struct submit_shared sh;
	struct submit_thread *ts = calloc((size_t)o->clients, sizeof(*ts));
	double t0, wall, cpu0 = rusage_cpu_s(), cpu;
	double *all = NULL, *bad = NULL;
	size_t n_all = 0, n_bad = 0;
	long ok = 0, bad_refused = 0, bad_accepted = 0, failed = 0, reconnects = 0;

	if (ts == NULL)
		return 1;
	memset(&sh, 0, sizeof(sh));
	pthread_mutex_init(&sh.errors.mu, NULL);
	sh.o = o;
	atomic_init(&sh.issued, 0);
	pthread_barrier_init(&sh.connected, NULL, (unsigned)o->clients + 1);
	pthread_barrier_init(&sh.go, NULL, (unsigned)o->clients + 1);
	for (int i = 0; i < o->clients; i++) {
		ts[i].sh = &sh;
		ts[i].idx = i;
		if (pthread_create(&ts[i].th, NULL, submit_main, &ts[i]) != 0) {
			fprintf(stderr, "loadgen: cannot start thread %d\n", i);
			return 1;
		}
	}
	pthread_barrier_wait(&sh.connected);
	printf("{\"event\":\"ready\",\"clients\":%d}\n", o->clients);
	fflush(stdout);
	if (o->wait_go) { /* the caller starts its own measurement first, then writes a line */
		char line[16];
		if (fgets(line, sizeof(line), stdin) == NULL)
			g_stop = 1;
	}
	t0 = now_s();
	sh.t_end = t0 + o->duration;
	cpu0 = rusage_cpu_s();
	pthread_barrier_wait(&sh.go);
	for (int i = 0; i < o->clients; i++)
		pthread_join(ts[i].th, NULL);
	wall = now_s() - t0;
	cpu = rusage_cpu_s() - cpu0;
	for (int i = 0; i < o->clients; i++) {
		ok += ts[i].ok;
		bad_refused += ts[i].bad_refused;
		bad_accepted += ts[i].bad_accepted;
		failed += ts[i].failed;
		reconnects += ts[i].reconnects;
		n_all += ts[i].n_lat;
		n_bad += ts[i].n_bad;
	}
	all = malloc((n_all + 1) * sizeof(*all));
	bad = malloc((n_bad + 1) * sizeof(*bad));
	n_all = n_bad = 0;
	for (int i = 0; i < o->clients; i++) {
		if (ts[i].n_lat)
			memcpy(all + n_all, ts[i].lat, ts[i].n_lat * sizeof(*all));
		n_all += ts[i].n_lat;
		if (ts[i].n_bad)
			memcpy(bad + n_bad, ts[i].bad_lat, ts[i].n_bad * sizeof(*bad));
		n_bad += ts[i].n_bad;
		free(ts[i].lat);
		free(ts[i].bad_lat);
	}
	qsort(all, n_all, sizeof(*all), cmp_double);
	qsort(bad, n_bad, sizeof(*bad), cmp_double);
	printf("{\"mode\":\"submit\",\"clients\":%d,\"homes\":%zu,\"ok\":%ld,\"bad_sig_refused\":%ld,"
	       "\"bad_sig_accepted\":%ld,\"failed\":%ld,\"connects\":%ld,\"wall_s\":%.3f,\"receipts_per_s\":%.2f,"
	       "\"lat_ms\":{\"p50\":%.2f,\"p99\":%.2f,\"p999\":%.2f,\"max\":%.2f},\"bad_lat_ms_p99\":%.2f,"
	       "\"loadgen_cpu_s\":%.3f,\"errors\":",
	       o->clients, o->n_homes < (size_t)o->clients ? o->n_homes : (size_t)o->clients, ok, bad_refused,
	       bad_accepted, failed, reconnects, wall, wall > 0 ? (double)ok / wall : 0, quantile(all, n_all, 0.5) * 1e3,
	       quantile(all, n_all, 0.99) * 1e3, quantile(all, n_all, 0.999) * 1e3,
	       n_all ? all[n_all - 1] * 1e3 : 0, quantile(bad, n_bad, 0.99) * 1e3, cpu);
	count_print(&sh.errors);
	printf("}\n");
	fflush(stdout);
	free(all);
	free(bad);
	free(ts);
	return 0;
}

/* ---- raw TLS WebSocket connections ------------------------------------------- */

struct raw {
	int fd;
	SSL *ssl;
	unsigned char *in; /* bytes read, not yet parsed */
	size_t in_len, in_cap;
	int open;
	double next; /* garbage/slowloris: when to send next */
};

static SSL_CTX *g_ctx;

static int tcp_connect(const struct opts *o)
{
	struct sockaddr_in a;
	struct timeval tv = {5, 0};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)o->port);
	inet_pton(AF_INET, o->host, &a.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (o->source != NULL) {
		struct sockaddr_in l;

		memset(&l, 0, sizeof(l));
		l.sin_family = AF_INET;
		if (inet_pton(AF_INET, o->source, &l.sin_addr) != 1 || bind(fd, (struct sockaddr *)&l, sizeof(l)) != 0) {
			close(fd);
			return -1;
		}
	}
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void raw_close(struct raw *c)
{
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	if (c->fd >= 0)
		close(c->fd);
	free(c->in);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* Write all of buf (blocking or non-blocking socket); 0 or -1. */
static int ssl_write_all(struct raw *c, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	while (len > 0) {
		int n = SSL_write(c->ssl, p, (int)len);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		int e = SSL_get_error(c->ssl, n);
		if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
			struct pollfd pf = {c->fd, e == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN, 0};
			if (poll(&pf, 1, 2000) <= 0)
				return -1;
			continue;
		}
		return -1;
	}
	return 0;
}

static int ws_send(struct raw *c, const char *text, size_t len)
{
	unsigned char hdr[14];
	size_t h = 0;
	unsigned char *frame;
	int r;

	hdr[h++] = 0x81; /* FIN, text */
	if (len < 126) {
		hdr[h++] = (unsigned char)(0x80 | len);
	} else if (len < 65536) {
		hdr[h++] = 0x80 | 126;
		hdr[h++] = (unsigned char)(len >> 8);
		hdr[h++] = (unsigned char)len;
	} else {
		hdr[h++] = 0x80 | 127;
		for (int i = 7; i >= 0; i--)
			hdr[h++] = (unsigned char)((uint64_t)len >> (8 * i));
	}
	memset(hdr + h, 0, 4); /* masking key 0: the payload goes as is (RFC 6455 allows any key) */
	h += 4;
	if ((frame = malloc(h + len)) == NULL)
		return -1;
	memcpy(frame, hdr, h);
	memcpy(frame + h, text, len);
	r = ssl_write_all(c, frame, h + len);
	free(frame);
	return r;
}

/* Read what is there into c->in; blocking: wait for at least one byte. 1 read, 0 nothing (non-blocking), -1 closed. */
static int raw_fill(struct raw *c)
{
	unsigned char buf[16384];
	int n;

	n = SSL_read(c->ssl, buf, sizeof(buf));
	if (n <= 0) {
		int e = SSL_get_error(c->ssl, n);
		return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? 0 : -1;
	}
	if (c->in_len + (size_t)n > c->in_cap) {
		size_t nc = (c->in_len + (size_t)n) * 2;
		unsigned char *p = realloc(c->in, nc);
		if (p == NULL)
			return -1;
		c->in = p;
		c->in_cap = nc;
	}
	memcpy(c->in + c->in_len, buf, (size_t)n);
	c->in_len += (size_t)n;
	return 1;
}

/*
 * Take one complete message out of c->in: *text (malloc, NUL-terminated)
 * for a text message; pings are answered, a close gives -1. 1 taken, 0 need
 * more bytes.
 */
static int ws_take(struct raw *c, char **text, size_t *tlen)
{
	size_t h = 2, len;
	int op;

	*text = NULL;
	if (c->in_len < 2)
		return 0;
	op = c->in[0] & 0x0f;
	len = c->in[1] & 0x7f;
	if (len == 126) {
		if (c->in_len < 4)
			return 0;
		len = ((size_t)c->in[2] << 8) | c->in[3];
		h = 4;
	} else if (len == 127) {
		if (c->in_len < 10)
			return 0;
		len = 0;
		for (int i = 0; i < 8; i++)
			len = (len << 8) | c->in[2 + i];
		h = 10;
	}
	if (c->in_len < h + len)
		return 0;
	if (op == 0x8)
		return -1;
	if (op == 0x9) { /* ping: pong with the same payload */
		unsigned char pong[2 + 4 + 125];
		size_t pl = len < 125 ? len : 125;
		pong[0] = 0x8a;
		pong[1] = (unsigned char)(0x80 | pl);
		memset(pong + 2, 0, 4);
		memcpy(pong + 6, c->in + h, pl);
		ssl_write_all(c, pong, 6 + pl);
	} else if (op == 0x1 || op == 0x0) {
		if ((*text = malloc(len + 1)) == NULL)
			return -1;
		memcpy(*text, c->in + h, len);
		(*text)[len] = '\0';
		*tlen = len;
	}
	memmove(c->in, c->in + h + len, c->in_len - h - len);
	c->in_len -= h + len;
	return 1;
}

/* The next text message, blocking (socket timeouts bound it). */
static int ws_recv_blocking(struct raw *c, char **text, size_t *len)
{
	for (;;) {
		int r = ws_take(c, text, len);
		if (r < 0)
			return -1;
		if (r > 0 && *text != NULL)
			return 0;
		if (r == 0 && raw_fill(c) <= 0)
			return -1;
	}
}

/* TLS, the WebSocket upgrade and the server's hello (returned in *hello, a JSON object). 0 or -1. */
static int raw_open(const struct opts *o, struct raw *c, json_t **hello)
{
	char req[512], key[25], *text = NULL;
	unsigned char rnd[16], resp[2048];
	size_t got = 0, len = 0;

	memset(c, 0, sizeof(*c));
	*hello = NULL;
	if ((c->fd = tcp_connect(o)) < 0)
		goto fail;
	if ((c->ssl = SSL_new(g_ctx)) == NULL || SSL_set_fd(c->ssl, c->fd) != 1 ||
	    SSL_set_tlsext_host_name(c->ssl, "localhost") != 1 || SSL_connect(c->ssl) != 1)
		goto fail;
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2base64(key, sizeof(key), rnd, sizeof(rnd), sodium_base64_VARIANT_ORIGINAL);
	snprintf(req, sizeof(req),
	         "GET / HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	         "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: varsko.v1\r\n\r\n",
	         o->host, o->port, key);
	if (ssl_write_all(c, req, strlen(req)) != 0)
		goto fail;
	/* The response head, byte by byte up to the blank line: whatever follows is WebSocket. */
	while (got < sizeof(resp) - 1) {
		if (SSL_read(c->ssl, resp + got, 1) != 1)
			goto fail;
		got++;
		if (got >= 4 && memcmp(resp + got - 4, "\r\n\r\n", 4) == 0)
			break;
	}
	resp[got] = '\0';
	if (strncmp((char *)resp, "HTTP/1.1 101", 12) != 0)
		goto fail;
	c->open = 1;
	if (ws_recv_blocking(c, &text, &len) != 0 || (*hello = json_loadb(text, len, 0, NULL)) == NULL)
		goto fail;
	free(text);
	return 0;
fail:
	free(text);
	raw_close(c);
	return -1;
}

/* A device's signing key from an enrolled home's device.key. */
struct devkey {
	uint8_t sk[64];
	char device[PROTO_DEVICE_ID_LEN + 1];
};

static int devkey_load(const char *home, struct devkey *k)
{
	char path[4096], *text;
	size_t len = 0, bin = 0;
	json_t *j;
	const char *b64;
	int r = -1;

	snprintf(path, sizeof(path), "%s/device.key", home);
	if (file_read(path, 4096, 0, &text, &len) != VARSKO_OK)
		return -1;
	if ((j = json_loadb(text, len, 0, NULL)) != NULL && (b64 = json_string_value(json_object_get(j, "sign_sk"))) &&
	    sodium_base642bin(k->sk, sizeof(k->sk), b64, strlen(b64), NULL, &bin, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) == 0 &&
	    bin == 64) {
		proto_device_id(k->sk + 32, k->device);
		r = 0;
	}
	json_decref(j);
	file_free(text, len, 0);
	return r;
}

/* Log in on an open raw connection whose hello is given; 0 when the answer is a session. */
static int raw_login(const struct opts *o, struct raw *c, const json_t *hello, const struct devkey *k)
{
	uint8_t nonce[PROTO_NONCE_LEN], sig[PROTO_SIG_LEN];
	char origin[128], tbuf[32], sigb64[sodium_base64_ENCODED_LEN(PROTO_SIG_LEN, sodium_base64_VARIANT_ORIGINAL)];
	const char *nb64 = json_string_value(json_object_get(hello, "nonce"));
	struct proto_buf in;
	size_t bin = 0, len = 0;
	int64_t t = (int64_t)time(NULL);
	struct tm tm;
	time_t tt = (time_t)t;
	char *frame = NULL, *ans = NULL;
	int r = -1;

	if (nb64 == NULL || sodium_base642bin(nonce, sizeof(nonce), nb64, strlen(nb64), NULL, &bin, NULL,
	                                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    bin != sizeof(nonce))
		return -1;
	snprintf(origin, sizeof(origin), "wss://%s:%d", o->host, o->port);
	gmtime_r(&tt, &tm);
	strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	proto_buf_init(&in);
	if (proto_login_signing_input(nonce, origin, k->device, t, &in) != VARSKO_OK ||
	    proto_sign(sig, &in, k->sk) != VARSKO_OK) {
		proto_buf_free(&in);
		return -1;
	}
	proto_buf_free(&in);
	sodium_bin2base64(sigb64, sizeof(sigb64), sig, sizeof(sig), sodium_base64_VARIANT_ORIGINAL);
	if (asprintf(&frame, "{\"type\":\"login\",\"id\":\"l1\",\"device\":\"%s\",\"origin\":\"%s\",\"time\":\"%s\","
	                     "\"sig\":\"%s\"}",
	             k->device, origin, tbuf, sigb64) < 0)
		return -1;
	if (ws_send(c, frame, strlen(frame)) == 0 && ws_recv_blocking(c, &ans, &len) == 0 &&
	    strstr(ans, "\"type\":\"session\"") != NULL)
		r = 0;
	free(frame);
	free(ans);
	return r;
}

static void set_nonblocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Read and drop what a non-blocking connection has (answering pings); -1 when it closed. */
static int raw_drain(struct raw *c, struct counts *codes)
{
	for (;;) {
		char *text;
		size_t len;
		int t, r = raw_fill(c);
		if (r < 0)
			return -1;
		while ((t = ws_take(c, &text, &len)) > 0) {
			if (text != NULL && codes != NULL) {
				const char *p = strstr(text, "\"code\":\"");
				char code[40] = "answer";
				if (p != NULL) {
					size_t n = strcspn(p + 8, "\"");
					snprintf(code, sizeof(code), "%.*s", (int)(n < 39 ? n : 39), p + 8);
				}
				count_add(codes, code);
			}
			free(text);
		}
		if (t < 0)
			return -1;
		if (r == 0)
			return 0;
	}
}

/* Drain every open connection of cs[0..n) that poll() finds readable within wait_ms; closed ones are freed. */
static long raw_poll_drain(struct raw *cs, size_t n, int wait_ms, struct counts *codes)
{
	struct pollfd *pf = calloc((size_t)n, sizeof(*pf));
	long closed = 0;

	if (pf == NULL)
		return 0;
	for (size_t i = 0; i < n; i++) {
		pf[i].fd = cs[i].ssl != NULL ? cs[i].fd : -1;
		pf[i].events = POLLIN;
	}
	if (poll(pf, (nfds_t)n, wait_ms) > 0) {
		for (size_t i = 0; i < n; i++)
			if (pf[i].revents != 0 && cs[i].ssl != NULL && raw_drain(&cs[i], codes) < 0) {
				raw_close(&cs[i]);
				closed++;
			}
	}
	free(pf);
	return closed;
}

/* ---- idle, garbage, flood, slowloris ------------------------------------------------ */

static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void summary_tail(double t0, double cpu0)
{
	printf(",\"wall_s\":%.3f,\"loadgen_cpu_s\":%.3f}\n", now_s() - t0, rusage_cpu_s() - cpu0);
	fflush(stdout);
}

struct idle_open {
	const struct opts *o;
	struct raw *cs;
	const struct devkey *keys;
	int first, step;
	long opened, failed;
};

/* Open and log in connections first, first + step, ... (one of several opener threads). */
static void *idle_open_main(void *arg)
{
	struct idle_open *io = arg;
	const struct opts *o = io->o;

	for (int i = io->first; i < o->clients && !g_stop; i += io->step) {
		json_t *hello = NULL;
		if (raw_open(o, &io->cs[i], &hello) != 0 ||
		    raw_login(o, &io->cs[i], hello, &io->keys[(size_t)i % o->n_homes]) != 0) {
			raw_close(&io->cs[i]);
			io->failed++;
		} else {
			set_nonblocking(io->cs[i].fd);
			io->opened++;
		}
		json_decref(hello);
	}
	return NULL;
}

#define IDLE_OPENERS 16 /* logins in flight at once, so that varskod can group their audit rows */

static int run_idle(const struct opts *o)
{
	struct raw *cs = calloc((size_t)o->clients, sizeof(*cs));
	struct devkey *keys = calloc(o->n_homes, sizeof(*keys));
	struct idle_open io[IDLE_OPENERS];
	pthread_t th[IDLE_OPENERS];
	double t0 = now_s(), cpu0 = rusage_cpu_s(), t_open;
	long opened = 0, failed = 0, closed = 0;
	int n_th = o->clients < IDLE_OPENERS ? o->clients : IDLE_OPENERS;

	if (cs == NULL || keys == NULL)
		return 1;
	for (size_t i = 0; i < o->n_homes; i++)
		if (devkey_load(o->homes[i], &keys[i]) != 0) {
			fprintf(stderr, "loadgen: no device key in %s\n", o->homes[i]);
			return 1;
		}
	for (int i = 0; i < o->clients; i++)
		cs[i].fd = -1;
	for (int k = 0; k < n_th; k++) {
		io[k] = (struct idle_open){o, cs, keys, k, n_th, 0, 0};
		if (pthread_create(&th[k], NULL, idle_open_main, &io[k]) != 0)
			return 1;
	}
	for (int k = 0; k < n_th; k++) {
		pthread_join(th[k], NULL);
		opened += io[k].opened;
		failed += io[k].failed;
	}
	t_open = now_s() - t0;
	printf("{\"event\":\"ready\",\"open\":%ld,\"failed\":%ld,\"open_s\":%.2f}\n", opened, failed, t_open);
	fflush(stdout);
	while (!g_stop && now_s() < t0 + t_open + o->duration) {
		closed += raw_poll_drain(cs, (size_t)o->clients, 500, NULL); /* pings answered, pushes dropped */
	}
	printf("{\"mode\":\"idle\",\"clients\":%d,\"opened\":%ld,\"failed\":%ld,\"closed_by_server\":%ld,"
	       "\"still_open\":%ld,\"open_s\":%.2f",
	       o->clients, opened, failed, closed, opened - closed, t_open);
	summary_tail(t0, cpu0);
	for (int i = 0; i < o->clients; i++)
		raw_close(&cs[i]);
	free(cs);
	free(keys);
	return 0;
}

static int run_garbage(const struct opts *o)
{
	struct raw *cs = calloc((size_t)o->clients, sizeof(*cs));
	double t0 = now_s(), cpu0 = rusage_cpu_s();
	long opens = 0, open_failed = 0, closed = 0, frames = 0;
	struct counts codes;
	static const char junk[] = "\x7f{not json at all ]]] \xc3\x28 garbage garbage garbage garbage garbage";

	if (cs == NULL)
		return 1;
	memset(&codes, 0, sizeof(codes));
	pthread_mutex_init(&codes.mu, NULL);
	for (int i = 0; i < o->clients; i++)
		cs[i].fd = -1;
	while (!g_stop && now_s() < t0 + o->duration) {
		double t = now_s();
		for (int i = 0; i < o->clients && !g_stop; i++) {
			struct raw *c = &cs[i];
			if (c->ssl == NULL) {
				json_t *hello = NULL;
				if (raw_open(o, c, &hello) != 0) {
					open_failed++;
					continue;
				}
				json_decref(hello);
				set_nonblocking(c->fd);
				opens++;
				c->next = t + (double)(i % 100) * o->interval_ms / 100e3;
			}
			if (t >= c->next) {
				if (ws_send(c, junk, sizeof(junk) - 1) != 0) {
					raw_close(c);
					closed++;
					continue;
				}
				frames++;
				c->next = t + o->interval_ms / 1e3;
			}
		}
		closed += raw_poll_drain(cs, (size_t)o->clients, 5, &codes);
	}
	printf("{\"mode\":\"garbage\",\"clients\":%d,\"opens\":%ld,\"open_failed\":%ld,\"closed_by_server\":%ld,"
	       "\"frames\":%ld,\"answers\":",
	       o->clients, opens, open_failed, closed, frames);
	count_print(&codes);
	summary_tail(t0, cpu0);
	for (int i = 0; i < o->clients; i++)
		raw_close(&cs[i]);
	free(cs);
	return 0;
}

static int run_flood(const struct opts *o)
{
	struct raw c;
	struct devkey k;
	struct counts codes;
	double t0 = now_s(), cpu0 = rusage_cpu_s();
	long sessions = 0, login_failed = 0, frames = 0, closed = 0;
	char frame[96];

	memset(&codes, 0, sizeof(codes));
	pthread_mutex_init(&codes.mu, NULL);
	if (o->n_homes < 1 || devkey_load(o->homes[0], &k) != 0) {
		fprintf(stderr, "loadgen: flood needs --homes with an enrolled home\n");
		return 1;
	}
	memset(&c, 0, sizeof(c));
	c.fd = -1;
	while (!g_stop && now_s() < t0 + o->duration) {
		if (c.ssl == NULL) {
			json_t *hello = NULL;
			if (raw_open(o, &c, &hello) != 0 || raw_login(o, &c, hello, &k) != 0) {
				raw_close(&c);
				json_decref(hello);
				login_failed++;
				usleep(100 * 1000);
				continue;
			}
			json_decref(hello);
			set_nonblocking(c.fd);
			sessions++;
		}
		for (int b = 0; b < 64; b++) {
			int n = snprintf(frame, sizeof(frame), "{\"type\":\"whoami\",\"id\":\"f%ld\"}", frames);
			if (ws_send(&c, frame, (size_t)n) != 0)
				break;
			frames++;
		}
		if (raw_drain(&c, &codes) < 0) {
			raw_close(&c);
			closed++;
		}
	}
	printf("{\"mode\":\"flood\",\"sessions\":%ld,\"login_failed\":%ld,\"closed_by_server\":%ld,\"frames\":%ld,"
	       "\"frames_per_s\":%.0f,\"answers\":",
	       sessions, login_failed, closed, frames, frames / (now_s() - t0));
	count_print(&codes);
	summary_tail(t0, cpu0);
	raw_close(&c);
	return 0;
}

static int run_slowloris(const struct opts *o)
{
	int *fds = malloc((size_t)o->clients * sizeof(int));
	double *next = calloc((size_t)o->clients, sizeof(double));
	double t0 = now_s(), cpu0 = rusage_cpu_s();
	long opens = 0, open_failed = 0, closed = 0, held_max = 0;
	/* A TLS record header announcing a 512-byte handshake message, and the start of a ClientHello. */
	static const unsigned char start[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03};

	if (fds == NULL || next == NULL)
		return 1;
	for (int i = 0; i < o->clients; i++)
		fds[i] = -1;
	while (!g_stop && now_s() < t0 + o->duration) {
		double t = now_s();
		long held = 0;
		for (int i = 0; i < o->clients && !g_stop; i++) {
			if (fds[i] < 0) {
				if ((fds[i] = tcp_connect(o)) < 0) {
					open_failed++;
					continue;
				}
				set_nonblocking(fds[i]);
				if (send(fds[i], start, sizeof(start), MSG_NOSIGNAL) != (ssize_t)sizeof(start)) {
					close(fds[i]);
					fds[i] = -1;
					closed++;
					continue;
				}
				opens++;
				next[i] = t + 3.0;
			}
			if (t >= next[i]) { /* one more byte of the ClientHello: the handshake is never finished */
				unsigned char b = 0x5a;
				if (send(fds[i], &b, 1, MSG_NOSIGNAL) != 1 && errno != EAGAIN) {
					close(fds[i]);
					fds[i] = -1;
					closed++;
					continue;
				}
				next[i] = t + 3.0;
			}
			{
				char buf[512];
				ssize_t n = recv(fds[i], buf, sizeof(buf), 0);
				if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
					close(fds[i]);
					fds[i] = -1;
					closed++;
					continue;
				}
			}
			held++;
		}
		if (held > held_max)
			held_max = held;
		usleep(50 * 1000);
	}
	printf("{\"mode\":\"slowloris\",\"clients\":%d,\"opens\":%ld,\"open_failed\":%ld,\"closed_by_server\":%ld,"
	       "\"held_max\":%ld",
	       o->clients, opens, open_failed, closed, held_max);
	summary_tail(t0, cpu0);
	for (int i = 0; i < o->clients; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	free(next);
	return 0;
}

/* ---- main ---------------------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr,
	        "usage: loadgen MODE --url wss://127.0.0.1:PORT --ca FILE [--homes FILE] [--clients N]\n"
	        "       [--duration S] [--count N] [--doc FILE] [--bad-sig-percent P] [--interval-ms MS] [--wait-go]\n"
	        "       [--source ADDR]  (raw modes: connect from this local IPv4 address)\n"
	        "MODE: submit | idle | garbage | slowloris | flood. --homes: a file naming enrolled homes, one a line.\n");
}

static int load_homes(struct opts *o)
{
	size_t len = 0;
	char *text = NULL, *save = NULL;

	if (file_read(o->homes_path, 16 << 20, 0, &text, &len) != VARSKO_OK)
		return -1;
	for (char *line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		char **p = realloc(o->homes, (o->n_homes + 1) * sizeof(*p));
		if (p == NULL)
			return -1;
		o->homes = p;
		o->homes[o->n_homes++] = strdup(line);
	}
	file_free(text, len, 0);
	return o->n_homes > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct sigaction sa;
	int rc;

	memset(&o, 0, sizeof(o));
	o.clients = 1;
	o.duration = 10;
	o.interval_ms = 100;
	if (argc < 2) {
		usage();
		return 2;
	}
	o.mode = argv[1];
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--wait-go") == 0) {
			o.wait_go = 1;
			continue;
		}
		if (v == NULL) {
			usage();
			return 2;
		}
		i++;
		if (strcmp(a, "--url") == 0)
			o.url = v;
		else if (strcmp(a, "--ca") == 0)
			o.ca = v;
		else if (strcmp(a, "--homes") == 0)
			o.homes_path = v;
		else if (strcmp(a, "--clients") == 0)
			o.clients = atoi(v);
		else if (strcmp(a, "--duration") == 0)
			o.duration = atof(v);
		else if (strcmp(a, "--count") == 0)
			o.count = atol(v);
		else if (strcmp(a, "--doc") == 0)
			o.doc_path = v;
		else if (strcmp(a, "--bad-sig-percent") == 0)
			o.bad_pct = atoi(v);
		else if (strcmp(a, "--interval-ms") == 0)
			o.interval_ms = atoi(v);
		else if (strcmp(a, "--source") == 0)
			o.source = v;
		else {
			usage();
			return 2;
		}
	}
	if (o.url == NULL || sscanf(o.url, "wss://%63[^:]:%d", o.host, &o.port) != 2 || o.ca == NULL ||
	    o.clients < 1 || o.duration <= 0 || o.bad_pct < 0 || o.bad_pct > 100 || o.interval_ms < 1) {
		usage();
		return 2;
	}
	if (sodium_init() < 0)
		return 1;
	if (o.homes_path != NULL && load_homes(&o) != 0) {
		fprintf(stderr, "loadgen: cannot read homes from %s\n", o.homes_path);
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	if ((g_ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_load_verify_locations(g_ctx, o.ca, NULL) != 1) {
		fprintf(stderr, "loadgen: cannot load CA %s\n", o.ca);
		return 1;
	}
	SSL_CTX_set_verify(g_ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_min_proto_version(g_ctx, TLS1_2_VERSION);
	if (strcmp(o.mode, "submit") == 0) {
		if (o.n_homes < 1 || o.doc_path == NULL || file_read(o.doc_path, 16 << 20, 0, &o.doc, &o.doc_len) != VARSKO_OK) {
			fprintf(stderr, "loadgen: submit needs --homes and a readable --doc\n");
			return 2;
		}
		rc = run_submit(&o);
	} else if (strcmp(o.mode, "idle") == 0) {
		if (o.n_homes < 1) {
			fprintf(stderr, "loadgen: idle needs --homes\n");
			return 2;
		}
		rc = run_idle(&o);
	} else if (strcmp(o.mode, "garbage") == 0) {
		rc = run_garbage(&o);
	} else if (strcmp(o.mode, "slowloris") == 0) {
		rc = run_slowloris(&o);
	} else if (strcmp(o.mode, "flood") == 0) {
		rc = run_flood(&o);
	} else {
		usage();
		return 2;
	}
	SSL_CTX_free(g_ctx);
	return rc;
}
