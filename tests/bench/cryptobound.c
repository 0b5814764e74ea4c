/*
 * tests/bench/cryptobound.c: the cryptographic floor of one durable
 * submission (issue 13, "The crypto bound"), measured on one core.
 *
 * What varskod's accept path (gateway/flow_submit.c, flow_run_submit) must
 * do in cryptography for one underretning, with the proto library's own
 * functions on an envelope of the benchmark's size:
 *   1. env_verify():          the sender's Ed25519 signature over the envelope's
 *                             signing input (header, wraps, ciphertext);
 *   2. flow_envelope_hash():  SHA-256 of the envelope for the receipt;
 *   3. flow_receipt_sign():   the gateway's Ed25519 signature on the receipt.
 * Nothing else (no JSON, no database, no certificate checks): those are the
 * costs above the bound that the benchmark puts beside it.
 *
 * The envelope is sealed as a fagperson's client seals it: the document
 * (DOC: the example underretning, by default with its attachment reference
 * at 100 KiB) to two recipients (the team key and the sender's own user
 * key), with the routing header the client derives.
 *
 * Usage: cryptobound DOC [SECONDS]   (default 2 s per operation)
 * Prints one JSON line: µs per operation, µs per submission and the
 * submissions per second one core can do at that bound.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "clock.h"
#include "envelope.h"
#include "file.h"
#include "flow.h"
#include "proto.h"
#include "underretning.h"

static double now_s(void)
{
	return bench_clock_s(CLOCK_MONOTONIC);
}

/* Thread CPU time: what one core spent, not wall time on a shared machine. */
static double cpu_s(void)
{
	return bench_clock_s(CLOCK_THREAD_CPUTIME_ID);
}

enum op { OP_VERIFY, OP_HASH, OP_SIGN };

/* Run op for about `seconds` of CPU; µs of thread CPU per operation, or -1 when it fails. */
static double measure(enum op op, double seconds, const struct env_envelope *env, const uint8_t sender_pk[32],
                      struct flow_receipt *rc, const uint8_t gw_sk[64])
{
	uint8_t hash[32];
	long n = 0;
	double c0 = cpu_s(), c1;

	do {
		for (int k = 0; k < 64; k++, n++) {
			int r = op == OP_VERIFY ? env_verify(env, sender_pk)
			        : op == OP_HASH ? flow_envelope_hash(hash, env)
			                        : flow_receipt_sign(rc, gw_sk);
			if (r != VARSKO_OK)
				return -1;
		}
		c1 = cpu_s();
	} while (c1 - c0 < seconds);
	return (c1 - c0) * 1e6 / (double)n;
}

int main(int argc, char **argv)
{
	uint8_t sender_pk[32], sender_sk[64], gw_pk[32], gw_sk[64], team_sk[32], own_sk[32];
	struct env_recipient rcpt[2];
	struct env_params ep;
	struct env_envelope *env = NULL;
	struct uh_doc *d = NULL;
	struct uh_error ue;
	struct uh_header hdr;
	struct uh_date today = {2026, 12, 3};
	struct proto_buf routing;
	struct flow_receipt rc;
	char device[PROTO_DEVICE_ID_LEN + 1], *doc, *env_text = NULL;
	size_t len = 0, env_len = 0;
	double seconds = argc > 2 ? atof(argv[2]) : 2.0, v, h, s, wall0 = now_s();

	if (argc < 2 || seconds <= 0) {
		fprintf(stderr, "usage: cryptobound DOC [SECONDS]\n");
		return 2;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "cryptobound: libsodium does not start\n");
		return 1;
	}
	if (file_read(argv[1], 1 << 20, 0, &doc, &len) != VARSKO_OK) {
		fprintf(stderr, "cryptobound: cannot read %s\n", argv[1]);
		return 1;
	}
	memset(&ue, 0, sizeof(ue));
	proto_buf_init(&routing);
	if (uh_parse(doc, len, &d, &ue) != VARSKO_OK ||
	    uh_header_derive(d, &today, "s-0123456789abcdef0123456789abcdef", 1796284800, &hdr) != VARSKO_OK ||
	    uh_header_encode(&hdr, &routing) != VARSKO_OK) {
		fprintf(stderr, "cryptobound: %s is not an underretning document the client could send\n", argv[1]);
		return 1;
	}
	crypto_sign_keypair(sender_pk, sender_sk);
	crypto_sign_keypair(gw_pk, gw_sk);
	crypto_box_keypair(rcpt[0].box_pk, team_sk);
	crypto_box_keypair(rcpt[1].box_pk, own_sk);
	rcpt[0].device = "tk-team-slagelse-1";
	rcpt[1].device = "uk-laerer-anna-1";
	proto_device_id(sender_pk, device);
	memset(&ep, 0, sizeof(ep));
	ep.kind = "underretning";
	ep.object_id = hdr.submission;
	ep.sender = device;
	ep.routing = routing.p;
	ep.routing_len = routing.len;
	if (env_seal(&ep, rcpt, 2, (const uint8_t *)doc, len, sender_sk, &env) != VARSKO_OK ||
	    env_to_json(env, &env_text, &env_len) != VARSKO_OK) {
		fprintf(stderr, "cryptobound: cannot seal the document\n");
		return 1;
	}
	memset(&rc, 0, sizeof(rc));
	rc.version = FLOW_VERSION;
	snprintf(rc.reference, sizeof(rc.reference), "U-2026-000123");
	snprintf(rc.submission, sizeof(rc.submission), "%s", hdr.submission);
	snprintf(rc.sender, sizeof(rc.sender), "%s", device);
	snprintf(rc.sender_user, sizeof(rc.sender_user), "laerer-anna");
	snprintf(rc.institution, sizeof(rc.institution), "%s", hdr.institution);
	snprintf(rc.team, sizeof(rc.team), "team-slagelse");
	snprintf(rc.gateway, sizeof(rc.gateway), "d-0123456789abcdef");
	rc.received = 1796284800;
	rc.vurdering_due = rc.received + 86400;
	rc.kvittering_due = rc.received + 6 * 86400;
	rc.tilbagemelding_due = rc.received + 90 * 86400;
	if (flow_envelope_hash(rc.envelope_hash, env) != VARSKO_OK) {
		fprintf(stderr, "cryptobound: cannot hash the envelope\n");
		return 1;
	}
	v = measure(OP_VERIFY, seconds, env, sender_pk, &rc, gw_sk);
	h = measure(OP_HASH, seconds, env, sender_pk, &rc, gw_sk);
	s = measure(OP_SIGN, seconds, env, sender_pk, &rc, gw_sk);
	if (v < 0 || h < 0 || s < 0) {
		fprintf(stderr, "cryptobound: an operation failed\n");
		return 1;
	}
	printf("{\"bench\":\"crypto_bound\",\"document_bytes\":%zu,\"envelope_json_bytes\":%zu,"
	       "\"verify_us\":%.2f,\"hash_us\":%.2f,\"sign_us\":%.2f,\"us_per_submission\":%.2f,"
	       "\"submissions_per_s_per_core\":%.0f,\"wall_s\":%.1f}\n",
	       len, env_len, v, h, s, v + h + s, 1e6 / (v + h + s), now_s() - wall0);
	env_free(env);
	free(env_text);
	uh_doc_free(d);
	proto_buf_free(&routing);
	file_free(doc, len, 0);
	return 0;
}
