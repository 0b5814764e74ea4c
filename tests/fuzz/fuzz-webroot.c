/*
 * fuzz-webroot.c: the parts of gateway/webroot.c that read what a client
 * sends: webroot_lookup() on a request path, webroot_etag_match() on
 * If-None-Match and webroot_accepts_gzip() on Accept-Encoding, all on
 * arbitrary bytes (cut at the first NUL, as lws hands them over). None may
 * crash; a lookup may only find the file whose path the request names (up
 * to a '?'), or index.html for "/".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "varsko/err.h"
#include "webroot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fuzz_files[] = {"index.html", "app.js", "app.js.gz", "a/b.css"};

/* A small tree, loaded once; its files are removed again at once (the tree stays in memory). */
static struct webroot *fuzz_tree(void)
{
	static struct webroot *w;
	char dir[] = "/tmp/varsko-fuzz-webroot-XXXXXX", path[128];

	if (w != NULL || mkdtemp(dir) == NULL)
		return w;
	snprintf(path, sizeof path, "%s/a", dir);
	mkdir(path, 0700);
	for (size_t i = 0; i < sizeof fuzz_files / sizeof fuzz_files[0]; i++) {
		FILE *f;

		snprintf(path, sizeof path, "%s/%s", dir, fuzz_files[i]);
		if ((f = fopen(path, "w")) != NULL) {
			fputs(fuzz_files[i], f);
			fclose(f);
		}
	}
	if (webroot_load(&w, dir, NULL, 0) != VARSKO_OK || webroot_count(w) != 3)
		abort();
	for (size_t i = sizeof fuzz_files / sizeof fuzz_files[0]; i-- > 0;) {
		snprintf(path, sizeof path, "%s/%s", dir, fuzz_files[i]);
		unlink(path);
	}
	snprintf(path, sizeof path, "%s/a", dir);
	rmdir(path);
	rmdir(dir);
	return w;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct webroot_file *f;
	struct webroot *w = fuzz_tree();
	char *s = malloc(size + 1);
	size_t n;

	if (s == NULL || w == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	if ((f = webroot_lookup(w, s)) != NULL) {
		n = strcspn(s, "?");
		if (!(n == 1 && s[0] == '/' && strcmp(f->path, "/index.html") == 0) &&
		    !(strlen(f->path) == n && memcmp(f->path, s, n) == 0))
			abort();
	}
	(void)webroot_etag_match(s, "\"0123456789abcdef0123456789abcdef\"");
	(void)webroot_accepts_gzip(s);
	free(s);
	return 0;
}
