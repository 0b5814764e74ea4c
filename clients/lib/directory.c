/*
 * directory.c: the names of the municipality document (PROTOCOL.md 12.7,
 * directory_get -> directory), asked for at login and kept in the home so
 * that names (and the akut team's phone number) are at hand without the
 * server.
 *
 * The home keeps the answer as the server sent it, without "id", in
 * HOME_F_DIRECTORY; reading it back checks it with the same decoder as the
 * frame, so a damaged copy is refused like a damaged answer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

/* The kept answer as compact JSON without "type" and "id" (*out owned: varsko_free()). */
static int without_envelope(json_t *ans, char **out)
{
	json_t *copy = json_deep_copy(ans);

	*out = NULL;
	if (copy == NULL)
		return VARSKO_ERR_NOMEM;
	json_object_del(copy, "type");
	json_object_del(copy, "id");
	*out = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(copy);
	return *out != NULL ? VARSKO_OK : VARSKO_ERR_NOMEM;
}

int varsko_directory_refresh(struct varsko_conn *c, char **json_out)
{
	json_t *req = NULL, *ans = NULL;
	char *text = NULL;
	int r;

	if (json_out != NULL)
		*json_out = NULL;
	c->detail[0] = '\0';
	if ((req = json_pack("{s:s}", "type", "directory_get")) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((r = conn_request(c, req, FLOW_T_DIRECTORY, &ans)) != VARSKO_OK)
		goto out;
	json_object_del(ans, "id");
	if ((text = json_dumps(ans, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		r = VARSKO_ERR_NOMEM;
		goto out;
	}
	if ((r = home_write(c->home, HOME_F_DIRECTORY, text, strlen(text), 0600, 0)) != VARSKO_OK) {
		snprintf(c->detail, sizeof(c->detail), "cannot keep the directory in the home");
		goto out;
	}
	if (json_out != NULL)
		r = without_envelope(ans, json_out);
out:
	free(text);
	json_decref(req);
	json_decref(ans);
	return r;
}

int varsko_directory_cached(struct varsko_home *h, char **json_out)
{
	json_t *ans = NULL;
	enum flow_type t = FLOW_T_NONE;
	const char *why = NULL;
	char *buf = NULL;
	size_t len = 0;
	int r;

	*json_out = NULL;
	h->detail[0] = '\0';
	if ((r = home_read(h, HOME_F_DIRECTORY, &buf, &len)) != VARSKO_OK) {
		if (r != VARSKO_ERR_NOT_FOUND)
			snprintf(h->detail, sizeof(h->detail), "cannot read the directory kept in the home");
		goto out;
	}
	if (flow_frame_parse(buf, len, &ans, &t, NULL, &why) != VARSKO_OK || t != FLOW_T_DIRECTORY) {
		snprintf(h->detail, sizeof(h->detail), "the directory kept in the home is damaged");
		r = VARSKO_ERR_BAD_INPUT;
		goto out;
	}
	r = without_envelope(ans, json_out);
out:
	json_decref(ans);
	file_free(buf, len, 0);
	return r;
}

/* client.h */
const char *directory_name_of(struct varsko_home *h, const char *list, const char *id, char *out, size_t cap)
{
	char *json = NULL;
	json_t *d = NULL, *e;
	const char *name = NULL;
	size_t i;

	if (cap == 0)
		return out;
	snprintf(out, cap, "%s", id != NULL ? id : "?");
	if (id == NULL || h == NULL || varsko_directory_cached(h, &json) != VARSKO_OK)
		return out;
	d = json_loads(json, JSON_REJECT_DUPLICATES, NULL);
	json_array_foreach(json_object_get(d, list), i, e)
	{
		const char *eid = json_string_value(json_object_get(e, "id"));

		if (eid != NULL && strcmp(eid, id) == 0) {
			name = json_string_value(json_object_get(e, "name"));
			break;
		}
	}
	if (name != NULL)
		snprintf(out, cap, "%s (%s)", name, id);
	json_decref(d);
	varsko_free(json);
	return out;
}
