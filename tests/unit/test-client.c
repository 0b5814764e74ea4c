/*
 * test-client.c: libvarsko without a server: the home directory (creation,
 * modes, refusal of a second enrollment), the key file round trip, origin
 * derivation, the check of an `enrolled` answer and of a session
 * certificate, and transport errors against a closed port.
 *
 * Links the static core of the library (libvarsko_dep) so the internal
 * functions of clients/lib/client.h are reachable.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "check.h"
#include "client.h"

static char base[] = "/tmp/varsko-test-client-XXXXXX";

static unsigned file_mode(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return 0xffffffffu;
	return (unsigned)(st.st_mode & 07777);
}

static void test_home(void)
{
	char path[512], f[600], cmd_rm[700];
	struct varsko_home *h = NULL;
	mode_t old;

	/* A home whose parent is missing is refused, not made with its parents. */
	snprintf(path, sizeof(path), "%s/a/b/home", base);
	CHECK_EQ_INT(varsko_home_open(path, &h), VARSKO_ERR_IO);
	CHECK(h == NULL);
	/* A missing home is created 0700, even under a lax umask. */
	snprintf(path, sizeof(path), "%s/a", base);
	CHECK_EQ_INT(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/a/b", base);
	CHECK_EQ_INT(mkdir(path, 0700), 0);
	old = umask(0);
	snprintf(path, sizeof(path), "%s/a/b/home", base);
	CHECK_EQ_INT(varsko_home_open(path, &h), VARSKO_OK);
	umask(old);
	CHECK(h != NULL);
	if (h == NULL)
		return;
	CHECK_EQ_INT(file_mode(path), 0700);
	CHECK_EQ_STR(varsko_home_path(h), path);
	CHECK_EQ_INT(varsko_home_is_enrolled(h), 0);

	/* Files are written 0600 whatever the umask, atomically, and noreplace refuses. */
	old = umask(0);
	CHECK_EQ_INT(home_write(h, "server", "wss://x:1/\n", 11, 0600, 0), VARSKO_OK);
	umask(old);
	snprintf(f, sizeof(f), "%s/server", path);
	CHECK_EQ_INT(file_mode(f), 0600);
	CHECK_EQ_INT(home_write(h, "server", "wss://y:2/\n", 11, 0600, 0), VARSKO_OK);
	CHECK_EQ_INT(home_write(h, "server", "other\n", 6, 0600, 1), VARSKO_ERR_EXISTS);
	{
		char *text = NULL;
		size_t len = 0;

		CHECK_EQ_INT(home_read(h, "server", &text, &len), VARSKO_OK);
		CHECK_EQ_STR(text, "wss://y:2/\n");
		CHECK_EQ_INT(len, 11);
		free(text);
		CHECK_EQ_INT(home_read(h, "missing", &text, &len), VARSKO_ERR_NOT_FOUND);
	}
	/* No temporary file is left behind. */
	{
		char cmd[700];

		snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s' | grep -v '^server$')\"", path);
		CHECK_EQ_INT(system(cmd), 0);
	}

	/* One directory level: "DIR/FILE" makes DIR 0700 (and repairs its mode), never more or less. */
	{
		char *text = NULL;
		size_t len = 0;

		old = umask(0);
		CHECK_EQ_INT(home_write(h, "receipts/U-2026-000001.json", "{}\n", 3, 0600, 0), VARSKO_OK);
		umask(old);
		snprintf(f, sizeof(f), "%s/receipts", path);
		CHECK_EQ_INT(file_mode(f), 0700);
		snprintf(f, sizeof(f), "%s/receipts/U-2026-000001.json", path);
		CHECK_EQ_INT(file_mode(f), 0600);
		CHECK_EQ_INT(home_read(h, "receipts/U-2026-000001.json", &text, &len), VARSKO_OK);
		CHECK(text != NULL && len == 3);
		free(text);
		snprintf(f, sizeof(f), "%s/receipts", path);
		CHECK_EQ_INT(chmod(f, 0755), 0);
		/* A reader refuses a directory others may read; a writer makes it private again. */
		CHECK_EQ_INT(home_read(h, "receipts/U-2026-000001.json", &text, &len), VARSKO_ERR_CONFIG);
		CHECK_EQ_INT(home_write(h, "receipts/U-2026-000002.json", "{}\n", 3, 0600, 0), VARSKO_OK);
		CHECK_EQ_INT(file_mode(f), 0700);
		CHECK_EQ_INT(home_read(h, "rosters/none", &text, &len), VARSKO_ERR_NOT_FOUND);
		CHECK_EQ_INT(home_write(h, "../escape", "x", 1, 0600, 0), VARSKO_ERR_BAD_INPUT);
		CHECK_EQ_INT(home_write(h, "a/b/c", "x", 1, 0600, 0), VARSKO_ERR_BAD_INPUT);
		CHECK_EQ_INT(home_write(h, "receipts/..", "x", 1, 0600, 0), VARSKO_ERR_BAD_INPUT);
		CHECK_EQ_INT(home_write(h, "/x", "x", 1, 0600, 0), VARSKO_ERR_BAD_INPUT);
		CHECK_EQ_INT(home_write(h, "receipts/", "x", 1, 0600, 0), VARSKO_ERR_BAD_INPUT);
		CHECK_EQ_INT(home_read(h, "../server", &text, &len), VARSKO_ERR_BAD_INPUT);
		/* A directory that is a symbolic link is not followed. */
		snprintf(f, sizeof(f), "%s/linked", path);
		CHECK_EQ_INT(symlink(base, f), 0);
		CHECK(home_write(h, "linked/x", "x", 1, 0600, 0) != VARSKO_OK);
		snprintf(f, sizeof(f), "%s/x", base);
		CHECK(access(f, F_OK) != 0);
		snprintf(f, sizeof(f), "%s/linked", path);
		unlink(f);
		snprintf(cmd_rm, sizeof(cmd_rm), "rm -rf '%s/receipts'", path);
		CHECK_EQ_INT(system(cmd_rm), 0);
	}
	varsko_home_close(h);

	/* An existing home that others can read is refused. */
	snprintf(path, sizeof(path), "%s/open", base);
	CHECK_EQ_INT(mkdir(path, 0755), 0);
	CHECK_EQ_INT(chmod(path, 0755), 0);
	h = NULL;
	CHECK_EQ_INT(varsko_home_open(path, &h), VARSKO_ERR_CONFIG);
	CHECK(h == NULL);
	/* A file where the home should be is refused too. */
	snprintf(path, sizeof(path), "%s/a/b/home/server", base);
	CHECK(varsko_home_open(path, &h) != VARSKO_OK);
	CHECK(h == NULL);

	/* Without VARSKO_HOME the home is $HOME/.config/varsko; ~/.config is made if missing. */
	snprintf(path, sizeof(path), "%s/user", base);
	CHECK_EQ_INT(mkdir(path, 0755), 0);
	setenv("HOME", path, 1);
	unsetenv("VARSKO_HOME");
	CHECK_EQ_INT(varsko_home_open(NULL, &h), VARSKO_OK);
	snprintf(path, sizeof(path), "%s/user/.config/varsko", base);
	if (h != NULL)
		CHECK_EQ_STR(varsko_home_path(h), path);
	CHECK_EQ_INT(file_mode(path), 0700);
	varsko_home_close(h);
	h = NULL;

	/* $VARSKO_HOME is the default. */
	snprintf(path, sizeof(path), "%s/env-home", base);
	setenv("VARSKO_HOME", path, 1);
	CHECK_EQ_INT(varsko_home_open(NULL, &h), VARSKO_OK);
	if (h != NULL)
		CHECK_EQ_STR(varsko_home_path(h), path);
	CHECK_EQ_INT(file_mode(path), 0700);
	varsko_home_close(h);
	unsetenv("VARSKO_HOME");
	varsko_home_close(NULL);
}

