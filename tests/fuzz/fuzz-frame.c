/*
 * fuzz-frame.c: proto_frame_decode() on arbitrary bytes. Whatever decodes
 * must encode, and the encoding must decode to the same frame and encode to
 * the same text again (the canonical form is a fixed point); anything else
 * aborts. The same bytes, NUL-terminated, also go through the strict time
 * parser and the origin parser, whose outputs must be fixed points too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
	strings(data, size);
	return 0;
}
