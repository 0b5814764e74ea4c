/*
 * test-config.c: the varskod.conf parser (gateway/config.c): every key type,
 * defaults, the default origins, each error message with its line number,
 * config_load and config_check_secrets on real files; and the key and
 * certificate files the configuration names (gateway/keys.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include <sodium.h>

#include "config.h"
#include "keys.h"
#include "varsko/err.h"

/* The six required keys: lines 1..6 of every test document. */
#define REQ                                 \
	"tls_cert = /etc/varsko/tls.pem\n"      \
	"tls_key = /etc/varsko/tls.key\n"       \
	"database = /var/lib/varsko/varsko.db\n" \
	"org_key = /etc/varsko/org.key\n"       \
	"gateway_key = /etc/varsko/gateway.key\n" \
	"gateway_cert = /etc/varsko/gateway.cert\n"

static int parse(const char *text, struct config *c, char *err, size_t cap)
{
	return config_parse(text, strlen(text), "t.conf", c, err, cap);
}

static void test_defaults(void)
{
	struct config c;
	char err[256] = "";

	CHECK_EQ_INT(parse(REQ, &c, err, sizeof(err)), VARSKO_OK);
	CHECK_EQ_STR(err, "");
	CHECK_EQ_STR(c.listen, "127.0.0.1");
	CHECK_EQ_INT(c.port, 8443);
	CHECK_EQ_STR(c.tls_cert, "/etc/varsko/tls.pem");
	CHECK_EQ_STR(c.tls_key, "/etc/varsko/tls.key");
	CHECK_EQ_STR(c.database, "/var/lib/varsko/varsko.db");
	CHECK_EQ_STR(c.org_key, "/etc/varsko/org.key");
	CHECK_EQ_STR(c.gateway_key, "/etc/varsko/gateway.key");
	CHECK_EQ_STR(c.gateway_cert, "/etc/varsko/gateway.cert");
	CHECK_EQ_STR(c.tenant, "slagelse");
	CHECK_EQ_INT(c.handshake_timeout, 10);
	CHECK_EQ_INT(c.idle_timeout, 300);
	CHECK_EQ_INT(c.max_frame, 65536);
	CHECK_EQ_INT(c.device_validity_days, 365);
	CHECK_EQ_INT(c.invite_validity_hours, 72);
	CHECK_EQ_INT(c.max_sessions, 10000);
	CHECK_EQ_INT(c.max_conns_per_address, 256);
	CHECK_EQ_INT(c.max_sessions_per_device, 4);
	CHECK_EQ_INT(c.max_sessions_per_user, 16);
	CHECK_EQ_INT(c.mem_budget_bytes, 268435456);
	CHECK_EQ_INT(c.unauth_frames_per_second, 2000);
	CHECK_EQ_INT(c.store_queue_max, 4096);
	CHECK_EQ_INT(c.log_level, CONFIG_LOG_INFO);
	CHECK(c.web_root == NULL);
	CHECK(c.mqtt_host == NULL);
	CHECK_EQ_INT(c.mqtt_port, 0);
	CHECK(c.mqtt_ca == NULL && c.mqtt_cert == NULL && c.mqtt_key == NULL);
	CHECK_EQ_STR(c.admin_listen, "127.0.0.1");
	CHECK_EQ_INT(c.admin_port, 8444);
	CHECK_EQ_INT(c.health_mqtt_grace_seconds, 30);
	CHECK_EQ_INT(c.health_outbox_max, 1000);
	CHECK_EQ_INT(c.n_origins, 2);
	if (c.n_origins == 2) {
		CHECK_EQ_STR(c.origins[0], "wss://localhost:8443");
		CHECK_EQ_STR(c.origins[1], "wss://127.0.0.1:8443");
	}
	config_free(&c);
	CHECK(c.database == NULL && c.origins == NULL && c.n_origins == 0);
	config_free(&c); /* twice is harmless */
	config_free(NULL);
}

