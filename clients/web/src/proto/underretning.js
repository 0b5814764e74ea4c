// The underretning document (PROTOCOL.md 11.3) and its routing header (11.4)
// for the web client, mirroring proto/underretning.c function by function:
// uh_parse_all -> uhParseAll, uh_parse -> uhParse, uh_cpr_birth_date ->
// uhCprBirthDate, uh_age_group -> uhAgeGroup, uh_header_derive ->
// uhHeaderDerive. The document is end-to-end encrypted, so nobody between the
// browser and the authority's agent checks it: the agent (C) refuses what
// these rules let through. The C code is the reference for every rule, limit
// and problem order here; proto/vectors/documents.json is made by running it
// (documents-gen.py) and tests/web/vectors/documents.mjs holds this file to it.
//
// No DOM: runs in Node and the browser. The document is personal data: a
// problem names a kind and a JSON path built from this file's own key names,
// array indexes and an unknown key's own name (as C shows it), never a value.
//
// JSON is read by schema.js's jsonLoad (pf_load's rules), never JSON.parse:
// JSON.parse keeps the last of two duplicate keys, reorders integer-like keys
// and cannot tell 1 from 1.0; jansson refuses the first and keeps the others
// apart. The age group and the header's JSON form are crypto/underretning.js's
// (uh_age_group, uh_header_to_json), so each rule is written once.
import { fail, utf8, VarskoError } from '../crypto/codec.js';
import { jsonLoad, validId } from '../crypto/schema.js';
import { UH_AGE_GROUPS, uhAgeGroup as ageGroupOn, uhHeaderToJson } from '../crypto/underretning.js';

export { UH_AGE_GROUPS };

/* ---- limits: proto/underretning.h, proto.h, calendar.h ------------------------- */

export const PROTO_ID_MAX = 64;
export const UH_DOC_MAX = 512 * 1024; /* JSON text, bytes */
export const UH_TEXT_MAX = 16000; /* concern, observations, ... (bytes) */
export const UH_NAME_MAX = 128; /* PROTO_NAME_MAX */
export const UH_ADDRESS_MAX = 256;
export const UH_PHONE_MAX = 32; /* digits, spaces, '+', '-', '(', ')' */
export const UH_PHONE_DIGITS_MIN = 3;
export const UH_SHORT_MAX = 128; /* role, relation, language */
export const UH_CPR_LEN = 11; /* "DDMMYY-SSSS" */
export const UH_DATE_LEN = 10; /* "YYYY-MM-DD" */
export const UH_BIRTH_YEAR_MIN = 1800;
export const UH_PARENTS_MAX = 4;
export const UH_ATTACH_MAX = 16;
export const UH_ATTACH_ID_MAX = PROTO_ID_MAX;
export const UH_ATTACH_NAME_MAX = 255;
export const UH_MEDIA_TYPE_MIN = 3;
export const UH_MEDIA_TYPE_MAX = 127;
export const UH_ATTACH_SIZE_MAX = 25 * 1024 * 1024;
export const UH_ATTACH_KEY_LEN = 32; /* key and sha256, b64(32) */
export const UH_PATH_MAX = 64; /* with C's NUL: paths are at most 63 bytes */
export const UH_KEY_SHOWN_MAX = 32; /* an unknown key is shown cut at 32 bytes */
export const UH_PROBLEMS_MAX = 32; /* what C callers keep; uhParseAll returns all */
export const CAL_YEAR_MIN = 1996; /* the Copenhagen rule's years (calendar.h) */
export const CAL_YEAR_MAX = 2099;
export const CAL_OFFSET_CET = 3600; /* seconds east of UTC in winter */
export const CAL_OFFSET_CEST = 7200; /* and in summer */
const CAL_DST_UTC_HOUR = 3600; /* the clocks change at 01:00 UTC on the last Sundays of March and October */

