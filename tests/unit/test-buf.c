/* test-buf.c: proto/buf.c, the bounded, wiping growable buffer. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "check.h"
#include "proto.h"

/* Every block the buffer code releases: how many, and how many still held a non-zero byte. */
static size_t released, dirty, released_bytes;

static void on_release(const void *p, size_t n)
{
	const unsigned char *c = p;

	released++;
	released_bytes += n;
	for (size_t i = 0; i < n; i++)
		if (c[i] != 0) {
			dirty++;
			break;
		}
}

static void test_text(void)
{
	struct proto_buf b = {0};
	char *out = NULL;
	size_t len = 0;

	proto_buf_add_str(&b, "abc");
	proto_buf_add(&b, "de", 2);
	proto_buf_printf(&b, "-%d-%s", 42, "x");
	CHECK_EQ_INT(b.err, VARSKO_OK);
	CHECK_EQ_STR((char *)b.p, "abcde-42-x");
	CHECK_EQ_INT(proto_buf_take(&b, &out, &len), VARSKO_OK);
	CHECK_EQ_STR(out, "abcde-42-x");
	CHECK_EQ_INT(len, 10);
	CHECK(b.p == NULL && b.len == 0);
	proto_wipe_free(out, len + 1);

	/* An empty buffer hands back "". */
	CHECK_EQ_INT(proto_buf_take(&b, &out, &len), VARSKO_OK);
	CHECK_EQ_STR(out, "");
	CHECK_EQ_INT(len, 0);
	proto_wipe_free(out, len + 1);

	/* A long printf goes straight into the buffer. */
	{
		char big[3000];

		memset(big, 'z', sizeof big - 1);
		big[sizeof big - 1] = '\0';
		proto_buf_printf(&b, "<%s>", big);
		CHECK_EQ_INT(b.len, sizeof big + 1);
		CHECK(b.p[0] == '<' && b.p[b.len - 1] == '>' && b.p[b.len] == '\0');
		proto_buf_free(&b);
	}

	/* NULL string is an error, and it sticks. */
	proto_buf_add_str(&b, NULL);
	CHECK_EQ_INT(b.err, VARSKO_ERR_BAD_INPUT);
	proto_buf_add_str(&b, "x");
	CHECK(b.p == NULL);
	CHECK_EQ_INT(proto_buf_take(&b, &out, &len), VARSKO_ERR_BAD_INPUT);
	CHECK(out == NULL);
	CHECK_EQ_INT(b.err, VARSKO_OK); /* freed and usable again */
}

static void test_bounds(void)
{
	struct proto_buf b;
	char *out = NULL;

	proto_buf_init_max(&b, 10);
	proto_buf_add(&b, "0123456789", 10);
	CHECK_EQ_INT(b.err, VARSKO_OK);
	proto_buf_add(&b, "x", 1);
	CHECK_EQ_INT(b.err, VARSKO_ERR_TOO_LARGE);
	CHECK_EQ_INT(b.len, 10); /* nothing appended after the failure */
	proto_buf_printf(&b, "%s", "y");
	CHECK_EQ_INT(b.len, 10);
	CHECK_EQ_INT(proto_buf_take(&b, &out, NULL), VARSKO_ERR_TOO_LARGE);
	CHECK(out == NULL);
	CHECK_EQ_INT(b.max, 10);

	/* A size that would overflow is refused, not wrapped. */
	proto_buf_init(&b);
	proto_buf_add(&b, "a", 1);
	CHECK_EQ_INT(proto_buf_reserve(&b, SIZE_MAX), VARSKO_ERR_TOO_LARGE);
	proto_buf_free(&b);
	CHECK_EQ_INT(proto_buf_reserve(&b, PROTO_BUF_MAX + 1u), VARSKO_ERR_TOO_LARGE);
	proto_buf_free(&b);

	/* A maximum of SIZE_MAX does not wrap the growth arithmetic. */
	proto_buf_init_max(&b, SIZE_MAX);
	for (int i = 0; i < 100; i++)
		proto_buf_add_str(&b, "0123456789");
	CHECK_EQ_INT(b.err, VARSKO_OK);
	CHECK_EQ_INT(b.len, 1000);
	proto_buf_free(&b);

	/* The canonical fields share the bound and the sticky error. */
	proto_buf_init_max(&b, 8);
	proto_buf_put_str(&b, "abcd");
	CHECK_EQ_INT(b.err, VARSKO_OK);
	CHECK_EQ_INT(b.len, 8);
	proto_buf_put_u64(&b, 1);
	CHECK_EQ_INT(b.err, VARSKO_ERR_TOO_LARGE);
	proto_buf_free(&b);
}

