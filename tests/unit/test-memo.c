/*
 * test-memo.c: the verification memo (gateway/memo.h): a result comes back
 * only under its exact key and size; keys of different domains or input
 * lists differ (length-prefixed inputs); a colliding key evicts; clear
 * forgets. The memo's users are tested where they are: a changed chain in
 * tests/integration/test_user_keys.py, a changed device certificate in
 * test-store.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "memo.h"

static void key_of(const char *domain, const char *a, const char *b, uint8_t key[MEMO_KEY_LEN])
{
	crypto_generichash_state hs;

	memo_key_init(&hs, domain);
	memo_key_add(&hs, a, strlen(a));
	memo_key_add(&hs, b, strlen(b));
	memo_key_final(&hs, key);
}

static void test_get_put(void)
{
	uint8_t k1[MEMO_KEY_LEN], k2[MEMO_KEY_LEN], k3[MEMO_KEY_LEN], k4[MEMO_KEY_LEN];
	uint64_t v = 0, w = 0;
	uint32_t small = 0;

	key_of("d", "ab", "c", k1);
	key_of("d", "a", "bc", k2); /* the same bytes, another list: another key */
	key_of("e", "ab", "c", k3); /* another domain */
	key_of("d", "ab", "c", k4);
	CHECK(memcmp(k1, k2, MEMO_KEY_LEN) != 0);
	CHECK(memcmp(k1, k3, MEMO_KEY_LEN) != 0);
	CHECK(memcmp(k1, k4, MEMO_KEY_LEN) == 0);

	CHECK_EQ_INT(memo_get(k1, &v, sizeof(v)), 0);
	v = 0x1122334455667788ULL;
	memo_put(k1, &v, sizeof(v));
	CHECK_EQ_INT(memo_get(k1, &w, sizeof(w)), 1);
	CHECK(w == v);
	CHECK_EQ_INT(memo_get(k1, &small, sizeof(small)), 0); /* another size: not this result */
	CHECK_EQ_INT(memo_get(k2, &w, sizeof(w)), 0);
	CHECK_EQ_INT(memo_get(k3, &w, sizeof(w)), 0);
	memo_clear();
	CHECK_EQ_INT(memo_get(k1, &w, sizeof(w)), 0);
}

/* Two keys in one slot: the newer evicts the older, which is then simply missed. */
static void test_collision(void)
{
	uint8_t a[MEMO_KEY_LEN], b[MEMO_KEY_LEN];
	int va = 1, vb = 2, out = 0;

	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	a[0] = 7;
	b[0] = 7;
	b[31] = 1; /* the same first four bytes: the same slot */
	memo_put(a, &va, sizeof(va));
	CHECK_EQ_INT(memo_get(a, &out, sizeof(out)), 1);
	CHECK_EQ_INT(out, 1);
	memo_put(b, &vb, sizeof(vb));
	CHECK_EQ_INT(memo_get(b, &out, sizeof(out)), 1);
	CHECK_EQ_INT(out, 2);
	CHECK_EQ_INT(memo_get(a, &out, sizeof(out)), 0);
	memo_put(a, &va, sizeof(va)); /* replaced again: no leak (LeakSanitizer in the asan build) */
	CHECK_EQ_INT(memo_get(a, &out, sizeof(out)), 1);
	memo_clear();
}

int main(void)
{
	if (sodium_init() < 0) {
		fprintf(stderr, "sodium_init failed\n");
		return 1;
	}
	test_get_put();
	test_collision();
	return check_result();
}