/* The problem names of uh_problem_name(). */
export const UH_PROBLEM = Object.freeze({
	JSON: 'bad_json',
	MISSING: 'missing',
	WRONG_TYPE: 'wrong_type',
	TOO_LONG: 'too_long',
	BAD_VALUE: 'bad_value',
	UNKNOWN_FIELD: 'unknown_field',
	NOT_ALLOWED: 'not_allowed',
});

/* The keys of each object, in the document's order. */
const KEYS_DOC = ['institution', 'child', 'parents', 'interpreter', 'notifier', 'concern', 'observations', 'wellbeing',
	'help_tried', 'parents_contacted', 'akut', 'handicap', 'attachments'];
const KEYS_CHILD = ['name', 'cpr', 'birth_date', 'address'];
const KEYS_PARENT = ['name', 'address', 'phone', 'custody'];
const KEYS_INTERPRETER = ['needed', 'language'];
const KEYS_NOTIFIER = ['name', 'role', 'relation'];
const KEYS_CONTACTED = ['contacted', 'reaction', 'reason'];
const KEYS_ATTACHMENT = ['id', 'name', 'media_type', 'size', 'key', 'sha256'];

const SECS_PER_DAY = 86400;

const utf8Len = (s) => utf8(s).length;

/**
 * input (a string, or the UTF-8 bytes as a Uint8Array) as one JSON object (a
 * Map, members in text order): { root }, or { problem: 'too_long' } (above
 * UH_DOC_MAX bytes) or { problem: 'bad_json', duplicate } like pf_load_at().
 */
function load(input) {
	if (typeof input !== 'string' && !(input instanceof Uint8Array)) fail('bad_input', 'a document is a string or UTF-8 bytes');
	try {
		return { root: jsonLoad(input, UH_DOC_MAX) };
	} catch (e) {
		if (!(e instanceof VarskoError)) throw e;
		if (e.code === 'too_large') return { problem: UH_PROBLEM.TOO_LONG };
		if (e.code === 'bad_json' || e.code === 'duplicate_key') return { problem: UH_PROBLEM.JSON, duplicate: e.code === 'duplicate_key' };
		throw e;
	}
}

/* ---- values: proto/schema.c, utf8.c, util.c -------------------------------------- */

const isObj = (v) => v instanceof Map;
const isStr = (v) => typeof v === 'string';
const isBool = (v) => typeof v === 'boolean';

/** proto_utf8_valid(PROTO_UTF8_NO_CTRL [| LF_TAB]) of a well-formed string: no C0, DEL or C1. */
function noControls(s, lfTab) {
	for (let i = 0; i < s.length; i++) {
		const c = s.charCodeAt(i);
		if ((c < 0x20 || (c >= 0x7f && c <= 0x9f)) && !(lfTab && (c === 0x0a || c === 0x09))) return false;
	}
	return true;
}

function validPhone(s) {
	let digits = 0;
	for (let i = 0; i < s.length; i++) {
		const c = s[i];
		if (c >= '0' && c <= '9') digits++;
		else if (' +-()'.indexOf(c) < 0) return false;
	}
	return digits >= UH_PHONE_DIGITS_MIN;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** proto_b64_decode_exact(s, 32): 44 characters, one '=', zero unused bits; the bytes or null. */
function unb64_32(s) {
	if (!/^[A-Za-z0-9+/]{43}=$/.test(s) || (B64.indexOf(s[42]) & 3) !== 0) return null;
	const out = new Uint8Array(UH_ATTACH_KEY_LEN);
	let acc = 0;
	let bits = 0;
	let o = 0;
	for (let i = 0; i < 43; i++) {
		acc = (acc << 6) | B64.indexOf(s[i]);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (acc >> bits) & 0xff;
		}
	}
	return out;
}

function digitsOf(s, from, n) {
	let v = 0;
	for (let i = from; i < from + n; i++) {
		const c = s.charCodeAt(i) - 48;
		if (!(c >= 0 && c <= 9)) return -1;
		v = v * 10 + c;
	}
	return v;
}

const isLeap = (y) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;

