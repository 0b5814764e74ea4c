/*
 * config.c: the varskod.conf parser, driven by one table of keys.
 *
 * Each entry of `keys` names a key, its type, its default, its range and the
 * offset of its field in struct config; parse_line() looks the key up and
 * store_value() converts and checks the value by type. Nothing else knows the
 * list of keys, so adding a key is one line here plus one field in config.h.
 * Error texts name the key and the line, never the value.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "file.h"
#include "proto.h"

enum key_type {
	K_ADDRESS, /* one word, host name or IP address */
	K_PATH,    /* any printable text */
	K_SECRET,  /* a path to a file that must be mode 0600 */
	K_INT,     /* decimal in [min, max] */
	K_ID,      /* [a-z0-9-], 1..PROTO_ID_MAX */
	K_ORIGINS, /* space separated wss:// origins */
	K_LOGLEVEL,
	K_LOGFORMAT,
};

#define CONFIG_FILE_MAX (1024 * 1024) /* a configuration file is a few hundred bytes */

#define F_REQUIRED 1

struct key_def {
	const char *name;
	enum key_type type;
	int flags;
	const char *def_str; /* default of a string key, NULL for none */
	int def_int;         /* default of an int key */
	long min, max;       /* range of an int key */
	size_t offset;       /* of the field in struct config */
};

#define STR(n, t, fl, d) { #n, t, fl, d, 0, 0, 0, offsetof(struct config, n) }
#define INT(n, d, lo, hi) { #n, K_INT, 0, NULL, d, lo, hi, offsetof(struct config, n) }

static const struct key_def keys[] = {
	STR(listen, K_ADDRESS, 0, "127.0.0.1"),
	INT(port, 8443, 1, 65535),
	STR(tls_cert, K_PATH, F_REQUIRED, NULL),
	STR(tls_key, K_SECRET, F_REQUIRED, NULL),
	STR(database, K_PATH, F_REQUIRED, NULL),
	STR(org_key, K_SECRET, F_REQUIRED, NULL),
	STR(gateway_key, K_SECRET, F_REQUIRED, NULL),
	STR(gateway_cert, K_PATH, F_REQUIRED, NULL),
	{ "origins", K_ORIGINS, 0, NULL, 0, 0, 0, offsetof(struct config, origins) },
	STR(tenant, K_ID, 0, "slagelse"),
	INT(handshake_timeout, 10, 1, 300),
	INT(idle_timeout, 300, 10, 86400),
	INT(recheck_interval, 30, 1, 3600),
	INT(max_frame, 65536, 1024, 16777216),
	INT(device_validity_days, 365, 1, 3650),
	INT(invite_validity_hours, 72, 1, 720),
	INT(max_sessions, 10000, 1, 100000),
	{ "log_level", K_LOGLEVEL, 0, NULL, CONFIG_LOG_INFO, 0, 0, offsetof(struct config, log_level) },
	STR(web_root, K_PATH, 0, NULL),
	STR(mqtt_host, K_ADDRESS, 0, NULL),
	INT(mqtt_port, 0, 1, 65535),
	STR(mqtt_ca, K_PATH, 0, NULL),
	STR(mqtt_cert, K_PATH, 0, NULL),
	STR(mqtt_key, K_SECRET, 0, NULL),
	INT(max_submit, 4194304, 65536, 16777216),
	INT(store_queue_max, 4096, 1, 1000000),
	INT(outbox_backoff_first, 30, 1, 86400),
	INT(outbox_backoff_max, 600, 1, 86400),
	INT(warn_vurdering_minutes, 240, 0, 1440),
	INT(warn_kvittering_hverdage, 1, 0, 5),
	INT(tilbagemelding_days, 30, 0, 3650),
	{ "log_format", K_LOGFORMAT, 0, NULL, CONFIG_LOG_FORMAT_AUTO, 0, 0, offsetof(struct config, log_format) },
	STR(admin_listen, K_ADDRESS, 0, "127.0.0.1"),
	INT(admin_port, 8444, 0, 65535),
	INT(health_mqtt_grace_seconds, 30, 0, 86400),
	INT(health_outbox_max, 1000, 1, 100000000),
	INT(thread_retention_days, 180, 1, 3650),
	INT(max_attachment, 26214400, 1, 1073741824),
	INT(max_conns_per_address, 256, 1, 100000),
	INT(max_sessions_per_device, 4, 1, 1000),
	INT(max_sessions_per_user, 16, 1, 10000),
	INT(logins_per_device_per_minute, 600, 1, 1000000),
	INT(mem_budget_bytes, 268435456, 1048576, 2147483647),
	INT(unauth_frames_per_second, 2000, 1, 1000000),
};

