/* test-webroot.c: gateway/webroot.c, the web client's files in memory, and its header helpers. */
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "check.h"
#include "proto.h"
#include "webroot.h"

static char top[] = "/tmp/varsko-test-webroot-XXXXXX";

/* Write text to top/rel, making its directories. */
static void put(const char *rel, const char *text)
{
	char path[512], *slash;
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", top, rel);
	for (slash = strchr(path + strlen(top) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(path, 0755);
		*slash = '/';
	}
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f != NULL) {
		fputs(text, f);
		fclose(f);
	}
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void rm_tree(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The content type of the file at path, NULL when there is none. */
static const char *type_of(const struct webroot *w, const char *path)
{
	const struct webroot_file *f = webroot_lookup(w, path);

	return f ? f->type : NULL;
}

static int load(const char *rel, struct webroot **w, char *err, size_t errcap)
{
	char path[512];

	snprintf(path, sizeof path, "%s/%s", top, rel);
	return webroot_load(w, path, err, errcap);
}

static void test_tree(void)
{
	struct webroot *w = NULL;
	const struct webroot_file *f;
	char err[256], link[512], target[512];
	unsigned char h[crypto_hash_sha256_BYTES];
	char hex[65], etag[WEBROOT_ETAG_LEN];

	put("web/index.html", "<!doctype html>\n");
	put("web/assets/app-1a2b.js", "let a = 1;\n");
	put("web/assets/app-1a2b.js.gz", "not really gzip, but the bytes are kept as they are");
	put("web/assets/fonts/x.woff2", "wOF2");
	put("web/sub/data.json", "{}");
	put("web/orphan.txt.gz", "no orphan.txt");
	put("web/README", "no extension");
	put("web/.hidden", "dotfile");
	put("web/.git/HEAD", "ref");
	put("web/bad name.txt", "a space");
	put("outside.txt", "outside");
	snprintf(link, sizeof link, "%s/web/link.txt", top);
	snprintf(target, sizeof target, "%s/outside.txt", top);
	CHECK(symlink(target, link) == 0);
	snprintf(link, sizeof link, "%s/web/linkdir", top);
	snprintf(target, sizeof target, "%s/web/sub", top);
	CHECK(symlink(target, link) == 0);

	CHECK_EQ_INT(load("web", &w, err, sizeof err), VARSKO_OK);
	if (w == NULL)
		return;
	/* index.html, app-1a2b.js (with its variant), x.woff2, data.json, README. */
	CHECK_EQ_INT(webroot_count(w), 5);

	f = webroot_lookup(w, "/");
	CHECK(f != NULL && strcmp(f->path, "/index.html") == 0);
	CHECK(f != NULL && f->immutable == 0 && f->gz.bytes == NULL);
	CHECK_EQ_STR(f ? f->type : NULL, "text/html; charset=utf-8");
	crypto_hash_sha256(h, (const unsigned char *)"<!doctype html>\n", 16);
	sodium_bin2hex(hex, sizeof hex, h, sizeof h);
	snprintf(etag, sizeof etag, "\"%.32s\"", hex);
	CHECK_EQ_STR(f ? f->body.etag : NULL, etag);
	CHECK(f != NULL && f->body.len == 16 && memcmp(f->body.bytes, "<!doctype html>\n", 16) == 0);

	f = webroot_lookup(w, "/assets/app-1a2b.js?v=1");
	CHECK(f != NULL && f->immutable == 1);
	CHECK_EQ_STR(f ? f->type : NULL, "text/javascript; charset=utf-8");
	CHECK(f != NULL && f->gz.bytes != NULL &&
	      f->gz.len == strlen("not really gzip, but the bytes are kept as they are"));
	CHECK(f != NULL && strcmp(f->gz.etag, f->body.etag) != 0 && strstr(f->gz.etag, "-gz\"") != NULL);
	CHECK_EQ_STR(type_of(w, "/assets/fonts/x.woff2"), "font/woff2");
	CHECK_EQ_STR(type_of(w, "/sub/data.json"), "application/json");
	CHECK_EQ_STR(type_of(w, "/README"), "application/octet-stream");

	/* Not loaded, or never addressable. */
	CHECK(webroot_lookup(w, "/assets/app-1a2b.js.gz") == NULL);
	CHECK(webroot_lookup(w, "/orphan.txt.gz") == NULL);
	CHECK(webroot_lookup(w, "/orphan.txt") == NULL);
	CHECK(webroot_lookup(w, "/.hidden") == NULL);
	CHECK(webroot_lookup(w, "/.git/HEAD") == NULL);
	CHECK(webroot_lookup(w, "/link.txt") == NULL);
	CHECK(webroot_lookup(w, "/linkdir/data.json") == NULL);
	CHECK(webroot_lookup(w, "/bad name.txt") == NULL);
	/* Paths that are refused whatever the tree holds. */
	CHECK(webroot_lookup(w, "") == NULL);
	CHECK(webroot_lookup(w, "index.html") == NULL);
	CHECK(webroot_lookup(w, "//index.html") == NULL);
	CHECK(webroot_lookup(w, "/sub//data.json") == NULL);
	CHECK(webroot_lookup(w, "/sub/data.json/") == NULL);
	CHECK(webroot_lookup(w, "/sub/./data.json") == NULL);
	CHECK(webroot_lookup(w, "/sub/../index.html") == NULL);
	CHECK(webroot_lookup(w, "/../web/index.html") == NULL);
	CHECK(webroot_lookup(w, "/%69ndex.html") == NULL);
	CHECK(webroot_lookup(w, "/index.html\\") == NULL);
	CHECK(webroot_lookup(w, "/sub") == NULL);
	CHECK(webroot_lookup(NULL, "/index.html") == NULL);
	CHECK(webroot_lookup(w, NULL) == NULL);
	webroot_free(w);
	webroot_free(NULL);
}

static void test_limits(void)
{
	struct webroot *w = NULL;
	char err[256], rel[512], big[512];
	int fd;

	CHECK_EQ_INT(load("no-such-dir", &w, err, sizeof err), VARSKO_ERR_CONFIG);
	CHECK(w == NULL);
	CHECK_EQ_STR(err, "web_root: the directory does not exist");
	CHECK_EQ_INT(load("outside.txt", &w, err, sizeof err), VARSKO_ERR_CONFIG);
	CHECK_EQ_STR(err, "web_root: not a directory");

	/* Nine directories below the root is one too many; eight is fine. */
	put("deep/1/2/3/4/5/6/7/8/ok.txt", "eight deep");
	CHECK_EQ_INT(load("deep", &w, err, sizeof err), VARSKO_OK);
	CHECK(w != NULL && webroot_lookup(w, "/1/2/3/4/5/6/7/8/ok.txt") != NULL);
	webroot_free(w);
	w = NULL;
	put("deep/1/2/3/4/5/6/7/8/9/no.txt", "nine deep");
	CHECK_EQ_INT(load("deep", &w, err, sizeof err), VARSKO_ERR_TOO_LARGE);
	CHECK(w == NULL && strncmp(err, "web_root: directories nested more than 8 deep", 45) == 0);

	/* WEBROOT_FILES_MAX files load; one more does not. */
	for (int i = 0; i < WEBROOT_FILES_MAX; i++) {
		snprintf(rel, sizeof rel, "many/d%d/f%d.txt", i % 10, i);
		put(rel, "x");
	}
	CHECK_EQ_INT(load("many", &w, err, sizeof err), VARSKO_OK);
	CHECK_EQ_INT(webroot_count(w), WEBROOT_FILES_MAX);
	webroot_free(w);
	w = NULL;
	put("many/one-more.txt", "x");
	CHECK_EQ_INT(load("many", &w, err, sizeof err), VARSKO_ERR_TOO_LARGE);
	CHECK_EQ_STR(err, "web_root: more than 1024 files");

	/* More than WEBROOT_BYTES_MAX together (a sparse file: nothing is written). */
	put("huge/index.html", "x");
	snprintf(big, sizeof big, "%s/huge/big.bin", top);
	fd = open(big, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && ftruncate(fd, (off_t)WEBROOT_BYTES_MAX) == 0);
	if (fd >= 0)
		close(fd);
	CHECK_EQ_INT(load("huge", &w, err, sizeof err), VARSKO_ERR_TOO_LARGE);
	CHECK_EQ_STR(err, "web_root: more than 64 MiB of files");
	CHECK(w == NULL);
}

static void test_headers(void)
{
	const char *origins[] = {"wss://varsko.example:443", "wss://127.0.0.1:8443"};
	const char *etag = "\"0123456789abcdef0123456789abcdef\"";
	const char *head = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; ";
	char *csp = NULL;

	CHECK(webroot_etag_match(etag, etag));
	CHECK(webroot_etag_match("W/\"0123456789abcdef0123456789abcdef\"", etag));
	CHECK(webroot_etag_match("\"x\", \"0123456789abcdef0123456789abcdef\" ,\"y\"", etag));
	CHECK(webroot_etag_match("*", etag));
	CHECK(!webroot_etag_match("\"0123456789abcdef0123456789abcdee\"", etag));
	CHECK(!webroot_etag_match("0123456789abcdef0123456789abcdef", etag));
	CHECK(!webroot_etag_match("", etag));
	CHECK(!webroot_etag_match(NULL, etag));

	CHECK(webroot_accepts_gzip("gzip"));
	CHECK(webroot_accepts_gzip("br, GZIP, deflate"));
	CHECK(webroot_accepts_gzip("gzip;q=0.5"));
	CHECK(webroot_accepts_gzip("gzip; q=1"));
	CHECK(!webroot_accepts_gzip("gzip;q=0"));
	CHECK(!webroot_accepts_gzip("gzip;q=0.000, identity"));
	CHECK(!webroot_accepts_gzip("x-gzipped, br"));
	CHECK(!webroot_accepts_gzip("identity"));
	CHECK(!webroot_accepts_gzip(""));
	CHECK(!webroot_accepts_gzip(NULL));

	CHECK_EQ_INT(webroot_csp(origins, 2, &csp), VARSKO_OK);
	CHECK(csp != NULL &&
	      strstr(csp, "; connect-src 'self' wss://varsko.example:443 wss://127.0.0.1:8443; ") != NULL);
	CHECK(csp != NULL && strncmp(csp, head, strlen(head)) == 0);
	CHECK(csp != NULL && strstr(csp, "; require-trusted-types-for 'script'; trusted-types varsko") != NULL);
	free(csp);
}

int main(void)
{
	if (sodium_init() < 0 || mkdtemp(top) == NULL) {
		fprintf(stderr, "cannot set up: no libsodium or no temporary directory\n");
		return 77;
	}
	test_tree();
	test_limits();
	test_headers();
	rm_tree(top);
	return check_result();
}
