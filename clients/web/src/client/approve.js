// Approving a new device from an existing one (PROTOCOL.md 15.7), both
// sides, as clients/lib/approve.c. varskod only relays the approval; the new
// device commits to its nonce and keys before it learns the old device's
// nonce and reveals its own only after; both derive the six-digit code, the
// user types the new device's code on the old one, which compares once, in
// constant time, and on a match appends device_add and seals the user key
// to the new device (userAddDevice).
//
// An approval handle is a plain object; its nonce is wiped once used
// (approvalForget wipes the rest).
import { b64, equalBytes, now, sodium, timeParse, unb64, VarskoError, wipe } from '../crypto/codec.js';
import { certFromJson, certVerify } from '../crypto/cert.js';
import {
	keyboxApprovalCode, keyboxApprovalCommit, keyboxApprovalEqual, keyboxApprovalNonce, keyboxGenWipe,
	KEYBOX_APPROVAL_DIGITS,
} from '../crypto/keybox.js';
import { refuse, str, userAddDevice, userChainOf, userKeyCurrent, userKeyFindDevice } from './userkey.js';

export const APPROVE_POLL_MS = 500;
/** Seconds the new device waits past the approval's expiry for its key box. */
export const APPROVE_GRACE_S = 30;
const APPROVE_NONCE_LEN = 32;
const APPROVE_TYPED_MAX = 64;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** approve_code_of(): the six digits from both nonces, the old device's key and the new device's keys. */
export function approveCodeOf(nOld, nNew, oldSignPk, newSignPk, newBoxPk) {
	const nonce = keyboxApprovalNonce(nOld, nNew);
	try {
		return keyboxApprovalCode(nonce, oldSignPk, newSignPk, newBoxPk);
	} finally {
		wipe(nonce);
	}
}

/** approve_code_typed(): the six digits of what was typed (spaces, '-' and tabs ignored), else `bad_input`. */
export function approveCodeTyped(typed) {
	if (typeof typed !== 'string') refuse('bad_input', 'an approval code is six digits');
	let out = '';
	for (let i = 0; i < typed.length; i++) {
		const ch = typed[i];
		if (i >= APPROVE_TYPED_MAX) refuse('bad_input', 'an approval code is six digits');
		if (ch === ' ' || ch === '-' || ch === '\t') continue;
		if (ch < '0' || ch > '9' || out.length === KEYBOX_APPROVAL_DIGITS) refuse('bad_input', 'an approval code is six digits');
		out += ch;
	}
	if (out.length !== KEYBOX_APPROVAL_DIGITS) refuse('bad_input', 'an approval code is six digits');
	return out;
}

/** "a-" and 16 lowercase hex digits. */
export function approveIdValid(id) {
	return typeof id === 'string' && /^a-[0-9a-f]{16}$/.test(id);
}

/* view_of(): one approval object (Map) of an answer. */
function viewOf(o) {
	const v = { id: str(o, 'approval'), device: str(o, 'device'), oldDevice: str(o, 'old_device'), cert: o.get('cert') };
	const b = (k, opt) => {
		const x = o.get(k);
		if (x === undefined && opt) return null;
		return unb64(x, APPROVE_NONCE_LEN);
	};
	try {
		if (!approveIdValid(v.id) || v.device === null || !(v.cert instanceof Map)) throw new Error();
		v.commit = b('commit', false);
		v.nonceOld = b('nonce_old', true);
		v.nonceNew = b('nonce_new', true);
		v.created = timeParse(o.get('created'));
		v.expires = timeParse(o.get('expires'));
		if ((v.nonceOld !== null) !== (v.oldDevice !== null) || (v.nonceNew !== null && v.nonceOld === null)) throw new Error();
	} catch {
		refuse('protocol', 'varskod answered with a malformed approval');
	}
	return v;
}

