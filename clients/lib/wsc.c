/*
 * wsc.c: a synchronous WebSocket client for one connection.
 *
 * Each struct wsc owns a private lws context with one client connection. The
 * calls below service that context on the caller's thread until what they
 * wait for has happened or their deadline passes; a timer scheduled at the
 * deadline makes sure lws's poll wakes up in time. No threads are used.
 *
 * TLS: we hand lws our own OpenSSL client context so that we decide what is
 * trusted: only the CA file given (never the system store), TLS 1.2 or newer,
 * peer verification required, and the host name (or IP address) of the URL
 * bound to the verification on the context as well as by lws per connection.
 * Nothing here ever allows a self-signed, expired or mismatched certificate.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#include <libwebsockets.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "client.h"

#define WSC_HOST_MAX      255
#define WSC_PATH_MAX      1024
#define WSC_CLOSE_WAIT_MS 1000

struct wsc_msg {
	struct wsc_msg *next;
	size_t len;
	int binary;
	char buf[]; /* NUL-terminated */
};

struct wsc {
	struct lws_context *ctx;
	struct lws *wsi;
	SSL_CTX *ssl_ctx;
	lws_sorted_usec_list_t sul; /* wakes the poll at the deadline */

	int established; /* handshake done */
	int failed;      /* connection error before established */
	int tls_failed;  /* the server certificate did not verify */
	int closed;      /* connection gone */
	int closing;     /* we asked to close */
	int close_code;  /* peer's close code, 0 if none */
	int overflow;    /* a message exceeded max */
	size_t max;      /* largest message accepted (PROTO_FRAME_MAX until wsc_set_max) */

	/* The message being received, and the queue of complete ones. */
	struct proto_buf rx; /* wiped when reset or freed */
	int rx_binary;
	struct wsc_msg *head, **tail;

	/* The message being sent (LWS_PRE headroom in front). */
	unsigned char *tx;
	size_t tx_len;

	char detail[HOME_DETAIL_MAX + 1];
};

int64_t wsc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *wsc_detail(const struct wsc *w)
{
	return w->detail;
}

/*
 * Split "wss://HOST[:PORT][/PATH]" into its parts. host receives the name
 * without brackets (an IPv6 literal is given in brackets in the URL);
 * hosthdr receives what the Host header carries ("host:port").
 */
static int parse_url(const char *url, char host[WSC_HOST_MAX + 1], char hosthdr[WSC_HOST_MAX + 10], int *port,
                     char path[WSC_PATH_MAX + 1])
{
	const char *p, *hs, *he;
	char origin[PROTO_ORIGIN_MAX + 1];
	long v = 443;
	char *end;

	/* The protocol's own parser decides what a valid URL is. */
	if (proto_origin_from_url(url, origin) != VARSKO_OK)
		return VARSKO_ERR_BAD_INPUT;
	if (strncasecmp(url, "wss://", 6) != 0)
		return VARSKO_ERR_BAD_INPUT;
	p = url + 6;
	if (*p == '[') {
		hs = p + 1;
		if ((he = strchr(hs, ']')) == NULL)
			return VARSKO_ERR_BAD_INPUT;
		p = he + 1;
	} else {
		hs = p;
		he = hs + strcspn(hs, ":/?#");
		p = he;
	}
	if (he == hs || (size_t)(he - hs) > WSC_HOST_MAX)
		return VARSKO_ERR_BAD_INPUT;
	memcpy(host, hs, (size_t)(he - hs));
	host[he - hs] = '\0';
	if (*p == ':') {
		v = strtol(p + 1, &end, 10);
		if (end == p + 1 || v < 1 || v > 65535)
			return VARSKO_ERR_BAD_INPUT;
		p = end;
	}
	*port = (int)v;
	if (*p == '\0') {
		path[0] = '/';
		path[1] = '\0';
	} else if (*p == '/') {
		if (proto_str_copy(path, WSC_PATH_MAX + 1, p) != VARSKO_OK)
			return VARSKO_ERR_BAD_INPUT;
	} else {
		return VARSKO_ERR_BAD_INPUT;
	}
	if (strchr(host, ':') != NULL)
		snprintf(hosthdr, WSC_HOST_MAX + 10, "[%s]:%d", host, *port);
	else
		snprintf(hosthdr, WSC_HOST_MAX + 10, "%s:%d", host, *port);
	return VARSKO_OK;
}

