// The device's keys in IndexedDB, encrypted under the user's passphrase:
// Argon2id (crypto_pwhash, ALG_ARGON2ID13, opslimit 3, memlimit 64 MiB, a
// random 16-byte salt) derives a 32-byte key; crypto_secretbox (XSalsa20-
// Poly1305, random nonce) seals the JSON of the secrets. Only the device id,
// the KDF parameters and the sealed box are stored; the passphrase and the
// derived key are wiped after use. docs/WEB.md "Keys in the browser".
import { b64, fail, fromUtf8, sodium, unb64, utf8, wipe } from '../crypto/codec.js';

const DB = 'varsko';
const STORE = 'kv';
export const KDF = { alg: 'argon2id13', ops: 3, mem: 64 * 1024 * 1024 };

function open() {
	return new Promise((resolve, reject) => {
		let req;
		try {
			req = indexedDB.open(DB, 1);
		} catch {
			reject(Object.assign(new Error('storage'), { code: 'storage' }));
			return;
		}
		req.onupgradeneeded = () => req.result.createObjectStore(STORE);
		req.onsuccess = () => resolve(req.result);
		req.onerror = () => reject(Object.assign(new Error('storage'), { code: 'storage' }));
	});
}

async function tx(mode, fn) {
	const db = await open();
	try {
		return await new Promise((resolve, reject) => {
			const t = db.transaction(STORE, mode, { durability: 'strict' });
			const r = fn(t.objectStore(STORE));
			t.oncomplete = () => resolve(r && 'result' in r ? r.result : undefined);
			t.onerror = () => reject(Object.assign(new Error('storage'), { code: 'storage' }));
			t.onabort = () => reject(Object.assign(new Error('storage'), { code: 'storage' }));
		});
	} finally {
		db.close();
	}
}

export function get(key) {
	return tx('readonly', (s) => s.get(key));
}

export function put(key, value) {
	return tx('readwrite', (s) => s.put(value, key));
}

export function del(key) {
	return tx('readwrite', (s) => s.delete(key));
}

/** Forget everything this browser holds for Varsko (keys, settings, draft). */
export function clear() {
	return tx('readwrite', (s) => s.clear());
}

function deriveKey(passphrase, salt, ops, mem) {
	const pw = utf8(passphrase);
	try {
		return sodium.crypto_pwhash(32, pw, salt, ops, mem, sodium.crypto_pwhash_ALG_ARGON2ID13);
	} finally {
		wipe(pw);
	}
}

/** Seal the object `secrets` under passphrase: the record to store. */
export function seal(passphrase, secrets) {
	const salt = sodium.randombytes_buf(16);
	const key = deriveKey(passphrase, salt, KDF.ops, KDF.mem);
	const nonce = sodium.randombytes_buf(sodium.crypto_secretbox_NONCEBYTES);
	const plain = utf8(JSON.stringify(secrets));
	try {
		const box = sodium.crypto_secretbox_easy(plain, nonce, key);
		return { kdf: { ...KDF, salt: b64(salt) }, nonce: b64(nonce), box: b64(box) };
	} finally {
		wipe(key, plain);
	}
}

/** Open a sealed record; a wrong passphrase (or a changed record) is `crypto`. */
export function unseal(passphrase, rec) {
	if (!rec || !rec.kdf || rec.kdf.alg !== KDF.alg) return fail('bad_input', 'not a Varsko key record');
	const key = deriveKey(passphrase, unb64(rec.kdf.salt, 16), rec.kdf.ops, rec.kdf.mem);
	let plain = null;
	try {
		plain = sodium.crypto_secretbox_open_easy(unb64(rec.box), unb64(rec.nonce, sodium.crypto_secretbox_NONCEBYTES), key);
	} catch {
		return fail('crypto', 'wrong passphrase');
	} finally {
		wipe(key);
	}
	try {
		return JSON.parse(fromUtf8(plain));
	} finally {
		wipe(plain);
	}
}

/* The device record: { device, label, created, state, sealed } */
export const DEVICE = 'device';
/* Sealed under the device's local key (secrets.local_key): settings and the form's draft. */
export const SETTINGS = 'settings';
export const DRAFT = 'draft';
/* {root_pk}: the organisation root public key, in plain (public), read by the service worker (sw.js). */
export const RELEASE = 'release';

/** A new random local key (b64): drafts and settings are sealed under it, never the passphrase. */
export function newLocalKey() {
	return b64(sodium.randombytes_buf(sodium.crypto_secretbox_KEYBYTES));
}

/** Seal obj under the local key and store it as `name`. */
export async function putLocal(localKey, name, obj) {
	const key = unb64(localKey, sodium.crypto_secretbox_KEYBYTES);
	const nonce = sodium.randombytes_buf(sodium.crypto_secretbox_NONCEBYTES);
	const plain = utf8(JSON.stringify(obj));
	try {
		await put(name, { nonce: b64(nonce), box: b64(sodium.crypto_secretbox_easy(plain, nonce, key)) });
	} finally {
		wipe(key, plain);
	}
}

/** The object stored as `name` under the local key, or null when there is none (or it does not open). */
export async function getLocal(localKey, name) {
	const rec = await get(name);
	if (!rec) return null;
	const key = unb64(localKey, sodium.crypto_secretbox_KEYBYTES);
	let plain = null;
	try {
		plain = sodium.crypto_secretbox_open_easy(unb64(rec.box), unb64(rec.nonce, sodium.crypto_secretbox_NONCEBYTES), key);
		return JSON.parse(fromUtf8(plain));
	} catch {
		return null;
	} finally {
		wipe(key, plain);
	}
}
