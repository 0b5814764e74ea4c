// The verified timeline of an underretning (docs/FLOW.md step 8), as
// clients/lib/status.c: the receipt against the gateway certificate and the
// organisation key, the sender's certificate, and every event against its
// signer's certificate and what that role may sign; a message for the
// notifier (kvittering, tilbagemelding) checked against the event and
// opened with this device's key or the user key it was sealed to. One step
// that does not verify refuses the whole timeline.
import { certFromJson, certOk } from '../crypto/cert.js';
import { equalBytes, fail, VarskoError, wipe } from '../crypto/codec.js';
import { envFromJson, envOpen, envVerify } from '../crypto/envelope.js';
import { flowEnvelopeHash, flowEventFromJson, flowEventVerify, flowReferenceValid } from '../crypto/flow.js';
import { keyboxUserKeyId } from '../crypto/keybox.js';
import { jsonLoad } from '../crypto/schema.js';
import { plain } from './conn.js';
import { receiptCheck, receiptFromMap, receiptInfo } from './receipt.js';
import { refuse, userKeyAll, userKeysWipe } from './userkey.js';

/** Bytes of a kvittering or tilbagemelding text (VARSKO_MESSAGE_MAX). */
export const MESSAGE_MAX = 16000;

/** msg_text_valid(): UTF-8 text of at most 16 000 bytes, no control characters but LF and TAB. */
export function messageTextValid(s) {
	return typeof s === 'string' && new TextEncoder().encode(s).length <= MESSAGE_MAX &&
		// eslint-disable-next-line no-control-regex
		!/[\x00-\x08\x0b-\x1f\x7f-\x9f]/.test(s) && !/[\ud800-\udfff]/.test(s.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''));
}

/** msg_encode(): the plaintext {"text":...} of a message (JSON as the C writes it). */
export function messageEncode(text) {
	if (!messageTextValid(text)) fail('bad_input', 'the message must be UTF-8 text of at most 16000 bytes without control characters');
	return new TextEncoder().encode(`{"text":${JSON.stringify(text)}}`);
}

/** msg_decode(): the text of a message plaintext; `bad_frame` for anything but {"text": valid text}. */
export function messageDecode(pt) {
	let o;
	try {
		o = jsonLoad(pt, 1 << 20);
	} catch {
		return fail('bad_frame', 'the message is not a text');
	}
	const t = o.get('text');
	if (o.size !== 1 || typeof t !== 'string' || !messageTextValid(t)) fail('bad_frame', 'the message is not a text');
	return t;
}


/** event_check(): the signer's certificate as of the event's time, its device, the signature. */
export function eventCheck(ev, cert, orgPk) {
	if (!certOk(cert, orgPk, ev.time) || cert.device !== ev.device) fail('bad_cert', "the event's signer's certificate does not verify");
	try {
		flowEventVerify(ev, cert.signPk);
	} catch {
		fail('bad_signature', "the event's signature does not verify");
	}
}

/* may_sign(): who signs what while the underretning is with `team`. */
function maySign(kind, c, team) {
	const role = c.role;
	if (kind === 'leveret') return role === 'gateway';
	if (c.team !== team) return false;
	switch (kind) {
	case 'modtaget':
	case 'journaliseret':
		return role === 'agent';
	case 'aabnet':
		return role === 'myndighed' || role === 'leder';
	case 'vurderet':
	case 'kvitteret':
	case 'tilbagemelding':
	case 'omdirigeret':
	case 'afsluttet':
		return role === 'myndighed';
	default:
		return false;
	}
}

function messageKind(kind) {
	if (kind === 'kvitteret') return 'kvittering';
	if (kind === 'tilbagemelding') return 'tilbagemelding';
	return null;
}

/* check_message(): the envelope is the event's, by its signer; opened when it is for us. */
function checkMessage(eo, ev, cert, ref, me, uks, step) {
	const kind = messageKind(ev.kind);
	let env;
	try {
		env = envFromJson(eo);
	} catch {
		return fail('bad_frame', `the message of the ${ev.kind} event is malformed`);
	}
	let ok = false;
	try {
		envVerify(env, cert.signPk);
		ok = ev.envelopeHash !== undefined && equalBytes(flowEnvelopeHash(env), ev.envelopeHash) && env.sender === ev.device &&
			env.kind === kind && env.objectId === ref;
	} catch {
		ok = false;
	}
	if (!ok) fail('bad_signature', `the message of the ${ev.kind} event is not the one its signer signed`);
	const has = (id) => env.wraps.some((w) => w.device === id);
	let as = null;
	let sk = null;
	if (me && has(me.device)) {
		as = me.device;
		sk = me.boxSk;
	} else {
		const k = uks.find((u) => has(u.id));
		if (k) {
			as = k.id;
			sk = k.boxSk;
		}
	}
	if (as === null) return;
	let pt;
	try {
		pt = envOpen(env, cert.signPk, as, sk, kind, ref);
	} catch {
		fail('crypto', `the message of the ${ev.kind} event does not open`);
	}
	try {
		const text = messageDecode(pt);
		step.message = text === '' ? null : text;
	} finally {
		wipe(pt);
	}
}

