/*
 * webroot.c: the web client's files in memory (webroot.h).
 *
 * The loader walks the tree with openat() from one directory descriptor to
 * the next, never by path, and opens nothing it has not first seen as a
 * directory or regular file with fstatat(AT_SYMLINK_NOFOLLOW); files are
 * opened with O_NOFOLLOW (file_read_at), so a link swapped in between is
 * refused rather than followed. The files end up in one array sorted by URL
 * path; a lookup is a binary search.
 */
#include "webroot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "file.h"
#include "proto.h"

struct webroot_item {
	struct webroot_file f; /* its pointers point into path, data and gz below */
	char *path;            /* owned */
	char *data;            /* owned, file_free() */
	size_t data_len;
	char *gz; /* owned, file_free(); NULL without a variant */
	size_t gz_len;
};

struct webroot {
	struct webroot_item *items; /* sorted by path */
	size_t n, cap;
};

struct loader {
	struct webroot *w;
	size_t files; /* regular files read, .gz included */
	size_t bytes; /* their bytes */
	char *err;
	size_t errcap;
};

static void lerr(struct loader *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void lerr(struct loader *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (l->err == NULL || l->errcap == 0)
		return;
	n = snprintf(l->err, l->errcap, "web_root: ");
	if (n < 0 || (size_t)n >= l->errcap)
		return;
	va_start(ap, fmt);
	vsnprintf(l->err + n, l->errcap - (size_t)n, fmt, ap);
	va_end(ap);
}

/* The characters a URL path of the tree may hold; every loaded name is made of them (and '/' separates). */
static int webroot_name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
	       c == '-';
}

static const struct {
	const char *ext;
	const char *type;
} webroot_types[] = {
        {"html", "text/html; charset=utf-8"},
        {"js", "text/javascript; charset=utf-8"},
        {"mjs", "text/javascript; charset=utf-8"},
        {"css", "text/css; charset=utf-8"},
        {"json", "application/json"},
        {"svg", "image/svg+xml"},
        {"png", "image/png"},
        {"ico", "image/x-icon"},
        {"woff", "font/woff"},
        {"woff2", "font/woff2"},
        {"ttf", "font/ttf"},
        {"txt", "text/plain; charset=utf-8"},
        {"webmanifest", "application/manifest+json"},
        {"wasm", "application/wasm"},
};

/* The Content-Type for a path by its extension; application/octet-stream for any other. */
static const char *webroot_type(const char *path)
{
	const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');

	if (dot != NULL && (slash == NULL || dot > slash)) {
		for (size_t i = 0; i < sizeof webroot_types / sizeof webroot_types[0]; i++)
			if (strcasecmp(dot + 1, webroot_types[i].ext) == 0)
				return webroot_types[i].type;
	}
	return "application/octet-stream";
}

/* A strong ETag: the first 16 bytes of the SHA-256 of the bytes in hex, "-gz" marking the gzip variant. */
static void webroot_etag(struct webroot_body *b, int gz)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	char hex[32 + 1];

	crypto_hash_sha256(h, b->bytes, b->len);
	sodium_bin2hex(hex, sizeof hex, h, 16);
	snprintf(b->etag, sizeof b->etag, "\"%s%s\"", hex, gz ? "-gz" : "");
}

static int webroot_push(struct loader *l, char *path, char *data, size_t len)
{
	struct webroot *w = l->w;
	struct webroot_item *it;

	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;

		if ((it = realloc(w->items, cap * sizeof *it)) == NULL)
			return VARSKO_ERR_NOMEM;
		w->items = it;
		w->cap = cap;
	}
	it = &w->items[w->n++];
	memset(it, 0, sizeof *it);
	it->path = path;
	it->data = data;
	it->data_len = len;
	return VARSKO_OK;
}

/*
 * Read the regular file `name` of directory dfd as URL path `path`
 * (prefix + "/" + name, already built). Counts it against the limits.
 */
