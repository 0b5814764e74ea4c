/*
 * webroot.h: the browser client's files, read into memory once at startup
 * (web_root in varskod.conf; docs/OPERATIONS.md "The web client").
 *
 * webroot_load() walks the directory tree before the event loop starts and
 * keeps every servable file's bytes, content type, strong ETag and gzip
 * variant, so serving a request (server.c) never touches the disk. What is
 * loaded: regular files only (symbolic links, devices and sockets are
 * skipped), no name that starts with '.' (dotfiles and dot directories),
 * only names of [A-Za-z0-9._-], directories at most WEBROOT_DEPTH_MAX
 * below the root. A file NAME.gz next to NAME is NAME's gzip variant and
 * is not addressable itself; a .gz without its NAME is not loaded.
 *
 * Threads: load and free on one thread before and after the server runs;
 * lookups from any thread (the tree is immutable once loaded).
 */
#ifndef VARSKO_WEBROOT_H
#define VARSKO_WEBROOT_H

#include <stddef.h>
#include <stdint.h>

#define WEBROOT_DEPTH_MAX 8                /* directories below web_root */
#define WEBROOT_FILES_MAX 1024             /* regular files, .gz variants included */
#define WEBROOT_BYTES_MAX (64u << 20)      /* bytes of all of them together */
#define WEBROOT_PATH_MAX  256              /* bytes of a URL path, "/assets/app-abc123.js" */
#define WEBROOT_ETAG_LEN  (2 + 32 + 3 + 1) /* "\"" 32 hex digits [-gz] "\"" NUL */

/* One representation of a file: its bytes and their strong ETag. */
struct webroot_body {
	const uint8_t *bytes; /* NULL for no representation (no gzip variant) */
	size_t len;
	char etag[WEBROOT_ETAG_LEN]; /* quoted, e.g. "\"3f1c...\"" */
};

/* One servable file. Everything is borrowed from the struct webroot that holds it. */
struct webroot_file {
	const char *path;         /* the URL path: "/index.html" */
	const char *type;         /* the Content-Type, from the extension */
	int immutable;            /* under /assets/ (content-hashed names): cached for a year */
	struct webroot_body body; /* the file itself */
	struct webroot_body gz;   /* NAME.gz, bytes NULL when there is none */
};

struct webroot;

/*
 * Read the tree under `dir` (borrowed). On VARSKO_OK *out is owned by the
 * caller (webroot_free). On failure *out is NULL and err gets an English
 * sentence that starts with "web_root: " and names no path outside the tree
 * (the directory is a configuration value): the directory cannot be opened
 * or read (VARSKO_ERR_CONFIG), it holds more than WEBROOT_FILES_MAX files
 * or WEBROOT_BYTES_MAX bytes, or directories deeper than WEBROOT_DEPTH_MAX
 * (VARSKO_ERR_TOO_LARGE), a file cannot be read (VARSKO_ERR_IO) or
 * VARSKO_ERR_NOMEM. Blocks on the file system: call it before the event
 * loop starts.
 */
int webroot_load(struct webroot **out, const char *dir, char *err, size_t errcap);

/* The number of servable files (the .gz variants not counted). */
size_t webroot_count(const struct webroot *w);

/*
 * The file for the URL path `path` (borrowed; the part after '?' is
 * ignored), or NULL. "/" is "/index.html". A path that is not made of
 * [A-Za-z0-9._/-], that has a "." or ".." segment, an empty segment ("//")
 * or more than WEBROOT_PATH_MAX bytes is NULL, whatever the tree holds.
 */
const struct webroot_file *webroot_lookup(const struct webroot *w, const char *path);

/* Free the tree and everything it holds. NULL-safe. */
void webroot_free(struct webroot *w);

/*
 * The Content-Security-Policy of the web client, with `connect-src 'self'`
 * followed by the n_origins origins (borrowed, wss://host:port). *out is
 * owned by the caller (free). VARSKO_OK or VARSKO_ERR_NOMEM.
 */
int webroot_csp(const char *const *origins, size_t n_origins, char **out);

/*
 * 1 when the If-None-Match header value `inm` (borrowed, may be NULL) names
 * `etag` (compared weakly, as RFC 9110 13.1.2 wants) or is "*", else 0.
 */
int webroot_etag_match(const char *inm, const char *etag);

/* 1 when the Accept-Encoding header value `ae` (borrowed, may be NULL) accepts gzip (not with q=0), else 0. */
int webroot_accepts_gzip(const char *ae);

#endif
