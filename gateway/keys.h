/*
 * keys.h: the key and certificate files of varskod and varskoctl.
 *
 * Formats (docs/DEVELOPING.md, "Key files"):
 *   secret key   one line: standard padded base64 of libsodium's 64-byte
 *                Ed25519 secret key (seed || public key), mode 0600;
 *   public key   one line: base64 of the 32-byte key;
 *   certificate  one line: the certificate's JSON object (proto_cert_to_json).
 * A trailing newline is written and accepted on reading; nothing else is.
 * New files are created with O_CREAT|O_EXCL (never overwritten) and fsync'd,
 * and so is their directory. Error results never carry the path or any key
 * byte. Functions return VARSKO_OK or a negative VARSKO_ERR_*.
 */
#ifndef VARSKO_KEYS_H
#define VARSKO_KEYS_H

#include <stdint.h>

#include "proto.h"

#define KEYS_SK_LEN 64

/*
 * Write sk (borrowed) to a new file at path, mode 0600. VARSKO_ERR_EXISTS if
 * the file exists, VARSKO_ERR_IO on any other failure (a partly written file
 * is removed). The encoded copy is wiped before returning.
 */
int keys_secret_write(const char *path, const uint8_t sk[KEYS_SK_LEN]) VARSKO_WUR;

/*
 * Read a secret key file. Refuses (VARSKO_ERR_CONFIG) a symbolic link, a
 * file that is not a regular file, is not owned by the current user or has
 * any group/other permission bit; VARSKO_ERR_NOT_FOUND if it does not exist; VARSKO_ERR_IO
 * on read errors; VARSKO_ERR_BAD_INPUT if the content is not one base64 line
 * of 64 bytes or its public half does not match its seed. On VARSKO_OK
 * *sk_out points to KEYS_SK_LEN bytes of sodium_malloc memory owned by the
 * caller: release it with keys_secret_free(). All temporaries are wiped.
 */
int keys_secret_read(const char *path, uint8_t **sk_out) VARSKO_WUR;

/* Wipe and free a key from keys_secret_read() or keys_secret_alloc(). NULL-safe. */
void keys_secret_free(uint8_t *sk);

/*
 * A fresh Ed25519 key pair: *sk_out as for keys_secret_read() (caller frees
 * with keys_secret_free), pk_out may be NULL.
 */
int keys_secret_generate(uint8_t **sk_out, uint8_t pk_out[PROTO_PK_LEN]) VARSKO_WUR;

/* The public half (last 32 bytes) of a libsodium Ed25519 secret key. */
void keys_public_of(const uint8_t sk[KEYS_SK_LEN], uint8_t pk_out[PROTO_PK_LEN]);

/* Public key files: write (new file, mode 0644, O_EXCL) and read. Errors as above. */
int keys_public_write(const char *path, const uint8_t pk[PROTO_PK_LEN]);
int keys_public_read(const char *path, uint8_t pk_out[PROTO_PK_LEN]);

/*
 * Certificate files: write c (new file, mode 0644, O_EXCL) as one JSON line;
 * read parses strictly with proto_cert_from_json (VARSKO_ERR_BAD_INPUT when
 * it does not parse) and does NOT verify the signature: the caller checks it
 * with proto_cert_verify against the organisation key.
 */
int keys_cert_write(const char *path, const struct proto_cert *c);
int keys_cert_read(const char *path, struct proto_cert *out);

/* True (1) when something exists at path, else 0. */
int keys_file_exists(const char *path);

#endif
