// The end-to-end envelope of PROTOCOL.md section 11.2, mirroring
// proto/envelope.c: a payload sealed for 1..64 recipients and signed by the
// sender device.
//
// An envelope is the object of its JSON form, members in camelCase (as the
// schema engine decodes them) and bytes decoded:
//   { version: 1, kind, objectId, sender, routing: Uint8Array,
//     epk: Uint8Array(32), wraps: [{ device, nonce: Uint8Array(24), key: Uint8Array(48) }],
//     nonce: Uint8Array(24), ciphertext: Uint8Array, sig: Uint8Array(64) }
// Every secret (content key, ephemeral key, shared secrets, wrap keys) is
// wiped before return; opening fails closed with one error (`crypto`) for
// every cause and never hands back partial plaintext.
import { sodium, fail, utf8, concat, wipe, sign, verify, Fields, VarskoError } from './codec.js';
import { hkdfSha256 } from './hkdf.js';
import { K, field, ID_MAX, validId, jsonLoad, schemaDecode, schemaEncodeText } from './schema.js';

export const ENV_VERSION = 1;
export const ENV_RECIPIENTS_MAX = 64;
export const ENV_RECIPIENT_ID_MAX = 96;
export const ENV_KIND_MAX = 32;
export const ENV_ROUTING_MAX = 1024;
export const ENV_PAYLOAD_MAX = 1 << 20;
export const ENV_JSON_MAX = 2 << 20;
export const ENV_KEY_LEN = 32;
export const ENV_NONCE_LEN = 24;
export const ENV_TAG_LEN = 16;
export const ENV_WRAPPED_LEN = ENV_KEY_LEN + ENV_TAG_LEN;

const TAG_HEADER = 'varsko-envelope-v1';
const TAG_SIG = 'varsko-envelope-sig-v1';
const TAG_WRAP = 'varsko-wrap-v1';

/** A kind: 1..32 of [a-z0-9_-]. */
export function envValidKind(s) {
	return typeof s === 'string' && /^[a-z0-9_-]{1,32}$/.test(s);
}

/** A recipient id: a device id or a key id, 1..96 visible ASCII. */
export function envValidRecipient(s) {
	return validId(s, 1, ENV_RECIPIENT_ID_MAX);
}

/* Bytewise order of ASCII ids is the order of their UTF-16 code units. */
function cmpId(a, b) {
	return a < b ? -1 : a > b ? 1 : 0;
}

function isBytes(b, n) {
	return b instanceof Uint8Array && (n === undefined || b.length === n);
}

/** True when e is well-formed: everything a signature or a decryption relies on. */
export function envWellFormed(e) {
	if (e === null || typeof e !== 'object' || e.version !== ENV_VERSION || !envValidKind(e.kind) ||
	    !validId(e.objectId) || !validId(e.sender))
		return false;
	if (!isBytes(e.routing) || e.routing.length > ENV_ROUTING_MAX) return false;
	if (!isBytes(e.epk, 32) || !isBytes(e.nonce, ENV_NONCE_LEN) || !isBytes(e.sig, 64)) return false;
	if (!Array.isArray(e.wraps) || e.wraps.length < 1 || e.wraps.length > ENV_RECIPIENTS_MAX) return false;
	for (let i = 0; i < e.wraps.length; i++) {
		const w = e.wraps[i];
		if (!w || !envValidRecipient(w.device) || !isBytes(w.nonce, ENV_NONCE_LEN) || !isBytes(w.key, ENV_WRAPPED_LEN))
			return false;
		if (i > 0 && cmpId(e.wraps[i - 1].device, w.device) >= 0) return false;
	}
	if (!isBytes(e.ciphertext) || e.ciphertext.length <= ENV_TAG_LEN || e.ciphertext.length > ENV_PAYLOAD_MAX + ENV_TAG_LEN)
		return false;
	return true;
}

/** The header encoding: the payload's associated data. `bad_input` for an envelope not well-formed. */
export function envHeaderEncode(e) {
	if (!envWellFormed(e)) fail('bad_input', 'envelope not well-formed');
	const f = new Fields(TAG_HEADER).int(e.version).str(e.kind).str(e.objectId).str(e.sender)
		.list(e.wraps.map((w) => w.device));
	return f.bytes(e.routing).done();
}

/** The envelope signing input (11.2, step 5). */
export function envSigningInput(e) {
	const f = new Fields(TAG_SIG).bytes(envHeaderEncode(e)).bytes(e.epk).int(e.wraps.length);
	for (const w of e.wraps) f.str(w.device).bytes(w.nonce).bytes(w.key);
	return f.bytes(e.nonce).bytes(e.ciphertext).done();
}

