// The one JSON schema engine of the web client's crypto module, mirroring
// proto/schema.c: a strict loader (PROTOCOL.md section 2, rules 1 and 2), the
// validators of rule 6, and the decoder and encoder that walk a field table.
// Envelopes, rosters, receipts, events and certificates are tables for it, so
// one object is held to the same rules wherever it travels.
//
// Everything here takes untrusted input: the size is capped before parsing,
// the text must be exactly one JSON object without duplicate keys, and every
// member must be named in the table with the JSON type and length it gives.
// Encoding walks the same tables and validates as it goes, so the encoder
// never writes what the decoder would refuse.
import { fail, utf8, fromUtf8, unb64, b64, timeParse, timeFormat, VarskoError } from './codec.js';

export const PROTO_ID_MAX = 64;
export const PROTO_FRAME_MAX = 65536;
const TIME_MAX = 253402300799;
const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);
const DEPTH_MAX = 2048;

/* ---- the strict loader ------------------------------------------------------ */

/** A JSON number with a fraction or an exponent: never an integer member. */
export class JsonReal {
	constructor(text) {
		this.text = text;
	}
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

/* No lone surrogate: the string is UTF-8 encodable (String.prototype.isWellFormed where the browser has it). */
function wellFormed(s) {
	return typeof s.isWellFormed === 'function' ? s.isWellFormed()
		: !/[\ud800-\udbff](?![\udc00-\udfff])|(?:^|[^\ud800-\udbff])[\udc00-\udfff]/.test(s);
}

function parseError(detail) {
	return fail('bad_json', detail);
}

class Parser {
	constructor(s) {
		this.s = s;
		this.i = 0;
	}

	ws() {
		while (this.i < this.s.length && WS.has(this.s.charCodeAt(this.i))) this.i++;
	}

	value(depth) {
		if (depth > DEPTH_MAX) parseError('nesting too deep');
		this.ws();
		const ch = this.s[this.i];
		if (ch === '{') return this.object(depth + 1);
		if (ch === '[') return this.array(depth + 1);
		if (ch === '"') return this.string(false);
		if (ch === '-' || (ch >= '0' && ch <= '9')) return this.number();
		for (const [lit, v] of [['true', true], ['false', false], ['null', null]])
			if (this.s.startsWith(lit, this.i)) {
				this.i += lit.length;
				return v;
			}
		return parseError('malformed JSON');
	}

	object(depth) {
		const o = Object.create(null);
		const seen = new Set();
		this.i++;
		this.ws();
		if (this.s[this.i] === '}') {
			this.i++;
			return o;
		}
		for (;;) {
			this.ws();
			if (this.s[this.i] !== '"') parseError('malformed JSON');
			const k = this.string(true);
			if (seen.has(k)) fail('duplicate_key', 'duplicate key');
			seen.add(k);
			this.ws();
			if (this.s[this.i++] !== ':') parseError('malformed JSON');
			o[k] = this.value(depth);
			this.ws();
			const c = this.s[this.i++];
			if (c === '}') return o;
			if (c !== ',') parseError('malformed JSON');
		}
	}

	array(depth) {
		const a = [];
		this.i++;
		this.ws();
		if (this.s[this.i] === ']') {
			this.i++;
			return a;
		}
		for (;;) {
			a.push(this.value(depth));
			this.ws();
			const c = this.s[this.i++];
			if (c === ']') return a;
			if (c !== ',') parseError('malformed JSON');
		}
	}

	hex4() {
		const h = this.s.slice(this.i, this.i + 4);
		if (!/^[0-9A-Fa-f]{4}$/.test(h)) parseError('bad escape');
		this.i += 4;
		return parseInt(h, 16);
	}

