// The one strict JSON schema engine of the web crypto module, mirroring
// proto/schema.c: the loader (PROTOCOL.md section 2: one object, no duplicate
// key, integers that fit in 64 bits, nesting at most 2 048 deep), the
// validators of the string kinds, and the decoder and encoder that walk a
// field table. cert.js, chain.js and keybox.js are tables for it.
//
// A loaded value is: a Map (object, members in text order), an Array, a
// string, a BigInt (a JSON integer), a Number (a JSON real: `1.0`, `1e0`),
// true, false or null. Decoding a table gives a plain object whose members
// are named by the table's `key` (camelCase); u64 integers are BigInt, u32
// integers and times (Unix seconds) Numbers, byte strings Uint8Array.
import { fail, VarskoError, utf8, b64, unb64, timeParse, timeFormat } from './codec.js';

export const ID_MAX = 64;
export const FRAME_MAX = 65536;
export const TIME_MAX = 253402300799; /* 9999-12-31T23:59:59Z */
export const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);
const UINT32_MAX = 0xffffffffn;
const DEPTH_MAX = 2048;

/* ---- validators -------------------------------------------------------------- */

/** An id: min..max bytes of visible ASCII (0x21..0x7E). */
export function validId(s, min = 1, max = ID_MAX) {
	return typeof s === 'string' && s.length >= min && s.length <= max && /^[\x21-\x7e]*$/.test(s);
}

/** Text: UTF-8 of min..max bytes without C0 controls, DEL or C1 controls. */
export function validText(s, min, max) {
	if (typeof s !== 'string' || /[\u0000-\u001f\u007f-\u009f]/.test(s) || hasLoneSurrogate(s)) return false;
	const n = utf8(s).length;
	return n >= min && n <= max;
}

/* A loop, not a regular expression: lookbehind is missing in Safari before 16.4. */
function hasLoneSurrogate(s) {
	for (let i = 0; i < s.length; i++) {
		const c = s.charCodeAt(i);
		if (c < 0xd800 || c > 0xdfff) continue;
		if (c > 0xdbff) return true;
		const d = s.charCodeAt(i + 1);
		if (!(d >= 0xdc00 && d <= 0xdfff)) return true;
		i++;
	}
	return false;
}

/* ---- loading ------------------------------------------------------------------- */

const NUMBER = /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;

/* Strict UTF-8 that keeps a leading byte-order mark, so that it is refused as jansson refuses it. */
const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

class Parser {
	constructor(s) {
		this.s = s;
		this.i = 0;
		this.depth = 0;
	}

	bad() {
		return fail('bad_json', 'malformed JSON');
	}

	ws() {
		const s = this.s;
		while (this.i < s.length) {
			const c = s.charCodeAt(this.i);
			if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
			this.i++;
		}
	}

	value() {
		if (++this.depth > DEPTH_MAX) this.bad();
		this.ws();
		const c = this.s[this.i];
		let v;
		if (c === '{') v = this.object();
		else if (c === '[') v = this.array();
		else if (c === '"') v = this.string();
		else if (c === '-' || (c >= '0' && c <= '9')) v = this.number();
		else if (this.s.startsWith('true', this.i)) { this.i += 4; v = true; }
		else if (this.s.startsWith('false', this.i)) { this.i += 5; v = false; }
		else if (this.s.startsWith('null', this.i)) { this.i += 4; v = null; }
		else this.bad();
		this.depth--;
		return v;
	}

	object() {
		const o = new Map();
		this.i++;
		this.ws();
		if (this.s[this.i] === '}') {
			this.i++;
			return o;
		}
		for (;;) {
			this.ws();
			if (this.s[this.i] !== '"') this.bad();
			const k = this.string();
			/* jansson: "NUL byte in object key not supported" (a value may hold one). */
			if (k.includes('\u0000')) this.bad();
			/* As jansson: the duplicate is seen as soon as the key is read. */
			if (o.has(k)) fail('duplicate_key', 'duplicate key');
			this.ws();
			if (this.s[this.i] !== ':') this.bad();
			this.i++;
			o.set(k, this.value());
			this.ws();
			const c = this.s[this.i++];
			if (c === '}') return o;
			if (c !== ',') this.bad();
		}
	}

