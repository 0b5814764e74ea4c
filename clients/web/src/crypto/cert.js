// Device certificates (PROTOCOL.md section 6, signing input 7.1), mirroring
// proto/cert.c: the JSON object through the schema engine (one table, so a
// certificate inside a frame and one on its own are held to the same rules),
// the signing input, signing and verification.
//
// A certificate is a plain object: {version, serial (BigInt), user, name,
// role, team, institutions, device, signPk, boxPk, notBefore, notAfter (Unix
// seconds), sig}. The signature is never over JSON.
import { fail, VarskoError, Fields, deviceId, sign, verify } from './codec.js';
import { K, field, ID_MAX, FRAME_MAX, jsonLoad, schemaDecode, schemaEncodeText } from './schema.js';

export const CERT_TAG = 'varsko-cert-v1';
export const CERT_VERSION = 1;
export const CERT_INST_MAX = 16;
export const CERT_NAME_MAX = 128;
export const CERT_ROLE_MAX = 16;
/** The role names of section 6 (for display; verification does not look at the role, as proto/cert.c). */
export const CERT_ROLES = Object.freeze(['fagperson', 'raadgiver', 'myndighed', 'leder', 'admin', 'agent', 'gateway']);

export const CERT_TABLE = Object.freeze([
	field('version', K.U32POS),
	field('serial', K.U64, { min: 1 }),
	field('user', K.ID, { min: 1, max: ID_MAX }),
	field('name', K.TEXT, { min: 1, max: CERT_NAME_MAX }),
	field('role', K.ID, { min: 1, max: CERT_ROLE_MAX }),
	field('team', K.ID, { min: 0, max: ID_MAX }),
	field('institutions', K.IDLIST, { max: CERT_INST_MAX }),
	field('device', K.ID, { min: 1, max: ID_MAX }),
	field('sign_pk', K.B64, { max: 32 }),
	field('box_pk', K.B64, { max: 32 }),
	field('not_before', K.TIME),
	field('not_after', K.TIME),
	field('sig', K.B64, { max: 64 }),
]);

/**
 * A certificate from its JSON text (string or UTF-8 bytes) or from an object
 * already loaded by schema.jsonLoad (a member of a frame). Refuses as
 * proto_cert_from_json: `too_large`, `bad_json`, `duplicate_key`, and
 * `bad_frame` for a missing, unknown or ill-kinded member. Does not verify.
 */
export function certFromJson(text) {
	const o = text instanceof Map ? text : jsonLoad(text, FRAME_MAX);
	return schemaDecode(o, CERT_TABLE);
}

/** The canonical JSON text; `bad_input` for a certificate that would not parse back. */
export function certToJson(c) {
	return schemaEncodeText(c, CERT_TABLE);
}

/** The signing input of section 7.1; `bad_input` for more than 16 institutions. */
export function certSigningInput(c) {
	if (!c || !Array.isArray(c.institutions) || c.institutions.length > CERT_INST_MAX)
		fail('bad_input', 'institutions');
	return new Fields(CERT_TAG).int(c.version).int(c.serial).str(c.user).str(c.name).str(c.role).str(c.team)
		.list(c.institutions).str(c.device).bytes(c.signPk).bytes(c.boxPk).int(c.notBefore).int(c.notAfter)
		.done();
}

/**
 * A copy of c with `device` set from `signPk` and `sig` by the organisation's
 * 64-byte secret key. `bad_input` for a certificate that could not be written
 * as JSON (bad strings, times out of range, a version other than 1), so
 * nothing unencodable is ever signed.
 */
export function certSign(c, orgSk) {
	if (!(orgSk instanceof Uint8Array) || orgSk.length !== 64) fail('bad_input', 'organisation key of 64 bytes');
	const out = { ...c, institutions: [...(c.institutions || [])], device: deviceId(c.signPk), sig: new Uint8Array(64) };
	if (out.version !== CERT_VERSION) fail('bad_input', 'version');
	certToJson(out);
	out.sig = sign(certSigningInput(out), orgSk);
	return out;
}

/**
 * Verifies c against the organisation key at `now` (Unix seconds), in the
 * order of section 6: version 1, device id of sign_pk, signature (all
 * `bad_cert`), then the validity window (`device_expired`), so a forged
 * certificate is never reported as merely expired. Returns c.
 */
export function certVerify(c, orgPk, now) {
	let input;
	try {
		if (!c || c.version !== CERT_VERSION) fail('bad_cert', 'version');
		if (deviceId(c.signPk) !== c.device) fail('bad_cert', 'device id does not match sign_pk');
		input = certSigningInput(c);
	} catch (e) {
		if (e instanceof VarskoError) fail('bad_cert', e.message);
		throw e;
	}
	if (!(orgPk instanceof Uint8Array) || orgPk.length !== 32 || !verify(input, c.sig, orgPk))
		fail('bad_cert', 'signature');
	if (!Number.isInteger(now) || now < c.notBefore || now > c.notAfter) fail('device_expired');
	return c;
}

/** True when certVerify(c, orgPk, now) passes (for callers that refuse with their own code). */
export function certOk(c, orgPk, now) {
	try {
		certVerify(c, orgPk, now);
		return true;
	} catch {
		return false;
	}
}