#undef STR
#undef INT

#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

_Static_assert(N_KEYS <= CONFIG_KEYS_MAX, "struct config's key_lines is too small for the table of keys");

static const char *const log_levels[] = { "error", "warn", "info", "debug" };
static const char *const log_formats[] = { "auto", "text", "journal", "json" }; /* enum config_log_format */

struct parser {
	const char *name;
	unsigned long line;
	unsigned long seen[N_KEYS]; /* line where each key was set, 0 if not */
	char *err;
	size_t errcap;
};

static void perr(struct parser *p, unsigned long line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void perr(struct parser *p, unsigned long line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->err == NULL || p->errcap == 0)
		return;
	n = snprintf(p->err, p->errcap, "%s:%lu: ", p->name, line);
	if (n < 0 || (size_t)n >= p->errcap)
		return;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errcap - (size_t)n, fmt, ap);
	va_end(ap);
}

static int is_space(char c)
{
	return c == ' ' || c == '\t';
}

static int is_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

static char **field_str(struct config *c, const struct key_def *k)
{
	return (char **)(void *)((char *)c + k->offset);
}

static int *field_int(struct config *c, const struct key_def *k)
{
	return (int *)(void *)((char *)c + k->offset);
}

/* Strict decimal: digits only, no sign, no overflow. */
static int parse_long(const char *s, long *out)
{
	long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (2147483647L - (*s - '0')) / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	*out = v;
	return 0;
}

static int set_origins(struct parser *p, struct config *c, const char *v)
{
	char canon[PROTO_ORIGIN_MAX + 1];
	char word[PROTO_ORIGIN_MAX + 2];
	size_t n = 0, wl;
	const char *s = v, *e;

	c->origins = calloc(CONFIG_ORIGINS_MAX, sizeof(char *));
	if (c->origins == NULL)
		return VARSKO_ERR_NOMEM;
	while (*s) {
		while (is_space(*s))
			s++;
		if (*s == '\0')
			break;
		for (e = s; *e && !is_space(*e); e++)
			;
		wl = (size_t)(e - s);
		if (n == CONFIG_ORIGINS_MAX) {
			perr(p, p->line, "origins: more than %d entries", CONFIG_ORIGINS_MAX);
			return VARSKO_ERR_CONFIG;
		}
		if (wl >= sizeof(word)) {
			perr(p, p->line, "origins: entry %zu is too long", n + 1);
			return VARSKO_ERR_CONFIG;
		}
		memcpy(word, s, wl);
		word[wl] = '\0';
		if (proto_origin_from_url(word, canon) != VARSKO_OK || strcmp(canon, word) != 0) {
			perr(p, p->line, "origins: entry %zu is not of the form wss://host:port", n + 1);
			return VARSKO_ERR_CONFIG;
		}
		if ((c->origins[n] = strdup(canon)) == NULL)
			return VARSKO_ERR_NOMEM;
		c->n_origins = ++n;
		s = e;
	}
	if (n == 0) {
		perr(p, p->line, "origins: empty list");
		return VARSKO_ERR_CONFIG;
	}
	return VARSKO_OK;
}