	array() {
		const a = [];
		this.i++;
		this.ws();
		if (this.s[this.i] === ']') {
			this.i++;
			return a;
		}
		for (;;) {
			a.push(this.value());
			this.ws();
			const c = this.s[this.i++];
			if (c === ']') return a;
			if (c !== ',') this.bad();
		}
	}

	hex4() {
		const h = this.s.slice(this.i, this.i + 4);
		if (!/^[0-9a-fA-F]{4}$/.test(h)) this.bad();
		this.i += 4;
		return parseInt(h, 16);
	}

	string() {
		const s = this.s;
		let out = '';
		this.i++;
		for (;;) {
			if (this.i >= s.length) this.bad();
			const c = s.charCodeAt(this.i);
			if (c === 0x22) {
				this.i++;
				return out;
			}
			if (c < 0x20) this.bad();
			if (c !== 0x5c) {
				out += s[this.i++];
				continue;
			}
			const e = s[this.i + 1];
			this.i += 2;
			const simple = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' }[e];
			if (simple !== undefined) {
				out += simple;
				continue;
			}
			if (e !== 'u') this.bad();
			let u = this.hex4();
			if (u >= 0xdc00 && u <= 0xdfff) this.bad();
			if (u >= 0xd800 && u <= 0xdbff) {
				if (s[this.i] !== '\\' || s[this.i + 1] !== 'u') this.bad();
				this.i += 2;
				const lo = this.hex4();
				if (lo < 0xdc00 || lo > 0xdfff) this.bad();
				out += String.fromCharCode(u, lo);
				continue;
			}
			out += String.fromCharCode(u);
		}
	}

	number() {
		NUMBER.lastIndex = this.i;
		const m = NUMBER.exec(this.s);
		if (!m) this.bad();
		/* A digit right after a leading 0 is not a number (jansson: invalid token). */
		const next = this.s[this.i + m[0].length];
		if (next !== undefined && next >= '0' && next <= '9') this.bad();
		this.i += m[0].length;
		if (m[2] === undefined && m[3] === undefined) {
			const v = BigInt(m[0]);
			if (v > INT64_MAX || v < INT64_MIN) this.bad();
			return v;
		}
		const r = Number(m[0]);
		if (!Number.isFinite(r)) this.bad();
		return r;
	}
}

/**
 * Text (a string or UTF-8 bytes) to one JSON object (a Map), as pf_load:
 * more than `max` bytes is `too_large`; malformed JSON, invalid UTF-8, lone
 * surrogates, integers beyond 64 bits, nesting deeper than 2 048, anything
 * but one object with whitespace around it is `bad_json`; a member name twice
 * in any object `duplicate_key`.
 */
export function jsonLoad(text, max = FRAME_MAX) {
	let s = text;
	let n;
	if (text instanceof Uint8Array) {
		n = text.length;
		if (n > max) fail('too_large', 'input too large');
		try {
			s = utf8Strict.decode(text);
		} catch {
			return fail('bad_json', 'invalid UTF-8');
		}
	} else if (typeof text === 'string') {
		if (hasLoneSurrogate(text)) fail('bad_json', 'invalid UTF-8');
		n = utf8(text).length;
		if (n > max) fail('too_large', 'input too large');
	} else {
		return fail('bad_json', 'no input');
	}
	const p = new Parser(s);
	p.ws();
	if (s[p.i] !== '{' && s[p.i] !== '[') p.bad();
	const v = p.value();
	p.ws();
	if (p.i !== s.length) p.bad();
	if (!(v instanceof Map)) fail('bad_json', 'not a JSON object');
	return v;
}

function dumpString(s) {
	return JSON.stringify(s);
}

/**
 * Canonical JSON text of a value (Map or plain object, Array, string,
 * BigInt, boolean): compact, members sorted by name, non-ASCII as raw UTF-8.
 */
export function jsonDump(v) {
	if (typeof v === 'string') return dumpString(v);
	if (typeof v === 'bigint') return v.toString();
	if (typeof v === 'boolean') return v ? 'true' : 'false';
	if (Array.isArray(v)) return '[' + v.map(jsonDump).join(',') + ']';
	if (v instanceof Map || (v !== null && typeof v === 'object' && !(v instanceof Uint8Array))) {
		const entries = v instanceof Map ? [...v.entries()] : Object.entries(v);
		entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
		return '{' + entries.map(([k, x]) => dumpString(k) + ':' + jsonDump(x)).join(',') + '}';
	}
	return fail('bad_input', 'value not encodable as JSON');
}