static int webroot_read_file(struct loader *l, int dfd, const char *name, const char *path)
{
	char *data = NULL, *copy = NULL;
	size_t len = 0;
	int r;

	if (++l->files > WEBROOT_FILES_MAX) {
		lerr(l, "more than %d files", WEBROOT_FILES_MAX);
		return VARSKO_ERR_TOO_LARGE;
	}
	r = file_read_at(dfd, name, WEBROOT_BYTES_MAX - l->bytes, FILE_NOFOLLOW, &data, &len);
	if (r == VARSKO_ERR_TOO_LARGE) {
		lerr(l, "more than %u MiB of files", WEBROOT_BYTES_MAX >> 20);
		return r;
	}
	if (r != VARSKO_OK) {
		lerr(l, "cannot read %s", path);
		return r == VARSKO_ERR_NOMEM ? r : VARSKO_ERR_IO;
	}
	l->bytes += len;
	if ((copy = strdup(path)) == NULL || webroot_push(l, copy, data, len) != VARSKO_OK) {
		free(copy);
		file_free(data, len, 0);
		return VARSKO_ERR_NOMEM;
	}
	return VARSKO_OK;
}

/*
 * Load directory dfd (owned: closed here), whose URL path is prefix[0..plen)
 * ("" for the root), `depth` directories below the root.
 */
static int webroot_walk(struct loader *l, int dfd, const char *prefix, int depth)
{
	char path[WEBROOT_PATH_MAX + 1];
	struct dirent *de;
	struct stat st;
	DIR *d;
	int r = VARSKO_OK;

	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		lerr(l, "cannot read the directory %s/", prefix);
		return VARSKO_ERR_CONFIG;
	}
	for (;;) {
		const char *name;
		int n;

		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0) {
				lerr(l, "cannot read the directory %s/", prefix);
				r = VARSKO_ERR_IO;
			}
			break;
		}
		name = de->d_name;
		if (name[0] == '.')
			continue; /* ".", "..", dotfiles and dot directories */
		for (n = 0; name[n] != '\0' && webroot_name_char(name[n]); n++)
			;
		if (name[n] != '\0')
			continue; /* never addressable (webroot_lookup) */
		n = snprintf(path, sizeof path, "%s/%s", prefix, name);
		if (n < 0 || (size_t)n >= sizeof path)
			continue; /* longer than any path a lookup accepts */
		if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			lerr(l, "cannot read %s", path);
			r = VARSKO_ERR_IO;
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			int sub;

			if (depth == WEBROOT_DEPTH_MAX) {
				lerr(l, "directories nested more than %d deep (%s/)", WEBROOT_DEPTH_MAX, path);
				r = VARSKO_ERR_TOO_LARGE;
				break;
			}
			sub = openat(dirfd(d), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0) {
				lerr(l, "cannot read the directory %s/", path);
				r = VARSKO_ERR_CONFIG;
				break;
			}
			if ((r = webroot_walk(l, sub, path, depth + 1)) != VARSKO_OK)
				break;
		} else if (S_ISREG(st.st_mode)) {
			if ((r = webroot_read_file(l, dirfd(d), name, path)) != VARSKO_OK)
				break;
		}
		/* Anything else (a symbolic link, a socket, a device) is not served. */
	}
	closedir(d);
	return r;
}

static int webroot_cmp(const void *a, const void *b)
{
	return strcmp(((const struct webroot_item *)a)->path, ((const struct webroot_item *)b)->path);
}

static int webroot_find_cmp(const void *key, const void *item)
{
	return strcmp(key, ((const struct webroot_item *)item)->path);
}

static struct webroot_item *webroot_find(const struct webroot *w, const char *path)
{
	if (w->n == 0)
		return NULL;
	return bsearch(path, w->items, w->n, sizeof w->items[0], webroot_find_cmp);
}

static int webroot_is_gz(const char *path)
{
	size_t n = strlen(path);

	return n > 3 && strcmp(path + n - 3, ".gz") == 0;
}

static void webroot_item_free(struct webroot_item *it)
{
	free(it->path);
	file_free(it->data, it->data_len, 0);
	file_free(it->gz, it->gz_len, 0);
	memset(it, 0, sizeof *it);
}

