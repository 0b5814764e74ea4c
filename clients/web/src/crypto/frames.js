// The frames of the handshake, PROTOCOL.md sections 2 and 4, mirroring
// proto/codec.c: one strict decoder for what the client receives (hello,
// enrolled, confirmed, session, pong, error) and one encoder for what it
// sends (enroll, enroll_confirm, login, whoami, ping), both walking the same
// tables, so the client never sends a frame the server's decoder would
// refuse, and encode(decode(x)) is the canonical form.
//
// A frame is { type, id (optional), ...members decoded }: bytes as
// Uint8Array, times as Unix seconds, certificates as objects of the
// certificate table.
import { fail, VarskoError } from './codec.js';
import { F, PROTO_ID_MAX, PROTO_FRAME_MAX, validId, jsonLoad, pfDecode, pfEncode, jsonCanonical } from './schema.js';
import { flowCertTable as certTable } from './flow.js'; // TODO(cert.js): the table from cert.js

export const PROTO_CODE_MAX = 32;
export const PROTO_ORIGIN_MAX = 256;
export const PROTO_MSG_MAX = 256;

const cert = (name) => F(name, 'obj', { sub: certTable, bad: 'certificate must be an object' });

/* type: [members, whether the frame may carry an "id"] */
const SPECS = Object.freeze({
	hello: [[F('version', 'version1'), F('nonce', 'b64', { max: 32 }), F('time', 'time'), F('org_pk', 'b64', { max: 32 }),
		F('root_pk', 'b64', { required: false, max: 32 })], false],
	enroll: [[F('code', 'text', { min: 1, max: PROTO_CODE_MAX }), F('origin', 'id', { min: 1, max: PROTO_ORIGIN_MAX }),
		F('sign_pk', 'b64', { max: 32 }), F('box_pk', 'b64', { max: 32 }),
		F('label', 'text', { required: false, min: 0, max: PROTO_ID_MAX }), F('sig', 'b64', { max: 64 })], true],
	enrolled: [[cert('cert'), F('org_pk', 'b64', { max: 32 }), cert('gateway_cert')], true],
	login: [[F('device', 'id', { min: 1, max: PROTO_ID_MAX }), F('origin', 'id', { min: 1, max: PROTO_ORIGIN_MAX }),
		F('time', 'time'), F('sig', 'b64', { max: 64 })], true],
	session: [[cert('cert')], true],
	whoami: [[], true],
	ping: [[], true],
	pong: [[], true],
	error: [[F('code', 'id', { min: 1, max: PROTO_ID_MAX }), F('message', 'text', { min: 0, max: PROTO_MSG_MAX })], true],
	enroll_confirm: [[F('device', 'id', { min: 1, max: PROTO_ID_MAX }), F('origin', 'id', { min: 1, max: PROTO_ORIGIN_MAX }),
		F('sig', 'b64', { max: 64 })], true],
	confirmed: [[cert('cert')], true],
});

/** The frame types of section 4. */
export const PROTO_FRAME_TYPES = Object.freeze(Object.keys(SPECS));

/**
 * A received frame's text (or bytes) to its frame, with the rules of
 * section 2: `too_large` above 65 536 bytes, `bad_json`, `duplicate_key`,
 * `bad_frame` (no string type, a bad id, a member missing, unknown or of the
 * wrong kind), `unknown_type`.
 */
export function protoFrameDecode(text) {
	const o = jsonLoad(text, PROTO_FRAME_MAX);
	const type = o.type;
	if (typeof type !== 'string' || type.includes('\0')) fail('bad_frame', 'missing or non-string type');
	if (!Object.hasOwn(SPECS, type)) fail('unknown_type', 'unknown type');
	const [fields, hasId] = SPECS[type];
	if ('id' in o && !(typeof o.id === 'string' && validId(o.id, 1, PROTO_ID_MAX)))
		fail('bad_frame', 'id must be 1 to 64 visible ASCII characters');
	const f = pfDecode(o, fields, hasId ? ['type', 'id'] : ['type']);
	const out = { type };
	if ('id' in o) out.id = o.id;
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
	const known = new Set(['type', 'id', ...fields.map((x) => x.name)]);
	for (const k of Object.keys(frame)) if (!known.has(k) && frame[k] !== undefined) fail('bad_frame', `unknown member ${k}`);
	let o;
	try {
		o = pfEncode(frame, fields);
	} catch (e) {
		if (e instanceof VarskoError) fail('bad_frame', e.message);
		throw e;
	}
	o.type = frame.type;
	if (frame.id !== undefined && frame.id !== '') {
		if (!hasId || !validId(frame.id, 1, PROTO_ID_MAX)) fail('bad_frame', 'bad id');
		o.id = frame.id;
	}
	return jsonCanonical(o);
}