function step(name, time, role, team, device) {
	return { step: name, time, role, team, device, verified: true, akut: null, started: null, message: null, newTeam: null };
}

/**
 * status_verify(): the timeline answer (Map) of ref verified against
 * orgPk. me: { device, boxSk } or null; uks: [{ id, boxSk }] the user-key
 * generations to open messages with. Returns { reference, receipt, info,
 * senderCert, steps }.
 */
export function statusVerify(tl, ref, orgPk, me = null, uks = []) {
	const events = tl.get('events');
	let rc;
	let gw;
	let sender;
	try {
		rc = receiptFromMap(tl.get('receipt'));
		gw = certFromJson(tl.get('gateway_cert'));
		sender = certFromJson(tl.get('sender_cert'));
		if (!Array.isArray(events)) throw new Error();
	} catch {
		return fail('bad_frame', 'the timeline is malformed');
	}
	receiptCheck(rc, gw, orgPk);
	if (rc.reference !== ref) fail('bad_signature', "the timeline's receipt is for another underretning");
	if (!certOk(sender, orgPk, rc.received) || sender.role !== 'fagperson' || sender.device !== rc.sender ||
	    sender.user !== rc.senderUser || !sender.institutions.includes(rc.institution))
		fail('bad_cert', "the sender's certificate does not verify or is not the receipt's sender");
	const steps = [step('sendt', rc.received, sender.role, '', rc.sender),
		step('modtaget_gateway', rc.received, gw.role, rc.team, rc.gateway)];
	let team = rc.team;
	events.forEach((entry, i) => {
		let ev;
		let cert;
		try {
			ev = flowEventFromJson(entry.get('event'));
			cert = certFromJson(entry.get('cert'));
		} catch {
			fail('bad_frame', `event ${i + 1} of the timeline is malformed`);
		}
		if (ev.reference !== ref) fail('bad_signature', `event ${i + 1} (${ev.kind}) is for another underretning`);
		try {
			eventCheck(ev, cert, orgPk);
		} catch (e) {
			fail(e.code, e.code === 'bad_cert' ? `event ${i + 1} (${ev.kind}): its signer's certificate does not verify against the organisation key`
				: `event ${i + 1} (${ev.kind}): its signature does not verify`);
		}
		if (!maySign(ev.kind, cert, team)) fail('bad_cert', `event ${i + 1} (${ev.kind}) is signed by a device that may not sign it`);
		const s = step(ev.kind, ev.time, cert.role, ev.kind === 'leveret' ? team : cert.team, ev.device);
		if (ev.kind === 'vurderet') s.akut = ev.akut;
		if (ev.kind === 'tilbagemelding') s.started = ev.started;
		const eo = entry.get('envelope');
		if ((eo !== undefined) !== (messageKind(ev.kind) !== null))
			fail('bad_frame', `event ${i + 1} (${ev.kind}) ${eo !== undefined ? 'carries an unexpected' : 'lacks its'} a message`);
		if (eo !== undefined) checkMessage(eo, ev, cert, ref, me, uks, s);
		if (ev.kind === 'omdirigeret') {
			s.newTeam = ev.team;
			team = ev.team;
		}
		steps.push(s);
	});
	return { reference: ref, receipt: rc, info: receiptInfo(rc), senderCert: sender, steps };
}

/** The `mine` list: { items: [...] } as varskod answers it (plain objects, integers BigInt). */
export async function mine(session) {
	const ans = await session.request({ type: 'mine' }, 'items');
	const o = plain(ans.raw);
	delete o.type;
	delete o.id;
	return o;
}

/**
 * varsko_status(): the verified timeline of ref, messages to the notifier
 * opened with this device's key or (a fagperson) every user-key generation
 * it holds; without the user key the timeline still verifies, the messages
 * stay closed (message null).
 */
export async function status(session, ref) {
	if (typeof ref !== 'string' || !flowReferenceValid(ref)) refuse('bad_input', 'a reference looks like U-2026-000123');
	const ans = await session.request({ type: 'status', reference: ref }, 'timeline');
	let gens = [];
	if (session.role === 'fagperson') {
		try {
			gens = await userKeyAll(session);
		} catch (e) {
			if (!(e instanceof VarskoError)) throw e;
			gens = [];
		}
	}
	const boxSk = session.boxSk();
	try {
		const uks = gens.map((g) => ({ id: keyboxUserKeyId(session.user, g.generation), boxSk: g.boxSk }));
		return statusVerify(ans.raw, ref, session.orgPk, { device: session.device, boxSk }, uks);
	} finally {
		wipe(boxSk);
		userKeysWipe(gens);
	}
}
