/*
 * retention.c: the retention rule of consultation threads (retention.h).
 */
#include "retention.h"

#include <stdlib.h>

#include "varsko/err.h"

int64_t retention_cutoff(int64_t now, int days)
{
	return now - (int64_t)days * RETENTION_DAY;
}

struct due_list {
	struct store_thread_purge *items;
	size_t n, cap;
};

static int due_row(const struct store_thread_purge *p, void *arg)
{
	struct due_list *d = arg;

	if (d->n == d->cap)
		return VARSKO_ERR_INTERNAL; /* the query's LIMIT is cap */
	d->items[d->n++] = *p;
	return VARSKO_OK;
}

int retention_purge(struct store *s, int64_t now, int days, int dry_run, size_t max, const char *actor,
                    int (*fn)(const struct store_thread_purge *p, void *arg), void *arg, size_t *n)
{
	int64_t cutoff = retention_cutoff(now, days);
	struct due_list d = {NULL, 0, max};
	struct store_thread_purge done;
	int r;

	*n = 0;
	if (max == 0)
		return VARSKO_OK;
	if ((d.items = calloc(max, sizeof(*d.items))) == NULL)
		return VARSKO_ERR_NOMEM;
	/* The list first, then the writes: no write runs while a query of the same connection is open. */
	if ((r = store_thread_purge_due(s, cutoff, max, due_row, &d)) != VARSKO_OK)
		goto out;
	for (size_t i = 0; i < d.n; i++) {
		if (dry_run) {
			done = d.items[i];
		} else if ((r = store_thread_purge(s, d.items[i].thread, cutoff, now, actor, &done)) ==
		           VARSKO_ERR_NOT_FOUND) {
			continue; /* active again, or purged by the other program meanwhile */
		} else if (r != VARSKO_OK) {
			goto out;
		}
		(*n)++;
		if (fn != NULL && (r = fn(&done, arg)) != VARSKO_OK)
			goto out;
	}
	r = VARSKO_OK;
out:
	free(d.items);
	return r;
}