async function approvalRequestFrame(session, frame, id) {
	const ans = await session.request(frame, 'approval');
	const v = viewOf(ans.raw);
	if (id && v.id !== id) refuse('protocol', `varskod answered with another approval than ${id}`);
	return v;
}

async function approvalGet(session, a) {
	try {
		return await approvalRequestFrame(session, { type: 'approve_get', approval: a.id }, a.id);
	} catch (e) {
		if (e instanceof VarskoError && e.code === 'not_found')
			e.message = `not_found: the approval ${a.id} is no longer open: it expired (an approval lives 10 minutes) or the new device replaced it with a newer request`;
		throw e;
	}
}

/* view_same(): the device, commitment and (old side) certificate and offer never change. */
function viewSame(session, a, v) {
	if (v.device !== a.device || !equalBytes(v.commit, a.commit))
		refuse('approval_failed', `varskod changed the device or commitment of approval ${a.id}`);
	if (a.side === 'old') {
		let ce = null;
		try {
			ce = certFromJson(v.cert);
		} catch {
			ce = null;
		}
		if (!ce || !equalBytes(ce.signPk, a.cert.signPk) || !equalBytes(ce.boxPk, a.cert.boxPk) || v.nonceOld === null ||
		    v.oldDevice !== session.device || !equalBytes(v.nonceOld, a.mine))
			refuse('approval_failed', `varskod changed the certificate or the offer of approval ${a.id}`);
	}
}

const deadlineOf = (ms) => (ms === undefined || ms === null || ms < 0 ? Infinity : Date.now() + ms);

async function pauseUntil(ms, deadline, what) {
	if (Date.now() >= deadline) refuse('timeout', what);
	await sleep(Math.min(ms, deadline - Date.now()));
}

/** Wipe what an approval handle still holds. */
export function approvalForget(a) {
	if (a) wipe(a.mine);
}

/* ---- the new device ----------------------------------------------------------------------- */

/**
 * varsko_approval_request(): ask for approval of this device: { side:
 * 'new', id, device, expires, ... }. `exists` when it is already the
 * user's, `not_found` when the user has no key yet.
 */
export async function approvalRequest(session) {
	const a = { side: 'new', id: null, device: session.device, commit: null, expires: 0,
		mine: sodium.randombytes_buf(APPROVE_NONCE_LEN), revealed: false };
	try {
		a.commit = keyboxApprovalCommit(a.mine, session.signPk, session.boxPk);
		let v;
		try {
			v = await approvalRequestFrame(session, { type: 'approve_request', commit: b64(a.commit) }, null);
		} catch (e) {
			if (e instanceof VarskoError && e.code === 'exists')
				e.message = `exists: this device is already one of ${session.user}'s devices by the user chain: there is nothing to approve`;
			else if (e instanceof VarskoError && e.code === 'not_found')
				e.message = `not_found: ${session.user} has no user key yet, so no device can approve this one`;
			throw e;
		}
		a.id = v.id;
		a.expires = v.expires;
		viewSame(session, a, v);
		if (v.nonceOld !== null) refuse('protocol', 'varskod answered a new request with an offered approval');
		return a;
	} catch (e) {
		approvalForget(a);
		throw e;
	}
}

/* old_device_key(): the offering device's signing key by the verified chain (added, not revoked, certified). */
async function oldDeviceKey(session, device) {
	const uc = await userChainOf(session, session.user);
	const j = userKeyFindDevice(uc, device);
	if (j < 0 || uc.st.devices[j].revoked || !uc.dev[j].certified)
		refuse('not_cross_signed', `the device that offered to approve this one (${device}) is not one of ${session.user}'s devices by the verified user chain: nothing was revealed`);
	return uc.st.devices[j].signPk;
}

/**
 * varsko_approval_reveal(): wait for the old device's offer (up to
 * timeoutMs; < 0 or none: no limit), reveal this device's nonce and return
 * the six-digit code to show.
 */
