// The authority's side of the flow (docs/FLOW.md step 7), as
// clients/lib/caseworker.c: the inbox and the leder's overview, an
// underretning fetched and checked (receipt, sender certificate or the
// re-routing that re-sealed it, envelope signature, routing header) and
// opened with the notifier's own user key copy, the team key or this
// device's key; the signed events, with the messages to the notifier sealed
// to the notifier's current user key (or certified devices), and re-routing
// by re-sealing the same document for the other team.
import { certFromJson, certOk } from '../crypto/cert.js';
import { equalBytes, fail, fromUtf8, now, VarskoError, wipe } from '../crypto/codec.js';
import { envFromJson, envOpen, envSeal, envToJson, envVerify, ENV_JSON_MAX, ENV_RECIPIENTS_MAX } from '../crypto/envelope.js';
import { flowEnvelopeHash, flowEventFromJson, flowEventSign, flowEventToJson, flowReferenceValid } from '../crypto/flow.js';
import { keyboxGenWipe, keyboxKeyIdSplit, keyboxOwnerKind, keyboxUserKeyId } from '../crypto/keybox.js';
import { uhHeaderDecode } from '../crypto/underretning.js';
import { plain } from './conn.js';
import { receiptCheck, receiptFromMap, receiptInfo, receiptJson } from './receipt.js';
import { eventCheck, messageEncode, statusVerify } from './status.js';
import { sealTargets } from './submit.js';
import { uhParse } from '../proto/underretning.js';
import { teamKeyOpen } from './teamkey.js';
import { refuse, str, textMap, userChainOf, userKeyAll, userKeysWipe } from './userkey.js';


function refOk(ref) {
	if (typeof ref !== 'string' || !flowReferenceValid(ref)) refuse('bad_input', 'a reference looks like U-2026-000123');
}

async function simpleList(session, type, want) {
	const ans = await session.request({ type }, want);
	const o = plain(ans.raw);
	delete o.type;
	delete o.id;
	return o;
}

/** The team's inbox: { items: [...] } as varskod answers it. */
export function inbox(session) {
	return simpleList(session, 'inbox', 'items');
}

/** The leder's overview of deadlines: { ... } as varskod answers it. */
export function overview(session) {
	return simpleList(session, 'overview', 'deadlines');
}


async function timeline(session, ref) {
	const ans = await session.request({ type: 'status', reference: ref }, 'timeline');
	return ans.raw;
}

/* rerouted_signer(): the verified omdirigeret event that names this envelope vouches for its signer. */
async function reroutedSigner(session, ref, hash, f) {
	const tl = await timeline(session, ref);
	statusVerify(tl, ref, session.orgPk);
	let found = false;
	for (const entry of tl.get('events')) {
		const ev = flowEventFromJson(entry.get('event'));
		const cert = certFromJson(entry.get('cert'));
		if (ev.kind !== 'omdirigeret') continue;
		found = false;
		if (ev.envelopeHash && equalBytes(ev.envelopeHash, hash) && ev.device === f.env.sender) {
			try {
				eventCheck(ev, cert, session.orgPk);
				found = true;
				f.signer = cert;
			} catch {
				found = false;
			}
		}
	}
	if (!found) refuse('bad_signature', 'the envelope is neither the one the receipt names nor the one of the last re-routing');
	f.notifier = certFromJson(tl.get('sender_cert'));
}

/* open_own_copy(): the box for this user's user key; null when there is none. */
async function openOwnCopy(session, f, expectObject) {
	for (const w of f.env.wraps) {
		let id;
		try {
			id = keyboxKeyIdSplit(w.device);
		} catch {
			continue;
		}
		if (keyboxOwnerKind(id.owner) !== 'user' || id.owner.slice(5) !== session.user) continue;
		let gens;
		try {
			gens = await userKeyAll(session);
		} catch (e) {
			if (e instanceof VarskoError && e.code === 'not_found') refuse('crypto', e.message);
			throw e;
		}
		try {
			const g = gens.find((x) => x.generation === id.generation);
			if (!g) refuse('crypto', `this device does not hold generation ${id.generation} of your user key`);
			try {
				return envOpen(f.env, f.signer.signPk, keyboxUserKeyId(session.user, id.generation), g.boxSk, 'underretning', expectObject);
			} catch {
				return refuse('crypto', 'your copy does not open with your user key');
			}
		} finally {
			userKeysWipe(gens);
		}
	}
	return null;
}

/* open_envelope(): the own copy; else the team key it is sealed to; else as this device (a roster envelope). */
async function openEnvelope(session, f, expectObject) {
	const own = await openOwnCopy(session, f, expectObject);
	if (own) return own;
	for (const w of f.env.wraps) {
		let id;
		try {
			id = keyboxKeyIdSplit(w.device);
		} catch {
			continue;
		}
		if (keyboxOwnerKind(id.owner) !== 'team') continue;
		const team = id.owner.slice(5);
		const g = await teamKeyOpen(session, team, id.generation);
		try {
			return envOpen(f.env, f.signer.signPk, w.device, g.boxSk, 'underretning', expectObject);
		} catch {
			return refuse('crypto', `the underretning does not open with team ${team}'s key`);
		} finally {
			keyboxGenWipe(g);
		}
	}
	const sk = session.boxSk();
	try {
		return envOpen(f.env, f.signer.signPk, session.device, sk, 'underretning', expectObject);
	} catch {
		return refuse('crypto', 'the underretning does not open for this device');
	} finally {
		wipe(sk);
	}
}

