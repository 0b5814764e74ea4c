// An attachment's encryption, PROTOCOL.md 17.9, mirroring proto/blob.c:
// libsodium's crypto_secretstream_xchacha20poly1305 under a fresh 32-byte
// key: the 24-byte stream header, then the file in chunks of 64 KiB, each
// sealed with 17 bytes of overhead; every chunk but the last carries the tag
// MESSAGE and exactly 64 KiB, the last one (0 to 64 KiB, so an empty file is
// one empty final chunk) the tag FINAL. A ciphertext cut short, chunks moved,
// dropped or repeated, or anything after the final chunk does not decrypt.
import { sodium, fail, wipe } from './codec.js';

export const BLOB_KEY_LEN = 32;
export const BLOB_HEADER_LEN = 24;
export const BLOB_ABYTES = 17;
export const BLOB_CHUNK = 65536;
export const BLOB_PART_MAX = 262144;
export const BLOB_PLAIN_MAX = 1024 * 1024 * 1024;

/* Chunks of a plaintext of n bytes: at least one. */
function chunksOf(n) {
	return n === 0 ? 1 : Math.ceil(n / BLOB_CHUNK);
}

/** The ciphertext length of a plaintext of n bytes (n <= 1 GiB), else 0. */
export function blobCipherLen(n) {
	if (!Number.isInteger(n) || n < 0 || n > BLOB_PLAIN_MAX) return 0;
	return BLOB_HEADER_LEN + n + BLOB_ABYTES * chunksOf(n);
}

function checkKey(key) {
	if (!(key instanceof Uint8Array) || key.length !== BLOB_KEY_LEN) fail('bad_input', 'blob key of 32 bytes expected');
}

/** A fresh random file key. */
export function blobKey() {
	return sodium.crypto_secretstream_xchacha20poly1305_keygen();
}

/**
 * pt encrypted under key, a fresh random header every time; its length is
 * blobCipherLen(pt.length). `bad_input`, `too_large` beyond 1 GiB, `crypto`.
 */
export function blobEncrypt(key, pt) {
	checkKey(key);
	if (!(pt instanceof Uint8Array)) fail('bad_input', 'plaintext is not bytes');
	const total = blobCipherLen(pt.length);
	if (total === 0) fail('too_large', 'attachment above 1 GiB');
	const n = chunksOf(pt.length);
	const out = new Uint8Array(total);
	try {
		const { state, header } = sodium.crypto_secretstream_xchacha20poly1305_init_push(key);
		out.set(header, 0);
		let at = BLOB_HEADER_LEN;
		for (let i = 0, done = 0; i < n; i++) {
			const k = Math.min(pt.length - done, BLOB_CHUNK);
			const tag = i + 1 === n ? sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL
				: sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
			const c = sodium.crypto_secretstream_xchacha20poly1305_push(state, pt.subarray(done, done + k), null, tag);
			out.set(c, at);
			at += c.length;
			done += k;
		}
		if (at !== total) fail('crypto', 'attachment length');
		return out;
	} catch (e) {
		if (e && e.code === 'crypto') throw e;
		return fail('crypto', 'cannot encrypt the attachment');
	}
}

/**
 * The plaintext of ct under key (the caller wipes it). Every rule of the
 * format is checked; `crypto` for a chunk that does not open, a chunk with
 * the wrong tag or length, anything after the final chunk, or no final
 * chunk, and nothing decrypted is left behind.
 */
export function blobDecrypt(key, ct) {
	checkKey(key);
	if (!(ct instanceof Uint8Array)) fail('bad_input', 'ciphertext is not bytes');
	if (ct.length < BLOB_HEADER_LEN + BLOB_ABYTES) fail('crypto', 'attachment too short');
	const out = new Uint8Array(ct.length - BLOB_HEADER_LEN);
	let got = 0;
	try {
		const state = sodium.crypto_secretstream_xchacha20poly1305_init_pull(ct.subarray(0, BLOB_HEADER_LEN), key);
		let final = false;
		for (let at = BLOB_HEADER_LEN; at < ct.length;) {
			const c = Math.min(ct.length - at, BLOB_CHUNK + BLOB_ABYTES);
			if (final || c < BLOB_ABYTES) fail('crypto', 'bytes after the final chunk');
			const r = sodium.crypto_secretstream_xchacha20poly1305_pull(state, ct.subarray(at, at + c), null);
			if (!r || !(r.message instanceof Uint8Array)) fail('crypto', 'a chunk does not open');
			const k = r.message.length;
			out.set(r.message, got);
			wipe(r.message);
			if (r.tag === sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL) final = true;
			else if (r.tag !== sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE || k !== BLOB_CHUNK)
				fail('crypto', 'only the final chunk may be short');
			got += k;
			at += c;
		}
		if (!final) fail('crypto', 'cut short');
		const pt = out.slice(0, got);
		wipe(out);
		return pt;
	} catch (e) {
		wipe(out);
		if (e && e.code === 'crypto') throw e;
		return fail('crypto', 'cannot decrypt the attachment');
	}
}