export async function approvalReveal(session, a, timeoutMs = -1) {
	if (!a || a.side !== 'new' || a.revealed) refuse('bad_input', 'not an approval request of this device that waits for an offer');
	const deadline = deadlineOf(timeoutMs);
	let v;
	for (;;) {
		v = await approvalGet(session, a);
		viewSame(session, a, v);
		if (v.nonceOld !== null) break;
		await pauseUntil(APPROVE_POLL_MS, deadline, 'timed out waiting for the other device');
	}
	const nOld = v.nonceOld;
	const oldDevice = v.oldDevice;
	if (oldDevice === session.device) refuse('protocol', 'varskod says this device offered its own approval');
	const oldPk = await oldDeviceKey(session, oldDevice);
	try {
		v = await approvalRequestFrame(session, { type: 'approve_reveal', approval: a.id, nonce: b64(a.mine) }, a.id);
	} catch (e) {
		if (e instanceof VarskoError && e.code === 'not_found') e.message = `not_found: the approval ${a.id} expired before the reveal`;
		throw e;
	}
	viewSame(session, a, v);
	if (v.nonceNew === null || !equalBytes(v.nonceNew, a.mine) || v.nonceOld === null || !equalBytes(v.nonceOld, nOld))
		refuse('protocol', `varskod did not keep the nonces of approval ${a.id}`);
	const code = approveCodeOf(nOld, a.mine, oldPk, session.signPk, session.boxPk);
	wipe(a.mine);
	a.revealed = true;
	return code;
}

/**
 * varsko_approval_wait(): wait until the old device approved this one (the
 * chain names it and its box opens), never past the approval's life.
 * `not_found` when the approval ended without it, `timeout`.
 */
export async function approvalWait(session, a, timeoutMs = -1) {
	if (!a || a.side !== 'new' || !a.revealed) refuse('bad_input', 'not an approval request of this device that has been revealed');
	const deadline = Math.min(deadlineOf(timeoutMs), Date.now() + (a.expires - now() + APPROVE_GRACE_S) * 1000);
	const current = async () => {
		try {
			keyboxGenWipe(await userKeyCurrent(session));
			return null;
		} catch (e) {
			return e;
		}
	};
	for (;;) {
		let e = await current();
		if (!e) return;
		if (!(e instanceof VarskoError) || (e.code !== 'not_cross_signed' && e.code !== 'not_found')) throw e;
		const named = e.code === 'not_found';
		let v = null;
		try {
			v = await approvalGet(session, a);
		} catch (x) {
			if (!(x instanceof VarskoError) || x.code !== 'not_found') throw x;
			if (!named) {
				e = await current();
				if (!e) return;
				refuse('not_found', `the approval ${a.id} is no longer open and this device was not approved: it expired, was replaced by a newer request, or the code typed on the other device was wrong`);
			}
		}
		if (v) viewSame(session, a, v);
		await pauseUntil(APPROVE_POLL_MS, deadline, 'timed out waiting for the other device to approve this one (were the codes typed right?)');
	}
}

/* ---- the old device ----------------------------------------------------------------------- */

/* cert_check(): the new device's certificate, the organisation's, valid now, for this user and the approval's device. */
function certCheck(session, v) {
	let ce;
	try {
		ce = certFromJson(v.cert);
	} catch {
		return refuse('bad_cert', 'the certificate of the new device does not parse');
	}
	try {
		certVerify(ce, session.orgPk, now());
	} catch (e) {
		if (e instanceof VarskoError) e.message = `${e.code}: the certificate of the new device ${v.device} does not verify against the organisation key`;
		throw e;
	}
	if (ce.user !== session.user || ce.device !== v.device) refuse('bad_cert', `the new device's certificate is not for ${session.user}'s device ${v.device}`);
	return ce;
}

/**
 * varsko_approval_list(): { items: [{ approval, device, created, expires,
 * offered, certOk, name, role }] } of the user's open approvals.
 */