/* fetch_open(): fetch ref, check everything and with `open` decrypt the document. */
async function fetchOpen(session, ref, open) {
	const ans = await session.request({ type: 'fetch', reference: ref }, 'underretning');
	const m = ans.raw;
	const f = { rc: null, notifier: null, signer: null, env: null, hdr: null, pt: null };
	let gw;
	try {
		if (str(m, 'reference') !== ref) throw new Error();
		f.rc = receiptFromMap(m.get('receipt'));
		gw = certFromJson(m.get('gateway_cert'));
		f.signer = certFromJson(m.get('sender_cert'));
		f.env = envFromJson(m.get('envelope'));
	} catch {
		refuse('bad_frame', `the server's answer for ${ref} is malformed`);
	}
	receiptCheck(f.rc, gw, session.orgPk);
	if (f.rc.reference !== ref) refuse('bad_signature', 'the receipt is for another underretning');
	let hash;
	try {
		hash = flowEnvelopeHash(f.env);
	} catch {
		hash = null;
	}
	if (!hash || f.env.kind !== 'underretning') refuse('bad_signature', 'the envelope is not an underretning');
	let expectObject;
	if (f.env.sender === f.rc.sender && f.env.objectId === f.rc.submission && equalBytes(hash, f.rc.envelopeHash)) {
		expectObject = f.rc.submission;
		const s = f.signer;
		if (!certOk(s, session.orgPk, f.rc.received) || s.role !== 'fagperson' || s.device !== f.rc.sender ||
		    s.user !== f.rc.senderUser || !s.institutions.includes(f.rc.institution))
			refuse('bad_cert', "the sender's certificate does not verify against the organisation key or is not the receipt's sender");
		f.notifier = s;
	} else if (f.env.objectId === ref) {
		expectObject = ref;
		await reroutedSigner(session, ref, hash, f);
	} else {
		refuse('bad_signature', 'the envelope is not the one the receipt names');
	}
	try {
		envVerify(f.env, f.signer.signPk);
	} catch {
		refuse('bad_signature', "the envelope's signature does not verify");
	}
	try {
		f.hdr = uhHeaderDecode(f.env.routing);
	} catch {
		f.hdr = null;
	}
	if (!f.hdr || f.hdr.institution !== f.rc.institution || f.hdr.submission !== f.rc.submission)
		refuse('bad_signature', 'the routing header does not agree with the receipt');
	if (open) {
		f.pt = await openEnvelope(session, f, expectObject);
		let d;
		try {
			d = uhParse(f.pt);
		} catch (e) {
			wipe(f.pt);
			if (e instanceof VarskoError) e.message = `${e.code}: the decrypted document is not valid: ${e.problem ?? e.code} at ${e.path || 'the document'}`;
			throw e;
		}
		if (d.institution !== f.rc.institution || d.akut !== f.hdr.akut || d.handicap !== f.hdr.handicap) {
			wipe(f.pt);
			refuse('bad_signature', 'the document does not agree with its routing header');
		}
	}
	return f;
}

/**
 * varsko_underretning_open(): ref fetched, verified and opened. Returns {
 * reference, receipt, receiptJson, info, senderName, signer, ageGroup,
 * document (the document's JSON text, compact, in its order), doc (parsed,
 * plain objects) }.
 */
export async function underretningOpen(session, ref) {
	refOk(ref);
	const f = await fetchOpen(session, ref, true);
	try {
		const text = fromUtf8(f.pt);
		const doc = JSON.parse(text);
		return {
			reference: ref, receipt: f.rc, receiptJson: receiptJson(f.rc), info: receiptInfo(f.rc), senderName: f.notifier.name,
			signer: f.signer.device, ageGroup: f.hdr.ageGroup, document: JSON.stringify(doc), doc,
		};
	} finally {
		wipe(f.pt);
	}
}

/**
 * `varsko myndighed show`: open ref and, for the team (myndighed, leder),
 * send the "aabnet" event as the CLI does after showing it; the notifier's
 * own copy ("underret show") sends nothing. opts.markOpened overrides.
 */
export async function openUnderretning(session, ref, opts = {}) {
	const o = await underretningOpen(session, ref);
	const mark = opts.markOpened ?? session.role !== 'fagperson';
	if (mark) o.openedSeq = await event(session, ref, 'aabnet');
	return o;
}

