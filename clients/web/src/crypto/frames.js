// The frames of the handshake, PROTOCOL.md sections 2 and 4, mirroring
// proto/codec.c: one strict decoder for what the client receives (hello,
// enrolled, confirmed, session, pong, error) and one encoder for what it
// sends (enroll, enroll_confirm, login, whoami, ping), both walking the same
// tables, so the client never sends a frame the server's decoder would
// refuse, and encode(decode(x)) is the canonical form.
//
// A frame is { type, id (optional), ...members } with members in camelCase
// (as the schema engine decodes them: orgPk, signPk, gatewayCert, ...),
// bytes as Uint8Array, times as Unix seconds, certificates as cert.js's.
import { fail, VarskoError } from './codec.js';
import { K, field, ID_MAX, FRAME_MAX, validId, jsonLoad, jsonDump, schemaDecode, schemaEncode } from './schema.js';
import { CERT_TABLE } from './cert.js';

export const PROTO_CODE_MAX = 32;
export const PROTO_ORIGIN_MAX = 256;
export const PROTO_MSG_MAX = 256;

const cert = (name) => field(name, K.OBJ, { table: CERT_TABLE });

/* type: [members, whether the frame may carry an "id"] */
const SPECS = Object.freeze({
	hello: [[field('version', K.U32POS), field('nonce', K.B64, { max: 32 }), field('time', K.TIME),
		field('org_pk', K.B64, { max: 32 }), field('root_pk', K.B64, { required: false, max: 32 })], false],
	enroll: [[field('code', K.TEXT, { min: 1, max: PROTO_CODE_MAX }), field('origin', K.ID, { min: 1, max: PROTO_ORIGIN_MAX }),
		field('sign_pk', K.B64, { max: 32 }), field('box_pk', K.B64, { max: 32 }),
		field('label', K.TEXT, { required: false, min: 0, max: ID_MAX }), field('sig', K.B64, { max: 64 })], true],
	enrolled: [[cert('cert'), field('org_pk', K.B64, { max: 32 }), cert('gateway_cert')], true],
	login: [[field('device', K.ID, { min: 1, max: ID_MAX }), field('origin', K.ID, { min: 1, max: PROTO_ORIGIN_MAX }),
		field('time', K.TIME), field('sig', K.B64, { max: 64 })], true],
	session: [[cert('cert')], true],
	whoami: [[], true],
	ping: [[], true],
	pong: [[], true],
	error: [[field('code', K.ID, { min: 1, max: ID_MAX }), field('message', K.TEXT, { min: 0, max: PROTO_MSG_MAX })], true],
	enroll_confirm: [[field('device', K.ID, { min: 1, max: ID_MAX }), field('origin', K.ID, { min: 1, max: PROTO_ORIGIN_MAX }),
		field('sig', K.B64, { max: 64 })], true],
	confirmed: [[cert('cert')], true],
});

/** The frame types of section 4. */
export const PROTO_FRAME_TYPES = Object.freeze(Object.keys(SPECS));

/**
 * A received frame's text (or bytes) to its frame, with the rules of
 * section 2: `too_large` above 65 536 bytes, `bad_json` (a member name
 * holding U+0000 too, as jansson), `duplicate_key`, `bad_frame` (no string
 * type, a bad id, a member missing, unknown or of the wrong kind, a version
 * other than 1), `unknown_type`.
 */
export function protoFrameDecode(text) {
	const o = jsonLoad(text, FRAME_MAX);
	for (const k of o.keys()) if (k.includes('\u0000')) fail('bad_json', 'NUL in a member name');
	const type = o.get('type');
	if (typeof type !== 'string' || type.includes('\u0000')) fail('bad_frame', 'missing or non-string type');
	if (!Object.hasOwn(SPECS, type)) fail('unknown_type', 'unknown type');
	const [fields, hasId] = SPECS[type];
	const id = o.get('id');
	if (o.has('id') && !validId(id, 1, ID_MAX)) fail('bad_frame', 'id must be 1 to 64 visible ASCII characters');
	const f = schemaDecode(o, fields, hasId ? ['type', 'id'] : ['type']);
	if (type === 'hello' && f.version !== 1) fail('bad_frame', 'unsupported version');
	const out = { type };
	if (o.has('id')) out.id = id;
	return Object.assign(out, f);
}

/**
 * A frame to its canonical text (section 2: compact, sorted, raw UTF-8,
 * empty optional members left out). `bad_frame` for a frame the decoder
 * would refuse.
 */
export function protoFrameEncode(frame) {
	if (!frame || typeof frame.type !== 'string' || !Object.hasOwn(SPECS, frame.type)) fail('bad_frame', 'unknown type');
	const [fields, hasId] = SPECS[frame.type];
	const known = new Set(['type', 'id', ...fields.map((x) => x.key)]);
	for (const k of Object.keys(frame)) if (!known.has(k) && frame[k] !== undefined) fail('bad_frame', `unknown member ${k}`);
	if (frame.type === 'hello' && frame.version !== 1) fail('bad_frame', 'unsupported version');
	let o;
	try {
		o = schemaEncode(frame, fields);
	} catch (e) {
		if (e instanceof VarskoError) fail('bad_frame', e.message);
		throw e;
	}
	o.set('type', frame.type);
	if (frame.id !== undefined && frame.id !== '') {
		if (!hasId || !validId(frame.id, 1, ID_MAX)) fail('bad_frame', 'bad id');
		o.set('id', frame.id);
	}
	return jsonDump(o);
}