static void test_keys(void)
{
	char path[512], f[600];
	struct varsko_home *h = NULL;
	struct keys *k = NULL, *k2 = NULL, *k3 = NULL;
	char *text = NULL, *back = NULL;
	size_t len = 0, blen = 0;

	snprintf(path, sizeof(path), "%s/keys", base);
	CHECK_EQ_INT(varsko_home_open(path, &h), VARSKO_OK);
	if (h == NULL)
		return;
	CHECK_EQ_INT(keys_generate(&k), VARSKO_OK);
	CHECK_EQ_INT(keys_to_text(k, &text, &len), VARSKO_OK);
	CHECK(text != NULL && strncmp(text, "{\"sign_sk\":\"", 12) == 0);
	CHECK_EQ_INT(home_write(h, HOME_F_KEY, text, len, 0600, 1), VARSKO_OK);
	snprintf(f, sizeof(f), "%s/%s", path, HOME_F_KEY);
	CHECK_EQ_INT(file_mode(f), 0600);
	CHECK_EQ_INT(varsko_home_is_enrolled(h), 1);
	CHECK_EQ_INT(home_write(h, HOME_F_KEY, text, len, 0600, 1), VARSKO_ERR_EXISTS);

	CHECK_EQ_INT(home_read_secret(h, HOME_F_KEY, &back, &blen), VARSKO_OK);
	CHECK_EQ_INT(keys_from_text(back, blen, &k2), VARSKO_OK);
	if (k2 != NULL) {
		CHECK(memcmp(k->sign_sk, k2->sign_sk, 64) == 0);
		CHECK(memcmp(k->box_sk, k2->box_sk, 32) == 0);
		CHECK(memcmp(k->sign_pk, k2->sign_pk, 32) == 0);
		CHECK(memcmp(k->box_pk, k2->box_pk, 32) == 0);
	}
	/* Members in the other order and extra whitespace are fine. */
	{
		char sb[100], bb[60], alt[300];

		CHECK_EQ_INT(proto_b64_encode(k->sign_sk, 64, sb, sizeof(sb)), VARSKO_OK);
		CHECK_EQ_INT(proto_b64_encode(k->box_sk, 32, bb, sizeof(bb)), VARSKO_OK);
		snprintf(alt, sizeof(alt), " { \"box_sk\" : \"%s\" ,\n\"sign_sk\":\"%s\" }\n", bb, sb);
		CHECK_EQ_INT(keys_from_text(alt, strlen(alt), &k3), VARSKO_OK);
		keys_free(k3);
		k3 = NULL;
		/* Missing, duplicate or unknown members, trailing bytes: refused. */
		snprintf(alt, sizeof(alt), "{\"sign_sk\":\"%s\"}", sb);
		CHECK_EQ_INT(keys_from_text(alt, strlen(alt), &k3), VARSKO_ERR_BAD_INPUT);
		snprintf(alt, sizeof(alt), "{\"sign_sk\":\"%s\",\"sign_sk\":\"%s\"}", sb, sb);
		CHECK_EQ_INT(keys_from_text(alt, strlen(alt), &k3), VARSKO_ERR_BAD_INPUT);
		snprintf(alt, sizeof(alt), "{\"sign_sk\":\"%s\",\"box\":\"%s\"}", sb, bb);
		CHECK_EQ_INT(keys_from_text(alt, strlen(alt), &k3), VARSKO_ERR_BAD_INPUT);
		snprintf(alt, sizeof(alt), "{\"sign_sk\":\"%s\",\"box_sk\":\"%s\"}x", sb, bb);
		CHECK_EQ_INT(keys_from_text(alt, strlen(alt), &k3), VARSKO_ERR_BAD_INPUT);
		/* A box key of the wrong length. */
		snprintf(alt, sizeof(alt), "{\"sign_sk\":\"%s\",\"box_sk\":\"%s\"}", sb, sb);
		CHECK_EQ_INT(keys_from_text(alt, strlen(alt), &k3), VARSKO_ERR_BAD_INPUT);
		/* A signing key whose public half does not belong to its seed. */
		{
			uint8_t bad[64];
			char badb[100];

			memcpy(bad, k->sign_sk, 64);
			bad[40] ^= 1;
			CHECK_EQ_INT(proto_b64_encode(bad, 64, badb, sizeof(badb)), VARSKO_OK);
			snprintf(alt, sizeof(alt), "{\"sign_sk\":\"%s\",\"box_sk\":\"%s\"}", badb, bb);
			CHECK_EQ_INT(keys_from_text(alt, strlen(alt), &k3), VARSKO_ERR_BAD_INPUT);
		}
		CHECK(k3 == NULL);
		CHECK_EQ_INT(keys_from_text("", 0, &k3), VARSKO_ERR_BAD_INPUT);
	}

	/* An enrolled home refuses a second enrollment before any network use. */
	CHECK_EQ_INT(varsko_enroll(h, "wss://127.0.0.1:1/", "ABCD-EFGH", "/nonexistent/ca.pem", NULL, NULL, NULL),
	             VARSKO_ERR_EXISTS);
	CHECK(varsko_home_detail(h)[0] != '\0');

	if (text != NULL)
		sodium_free(text);
	if (back != NULL)
		sodium_free(back);
	keys_free(k);
	keys_free(k2);
	varsko_home_close(h);
}

