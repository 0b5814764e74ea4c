// The encodings every other crypto module builds on, mirroring proto/util.c,
// proto/codec.c and proto/sign.c: base64 and hex, UTF-8, the field encoding of
// signing inputs (PROTOCOL.md section 7), protocol times, device ids and
// fingerprints (section 8), origins (section 9), Ed25519 sign and verify.
//
// Every function throws a VarskoError whose `code` is the wire name of an
// error of PROTOCOL.md section 5 (`bad_input`, `bad_cert`, ...); pages turn the
// code into Danish with the shared catalogue, never show it raw.
import sodiumModule from 'libsodium-wrappers-sumo';

export const sodium = sodiumModule;

/** Resolves once libsodium is loaded; every other function needs it. */
export async function ready() {
	await sodium.ready;
	return sodium;
}

export class VarskoError extends Error {
	constructor(code, detail) {
		super(detail ? `${code}: ${detail}` : code);
		this.name = 'VarskoError';
		this.code = code;
	}
}

export function fail(code, detail) {
	throw new VarskoError(code, detail);
}

/* ---- bytes ---------------------------------------------------------------- */

const utf8enc = new TextEncoder();
const utf8dec = new TextDecoder('utf-8', { fatal: true });

export function utf8(s) {
	return utf8enc.encode(s);
}

/** Bytes to a string; invalid UTF-8 is `bad_input`. */
export function fromUtf8(b) {
	try {
		return utf8dec.decode(b);
	} catch {
		return fail('bad_input', 'invalid UTF-8');
	}
}

export function concat(...parts) {
	let n = 0;
	for (const p of parts) n += p.length;
	const out = new Uint8Array(n);
	let o = 0;
	for (const p of parts) {
		out.set(p, o);
		o += p.length;
	}
	return out;
}

export function equalBytes(a, b) {
	if (!(a instanceof Uint8Array) || !(b instanceof Uint8Array) || a.length !== b.length) return false;
	return sodium.memcmp(a, b);
}

export function wipe(...bufs) {
	for (const b of bufs) if (b instanceof Uint8Array) sodium.memzero(b);
}

export function toHex(b) {
	return sodium.to_hex(b);
}

export function fromHex(s) {
	if (typeof s !== 'string' || !/^([0-9a-f]{2})*$/.test(s)) fail('bad_input', 'not lowercase hex');
	return sodium.from_hex(s);
}

/** Standard base64 with padding (RFC 4648 section 4), as on the wire. */
export function b64(b) {
	return sodium.to_base64(b, sodium.base64_variants.ORIGINAL);
}

/**
 * Strict base64 decode: standard alphabet, padding required, no whitespace,
 * canonical (unused bits zero), and when `len` is given exactly that many
 * bytes. Anything else is `bad_input`.
 */
export function unb64(s, len) {
	if (typeof s !== 'string' || s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) fail('bad_input', 'not base64');
	let out;
	try {
		out = sodium.from_base64(s, sodium.base64_variants.ORIGINAL);
	} catch {
		return fail('bad_input', 'not base64');
	}
	if (b64(out) !== s) fail('bad_input', 'non-canonical base64');
	if (len !== undefined && out.length !== len) fail('bad_input', `base64 of ${out.length} bytes, want ${len}`);
	return out;
}

/* ---- signing inputs (PROTOCOL.md section 7) -------------------------------- */

/**
 * The field encoding of section 7: each field a 4-byte big-endian length and
 * its bytes; integers 8 bytes big-endian; a list its count then its items.
 * `new Fields(tag).str(s).bytes(b).int(n).list(items).done()`.
 */
export class Fields {
	constructor(tag) {
		this.parts = [];
		this.n = 0;
		if (tag !== undefined) this.str(tag);
	}

	bytes(b) {
		if (!(b instanceof Uint8Array)) fail('bad_input', 'field is not bytes');
		const len = new Uint8Array(4);
		new DataView(len.buffer).setUint32(0, b.length, false);
		this.parts.push(len, b);
		this.n += 4 + b.length;
		return this;
	}

	str(s) {
		if (typeof s !== 'string') fail('bad_input', 'field is not a string');
		return this.bytes(utf8(s));
	}

	int(v) {
		const b = new Uint8Array(8);
		new DataView(b.buffer).setBigInt64(0, BigInt(v), false);
		return this.bytes(b);
	}

	list(items) {
		this.int(items.length);
		for (const it of items) this.str(it);
		return this;
	}

	done() {
		return concat(...this.parts);
	}
}

/**
 * The reader of the field encoding, mirroring proto_field_next/_str/_u64
 * (proto/sign.c): `new FieldReader(bytes)`, then .bytes(), .str(maxLen),
 * .u64() in order and .end(). Anything malformed, short or left over is
 * `bad_input`.
 */
export class FieldReader {
	constructor(b) {
		if (!(b instanceof Uint8Array)) fail('bad_input', 'fields are not bytes');
		this.b = b;
		this.pos = 0;
	}

	bytes() {
		const b = this.b;
		if (b.length - this.pos < 4) fail('bad_input', 'field length past the end');
		const n = new DataView(b.buffer, b.byteOffset + this.pos, 4).getUint32(0, false);
		this.pos += 4;
		if (b.length - this.pos < n) fail('bad_input', 'field past the end');
		const f = b.subarray(this.pos, this.pos + n);
		this.pos += n;
		return f;
	}

