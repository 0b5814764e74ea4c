/*
 * fuzz-thread.c: the decoders of proto/thread.c from arbitrary bytes. The
 * input is taken as the routing bytes of a thread message and, copied up
 * to its first NUL, as a thread id and a message id. (Thread chain links
 * are fuzz-chain.c's: its corpus holds the thread chains of chain.json.)
 *
 * Invariants: a refused routing leaves the struct zeroed; an accepted one
 * has a valid thread id, a version in 1..INT64_MAX and a known kind, and
 * encodes back to exactly the input (one encoding per value). An id that
 * is valid has exactly 28 bytes and encodes into routing bytes that decode
 * to it; no string is both a thread id and a message id.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "thread.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void routing(const uint8_t *data, size_t size)
{
	struct thread_routing r;
	struct proto_buf b;

	if (thread_routing_decode(data, size, &r) != VARSKO_OK) {
		if (!fuzz_all_zero(&r, sizeof(r)))
			abort();
		return;
	}
	if (!thread_id_valid(r.thread) || r.version < 1 || r.version > (uint64_t)INT64_MAX ||
	    thread_msg_kind_name(r.kind) == NULL)
		abort();
	proto_buf_init(&b);
	if (thread_routing_encode(r.thread, r.version, r.kind, &b) != VARSKO_OK || b.len != size ||
	    memcmp(b.p, data, size) != 0)
		abort();
	proto_buf_free(&b);
}

static void ids(const uint8_t *data, size_t size)
{
	char s[64];
	size_t n = size < sizeof(s) - 1 ? size : sizeof(s) - 1;
	int t, m;
	struct proto_buf b;
	struct thread_routing r;

	memcpy(s, data, n);
	s[n] = '\0';
	t = thread_id_valid(s);
	m = thread_message_id_valid(s);
	if ((t && m) || ((t || m) && strlen(s) != THREAD_ID_LEN))
		abort();
	if (!t)
		return;
	proto_buf_init(&b);
	if (thread_routing_encode(s, 1, THREAD_MSG_TEXT, &b) != VARSKO_OK ||
	    thread_routing_decode(b.p, b.len, &r) != VARSKO_OK || strcmp(r.thread, s) != 0)
		abort();
	proto_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	routing(data, size);
	ids(data, size);
	return 0;
}