/* An int key whose value is one of words[0..n): its index. */
static int store_word(struct parser *p, struct config *c, const struct key_def *k, const char *v,
                      const char *const *words, size_t n)
{
	char list[128];
	size_t used = 0;

	for (size_t i = 0; i < n; i++) {
		if (strcmp(v, words[i]) == 0) {
			*field_int(c, k) = (int)i;
			return VARSKO_OK;
		}
	}
	list[0] = '\0';
	for (size_t i = 0; i < n && used < sizeof list; i++)
		used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i > 0 ? ", " : "", words[i]);
	perr(p, p->line, "%s: must be one of %s", k->name, list);
	return VARSKO_ERR_CONFIG;
}

/* Convert and check value v (NUL-terminated, trimmed, non-empty) for key k. */
static int store_value(struct parser *p, struct config *c, const struct key_def *k, const char *v)
{
	const char *s;
	long n;

	for (s = v; *s; s++) {
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f) {
			perr(p, p->line, "%s: control character in value", k->name);
			return VARSKO_ERR_CONFIG;
		}
	}
	switch (k->type) {
	case K_INT:
		if (parse_long(v, &n) != 0) {
			perr(p, p->line, "%s: not a number", k->name);
			return VARSKO_ERR_CONFIG;
		}
		if (n < k->min || n > k->max) {
			perr(p, p->line, "%s: out of range %ld..%ld", k->name, k->min, k->max);
			return VARSKO_ERR_CONFIG;
		}
		*field_int(c, k) = (int)n;
		return VARSKO_OK;
	case K_LOGLEVEL:
		return store_word(p, c, k, v, log_levels, sizeof(log_levels) / sizeof(log_levels[0]));
	case K_LOGFORMAT:
		return store_word(p, c, k, v, log_formats, sizeof(log_formats) / sizeof(log_formats[0]));
	case K_ORIGINS:
		return set_origins(p, c, v);
	case K_ID:
		for (s = v; *s; s++) {
			if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-')) {
				perr(p, p->line, "%s: only a-z, 0-9 and '-' allowed", k->name);
				return VARSKO_ERR_CONFIG;
			}
		}
		if (strlen(v) > PROTO_ID_MAX) {
			perr(p, p->line, "%s: longer than %d bytes", k->name, PROTO_ID_MAX);
			return VARSKO_ERR_CONFIG;
		}
		break;
	case K_ADDRESS:
		for (s = v; *s; s++) {
			if (is_space(*s)) {
				perr(p, p->line, "%s: must be one word", k->name);
				return VARSKO_ERR_CONFIG;
			}
		}
		break;
	case K_PATH:
	case K_SECRET:
		break;
	}
	if ((*field_str(c, k) = strdup(v)) == NULL)
		return VARSKO_ERR_NOMEM;
	return VARSKO_OK;
}

/* Parse one line (without its newline, NUL-terminated, may be modified). */
static int parse_line(struct parser *p, struct config *c, char *line)
{
	char *hash, *eq, *key, *val, *end;
	size_t i;

	if ((hash = strchr(line, '#')) != NULL)
		*hash = '\0';
	end = line + strlen(line);
	while (end > line && (is_space(end[-1]) || end[-1] == '\r'))
		*--end = '\0';
	while (is_space(*line))
		line++;
	if (*line == '\0')
		return VARSKO_OK;
	if ((eq = strchr(line, '=')) == NULL) {
		perr(p, p->line, "missing '='");
		return VARSKO_ERR_CONFIG;
	}
	key = line;
	end = eq;
	while (end > key && is_space(end[-1]))
		end--;
	*end = '\0';
	val = eq + 1;
	while (is_space(*val))
		val++;
	if (*key == '\0') {
		perr(p, p->line, "missing key before '='");
		return VARSKO_ERR_CONFIG;
	}
	for (end = key; *end; end++) {
		if (!is_key_char(*end) || end - key >= 40) {
			perr(p, p->line, "invalid key name");
			return VARSKO_ERR_CONFIG;
		}
	}
	for (i = 0; i < N_KEYS; i++) {
		if (strcmp(keys[i].name, key) == 0)
			break;
	}
	if (i == N_KEYS) {
		perr(p, p->line, "unknown key '%s'", key);
		return VARSKO_ERR_CONFIG;
	}
	if (p->seen[i]) {
		perr(p, p->line, "duplicate key '%s' (first set on line %lu)", key, p->seen[i]);
		return VARSKO_ERR_CONFIG;
	}
	p->seen[i] = p->line;
	if (*val == '\0') {
		perr(p, p->line, "%s: empty value", key);
		return VARSKO_ERR_CONFIG;
	}
	if (strlen(val) > CONFIG_VALUE_MAX) {
		perr(p, p->line, "%s: value longer than %d bytes", key, CONFIG_VALUE_MAX);
		return VARSKO_ERR_CONFIG;
	}
	return store_value(p, c, &keys[i], val);
}

