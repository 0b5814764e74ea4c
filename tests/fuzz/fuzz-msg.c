/*
 * fuzz-msg.c: the decoders of decrypted message plaintext in libvarsko
 * (clients/lib), on arbitrary bytes: msg_decode() (a kvittering's or
 * tilbagemelding's text, text.c) and tmsg_plain_decode_kind() for each
 * thread message kind (text, file, underretning_ref; threadmsg.c), with
 * tmsg_file_from_json() on the "file" of a file message, and
 * json_compact().
 *
 * Invariants: a refusal leaves no output; an accepted text is valid by
 * msg_text_valid() and encodes (msg_encode) to a plaintext that decodes to
 * the same text; an accepted thread message has a "text" of 1..TMSG_TEXT_MAX
 * bytes, and when its text and title are also what the sender's side
 * allows (the decoder takes any UTF-8, PROTOCOL.md 17.2) it encodes again
 * (tmsg_plain_encode) to a plaintext that decodes to an equal object; an
 * accepted file message's "file" parses, encodes (tmsg_file_encode) and
 * parses back to the same struct.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_msg(const uint8_t *data, size_t size)
{
	struct proto_buf b;
	char *text = NULL, *text2 = NULL;
	size_t len = 0, len2 = 0;
	int r = msg_decode(data, size, &text, &len);

	if (r != VARSKO_OK) {
		if (text != NULL || len != 0 || (r != VARSKO_ERR_BAD_FRAME && r != VARSKO_ERR_NOMEM))
			abort();
		return;
	}
	if (text == NULL || strlen(text) != len || !msg_text_valid(text, len))
		abort();
	proto_buf_init(&b);
	if (msg_encode(text, &b) != VARSKO_OK || msg_decode((const uint8_t *)b.p, b.len, &text2, &len2) != VARSKO_OK ||
	    len2 != len || memcmp(text, text2, len) != 0)
		abort();
	proto_buf_free(&b);
	varsko_free_secret(text, len);
	varsko_free_secret(text2, len2);
}

static void check_text(const json_t *o)
{
	const json_t *t = json_object_get(o, "text"), *ti = json_object_get(o, "title");
	const char *title = ti != NULL ? json_string_value(ti) : NULL;
	struct proto_buf b;
	json_t *o2 = NULL;

	if (!json_is_string(t) || json_string_length(t) < 1 || json_string_length(t) > TMSG_TEXT_MAX ||
	    (ti != NULL && !json_is_string(ti)))
		abort();
	if (!tmsg_text_valid(json_string_value(t), json_string_length(t)) ||
	    (title != NULL && !tmsg_title_valid(title, json_string_length(ti))))
		return;
	proto_buf_init(&b);
	if (tmsg_plain_encode(json_string_value(t), title, &b) != VARSKO_OK ||
	    tmsg_plain_decode((const uint8_t *)b.p, b.len, &o2) != VARSKO_OK || !json_equal(o, o2))
		abort();
	json_decref(o2);
	proto_buf_free(&b);
}

static void check_file(const json_t *o)
{
	const json_t *t = json_object_get(o, "text");
	struct tmsg_file f, f2;
	struct proto_buf b;
	json_t *o2 = NULL;

	if (tmsg_file_from_json(json_object_get(o, "file"), &f) != VARSKO_OK)
		abort();
	proto_buf_init(&b);
	if (tmsg_file_encode(&f, t != NULL ? json_string_value(t) : NULL, &b) != VARSKO_OK ||
	    tmsg_plain_decode_kind((const uint8_t *)b.p, b.len, THREAD_MSG_FILE, &o2) != VARSKO_OK ||
	    tmsg_file_from_json(json_object_get(o2, "file"), &f2) != VARSKO_OK || memcmp(&f, &f2, sizeof(f)) != 0 ||
	    !json_equal(o, o2))
		abort();
	json_decref(o2);
	proto_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum thread_msg_kind kinds[] = {THREAD_MSG_NONE, THREAD_MSG_TEXT, THREAD_MSG_FILE,
	                                             THREAD_MSG_UNDERRETNING_REF, THREAD_MSG_COUNT_};
	struct proto_buf b;

	check_msg(data, size);
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		json_t *o = NULL;
		int r = tmsg_plain_decode_kind(data, size, kinds[i], &o);

		if (r != VARSKO_OK) {
			if (o != NULL || r != VARSKO_ERR_BAD_FRAME)
				abort();
			continue;
		}
		if (!json_is_object(o))
			abort();
		if (kinds[i] == THREAD_MSG_TEXT)
			check_text(o);
		else if (kinds[i] == THREAD_MSG_FILE)
			check_file(o);
		else if (kinds[i] != THREAD_MSG_UNDERRETNING_REF ||
		         !flow_reference_valid(json_string_value(json_object_get(o, "reference"))))
			abort();
		json_decref(o);
	}
	proto_buf_init(&b);
	if (json_compact((const char *)data, size, &b) == VARSKO_OK && b.len == 0)
		abort();
	proto_buf_free(&b);
	return 0;
}
