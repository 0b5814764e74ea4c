// HKDF-SHA256 exactly as RFC 5869 (PROTOCOL.md 11.1), mirroring proto/hkdf.c:
// extract, then expand, on libsodium's HMAC-SHA256, at most 255 * 32 bytes.
import { sodium, fail, wipe } from './codec.js';

export const HKDF_SHA256_LEN = 32;
export const HKDF_SHA256_OUT_MAX = 255 * HKDF_SHA256_LEN;

const EMPTY = new Uint8Array(0);

function bytesOrEmpty(b, what) {
	if (b === null || b === undefined) return EMPTY;
	if (!(b instanceof Uint8Array)) fail('bad_input', `${what} is not bytes`);
	return b;
}

/** PRK = HMAC-SHA256(salt, ikm); an empty salt acts as 32 zero bytes. */
export function hkdfSha256Extract(salt, ikm) {
	const st = sodium.crypto_auth_hmacsha256_init(bytesOrEmpty(salt, 'salt'));
	sodium.crypto_auth_hmacsha256_update(st, bytesOrEmpty(ikm, 'ikm'));
	return sodium.crypto_auth_hmacsha256_final(st);
}

/** OKM of `len` (1..8160) bytes from a 32-byte PRK and info. */
export function hkdfSha256Expand(prk, info, len) {
	if (!Number.isInteger(len) || len < 1 || len > HKDF_SHA256_OUT_MAX) fail('bad_input', 'HKDF output length');
	if (!(prk instanceof Uint8Array) || prk.length !== HKDF_SHA256_LEN) fail('bad_input', 'PRK of 32 bytes expected');
	const inf = bytesOrEmpty(info, 'info');
	const out = new Uint8Array(len);
	let t = EMPTY;
	for (let done = 0, ctr = 1; done < len; ctr++) {
		const st = sodium.crypto_auth_hmacsha256_init(prk);
		if (t.length) sodium.crypto_auth_hmacsha256_update(st, t);
		sodium.crypto_auth_hmacsha256_update(st, inf);
		sodium.crypto_auth_hmacsha256_update(st, Uint8Array.of(ctr));
		const next = sodium.crypto_auth_hmacsha256_final(st);
		wipe(t);
		t = next;
		const n = Math.min(len - done, HKDF_SHA256_LEN);
		out.set(t.subarray(0, n), done);
		done += n;
	}
	wipe(t);
	return out;
}

/** HKDF-SHA256(ikm, salt, info) to `len` bytes; the caller wipes the result. */
export function hkdfSha256(ikm, salt, info, len) {
	if (!Number.isInteger(len) || len < 1 || len > HKDF_SHA256_OUT_MAX) fail('bad_input', 'HKDF output length');
	const prk = hkdfSha256Extract(salt, ikm);
	try {
		return hkdfSha256Expand(prk, info, len);
	} finally {
		wipe(prk);
	}
}