	/* A key may not hold U+0000 (bad_json); a value may, and the schema refuses it. */
	string(isKey) {
		this.i++;
		let out = '';
		let start = this.i;
		for (;;) {
			if (this.i >= this.s.length) parseError('unterminated string');
			const c = this.s.charCodeAt(this.i);
			if (c === 0x22) {
				out += this.s.slice(start, this.i);
				this.i++;
				return out;
			}
			if (c < 0x20) parseError('control character in string');
			if (c >= 0xd800 && c <= 0xdfff) parseError('invalid UTF-8');
			if (c !== 0x5c) {
				this.i++;
				continue;
			}
			out += this.s.slice(start, this.i);
			this.i++;
			const e = this.s[this.i++];
			const simple = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' }[e];
			if (simple !== undefined) out += simple;
			else if (e === 'u') {
				let u = this.hex4();
				if (u >= 0xdc00 && u <= 0xdfff) parseError('lone surrogate');
				if (u >= 0xd800 && u <= 0xdbff) {
					if (this.s[this.i] !== '\\' || this.s[this.i + 1] !== 'u') parseError('lone surrogate');
					this.i += 2;
					const lo = this.hex4();
					if (lo < 0xdc00 || lo > 0xdfff) parseError('lone surrogate');
					out += String.fromCharCode(u, lo);
				} else {
					if (u === 0 && isKey) parseError('NUL in a key');
					out += String.fromCharCode(u);
				}
			} else parseError('bad escape');
			start = this.i;
		}
	}

	number() {
		const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(this.s.slice(this.i, this.i + 4096));
		if (!m) parseError('malformed number');
		this.i += m[0].length;
		if (m[2] !== undefined || m[3] !== undefined) {
			if (!Number.isFinite(Number(m[0]))) parseError('real out of range');
			return new JsonReal(m[0]);
		}
		const v = BigInt(m[0]);
		if (v > INT64_MAX || v < INT64_MIN) parseError('integer out of range');
		return v;
	}
}

/**
 * Text (a string, or UTF-8 bytes) to its one JSON object. Integers come back
 * as BigInt, reals as JsonReal, objects without a prototype. `too_large` above
 * `max` bytes, `bad_json` (malformed, not an object, anything after it, lone
 * surrogates, integers beyond 64 bits, nesting deeper than 2 048),
 * `duplicate_key`.
 */
export function jsonLoad(text, max) {
	let s;
	let n;
	if (text instanceof Uint8Array) {
		n = text.length;
		if (max !== undefined && n > max) fail('too_large', 'input too large');
		try {
			s = fromUtf8(text);
		} catch {
			return parseError('invalid UTF-8');
		}
	} else if (typeof text === 'string') {
		if (max !== undefined && text.length > max) fail('too_large', 'input too large');
		if (!wellFormed(text)) parseError('invalid UTF-8');
		n = utf8(text).length;
		if (max !== undefined && n > max) fail('too_large', 'input too large');
		s = text;
	} else return parseError('no input');
	const p = new Parser(s);
	p.ws();
	if (p.s[p.i] !== '{') parseError('not a JSON object');
	const o = p.value(0);
	p.ws();
	if (p.i !== s.length) parseError('text after the object');
	return o;
}

/* ---- validators (PROTOCOL.md section 2, rule 6) --------------------------------- */

export function utf8Len(s) {
	return utf8(s).length;
}

/** An id: min..max bytes of visible ASCII (0x21..0x7e). */
export function validId(s, min = 1, max = PROTO_ID_MAX) {
	return typeof s === 'string' && s.length >= min && s.length <= max && /^[\x21-\x7e]*$/.test(s);
}

/** Text: well-formed UTF-8 of min..max bytes without C0, DEL or C1 controls. */
export function validText(s, min, max) {
	if (typeof s !== 'string' || !wellFormed(s) || /[\x00-\x1f\x7f-\x9f]/.test(s)) return false;
	const n = utf8Len(s);
	return n >= min && n <= max;
}

/** A reference: "U-" + 4 digits + "-" + at least 6 digits, at most max bytes. */
export function validRef(s, max = 16) {
	return typeof s === 'string' && s.length <= max && /^U-[0-9]{4}-[0-9]{6,}$/.test(s);
}

/* ---- field tables ----------------------------------------------------------------- */

/**
 * A field: { name, kind, required, min, max, sub, bad }. Kinds as schema.c:
 * id, text, ref, enum (sub: the names), b64 (exactly max bytes), bytes
 * (min..max bytes), time, version1, u32pos, u64 (min..INT64_MAX), bool,
 * idlist (0..max ids), obj (sub: a table, or null for any object, kept raw),
 * objlist (min..max objects of table sub, or raw when null).
 * Decoded: strings; Uint8Array; times as Unix seconds; integers as Number
 * when safe, else BigInt; booleans; arrays.
 */
export function F(name, kind, opts = {}) {
	return { name, kind, required: opts.required !== false, min: opts.min ?? 0, max: opts.max ?? 0,
		sub: opts.sub ?? null, bad: opts.bad };
}

function refuse(f, text) {
	return fail('bad_frame', `${f.name}: ${f.bad || text}`);
}

function isObject(v) {
	return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof JsonReal) &&
		!(v instanceof Uint8Array);
}