/* The default origins follow the configured port, wherever in the file it is set. */
static void test_origins_default_port(void)
{
	struct config c;
	char err[256];

	CHECK_EQ_INT(parse("port = 9443\n" REQ, &c, err, sizeof(err)), VARSKO_OK);
	CHECK_EQ_INT(c.port, 9443);
	CHECK_EQ_INT(c.n_origins, 2);
	if (c.n_origins == 2) {
		CHECK_EQ_STR(c.origins[0], "wss://localhost:9443");
		CHECK_EQ_STR(c.origins[1], "wss://127.0.0.1:9443");
	}
	config_free(&c);
}

static void test_every_key(void)
{
	static const char text[] =
		"# varskod test configuration\r\n"
		"\n"
		"   listen   =   0.0.0.0   # all interfaces\n"
		"port=10443\n"
		REQ
		"origins = wss://varsko.slagelse.dk:443   wss://localhost:10443\twss://127.0.0.1:10443\n"
		"tenant = korsoer-test-2\n"
		"handshake_timeout = 300\n"
		"idle_timeout = 10\n"
		"max_frame = 16777216\n"
		"device_validity_days = 3650\n"
		"invite_validity_hours = 1\n"
		"max_sessions = 100000\n"
		"store_queue_max = 1\n"
		"log_level = debug\n"
		"web_root = /usr/share/varsko/web with space\n"
		"mqtt_host = broker.local\n"
		"mqtt_port = 8883\n"
		"mqtt_ca = /etc/varsko/ca.pem\n"
		"mqtt_cert = /etc/varsko/mqtt.pem\n"
		"admin_listen = ::1\n"
		"admin_port = 0\n"
		"health_mqtt_grace_seconds = 0\n"
		"health_outbox_max = 100000000\n"
		"mqtt_key = /etc/varsko/mqtt.key"; /* no newline at the end */
	struct config c;
	char err[256] = "";

	CHECK_EQ_INT(parse(text, &c, err, sizeof(err)), VARSKO_OK);
	CHECK_EQ_STR(err, "");
	CHECK_EQ_STR(c.listen, "0.0.0.0");
	CHECK_EQ_INT(c.port, 10443);
	CHECK_EQ_INT(c.n_origins, 3);
	if (c.n_origins == 3) {
		CHECK_EQ_STR(c.origins[0], "wss://varsko.slagelse.dk:443");
		CHECK_EQ_STR(c.origins[1], "wss://localhost:10443");
		CHECK_EQ_STR(c.origins[2], "wss://127.0.0.1:10443");
	}
	CHECK_EQ_STR(c.tenant, "korsoer-test-2");
	CHECK_EQ_INT(c.handshake_timeout, 300);
	CHECK_EQ_INT(c.idle_timeout, 10);
	CHECK_EQ_INT(c.max_frame, 16777216);
	CHECK_EQ_INT(c.device_validity_days, 3650);
	CHECK_EQ_INT(c.invite_validity_hours, 1);
	CHECK_EQ_INT(c.max_sessions, 100000);
	CHECK_EQ_INT(c.store_queue_max, 1);
	CHECK_EQ_INT(c.log_level, CONFIG_LOG_DEBUG);
	CHECK_EQ_STR(c.web_root, "/usr/share/varsko/web with space");
	CHECK_EQ_STR(c.mqtt_host, "broker.local");
	CHECK_EQ_INT(c.mqtt_port, 8883);
	CHECK_EQ_STR(c.mqtt_ca, "/etc/varsko/ca.pem");
	CHECK_EQ_STR(c.mqtt_cert, "/etc/varsko/mqtt.pem");
	CHECK_EQ_STR(c.mqtt_key, "/etc/varsko/mqtt.key");
	CHECK_EQ_STR(c.admin_listen, "::1");
	CHECK_EQ_INT(c.admin_port, 0);
	CHECK_EQ_INT(c.health_mqtt_grace_seconds, 0);
	CHECK_EQ_INT(c.health_outbox_max, 100000000);
	config_free(&c);
}

static void test_log_levels(void)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	char text[512];
	struct config c;
	char err[256];
	int i;

	for (i = 0; i < 4; i++) {
		snprintf(text, sizeof(text), REQ "log_level = %s\n", names[i]);
		CHECK_EQ_INT(parse(text, &c, err, sizeof(err)), VARSKO_OK);
		CHECK_EQ_INT(c.log_level, i);
		config_free(&c);
	}
}

