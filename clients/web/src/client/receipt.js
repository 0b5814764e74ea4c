// The gateway's signed receipts in the browser, as clients/lib/receipt.c:
// checked against the gateway certificate of the enrollment and the pinned
// organisation key (as of the receipt's own time), kept sealed on this
// device, and the receipt file: the receipt's JSON, compact with sorted
// members and a newline, exactly what `varsko` saves in receipts/<REF>.json,
// so a file downloaded here verifies with `varsko receipt verify FILE`.
import { VarskoError } from '../crypto/codec.js';
import { certFromJson } from '../crypto/cert.js';
import { flowReceiptFromJson, flowReceiptToJson, flowReceiptVerify, flowReferenceValid } from '../crypto/flow.js';
import { jsonLoad } from '../crypto/schema.js';
import { refuse } from './userkey.js';

const RECEIPT_PIN = 'receipt:';
/** What a receipt file may weigh (the C's HOME_FILE_MAX is larger; a receipt is far below either). */
const RECEIPT_FILE_MAX = 65536;

/** The gateway certificate of the enrollment (secrets.gateway_cert), decoded. */
export function gatewayCert(session) {
	try {
		return certFromJson(session.secrets.gateway_cert);
	} catch {
		return refuse('bad_input', 'the gateway certificate kept at enrollment cannot be read');
	}
}

/**
 * receipt_check(): the reference's form (`bad_frame`), the gateway
 * certificate against orgPk as of r.received and the signature
 * (`bad_cert`, `bad_signature`).
 */
export function receiptCheck(r, gw, orgPk) {
	if (!flowReferenceValid(r.reference)) refuse('bad_frame', "the receipt's reference is malformed");
	try {
		flowReceiptVerify(r, gw, orgPk, r.received);
	} catch (e) {
		if (e instanceof VarskoError && e.code === 'bad_cert')
			refuse('bad_cert', "the gateway certificate does not verify against the organisation key, or is not the receipt's");
		if (e instanceof VarskoError) refuse(e.code, "the receipt's signature does not verify");
		throw e;
	}
}

/** A loaded receipt member (Map) parsed; `bad_frame` otherwise. */
export function receiptFromMap(m) {
	if (!(m instanceof Map)) refuse('bad_frame', 'the receipt is malformed');
	try {
		return flowReceiptFromJson(m);
	} catch {
		return refuse('bad_frame', 'the receipt is malformed');
	}
}

/** receipt_json_text(): the receipt's canonical JSON (compact, sorted members). */
export function receiptJson(r) {
	return flowReceiptToJson(r);
}

/** The receipt file's text: what `varsko` writes to receipts/<REF>.json (one line). */
export function receiptFileText(r) {
	return `${flowReceiptToJson(r)}\n`;
}

/**
 * receipt_verify_text(): a receipt file (text or bytes) verified as
 * `varsko receipt verify` does, against the enrollment's gateway
 * certificate and organisation key. Returns the receipt. `bad_json`,
 * `duplicate_key`, `bad_frame`, `bad_cert`, `bad_signature`.
 */
export function receiptVerifyText(session, text) {
	let o;
	try {
		o = jsonLoad(text, RECEIPT_FILE_MAX);
	} catch (e) {
		if (e instanceof VarskoError && e.code === 'duplicate_key') throw e;
		return refuse('bad_json', 'the receipt file is not one JSON object');
	}
	let r;
	try {
		r = flowReceiptFromJson(o);
	} catch {
		return refuse('bad_frame', 'the receipt file does not hold a well-formed receipt');
	}
	receiptCheck(r, gatewayCert(session), session.orgPk);
	return r;
}

/** receipt_save(): keep the receipt on this device (sealed under the local key). */
export async function receiptSave(session, r) {
	if (!flowReferenceValid(r.reference)) refuse('bad_input', 'reference');
	await session.pinPut(RECEIPT_PIN + r.reference, flowReceiptToJson(r));
}

/** The kept receipt of ref (verified again), or null. */
export async function receiptLoad(session, ref) {
	const text = await session.pinGet(RECEIPT_PIN + ref);
	return typeof text === 'string' ? receiptVerifyText(session, text) : null;
}

/** receipt_info(): the receipt as the lists show it (plain values; times in Unix seconds). */
export function receiptInfo(r, duplicate = false) {
	return {
		reference: r.reference, submission: r.submission, sender: r.sender, senderUser: r.senderUser,
		institution: r.institution, team: r.team, gateway: r.gateway, received: r.received,
		vurderingDue: r.vurderingDue, kvitteringDue: r.kvitteringDue, tilbagemeldingDue: r.tilbagemeldingDue, duplicate,
	};
}