static void wsc_wake(lws_sorted_usec_list_t *sul)
{
	(void)sul; /* only here to end the poll */
}

static int on_rx(struct wsc *w, struct lws *wsi, const void *in, size_t len)
{
	struct wsc_msg *m;

	if (w->rx.len == 0)
		w->rx_binary = lws_frame_is_binary(wsi);
	if (len > w->max - w->rx.len) {
		w->overflow = 1;
		return -1;
	}
	/* The first fragment reserves one default frame, so most messages never make the buffer grow. */
	if (w->rx.cap == 0)
		(void)proto_buf_reserve(&w->rx, PROTO_FRAME_MAX);
	proto_buf_add(&w->rx, in, len);
	if (w->rx.err != VARSKO_OK)
		return -1;
	if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) != 0)
		return 0;
	if ((m = malloc(sizeof(*m) + w->rx.len + 1)) == NULL)
		return -1;
	m->next = NULL;
	m->len = w->rx.len;
	m->binary = w->rx_binary;
	memcpy(m->buf, w->rx.p, w->rx.len);
	m->buf[w->rx.len] = '\0';
	*w->tail = m;
	w->tail = &m->next;
	proto_buf_reset(&w->rx);
	return 0;
}

static int wsc_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct wsc *w = NULL;
	const unsigned char *cp = in;
	X509_STORE_CTX *xs;
	SSL *ssl;
	int err;

	if (reason == LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION) {
		/* user is the X509_STORE_CTX, in the SSL, len preverify_ok. */
		xs = user;
		ssl = in;
		w = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
		if (w != NULL && len == 0) {
			err = X509_STORE_CTX_get_error(xs);
			w->tls_failed = 1;
			snprintf(w->detail, sizeof(w->detail), "server certificate: %s",
			         X509_verify_cert_error_string(err));
		}
		return 0; /* never override OpenSSL's verdict */
	}
	if (wsi != NULL && lws_get_context(wsi) != NULL)
		w = lws_context_user(lws_get_context(wsi));
	if (w == NULL)
		return 0;

	switch (reason) {
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		w->failed = 1;
		if (!w->tls_failed)
			detail_set(w->detail, sizeof(w->detail), in != NULL ? (const char *)in : "connection failed");
		w->wsi = NULL;
		break;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		w->established = 1;
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		return on_rx(w, wsi, in, len);
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (w->closing) {
			lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
			return -1;
		}
		if (w->tx != NULL) {
			int n = lws_write(wsi, w->tx + LWS_PRE, w->tx_len, LWS_WRITE_TEXT);

			proto_wipe_free(w->tx, LWS_PRE + w->tx_len);
			w->tx = NULL;
			if (n < 0 || (size_t)n < w->tx_len)
				return -1;
		}
		break;
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (len >= 2)
			w->close_code = (cp[0] << 8) | cp[1];
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		w->closed = 1;
		w->wsi = NULL;
		break;
	case LWS_CALLBACK_WSI_DESTROY:
		if (wsi == w->wsi || w->wsi == NULL) {
			w->closed = 1;
			w->wsi = NULL;
		}
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols wsc_protocols[] = {
        {PROTO_SUBPROTOCOL, wsc_callback, 0, 4096, 0, NULL, 0},
        {NULL, NULL, 0, 0, 0, NULL, 0},
};

static int make_ssl_ctx(const char *ca_file, const char *host, SSL_CTX **out, char *detail, size_t dcap)
{
	int r = VARSKO_ERR_TLS;
	SSL_CTX *c = NULL;
	X509_VERIFY_PARAM *param;
	FILE *f;

	*out = NULL;
	ERR_clear_error();
	/* Tell a missing file from a bad one before OpenSSL blurs them. */
	if ((f = fopen(ca_file, "r")) == NULL) {
		snprintf(detail, dcap, "cannot read the CA file");
		r = VARSKO_ERR_IO;
		goto out;
	}
	fclose(f);
	if ((c = SSL_CTX_new(TLS_client_method())) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if (SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION) != 1)
		goto out;
	if (SSL_CTX_load_verify_locations(c, ca_file, NULL) != 1) {
		snprintf(detail, dcap, "the CA file holds no usable certificate");
		goto out;
	}
	SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
	param = SSL_CTX_get0_param(c);
	X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (X509_VERIFY_PARAM_set1_ip_asc(param, host) != 1 && X509_VERIFY_PARAM_set1_host(param, host, 0) != 1)
		goto out;
	*out = c;
	c = NULL;
	r = VARSKO_OK;
out:
	SSL_CTX_free(c);
	ERR_clear_error();
	return r;
}

/*
 * Service the context until cond(w) holds, the connection fails or closes,
 * or the deadline passes. Returns VARSKO_OK when cond holds.
 */
static int pump(struct wsc *w, int64_t deadline_ms, int (*cond)(const struct wsc *))
{
	int64_t now;

	while (!cond(w)) {
		if (w->failed)
			return w->tls_failed ? VARSKO_ERR_TLS : VARSKO_ERR_CONNECT;
		if (w->closed)
			return VARSKO_ERR_CLOSED;
		now = wsc_now_ms();
		if (now >= deadline_ms) {
			if (w->detail[0] == '\0')
				snprintf(w->detail, sizeof(w->detail), "no answer from the server in time");
			return VARSKO_ERR_TIMEOUT;
		}
		lws_sul_cancel(&w->sul);
		lws_sul_schedule(w->ctx, 0, &w->sul, wsc_wake, (lws_usec_t)(deadline_ms - now) * LWS_US_PER_MS);
		if (lws_service(w->ctx, 0) < 0) {
			snprintf(w->detail, sizeof(w->detail), "event loop failed");
			return VARSKO_ERR_CONNECT;
		}
	}
	return VARSKO_OK;
}

static int cond_established(const struct wsc *w)
{
	return w->established;
}

static int cond_sent(const struct wsc *w)
{
	return w->tx == NULL;
}

static int cond_message(const struct wsc *w)
{
	return w->head != NULL;
}

static int cond_closed(const struct wsc *w)
{
	return w->closed || w->failed;
}

/*
 * lws says only "Unable to connect" whether nothing listens, there is no
 * route or the name does not resolve. After such a failure, find out which
 * with one plain TCP connection of our own (at most WSC_DIAGNOSE_MS): the
 * detail then starts with one of the phrases wsc.h's callers classify
 * (WSC_WHY_*), and *err becomes VARSKO_ERR_TIMEOUT when the address does
 * not answer. A TCP connection that opens means the server is there but
 * ended the TLS or WebSocket handshake: WSC_WHY_SERVER.
 */
static void diagnose(const char *host, int port, const char *lws_text, int *err, char *detail, size_t dcap)
{
	struct addrinfo hints, *ai = NULL;
	struct pollfd p;
	char ports[16];
	socklen_t sl = sizeof(int);
	int fd = -1, rc, soerr = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	snprintf(ports, sizeof(ports), "%d", port);
	if ((rc = getaddrinfo(host, ports, &hints, &ai)) != 0) {
		snprintf(detail, dcap, "%s: %s", WSC_WHY_DNS, gai_strerror(rc));
		return;
	}
	if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol)) < 0)
		goto out;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
		soerr = 0;
	} else if (errno != EINPROGRESS) {
		soerr = errno;
	} else {
		p.fd = fd;
		p.events = POLLOUT;
		do
			rc = poll(&p, 1, WSC_DIAGNOSE_MS);
		while (rc < 0 && errno == EINTR);
		if (rc == 0)
			soerr = ETIMEDOUT;
		else if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
			goto out;
	}
	switch (soerr) {
	case 0:
		snprintf(detail, dcap, "%s (%s)", WSC_WHY_SERVER, lws_text);
		break;
	case ECONNREFUSED:
		snprintf(detail, dcap, "%s", WSC_WHY_REFUSED);
		break;
	case ENETUNREACH:
	case EHOSTUNREACH:
	case ENETDOWN:
	case EHOSTDOWN:
		snprintf(detail, dcap, "%s (%s)", WSC_WHY_ROUTE, strerror(soerr));
		break;
	case ETIMEDOUT:
		snprintf(detail, dcap, "%s", WSC_WHY_TIMEOUT);
		*err = VARSKO_ERR_TIMEOUT;
		break;
	default:
		break; /* lws's text stays */
	}