function intOut(v) {
	return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function hasNul(s) {
	return s.includes('\0');
}

function decodeField(f, v) {
	const stringKinds = ['id', 'text', 'ref', 'enum', 'b64', 'bytes', 'time'];
	if (stringKinds.includes(f.kind) && (typeof v !== 'string' || hasNul(v)))
		return refuse(f, f.kind === 'time' ? 'time must be YYYY-MM-DDTHH:MM:SSZ' : 'field must be a string');
	if (['version1', 'u32pos', 'u64'].includes(f.kind) && typeof v !== 'bigint')
		return refuse(f, 'field must be an integer');
	switch (f.kind) {
	case 'id':
	case 'text':
		if (f.kind === 'id' ? !validId(v, f.min, f.max) : !validText(v, f.min, f.max))
			return refuse(f, 'string empty, too long or with characters not allowed');
		if (!f.required && v.length === 0) return refuse(f, 'optional string present but empty');
		return v;
	case 'ref':
		if (!validRef(v, f.max)) return refuse(f, 'reference malformed');
		return v;
	case 'enum':
		if (!f.sub.includes(v)) return refuse(f, 'value not allowed');
		return v;
	case 'b64':
	case 'bytes':
		try {
			const b = unb64(v);
			if (f.kind === 'b64' ? b.length !== f.max : b.length < f.min || b.length > f.max) throw new Error();
			return b;
		} catch {
			return refuse(f, 'bad base64 or wrong length');
		}
	case 'time':
		try {
			return timeParse(v);
		} catch {
			return refuse(f, 'time must be YYYY-MM-DDTHH:MM:SSZ');
		}
	case 'version1':
	case 'u32pos':
		if (f.kind === 'version1' && v !== 1n) return refuse(f, 'unsupported version');
		if (v < 1n || v > 0xffffffffn) return refuse(f, 'integer out of range');
		return Number(v);
	case 'u64':
		if (v < 0n || v < BigInt(f.min)) return refuse(f, 'integer out of range');
		return intOut(v);
	case 'bool':
		if (typeof v !== 'boolean') return refuse(f, 'field must be a boolean');
		return v;
	case 'idlist':
		if (!Array.isArray(v)) return refuse(f, 'field must be an array');
		if (v.length > f.max) return refuse(f, 'array too long');
		for (const s of v)
			if (typeof s !== 'string' || hasNul(s) || !validId(s)) return refuse(f, 'array item must be an id string');
		return v.slice();
	case 'obj':
		if (!isObject(v)) return refuse(f, 'field must be an object');
		return f.sub ? pfDecode(v, f.sub) : v;
	case 'objlist':
		if (!Array.isArray(v)) return refuse(f, 'field must be an array');
		if (v.length > f.max || v.length < f.min) return refuse(f, v.length > f.max ? 'array too long' : 'array too short');
		return v.map((e) => {
			if (!isObject(e)) refuse(f, 'array item must be an object');
			return f.sub ? pfDecode(e, f.sub) : e;
		});
	}
	return fail('internal', 'unknown field kind');
}

/**
 * A loaded object against a table (plus the names in `extra`, left alone):
 * every member known, every required one present, each of its kind.
 * Returns a plain object of the decoded values; absent optional members are
 * absent. `bad_frame` otherwise.
 */
export function pfDecode(o, table, extra = []) {
	if (!isObject(o)) fail('bad_frame', 'not a JSON object');
	for (const k of Object.keys(o))
		if (!table.some((f) => f.name === k) && !extra.includes(k)) fail('bad_frame', `unknown field ${JSON.stringify(k)}`);
	const out = {};
	for (const f of table) {
		if (!(f.name in o)) {
			if (f.required) fail('bad_frame', `missing field ${f.name}`);
			continue;
		}
		out[f.name] = decodeField(f, o[f.name]);
	}
	return out;
}

function encodeField(f, v) {
	const bad = (text) => fail('bad_frame', `${f.name}: ${text}`);
	switch (f.kind) {
	case 'id':
	case 'text':
	case 'ref':
		if (typeof v !== 'string') return bad('not a string');
		if (!f.required && v.length === 0) return undefined;
		if (f.kind === 'id' ? !validId(v, f.min, f.max) : f.kind === 'ref' ? !validRef(v, f.max) : !validText(v, f.min, f.max))
			return bad('string empty, too long or with characters not allowed');
		return v;
	case 'enum':
		if (!f.sub.includes(v)) return bad('value not allowed');
		return v;
	case 'b64':
		if (!(v instanceof Uint8Array) || v.length !== f.max) return bad('bytes of a wrong length');
		return b64(v);
	case 'bytes':
		if (!(v instanceof Uint8Array) || v.length < f.min || v.length > f.max) return bad('byte string of a wrong length');
		return b64(v);
	case 'time':
		if (!Number.isInteger(v) || v < 0 || v > TIME_MAX) return bad('time out of range');
		return timeFormat(v);
	case 'version1':
	case 'u32pos': {
		if (typeof v !== 'number' && typeof v !== 'bigint') return bad('not an integer');
		const b = BigInt(v);
		if (b < 1n || b > 0xffffffffn || (f.kind === 'version1' && b !== 1n))
			return bad(f.kind === 'version1' ? 'unsupported version' : 'integer out of range');
		return b;
	}
	case 'u64': {
		if ((typeof v !== 'number' || !Number.isInteger(v)) && typeof v !== 'bigint') return bad('not an integer');
		const b = BigInt(v);
		if (b < BigInt(f.min) || b > INT64_MAX) return bad('integer out of range');
		return b;
	}
	case 'bool':
		if (v === undefined && !f.required) return undefined;
		if (typeof v !== 'boolean') return bad('not a boolean');
		return v;
	case 'idlist':
		if (!Array.isArray(v) || v.length > f.max) return bad('array too long');
		for (const s of v) if (!validId(s)) return bad('array item must be an id string');
		return v.slice();
	case 'obj':
		if (!f.sub) return isObject(v) ? v : bad('not an object');
		return pfEncode(v, f.sub);
	case 'objlist':
		if (!Array.isArray(v) || v.length > f.max || v.length < f.min) return bad('array of a wrong length');
		return v.map((e) => (f.sub ? pfEncode(e, f.sub) : isObject(e) ? e : bad('not an object')));
	}
	return fail('internal', 'unknown field kind');
}

/** A value to its JSON tree by a table; `bad_frame` for what the decoder would refuse. */
export function pfEncode(value, table) {
	if (value === null || typeof value !== 'object') fail('bad_frame', 'not an object');
	const o = Object.create(null);
	for (const f of table) {
		const v = value[f.name];
		if (v === undefined) {
			if (f.required) fail('bad_frame', `missing field ${f.name}`);
			continue;
		}
		const j = encodeField(f, v);
		if (j !== undefined) o[f.name] = j;
	}
	return o;
}

/* ---- canonical text ---------------------------------------------------------------- */

function cmpBytes(a, b) {
	const x = utf8(a), y = utf8(b);
	for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
	return x.length - y.length;
}

/**
 * A JSON tree in canonical form (section 2): compact, members sorted by name
 * bytewise, raw UTF-8. BigInt and safe integer Numbers are integers;
 * JsonReal keeps its text.
 */
export function jsonCanonical(v) {
	if (v === null) return 'null';
	if (typeof v === 'boolean') return v ? 'true' : 'false';
	if (typeof v === 'bigint') return v.toString();
	if (typeof v === 'number') {
		if (!Number.isSafeInteger(v)) fail('bad_input', 'number is not a safe integer');
		return String(v);
	}
	if (typeof v === 'string') return JSON.stringify(v);
	if (v instanceof JsonReal) return v.text;
	if (Array.isArray(v)) return '[' + v.map(jsonCanonical).join(',') + ']';
	if (typeof v === 'object') {
		const keys = Object.keys(v).filter((k) => v[k] !== undefined).sort(cmpBytes);
		return '{' + keys.map((k) => JSON.stringify(k) + ':' + jsonCanonical(v[k])).join(',') + '}';
	}
	return fail('bad_input', 'not a JSON value');
}

/** Strict text to a decoded value by a table (load, then decode). */
export function pfDecodeText(text, max, table) {
	return pfDecode(jsonLoad(text, max), table);
}

/** A value to canonical JSON text by a table; `bad_input` when it would not parse back. */
export function pfEncodeText(value, table) {
	try {
		return jsonCanonical(pfEncode(value, table));
	} catch (e) {
		if (e instanceof VarskoError && e.code === 'bad_frame') fail('bad_input', e.message);
		throw e;
	}
}
