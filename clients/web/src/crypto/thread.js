// The encodings of consultation threads, PROTOCOL.md 17.1, mirroring
// proto/thread.c: thread, message and blob ids, the routing bytes of a
// thread message envelope, and the signed read mark (a MARK on the wire).
//
// A read mark is { thread, seq, message, envelopeHash: Uint8Array(32),
// kind: 'leveret'|'laest', user, device, time } (time in Unix seconds; seq
// a Number or a BigInt, as the schema engine decodes it); a MARK adds
// sig: Uint8Array(64).
// Every value goes through one validity check before it is encoded or
// signed, and the decoders run the same check on what they read.
import { fail, sign, verify, deviceId, Fields, FieldReader, VarskoError } from './codec.js';
import { K, field, ID_MAX, INT64_MAX, TIME_MAX, FRAME_MAX, validId, jsonLoad, schemaDecode, schemaEncodeText } from './schema.js';

const TAG_MSG = 'varsko-threadmsg-v1';
const TAG_RECEIPT = 'varsko-threadreceipt-v1';
export const THREAD_ID_LEN = 28;
export const THREAD_HASH_LEN = 32;
const KIND_MAX = 16;

/** The kinds of a thread message, in its routing bytes. */
export const THREAD_MSG_KINDS = Object.freeze(['text', 'file', 'underretning_ref']);
/** The kinds of a read mark. */
export const THREAD_RECEIPT_KINDS = Object.freeze(['leveret', 'laest']);

/*
 * prefix and 26 base32 characters (A-Z, 2-7), nothing after them; the last
 * character's two low bits are zero (130 bits carry 128), so one value has
 * one spelling.
 */
function b32IdValid(s, prefix) {
	return typeof s === 'string' && new RegExp(`^${prefix}[A-Z2-7]{25}[AEIMQUY4]$`).test(s);
}

export function threadIdValid(s) {
	return b32IdValid(s, 'T-');
}

export function threadMessageIdValid(s) {
	return b32IdValid(s, 'M-');
}

/** An attachment's blob id (17.9): "B-" and 26 canonical base32 characters. */
export function threadBlobIdValid(s) {
	return b32IdValid(s, 'B-');
}

function u63(v) {
	if (typeof v === 'number') {
		if (!Number.isSafeInteger(v)) return null;
		v = BigInt(v);
	}
	return typeof v === 'bigint' && v >= 1n && v <= INT64_MAX ? v : null;
}

