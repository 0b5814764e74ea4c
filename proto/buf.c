/*
 * buf.c: the growable, bounded, wiping buffer (buf.h). The canonical field
 * encoders proto_buf_put_*() that build signing inputs live in sign.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"

void (*proto_buf_release_hook)(const void *p, size_t n);

void proto_wipe_free(void *p, size_t n)
{
	if (p == NULL)
		return;
	sodium_memzero(p, n);
	if (proto_buf_release_hook != NULL)
		proto_buf_release_hook(p, n);
	free(p);
}

void proto_buf_init(struct proto_buf *b)
{
	proto_buf_init_max(b, 0);
}

void proto_buf_init_max(struct proto_buf *b, size_t max)
{
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
	b->err = VARSKO_OK;
}

void proto_buf_free(struct proto_buf *b)
{
	if (b == NULL)
		return;
	proto_wipe_free(b->p, b->cap);
	proto_buf_init_max(b, b->max);
}

void proto_buf_reset(struct proto_buf *b)
{
	if (b->p != NULL)
		sodium_memzero(b->p, b->cap);
	b->len = 0;
}

int proto_buf_fail(struct proto_buf *b, int err)
{
	if (b->err == VARSKO_OK)
		b->err = err;
	return b->err;
}

int proto_buf_reserve(struct proto_buf *b, size_t n)
{
	size_t max = b->max != 0 ? b->max : PROTO_BUF_MAX, need, cap;
	uint8_t *np;

	if (b->err != VARSKO_OK)
		return b->err;
	if (max > SIZE_MAX / 2)
		max = SIZE_MAX / 2; /* so that max + 1 and the doubling below cannot wrap */
	if (n > max || b->len > max - n)
		return proto_buf_fail(b, VARSKO_ERR_TOO_LARGE);
	need = b->len + n + 1; /* and the NUL */
	if (need <= b->cap)
		return VARSKO_OK;
	for (cap = b->cap != 0 ? b->cap : 256; cap < need;)
		cap = cap > (max + 1) / 2 ? max + 1 : cap * 2;
	if ((np = malloc(cap)) == NULL)
		return proto_buf_fail(b, VARSKO_ERR_NOMEM);
	if (b->len > 0)
		memcpy(np, b->p, b->len);
	np[b->len] = '\0';
	proto_wipe_free(b->p, b->cap);
	b->p = np;
	b->cap = cap;
	return VARSKO_OK;
}

void proto_buf_add(struct proto_buf *b, const void *p, size_t n)
{
	if (b->err != VARSKO_OK)
		return;
	if (p == NULL && n > 0) {
		proto_buf_fail(b, VARSKO_ERR_BAD_INPUT);
		return;
	}
	if (proto_buf_reserve(b, n) != VARSKO_OK)
		return;
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void proto_buf_add_str(struct proto_buf *b, const char *s)
{
	if (s == NULL) {
		proto_buf_fail(b, VARSKO_ERR_BAD_INPUT);
		return;
	}
	proto_buf_add(b, s, strlen(s));
}

void proto_buf_vprintf(struct proto_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	if (b->err != VARSKO_OK)
		return;
	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		proto_buf_fail(b, VARSKO_ERR_INTERNAL);
		return;
	}
	if (proto_buf_reserve(b, (size_t)n) != VARSKO_OK)
		return;
	/* Formatted straight into the buffer: no unwiped temporary copy. */
	vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void proto_buf_printf(struct proto_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	proto_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

int proto_buf_take(struct proto_buf *b, char **out, size_t *len)
{
	int r;

	*out = NULL;
	if (len != NULL)
		*len = 0;
	if (b->err == VARSKO_OK && b->p == NULL)
		proto_buf_add(b, "", 0);
	if (b->err != VARSKO_OK) {
		r = b->err;
		proto_buf_free(b);
		return r;
	}
	b->p[b->len] = '\0';
	sodium_memzero(b->p + b->len + 1, b->cap - b->len - 1);
	*out = (char *)b->p;
	if (len != NULL)
		*len = b->len;
	proto_buf_init_max(b, b->max);
	return VARSKO_OK;
}

int proto_array_grow(void **arr, size_t n, size_t *cap, size_t elsize, size_t limit)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return VARSKO_OK;
	if (n >= limit || elsize == 0)
		return VARSKO_ERR_TOO_LARGE;
	ncap = *cap != 0 ? *cap : 16;
	while (ncap <= n)
		ncap = ncap > limit / 2 ? limit : ncap * 2;
	if (ncap > limit)
		ncap = limit; /* a first block of 16 for a smaller limit */
	if (ncap > SIZE_MAX / elsize)
		return VARSKO_ERR_TOO_LARGE;
	if ((p = calloc(ncap, elsize)) == NULL)
		return VARSKO_ERR_NOMEM;
	if (*arr != NULL)
		memcpy(p, *arr, *cap * elsize);
	proto_wipe_free(*arr, *cap * elsize);
	*arr = p;
	*cap = ncap;
	return VARSKO_OK;
}
