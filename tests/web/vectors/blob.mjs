// blob.json (PROTOCOL.md 17.9): attachments encrypted by an independent
// implementation open to the plaintext of their SHA-256; every damaged one
// (the edits of the last good case, and the given ciphertexts) is refused
// with `crypto`; our own ciphertexts have the length of blobCipherLen and
// open again.
import * as c from '../../../clients/web/src/crypto/codec.js';
import * as blob from '../../../clients/web/src/crypto/blob.js';

const plain = (n) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + n) % 251);

export default async function (t, load) {
	const v = await load('blob.json');
	const key = c.unb64(v.key, 32);
	t.eq(v.chunk, blob.BLOB_CHUNK, 'chunk size');
	for (const g of v.good) {
		const ct = c.unb64(g.ciphertext);
		t.eq(ct.length, blob.blobCipherLen(g.n), `good ${g.n}: length`);
		const pt = blob.blobDecrypt(key, ct);
		t.eq(pt.length, g.n, `good ${g.n}: plaintext length`);
		t.eq(c.sodium.crypto_hash_sha256(pt, 'hex'), g.sha256, `good ${g.n}: SHA-256`);
		t.ok(c.equalBytes(pt, plain(g.n)), `good ${g.n}: plaintext`);
		c.wipe(pt);
		const other = Uint8Array.from(key);
		other[0] ^= 1;
		t.throws(() => blob.blobDecrypt(other, ct), 'crypto', `good ${g.n}: another key`);
	}
	/* The edits of the last good case: header h, chunks c1 (65553 bytes) and c2 (18 bytes). */
	const last = c.unb64(v.good[v.good.length - 1].ciphertext);
	const h = last.subarray(0, 24);
	const c1 = last.subarray(24, 24 + 65553);
	const c2 = last.subarray(24 + 65553);
	t.eq(c2.length, 18, 'the last good case has a final chunk of one byte');
	const parts = { h, c1, c2, 'c2-1': c2.subarray(0, c2.length - 1), '00': Uint8Array.of(0) };
	for (const b of v.bad) {
		const ct = b.edit !== undefined
			? c.concat(...b.edit.split(' ').filter(Boolean).map((p) => {
				if (!(p in parts)) throw new Error(`unknown edit ${p}`);
				return parts[p];
			}))
			: c.unb64(b.ciphertext);
		t.throws(() => blob.blobDecrypt(key, ct), 'crypto', `bad: ${b.why}`);
	}
	t.ok(v.bad.length >= 11, 'eleven bad cases');

	/* Our own. */
	const k = blob.blobKey();
	for (const n of [0, 1, blob.BLOB_CHUNK - 1, blob.BLOB_CHUNK, blob.BLOB_CHUNK + 1, 3 * blob.BLOB_CHUNK]) {
		const pt = plain(n);
		const ct = blob.blobEncrypt(k, pt);
		t.eq(ct.length, blob.blobCipherLen(n), `own ${n}: length`);
		t.ok(c.equalBytes(blob.blobDecrypt(k, ct), pt), `own ${n}: opens`);
		t.ok(!c.equalBytes(blob.blobEncrypt(k, pt), ct), `own ${n}: a fresh header`);
		const flipped = Uint8Array.from(ct);
		flipped[flipped.length - 1] ^= 1;
		t.throws(() => blob.blobDecrypt(k, flipped), 'crypto', `own ${n}: a flipped byte`);
	}
	t.eq(blob.blobCipherLen(blob.BLOB_PLAIN_MAX + 1), 0, 'above 1 GiB');
	t.eq(blob.blobCipherLen(0), 24 + 17, 'empty file');
	t.throws(() => blob.blobEncrypt(k.subarray(1), plain(1)), 'bad_input', 'short key');
	t.throws(() => blob.blobDecrypt(k, null), 'bad_input', 'no ciphertext');
}
