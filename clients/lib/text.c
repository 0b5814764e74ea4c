/*
 * text.c: texts that may carry plaintext (a document, a kvittering text) on
 * their way in and out of JSON.
 *
 * jansson does the parsing and the printing; the wiping allocator installed
 * here (text_json_wipe_install(), run by a constructor when libvarsko is
 * loaded, and again at the start of the agent) makes every block jansson
 * frees, parsed documents and message texts included, zeroed first.
 * Buffers are struct proto_buf (proto/buf.h), which wipes on growth and free.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "client.h"
#include "wipe.h"
#include "utf8.h"

/* common/wipe.c: every block jansson frees is zeroed first, the slack it did not ask for included. */
void text_json_wipe_install(void)
{
	json_wipe_install();
}

/* Before main() of any program that links libvarsko, so that no jansson block is allocated earlier. */
__attribute__((constructor)) static void text_json_wipe_init(void)
{
	text_json_wipe_install();
}

void text_json_str(struct proto_buf *b, const char *s)
{
	char esc[8];

	proto_buf_add(b, "\"", 1);
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\') {
			esc[0] = '\\';
			esc[1] = (char)ch;
			proto_buf_add(b, esc, 2);
		} else if (ch == '\n') {
			proto_buf_add(b, "\\n", 2);
		} else if (ch == '\t') {
			proto_buf_add(b, "\\t", 2);
		} else if (ch == '\r') {
			proto_buf_add(b, "\\r", 2);
		} else if (ch < 0x20 || ch == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", ch);
			proto_buf_add(b, esc, 6);
		} else {
			proto_buf_add(b, &ch, 1);
		}
	}
	proto_buf_add(b, "\"", 1);
}

int msg_text_valid(const char *s, size_t len)
{
	return len <= MSG_TEXT_MAX && proto_utf8_valid(s, len, PROTO_UTF8_NO_CTRL | PROTO_UTF8_LF_TAB);
}

int msg_encode(const char *text, struct proto_buf *out)
{
	if (text == NULL || !msg_text_valid(text, strlen(text)))
		return VARSKO_ERR_BAD_INPUT;
	proto_buf_add_str(out, "{\"text\":");
	text_json_str(out, text);
	proto_buf_add_str(out, "}");
	return out->err;
}

int msg_decode(const uint8_t *pt, size_t len, char **text, size_t *text_len)
{
	int r = VARSKO_ERR_BAD_FRAME;
	json_t *o = NULL, *t;
	const char *s;
	size_t n;

	*text = NULL;
	*text_len = 0;
	/* jansson refuses bad UTF-8, lone surrogates, raw controls, \u0000 and anything after the object. */
	if ((o = json_loadb((const char *)pt, len, JSON_REJECT_DUPLICATES, NULL)) == NULL || !json_is_object(o) ||
	    json_object_size(o) != 1 || (t = json_object_get(o, "text")) == NULL || !json_is_string(t))
		goto out;
	s = json_string_value(t);
	n = json_string_length(t);
	if (!msg_text_valid(s, n))
		goto out;
	if ((*text = malloc(n + 1)) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	memcpy(*text, s, n + 1);
	*text_len = n;
	r = VARSKO_OK;
out:
	json_decref(o); /* wiped by varsko_free() */
	return r;
}

int json_compact(const char *s, size_t len, struct proto_buf *out)
{
	json_t *o;
	char *c;
	int r = VARSKO_ERR_BAD_FRAME;

	if ((o = json_loadb(s, len, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return proto_buf_fail(out, r);
	if ((c = json_dumps(o, JSON_COMPACT)) == NULL) {
		json_decref(o);
		return proto_buf_fail(out, VARSKO_ERR_NOMEM);
	}
	proto_buf_add_str(out, c);
	varsko_free(c);
	json_decref(o);
	return out->err;
}