/* ---- field tables ------------------------------------------------------------------ */

/*
 * A table is an array of fields {name, kind, key, required, min, max, names,
 * table}: `name` the JSON member, `key` the member of the decoded object.
 *   ID, TEXT     strings, min..max bytes (an optional one absent or non-empty)
 *   ENUM         one of `names`
 *   B64          base64 of exactly `max` bytes
 *   BYTES        base64 of min..max bytes
 *   TIME         protocol time, decoded to Unix seconds
 *   U32POS       integer 1..2^32-1 (Number)
 *   U64          integer min..2^63-1 (BigInt)
 *   BOOL         boolean
 *   IDLIST       array of at most `max` ids of 1..64 bytes
 *   OBJ          object of `table`
 *   OBJLIST      array of min..max objects of `table`
 */
export const K = Object.freeze({
	ID: 'id', TEXT: 'text', ENUM: 'enum', B64: 'b64', BYTES: 'bytes', TIME: 'time', U32POS: 'u32pos',
	U64: 'u64', BOOL: 'bool', IDLIST: 'idlist', OBJ: 'obj', OBJLIST: 'objlist',
});

/** A field of a table: field('sign_pk', K.B64, {max: 32}); key defaults to the camelCase name. */
export function field(name, kind, opts = {}) {
	const key = opts.key || name.replace(/_([a-z])/g, (_, c) => c.toUpperCase());
	return Object.freeze({ name, kind, key, required: opts.required !== false, min: opts.min ?? 0,
		max: opts.max ?? 0, names: opts.names, table: opts.table });
}

function frame(detail) {
	return fail('bad_frame', detail);
}

/* A JSON string's text, refusing anything else and embedded NULs. */
function getString(v) {
	if (typeof v !== 'string' || v.includes('\u0000')) frame('field must be a string');
	return v;
}

function decodeB64(s, min, max) {
	if (s.length % 4 !== 0) frame('bad base64 or wrong length');
	let n = (s.length / 4) * 3;
	if (s.endsWith('=')) n--;
	if (s.endsWith('==')) n--;
	if (n < min || n > max) frame('bad base64 or wrong length');
	try {
		return unb64(s, n);
	} catch (e) {
		if (e instanceof VarskoError) frame('bad base64 or wrong length');
		throw e;
	}
}

function decodeField(f, v) {
	switch (f.kind) {
	case K.ID:
	case K.TEXT: {
		const s = getString(v);
		if (f.kind === K.ID ? !validId(s, f.min, f.max) : !validText(s, f.min, f.max))
			frame('string empty, too long or with characters not allowed');
		if (!f.required && s.length === 0) frame('optional string present but empty');
		return s;
	}
	case K.ENUM: {
		const s = getString(v);
		if (!f.names.includes(s)) frame('value not allowed');
		return s;
	}
	case K.B64:
		return decodeB64(getString(v), f.max, f.max);
	case K.BYTES:
		return decodeB64(getString(v), f.min, f.max);
	case K.TIME: {
		const s = getString(v);
		try {
			return timeParse(s);
		} catch {
			return frame('time must be YYYY-MM-DDTHH:MM:SSZ');
		}
	}
	case K.U32POS:
		if (typeof v !== 'bigint') frame('field must be an integer');
		if (v < 1n || v > UINT32_MAX) frame('integer out of range');
		return Number(v);
	case K.U64:
		if (typeof v !== 'bigint') frame('field must be an integer');
		if (v < 0n || v < BigInt(f.min)) frame('integer out of range');
		return v;
	case K.BOOL:
		if (typeof v !== 'boolean') frame('field must be a boolean');
		return v;
	case K.IDLIST:
		if (!Array.isArray(v)) frame('field must be an array');
		if (v.length > f.max) frame('array too long');
		for (const s of v)
			if (typeof s !== 'string' || !validId(s, 1, ID_MAX)) frame('array item must be an id string');
		return [...v];
	case K.OBJ:
		if (!(v instanceof Map)) frame('field must be an object');
		return f.table ? schemaDecode(v, f.table) : v;
	case K.OBJLIST:
		if (!Array.isArray(v)) frame('field must be an array');
		if (v.length > f.max || v.length < f.min) frame(v.length > f.max ? 'array too long' : 'array too short');
		return v.map((e) => {
			if (!(e instanceof Map)) frame('array item must be an object');
			return f.table ? schemaDecode(e, f.table) : e;
		});
	default:
		return fail('internal', 'unknown field kind');
	}
}