struct bad_case {
	const char *text;
	const char *message; /* exact */
};

static void test_errors(void)
{
	static const struct bad_case cases[] = {
		{ REQ "bogus = 1\n", "t.conf:7: unknown key 'bogus'" },
		{ "port = 1\n" REQ "port = 2\n", "t.conf:8: duplicate key 'port' (first set on line 1)" },
		{ REQ "\n# comment\nlisten 127.0.0.1\n", "t.conf:9: missing '='" },
		{ REQ "= 5\n", "t.conf:7: missing key before '='" },
		{ REQ "Port = 5\n", "t.conf:7: invalid key name" },
		{ REQ "port = 12x\n", "t.conf:7: port: not a number" },
		{ REQ "port = -1\n", "t.conf:7: port: not a number" },
		{ REQ "port = 99999999999999999999\n", "t.conf:7: port: not a number" },
		{ REQ "port = 0\n", "t.conf:7: port: out of range 1..65535" },
		{ REQ "port = 65536\n", "t.conf:7: port: out of range 1..65535" },
		{ REQ "idle_timeout = 9\n", "t.conf:7: idle_timeout: out of range 10..86400" },
		{ REQ "handshake_timeout = 301\n", "t.conf:7: handshake_timeout: out of range 1..300" },
		{ REQ "max_frame = 1023\n", "t.conf:7: max_frame: out of range 1024..16777216" },
		{ REQ "device_validity_days = 3651\n", "t.conf:7: device_validity_days: out of range 1..3650" },
		{ REQ "invite_validity_hours = 721\n", "t.conf:7: invite_validity_hours: out of range 1..720" },
		{ REQ "max_sessions = 0\n", "t.conf:7: max_sessions: out of range 1..100000" },
		{ REQ "max_conns_per_address = 0\n", "t.conf:7: max_conns_per_address: out of range 1..100000" },
		{ REQ "mem_budget_bytes = 1048575\n", "t.conf:7: mem_budget_bytes: out of range 1048576..2147483647" },
		{ REQ "store_queue_max = 0\n", "t.conf:7: store_queue_max: out of range 1..1000000" },
		{ REQ "mqtt_port = 70000\n", "t.conf:7: mqtt_port: out of range 1..65535" },
		{ REQ "log_level = verbose\n", "t.conf:7: log_level: must be one of error, warn, info, debug" },
		{ REQ "tenant = Slagelse\n", "t.conf:7: tenant: only a-z, 0-9 and '-' allowed" },
		{ REQ "listen = 127.0.0.1 ::1\n", "t.conf:7: listen: must be one word" },
		{ REQ "web_root =\n", "t.conf:7: web_root: empty value" },
		{ REQ "web_root = /a\x01\n", "t.conf:7: web_root: control character in value" },
		{ REQ "origins = https://localhost:8443\n", "t.conf:7: origins: entry 1 is not of the form wss://host:port" },
		{ REQ "origins = wss://a:1 wss://b\n", "t.conf:7: origins: entry 2 is not of the form wss://host:port" },
		{ REQ "origins = #\n", "t.conf:7: origins: empty value" },
		{ REQ "admin_port = 65536\n", "t.conf:7: admin_port: out of range 0..65535" },
		{ REQ "admin_listen = a b\n", "t.conf:7: admin_listen: must be one word" },
		{ REQ "health_outbox_max = 0\n", "t.conf:7: health_outbox_max: out of range 1..100000000" },
		{ REQ "health_mqtt_grace_seconds = 86401\n",
		  "t.conf:7: health_mqtt_grace_seconds: out of range 0..86400" },
		/* The admin listener cannot share the main port; reported where admin_port (else port) is set. */
		{ "admin_port = 9000\n" REQ "port = 9000\n",
		  "t.conf:1: admin_port: must differ from port (or be 0 for no admin listener)" },
		{ REQ "port = 8444\n", "t.conf:7: admin_port: must differ from port (or be 0 for no admin listener)" },
		/* Missing required keys are reported at the last line. */
		{ "tls_cert = a\ntls_key = b\ndatabase = c\norg_key = d\ngateway_key = e\n# end\n",
		  "t.conf:6: missing required key 'gateway_cert'" },
		{ "", "t.conf:0: missing required key 'tls_cert'" },
	};
	struct config c;
	char err[256];
	size_t i;
	int r;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&c, 0x5a, sizeof(c)); /* must come back zeroed */
		strcpy(err, "untouched");
		r = parse(cases[i].text, &c, err, sizeof(err));
		CHECK_EQ_INT(r, VARSKO_ERR_CONFIG);
		CHECK_EQ_STR(err, cases[i].message);
		CHECK(c.database == NULL && c.origins == NULL && c.port == 0);
		if (r == VARSKO_OK)
			config_free(&c);
	}
}