/** cal_date_valid: a real date of years 1..9999. */
export function dateValid(y, m, d) {
	if (!Number.isInteger(y) || !Number.isInteger(m) || !Number.isInteger(d)) return false;
	if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1) return false;
	const len = [31, isLeap(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1];
	return d <= len;
}

/**
 * The birth date { year, month, day } of a CPR number, "DDMMYY-SSSS" or
 * "DDMMYYSSSS" (uh_cpr_birth_date): the century from the 7th digit, 0-3
 * 1900s; 4 and 9 2000s if YY <= 36, else 1900s; 5-8 2000s if YY <= 57, else
 * 1800s; no modulus 11 check. `bad_input` for anything else or an impossible date.
 */
export function uhCprBirthDate(cpr) {
	if (typeof cpr !== 'string') fail('bad_input', 'a CPR number is a string');
	let c;
	if (cpr.length === 11 && cpr[6] === '-') c = cpr.slice(0, 6) + cpr.slice(7);
	else if (cpr.length === 10) c = cpr;
	else fail('bad_input', 'a CPR number is DDMMYY-SSSS or DDMMYYSSSS');
	if (!/^[0-9]{10}$/.test(c)) fail('bad_input', 'a CPR number is DDMMYY-SSSS or DDMMYYSSSS');
	const dd = digitsOf(c, 0, 2);
	const mm = digitsOf(c, 2, 2);
	const yy = digitsOf(c, 4, 2);
	const d7 = digitsOf(c, 6, 1);
	let year;
	if (d7 <= 3) year = 1900 + yy;
	else if (d7 === 4 || d7 === 9) year = yy <= 36 ? 2000 + yy : 1900 + yy;
	else year = yy <= 57 ? 2000 + yy : 1800 + yy;
	if (!dateValid(year, mm, dd)) fail('bad_input', 'a CPR number names a real date');
	return { year, month: mm, day: dd };
}

/** Exactly "YYYY-MM-DD" of a real date of years 1..9999 (cal_parse_date), or null. */
function parseYmd(s) {
	if (s.length !== UH_DATE_LEN || s[4] !== '-' || s[7] !== '-') return null;
	const y = digitsOf(s, 0, 4);
	const m = digitsOf(s, 5, 2);
	const d = digitsOf(s, 8, 2);
	if (y < 0 || m < 0 || d < 0 || !dateValid(y, m, d)) return null;
	return { year: y, month: m, day: d };
}

/* A birth_date (parse_date): years UH_BIRTH_YEAR_MIN..9999. */
function parseDate(s) {
	const d = parseYmd(s);
	return d !== null && d.year >= UH_BIRTH_YEAR_MIN ? d : null;
}

const pad = (n, w) => String(n).padStart(w, '0');

/** "YYYY-MM-DD" of { year, month, day }. */
export function uhDateString(d) {
	return `${pad(d.year, 4)}-${pad(d.month, 2)}-${pad(d.day, 2)}`;
}

/* ---- Copenhagen (calendar.c: the EU rule, years CAL_YEAR_MIN..CAL_YEAR_MAX) ---- */

function civilFromDays(days) {
	const dt = new Date(days * SECS_PER_DAY * 1000);
	return { year: dt.getUTCFullYear(), month: dt.getUTCMonth() + 1, day: dt.getUTCDate() };
}

/* The day number of the last Sunday of month m of year y. */
function lastSunday(y, m) {
	const last = new Date(Date.UTC(y, m, 0)); /* day 0 of the next month */
	const days = Math.floor(last.getTime() / 1000 / SECS_PER_DAY);
	return days - last.getUTCDay(); /* getUTCDay: Sunday 0 */
}

/** Seconds east of UTC in Copenhagen at instant t (offset_at). */
function copenhagenOffset(t) {
	const y = new Date(Math.floor(t / SECS_PER_DAY) * SECS_PER_DAY * 1000).getUTCFullYear();
	const start = lastSunday(y, 3) * SECS_PER_DAY + CAL_DST_UTC_HOUR;
	const end = lastSunday(y, 10) * SECS_PER_DAY + CAL_DST_UTC_HOUR;
	return t >= start && t < end ? CAL_OFFSET_CEST : CAL_OFFSET_CET;
}