/* notifier_recipients(): the notifier's devices, each certified now for the receipt's user as a fagperson. */
async function notifierRecipients(session, ref, senderUser) {
	const ans = await session.request({ type: 'notifier_devices', reference: ref }, 'devices');
	const certs = ans.raw.get('certs');
	if (!Array.isArray(certs)) refuse('bad_frame', "the notifier's device list is malformed");
	const t = now();
	const out = certs.map((v, i) => {
		let c;
		try {
			if (i >= ENV_RECIPIENTS_MAX) throw new Error();
			c = certFromJson(v);
		} catch {
			return refuse('bad_frame', "the notifier's device list is malformed");
		}
		if (!certOk(c, session.orgPk, t) || c.role !== 'fagperson' || c.user !== senderUser)
			refuse('bad_cert', "a device in the notifier's list is not certified for the notifier; nothing was sent");
		return { device: c.device, boxPk: c.boxPk };
	});
	if (out.length === 0) refuse('not_found', "the notifier has no active device to receive the message");
	return out;
}

/* seal_message(): a kvittering or tilbagemelding for the notifier of ref. */
async function sealMessage(session, ref, kind, message) {
	const pt = messageEncode(message ?? '');
	try {
		/* Who the notifier is comes from the verified receipt, not from the server's say-so. */
		const st = statusVerify(await timeline(session, ref), ref, session.orgPk);
		const senderUser = st.receipt.senderUser;
		const uc = await userChainOf(session, senderUser);
		let rcpt;
		if (uc.st.generation > 0n) rcpt = [{ device: keyboxUserKeyId(senderUser, uc.st.generation), boxPk: uc.st.ukBoxPk }];
		else rcpt = await notifierRecipients(session, ref, senderUser);
		const sk = session.signSk();
		try {
			return envSeal({ kind, objectId: ref, sender: session.device, routing: new Uint8Array(0) }, rcpt, pt, sk);
		} catch (e) {
			if (e instanceof VarskoError) e.message = `${e.code}: cannot seal the message for the notifier`;
			throw e;
		} finally {
			wipe(sk);
		}
	} finally {
		wipe(pt);
	}
}

/* reseal(): the same document, with the same routing bytes, for the other team's key or verified roster (16.7). */
async function reseal(session, ref, team) {
	const f = await fetchOpen(session, ref, true);
	try {
		const to = await sealTargets(session, team, null, false);
		const sk = session.signSk();
		try {
			return envSeal({ kind: 'underretning', objectId: ref, sender: session.device, routing: f.env.routing }, to.rcpt, f.pt, sk);
		} finally {
			wipe(sk);
		}
	} finally {
		wipe(f.pt);
	}
}

const KIND_ALIASES = Object.freeze({
	vurdering: 'vurderet', kvittering: 'kvitteret', omdirigering: 'omdirigeret', afslutning: 'afsluttet', aabnet: 'aabnet',
	vurderet: 'vurderet', kvitteret: 'kvitteret', tilbagemelding: 'tilbagemelding', omdirigeret: 'omdirigeret',
	afsluttet: 'afsluttet',
});

/**
 * varsko_event(): sign and send one event on ref. kind: 'aabnet',
 * 'vurderet' (or 'vurdering'; args.akut boolean), 'kvitteret' ('kvittering';
 * args.message), 'tilbagemelding' (args.started boolean, args.message
 * optional), 'omdirigeret' ('omdirigering'; args.team), 'afsluttet'
 * ('afslutning'). Returns the event's seq (BigInt) when varskod gives one.
 */
export async function event(session, ref, kind, args = {}) {
	refOk(ref);
	const k = typeof kind === 'string' && Object.hasOwn(KIND_ALIASES, kind) ? KIND_ALIASES[kind] : null;
	if (!k) refuse('bad_input', `this device cannot send a ${kind} event`);
	const ev = { version: 1, reference: ref, kind: k, device: session.device, time: now() };
	let env = null;
	switch (k) {
	case 'aabnet':
	case 'afsluttet':
		break;
	case 'vurderet':
		if (typeof args.akut !== 'boolean') refuse('bad_input', 'vurderet needs akut: yes or no');
		ev.akut = args.akut;
		break;
	case 'kvitteret':
		if (typeof args.message !== 'string' || args.message === '') refuse('bad_input', 'a kvittering needs a message for the notifier');
		env = await sealMessage(session, ref, 'kvittering', args.message);
		break;
	case 'tilbagemelding':
		if (typeof args.started !== 'boolean') refuse('bad_input', 'a tilbagemelding says whether anything was started: yes or no');
		ev.started = args.started;
		env = await sealMessage(session, ref, 'tilbagemelding', args.message);
		break;
	case 'omdirigeret':
		if (typeof args.team !== 'string' || !/^[\x21-\x7e]{1,64}$/.test(args.team)) refuse('bad_input', "omdirigeret needs the new team's id");
		ev.team = args.team;
		env = await reseal(session, ref, args.team);
		break;
	default:
		fail('bad_input', `this device cannot send a ${kind} event`);
	}
	if (env) ev.envelopeHash = flowEnvelopeHash(env);
	const sk = session.signSk();
	try {
		flowEventSign(ev, sk);
	} finally {
		wipe(sk);
	}
	const frame = { type: 'event', event: textMap(flowEventToJson(ev)) };
	if (env) frame.envelope = textMap(envToJson(env), ENV_JSON_MAX);
	const ans = await session.request(frame, 'event_ok');
	const seq = ans.raw.get('seq');
	return typeof seq === 'bigint' ? seq : null;
}
