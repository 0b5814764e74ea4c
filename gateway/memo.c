/* memo.c: the verification memo (memo.h). */
#include "memo.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct memo_slot {
	uint8_t key[MEMO_KEY_LEN];
	void *result; /* a copy, size bytes; NULL: empty */
	size_t size;
};

static struct memo_slot slots[MEMO_SLOTS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

void memo_key_init(crypto_generichash_state *hs, const char *domain)
{
	crypto_generichash_init(hs, NULL, 0, MEMO_KEY_LEN);
	memo_key_add(hs, domain, strlen(domain));
}

void memo_key_add(crypto_generichash_state *hs, const void *data, size_t len)
{
	uint8_t lenb[8];

	for (size_t i = 0; i < 8; i++)
		lenb[i] = (uint8_t)((uint64_t)len >> (8 * i));
	crypto_generichash_update(hs, lenb, sizeof(lenb));
	if (len > 0)
		crypto_generichash_update(hs, data, len);
}

void memo_key_final(crypto_generichash_state *hs, uint8_t key[MEMO_KEY_LEN])
{
	crypto_generichash_final(hs, key, MEMO_KEY_LEN);
}

/* The slot of a key: its first four bytes (a uniform digest) modulo the number of slots. */
static struct memo_slot *slot_of(const uint8_t key[MEMO_KEY_LEN])
{
	uint32_t h = (uint32_t)key[0] | (uint32_t)key[1] << 8 | (uint32_t)key[2] << 16 | (uint32_t)key[3] << 24;

	return &slots[h % MEMO_SLOTS];
}

int memo_get(const uint8_t key[MEMO_KEY_LEN], void *out, size_t size)
{
	struct memo_slot *m = slot_of(key);
	int hit = 0;

	pthread_mutex_lock(&lock);
	if (m->result != NULL && m->size == size && sodium_memcmp(m->key, key, MEMO_KEY_LEN) == 0) {
		memcpy(out, m->result, size);
		hit = 1;
	}
	pthread_mutex_unlock(&lock);
	return hit;
}

void memo_put(const uint8_t key[MEMO_KEY_LEN], const void *result, size_t size)
{
	struct memo_slot *m = slot_of(key);
	void *copy = malloc(size), *old;

	if (copy == NULL)
		return;
	memcpy(copy, result, size);
	pthread_mutex_lock(&lock);
	old = m->result;
	memcpy(m->key, key, MEMO_KEY_LEN);
	m->result = copy;
	m->size = size;
	pthread_mutex_unlock(&lock);
	free(old);
}

void memo_clear(void)
{
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < MEMO_SLOTS; i++) {
		free(slots[i].result);
		memset(&slots[i], 0, sizeof(slots[i]));
	}
	pthread_mutex_unlock(&lock);
}