static void test_origin(void)
{
	char o[PROTO_ORIGIN_MAX + 1];

	CHECK_EQ_INT(proto_origin_from_url("wss://LocalHost:8443/", o), VARSKO_OK);
	CHECK_EQ_STR(o, "wss://localhost:8443");
	CHECK_EQ_INT(proto_origin_from_url("wss://127.0.0.1:9000", o), VARSKO_OK);
	CHECK_EQ_STR(o, "wss://127.0.0.1:9000");
	CHECK_EQ_INT(proto_origin_from_url("wss://varsko.example.dk/some/path", o), VARSKO_OK);
	CHECK_EQ_STR(o, "wss://varsko.example.dk:443");
	CHECK_EQ_INT(proto_origin_from_url("ws://localhost:8443/", o), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(proto_origin_from_url("https://localhost:8443/", o), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(proto_origin_from_url("wss://:8443/", o), VARSKO_ERR_BAD_INPUT);
	CHECK_EQ_INT(proto_origin_from_url("wss://localhost:99999/", o), VARSKO_ERR_BAD_INPUT);

	/* The library refuses a bad URL before touching the network. */
	{
		char path[512];
		struct varsko_home *h = NULL;

		snprintf(path, sizeof(path), "%s/origin", base);
		CHECK_EQ_INT(varsko_home_open(path, &h), VARSKO_OK);
		if (h != NULL) {
			CHECK_EQ_INT(varsko_enroll(h, "http://127.0.0.1:1/", "C", "/etc/hostname", NULL, NULL, NULL),
			             VARSKO_ERR_BAD_INPUT);
			CHECK_EQ_INT(varsko_home_is_enrolled(h), 0);
		}
		varsko_home_close(h);
	}
}

/* A certificate for (sign_pk, box_pk) signed by org_sk, valid around now. */
static void make_cert(struct proto_cert *c, const char *user, const char *role, const uint8_t sign_pk[32],
                      const uint8_t box_pk[32], const uint8_t org_sk[64], int64_t now)
{
	memset(c, 0, sizeof(*c));
	c->version = PROTO_VERSION;
	c->serial = 7;
	snprintf(c->user, sizeof(c->user), "%s", user);
	snprintf(c->name, sizeof(c->name), "Test Person");
	snprintf(c->role, sizeof(c->role), "%s", role);
	if (strcmp(role, "fagperson") == 0) {
		c->n_institutions = 1;
		snprintf(c->institutions[0], sizeof(c->institutions[0]), "inst-1");
	}
	memcpy(c->sign_pk, sign_pk, 32);
	memcpy(c->box_pk, box_pk, 32);
	c->not_before = now - 60;
	c->not_after = now + 86400;
	if (proto_cert_sign(c, org_sk) != VARSKO_OK)
		fprintf(stderr, "proto_cert_sign failed\n");
}

static void test_enroll_check(void)
{
	uint8_t org_pk[32], org_sk[64], org2_pk[32], org2_sk[64], gw_pk[32], gw_sk[64], gbox_pk[32], gbox_sk[32];
	uint8_t other_pk[32], other_sk[64], obox_pk[32], obox_sk[32];
	struct keys *k = NULL;
	struct proto_frame *f = calloc(1, sizeof(*f)), *g = calloc(1, sizeof(*g));
	char fpr[PROTO_FPR_LEN + 1], want[PROTO_FPR_LEN + 1], detail[HOME_DETAIL_MAX + 1], loose[64];
	int64_t now = (int64_t)time(NULL);

	if (f == NULL || g == NULL || keys_generate(&k) != VARSKO_OK) {
		CHECK(0);
		goto out;
	}
	crypto_sign_keypair(org_pk, org_sk);
	crypto_sign_keypair(org2_pk, org2_sk);
	crypto_sign_keypair(gw_pk, gw_sk);
	crypto_box_keypair(gbox_pk, gbox_sk);
	crypto_sign_keypair(other_pk, other_sk);
	crypto_box_keypair(obox_pk, obox_sk);
	proto_fingerprint(org_pk, want);

	/* The good answer. */
	f->type = PROTO_T_ENROLLED;
	make_cert(&f->u.enrolled.cert, "u-anna", "fagperson", k->sign_pk, k->box_pk, org_sk, now);
	memcpy(f->u.enrolled.org_pk, org_pk, 32);
	make_cert(&f->u.enrolled.gateway_cert, "gateway", "gateway", gw_pk, gbox_pk, org_sk, now);
	CHECK_EQ_INT(enroll_check_reply(f, k->sign_pk, k->box_pk, NULL, now, fpr, detail, sizeof(detail)), VARSKO_OK);
	CHECK_EQ_STR(fpr, want);
	CHECK_EQ_INT(enroll_check_reply(f, k->sign_pk, k->box_pk, want, now, fpr, detail, sizeof(detail)), VARSKO_OK);
	/* The expected fingerprint may be typed without dashes and in capitals. */
	{
		size_t n = 0;

		for (const char *p = want; *p != '\0'; p++)
			if (*p != '-')
				loose[n++] = (char)(*p >= 'a' && *p <= 'f' ? *p - 32 : *p);
		loose[n] = '\0';
	}
	CHECK_EQ_INT(enroll_check_reply(f, k->sign_pk, k->box_pk, loose, now, fpr, detail, sizeof(detail)), VARSKO_OK);

	/* Another organisation key than the one expected. */
	proto_fingerprint(org2_pk, want);
	CHECK_EQ_INT(enroll_check_reply(f, k->sign_pk, k->box_pk, want, now, fpr, detail, sizeof(detail)),
	             VARSKO_ERR_BAD_CERT);
	CHECK(detail[0] != '\0');
	CHECK_EQ_INT(
	        enroll_check_reply(f, k->sign_pk, k->box_pk, "not-a-fingerprint", now, fpr, detail, sizeof(detail)),
	        VARSKO_ERR_BAD_CERT);

	/* A certificate for someone else's keys, properly signed. */
	*g = *f;
	make_cert(&g->u.enrolled.cert, "u-anna", "fagperson", other_pk, k->box_pk, org_sk, now);
	CHECK_EQ_INT(enroll_check_reply(g, k->sign_pk, k->box_pk, NULL, now, fpr, detail, sizeof(detail)),
	             VARSKO_ERR_BAD_CERT);
	*g = *f;
	make_cert(&g->u.enrolled.cert, "u-anna", "fagperson", k->sign_pk, obox_pk, org_sk, now);
	CHECK_EQ_INT(enroll_check_reply(g, k->sign_pk, k->box_pk, NULL, now, fpr, detail, sizeof(detail)),
	             VARSKO_ERR_BAD_CERT);

	/* Our keys, but signed by another organisation key than the one sent. */
	*g = *f;
	make_cert(&g->u.enrolled.cert, "u-anna", "fagperson", k->sign_pk, k->box_pk, org2_sk, now);
	CHECK_EQ_INT(enroll_check_reply(g, k->sign_pk, k->box_pk, NULL, now, fpr, detail, sizeof(detail)),
	             VARSKO_ERR_BAD_CERT);
	/* ... and the whole answer consistently signed by that other key fails the fingerprint. */
	make_cert(&g->u.enrolled.gateway_cert, "gateway", "gateway", gw_pk, gbox_pk, org2_sk, now);
	memcpy(g->u.enrolled.org_pk, org2_pk, 32);
	CHECK_EQ_INT(enroll_check_reply(g, k->sign_pk, k->box_pk, NULL, now, fpr, detail, sizeof(detail)), VARSKO_OK);
	proto_fingerprint(org_pk, want);
	CHECK_EQ_INT(enroll_check_reply(g, k->sign_pk, k->box_pk, want, now, fpr, detail, sizeof(detail)),
	             VARSKO_ERR_BAD_CERT);

	/* A tampered certificate (name changed after signing). */
	*g = *f;
	snprintf(g->u.enrolled.cert.user, sizeof(g->u.enrolled.cert.user), "u-mallory");
	CHECK_EQ_INT(enroll_check_reply(g, k->sign_pk, k->box_pk, NULL, now, fpr, detail, sizeof(detail)),
	             VARSKO_ERR_BAD_CERT);

	/* A gateway certificate not signed by the organisation, or not a gateway's. */
	*g = *f;
	make_cert(&g->u.enrolled.gateway_cert, "gateway", "gateway", gw_pk, gbox_pk, org2_sk, now);
	CHECK_EQ_INT(enroll_check_reply(g, k->sign_pk, k->box_pk, NULL, now, fpr, detail, sizeof(detail)),
	             VARSKO_ERR_BAD_CERT);
	*g = *f;
	make_cert(&g->u.enrolled.gateway_cert, "u-eve", "fagperson", gw_pk, gbox_pk, org_sk, now);
	CHECK_EQ_INT(enroll_check_reply(g, k->sign_pk, k->box_pk, NULL, now, fpr, detail, sizeof(detail)),
	             VARSKO_ERR_BAD_CERT);

	/* A certificate that is not valid now. */
	CHECK(enroll_check_reply(f, k->sign_pk, k->box_pk, NULL, now + 2 * 86400, fpr, detail, sizeof(detail)) !=
	      VARSKO_OK);

	/* Not an enrolled frame at all. */
	*g = *f;
	g->type = PROTO_T_SESSION;
	CHECK(enroll_check_reply(g, k->sign_pk, k->box_pk, NULL, now, fpr, detail, sizeof(detail)) != VARSKO_OK);

	/* The session certificate check: ours verifies, someone else's or a foreign signer's does not. */
	CHECK_EQ_INT(session_check_cert(&f->u.enrolled.cert, org_pk, k, now), VARSKO_OK);
	CHECK_EQ_INT(session_check_cert(&f->u.enrolled.cert, org2_pk, k, now), VARSKO_ERR_BAD_CERT);
	CHECK_EQ_INT(session_check_cert(&f->u.enrolled.gateway_cert, org_pk, k, now), VARSKO_ERR_BAD_CERT);
out:
	keys_free(k);
	free(f);
	free(g);
}

/* A TCP port on 127.0.0.1 that nobody listens on (bound, then released). */
static int closed_port(void)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0), port = 0;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s >= 0 && bind(s, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(s, (struct sockaddr *)&a, &alen) == 0)
		port = ntohs(a.sin_port);
	if (s >= 0)
		close(s);
	return port;
}