/* Growth and free release only wiped blocks; the old contents are never left in freed memory. */
static void test_wipe(void)
{
	struct proto_buf b = {0};
	char secret[100];
	size_t before;

	memset(secret, 'S', sizeof secret);
	proto_buf_release_hook = on_release;
	released = dirty = released_bytes = 0;
	for (int i = 0; i < 50; i++)
		proto_buf_add(&b, secret, sizeof secret); /* 5000 bytes: grows several times from 256 */
	CHECK_EQ_INT(b.err, VARSKO_OK);
	CHECK(released >= 4); /* 256 -> 512 -> 1024 -> 2048 -> 4096 -> 8192 */
	CHECK_EQ_INT(dirty, 0);
	before = released;
	proto_buf_reset(&b);
	CHECK_EQ_INT(b.len, 0);
	for (size_t i = 0; i < b.cap; i++)
		if (b.p[i] != 0) {
			dirty++;
			break;
		}
	CHECK_EQ_INT(dirty, 0);
	proto_buf_add(&b, secret, sizeof secret);
	proto_buf_free(&b);
	CHECK_EQ_INT(released, before + 1);
	CHECK_EQ_INT(dirty, 0);

	/* take() zeroes the tail, so wiping len + 1 bytes wipes everything it handed over. */
	{
		char *out;
		size_t len;

		for (int i = 0; i < 5; i++)
			proto_buf_add(&b, secret, sizeof secret);
		proto_buf_reset(&b);
		proto_buf_add(&b, "ab", 2);
		CHECK_EQ_INT(proto_buf_take(&b, &out, &len), VARSKO_OK);
		for (size_t i = len + 1; i < 512; i++)
			if (out[i] != 0) {
				dirty++;
				break;
			}
		CHECK_EQ_INT(dirty, 0);
		proto_wipe_free(out, len + 1);
		CHECK_EQ_INT(dirty, 0);
	}

	/* Typed arrays: every growth wipes the old block; new slots are zero. */
	{
		struct item {
			char name[24];
			long n;
		} *arr = NULL;
		size_t cap = 0;

		before = released;
		for (size_t i = 0; i < 100; i++) {
			CHECK_EQ_INT(proto_array_grow((void **)&arr, i, &cap, sizeof *arr, 1000), VARSKO_OK);
			CHECK(arr[i].n == 0 && arr[i].name[0] == '\0');
			memset(arr[i].name, 'N', sizeof arr[i].name - 1);
			arr[i].n = (long)i + 1;
		}
		CHECK(cap >= 100);
		CHECK_EQ_INT(arr[99].n, 100);
		CHECK_EQ_INT(arr[0].n, 1);
		CHECK(released > before);
		CHECK_EQ_INT(proto_array_grow((void **)&arr, 1000, &cap, sizeof *arr, 1000), VARSKO_ERR_TOO_LARGE);
		proto_wipe_free(arr, cap * sizeof *arr);
		CHECK_EQ_INT(dirty, 0);
		/* Never more slots than the limit. */
		arr = NULL;
		cap = 0;
		CHECK_EQ_INT(proto_array_grow((void **)&arr, 0, &cap, sizeof *arr, 5), VARSKO_OK);
		CHECK_EQ_INT(cap, 5);
		CHECK_EQ_INT(proto_array_grow((void **)&arr, 5, &cap, sizeof *arr, 5), VARSKO_ERR_TOO_LARGE);
		proto_wipe_free(arr, cap * sizeof *arr);
	}
	proto_buf_release_hook = NULL;
	proto_wipe_free(NULL, 10); /* NULL-safe */
	proto_buf_free(NULL);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_text();
	test_bounds();
	test_wipe();
	return check_result();
}
