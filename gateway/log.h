/*
 * log.h: the log of varskod.
 *
 * One line per message on stderr: "YYYY-MM-DDTHH:MM:SSZ LEVEL message". A
 * line is written with a single write(2), so lines from different threads do
 * not interleave. Every function here is safe to call from any thread.
 *
 * Nothing personal ever goes into a log line: no names, CPR numbers, codes,
 * keys, payloads, SQL values or IP addresses. Name a device or session by
 * log_id() and pass any untrusted string through log_escape() first.
 */
#ifndef VARSKO_LOG_H
#define VARSKO_LOG_H

#include <stddef.h>
#include <stdint.h>

/* The same numbers as enum config_log_level (config.h). */
enum log_level {
	LOGL_ERROR = 0,
	LOGL_WARN = 1,
	LOGL_INFO = 2,
	LOGL_DEBUG = 3,
};

#define LOG_ID_LEN   12   /* hex characters of a log_id() */
#define LOG_LINE_MAX 1024 /* a longer line is truncated */

/*
 * Initialise the per-process random key of log_id() (sodium_init() must
 * have succeeded). Calling it is optional: log_id() initialises on first
 * use. Returns VARSKO_OK or VARSKO_ERR_CRYPTO.
 */
int log_init(void);

/*
 * The form of a line (config key log_format):
 *   LOG_FORMAT_TEXT     "YYYY-MM-DDTHH:MM:SSZ level message"
 *   LOG_FORMAT_JOURNAL  "<P>level message", P the syslog priority (3 error,
 *                       4 warn, 6 info, 7 debug), which journald keeps as the
 *                       line's priority (it adds its own time stamp)
 *   LOG_FORMAT_JSON     {"level":"info","msg":"...","time":"..."} for log
 *                       shippers
 * log_init() picks LOG_FORMAT_JOURNAL when stderr is journald's stream
 * (JOURNAL_STREAM names stderr's device and inode), else LOG_FORMAT_TEXT;
 * log_set_format() overrides it (log_format = text | journal | json | auto).
 */
enum log_format {
	LOG_FORMAT_AUTO = 0,
	LOG_FORMAT_TEXT = 1,
	LOG_FORMAT_JOURNAL = 2,
	LOG_FORMAT_JSON = 3,
};
void log_set_format(enum log_format f); /* LOG_FORMAT_AUTO: as log_init() detects */

/* Messages above `level` are dropped. The default is LOGL_INFO. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* printf-style message at `level`; a trailing newline is added. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * A short pseudonym for an identifier (device id, user id): the first 6
 * bytes of BLAKE2b keyed with a random key made once per process, as 12
 * lowercase hex characters plus NUL in `out`. Equal ids give equal names
 * within one process run and unlinkable names across runs.
 */
void log_id(const char *id, char out[LOG_ID_LEN + 1]);

/*
 * Copy the untrusted bytes in[0..len) to out (outcap > 0; always
 * NUL-terminated) so that they are safe in a log line: printable ASCII
 * other than backslash and quote is kept, everything else becomes \xNN, and
 * when it does not fit the copy ends with "...". Returns out.
 */
char *log_escape(const void *in, size_t len, char *out, size_t outcap);

/*
 * Route libwebsockets' own log into this log at warn and error level only,
 * with anything that looks like an IP address masked.
 */
void log_route_lws(void);

#endif