/*
 * The wrap key of one recipient: HKDF-SHA256(X25519(sk, peer), epk || rpk,
 * "varsko-wrap-v1" || device). The sender passes (esk, box_pk), the
 * recipient (box_sk, epk); both give the same key. `crypto` on a low-order
 * peer key.
 */
function wrapKey(sk, peer, epk, rpk, device) {
	let shared;
	try {
		shared = sodium.crypto_scalarmult(sk, peer);
	} catch {
		return fail('crypto', 'X25519 failed');
	}
	try {
		if (shared.every((x) => x === 0)) fail('crypto', 'X25519 all zero');
		return hkdfSha256(shared, concat(epk, rpk), concat(utf8(TAG_WRAP), utf8(device)), ENV_KEY_LEN);
	} finally {
		wipe(shared);
	}
}

function checkParams(p, rcpt, pt, senderSk) {
	if (!p || !envValidKind(p.kind) || !validId(p.objectId) || !validId(p.sender)) fail('bad_input', 'bad envelope parameters');
	const routing = p.routing === undefined || p.routing === null ? new Uint8Array(0) : p.routing;
	if (!isBytes(routing)) fail('bad_input', 'routing is not bytes');
	if (!Array.isArray(rcpt) || rcpt.length < 1 || rcpt.length > ENV_RECIPIENTS_MAX) fail('bad_input', '1 to 64 recipients');
	if (!isBytes(pt) || pt.length < 1) fail('bad_input', 'empty payload');
	if (!isBytes(senderSk, 64)) fail('bad_input', 'sender key of 64 bytes expected');
	if (routing.length > ENV_ROUTING_MAX || pt.length > ENV_PAYLOAD_MAX) fail('too_large', 'routing or payload too large');
	for (const r of rcpt)
		if (!r || !envValidRecipient(r.device) || !isBytes(r.boxPk, 32)) fail('bad_input', 'bad recipient');
	const sorted = rcpt.slice().sort((a, b) => cmpId(a.device, b.device));
	for (let i = 1; i < sorted.length; i++)
		if (sorted[i - 1].device === sorted[i].device) fail('bad_input', 'recipient twice');
	return { routing, sorted };
}

function sealImpl(p, rcpt, pt, senderSk, rnd) {
	const { routing, sorted } = checkParams(p, rcpt, pt, senderSk);
	const ck = rnd ? Uint8Array.from(rnd.contentKey) : sodium.randombytes_buf(ENV_KEY_LEN);
	const esk = rnd ? Uint8Array.from(rnd.ephSk) : sodium.randombytes_buf(32);
	let ad = null;
	try {
		const e = {
			version: ENV_VERSION, kind: p.kind, objectId: p.objectId, sender: p.sender,
			routing: Uint8Array.from(routing),
			epk: sodium.crypto_scalarmult_base(esk),
			nonce: rnd ? Uint8Array.from(rnd.nonce) : sodium.randombytes_buf(ENV_NONCE_LEN),
			wraps: [], ciphertext: null, sig: new Uint8Array(64),
		};
		sorted.forEach((r, i) => {
			const nonce = rnd ? Uint8Array.from(rnd.wrapNonces[i]) : sodium.randombytes_buf(ENV_NONCE_LEN);
			const wk = wrapKey(esk, r.boxPk, e.epk, r.boxPk, r.device);
			try {
				e.wraps.push({ device: r.device, nonce,
					key: sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(ck, null, null, nonce, wk) });
			} finally {
				wipe(wk);
			}
		});
		/* The header covers the ciphertext's length only through well-formedness: a placeholder of the right length. */
		e.ciphertext = new Uint8Array(pt.length + ENV_TAG_LEN);
		ad = envHeaderEncode(e);
		e.ciphertext = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(pt, ad, null, e.nonce, ck);
		e.sig = sign(envSigningInput(e), senderSk);
		return e;
	} finally {
		wipe(ck, esk);
	}
}

/**
 * Seal pt (1..1 MiB) for recipients [{ device, boxPk }] (1..64 distinct ids,
 * any order) with params { kind, objectId, sender, routing } and sign with
 * senderSk (libsodium's 64-byte Ed25519 key). `bad_input`, `too_large`,
 * `crypto` (a recipient key of low order).
 */
export function envSeal(p, rcpt, pt, senderSk) {
	return sealImpl(p, rcpt, pt, senderSk, null);
}

/**
 * FOR TEST VECTORS ONLY: envSeal with the randomness given
 * ({ contentKey, ephSk, nonce, wrapNonces[i] in sorted recipient order }).
 * Never use it to send anything: reused randomness breaks the encryption.
 */