/**
 * The Copenhagen date { year, month, day } of instant t (Unix seconds), as
 * cal_to_local() gives it: `bad_input` when its local year is outside
 * CAL_YEAR_MIN..CAL_YEAR_MAX, for which the rule is not known to hold.
 */
export function uhCopenhagenDate(t) {
	if (!Number.isSafeInteger(t)) fail('bad_input', 'a time is whole Unix seconds');
	/* A day's margin each side for the offset; the local year decides. */
	if (t < Date.UTC(CAL_YEAR_MIN - 1, 11, 31) / 1000 || t > Date.UTC(CAL_YEAR_MAX + 1, 0, 2) / 1000)
		fail('bad_input', 'the time is outside 1996..2099 in Copenhagen');
	const local = t + copenhagenOffset(t);
	const d = civilFromDays(Math.floor(local / SECS_PER_DAY));
	if (d.year < CAL_YEAR_MIN || d.year > CAL_YEAR_MAX) fail('bad_input', 'the time is outside 1996..2099 in Copenhagen');
	return d;
}

function asDate(v, what) {
	if (typeof v === 'string') {
		const d = parseYmd(v);
		return d !== null ? d : fail('bad_input', `${what} is a real date YYYY-MM-DD`);
	}
	if (v === null || typeof v !== 'object') fail('bad_input', `${what} is a date`);
	return v;
}

/**
 * The age group of a child born on `birth` (uh_age_group), on `today`: a
 * { year, month, day } or "YYYY-MM-DD" local date, or a number, the Unix
 * seconds of `created`, whose Copenhagen date is taken. The age in whole years
 * (born 29 February: a year older on 1 March in other years): 0-5 "0-5", 6-13
 * "6-13", 14-17 "14-17", 18-22 "18-22". `bad_input` for an invalid date, a
 * birth after today or an age above 22.
 */
export function uhAgeGroup(birth, today) {
	const t = typeof today === 'number' ? uhCopenhagenDate(today) : asDate(today, 'today');
	return ageGroupOn(asDate(birth, 'the birth date'), t);
}

/* ---- the document (uh_parse_all) --------------------------------------------------- */

const TK_LINE = 0; /* one line of text */
const TK_MULTI = 1; /* line feeds and tabs allowed */
const TK_ID = 2; /* visible ASCII */
const TK_PHONE = 3; /* digits, space, + - ( ) */

/* path_cat: paths are ASCII (an unknown key is shown in [A-Za-z0-9_?.-]), cut at UH_PATH_MAX - 1. */
const cut = (p) => (p.length > UH_PATH_MAX - 1 ? p.slice(0, UH_PATH_MAX - 1) : p);
const join = (parent, key) => cut(parent === '' ? key : `${parent}.${key}`);
const joinIdx = (parent, i) => cut(`${parent}[${i}]`);

/* key_shown: the key's UTF-8 bytes outside [A-Za-z0-9_-] as '?', more than 32 bytes cut to 29 and "...". */
function keyShown(parent, key) {
	const b = utf8(key);
	let k = '';
	for (let i = 0; i < b.length && i < UH_KEY_SHOWN_MAX; i++) {
		const c = b[i];
		const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f ||
			c === 0x2d;
		k += ok ? String.fromCharCode(c) : '?';
	}
	if (b.length > UH_KEY_SHOWN_MAX) k = k.slice(0, UH_KEY_SHOWN_MAX - 3) + '...';
	return join(parent, k);
}

