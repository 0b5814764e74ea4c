// The signed objects of the underretning flow, PROTOCOL.md section 12,
// mirroring proto/flow.c: the envelope hash (12.2), the team roster (12.3),
// the gateway's receipt (12.4) and events (12.5).
//
// Each object is the object of its JSON form, members in camelCase (as the
// schema engine decodes them), bytes decoded and times as Unix seconds;
// certificates are cert.js's:
//   roster  { team, version (BigInt), issued, devices: [cert...], sig }
//   receipt { version: 1, reference, submission, envelopeHash, sender,
//             senderUser, institution, team, received, vurderingDue,
//             kvitteringDue, tilbagemeldingDue, gateway, sig }
//   event   { version: 1, reference, kind, device, time, sig, and exactly
//             those of akut (vurderet), started (tilbagemelding), team
//             (omdirigeret), envelopeHash (kvitteret, tilbagemelding,
//             omdirigeret) that its kind has }
// Every object has one well-formedness check that the signing input, the
// signer, the verifier and the JSON writer all go through, so nothing is
// signed that would not be written as JSON and parsed back. Verifiers throw
// a VarskoError with the code of section 12 and return true otherwise.
import { sodium, fail, sign, verify, Fields, VarskoError } from './codec.js';
import { envSigningInput, ENV_JSON_MAX } from './envelope.js';
import { K, field, ID_MAX, INT64_MAX, TIME_MAX, validId, jsonLoad, schemaDecode, schemaEncodeText } from './schema.js';
import { CERT_TABLE, certVerify } from './cert.js';

export const FLOW_VERSION = 1;
export const FLOW_ROSTER_MAX = 63;
export const FLOW_REF_MAX = 16;
export const FLOW_FRAME_MAX = ENV_JSON_MAX + 65536;

const TAG_ROSTER = 'varsko-roster-v1';
const TAG_RECEIPT = 'varsko-receipt-v1';
const TAG_EVENT = 'varsko-event-v1';
const TAG_ENVHASH = 'varsko-envelope-hash-v1';

/** The event kinds of 12.5, in the order of the C enum. */
export const FLOW_EVENT_KINDS = Object.freeze(['leveret', 'modtaget', 'journaliseret', 'aabnet', 'vurderet',
	'kvitteret', 'tilbagemelding', 'omdirigeret', 'afsluttet']);
/** The states of an ITEM (12.7): the event kinds and `modtaget_gateway`. */
export const FLOW_ITEM_STATES = Object.freeze([...FLOW_EVENT_KINDS, 'modtaget_gateway']);
/** The roles whose devices a roster may hold. */
export const FLOW_ROSTER_ROLES = Object.freeze(['myndighed', 'leder', 'agent']);

function idOk(s) {
	return validId(s, 1, ID_MAX);
}

function timeOk(t) {
	return Number.isInteger(t) && t >= 0 && t <= TIME_MAX;
}

function isBytes(b, n) {
	return b instanceof Uint8Array && b.length === n;
}

/** "U-" + 4-digit year + "-" + at least 6 digits, at most 16 bytes. */
export function flowReferenceValid(s) {
	return typeof s === 'string' && s.length <= FLOW_REF_MAX && /^U-[0-9]{4}-[0-9]{6,}$/.test(s);
}

/** True when the kind is one of 12.5's. */
export function flowEventKindValid(kind) {
	return FLOW_EVENT_KINDS.includes(kind);
}

/** True for the kinds that carry an envelope: kvitteret, tilbagemelding, omdirigeret. */
export function flowEventNeedsEnvelope(kind) {
	return kind === 'kvitteret' || kind === 'tilbagemelding' || kind === 'omdirigeret';
}

/* ---- 12.2 envelope hash ----------------------------------------------------------------- */

/** SHA-256(enc("varsko-envelope-hash-v1", envelope signing input)); `bad_input` for a malformed envelope. */
export function flowEnvelopeHash(env) {
	const si = envSigningInput(env);
	return sodium.crypto_hash_sha256(new Fields(TAG_ENVHASH).bytes(si).done());
}