function intOut(v) {
	return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/* ---- routing ------------------------------------------------------------------ */

/** enc("varsko-threadmsg-v1", thread, u64 version (1..2^63-1), kind); `bad_input` for any invalid value. */
export function threadRoutingEncode(thread, version, kind) {
	if (!threadIdValid(thread) || u63(version) === null || !THREAD_MSG_KINDS.includes(kind))
		fail('bad_input', 'thread routing');
	return new Fields(TAG_MSG).str(thread).int(u63(version)).str(kind).done();
}

/** The inverse, for bytes from the wire: exactly the four fields, each valid. `bad_input` otherwise. */
export function threadRoutingDecode(bytes) {
	try {
		const rd = new FieldReader(bytes);
		if (rd.str(TAG_MSG.length) !== TAG_MSG) fail('bad_input');
		const thread = rd.str(THREAD_ID_LEN);
		if (!threadIdValid(thread)) fail('bad_input');
		const version = rd.u64();
		if (version < 1n || version > INT64_MAX) fail('bad_input');
		const kind = rd.str(KIND_MAX);
		rd.end();
		if (!THREAD_MSG_KINDS.includes(kind)) fail('bad_input');
		return { thread, version: intOut(version), kind };
	} catch (e) {
		if (e instanceof VarskoError) fail('bad_input', 'thread routing bytes');
		throw e;
	}
}

/* ---- read marks ---------------------------------------------------------------- */

function idOk(s) {
	return validId(s, 1, ID_MAX);
}

/** True when every field of the read mark r is valid. */
export function threadReceiptValid(r) {
	return !!r && threadIdValid(r.thread) && u63(r.seq) !== null && threadMessageIdValid(r.message) &&
		r.envelopeHash instanceof Uint8Array && r.envelopeHash.length === THREAD_HASH_LEN &&
		THREAD_RECEIPT_KINDS.includes(r.kind) && idOk(r.user) && idOk(r.device) &&
		Number.isInteger(r.time) && r.time >= 0 && r.time <= TIME_MAX;
}

/** enc("varsko-threadreceipt-v1", thread, u64 seq, message, envelope hash, kind, user, device, i64 time). */
export function threadReceiptSigningInput(r) {
	if (!threadReceiptValid(r)) fail('bad_input', 'read mark');
	return new Fields(TAG_RECEIPT).str(r.thread).int(u63(r.seq)).str(r.message).bytes(r.envelopeHash).str(r.kind)
		.str(r.user).str(r.device).int(r.time).done();
}

function deviceIsKey(r, pk) {
	return pk instanceof Uint8Array && pk.length === 32 && deviceId(pk) === r.device;
}

/**
 * The signature of the reading device's secret key sk (64 bytes) over r.
 * `bad_input` for a mark that is not valid or whose device is not sk's.
 */
export function threadReceiptSign(r, sk) {
	if (!(sk instanceof Uint8Array) || sk.length !== 64 || !threadReceiptValid(r) || !deviceIsKey(r, sk.subarray(32)))
		fail('bad_input', 'read mark or key');
	return sign(threadReceiptSigningInput(r), sk);
}

/**
 * sig over r with the device key pk: r valid, r.device the device id of pk,
 * the signature good. The caller checks that pk is a certified device of
 * r.user. `bad_signature` for every failure.
 */
export function threadReceiptVerify(r, sig, pk) {
	if (!threadReceiptValid(r) || !deviceIsKey(r, pk) || !verify(threadReceiptSigningInput(r), sig, pk))
		fail('bad_signature', 'read mark');
	return true;
}

/* ---- MARK as JSON -------------------------------------------------------------------- */

/* threadReceiptValid adds what the table cannot say: the ids' canonical form, seq within 2^63 - 1. */
export const THREAD_MARK_TABLE = Object.freeze([
	field('device', K.ID, { min: 1, max: ID_MAX }),
	field('envelope_hash', K.B64, { max: THREAD_HASH_LEN }),
	field('kind', K.ENUM, { names: THREAD_RECEIPT_KINDS }),
	field('message', K.ID, { min: THREAD_ID_LEN, max: THREAD_ID_LEN }),
	field('seq', K.U64, { min: 1 }),
	field('sig', K.B64, { max: 64 }),
	field('thread', K.ID, { min: THREAD_ID_LEN, max: THREAD_ID_LEN }),
	field('time', K.TIME),
	field('user', K.ID, { min: 1, max: ID_MAX }),
]);

/** A MARK (read mark and sig) as canonical JSON; `bad_input` when the mark is not valid. */
export function threadMarkToJson(m) {
	if (!threadReceiptValid(m)) fail('bad_input', 'read mark');
	return schemaEncodeText(m, THREAD_MARK_TABLE);
}

/**
 * Strict parse of a MARK (text, bytes or an object loaded by
 * schema.jsonLoad), its fields valid; no signature check. `too_large`,
 * `bad_json`, `duplicate_key` (text), `bad_frame`.
 */
export function threadMarkFromJson(input) {
	const o = typeof input === 'string' || input instanceof Uint8Array ? jsonLoad(input, FRAME_MAX) : input;
	let m;
	try {
		m = schemaDecode(o, THREAD_MARK_TABLE);
	} catch (e) {
		if (e instanceof VarskoError) fail('bad_frame', `mark: ${e.message}`);
		throw e;
	}
	if (!threadReceiptValid(m)) fail('bad_frame', 'mark malformed');
	return m;
}
