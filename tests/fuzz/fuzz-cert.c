/*
 * fuzz-cert.c: proto_cert_from_json() on arbitrary bytes. A certificate that
 * parses must serialise, parse back to the same struct and serialise to the
 * same text; verification of it must give one of its documented answers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The organisation key of proto/vectors/certificates.json, so valid seeds verify. */
	static const uint8_t org_pk[PROTO_PK_LEN] = {
	        0xf9, 0x37, 0x42, 0xf8, 0xce, 0xd6, 0x5b, 0x3e, 0x5b, 0x41, 0x41, 0x49, 0x99, 0x31, 0x2e, 0x75,
	        0xfa, 0xb9, 0x64, 0x91, 0x25, 0x11, 0x04, 0x64, 0x2c, 0xba, 0x41, 0x04, 0x18, 0x59, 0xfe, 0x48,
	};
	struct proto_cert *c = malloc(sizeof(*c)), *d = malloc(sizeof(*d));
	struct proto_buf b;
	char *a = NULL, *a2 = NULL;
	int r;

	if (c == NULL || d == NULL)
		abort();
	if (proto_cert_from_json((const char *)data, size, c) != VARSKO_OK)
		goto out;
	if (proto_cert_to_json(c, &a) != VARSKO_OK)
		abort();
	if (proto_cert_from_json(a, strlen(a), d) != VARSKO_OK || memcmp(c, d, sizeof(*c)) != 0)
		abort();
	if (proto_cert_to_json(d, &a2) != VARSKO_OK || strcmp(a, a2) != 0)
		abort();
	proto_buf_init(&b);
	if (proto_cert_signing_input(c, &b) != VARSKO_OK)
		abort();
	proto_buf_free(&b);
	r = proto_cert_verify(c, org_pk, c->not_before);
	if (r != VARSKO_OK && r != VARSKO_ERR_BAD_CERT && r != VARSKO_ERR_DEVICE_EXPIRED)
		abort();
out:
	free(a);
	free(a2);
	free(c);
	free(d);
	return 0;
}
