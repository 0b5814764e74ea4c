/*
 * fuzz-underretning.c: uh_parse() on arbitrary bytes (and the CPR parser on
 * the same bytes, and the canonical header decoder, which must re-encode
 * to the same bytes). A document that parses must give either a routing header
 * whose canonical encoding and JSON form round-trip, or the documented
 * error for an age outside the groups; a failed parse returns no document
 * and an error path that is a NUL-terminated string. uh_parse_all() (what
 * the writer is shown: every problem at once) gives uh_parse()'s result,
 * its first problem is uh_parse()'s, and it reports problems exactly when
 * the document is refused.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "underretning.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_all(const uint8_t *data, size_t size, int r, const struct uh_error *err)
{
	struct uh_error list[UH_PROBLEMS_MAX];
	struct uh_doc *d = NULL;
	size_t n = 0;

	if (uh_parse_all((const char *)data, size, &d, list, UH_PROBLEMS_MAX, &n) != r || (r == VARSKO_OK) != (d != NULL) ||
	    (r == VARSKO_OK) != (n == 0))
		abort();
	for (size_t i = 0; i < n && i < UH_PROBLEMS_MAX; i++)
		if (list[i].problem == UH_PROBLEM_NONE || memchr(list[i].path, '\0', sizeof(list[i].path)) == NULL)
			abort();
	if (n > 0 && (list[0].problem != err->problem || strcmp(list[0].path, err->path) != 0 ||
	              list[0].line != err->line || list[0].column != err->column))
		abort();
	uh_doc_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct uh_date today = {2026, 11, 23};
	struct uh_doc *d = NULL;
	struct uh_error err;
	struct uh_header h, h2;
	struct uh_date bd;
	struct proto_buf b;
	char *js = NULL;
	size_t jl;
	int r;

	r = uh_cpr_birth_date((const char *)data, size, &bd);
	if (r == VARSKO_OK &&
	    (bd.year < 1858 || bd.year > 2057 || bd.month < 1 || bd.month > 12 || bd.day < 1 || bd.day > 31))
		abort();
	if (uh_header_decode(data, size, &h) == VARSKO_OK) {
		proto_buf_init(&b);
		if (uh_header_encode(&h, &b) != VARSKO_OK || b.len != size || memcmp(b.p, data, size) != 0)
			abort();
		proto_buf_free(&b);
	}
	r = uh_parse((const char *)data, size, &d, &err);
	if (memchr(err.path, '\0', sizeof(err.path)) == NULL)
		abort();
	check_all(data, size, r, &err);
	if (r != VARSKO_OK) {
		if (d != NULL || err.problem == UH_PROBLEM_NONE)
			abort();
		return 0;
	}
	if (d == NULL || err.problem != UH_PROBLEM_NONE)
		abort();
	r = uh_header_derive(d, &today, "s-fuzz", 1795426800, &h);
	if (r == VARSKO_OK) {
		proto_buf_init(&b);
		if (uh_header_encode(&h, &b) != VARSKO_OK)
			abort();
		proto_buf_free(&b);
		if (uh_header_to_json(&h, &js, &jl) != VARSKO_OK || uh_header_from_json(js, jl, &h2) != VARSKO_OK ||
		    memcmp(&h, &h2, sizeof(h)) != 0)
			abort();
		free(js);
	} else if (r != VARSKO_ERR_BAD_INPUT) {
		abort();
	}
	uh_doc_free(d);
	return 0;
}