	/** A non-empty UTF-8 string without NUL of at most maxLen bytes. */
	str(maxLen) {
		const f = this.bytes();
		if (f.length === 0 || f.length > maxLen || f.includes(0)) fail('bad_input', 'string field');
		return fromUtf8(f);
	}

	/** An 8-byte big-endian unsigned integer, as a BigInt. */
	u64() {
		const f = this.bytes();
		if (f.length !== 8) fail('bad_input', 'integer field of 8 bytes expected');
		return new DataView(f.buffer, f.byteOffset, 8).getBigUint64(0, false);
	}

	end() {
		if (this.pos !== this.b.length) fail('bad_input', 'bytes after the last field');
	}
}

/* ---- times ------------------------------------------------------------------ */

const TIME_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/;
const TIME_MIN = 0;
const TIME_MAX = 253402300799; /* 9999-12-31T23:59:59Z */

/** "YYYY-MM-DDTHH:MM:SSZ" to Unix seconds; anything else is `bad_time`. */
export function timeParse(s) {
	const m = typeof s === 'string' ? TIME_RE.exec(s) : null;
	if (!m) return fail('bad_time');
	const [y, mo, d, h, mi, se] = m.slice(1).map(Number);
	const t = Date.UTC(y, mo - 1, d, h, mi, se) / 1000;
	const back = new Date(t * 1000);
	if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d ||
	    h > 23 || mi > 59 || se > 59 || t < TIME_MIN || y < 1970)
		return fail('bad_time');
	return t;
}

/** Unix seconds to "YYYY-MM-DDTHH:MM:SSZ" (clamped to 1970..9999 like C). */
export function timeFormat(t) {
	const c = Math.min(Math.max(Math.trunc(t), TIME_MIN), TIME_MAX);
	return new Date(c * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function now() {
	return Math.floor(Date.now() / 1000);
}

/* ---- ids and fingerprints (PROTOCOL.md section 8) ---------------------------- */

function tagHash(tag, pk) {
	return sodium.crypto_generichash(32, new Fields(tag).bytes(pk).done(), null);
}

/** `d-` and 16 hex digits of BLAKE2b-256 over [varsko-device-id-v1, sign_pk]. */
export function deviceId(signPk) {
	if (!(signPk instanceof Uint8Array) || signPk.length !== 32) fail('bad_input', 'key of 32 bytes expected');
	return 'd-' + toHex(tagHash('varsko-device-id-v1', signPk).subarray(0, 8));
}

/** The 39-character fingerprint of any 32-byte public key. */
export function fingerprint(pk) {
	if (!(pk instanceof Uint8Array) || pk.length !== 32) fail('bad_input', 'key of 32 bytes expected');
	const hex = toHex(tagHash('varsko-fingerprint-v1', pk).subarray(0, 16));
	return hex.match(/.{4}/g).join('-');
}

/** A fingerprint as a person types it: spaces, case and dashes do not matter. */
export function fingerprintEqual(typed, fp) {
	const norm = (s) => String(s).toLowerCase().replace(/[^0-9a-f]/g, '');
	const a = norm(typed);
	return a.length === 32 && a === norm(fp);
}

/* ---- origins (PROTOCOL.md section 9) ----------------------------------------- */

/** "wss://Host[:port][/...]" to "wss://host:port"; anything else is `bad_input`. */
export function originFromUrl(url) {
	const m = typeof url === 'string' ? /^wss:\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::([0-9]*))?([/?#].*)?$/i.exec(url) : null;
	if (!m) return fail('bad_input', 'not a wss URL');
	let port = 443;
	if (m[2] !== undefined) {
		if (m[2].length === 0 || m[2].length > 5) return fail('bad_input', 'bad port');
		port = Number(m[2]);
		if (port < 1 || port > 65535) return fail('bad_input', 'bad port');
	}
	const host = m[1].toLowerCase();
	const out = `wss://${host}:${port}`;
	if (out.length > 256) return fail('bad_input', 'origin too long');
	return out;
}

/* ---- Ed25519 ------------------------------------------------------------------ */

/** A signing key pair from a 32-byte seed (or a fresh one). */
export function signKeypair(seed) {
	return seed ? sodium.crypto_sign_seed_keypair(seed) : sodium.crypto_sign_keypair();
}

/** An X25519 key pair from a 32-byte seed (or a fresh one). */
export function boxKeypair(seed) {
	return seed ? sodium.crypto_box_seed_keypair(seed) : sodium.crypto_box_keypair();
}

export function sign(input, sk) {
	return sodium.crypto_sign_detached(input, sk);
}

/** True when sig (64 bytes) is pk's pure Ed25519 signature over input. */
export function verify(input, sig, pk) {
	if (!(sig instanceof Uint8Array) || sig.length !== 64 || !(pk instanceof Uint8Array) || pk.length !== 32)
		return false;
	try {
		return sodium.crypto_sign_verify_detached(sig, input, pk);
	} catch {
		return false;
	}
}

/* ---- handshake signing inputs (PROTOCOL.md 7.2 to 7.4) ---------------------------- */

export function loginSigningInput(nonce, origin, device, time) {
	return new Fields('varsko-login-v1').bytes(nonce).str(origin).str(device).int(time).done();
}

export function enrollSigningInput(nonce, origin, code, signPk, boxPk, label) {
	return new Fields('varsko-enroll-v1').bytes(nonce).str(origin).str(code).bytes(signPk).bytes(boxPk)
		.str(label || '').done();
}

export function confirmSigningInput(nonce, origin, device) {
	return new Fields('varsko-confirm-v1').bytes(nonce).str(origin).str(device).done();
}