/* ---- JSON, shared --------------------------------------------------------------------------- */

/* Text, bytes or an object loaded by schema.jsonLoad; `bad_frame` for anything the table or the check refuses. */
function fromJson(input, table, wellFormed, what) {
	const text = typeof input === 'string' || input instanceof Uint8Array;
	const o = text ? jsonLoad(input, FLOW_FRAME_MAX) : input;
	let v;
	try {
		v = schemaDecode(o, table);
	} catch (e) {
		if (e instanceof VarskoError) fail('bad_frame', `${what}: ${e.message}`);
		throw e;
	}
	if (!wellFormed(v)) fail('bad_frame', `${what} malformed`);
	return v;
}

function toJson(v, table, wellFormed, what) {
	if (!wellFormed(v)) fail('bad_input', `${what} malformed`);
	return schemaEncodeText(v, table);
}

/* ---- 12.3 roster ------------------------------------------------------------------------------ */

const rosterTable = [
	field('devices', K.OBJLIST, { min: 1, max: FLOW_ROSTER_MAX, table: CERT_TABLE }),
	field('issued', K.TIME),
	field('sig', K.B64, { max: 64 }),
	field('team', K.ID, { min: 1, max: ID_MAX }),
	field('version', K.U64, { min: 1 }), /* the roster's version */
];

/* The checks every roster meets before it is encoded, signed or verified (not the order of the devices). */
function rosterWellFormed(r) {
	if (!r || !Array.isArray(r.devices) || r.devices.length < 1 || r.devices.length > FLOW_ROSTER_MAX || !idOk(r.team))
		return false;
	if (!((typeof r.version === 'number' && Number.isSafeInteger(r.version)) || typeof r.version === 'bigint') ||
	    BigInt(r.version) < 1n || BigInt(r.version) > INT64_MAX || !timeOk(r.issued))
		return false;
	return r.devices.every((c) => c && idOk(c.device) && isBytes(c.signPk, 32) && isBytes(c.boxPk, 32) &&
		(typeof c.serial === 'number' || typeof c.serial === 'bigint'));
}

function rosterSorted(r) {
	for (let i = 1; i < r.devices.length; i++) if (r.devices[i - 1].device >= r.devices[i].device) return false;
	return true;
}

/** enc("varsko-roster-v1", 1, team, version, issued, n, per device: device, sign_pk, box_pk, serial). */
export function flowRosterSigningInput(r) {
	if (!rosterWellFormed(r)) fail('bad_input', 'roster malformed');
	const f = new Fields(TAG_ROSTER).int(FLOW_VERSION).str(r.team).int(r.version).int(r.issued).int(r.devices.length);
	for (const c of r.devices) f.str(c.device).bytes(c.signPk).bytes(c.boxPk).int(c.serial);
	return f.done();
}

/** Sorts r.devices by device id, then signs with orgSk (sets r.sig). `bad_input` for a device twice or a roster that would not parse back. */
export function flowRosterSign(r, orgSk) {
	if (!rosterWellFormed(r)) fail('bad_input', 'roster malformed');
	r.devices.sort((a, b) => (a.device < b.device ? -1 : a.device > b.device ? 1 : 0));
	if (!rosterSorted(r)) fail('bad_input', 'a device twice');
	r.sig = r.sig instanceof Uint8Array && r.sig.length === 64 ? r.sig : new Uint8Array(64);
	flowRosterToJson(r);
	r.sig = sign(flowRosterSigningInput(r), orgSk);
	return r;
}

/**
 * The client's check of 12.3 at `now`: well-formed and strictly sorted, the
 * organisation's signature (`bad_signature`), every certificate (`bad_cert`,
 * `device_expired`), of the roster's team and a role that may read
 * (`bad_cert`). The caller refuses a rolled-back version.
 */