static void test_transport_errors(void)
{
	const char *ca = "/etc/ssl/certs/ca-certificates.crt";
	char path[512], url[64];
	struct varsko_home *h = NULL;
	struct varsko_conn *c = NULL;
	int port = closed_port();
	int64_t t0;

	snprintf(path, sizeof(path), "%s/net", base);
	CHECK_EQ_INT(varsko_home_open(path, &h), VARSKO_OK);
	if (h == NULL)
		return;
	CHECK_EQ_INT(varsko_connect(h, NULL, &c), VARSKO_ERR_NOT_FOUND);
	CHECK(c == NULL);
	snprintf(url, sizeof(url), "wss://127.0.0.1:%d/", port);
	CHECK_EQ_INT(varsko_enroll(h, url, "CODE", "/nonexistent/ca.pem", NULL, NULL, NULL), VARSKO_ERR_IO);
	if (port == 0 || access(ca, R_OK) != 0) {
		fprintf(stderr, "skipping the closed-port check: no free port or no %s\n", ca);
	} else {
		t0 = wsc_now_ms();
		CHECK_EQ_INT(varsko_enroll(h, url, "CODE", ca, NULL, NULL, NULL), VARSKO_ERR_CONNECT);
		CHECK(wsc_now_ms() - t0 < VARSKO_TIMEOUT_SECONDS * 1000);
		CHECK(varsko_home_detail(h)[0] != '\0');
	}
	/* A failed enrollment leaves the home empty. */
	CHECK_EQ_INT(varsko_home_is_enrolled(h), 0);
	CHECK_EQ_INT(home_has(h, HOME_F_CA), 0);
	varsko_home_close(h);
}