/*
 * Sorted: make every NAME.gz the variant of NAME, drop the .gz items and
 * fill in the public part of each remaining one.
 */
static int webroot_finish(struct webroot *w)
{
	char base[WEBROOT_PATH_MAX + 1];
	size_t i, k;

	for (i = 0; i < w->n; i++) {
		struct webroot_item *it = &w->items[i], *b;
		size_t n = strlen(it->path);

		if (!webroot_is_gz(it->path))
			continue;
		memcpy(base, it->path, n - 3);
		base[n - 3] = '\0';
		if (webroot_is_gz(base) || (b = webroot_find(w, base)) == NULL)
			continue;
		b->gz = it->data;
		b->gz_len = it->data_len;
		it->data = NULL; /* transferred to its NAME */
		it->data_len = 0;
	}
	for (i = k = 0; i < w->n; i++) {
		struct webroot_item *it = &w->items[i];

		if (webroot_is_gz(it->path)) {
			webroot_item_free(it);
			continue;
		}
		w->items[k++] = *it;
	}
	w->n = k;
	for (i = 0; i < w->n; i++) {
		struct webroot_item *it = &w->items[i];

		it->f.path = it->path;
		it->f.type = webroot_type(it->path);
		it->f.immutable = strncmp(it->path, "/assets/", 8) == 0;
		it->f.body.bytes = (const uint8_t *)it->data;
		it->f.body.len = it->data_len;
		webroot_etag(&it->f.body, 0);
		if (it->gz != NULL) {
			it->f.gz.bytes = (const uint8_t *)it->gz;
			it->f.gz.len = it->gz_len;
			webroot_etag(&it->f.gz, 1);
		}
	}
	return VARSKO_OK;
}

int webroot_load(struct webroot **out, const char *dir, char *err, size_t errcap)
{
	struct loader l;
	struct webroot *w = NULL;
	int fd, r = VARSKO_ERR_INTERNAL;

	*out = NULL;
	memset(&l, 0, sizeof l);
	l.err = err;
	l.errcap = errcap;
	if (err && errcap)
		err[0] = '\0';
	if ((w = calloc(1, sizeof *w)) == NULL) {
		lerr(&l, "out of memory");
		return VARSKO_ERR_NOMEM;
	}
	l.w = w;
	/* The root itself may be a symbolic link (a "current" link to the installed release). */
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		lerr(&l, "%s", errno == ENOENT    ? "the directory does not exist"
		               : errno == ENOTDIR ? "not a directory"
		                                  : "the directory cannot be opened");
		r = VARSKO_ERR_CONFIG;
		goto out;
	}
	if ((r = webroot_walk(&l, fd, "", 0)) != VARSKO_OK)
		goto out;
	qsort(w->items, w->n, sizeof w->items[0], webroot_cmp);
	if ((r = webroot_finish(w)) != VARSKO_OK)
		goto out;
	*out = w;
	w = NULL; /* transferred to caller */
	r = VARSKO_OK;
out:
	if (r == VARSKO_ERR_NOMEM)
		lerr(&l, "out of memory");
	webroot_free(w);
	return r;
}

size_t webroot_count(const struct webroot *w)
{
	return w ? w->n : 0;
}

const struct webroot_file *webroot_lookup(const struct webroot *w, const char *path)
{
	char p[WEBROOT_PATH_MAX + 1];
	const char *seg;
	struct webroot_item *it;
	size_t n;

	if (w == NULL || path == NULL || path[0] != '/')
		return NULL;
	n = strcspn(path, "?");
	if (n > WEBROOT_PATH_MAX)
		return NULL;
	memcpy(p, path, n);
	p[n] = '\0';
	if (strcmp(p, "/") == 0)
		snprintf(p, sizeof p, "/index.html");
	for (size_t i = 0; p[i] != '\0'; i++)
		if (p[i] != '/' && !webroot_name_char(p[i]))
			return NULL;
	/* Every segment non-empty and neither "." nor "..": no "//", no trailing '/', no way up. */
	for (seg = p + 1;; seg += n + 1) {
		n = strcspn(seg, "/");
		if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return NULL;
		if (seg[n] == '\0')
			break;
	}
	it = webroot_find(w, p);
	return it ? &it->f : NULL;
}

