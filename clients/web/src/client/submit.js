// Sending an underretning from the browser, as clients/lib/submit.c
// (docs/FLOW.md steps 1 to 4): the submission id (the same rule as
// varsko_submission_id, so a resend has the same id and gets the same
// receipt), the routing header aged by today's Copenhagen date, `route`, the
// seal targets (the team key's newest generation and the sender's own user
// key, or the verified roster of a team without a key), the envelope, and
// the receipt checked against the gateway certificate and organisation key.
//
// The document is plaintext only in the caller's buffer and inside the
// envelope; the copies made here are wiped.
import { b64, concat, equalBytes, fail, Fields, now, sodium, toHex, utf8, VarskoError, wipe } from '../crypto/codec.js';
import { envSeal, envToJson, ENV_JSON_MAX } from '../crypto/envelope.js';
import { flowEnvelopeHash, flowRosterFromJson, flowRosterReaders, flowRosterVerify } from '../crypto/flow.js';
import { keyboxGenWipe, keyboxUserKeyId } from '../crypto/keybox.js';
import { uhAgeGroup, uhHeaderEncode, uhHeaderToJson } from '../crypto/underretning.js';
import { UH_ATTACH_MAX, uhCopenhagenDate, uhParse } from '../proto/underretning.js';
import { fileWant, uploadDrop, uploadFile } from './attach.js';
import { gatewayCert, receiptCheck, receiptFromMap, receiptInfo, receiptJson, receiptSave } from './receipt.js';
import { teamKeyForSender } from './teamkey.js';
import { refuse, str, textMap, userKeyCurrent } from './userkey.js';

const SUBMISSION_TAG = 'varsko-submission-v1';
/** Seconds a sender waits for a stale team key to be renewed (PROTOCOL.md 16.6; client.h SEAL_STALE_WAIT). */
export const SEAL_STALE_WAIT = 20;

const asBytes = (doc) => (typeof doc === 'string' ? utf8(doc) : Uint8Array.from(doc));

/**
 * varsko_submission_id(): "s-" and 32 hex digits of BLAKE2b-256 over
 * enc("varsko-submission-v1", user, document) (the first 16 bytes).
 */
export function submissionId(user, doc) {
	if (typeof user !== 'string' || user === '') fail('bad_input', 'user');
	const d = asBytes(doc);
	const input = new Fields(SUBMISSION_TAG).str(user).bytes(d).done();
	try {
		const h = sodium.crypto_generichash(32, input, null);
		return `s-${toHex(h.subarray(0, 16))}`;
	} finally {
		wipe(input, d);
	}
}

/**
 * uh_parse() as varsko_underret_send applies it (proto/underretning.js): the
 * parsed document, or its first problem as the C's code (`too_large`,
 * `bad_json`, `duplicate_key`, `bad_frame`) with `problem` and `path`.
 */
export function documentParse(doc) {
	try {
		return uhParse(doc);
	} catch (e) {
		if (e instanceof VarskoError)
			e.message = `${e.code}: the document is not valid: ${e.code === 'too_large' ? 'too_long' : e.problem ?? e.code} at ${e.path || 'the document'}`;
		throw e;
	}
}

/* ---- the roster ------------------------------------------------------------------------------ */

/** roster_check(): the roster (Map) for `team`, verified against orgPk at t. */
export function rosterCheck(rosterMap, team, orgPk, t) {
	let r;
	try {
		r = flowRosterFromJson(rosterMap);
	} catch (e) {
		if (e instanceof VarskoError) refuse(e.code, 'the team roster is malformed');
		throw e;
	}
	if (r.team !== team || !/^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$/.test(r.team)) refuse('bad_cert', 'the roster is not for the team named');
	try {
		flowRosterVerify(r, orgPk, t);
	} catch (e) {
		if (e instanceof VarskoError)
			refuse(e.code === 'device_expired' ? 'bad_cert' : e.code, `the roster of team ${r.team} does not verify: ${e.message}`);
		throw e;
	}
	return r;
}

