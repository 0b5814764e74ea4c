/*
 * fuzz-import.c: store_import() (gateway/store_import.c) on arbitrary bytes
 * as the municipality document, against a database that already holds the
 * demo municipality (deploy/demo/slagelse.json, imported once when the
 * process starts). The database is made once per process in a new
 * directory under /dev/shm (or $TMPDIR, /tmp) and removed at exit; every
 * input is imported inside a transaction that is rolled back, so inputs do
 * not see each other and nothing is synced.
 *
 * Invariants: a refusal is VARSKO_ERR_BAD_INPUT with a "$..." JSON path in
 * the error text; an accepted document leaves routing rules that varskod
 * can load (store_routing_doc() then route_load(), as flow_submit.c does)
 * and imports again without error.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "route.h"
#include "store.h"

#ifndef FUZZ_DEMO_DOC
#error "FUZZ_DEMO_DOC names deploy/demo/slagelse.json (tests/fuzz/meson.build)"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int64_t now = 1795424400; /* 2026-11-23T09:00:00Z */
static char dir[256];
static struct store *st;

static void cleanup(void)
{
	static const char *const names[] = {"varsko.db", "varsko.db-wal", "varsko.db-shm", "varsko.db-journal"};
	char path[320];

	store_close(st);
	st = NULL;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

static struct store *fuzz_store(void)
{
	char path[320], err[256];
	FILE *f;
	char *doc;
	size_t len;

	if (st != NULL)
		return st;
	fuzz_tmpdir("import", dir, sizeof dir);
	atexit(cleanup);
	snprintf(path, sizeof path, "%s/varsko.db", dir);
	if (store_open(&st, path, 1) != VARSKO_OK || (f = fopen(FUZZ_DEMO_DOC, "rb")) == NULL)
		abort();
	if ((doc = malloc(1 << 20)) == NULL)
		abort();
	len = fread(doc, 1, 1 << 20, f);
	fclose(f);
	if (store_import(st, doc, len, now, err, sizeof err) != VARSKO_OK) {
		fprintf(stderr, "fuzz-import: the demo document does not import: %s\n", err);
		abort();
	}
	free(doc);
	return st;
}

static void check_routing(struct store *s)
{
	struct route_rules *rules = malloc(sizeof(*rules));
	const char *detail = NULL;
	char *doc = NULL;
	size_t len = 0;
	int r;

	if (rules == NULL || store_routing_doc(s, &doc, &len) != VARSKO_OK)
		abort();
	if ((r = route_load(doc, len, rules, &detail)) != VARSKO_OK) {
		fprintf(stderr, "fuzz-import: the stored routing rules do not load: %s (%d)\n", detail, r);
		abort();
	}
	free(doc);
	free(rules);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct store *s = fuzz_store();
	char err[256];
	int r;

	if (store_begin(s) != VARSKO_OK)
		abort();
	r = store_import(s, (const char *)data, size, now, err, sizeof err);
	if (r == VARSKO_OK) {
		check_routing(s);
		if (store_import(s, (const char *)data, size, now, err, sizeof err) != VARSKO_OK)
			abort();
	} else if (r != VARSKO_ERR_BAD_INPUT || err[0] != '$') {
		abort();
	}
	store_rollback(s);
	return 0;
}