export function flowRosterVerify(r, orgPk, now) {
	if (!rosterWellFormed(r)) fail('bad_signature', 'roster malformed or with no devices');
	if (!rosterSorted(r)) fail('bad_signature', 'roster devices not strictly sorted');
	if (!verify(flowRosterSigningInput(r), r.sig, orgPk)) fail('bad_signature', 'roster signature does not verify');
	for (const c of r.devices) {
		try {
			certVerify(c, orgPk, now);
		} catch (e) {
			if (e.code === 'device_expired') fail('device_expired', 'roster certificate expired or not yet valid');
			fail('bad_cert', 'roster certificate does not verify');
		}
		if (c.team !== r.team) fail('bad_cert', 'roster certificate of another team');
		if (!FLOW_ROSTER_ROLES.includes(c.role)) fail('bad_cert', 'roster certificate with a role that may not read');
	}
	return true;
}

/** The readers of 12.3: the distinct users of the roster's myndighed certificates (0: nobody to read it). */
export function flowRosterReaders(r) {
	return new Set(r.devices.filter((c) => c.role === 'myndighed').map((c) => c.user)).size;
}

export function flowRosterToJson(r) {
	return toJson(r, rosterTable, rosterWellFormed, 'roster');
}

/** Strict parse (text, bytes or a loaded object); no signature check. */
export function flowRosterFromJson(input) {
	return fromJson(input, rosterTable, rosterWellFormed, 'roster');
}

/* ---- 12.4 receipt ------------------------------------------------------------------------------- */

/* receiptWellFormed adds what the table cannot say: version 1, the reference's form. */
const receiptTable = [
	field('envelope_hash', K.B64, { max: 32 }),
	field('gateway', K.ID, { min: 1, max: ID_MAX }),
	field('institution', K.ID, { min: 1, max: ID_MAX }),
	field('kvittering_due', K.TIME),
	field('received', K.TIME),
	field('reference', K.ID, { min: 1, max: FLOW_REF_MAX }),
	field('sender', K.ID, { min: 1, max: ID_MAX }),
	field('sender_user', K.ID, { min: 1, max: ID_MAX }),
	field('sig', K.B64, { max: 64 }),
	field('submission', K.ID, { min: 1, max: ID_MAX }),
	field('team', K.ID, { min: 1, max: ID_MAX }),
	field('tilbagemelding_due', K.TIME),
	field('version', K.U32POS),
	field('vurdering_due', K.TIME),
];

function receiptWellFormed(r) {
	return !!r && r.version === FLOW_VERSION && flowReferenceValid(r.reference) && idOk(r.submission) &&
		isBytes(r.envelopeHash, 32) && idOk(r.sender) && idOk(r.senderUser) && idOk(r.institution) && idOk(r.team) &&
		idOk(r.gateway) && timeOk(r.received) && timeOk(r.vurderingDue) && timeOk(r.kvitteringDue) &&
		timeOk(r.tilbagemeldingDue);
}

export function flowReceiptSigningInput(r) {
	if (!receiptWellFormed(r)) fail('bad_input', 'receipt malformed');
	return new Fields(TAG_RECEIPT).int(r.version).str(r.reference).str(r.submission).bytes(r.envelopeHash).str(r.sender)
		.str(r.senderUser).str(r.institution).str(r.team).int(r.received).int(r.vurderingDue).int(r.kvitteringDue)
		.int(r.tilbagemeldingDue).str(r.gateway).done();
}

export function flowReceiptSign(r, gatewaySk) {
	r.sig = sign(flowReceiptSigningInput(r), gatewaySk);
	return r;
}

/**
 * 12.4: the gateway certificate verifies with orgPk at `now` (the receipt's
 * own `received` to check it as of its issue) and has role gateway and the
 * receipt's gateway device (`bad_cert`); the signature (`bad_signature`).
 * A holder of the envelope also compares flowEnvelopeHash with envelopeHash.
 */