export async function approvalList(session) {
	const ans = await session.request({ type: 'approve_list' }, 'approvals');
	const items = ans.raw.get('items');
	if (!Array.isArray(items)) refuse('protocol', 'varskod answered with a malformed approval list');
	return {
		items: items.map((o) => {
			const v = viewOf(o);
			let ce = null;
			try {
				ce = certCheck(session, v);
			} catch {
				ce = null;
			}
			return { approval: v.id, device: v.device, created: v.created, expires: v.expires, offered: v.nonceOld !== null,
				certOk: !!ce, name: ce ? ce.name : '', role: ce ? ce.role : '' };
		}),
	};
}

/**
 * varsko_approval_offer(): offer to approve approvalId (this device holds
 * the user key), wait for the new device's reveal and check it opens its
 * commitment. Returns the handle for approvalConfirm (the code stays in
 * it: this side compares, it never shows it).
 */
export async function approvalOffer(session, approvalId, timeoutMs = -1) {
	if (!approveIdValid(approvalId)) refuse('bad_input', 'an approval id is a- and 16 lowercase hex digits');
	const deadline = deadlineOf(timeoutMs);
	keyboxGenWipe(await userKeyCurrent(session));
	const a = { side: 'old', id: approvalId, device: null, commit: null, expires: 0, mine: null, cert: null, code: null, state: 0 };
	try {
		let v = await approvalGet(session, a);
		if (v.device === session.device) refuse('forbidden', 'a device cannot approve itself');
		if (v.nonceOld !== null)
			refuse('exists', `approval ${approvalId} has already been offered by ${v.oldDevice}: the new device must ask again`);
		a.cert = certCheck(session, v);
		a.device = v.device;
		a.commit = v.commit;
		a.expires = v.expires;
		a.mine = sodium.randombytes_buf(APPROVE_NONCE_LEN);
		try {
			v = await approvalRequestFrame(session, { type: 'approve_offer', approval: a.id, nonce: b64(a.mine) }, a.id);
		} catch (e) {
			if (e instanceof VarskoError && e.code === 'exists') e.message = `exists: approval ${a.id} has already been offered by another device`;
			throw e;
		}
		for (;;) {
			viewSame(session, a, v);
			if (v.nonceNew !== null) break;
			await pauseUntil(APPROVE_POLL_MS, deadline, 'timed out waiting for the new device to answer the offer');
			v = await approvalGet(session, a);
		}
		const commit = keyboxApprovalCommit(v.nonceNew, a.cert.signPk, a.cert.boxPk);
		if (!equalBytes(commit, a.commit))
			refuse('approval_failed', "the new device's revealed nonce does not open its commitment: the exchange was tampered with, nothing was approved");
		a.code = approveCodeOf(a.mine, v.nonceNew, session.signPk, a.cert.signPk, a.cert.boxPk);
		wipe(a.mine);
		a.state = 1;
		return a;
	} catch (e) {
		approvalForget(a);
		throw e;
	}
}

/**
 * varsko_approval_confirm(): compare the code typed (as the new device
 * shows it) once; on a match the new device becomes the user's
 * (userAddDevice). `bad_input` for something that is not six digits (no
 * comparison made), `approval_failed` for a wrong code (the approval is spent).
 */
export async function approvalConfirm(session, a, typedCode) {
	if (!a || a.side !== 'old' || a.state === 0) refuse('bad_input', 'not an approval this device has offered and seen revealed');
	if (a.state < 0) refuse('approval_failed', `approval ${a.id} has failed once: start again with a new request on the new device`);
	if (a.state === 2) return;
	const typed = approveCodeTyped(typedCode);
	try {
		keyboxApprovalEqual(typed, a.code);
	} catch {
		a.state = -1;
		a.code = null;
		refuse('approval_failed', 'the code typed is not the code of this exchange: the device being approved may not be the one in front of you; nothing was approved');
	}
	await userAddDevice(session, a.cert.device, a.cert.signPk, a.cert.boxPk);
	a.state = 2;
	a.code = null;
}