/* The index of key `name` in keys[], N_KEYS when there is none. */
static size_t key_index(const char *name)
{
	size_t i;

	for (i = 0; i < N_KEYS && strcmp(keys[i].name, name) != 0; i++)
		;
	return i;
}

/* The line where key `name` was set, or `fallback` when it was not. */
static unsigned long key_line(const struct parser *p, const char *name, unsigned long fallback)
{
	size_t i = key_index(name);

	return i < N_KEYS && p->seen[i] ? p->seen[i] : fallback;
}

/* Fill in defaults, check required keys and the keys that depend on each other, and derive the default origins. */
static int finish(struct parser *p, struct config *c, unsigned long last_line)
{
	char buf[PROTO_ORIGIN_MAX + 1];
	size_t i;

	for (i = 0; i < N_KEYS; i++) {
		const struct key_def *k = &keys[i];

		if (p->seen[i])
			continue;
		if (k->flags & F_REQUIRED) {
			perr(p, last_line, "missing required key '%s'", k->name);
			return VARSKO_ERR_CONFIG;
		}
		switch (k->type) {
		case K_INT:
		case K_LOGLEVEL:
		case K_LOGFORMAT:
			*field_int(c, k) = k->def_int;
			break;
		case K_ORIGINS:
			break; /* below, once the port is known */
		default:
			if (k->def_str != NULL && (*field_str(c, k) = strdup(k->def_str)) == NULL)
				return VARSKO_ERR_NOMEM;
			break;
		}
	}
	/* Two listeners on one port cannot both bind; say so here rather than at startup. */
	if (c->admin_port != 0 && c->admin_port == c->port) {
		perr(p, key_line(p, "admin_port", key_line(p, "port", last_line)),
		     "admin_port: must differ from port (or be 0 for no admin listener)");
		return VARSKO_ERR_CONFIG;
	}
	if (c->n_origins == 0) {
		static const char *const hosts[] = { "localhost", "127.0.0.1" };

		if ((c->origins = calloc(2, sizeof(char *))) == NULL)
			return VARSKO_ERR_NOMEM;
		for (i = 0; i < 2; i++) {
			snprintf(buf, sizeof(buf), "wss://%s:%d", hosts[i], c->port);
			if ((c->origins[i] = strdup(buf)) == NULL)
				return VARSKO_ERR_NOMEM;
			c->n_origins = i + 1;
		}
	}
	return VARSKO_OK;
}