export function flowReceiptVerify(r, gatewayCert, orgPk, now) {
	try {
		certVerify(gatewayCert, orgPk, now);
	} catch {
		fail('bad_cert', 'gateway certificate does not verify');
	}
	if (gatewayCert.role !== 'gateway') fail('bad_cert', 'not a gateway certificate');
	if (!receiptWellFormed(r)) fail('bad_signature', 'receipt malformed');
	if (gatewayCert.device !== r.gateway) fail('bad_cert', 'receipt of another gateway');
	if (!verify(flowReceiptSigningInput(r), r.sig, gatewayCert.signPk)) fail('bad_signature', 'receipt signature');
	return true;
}

export function flowReceiptToJson(r) {
	return toJson(r, receiptTable, receiptWellFormed, 'receipt');
}

export function flowReceiptFromJson(input) {
	return fromJson(input, receiptTable, receiptWellFormed, 'receipt');
}

/* ---- 12.5 events ---------------------------------------------------------------------------------- */

/* Optional here; eventWellFormed() says which of them each kind has (and version 1, the reference's form). */
const eventTable = [
	field('akut', K.BOOL, { required: false }),
	field('device', K.ID, { min: 1, max: ID_MAX }),
	field('envelope_hash', K.B64, { required: false, max: 32 }),
	field('kind', K.ENUM, { names: FLOW_EVENT_KINDS }),
	field('reference', K.ID, { min: 1, max: FLOW_REF_MAX }),
	field('sig', K.B64, { max: 64 }),
	field('started', K.BOOL, { required: false }),
	field('team', K.ID, { required: false, min: 0, max: ID_MAX }),
	field('time', K.TIME),
	field('version', K.U32POS),
];

/* The members of its kind and none other. */
function eventWellFormed(e) {
	if (!e || e.version !== FLOW_VERSION || !flowEventKindValid(e.kind) || !flowReferenceValid(e.reference) ||
	    !idOk(e.device) || !timeOk(e.time))
		return false;
	if (e.kind === 'vurderet' ? typeof e.akut !== 'boolean' : e.akut !== undefined) return false;
	if (e.kind === 'tilbagemelding' ? typeof e.started !== 'boolean' : e.started !== undefined) return false;
	if (e.kind === 'omdirigeret' ? !idOk(e.team) : e.team !== undefined) return false;
	if (flowEventNeedsEnvelope(e.kind) ? !isBytes(e.envelopeHash, 32) : e.envelopeHash !== undefined) return false;
	return true;
}

/** enc("varsko-event-v1", 1, reference, kind, device, time, akut, started, team, has_envelope, envelopeHash). */
export function flowEventSigningInput(e) {
	if (!eventWellFormed(e)) fail('bad_input', 'event malformed');
	const tri = (b) => (b === undefined ? -1 : b ? 1 : 0);
	const has = flowEventNeedsEnvelope(e.kind);
	return new Fields(TAG_EVENT).int(e.version).str(e.reference).str(e.kind).str(e.device).int(e.time).int(tri(e.akut))
		.int(tri(e.started)).str(e.team ?? '').int(has ? 1 : 0).bytes(has ? e.envelopeHash : new Uint8Array(32)).done();
}

export function flowEventSign(e, sk) {
	e.sig = sign(flowEventSigningInput(e), sk);
	return e;
}

/** The signature only (the caller checks the signer's certificate and rights); `bad_signature`. */
export function flowEventVerify(e, signPk) {
	if (!eventWellFormed(e) || !verify(flowEventSigningInput(e), e.sig, signPk)) fail('bad_signature', 'event signature');
	return true;
}

export function flowEventToJson(e) {
	return toJson(e, eventTable, eventWellFormed, 'event');
}

/** Strict parse; also refuses a member its kind does not have, or lacks one it needs (`bad_frame`). */
export function flowEventFromJson(input) {
	return fromJson(input, eventTable, eventWellFormed, 'event');
}