/* A NUL byte in the middle of the text, and a short error buffer, are handled. */
static void test_binary_and_small_buffer(void)
{
	static const char text[] = REQ "listen = a\0b\n";
	struct config c;
	char err[12];

	CHECK_EQ_INT(config_parse(text, sizeof(text) - 1, "t.conf", &c, NULL, 0), VARSKO_ERR_CONFIG);
	CHECK_EQ_INT(config_parse(text, sizeof(text) - 1, "t.conf", &c, err, sizeof(err)), VARSKO_ERR_CONFIG);
	CHECK_EQ_INT(strlen(err), sizeof(err) - 1);
	CHECK(strncmp(err, "t.conf:7: N", sizeof(err) - 1) == 0);
}

/* An error text never carries the value (it could be a name or a path naming a person). */
static void test_no_value_in_errors(void)
{
	static const char *const texts[] = {
		REQ "port = Anna-Hansen\n",
		REQ "tenant = Anna-Hansen\n",
		REQ "log_level = Anna-Hansen\n",
		REQ "origins = Anna-Hansen\n",
		REQ "listen = Anna Hansen\n",
	};
	struct config c;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		CHECK_EQ_INT(parse(texts[i], &c, err, sizeof(err)), VARSKO_ERR_CONFIG);
		CHECK(strstr(err, "Anna") == NULL);
	}
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL);
	if (f == NULL)
		return;
	fputs(text, f);
	fclose(f);
	CHECK(chmod(path, mode) == 0);
}

static void test_load_and_secrets(void)
{
	char dir[] = "/tmp/varsko-test-config-XXXXXX";
	char conf[256], text[1024], err[512], path[256];
	static const char *const secrets[] = { "tls.key", "org.key", "gw.key" };
	struct config c;
	size_t i;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(conf, sizeof(conf), "%s/varskod.conf", dir);
	snprintf(text, sizeof(text),
	         "tls_cert = %s/tls.pem\ntls_key = %s/tls.key\ndatabase = %s/v.db\norg_key = %s/org.key\n"
	         "gateway_key = %s/gw.key\ngateway_cert = %s/gw.cert\n",
	         dir, dir, dir, dir, dir, dir);
	write_file(conf, text, 0644);

	CHECK_EQ_INT(config_load(conf, &c, err, sizeof(err)), VARSKO_OK);
	/* Secret files do not exist yet. */
	CHECK_EQ_INT(config_check_secrets(&c, err, sizeof(err)), VARSKO_ERR_CONFIG);
	CHECK_EQ_STR(err, "tls_key: secret file does not exist or cannot be read");
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, secrets[i]);
		write_file(path, "x\n", 0600);
	}
	CHECK_EQ_INT(config_check_secrets(&c, err, sizeof(err)), VARSKO_OK);
	snprintf(path, sizeof(path), "%s/org.key", dir);
	CHECK(chmod(path, 0400) == 0);
	CHECK_EQ_INT(config_check_secrets(&c, err, sizeof(err)), VARSKO_OK);
	CHECK(chmod(path, 0640) == 0);
	CHECK_EQ_INT(config_check_secrets(&c, err, sizeof(err)), VARSKO_ERR_CONFIG);
	CHECK_EQ_STR(err, "org_key: secret file must be mode 0600 or stricter (is 0640)");
	CHECK(strstr(err, dir) == NULL);
	CHECK(chmod(path, 0604) == 0);
	CHECK_EQ_INT(config_check_secrets(&c, err, sizeof(err)), VARSKO_ERR_CONFIG);
	CHECK(chmod(path, 0600) == 0);
	/* A directory is not a key file. */
	CHECK(unlink(path) == 0);
	CHECK(mkdir(path, 0700) == 0);
	CHECK_EQ_INT(config_check_secrets(&c, err, sizeof(err)), VARSKO_ERR_CONFIG);
	CHECK_EQ_STR(err, "org_key: secret file is not a regular file");
	CHECK(rmdir(path) == 0);
	config_free(&c);

	/* Errors from a file carry its path and the line. */
	write_file(conf, "port = 1\nport = 2\n", 0644);
	CHECK_EQ_INT(config_load(conf, &c, err, sizeof(err)), VARSKO_ERR_CONFIG);
	snprintf(text, sizeof(text), "%s:2: duplicate key 'port' (first set on line 1)", conf);
	CHECK_EQ_STR(err, text);

	snprintf(path, sizeof(path), "%s/missing.conf", dir);
	CHECK_EQ_INT(config_load(path, &c, err, sizeof(err)), VARSKO_ERR_CONFIG);
	snprintf(text, sizeof(text), "%s:0: cannot read file", path);
	CHECK_EQ_STR(err, text);

	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, secrets[i]);
		unlink(path);
	}
	unlink(conf);
	CHECK(rmdir(dir) == 0);
}