int config_parse(const char *text, size_t len, const char *name, struct config *out, char *err, size_t errcap)
{
	struct parser p;
	struct config c;
	char *line = NULL;
	size_t pos = 0, ll;
	const char *nl;
	int r = VARSKO_ERR_INTERNAL;

	memset(&p, 0, sizeof(p));
	memset(&c, 0, sizeof(c));
	memset(out, 0, sizeof(*out));
	p.name = name ? name : "config";
	p.err = err;
	p.errcap = errcap;
	if (err && errcap)
		err[0] = '\0';
	while (pos < len) {
		p.line++;
		nl = memchr(text + pos, '\n', len - pos);
		ll = nl ? (size_t)(nl - (text + pos)) : len - pos;
		if (memchr(text + pos, '\0', ll) != NULL) {
			perr(&p, p.line, "NUL byte in line");
			r = VARSKO_ERR_CONFIG;
			goto out;
		}
		if (ll > CONFIG_VALUE_MAX + 128) {
			perr(&p, p.line, "line too long");
			r = VARSKO_ERR_CONFIG;
			goto out;
		}
		if ((line = malloc(ll + 1)) == NULL) {
			r = VARSKO_ERR_NOMEM;
			goto out;
		}
		memcpy(line, text + pos, ll);
		line[ll] = '\0';
		if ((r = parse_line(&p, &c, line)) != VARSKO_OK)
			goto out;
		free(line);
		line = NULL;
		pos += ll + (nl ? 1 : 0);
	}
	if ((r = finish(&p, &c, p.line)) != VARSKO_OK)
		goto out;
	memcpy(c.key_lines, p.seen, sizeof p.seen);
	*out = c;
	memset(&c, 0, sizeof(c)); /* transferred to caller */
	r = VARSKO_OK;
out:
	if (r == VARSKO_ERR_NOMEM)
		perr(&p, p.line, "out of memory");
	free(line);
	config_free(&c);
	return r;
}

int config_load(const char *path, struct config *out, char *err, size_t errcap)
{
	char *buf = NULL;
	size_t got = 0;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = file_read(path, CONFIG_FILE_MAX, 0, &buf, &got)) != VARSKO_OK) {
		if (err && errcap)
			snprintf(err, errcap, "%s:0: %s", path,
			         r == VARSKO_ERR_TOO_LARGE ? "file too large" : "cannot read file");
		return r == VARSKO_ERR_NOMEM ? r : VARSKO_ERR_CONFIG;
	}
	r = config_parse(buf, got, path, out, err, errcap);
	file_free(buf, got, 0);
	return r;
}

unsigned long config_key_line(const struct config *c, const char *name)
{
	size_t i = name ? key_index(name) : N_KEYS;

	return c != NULL && i < N_KEYS ? c->key_lines[i] : 0;
}

void config_free(struct config *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < N_KEYS; i++) {
		const struct key_def *k = &keys[i];

		if (k->type != K_INT && k->type != K_LOGLEVEL && k->type != K_LOGFORMAT && k->type != K_ORIGINS)
			free(*field_str(c, k));
	}
	if (c->origins) {
		for (i = 0; i < c->n_origins; i++)
			free(c->origins[i]);
		free(c->origins);
	}
	memset(c, 0, sizeof(*c));
}

int config_check_secrets(const struct config *c, char *err, size_t errcap)
{
	struct stat st;
	size_t i;

	for (i = 0; i < N_KEYS; i++) {
		const struct key_def *k = &keys[i];
		const char *path;

		if (k->type != K_SECRET)
			continue;
		path = *(char *const *)(const void *)((const char *)c + k->offset);
		if (path == NULL)
			continue;
		if (stat(path, &st) != 0) {
			if (err && errcap)
				snprintf(err, errcap, "%s: secret file does not exist or cannot be read", k->name);
			return VARSKO_ERR_CONFIG;
		}
		if (!S_ISREG(st.st_mode)) {
			if (err && errcap)
				snprintf(err, errcap, "%s: secret file is not a regular file", k->name);
			return VARSKO_ERR_CONFIG;
		}
		if (st.st_uid != geteuid()) {
			if (err && errcap)
				snprintf(err, errcap, "%s: secret file is not owned by the current user", k->name);
			return VARSKO_ERR_CONFIG;
		}
		if (st.st_mode & 077) {
			if (err && errcap)
				snprintf(err, errcap, "%s: secret file must be mode 0600 or stricter (is %04o)", k->name,
				         (unsigned)(st.st_mode & 07777));
			return VARSKO_ERR_CONFIG;
		}
	}
	return VARSKO_OK;
}