export function envSealForTestVectors(p, rcpt, pt, senderSk, rnd) {
	if (!rnd || !isBytes(rnd.contentKey, 32) || !isBytes(rnd.ephSk, 32) || !isBytes(rnd.nonce, 24) ||
	    !Array.isArray(rnd.wrapNonces) || !rnd.wrapNonces.every((n) => isBytes(n, 24)) ||
	    !Array.isArray(rcpt) || rnd.wrapNonces.length < rcpt.length)
		fail('bad_input', 'test randomness');
	return sealImpl(p, rcpt, pt, senderSk, rnd);
}

/** Throws `bad_signature` unless e is well-formed and signed by senderSignPk (what the gateway checks). */
export function envVerify(e, senderSignPk) {
	if (!envWellFormed(e) || !verify(envSigningInput(e), e.sig, senderSignPk)) fail('bad_signature', 'envelope signature');
	return true;
}

/**
 * Open e as recipient `device` with its X25519 secret key boxSk: the
 * signature with senderSignPk first (the caller has checked its certificate
 * and that its device id is e.sender), then kind and object id when expected
 * (null: not checked), then the wrap and the payload. Returns the plaintext
 * (the caller wipes it). Every failure is `crypto`.
 */
export function envOpen(e, senderSignPk, device, boxSk, expectKind, expectObject) {
	let ck = null, wk = null, myPk = null;
	try {
		envVerify(e, senderSignPk);
		if ((expectKind != null && expectKind !== e.kind) || (expectObject != null && expectObject !== e.objectId))
			fail('crypto');
		const w = e.wraps.find((x) => x.device === device);
		if (!w || !isBytes(boxSk, 32)) fail('crypto');
		myPk = sodium.crypto_scalarmult_base(boxSk);
		wk = wrapKey(boxSk, e.epk, e.epk, myPk, device);
		ck = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, w.key, null, w.nonce, wk);
		if (ck.length !== ENV_KEY_LEN) fail('crypto');
		return sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, e.ciphertext, envHeaderEncode(e), e.nonce, ck);
	} catch (err) {
		throw err instanceof VarskoError && err.code === 'crypto' ? err : new VarskoError('crypto', 'cannot open the envelope');
	} finally {
		wipe(ck, wk);
	}
}

/* ---- JSON -------------------------------------------------------------------------- */

const wrapTable = [
	field('device', K.ID, { min: 1, max: ENV_RECIPIENT_ID_MAX }),
	field('key', K.B64, { max: ENV_WRAPPED_LEN }),
	field('nonce', K.B64, { max: ENV_NONCE_LEN }),
];

/* The JSON form for the schema engine; what a table cannot say (version 1, the kind's alphabet, wraps in order) envWellFormed checks. */
export const ENV_TABLE = Object.freeze([
	field('ciphertext', K.BYTES, { min: ENV_TAG_LEN + 1, max: ENV_PAYLOAD_MAX + ENV_TAG_LEN }),
	field('epk', K.B64, { max: 32 }),
	field('kind', K.ID, { min: 1, max: ENV_KIND_MAX }),
	field('nonce', K.B64, { max: ENV_NONCE_LEN }),
	field('object_id', K.ID, { min: 1, max: ID_MAX }),
	field('routing', K.BYTES, { max: ENV_ROUTING_MAX }),
	field('sender', K.ID, { min: 1, max: ID_MAX }),
	field('sig', K.B64, { max: 64 }),
	field('version', K.U32POS),
	field('wraps', K.OBJLIST, { min: 1, max: ENV_RECIPIENTS_MAX, table: wrapTable }),
]);

/** The canonical JSON text of e; `bad_input` when it is not well-formed. */
export function envToJson(e) {
	if (!envWellFormed(e)) fail('bad_input', 'envelope not well-formed');
	return schemaEncodeText(e, ENV_TABLE);
}

/**
 * Strict parse of an envelope's JSON text (or bytes), or of an object
 * already loaded by schema.jsonLoad (a frame's member): one object, no
 * duplicate, unknown or missing member, exact base64 lengths, version 1,
 * wraps strictly sorted. Checks no signature. `too_large` (text above
 * 2 MiB), `bad_json`, `duplicate_key`, `bad_frame`.
 */
export function envFromJson(input) {
	const e = schemaDecode(input instanceof Map ? input : jsonLoad(input, ENV_JSON_MAX), ENV_TABLE);
	/* also: version 1, the kind's alphabet, wraps strictly sorted (so no device twice) */
	if (!envWellFormed(e)) fail('bad_frame', 'envelope not well-formed');
	return e;
}