static void test_key_files(void)
{
	char dir[] = "/tmp/varsko-test-keys-XXXXXX";
	char path[256], pubpath[256], certpath[256], line[256];
	uint8_t pk[32], pk2[32], org_pk[32], org_sk[64];
	uint8_t *sk = NULL, *sk2 = NULL;
	struct proto_cert c, c2;
	struct stat st;
	FILE *f;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/org.key", dir);
	snprintf(pubpath, sizeof(pubpath), "%s/org.pub", dir);
	snprintf(certpath, sizeof(certpath), "%s/gw.cert", dir);

	CHECK_EQ_INT(keys_secret_read(path, &sk2), VARSKO_ERR_NOT_FOUND);
	CHECK(sk2 == NULL);
	CHECK_EQ_INT(keys_secret_generate(&sk, pk), VARSKO_OK);
	if (sk == NULL)
		return;
	keys_public_of(sk, pk2);
	CHECK(memcmp(pk, pk2, 32) == 0);
	CHECK_EQ_INT(keys_secret_write(path, sk), VARSKO_OK);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	/* Never overwritten. */
	CHECK_EQ_INT(keys_secret_write(path, sk), VARSKO_ERR_EXISTS);
	CHECK_EQ_INT(keys_file_exists(path), 1);
	/* One line: base64 of the 64 bytes, then a newline. */
	f = fopen(path, "r");
	CHECK(f != NULL && fgets(line, sizeof(line), f) != NULL);
	if (f)
		fclose(f);
	CHECK_EQ_INT(strlen(line), 89);
	CHECK(line[88] == '\n');
	CHECK_EQ_INT(keys_secret_read(path, &sk2), VARSKO_OK);
	CHECK(sk2 != NULL && memcmp(sk, sk2, 64) == 0);
	keys_secret_free(sk2);
	sk2 = NULL;
	/* Loose permissions are refused even though the content is fine. */
	CHECK(chmod(path, 0640) == 0);
	CHECK_EQ_INT(keys_secret_read(path, &sk2), VARSKO_ERR_CONFIG);
	CHECK(chmod(path, 0604) == 0);
	CHECK_EQ_INT(keys_secret_read(path, &sk2), VARSKO_ERR_CONFIG);
	CHECK(chmod(path, 0400) == 0);
	CHECK_EQ_INT(keys_secret_read(path, &sk2), VARSKO_OK);
	keys_secret_free(sk2);
	sk2 = NULL;
	/* A link to a good key file is still refused. */
	{
		char link[300];

		CHECK(chmod(path, 0600) == 0);
		snprintf(link, sizeof(link), "%s/link.key", dir);
		CHECK(symlink(path, link) == 0);
		CHECK_EQ_INT(keys_secret_read(link, &sk2), VARSKO_ERR_CONFIG);
		CHECK(sk2 == NULL);
		CHECK(unlink(link) == 0);
	}
	CHECK(unlink(path) == 0);

	/* A public half that does not belong to the seed is refused. */
	{
		uint8_t bad[64];
		char b64[100];

		memcpy(bad, sk, 64);
		bad[63] ^= 1;
		CHECK_EQ_INT(proto_b64_encode(bad, 64, b64, sizeof(b64)), VARSKO_OK);
		sodium_memzero(bad, sizeof(bad));
		f = fopen(path, "w");
		CHECK(f != NULL);
		if (f) {
			fprintf(f, "%s\n", b64);
			fclose(f);
		}
		CHECK(chmod(path, 0600) == 0);
		CHECK_EQ_INT(keys_secret_read(path, &sk2), VARSKO_ERR_BAD_INPUT);
		CHECK(sk2 == NULL);
		/* Two lines, or a short key, are not a key file either. */
		f = fopen(path, "w");
		if (f) {
			fprintf(f, "%s\n\n", b64);
			fclose(f);
		}
		CHECK_EQ_INT(keys_secret_read(path, &sk2), VARSKO_ERR_BAD_INPUT);
		f = fopen(path, "w");
		if (f) {
			fputs("c2hvcnQ=\n", f);
			fclose(f);
		}
		CHECK_EQ_INT(keys_secret_read(path, &sk2), VARSKO_ERR_BAD_INPUT);
		CHECK(unlink(path) == 0);
	}

	/* Public key files. */
	CHECK_EQ_INT(keys_public_write(pubpath, pk), VARSKO_OK);
	CHECK_EQ_INT(keys_public_write(pubpath, pk), VARSKO_ERR_EXISTS);
	memset(pk2, 0, sizeof(pk2));
	CHECK_EQ_INT(keys_public_read(pubpath, pk2), VARSKO_OK);
	CHECK(memcmp(pk, pk2, 32) == 0);

	/* Certificate files round-trip and still verify. */
	crypto_sign_keypair(org_pk, org_sk);
	memset(&c, 0, sizeof(c));
	c.version = PROTO_VERSION;
	c.serial = 1;
	strcpy(c.user, "gateway");
	strcpy(c.name, "varskod");
	strcpy(c.role, "gateway");
	memcpy(c.sign_pk, pk, 32);
	randombytes_buf(c.box_pk, 32);
	c.not_before = 1795424400;
	c.not_after = c.not_before + 3653LL * 86400;
	CHECK_EQ_INT(proto_cert_sign(&c, org_sk), VARSKO_OK);
	CHECK_EQ_INT(keys_cert_write(certpath, &c), VARSKO_OK);
	CHECK_EQ_INT(keys_cert_write(certpath, &c), VARSKO_ERR_EXISTS);
	CHECK_EQ_INT(keys_cert_read(certpath, &c2), VARSKO_OK);
	CHECK_EQ_INT(c2.serial, 1);
	CHECK_EQ_STR(c2.role, "gateway");
	CHECK_EQ_INT(proto_cert_verify(&c2, org_pk, c.not_before + 10), VARSKO_OK);
	/* A certificate file that is not a certificate. */
	CHECK_EQ_INT(keys_cert_read(pubpath, &c2), VARSKO_ERR_BAD_INPUT);

	keys_secret_free(sk);
	keys_secret_free(NULL);
	sodium_memzero(org_sk, sizeof(org_sk));
	unlink(pubpath);
	unlink(certpath);
	CHECK(rmdir(dir) == 0);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_defaults();
	test_origins_default_port();
	test_every_key();
	test_log_levels();
	test_errors();
	test_binary_and_small_buffer();
	test_no_value_in_errors();
	test_load_and_secrets();
	test_key_files();
	return check_result();
}