void webroot_free(struct webroot *w)
{
	if (w == NULL)
		return;
	for (size_t i = 0; i < w->n; i++)
		webroot_item_free(&w->items[i]);
	free(w->items);
	free(w);
}

/*
 * The one Content-Security-Policy of the web client, built once at startup.
 * Everything comes from the gateway itself ('self'): no CDN, no inline
 * script or style. 'wasm-unsafe-eval' is there because the client's
 * libsodium (libsodium-wrappers-sumo) compiles WebAssembly; it allows
 * WebAssembly compilation only, never eval() of strings. connect-src lists
 * the configured WebSocket origins, since a wss:// URL is not 'self' for
 * every browser. Trusted Types make any HTML sink that is handed a plain
 * string (innerHTML and friends) throw; the client creates its one policy,
 * "varsko". The page cannot be framed, has no <base>, submits no form and
 * embeds no plugin.
 */
int webroot_csp(const char *const *origins, size_t n_origins, char **out)
{
	static const char head[] = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "
	                           "img-src 'self' data:; font-src 'self'; connect-src 'self'";
	static const char tail[] = "; worker-src 'self'; manifest-src 'self'; frame-ancestors 'none'; "
	                           "base-uri 'none'; form-action 'none'; object-src 'none'; "
	                           "require-trusted-types-for 'script'; trusted-types varsko";
	size_t len = sizeof head - 1 + sizeof tail - 1 + 1, o;
	char *s;

	*out = NULL;
	for (size_t i = 0; i < n_origins; i++)
		len += 1 + strlen(origins[i]);
	if ((s = malloc(len)) == NULL)
		return VARSKO_ERR_NOMEM;
	memcpy(s, head, sizeof head - 1);
	o = sizeof head - 1;
	for (size_t i = 0; i < n_origins; i++) {
		size_t k = strlen(origins[i]);

		s[o++] = ' ';
		memcpy(s + o, origins[i], k);
		o += k;
	}
	memcpy(s + o, tail, sizeof tail);
	*out = s;
	return VARSKO_OK;
}

static const char *webroot_skip_ows(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

int webroot_etag_match(const char *inm, const char *etag)
{
	size_t elen = strlen(etag);

	if (inm == NULL)
		return 0;
	for (const char *s = inm; *s;) {
		size_t n;

		s = webroot_skip_ows(s);
		n = strcspn(s, ",");
		while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		if (n == 1 && s[0] == '*')
			return 1;
		if (n >= 2 && s[0] == 'W' && s[1] == '/') {
			s += 2;
			n -= 2;
		}
		if (n == elen && memcmp(s, etag, n) == 0)
			return 1;
		s += strcspn(s, ",");
		if (*s == ',')
			s++;
	}
	return 0;
}

/* 1 when a ";q=..." parameter list params[0..n) sets q to zero. */
static int webroot_q_zero(const char *params, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *q = params + i;

		if ((q[0] == 'q' || q[0] == 'Q') && i + 1 < n && q[1] == '=' && (i == 0 || strchr("; \t", q[-1]))) {
			size_t j = i + 2;

			if (j >= n || params[j] != '0')
				return 0;
			for (j++; j < n && (params[j] == '.' || params[j] == '0'); j++)
				;
			return j >= n || params[j] == ';' || params[j] == ' ' || params[j] == '\t';
		}
	}
	return 0;
}

int webroot_accepts_gzip(const char *ae)
{
	if (ae == NULL)
		return 0;
	for (const char *s = ae; *s;) {
		size_t n, t;

		s = webroot_skip_ows(s);
		n = strcspn(s, ",");
		t = strcspn(s, ",; \t");
		if (t == 4 && strncasecmp(s, "gzip", 4) == 0)
			return !webroot_q_zero(s + t, n - t);
		s += n;
		if (*s == ',')
			s++;
	}
	return 0;
}
