/*
 * log.c: stderr log with UTC timestamps, keyed pseudonyms and escaping.
 */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libwebsockets.h>
#include <sodium.h>

#include "calendar.h"
#include "varsko/err.h"

static atomic_int log_level_ = LOGL_INFO;
static atomic_int log_format_ = LOG_FORMAT_TEXT;

static pthread_once_t log_key_once_ = PTHREAD_ONCE_INIT;
static uint8_t log_key_[crypto_generichash_KEYBYTES];
static int log_key_ok_;

static const char *const log_level_names_[] = {"error", "warn", "info", "debug"};
static const char log_priorities_[] = {'3', '4', '6', '7'}; /* syslog: err, warning, info, debug */

/* 1 when stderr is journald's stream: JOURNAL_STREAM is "<device>:<inode>" of it (systemd.exec(5)). */
static int log_stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char tail;

	if (js == NULL || sscanf(js, "%llu:%llu%c", &dev, &ino, &tail) != 2 || fstat(STDERR_FILENO, &st) != 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_set_format(enum log_format f)
{
	if (f == LOG_FORMAT_AUTO)
		f = log_stderr_is_journal() ? LOG_FORMAT_JOURNAL : LOG_FORMAT_TEXT;
	if (f < LOG_FORMAT_TEXT || f > LOG_FORMAT_JSON)
		f = LOG_FORMAT_TEXT;
	atomic_store(&log_format_, (int)f);
}

static void log_key_make(void)
{
	if (sodium_init() < 0)
		return;
	randombytes_buf(log_key_, sizeof log_key_);
	log_key_ok_ = 1;
}

int log_init(void)
{
	log_set_format(LOG_FORMAT_AUTO);
	pthread_once(&log_key_once_, log_key_make);
	return log_key_ok_ ? VARSKO_OK : VARSKO_ERR_CRYPTO;
}

void log_set_level(enum log_level level)
{
	if (level < LOGL_ERROR)
		level = LOGL_ERROR;
	if (level > LOGL_DEBUG)
		level = LOGL_DEBUG;
	atomic_store(&log_level_, (int)level);
}

enum log_level log_get_level(void)
{
	return (enum log_level)atomic_load(&log_level_);
}

/* Append the JSON string escape of s[0..len) to line[*n..cap), truncating (never splitting an escape). */
static void log_json_escape(char *line, size_t *n, size_t cap, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[6];
		size_t k = 0;

		if (c == '"' || c == '\\') {
			esc[k++] = '\\';
			esc[k++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			esc[k++] = '\\';
			esc[k++] = 'u';
			esc[k++] = '0';
			esc[k++] = '0';
			esc[k++] = hex[c >> 4];
			esc[k++] = hex[c & 15];
		} else {
			esc[k++] = (char)c;
		}
		if (*n + k >= cap)
			return;
		memcpy(line + *n, esc, k);
		*n += k;
	}
}

static void log_vmsg(enum log_level level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	char msg[LOG_LINE_MAX], line[2 * LOG_LINE_MAX + 96], ts[CAL_TIME_LEN + 1];
	time_t now = time(NULL);
	int format = atomic_load(&log_format_), k;
	size_t n = 0, mlen;

	if ((int)level > atomic_load(&log_level_) || level < LOGL_ERROR)
		return;
	k = vsnprintf(msg, sizeof msg, fmt, ap);
	mlen = k < 0 ? 0 : (size_t)k < sizeof msg ? (size_t)k : sizeof msg - 1;
	/* A message must stay on one line whatever a caller passed in. */
	for (size_t i = 0; i < mlen; i++)
		if (msg[i] == '\n' || msg[i] == '\r')
			msg[i] = ' ';
	if (cal_format_utc((int64_t)now, ts) != VARSKO_OK)
		ts[0] = '\0';
	if (format == LOG_FORMAT_JSON) {
		n = (size_t)snprintf(line, sizeof line, "{\"level\":\"%s\",\"msg\":\"", log_level_names_[level]);
		log_json_escape(line, &n, sizeof line - 64, msg, mlen);
		n += (size_t)snprintf(line + n, sizeof line - n, "\",\"time\":\"%s\"}", ts);
	} else {
		if (format == LOG_FORMAT_JOURNAL)
			n = (size_t)snprintf(line, sizeof line, "<%c>%s ", log_priorities_[level], log_level_names_[level]);
		else
			n = (size_t)snprintf(line, sizeof line, "%s%s%s ", ts, ts[0] != '\0' ? " " : "",
			                     log_level_names_[level]);
		memcpy(line + n, msg, mlen);
		n += mlen;
	}
	if (n > sizeof line - 1)
		n = sizeof line - 1;
	line[n++] = '\n';
	/* One write per line keeps lines of different threads apart. */
	if (write(STDERR_FILENO, line, n) < 0) {
		/* Nowhere left to report it. */
	}
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void log_id(const char *id, char out[LOG_ID_LEN + 1])
{
	uint8_t h[LOG_ID_LEN / 2];

	(void)log_init();
	if (!log_key_ok_ || id == NULL) {
		memcpy(out, "------------", LOG_ID_LEN + 1);
		return;
	}
	crypto_generichash(h, sizeof h, (const uint8_t *)id, strlen(id), log_key_, sizeof log_key_);
	sodium_bin2hex(out, LOG_ID_LEN + 1, h, sizeof h);
}

char *log_escape(const void *in, size_t len, char *out, size_t outcap)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *p = in;
	size_t o = 0;

	if (outcap == 0)
		return out;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = p[i];
		size_t need = (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') ? 1 : 4;

		/* Keep room for "..." and the NUL unless this is the last byte. */
		if (o + need + (i + 1 < len ? 3 : 0) + 1 > outcap) {
			if (o + 4 <= outcap) {
				memcpy(out + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (need == 1) {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return out;
}

static int log_addr_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '.' || c == ':';
}

/*
 * Mask every run of hex digits, dots and colons that looks like an IPv4
 * (three dots) or IPv6 (two colons) address. Works in place; the result is
 * never longer than "[addr]" per run, so a run shorter than that is left
 * alone when it cannot be an address anyway.
 */
static void log_mask_addresses(char *s)
{
	char *r = s, *w = s;

	while (*r) {
		if (!log_addr_char(*r)) {
			*w++ = *r++;
			continue;
		}
		char *start = r;
		int dots = 0, colons = 0;

		while (*r && log_addr_char(*r)) {
			dots += *r == '.';
			colons += *r == ':';
			r++;
		}
		if (dots >= 3 || colons >= 2) {
			size_t runlen = (size_t)(r - start);
			const char *mask = "[addr]";
			size_t ml = runlen < 6 ? runlen : 6;

			memmove(w, mask, ml);
			w += ml;
		} else {
			memmove(w, start, (size_t)(r - start));
			w += r - start;
		}
	}
	*w = '\0';
}

static void log_lws_emit(int level, const char *line)
{
	char esc[512];
	size_t len = strlen(line);

	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	log_escape(line, len, esc, sizeof esc);
	log_mask_addresses(esc);
	log_msg(level & LLL_ERR ? LOGL_ERROR : LOGL_WARN, "lws: %s", esc);
}

void log_route_lws(void)
{
	lws_set_log_level(LLL_ERR | LLL_WARN, log_lws_emit);
}