/* The problems found so far; each check returns true when it found none (C: VARSKO_OK). */
class Ctx {
	constructor() {
		this.problems = [];
	}
	fail(problem, path) {
		this.problems.push({ problem, path: cut(path) });
		return false;
	}
	/* only_keys: every key of o not in `keys`, in the order of the text. */
	onlyKeys(o, path, keys) {
		let ok = true;
		for (const k of o.keys()) if (!keys.includes(k)) ok = this.fail(UH_PROBLEM.UNKNOWN_FIELD, keyShown(path, k));
		return ok;
	}
	/* get_text: o[key] as a string of min..max bytes of kind tk, or its problem. set(s) receives it. */
	text(o, parent, key, min, max, tk, required, set) {
		const path = join(parent, key);
		const v = o.get(key);
		if (v === undefined) return required ? this.fail(UH_PROBLEM.MISSING, path) : true;
		if (!isStr(v)) return this.fail(UH_PROBLEM.WRONG_TYPE, path);
		const len = utf8Len(v);
		if (len > max) return this.fail(UH_PROBLEM.TOO_LONG, path);
		let ok;
		if (tk === TK_LINE) ok = len >= min && noControls(v, false);
		else if (tk === TK_MULTI) ok = len >= min && noControls(v, true);
		else if (tk === TK_ID) ok = validId(v, min, max);
		else ok = len >= min && validPhone(v);
		/* Text that is only blanks says nothing. */
		if (ok && min > 0) ok = /[^ \n\t]/.test(v);
		if (!ok) return this.fail(UH_PROBLEM.BAD_VALUE, path);
		set(v);
		return true;
	}
	bool(o, parent, key, set) {
		const path = join(parent, key);
		const v = o.get(key);
		if (v === undefined) return this.fail(UH_PROBLEM.MISSING, path);
		if (!isBool(v)) return this.fail(UH_PROBLEM.WRONG_TYPE, path);
		set(v);
		return true;
	}
	/* get_obj: root[key] as an object, or null after its problem. */
	obj(root, key) {
		const v = root.get(key);
		if (v === undefined || !isObj(v)) {
			this.fail(v === undefined ? UH_PROBLEM.MISSING : UH_PROBLEM.WRONG_TYPE, key);
			return null;
		}
		return v;
	}
	b64(o, parent, key, set) {
		const path = join(parent, key);
		const v = o.get(key);
		if (v === undefined) return this.fail(UH_PROBLEM.MISSING, path);
		if (!isStr(v)) return this.fail(UH_PROBLEM.WRONG_TYPE, path);
		const b = unb64_32(v);
		if (b === null) return this.fail(UH_PROBLEM.BAD_VALUE, path);
		set(b);
		return true;
	}
}

function parseChild(c, root, d) {
	const o = c.obj(root, 'child');
	if (o === null) return false;
	const path = 'child';
	let ok = c.onlyKeys(o, path, KEYS_CHILD);
	ok = c.text(o, path, 'name', 1, UH_NAME_MAX, TK_LINE, true, (v) => (d.child.name = v)) && ok;
	ok = childBirth(c, o, path, d) && ok;
	return c.text(o, path, 'address', 1, UH_ADDRESS_MAX, TK_LINE, true, (v) => (d.child.address = v)) && ok;
}

/* The child's cpr or birth_date (exactly one of them). */
function childBirth(c, o, path, d) {
	const cpr = o.get('cpr');
	const bd = o.get('birth_date');
	if (cpr !== undefined && bd !== undefined) return c.fail(UH_PROBLEM.NOT_ALLOWED, join(path, 'birth_date'));
	if (cpr === undefined && bd === undefined) return c.fail(UH_PROBLEM.MISSING, join(path, 'cpr'));
	if (cpr !== undefined) {
		const fp = join(path, 'cpr');
		if (!isStr(cpr)) return c.fail(UH_PROBLEM.WRONG_TYPE, fp);
		if (utf8Len(cpr) > UH_CPR_LEN) return c.fail(UH_PROBLEM.TOO_LONG, fp);
		let birth;
		try {
			birth = uhCprBirthDate(cpr);
		} catch (e) {
			if (!(e instanceof VarskoError)) throw e;
			return c.fail(UH_PROBLEM.BAD_VALUE, fp);
		}
		d.child.birth = birth;
		d.child.cpr = `${cpr.slice(0, 6)}-${cpr.slice(cpr.length === 11 ? 7 : 6)}`;
		return true;
	}
	const fp = join(path, 'birth_date');
	if (!isStr(bd)) return c.fail(UH_PROBLEM.WRONG_TYPE, fp);
	if (utf8Len(bd) > UH_DATE_LEN) return c.fail(UH_PROBLEM.TOO_LONG, fp);
	const birth = parseDate(bd);
	if (birth === null) return c.fail(UH_PROBLEM.BAD_VALUE, fp);
	d.child.birth = birth;
	return true;
}

