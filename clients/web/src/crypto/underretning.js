// The routing header of an underretning, PROTOCOL.md 11.4, mirroring the
// uh_header_* and uh_age_group parts of proto/underretning.c: the only
// cleartext about an underretning, the routing bytes of its envelope and,
// as JSON, the `header` of the `route` request.
//
// A header is { institution, ageGroup, akut: boolean, handicap: boolean,
// submission, created } (created in Unix seconds). One validity check runs
// before anything is encoded and on everything decoded.
import { fail, Fields, FieldReader, VarskoError } from './codec.js';
import { K, field, ID_MAX, TIME_MAX, INT64_MAX, FRAME_MAX, validId, jsonLoad, schemaDecode, schemaEncodeText } from './schema.js';

const TAG_ROUTING = 'varsko-routing-v1';
const ROUTING_VERSION = 1n;

/** The age groups of 11.4. */
export const UH_AGE_GROUPS = Object.freeze(['0-5', '6-13', '14-17', '18-22']);

function dateValid(d) {
	if (!d || !Number.isInteger(d.year) || !Number.isInteger(d.month) || !Number.isInteger(d.day)) return false;
	if (d.year < 1 || d.year > 9999 || d.month < 1 || d.month > 12 || d.day < 1) return false;
	const leap = d.year % 4 === 0 && (d.year % 100 !== 0 || d.year % 400 === 0);
	const len = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][d.month - 1];
	return d.day <= len;
}

/**
 * The age group of a child born on `birth` at the local (Copenhagen) date
 * `today`, both { year, month, day }: the age in whole years (born 29
 * February: a year older on 1 March in other years). `bad_input` for an
 * invalid date, a birth after today or an age above 22.
 */
export function uhAgeGroup(birth, today) {
	if (!dateValid(birth) || !dateValid(today)) fail('bad_input', 'invalid date');
	let age = today.year - birth.year;
	if (today.month < birth.month || (today.month === birth.month && today.day < birth.day)) age--;
	if (age < 0 || age > 22) fail('bad_input', 'age outside the groups');
	return age <= 5 ? '0-5' : age <= 13 ? '6-13' : age <= 17 ? '14-17' : '18-22';
}

/** True when every field of the header h is valid. */
export function uhHeaderValid(h) {
	return !!h && validId(h.institution, 1, ID_MAX) && UH_AGE_GROUPS.includes(h.ageGroup) &&
		typeof h.akut === 'boolean' && typeof h.handicap === 'boolean' && validId(h.submission, 1, ID_MAX) &&
		Number.isInteger(h.created) && h.created >= 0 && h.created <= TIME_MAX;
}

/** enc("varsko-routing-v1", 1, institution, age_group, akut, handicap, submission, i64 created); `bad_input`. */
export function uhHeaderEncode(h) {
	if (!uhHeaderValid(h)) fail('bad_input', 'routing header');
	return new Fields(TAG_ROUTING).int(ROUTING_VERSION).str(h.institution).str(h.ageGroup).int(h.akut ? 1 : 0)
		.int(h.handicap ? 1 : 0).str(h.submission).int(h.created).done();
}

/** The inverse, for routing bytes from the wire: exactly that field list, each valid. `bad_input` otherwise. */
export function uhHeaderDecode(bytes) {
	try {
		const rd = new FieldReader(bytes);
		if (rd.str(TAG_ROUTING.length) !== TAG_ROUTING || rd.u64() !== ROUTING_VERSION) fail('bad_input');
		const institution = rd.str(ID_MAX);
		const ageGroup = rd.str(5);
		const akut = rd.u64();
		const handicap = rd.u64();
		const submission = rd.str(ID_MAX);
		const created = rd.u64();
		rd.end();
		if (akut > 1n || handicap > 1n || created > INT64_MAX) fail('bad_input');
		const h = { institution, ageGroup, akut: akut === 1n, handicap: handicap === 1n, submission,
			created: created > BigInt(TIME_MAX) ? -1 : Number(created) };
		if (!uhHeaderValid(h)) fail('bad_input');
		return h;
	} catch (e) {
		if (e instanceof VarskoError) fail('bad_input', 'routing header bytes');
		throw e;
	}
}

/* uhHeaderValid adds the age groups. */
const headerTable = [
	field('age_group', K.ID, { min: 1, max: 5 }),
	field('akut', K.BOOL),
	field('created', K.TIME),
	field('handicap', K.BOOL),
	field('institution', K.ID, { min: 1, max: ID_MAX }),
	field('submission', K.ID, { min: 1, max: ID_MAX }),
];

/** The JSON form (the `route` request's header); `bad_input` for an invalid header. */
export function uhHeaderToJson(h) {
	if (!uhHeaderValid(h)) fail('bad_input', 'routing header');
	return schemaEncodeText(h, headerTable);
}

/** Strict parse (text, bytes or a loaded object): `too_large`, `bad_json`, `duplicate_key`, `bad_frame`. */
export function uhHeaderFromJson(input) {
	const o = typeof input === 'string' || input instanceof Uint8Array ? jsonLoad(input, FRAME_MAX) : input;
	const h = schemaDecode(o, headerTable);
	if (!uhHeaderValid(h)) fail('bad_frame', 'routing header');
	return h;
}
