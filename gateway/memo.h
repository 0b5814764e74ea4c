/*
 * memo.h: the verification memo of varskod's store library. A check whose
 * result is a pure function of its inputs (a chain verified from its root,
 * a certificate parsed from its stored text, a certificate's signature
 * under the org key) is done once: its result is kept under a BLAKE2b-256
 * digest of exactly those inputs, with a domain name in the digest so that
 * no two kinds of check share a key. A changed input changes the digest,
 * so the check is done in full again, and refused when it fails: tampering
 * with a row is found as before. Only successes are kept.
 *
 * MEMO_SLOTS slots, direct-mapped by the digest (a lookup is one compare):
 * a collision evicts, the evicted check is simply done again. The memory it
 * holds is bounded by MEMO_SLOTS times the largest result kept (a chain
 * state, about 9 KiB: about 9 MiB). Any thread (a mutex).
 */
#ifndef VARSKO_MEMO_H
#define VARSKO_MEMO_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#define MEMO_KEY_LEN crypto_generichash_BYTES
#define MEMO_SLOTS 1024

/* Start a key of domain `domain` (a short constant name): then crypto_generichash_update() the inputs. */
void memo_key_init(crypto_generichash_state *hs, const char *domain);
/* Length-prefixed update: (len, bytes), so that no two input lists give one byte string. */
void memo_key_add(crypto_generichash_state *hs, const void *data, size_t len);
void memo_key_final(crypto_generichash_state *hs, uint8_t key[MEMO_KEY_LEN]);

/* 1 with out[0..size) filled when a result of this size is kept under key, else 0. */
int memo_get(const uint8_t key[MEMO_KEY_LEN], void *out, size_t size);
/* Keep result[0..size) under key (a copy). Out of memory: not kept, done again next time. */
void memo_put(const uint8_t key[MEMO_KEY_LEN], const void *result, size_t size);
/* Forget everything (tests; the memory at exit). */
void memo_clear(void);

#endif