function parseParents(c, root, d) {
	const a = root.get('parents');
	if (a === undefined) return c.fail(UH_PROBLEM.MISSING, 'parents');
	if (!Array.isArray(a)) return c.fail(UH_PROBLEM.WRONG_TYPE, 'parents');
	if (a.length > UH_PARENTS_MAX) return c.fail(UH_PROBLEM.TOO_LONG, 'parents');
	let ok = true;
	a.forEach((p, i) => {
		const path = joinIdx('parents', i);
		const pp = { name: '', address: '', phone: '', custody: false };
		d.parents.push(pp);
		if (!isObj(p)) {
			ok = c.fail(UH_PROBLEM.WRONG_TYPE, path);
			return;
		}
		ok = c.onlyKeys(p, path, KEYS_PARENT) && ok;
		ok = c.text(p, path, 'name', 1, UH_NAME_MAX, TK_LINE, true, (v) => (pp.name = v)) && ok;
		ok = c.text(p, path, 'address', 1, UH_ADDRESS_MAX, TK_LINE, false, (v) => (pp.address = v)) && ok;
		ok = c.text(p, path, 'phone', 1, UH_PHONE_MAX, TK_PHONE, false, (v) => (pp.phone = v)) && ok;
		ok = c.bool(p, path, 'custody', (v) => (pp.custody = v)) && ok;
	});
	return ok;
}

function parseInterpreter(c, root, d) {
	const o = c.obj(root, 'interpreter');
	if (o === null) return false;
	const path = 'interpreter';
	let ok = c.onlyKeys(o, path, KEYS_INTERPRETER);
	/* Whether a language belongs depends on needed: without a usable needed, it is not checked. */
	ok = c.bool(o, path, 'needed', (v) => (d.interpreter.needed = v)) && ok;
	if (!isBool(o.get('needed'))) return false;
	if (!d.interpreter.needed)
		return (o.has('language') ? c.fail(UH_PROBLEM.NOT_ALLOWED, join(path, 'language')) : true) && ok;
	return c.text(o, path, 'language', 1, UH_SHORT_MAX, TK_LINE, true, (v) => (d.interpreter.language = v)) && ok;
}

function parseNotifier(c, root, d) {
	const o = c.obj(root, 'notifier');
	if (o === null) return false;
	const path = 'notifier';
	let ok = c.onlyKeys(o, path, KEYS_NOTIFIER);
	ok = c.text(o, path, 'name', 1, UH_NAME_MAX, TK_LINE, true, (v) => (d.notifier.name = v)) && ok;
	ok = c.text(o, path, 'role', 1, UH_SHORT_MAX, TK_LINE, true, (v) => (d.notifier.role = v)) && ok;
	return c.text(o, path, 'relation', 1, UH_SHORT_MAX, TK_LINE, true, (v) => (d.notifier.relation = v)) && ok;
}

function parseContacted(c, root, d) {
	const o = c.obj(root, 'parents_contacted');
	if (o === null) return false;
	const path = 'parents_contacted';
	const pc = d.parents_contacted;
	let ok = c.onlyKeys(o, path, KEYS_CONTACTED);
	/* Which text belongs depends on contacted: without a usable contacted, neither is checked. */
	ok = c.bool(o, path, 'contacted', (v) => (pc.contacted = v)) && ok;
	if (!isBool(o.get('contacted'))) return false;
	const [wanted, other] = pc.contacted ? ['reaction', 'reason'] : ['reason', 'reaction'];
	if (o.has(other)) ok = c.fail(UH_PROBLEM.NOT_ALLOWED, join(path, other));
	return c.text(o, path, wanted, 1, UH_TEXT_MAX, TK_MULTI, true, (v) => (pc[wanted] = v)) && ok;
}