/*
 * A one-shot fake varskod for the transport checks: a child process that
 * speaks just enough TLS + WebSocket (RFC 6455) to send hello, read the
 * client's enroll frame, check its signature, and answer with an error
 * frame. It shows that the library verifies the server certificate and the
 * host name, signs the enroll frame correctly, and maps a server error to its
 * code and message.
 */
struct fake {
	pid_t pid;
	int port;
};

/* A self-signed P-256 certificate for the given SAN, written as PEM to cert_path and key_path. */
static int make_self_signed(const char *san, const char *cert_path, const char *key_path)
{
	int ok = 0;
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_EXTENSION *ext = NULL;
	X509V3_CTX v3;
	FILE *f = NULL;

	if (key == NULL || x == NULL)
		goto out;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)"test", -1, -1,
	                           0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san)) == NULL || !X509_add_ext(x, ext, -1))
		goto out;
	if (!X509_sign(x, key, EVP_sha256()))
		goto out;
	if ((f = fopen(cert_path, "w")) == NULL || !PEM_write_X509(f, x))
		goto out;
	fclose(f);
	if ((f = fopen(key_path, "w")) == NULL || !PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL))
		goto out;
	ok = 1;
out:
	if (f != NULL)
		fclose(f);
	X509_EXTENSION_free(ext);
	X509_free(x);
	EVP_PKEY_free(key);
	return ok;
}

static int ssl_read_all(SSL *s, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		int k = SSL_read(s, (char *)buf + got, (int)(n - got));

		if (k <= 0)
			return -1;
		got += (size_t)k;
	}
	return 0;
}