/** roster_accept(): never older than the newest version this device saw; the same version lists the same devices. */
export async function rosterAccept(session, r) {
	const name = `roster:${r.team}`;
	const old = await session.pinGet(name);
	const devs = r.devices.map((c) => [c.device, toHex(c.boxPk)]);
	const version = BigInt(r.version);
	if (old) {
		const ov = BigInt(old.version);
		if (version < ov)
			refuse('bad_cert', `the server sent version ${version} of team ${r.team}'s roster, older than version ${ov} seen before`);
		if (version === ov) {
			if (JSON.stringify(old.devices) !== JSON.stringify(devs))
				refuse('bad_cert', `version ${version} of team ${r.team}'s roster lists other devices than before`);
			return;
		}
	}
	await session.pinPut(name, { version: version.toString(), devices: devs });
}

async function targetsRoster(session, team, rosterMap) {
	let m = rosterMap;
	if (!m) {
		const ans = await session.request({ type: 'roster', team }, 'routed');
		m = ans.raw.get('roster');
	}
	const r = rosterCheck(m, team, session.orgPk, now());
	await rosterAccept(session, r);
	return { keyed: false, rcpt: r.devices.map((c) => ({ device: c.device, boxPk: c.boxPk })) };
}

const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

/**
 * seal_targets_for(): whom an envelope for `team` is sealed to: { keyed,
 * rcpt: [{ device, boxPk }] }: the team key's newest generation (waiting up
 * to SEAL_STALE_WAIT seconds for a stale key to be renewed) and, with
 * ownCopy, the sender's current user key; the verified roster when the
 * team has no key or this device holds no organisation root.
 */
export async function sealTargets(session, team, rosterMap = null, ownCopy = true, staleWait = SEAL_STALE_WAIT) {
	if (!session.rootPk) return targetsRoster(session, team, rosterMap);
	let k;
	for (let waited = 0; ; waited++) {
		try {
			k = await teamKeyForSender(session, team);
			break;
		} catch (e) {
			if (!(e instanceof VarskoError) || e.code !== 'stale_key' || waited >= staleWait) throw e;
			await sleep(1000);
		}
	}
	if (!k.hasKey) return targetsRoster(session, team, rosterMap);
	const out = { keyed: true, rcpt: [{ device: k.keyId, boxPk: k.pub }] };
	if (!ownCopy) return out;
	let own;
	try {
		own = await userKeyCurrent(session);
	} catch (e) {
		if (e instanceof VarskoError && (e.code === 'not_found' || e.code === 'not_cross_signed')) return out;
		throw e;
	}
	try {
		out.rcpt.push({ device: keyboxUserKeyId(session.user, own.generation), boxPk: Uint8Array.from(own.boxPk) });
	} finally {
		keyboxGenWipe(own);
	}
	return out;
}

/* ---- sending ---------------------------------------------------------------------------------- */

/**
 * varsko_underret_send(): send the document (text or UTF-8 bytes). opts:
 * { submission } (default: submissionId(user, doc)). Returns { receipt
 * (flow.js form), receiptJson, info (receiptInfo with duplicate), teamKey,
 * rosterOnly, noReader }. The receipt is checked and kept before return.
 * `forbidden` for a device that may not send for the document's
 * institution; a resend (same submission) after a lost connection gets the
 * same receipt (`duplicate: true`).
 */