function parseAttachments(c, root, d) {
	const a = root.get('attachments');
	if (a === undefined) return true;
	if (!Array.isArray(a)) return c.fail(UH_PROBLEM.WRONG_TYPE, 'attachments');
	if (a.length > UH_ATTACH_MAX) return c.fail(UH_PROBLEM.TOO_LONG, 'attachments');
	/* The id each attachment got as far as (C keeps it in the struct even when a later field fails). */
	const ids = [];
	let ok = true;
	a.forEach((o, i) => {
		ok = parseAttachment(c, o, joinIdx('attachments', i), d, ids) && ok;
	});
	return ok;
}

/* Attachment at path: its first problem only, then the duplicate id check against the ones before. */
function parseAttachment(c, o, path, d, ids) {
	const at = { id: '', name: '', media_type: '', size: 0, key: null, sha256: null };
	ids.push('');
	const i = ids.length - 1;
	if (!isObj(o)) return c.fail(UH_PROBLEM.WRONG_TYPE, path);
	if (!c.onlyKeys(o, path, KEYS_ATTACHMENT) ||
		!c.text(o, path, 'id', 1, UH_ATTACH_ID_MAX, TK_ID, true, (v) => (at.id = ids[i] = v)) ||
		!c.text(o, path, 'name', 1, UH_ATTACH_NAME_MAX, TK_LINE, true, (v) => (at.name = v)) ||
		!c.text(o, path, 'media_type', UH_MEDIA_TYPE_MIN, UH_MEDIA_TYPE_MAX, TK_ID, true, (v) => (at.media_type = v)))
		return false;
	if (!at.media_type.includes('/')) return c.fail(UH_PROBLEM.BAD_VALUE, join(path, 'media_type'));
	const fp = join(path, 'size');
	const sz = o.get('size');
	if (sz === undefined) return c.fail(UH_PROBLEM.MISSING, fp);
	if (typeof sz !== 'bigint') return c.fail(UH_PROBLEM.WRONG_TYPE, fp); /* a JSON integer; a real is a Number */
	if (sz > BigInt(UH_ATTACH_SIZE_MAX)) return c.fail(UH_PROBLEM.TOO_LONG, fp);
	if (sz < 1n) return c.fail(UH_PROBLEM.BAD_VALUE, fp);
	at.size = Number(sz);
	if (!c.b64(o, path, 'key', (v) => (at.key = v)) || !c.b64(o, path, 'sha256', (v) => (at.sha256 = v))) return false;
	if (ids.slice(0, i).includes(at.id)) return c.fail(UH_PROBLEM.BAD_VALUE, join(path, 'id'));
	d.attachments.push(at);
	return true;
}

function emptyDoc() {
	return {
		institution: '',
		child: { name: '', cpr: '', birth: null, address: '' },
		parents: [],
		interpreter: { needed: false, language: '' },
		notifier: { name: '', role: '', relation: '' },
		concern: '',
		observations: '',
		wellbeing: '',
		help_tried: '',
		parents_contacted: { contacted: false, reaction: '', reason: '' },
		akut: false,
		handicap: false,
		attachments: [],
	};
}

