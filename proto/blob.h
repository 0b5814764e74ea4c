/*
 * blob.h: the encryption of an attachment (PROTOCOL.md 17.8; docs/THREADS.md
 * "Attachments").
 *
 * A file is encrypted on the client with libsodium's
 * crypto_secretstream_xchacha20poly1305 under a fresh 32-byte key: the
 * 24-byte stream header, then the file in chunks of BLOB_CHUNK plaintext
 * bytes, each sealed with 17 bytes of overhead; every chunk but the last
 * carries the tag MESSAGE and exactly BLOB_CHUNK bytes, the last one (0 to
 * BLOB_CHUNK bytes, so an empty file is one empty final chunk) the tag
 * FINAL. So a ciphertext cut short, chunks moved, dropped or repeated, or
 * anything after the final chunk fails to decrypt. The key travels only
 * inside an envelope (the thread message), with the file's name, type,
 * size and SHA-256; varskod stores the ciphertext and never sees the key.
 *
 * Pure code (no I/O, no clock), safe in any thread. Returns VARSKO_OK or a
 * negative VARSKO_ERR_*.
 */
#ifndef VARSKO_BLOB_H
#define VARSKO_BLOB_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define BLOB_KEY_LEN    32
#define BLOB_HEADER_LEN 24    /* crypto_secretstream_xchacha20poly1305_HEADERBYTES */
#define BLOB_ABYTES     17    /* crypto_secretstream_xchacha20poly1305_ABYTES */
#define BLOB_CHUNK      65536 /* plaintext bytes per secretstream chunk */
#define BLOB_PART_MAX   262144 /* ciphertext bytes in one blob_put or blob_data frame */
#define BLOB_PLAIN_MAX  (1024ULL * 1024 * 1024) /* no configuration may allow more than 1 GiB */

/* The ciphertext length of a plaintext of n bytes (n <= BLOB_PLAIN_MAX), else 0. */
uint64_t blob_cipher_len(uint64_t n);

/*
 * Encrypt pt[0..len) under key into a new buffer *ct (malloc'ed, the
 * caller frees it) of *ct_len = blob_cipher_len(len) bytes. A fresh random
 * header every time. VARSKO_ERR_TOO_LARGE beyond BLOB_PLAIN_MAX.
 */
int blob_encrypt(const uint8_t key[BLOB_KEY_LEN], const uint8_t *pt, size_t len, uint8_t **ct,
                 size_t *ct_len) VARSKO_WUR;

/*
 * Decrypt ct[0..len) under key into a new buffer *pt (malloc'ed; the
 * caller wipes and frees it) of *pt_len bytes. Every rule of the format is
 * checked: VARSKO_ERR_CRYPTO for a chunk that does not open, a chunk with
 * the wrong tag, a length that is not a whole number of chunks, or no
 * final chunk; *pt is NULL then and nothing decrypted is left behind.
 */
int blob_decrypt(const uint8_t key[BLOB_KEY_LEN], const uint8_t *ct, size_t len, uint8_t **pt,
                 size_t *pt_len) VARSKO_WUR;

#endif