out:
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
}

int wsc_open(const char *url, const char *ca_file, int64_t deadline_ms, struct wsc **out, char *detail, size_t dcap)
{
	int r = VARSKO_ERR_INTERNAL;
	struct wsc *w = NULL;
	struct lws_context_creation_info info;
	struct lws_client_connect_info ci;
	char host[WSC_HOST_MAX + 1], hosthdr[WSC_HOST_MAX + 10], path[WSC_PATH_MAX + 1];
	char origin[PROTO_ORIGIN_MAX + 1];
	int port;

	*out = NULL;
	detail_set(detail, dcap, "");
	if (parse_url(url, host, hosthdr, &port, path) != VARSKO_OK ||
	    proto_origin_from_url(url, origin) != VARSKO_OK) {
		snprintf(detail, dcap, "the server URL must look like wss://HOST:PORT/");
		r = VARSKO_ERR_BAD_INPUT;
		goto out;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	w->tail = &w->head;
	w->max = PROTO_FRAME_MAX;
	if ((r = make_ssl_ctx(ca_file, host, &w->ssl_ctx, detail, dcap)) != VARSKO_OK)
		goto out;
	SSL_CTX_set_app_data(w->ssl_ctx, w);

	/* lws would otherwise print to stderr; the library never logs. */
	lws_set_log_level(0, NULL);
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = wsc_protocols;
	info.gid = -1;
	info.uid = -1;
	info.user = w;
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_JUST_USE_RAW_ORIGIN;
	info.provided_client_ssl_ctx = w->ssl_ctx;
	info.fd_limit_per_thread = 8;
	/* Our own deadline decides; lws's timeouts are only a backstop behind it. */
	info.timeout_secs = VARSKO_TIMEOUT_SECONDS + 5;
	if ((w->ctx = lws_create_context(&info)) == NULL) {
		snprintf(detail, dcap, "cannot create the connection context");
		r = VARSKO_ERR_INTERNAL;
		goto out;
	}

	memset(&ci, 0, sizeof(ci));
	ci.context = w->ctx;
	ci.address = host;
	ci.port = port;
	ci.ssl_connection = LCCSCF_USE_SSL;
	ci.path = path;
	ci.host = hosthdr;
	ci.origin = origin;
	ci.protocol = PROTO_SUBPROTOCOL;
	ci.alpn = "http/1.1";
	ci.pwsi = &w->wsi;
	if (lws_client_connect_via_info(&ci) == NULL && !w->failed) {
		snprintf(w->detail, sizeof(w->detail), "cannot start the connection");
		w->failed = 1;
	}
	r = pump(w, deadline_ms, cond_established);
	if (r == VARSKO_ERR_CONNECT && strcasestr(w->detail, "timed out") != NULL)
		r = VARSKO_ERR_TIMEOUT;
	/*
	 * Only a verdict on the certificate (tls_failed, pump()) is
	 * VARSKO_ERR_TLS. A TLS handshake that broke off without one (the peer
	 * closed, or spoke no TLS) stays VARSKO_ERR_CONNECT: diagnose() below
	 * finds the server there (WSC_WHY_SERVER), not a certificate.
	 */
	if (r == VARSKO_ERR_CLOSED)
		r = VARSKO_ERR_CONNECT;
	if (r != VARSKO_OK) {
		detail_set(detail, dcap, w->detail);
		if (r == VARSKO_ERR_CONNECT)
			diagnose(host, port, w->detail, &r, detail, dcap);
		goto out;
	}
	*out = w;
	w = NULL;
	r = VARSKO_OK;
out:
	wsc_close(w);
	return r;
}

int wsc_send(struct wsc *w, const char *buf, size_t len, int64_t deadline_ms)
{
	if (w->closed || w->wsi == NULL)
		return VARSKO_ERR_CLOSED;
	if (w->tx != NULL)
		return VARSKO_ERR_INTERNAL;
	if ((w->tx = malloc(LWS_PRE + len)) == NULL)
		return VARSKO_ERR_NOMEM;
	memcpy(w->tx + LWS_PRE, buf, len);
	w->tx_len = len;
	lws_callback_on_writable(w->wsi);
	return pump(w, deadline_ms, cond_sent);
}

void wsc_set_max(struct wsc *w, size_t max)
{
	w->max = max > PROTO_FRAME_MAX ? max : PROTO_FRAME_MAX;
}

int wsc_recv_raw(struct wsc *w, char **text, size_t *len, int64_t deadline_ms)
{
	int r;
	struct wsc_msg *m;

	*text = NULL;
	*len = 0;
	r = pump(w, deadline_ms, cond_message);
	if (r != VARSKO_OK) {
		if (r == VARSKO_ERR_CLOSED) {
			if (w->overflow)
				snprintf(w->detail, sizeof(w->detail),
				         "the server sent a message larger than %zu bytes", w->max);
			else if (w->close_code == 1009) {
				/* The server's answer to a message over its limit (WIRE-BEHAVIOUR.md). */
				snprintf(w->detail, sizeof(w->detail),
				         "the server refused a message larger than its limit (close code 1009)");
				r = VARSKO_ERR_TOO_LARGE;
			} else
				snprintf(w->detail, sizeof(w->detail), "the server closed the connection (code %d)",
				         w->close_code);
		}
		return r;
	}
	m = w->head;
	w->head = m->next;
	if (w->head == NULL)
		w->tail = &w->head;
	if (m->binary) {
		snprintf(w->detail, sizeof(w->detail), "the server sent a binary message");
		proto_wipe_free(m, sizeof(*m) + m->len + 1);
		return VARSKO_ERR_PROTOCOL;
	}
	/* Hand out the text itself: move it to the front of its own allocation, and zero what it leaves behind. */
	*len = m->len;
	memmove(m, m->buf, m->len + 1);
	sodium_memzero((char *)m + *len + 1, offsetof(struct wsc_msg, buf));
	*text = (char *)m;
	return VARSKO_OK;
}

int wsc_recv(struct wsc *w, struct proto_frame *out, int64_t deadline_ms)
{
	int r;
	char *text = NULL;
	size_t len = 0;
	const char *why = NULL;

	if ((r = wsc_recv_raw(w, &text, &len, deadline_ms)) != VARSKO_OK)
		return r;
	if ((r = proto_frame_decode(text, len, out, &why)) != VARSKO_OK)
		snprintf(w->detail, sizeof(w->detail), "bad frame from the server: %s", why != NULL ? why : "?");
	proto_wipe_free(text, len + 1);
	return r;
}

void wsc_close(struct wsc *w)
{
	struct wsc_msg *m;

	if (w == NULL)
		return;
	if (w->ctx != NULL) {
		/* Say goodbye properly on an open WebSocket; anything earlier is just dropped. */
		if (w->wsi != NULL && w->established && !w->closed && !w->failed) {
			w->closing = 1;
			lws_callback_on_writable(w->wsi);
			(void)pump(w, wsc_now_ms() + WSC_CLOSE_WAIT_MS, cond_closed);
		}
		lws_sul_cancel(&w->sul);
		lws_context_destroy(w->ctx);
	}
	SSL_CTX_free(w->ssl_ctx);
	while ((m = w->head) != NULL) {
		w->head = m->next;
		proto_wipe_free(m, sizeof(*m) + m->len + 1);
	}
	proto_buf_free(&w->rx);
	if (w->tx != NULL)
		proto_wipe_free(w->tx, LWS_PRE + w->tx_len);
	free(w);
}