/**
 * Parse and check a document (uh_parse_all): `input` is its JSON text, a
 * string or UTF-8 bytes. Every field is checked (a field whose parent is
 * missing or of the wrong type is not), and every problem is returned
 * { problem, path } in C's order, all of them (C callers keep the first
 * UH_PROBLEMS_MAX). Returns { doc, problems, code }: doc is null unless there is
 * no problem; code is null, or the wire error C returns: `too_large`,
 * `bad_json`, `duplicate_key` or `bad_frame`.
 *
 * doc mirrors struct uh_doc: child.cpr is "DDMMYY-SSSS" ("" with birth_date),
 * child.birth { year, month, day }; a parent's address and phone are "" when
 * absent; interpreter.language, parents_contacted.reaction/reason "" when they
 * do not belong; attachments is [] when absent, each key and sha256 32 bytes.
 */
export function uhParseAll(input) {
	const l = load(input);
	if (l.root === undefined) {
		const code = l.problem === UH_PROBLEM.TOO_LONG ? 'too_large' : l.duplicate ? 'duplicate_key' : 'bad_json';
		return { doc: null, problems: [{ problem: l.problem, path: '' }], code };
	}
	if (!isObj(l.root)) return { doc: null, problems: [{ problem: UH_PROBLEM.JSON, path: '' }], code: 'bad_json' };
	const o = l.root;
	const c = new Ctx();
	const d = emptyDoc();
	/* Each field on its own, so that every problem is reported, not only the first. */
	c.onlyKeys(o, '', KEYS_DOC);
	c.text(o, '', 'institution', 1, PROTO_ID_MAX, TK_ID, true, (v) => (d.institution = v));
	parseChild(c, o, d);
	parseParents(c, o, d);
	parseInterpreter(c, o, d);
	parseNotifier(c, o, d);
	for (const k of ['concern', 'observations', 'wellbeing', 'help_tried'])
		c.text(o, '', k, 1, UH_TEXT_MAX, TK_MULTI, true, (v) => (d[k] = v));
	parseContacted(c, o, d);
	c.bool(o, '', 'akut', (v) => (d.akut = v));
	c.bool(o, '', 'handicap', (v) => (d.handicap = v));
	parseAttachments(c, o, d);
	if (c.problems.length > 0) return { doc: null, problems: c.problems, code: 'bad_frame' };
	return { doc: d, problems: [], code: null };
}

/**
 * uhParseAll() that throws its first problem (uh_parse): a VarskoError whose
 * code is `too_large`, `bad_json`, `duplicate_key` or `bad_frame`, with
 * `problem` and `path` (never a value). Returns the doc.
 */
export function uhParse(input) {
	const r = uhParseAll(input);
	if (r.doc === null) {
		const p = r.problems[0];
		const e = new VarskoError(r.code, `${p.problem}${p.path ? ' at ' + p.path : ''}`);
		e.problem = p.problem;
		e.path = p.path;
		throw e;
	}
	return r.doc;
}

/* ---- the routing header (uh_header_derive) ------------------------------------------- */

/**
 * The routing header of a parsed document (uh_header_derive) in the JSON form
 * of PROTOCOL.md 11.4, keys sorted: { age_group, akut, created:
 * "YYYY-MM-DDTHH:MM:SSZ", handicap, institution, submission }. The age group
 * is taken on the Copenhagen date of `created` (Unix seconds); `submission` is
 * the client's idempotency id, 1..64 visible ASCII. `bad_input` for a child
 * older than 22 or born after that date, a bad submission id, or a time
 * outside the Copenhagen calendar's years (1996..2099).
 */
export function uhHeaderDerive(doc, submission, created) {
	if (doc === null || typeof doc !== 'object' || !doc.child || !doc.child.birth) fail('bad_input', 'no document');
	if (typeof submission !== 'string' || !validId(submission, 1, PROTO_ID_MAX))
		fail('bad_input', 'a submission id is 1 to 64 visible ASCII characters');
	if (!Number.isSafeInteger(created)) fail('bad_input', 'created is whole Unix seconds');
	const h = { institution: doc.institution, ageGroup: uhAgeGroup(doc.child.birth, created), akut: doc.akut === true,
		handicap: doc.handicap === true, submission, created };
	/* uhHeaderToJson checks every field (uhHeaderValid) and writes the one JSON form. */
	return JSON.parse(uhHeaderToJson(h));
}