/**
 * A loaded object (Map) to a plain object by `table`, as pf_decode: an
 * unknown member (not in the table nor in `extra`), a missing required one,
 * or a member of the wrong kind is `bad_frame`. Members named in `extra` are
 * left to the caller; absent optional ones are left out.
 */
export function schemaDecode(o, table, extra = []) {
	if (!(o instanceof Map)) frame('not a JSON object');
	for (const k of o.keys())
		if (!table.some((f) => f.name === k) && !extra.includes(k)) frame('unknown field');
	const out = {};
	for (const f of table) {
		if (!o.has(f.name)) {
			if (f.required) frame('missing field');
			continue;
		}
		out[f.key] = decodeField(f, o.get(f.name));
	}
	return out;
}

/* ---- encoding ------------------------------------------------------------------------- */

function input(detail) {
	return fail('bad_input', detail);
}

function toBig(v) {
	if (typeof v === 'bigint') return v;
	if (Number.isSafeInteger(v)) return BigInt(v);
	return input('integer expected');
}

function encodeField(f, v) {
	switch (f.kind) {
	case K.ID:
	case K.TEXT:
		if (!f.required && (v === undefined || v === '')) return undefined;
		if (f.kind === K.ID ? !validId(v, f.min, f.max) : !validText(v, f.min, f.max))
			input(`${f.name}: string empty, too long or with characters not allowed`);
		return v;
	case K.ENUM:
		if (!f.names.includes(v)) input(`${f.name}: value not allowed`);
		return v;
	case K.B64:
	case K.BYTES: {
		if (!f.required && (v === undefined || v === null)) return undefined;
		const lo = f.kind === K.B64 ? f.max : f.min;
		if (!(v instanceof Uint8Array) || v.length < lo || v.length > f.max) input(`${f.name}: bytes of a wrong length`);
		return b64(v);
	}
	case K.TIME:
		if (!Number.isInteger(v) || v < 0 || v > TIME_MAX) input(`${f.name}: time out of range`);
		return timeFormat(v);
	case K.U32POS: {
		const b = toBig(v);
		if (b < 1n || b > UINT32_MAX) input(`${f.name}: integer out of range`);
		return b;
	}
	case K.U64: {
		const b = toBig(v);
		if (b < BigInt(f.min) || b < 0n || b > INT64_MAX) input(`${f.name}: integer out of range`);
		return b;
	}
	case K.BOOL:
		if (!f.required && v === undefined) return undefined;
		if (typeof v !== 'boolean') input(`${f.name}: boolean expected`);
		return v;
	case K.IDLIST:
		if (!Array.isArray(v) || v.length > f.max) input(`${f.name}: array too long`);
		for (const s of v) if (!validId(s, 1, ID_MAX)) input(`${f.name}: array item must be an id string`);
		return [...v];
	case K.OBJ:
		return schemaEncode(v, f.table);
	case K.OBJLIST:
		if (!Array.isArray(v) || v.length > f.max || v.length < f.min) input(`${f.name}: array of a wrong length`);
		return v.map((e) => schemaEncode(e, f.table));
	default:
		return fail('internal', 'unknown field kind');
	}
}

/**
 * A plain object to a Map by `table`, validating as it goes (as pf_encode),
 * so nothing is written that schemaDecode would refuse: else `bad_input`.
 */
export function schemaEncode(obj, table) {
	if (obj === null || typeof obj !== 'object') input('object expected');
	const o = new Map();
	for (const f of table) {
		const v = encodeField(f, obj[f.key]);
		if (v !== undefined) o.set(f.name, v);
	}
	return o;
}

/** jsonLoad then schemaDecode. */
export function schemaDecodeText(text, max, table) {
	return schemaDecode(jsonLoad(text, max), table);
}

/** schemaEncode then jsonDump. */
export function schemaEncodeText(obj, table) {
	return jsonDump(schemaEncode(obj, table));
}