static int ws_send_text(SSL *s, const char *text)
{
	unsigned char hdr[4];
	size_t n = strlen(text), h = 2;

	hdr[0] = 0x81;
	if (n < 126) {
		hdr[1] = (unsigned char)n;
	} else {
		hdr[1] = 126;
		hdr[2] = (unsigned char)(n >> 8);
		hdr[3] = (unsigned char)n;
		h = 4;
	}
	return SSL_write(s, hdr, (int)h) == (int)h && SSL_write(s, text, (int)n) == (int)n ? 0 : -1;
}

/* Read one masked client frame (text, < 64 KiB) into buf. */
static int ws_recv(SSL *s, char *buf, size_t cap)
{
	unsigned char h[2], ext[2], mask[4];
	size_t n;

	if (ssl_read_all(s, h, 2) != 0 || (h[1] & 0x80) == 0)
		return -1;
	n = h[1] & 0x7f;
	if (n == 126) {
		if (ssl_read_all(s, ext, 2) != 0)
			return -1;
		n = ((size_t)ext[0] << 8) | ext[1];
	} else if (n == 127 || n + 1 > cap) {
		return -1;
	}
	if (n + 1 > cap || ssl_read_all(s, mask, 4) != 0 || ssl_read_all(s, buf, n) != 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		buf[i] ^= (char)mask[i % 4];
	buf[n] = '\0';
	return (int)n;
}

/* Serve one WebSocket conversation on an accepted TLS connection. */
static void fake_converse(SSL *s, int port)
{
	char req[4096], accept_src[128], key[64], accept_b64[64], resp[512], frame[8192], *p, *e;
	unsigned char sha[20], nonce[32];
	char nonce_b64[64], org_b64[64], hello[320], origin[64];
	struct proto_frame *f = calloc(1, sizeof(*f));
	struct proto_buf in;
	const char *answer;
	size_t n = 0;
	int k;

	proto_buf_init(&in);
	while (n + 1 < sizeof(req) && (k = SSL_read(s, req + n, (int)(sizeof(req) - 1 - n))) > 0) {
		n += (size_t)k;
		req[n] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL)
			break;
	}
	req[n] = '\0';
	if (f == NULL || (p = strcasestr(req, "Sec-WebSocket-Key:")) == NULL || strstr(req, "varsko.v1") == NULL)
		goto out;
	p += 18;
	while (*p == ' ')
		p++;
	if ((e = strstr(p, "\r\n")) == NULL || (size_t)(e - p) >= sizeof(key))
		goto out;
	memcpy(key, p, (size_t)(e - p));
	key[e - p] = '\0';
	snprintf(accept_src, sizeof(accept_src), "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
	SHA1((const unsigned char *)accept_src, strlen(accept_src), sha);
	EVP_EncodeBlock((unsigned char *)accept_b64, sha, 20);
	snprintf(resp, sizeof(resp),
	         "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	         "Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: varsko.v1\r\n\r\n",
	         accept_b64);
	if (SSL_write(s, resp, (int)strlen(resp)) <= 0)
		goto out;
	randombytes_buf(nonce, sizeof(nonce));
	if (proto_b64_encode(nonce, sizeof(nonce), nonce_b64, sizeof(nonce_b64)) != VARSKO_OK)
		goto out;
	/* The organisation key of the hello: 32 bytes of 0x07 (fake_org_fpr() is its fingerprint). */
	memset(nonce, 7, sizeof(nonce));
	if (proto_b64_encode(nonce, sizeof(nonce), org_b64, sizeof(org_b64)) != VARSKO_OK)
		goto out;
	randombytes_buf(nonce, sizeof(nonce));
	if (proto_b64_encode(nonce, sizeof(nonce), nonce_b64, sizeof(nonce_b64)) != VARSKO_OK)
		goto out;
	snprintf(hello, sizeof(hello),
	         "{\"nonce\":\"%s\",\"org_pk\":\"%s\",\"time\":\"2026-01-01T00:00:00Z\",\"type\":\"hello\","
	         "\"version\":1}",
	         nonce_b64, org_b64);
	if (ws_send_text(s, hello) != 0 || (k = ws_recv(s, frame, sizeof(frame))) < 0)
		goto out;
	/* The enroll frame must be well formed and signed over what the protocol says. */
	snprintf(origin, sizeof(origin), "wss://127.0.0.1:%d", port);
	answer = "{\"code\":\"bad_signature\",\"id\":\"enroll-1\",\"message\":\"fake: bad enroll "
	         "frame\",\"type\":\"error\"}";
	if (proto_frame_decode(frame, (size_t)k, f, NULL) == VARSKO_OK && f->type == PROTO_T_ENROLL &&
	    strcmp(f->u.enroll.origin, origin) == 0 && strcmp(f->u.enroll.code, "CODE-1234") == 0 &&
	    proto_enroll_signing_input(nonce, f->u.enroll.origin, f->u.enroll.code, f->u.enroll.sign_pk,
	                               f->u.enroll.box_pk, f->u.enroll.label, &in) == VARSKO_OK &&
	    proto_verify(f->u.enroll.sig, &in, f->u.enroll.sign_pk) == VARSKO_OK)
		answer = "{\"code\":\"code_used\",\"id\":\"enroll-1\",\"message\":\"fake: code already used\","
		         "\"type\":\"error\"}";
	ws_send_text(s, answer);
	SSL_write(s, "\x88\x02\x03\xf0", 4); /* close 1008 */
out:
	proto_buf_free(&in);
	free(f);
}

/* Start a fake server with the given certificate; it serves connections until killed (or 60 s). */
static int fake_start(struct fake *fk, const char *cert, const char *key)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(s, 8) != 0 ||
	    getsockname(s, (struct sockaddr *)&a, &alen) != 0) {
		if (s >= 0)
			close(s);
		return -1;
	}
	fk->port = ntohs(a.sin_port);
	fflush(NULL);
	if ((fk->pid = fork()) < 0) {
		close(s);
		return -1;
	}
	if (fk->pid == 0) {
		SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

		alarm(60);
		if (ctx == NULL || SSL_CTX_use_certificate_file(ctx, cert, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
			_exit(3);
		for (;;) {
			int c = accept(s, NULL, NULL);
			SSL *ssl;

			if (c < 0)
				_exit(4);
			ssl = SSL_new(ctx);
			SSL_set_fd(ssl, c);
			if (SSL_accept(ssl) == 1)
				fake_converse(ssl, fk->port);
			SSL_shutdown(ssl);
			SSL_free(ssl);
			close(c);
		}
	}
	close(s);
	return 0;
}

static void fake_stop(struct fake *fk)
{
	if (fk->pid > 0) {
		kill(fk->pid, SIGTERM);
		waitpid(fk->pid, NULL, 0);
		fk->pid = 0;
	}
}

static void test_tls(void)
{
	char good_crt[512], good_key[512], other_crt[512], other_key[512], name_crt[512], name_key[512];
	char path[512], url[96];
	struct fake good = {0, 0}, misnamed = {0, 0};
	struct varsko_home *h = NULL;

	snprintf(good_crt, sizeof(good_crt), "%s/good.pem", base);
	snprintf(good_key, sizeof(good_key), "%s/good.key", base);
	snprintf(other_crt, sizeof(other_crt), "%s/other.pem", base);
	snprintf(other_key, sizeof(other_key), "%s/other.key", base);
	snprintf(name_crt, sizeof(name_crt), "%s/name.pem", base);
	snprintf(name_key, sizeof(name_key), "%s/name.key", base);
	if (!make_self_signed("DNS:localhost,IP:127.0.0.1", good_crt, good_key) ||
	    !make_self_signed("DNS:localhost,IP:127.0.0.1", other_crt, other_key) ||
	    !make_self_signed("DNS:elsewhere.example", name_crt, name_key)) {
		CHECK(0);
		return;
	}
	if (fake_start(&good, good_crt, good_key) != 0 || fake_start(&misnamed, name_crt, name_key) != 0) {
		CHECK(0);
		goto out;
	}
	snprintf(path, sizeof(path), "%s/tls", base);
	CHECK_EQ_INT(varsko_home_open(path, &h), VARSKO_OK);
	if (h == NULL)
		goto out;

	/* The right CA: the handshake succeeds, the signed enroll frame is accepted by the
	 * fake, and its error answer comes back as its code and message. */
	snprintf(url, sizeof(url), "wss://127.0.0.1:%d/", good.port);
	CHECK_EQ_INT(varsko_enroll(h, url, "CODE-1234", good_crt, NULL, NULL, NULL), VARSKO_ERR_CODE_USED);
	CHECK_EQ_STR(varsko_home_detail(h), "fake: code already used");
	/* The fingerprint the user was given is checked against the hello's key before anything is sent. */
	{
		uint8_t seven[32];
		char fpr[PROTO_FPR_LEN + 1];

		memset(seven, 7, sizeof seven);
		proto_fingerprint(seven, fpr);
		CHECK_EQ_INT(varsko_enroll(h, url, "CODE-1234", good_crt, fpr, NULL, NULL), VARSKO_ERR_CODE_USED);
		fpr[0] = fpr[0] == '0' ? '1' : '0';
		CHECK_EQ_INT(varsko_enroll(h, url, "CODE-1234", good_crt, fpr, NULL, NULL), VARSKO_ERR_BAD_CERT);
		CHECK(strstr(varsko_home_detail(h), "nothing was sent") != NULL);
	}
	/* Another CA (a certificate with the same names): refused before any frame. */
	CHECK_EQ_INT(varsko_enroll(h, url, "CODE-1234", other_crt, NULL, NULL, NULL), VARSKO_ERR_TLS);
	/* The right CA but a certificate for another host name: refused. */
	snprintf(url, sizeof(url), "wss://127.0.0.1:%d/", misnamed.port);
	CHECK_EQ_INT(varsko_enroll(h, url, "CODE-1234", name_crt, NULL, NULL, NULL), VARSKO_ERR_TLS);
	snprintf(url, sizeof(url), "wss://localhost:%d/", misnamed.port);
	CHECK_EQ_INT(varsko_enroll(h, url, "CODE-1234", name_crt, NULL, NULL, NULL), VARSKO_ERR_TLS);
	/* Nothing was written by any of these. */
	CHECK_EQ_INT(varsko_home_is_enrolled(h), 0);
	CHECK_EQ_INT(home_has(h, HOME_F_CA), 0);
out:
	varsko_home_close(h);
	fake_stop(&good);
	fake_stop(&misnamed);
}

static void test_misc(void)
{
	char d[8];

	CHECK_EQ_STR(varsko_strerrname(VARSKO_ERR_CODE_USED), "code_used");
	CHECK_EQ_STR(varsko_strerror(VARSKO_ERR_TIMEOUT), "timed out");
	CHECK(varsko_version()[0] != '\0');
	detail_set(d, sizeof(d), "a\x1b[31mbcdefgh");
	CHECK_EQ_STR(d, "a?[31mb");
	detail_set(d, sizeof(d), NULL);
	CHECK_EQ_STR(d, "");
	/* The Danish catalogue (clients/catalogue/da.json): a text for every code of err.h, each its own. */
#define CATALOGUE_CHECK(suffix, num, name, text)                                                                   \
	CHECK(varsko_text(VARSKO_##suffix)[0] != '\0');                                                              \
	CHECK(VARSKO_##suffix == VARSKO_ERR_INTERNAL ||                                                               \
	      strcmp(varsko_text(VARSKO_##suffix), varsko_text(VARSKO_ERR_INTERNAL)) != 0);                          \
	CHECK(strcmp(varsko_text(VARSKO_##suffix), text) != 0);
	VARSKO_ERRORS(CATALOGUE_CHECK)
#undef CATALOGUE_CHECK
	CHECK_EQ_STR(varsko_text(VARSKO_ERR_CONNECT), "Serveren kunne ikke nås.");
	CHECK(strstr(varsko_next_step(VARSKO_ERR_CONNECT), "Døgnvagten") != NULL);
	/* An unknown code reads as internal. */
	CHECK_EQ_STR(varsko_text(-9999), varsko_text(VARSKO_ERR_INTERNAL));
	CHECK_EQ_STR(varsko_next_step(-9999), varsko_next_step(VARSKO_ERR_INTERNAL));
}

/* Why the server could not be reached, from the code and wsc.c's detail (varsko_unreachable_text). */
static void test_unreachable(void)
{
	static const struct {
		int err;
		const char *detail;
		int kind;
		const char *says;
	} cases[] = {
	        {VARSKO_ERR_CONNECT, WSC_WHY_REFUSED, VARSKO_REACH_NETWORK, "afvist"},
	        {VARSKO_ERR_CONNECT, WSC_WHY_DNS ": Name or service not known", VARSKO_REACH_NETWORK, "DNS"},
	        {VARSKO_ERR_CONNECT, WSC_WHY_ROUTE " (No route to host)", VARSKO_REACH_NETWORK, "ingen vej"},
	        {VARSKO_ERR_TIMEOUT, WSC_WHY_TIMEOUT, VARSKO_REACH_NETWORK, "i tide"},
	        {VARSKO_ERR_CONNECT, "Unable to connect", VARSKO_REACH_NETWORK, "netværket"},
	        {VARSKO_ERR_CONNECT, WSC_WHY_SERVER " (connect SSL err 1)", VARSKO_REACH_SERVER, "serveren"},
	        {VARSKO_ERR_CLOSED, "", VARSKO_REACH_SERVER, "serveren"},
	        {VARSKO_ERR_UNAVAILABLE, NULL, VARSKO_REACH_SERVER, "serveren"},
	        {VARSKO_ERR_TLS, "server certificate: unable to get local issuer certificate", VARSKO_REACH_CERTIFICATE,
	         "certifikatet"},
	};
	char out[1024], small[12];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_EQ_INT(varsko_unreachable_text(cases[i].err, cases[i].detail, "wss://gw.example:8443/", out,
		                                     sizeof(out)),
		             cases[i].kind);
		CHECK(strstr(out, "Adresse: wss://gw.example:8443/.") == out);
		CHECK(strstr(out, cases[i].says) != NULL);
	}
	CHECK_EQ_INT(varsko_unreachable_text(VARSKO_ERR_FORBIDDEN, "x", "wss://a:1/", out, sizeof(out)),
	             VARSKO_REACH_NONE);
	CHECK_EQ_STR(out, "");
	CHECK_EQ_INT(varsko_unreachable_text(VARSKO_ERR_CONNECT, NULL, NULL, small, sizeof(small)),
	             VARSKO_REACH_NETWORK);
	CHECK(strlen(small) < sizeof(small));
	varsko_akut_advice(1, "Døgnvagt", "+45 58 57 00 00", out, sizeof(out));
	CHECK(strstr(out, "ring først til Døgnvagt på +45 58 57 00 00") != NULL);
	varsko_akut_advice(0, "Døgnvagt", "+45 58 57 00 00", out, sizeof(out));
	CHECK_EQ_STR(out, "Er en sag akut, så ring til Døgnvagt på +45 58 57 00 00.");
	varsko_akut_advice(0, NULL, NULL, out, sizeof(out));
	CHECK_EQ_STR(out, "Er en sag akut, så ring til Døgnvagten.");
	varsko_akut_advice(1, "Døgnvagt", "+45 58 57 00 00", small, sizeof(small));
	CHECK(strlen(small) < sizeof(small));
}

int main(void)
{
	char cmd[600];

	if (sodium_init() < 0) {
		fprintf(stderr, "sodium_init failed\n");
		return 1;
	}
	if (mkdtemp(base) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_home();
	test_keys();
	test_origin();
	test_enroll_check();
	test_transport_errors();
	test_tls();
	test_misc();
	test_unreachable();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", base);
	return check_result();
}
