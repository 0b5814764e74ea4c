/*
 * fuzz-frame.c: proto_frame_decode() on arbitrary bytes. Whatever decodes
 * must encode, and the encoding must decode to the same frame and encode to
 * the same text again (the canonical form is a fixed point); anything else
 * aborts. The same bytes, NUL-terminated, also go through the strict time
 * parser and the origin parser, whose outputs must be fixed points too.
 *
 * flow_frame_decode(), the one dispatch on "type" that varskod and the
 * client use, must give exactly what the two parsers it replaced gave
 * together: flow_frame_parse() for a flow type, else proto_frame_decode(),
 * with the flow parser's answer where proto.h calls a flow type unknown or
 * too large for its smaller limit.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void frame_roundtrip(const uint8_t *data, size_t size)
{
	struct proto_frame *f = malloc(sizeof(*f)), *g = malloc(sizeof(*g));
	char *a = NULL, *b = NULL;
	size_t la = 0, lb = 0;
	const char *detail = NULL;
	int r;

	if (f == NULL || g == NULL)
		abort();
	r = proto_frame_decode((const char *)data, size, f, &detail);
	if (detail == NULL)
		abort();
	if (r != VARSKO_OK) {
		if (f->type != PROTO_T_NONE || detail[0] == '\0' || memchr(f->id, '\0', sizeof(f->id)) == NULL)
			abort();
		goto out;
	}
	if (proto_frame_encode(f, &a, &la) != VARSKO_OK)
		abort();
	if (proto_frame_decode(a, la, g, NULL) != VARSKO_OK)
		abort();
	if (memcmp(f, g, sizeof(*f)) != 0)
		abort();
	if (proto_frame_encode(g, &b, &lb) != VARSKO_OK || la != lb || memcmp(a, b, la) != 0)
		abort();
out:
	free(a);
	free(b);
	free(f);
	free(g);
}

static void dispatch(const uint8_t *data, size_t size)
{
	struct proto_frame *f = calloc(1, sizeof(*f)), *g = calloc(1, sizeof(*g));
	char id[PROTO_ID_MAX + 1], fid[PROTO_ID_MAX + 1];
	const char *detail = NULL, *fdetail = NULL;
	json_t *o = NULL, *fo = NULL;
	enum flow_type t, ft;
	int r, fr, pr, want;

	if (f == NULL || g == NULL)
		abort();
	r = flow_frame_decode((const char *)data, size, &o, &t, f, id, &detail);
	fr = flow_frame_parse((const char *)data, size, &fo, &ft, fid, &fdetail);
	pr = proto_frame_decode((const char *)data, size, g, NULL);
	if (fr == VARSKO_OK)
		want = VARSKO_OK;
	else if (fr != VARSKO_ERR_UNKNOWN_TYPE &&
	         (pr == VARSKO_ERR_UNKNOWN_TYPE || (pr == VARSKO_ERR_TOO_LARGE && size <= FLOW_FRAME_MAX)))
		want = fr;
	else
		want = pr;
	if (r != want || detail == NULL || (r == VARSKO_OK) != (detail[0] == '\0'))
		abort();
	if (fr == VARSKO_OK ? (o == NULL || t != ft || f->type != PROTO_T_NONE)
	                    : (o != NULL || t != FLOW_T_NONE || memcmp(f, g, sizeof(*f)) != 0))
		abort();
	/* The id the answer echoes: the flow parser's where its answer stands, else proto.h's. */
	if (strcmp(id, fr == VARSKO_OK || want != pr ? fid : g->id) != 0)
		abort();
	json_decref(o);
	json_decref(fo);
	free(f);
	free(g);
}

static void strings(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), o[PROTO_ORIGIN_MAX + 1], o2[PROTO_ORIGIN_MAX + 1], ts[PROTO_TIME_LEN + 1];
	int64_t t;

	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	if (proto_time_parse(s, &t) == VARSKO_OK) {
		proto_time_format(t, ts);
		if (strcmp(ts, s) != 0)
			abort();
	}
	if (proto_origin_from_url(s, o) == VARSKO_OK) {
		if (proto_origin_from_url(o, o2) != VARSKO_OK || strcmp(o, o2) != 0)
			abort();
	}
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	frame_roundtrip(data, size);
	dispatch(data, size);
	strings(data, size);
	return 0;
}