export async function submit(session, doc, opts = {}) {
	const bytes = asBytes(doc);
	try {
		const d = documentParse(bytes);
		const cert = session.cert;
		if (cert.role !== 'fagperson' || !cert.institutions.includes(d.institution))
			refuse('forbidden', "this device may not send underretninger for the document's institution");
		let sub;
		if (opts.submission !== undefined && opts.submission !== null) {
			if (!/^[\x21-\x7e]{1,64}$/.test(opts.submission)) refuse('bad_input', 'a submission id is 1 to 64 visible ASCII characters');
			sub = opts.submission;
		} else {
			sub = submissionId(session.user, bytes);
		}
		/* 1. The routing header, aged by the Copenhagen date of today. */
		const t = now();
		let today;
		try {
			today = uhCopenhagenDate(t);
		} catch {
			refuse('bad_input', 'the clock of this computer is outside 1996..2099');
		}
		let ageGroup;
		try {
			ageGroup = uhAgeGroup(d.child.birth, today);
		} catch {
			refuse('bad_input', 'no routing header: the child is older than 22 or born after today');
		}
		const hdr = { institution: d.institution, ageGroup, akut: d.akut, handicap: d.handicap, submission: sub, created: t };
		/* 2. The route and the team's roster. */
		const routed = await session.request({ type: 'route', header: textMap(uhHeaderToJson(hdr)) }, 'routed');
		const team = str(routed.raw, 'team');
		if (!team) refuse('protocol', 'the route answer names no team');
		const rosterMap = routed.raw.get('roster') ?? null;
		let noReader = false;
		if (rosterMap instanceof Map) {
			try {
				noReader = flowRosterReaders(rosterCheck(rosterMap, team, session.orgPk, t)) === 0;
			} catch {
				noReader = false;
			}
		}
		/* 3. Seal for the team's key and the own user key, or a team without a key's roster, and submit. */
		const to = await sealTargets(session, team, rosterMap instanceof Map ? rosterMap : null, true, opts.staleWait);
		const sk = session.signSk();
		let env;
		try {
			env = envSeal({ kind: 'underretning', objectId: sub, sender: session.device, routing: uhHeaderEncode(hdr) },
				to.rcpt, bytes, sk);
		} catch (e) {
			if (e instanceof VarskoError) e.message = `${e.code}: cannot seal the document for team ${team}`;
			throw e;
		} finally {
			wipe(sk);
		}
		const hash = flowEnvelopeHash(env);
		const ans = await session.request({ type: 'submit', envelope: textMap(envToJson(env), ENV_JSON_MAX) }, 'receipt');
		/* 4. The receipt: signed by the gateway, and for what was sent. */
		const dup = ans.raw.get('duplicate') === true;
		const rc = receiptFromMap(ans.raw.get('receipt'));
		receiptCheck(rc, gatewayCert(session), session.orgPk);
		if (rc.submission !== sub || rc.senderUser !== session.user)
			refuse('bad_signature', 'the receipt is for another submission or user');
		if (!dup && (!equalBytes(rc.envelopeHash, hash) || rc.sender !== session.device || rc.institution !== d.institution ||
		    rc.team !== team))
			refuse('bad_signature', 'the receipt does not name the envelope, device, institution or team that was sent');
		await receiptSave(session, rc);
		return {
			receipt: rc, receiptJson: receiptJson(rc), info: receiptInfo(rc, dup), teamKey: !dup && to.keyed,
			rosterOnly: !dup && !to.keyed && !!session.rootPk, noReader,
		};
	} finally {
		wipe(bytes);
	}
}

/**
 * varsko_underret_send_files(): files ([{ name, mediaType, data }], at most
 * 16) uploaded bound to the submission, then the document naming them (id,
 * name, media_type, size, key, sha256, PROTOCOL.md 17.9) sent. The
 * submission id covers the document and the files' hashes, so the same send
 * again is the same underretning; a submission varskod already has is
 * answered with its receipt (`duplicate`). Returns what submit() returns.
 */
export async function submitWithFiles(session, docText, files, opts = {}) {
	if (!files || files.length === 0) return submit(session, docText, opts);
	if (files.length > UH_ATTACH_MAX) refuse('bad_input', `an underretning has at most ${UH_ATTACH_MAX} attachments`);
	const o = JSON.parse(docText);
	if (Object.hasOwn(o, 'attachments')) refuse('bad_input', 'the document lists attachments itself; give the files instead');
	const wants = files.map((f) => fileWant(f.name, f.mediaType, f.data));
	const sub = opts.submission ?? submissionId(session.user, concat(utf8(docText), ...wants.map((w) => w.sha256)));
	const kept = [];
	const atts = [];
	for (let i = 0; i < files.length; i++) {
		let r;
		try {
			r = await uploadFile(session, 'submission', sub, wants[i], files[i].data);
		} catch (e) {
			// Received already (sent again): varskod answers the submission with its receipt, a duplicate.
			if (e instanceof VarskoError && e.code === 'exists') return submit(session, docText, { submission: sub });
			throw e;
		}
		kept.push(r.name);
		const f = r.upload.f;
		atts.push({ id: f.blob, name: f.name, media_type: f.mediaType, size: f.size, key: b64(f.key), sha256: b64(f.sha256) });
	}
	o.attachments = atts;
	const res = await submit(session, JSON.stringify(o), { submission: sub });
	for (const n of kept) uploadDrop(n);
	return res;
}
