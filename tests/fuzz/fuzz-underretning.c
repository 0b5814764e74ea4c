/*
 * fuzz-underretning.c: uh_parse() on arbitrary bytes (and the CPR parser on
 * the same bytes, and the canonical header decoder, which must re-encode
 * to the same bytes). A document that parses must give either a routing header
 * whose canonical encoding and JSON form round-trip, or the documented
 * error for an age outside the groups; a failed parse returns no document
 * and an error path that is a NUL-terminated string.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "underretning.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
