// The user's key on the wire (PROTOCOL.md 15), the browser side of
// clients/lib/userkey.c: the user chain verified from its root with a
// certificate for every device it relies on, the chain pin (a server that
// takes a link back is refused), the key box sets of the user key, the first
// device's setup (generation 1, its key box set and the recovery box) and a
// recovery with the recovery code.
//
// Between the steps of a setup or recovery the seeds wait sealed under the
// device's local key (session.pinPut('uk_pending')), never in the clear; a
// setup that broke off is completed from them the next time.
import {
	b64, equalBytes, fail, fromHex, now, sodium, toHex, unb64, VarskoError, wipe,
} from '../crypto/codec.js';
import { certFromJson, certOk } from '../crypto/cert.js';
import {
	chainLinkFollow, chainLinkFromJson, chainLinkHash, chainLinkSign, chainLinkToJson, chainUserExtend,
	chainUserVerify, CHAIN_LINK_JSON_MAX,
} from '../crypto/chain.js';
import {
	keyboxCodeFormat, keyboxCodeNew, keyboxCodeParse, keyboxGenDerive, keyboxGenNew, keyboxGenWipe,
	keyboxRecoveryFromJson, keyboxRecoveryMake, keyboxRecoveryOpen, keyboxRecoveryToJson, keyboxSetFromJson,
	keyboxSetMake, keyboxSetToJson, keyboxSetVerify, keyboxSetOpen, keyboxUserOwner, keyboxWalkBack,
	KEYBOX_RECOVERY_GEN_MAX, KEYBOX_RECIPIENTS_MAX,
} from '../crypto/keybox.js';
import { jsonDump, jsonLoad } from '../crypto/schema.js';

/** Links (and certificates) in one chain answer at most (proto/flow.h FLOW_CHAIN_LINKS_MAX). */
export const CHAIN_LINKS_MAX = 1024;
const PENDING = 'uk_pending';
const CHAIN_SEEN = 'chain_seen';
const UK_PENDING_MAX = KEYBOX_RECOVERY_GEN_MAX;

/* ---- small shared helpers (used by the other modules of client/) ------------------------ */

/** A VarskoError with a detail, thrown. */
export function refuse(code, detail) {
	throw new VarskoError(code, detail);
}

/** A loaded member (Map) as the JSON text a *FromJson function takes. */
export function mapText(m) {
	return jsonDump(m);
}

/** A canonical JSON text as the Map a frame embeds. */
export function textMap(text, max = 4 * 1024 * 1024) {
	return jsonLoad(text, max);
}

/** The string member `name` of a loaded answer, or null. */
export function str(m, name) {
	const v = m instanceof Map ? m.get(name) : undefined;
	return typeof v === 'string' ? v : null;
}

/**
 * The pin check of home_seen_check(): what this device saw last under
 * `name` ({seq, hash}) must be link `seq` of `hashes` unchanged. Returns the
 * pinned seq (0n: nothing seen yet). `bad_chain` otherwise, `bad_input` for a damaged pin.
 */
export async function seenCheck(session, name, hashes) {
	const p = await session.pinGet(name);
	if (!p) return 0n;
	let seq;
	let want;
	try {
		seq = BigInt(p.seq);
		want = fromHex(p.hash);
	} catch {
		return refuse('bad_input', `the pin ${name} is damaged`);
	}
	if (seq < 1n || want.length !== 32) refuse('bad_input', `the pin ${name} is damaged`);
	if (seq > BigInt(hashes.length) || !equalBytes(hashes[Number(seq) - 1], want))
		refuse('bad_chain', `the chain does not contain the one this device saw (link ${seq}): it went backwards or was changed; refused`);
	return seq;
}

/** Remember a chain head (home_seen_write): nothing for an empty chain. */
export async function seenWrite(session, name, head) {
	if (head.seq === 0n) return;
	const v = { seq: head.seq.toString(), hash: toHex(head.hash) };
	const old = await session.pinGet(name);
	if (old && old.seq === v.seq && old.hash === v.hash) return;
	await session.pinPut(name, v);
}

/** chain_get of kind/chain: the answer's Map, checked to be that chain's. */
export async function chainGet(session, kind, chain) {
	let ans;
	try {
		ans = await session.request({ type: 'chain_get', kind, chain }, 'chain');
	} catch (e) {
		if (e instanceof VarskoError && e.code === 'bad_chain')
			e.message = `bad_chain: varskod says its stored ${kind} chain ${chain} does not verify: it has been tampered with; ask the operator`;
		throw e;
	}
	const m = ans.raw;
	if (str(m, 'kind') !== kind || str(m, 'chain') !== chain || !Array.isArray(m.get('links')))
		refuse('protocol', `varskod answered with another chain than the ${kind} chain ${chain}`);
	if (m.get('links').length > CHAIN_LINKS_MAX) refuse('too_large', `the ${kind} chain ${chain} is too long`);
	return m;
}

/** Links (Maps) parsed; one that does not parse is `bad_chain`. */
export function linksParse(links, what) {
	return links.map((v, i) => {
		try {
			return chainLinkFromJson(v);
		} catch {
			return refuse('bad_chain', `link ${i + 1} of ${what} does not parse: refused`);
		}
	});
}


/* ---- the chain and its certificates (no network) ------------------------------------------ */

/**
 * userkey_chain_check(): the user chain (links and certs, Maps as loaded)
 * of `user` verified from its root against orgPk at `t`. Returns
 * { st, linkHash[], genSignPk[], dev[] ({addedSeq, addedTime, revokedSeq,
 * certified, role}), cert (the newest certificate of a live device, or
 * null) }. `bad_frame`, `too_large`, `bad_chain`, `bad_signature`, `bad_cert`.
 */
export function userChainCheck(links, certs, user, orgPk, t = now()) {
	if (!Array.isArray(links) || !Array.isArray(certs)) refuse('bad_frame', 'the chain answer has no links or certificates');
	if (links.length > CHAIN_LINKS_MAX || certs.length > CHAIN_LINKS_MAX) refuse('too_large', 'the chain answer is too large');
	const ls = links.map((v, i) => {
		try {
			return chainLinkFromJson(v);
		} catch {
			return refuse('bad_chain', `link ${i + 1} of the user chain of ${user} does not parse`);
		}
	});
	let st;
	try {
		st = chainUserVerify(ls, user);
	} catch (e) {
		if (e instanceof VarskoError)
			e.message = `${e.code}: the user chain of ${user} does not verify at link ${(e.bad ?? 0) + 1}: refused`;
		throw e;
	}
	const uc = { st, links: ls, linkHash: ls.map(chainLinkHash), genSignPk: [], dev: st.devices.map(() => ({
		addedSeq: 0n, addedTime: 0, revokedSeq: 0n, certified: false, role: '', certNotBefore: 0, serverRevoked: false })),
	cert: null, pinnedSeq: 0n };
	for (const l of ls)
		if (l.op === 'uk_create' || l.op === 'uk_rotate') uc.genSignPk[Number(l.generation) - 1] = l.ukSignPk;
	for (const l of ls) {
		const j = st.devices.findIndex((d) => d.device === l.device);
		if (j < 0) continue;
		if (l.op === 'uk_create' || l.op === 'device_add') {
			uc.dev[j].addedSeq = l.seq;
			uc.dev[j].addedTime = l.time;
		} else if (l.op === 'device_revoke') {
			uc.dev[j].revokedSeq = l.seq;
		}
	}
	const cs = certs.map((v, i) => {
		try {
			return certFromJson(v);
		} catch {
			return refuse('bad_cert', `certificate ${i + 1} of the chain answer does not parse`);
		}
	});
	st.devices.forEach((d, j) => {
		let matched = false;
		let rootOk = false;
		for (const ce of cs) {
			if (ce.device !== d.device || ce.user !== user || !equalBytes(ce.signPk, d.signPk) || !equalBytes(ce.boxPk, d.boxPk))
				continue;
			if (certOk(ce, orgPk, t)) {
				if (!matched || ce.notBefore >= uc.dev[j].certNotBefore) {
					uc.dev[j].role = ce.role;
					uc.dev[j].certNotBefore = ce.notBefore;
				}
				matched = true;
				if (!d.revoked && (!uc.cert || ce.notBefore >= uc.cert.notBefore)) uc.cert = ce;
			}
			if (certOk(ce, orgPk, ce.notBefore)) rootOk = true;
		}
		uc.dev[j].certified = matched;
		if (j === 0 && !rootOk)
			refuse('bad_cert', `the first device of the user chain of ${user} (${d.device}) has no certificate from the organisation for this user and its keys: refused`);
	});
	return uc;
}

/** userkey_had_key(): did the chain give `user` key uk_sign_pk as generation `generation`? */
export function userKeyHad(uc, generation, ukSignPk) {
	const g = BigInt(generation);
	if (g === 0n || g > uc.st.generation || g > BigInt(CHAIN_LINKS_MAX)) return false;
	const pk = uc.genSignPk[Number(g) - 1];
	return !!pk && equalBytes(pk, ukSignPk);
}

/** The index of `device` in the chain's devices, or -1. */
export function userKeyFindDevice(uc, device) {
	return uc.st.devices.findIndex((d) => d.device === device);
}

/** userkey_chain_of(): chain_get of `user`'s user chain, verified against the pinned organisation key. */
export async function userChainOf(session, user) {
	const m = await chainGet(session, 'user', user);
	const uc = userChainCheck(m.get('links'), m.get('certs'), user, session.orgPk, now());
	const rv = m.get('revoked');
	if (Array.isArray(rv))
		for (const v of rv) {
			const j = typeof v === 'string' ? userKeyFindDevice(uc, v) : -1;
			if (j >= 0) uc.dev[j].serverRevoked = true;
		}
	return uc;
}

/* ---- the own chain, pinned ---------------------------------------------------------- */

async function chainFetch(session) {
	const uc = await userChainOf(session, session.user);
	try {
		uc.pinnedSeq = await seenCheck(session, CHAIN_SEEN, uc.linkHash);
	} catch (e) {
		if (e.code === 'bad_chain')
			e.message = `bad_chain: the server shows a user chain of ${session.user} that does not contain the one this device saw: it went backwards or was changed; refused`;
		throw e;
	}
	return uc;
}

function pinUpdate(session, uc) {
	return seenWrite(session, CHAIN_SEEN, uc.st.head);
}

function selfIndex(session, uc) {
	const j = userKeyFindDevice(uc, session.device);
	if (j < 0 || !equalBytes(uc.st.devices[j].signPk, session.signPk) || !equalBytes(uc.st.devices[j].boxPk, session.boxPk))
		return -1;
	return j;
}

function notCrossSigned(session) {
	return refuse('not_cross_signed', `this device is not one of ${session.user}'s devices by the user chain (not cross-signed): recover it with the recovery code`);
}

/* ---- requests ---------------------------------------------------------------------- */

/** keys_get of `owner`: the sets (Maps as loaded). */
export async function keysGet(session, owner) {
	const ans = await session.request({ type: 'keys_get', owner }, 'keys');
	const m = ans.raw;
	if (str(m, 'owner') !== owner || !Array.isArray(m.get('sets')))
		refuse('protocol', 'varskod answered with the key box sets of another owner');
	return m.get('sets');
}

/** keys_put of a set (keybox.js form); `protocol` when stored as another generation. */
export async function keysPut(session, s) {
	const ans = await session.request({ type: 'keys_put', set: textMap(keyboxSetToJson(s)) }, 'keys_ok');
	const g = ans.raw.get('generation');
	if (typeof g !== 'bigint' || g !== BigInt(s.generation))
		refuse('protocol', 'varskod stored the key box set as another generation');
}

/** A loaded set (Map) parsed: keybox_set_from_json. */
export function setFromMap(m) {
	if (!(m instanceof Map)) refuse('bad_frame', 'not a key box set');
	return keyboxSetFromJson(mapText(m));
}

const ownOwner = (session) => keyboxUserOwner(session.user);
const deviceKeyid = (device) => `device:${device}`;

function setHasDevice(s, device) {
	return !!s && s.boxes.some((b) => b.recipient === deviceKeyid(device));
}

/* set_find(): the set of generation gen, backed by the chain. */
function setFind(session, sets, uc, gen) {
	const owner = ownOwner(session);
	for (const v of sets) {
		const g = v instanceof Map ? v.get('generation') : undefined;
		if (typeof g !== 'bigint' || g <= 0n || g !== BigInt(gen)) continue;
		let s;
		try {
			s = setFromMap(v);
		} catch (e) {
			if (e instanceof VarskoError) e.message = `${e.code}: the key box set of generation ${gen} does not parse`;
			throw e;
		}
		if (s.owner !== owner) refuse('protocol', 'varskod answered with a key box set of another owner');
		if (BigInt(gen) === uc.st.generation) {
			if (!equalBytes(s.pub, uc.st.ukBoxPk)) refuse('bad_chain', `the key box set of generation ${gen} is not for the user chain's key`);
			try {
				keyboxSetVerify(s, uc.st.ukSignPk);
			} catch {
				refuse('bad_signature', `the key box set of generation ${gen} is not signed by the user key`);
			}
		}
		return s;
	}
	return refuse('not_found', `varskod has no key box set of generation ${gen} for ${session.user}`);
}

/* set_open_own(): this device's box; the seed must derive the chain's current user key. */
function setOpenOwn(session, s, uc) {
	const sk = session.boxSk();
	let g;
	try {
		g = keyboxSetOpen(s, deviceKeyid(session.device), session.boxPk, sk);
	} catch (e) {
		if (e instanceof VarskoError)
			e.message = e.code === 'not_found' ? 'not_found: the key box set of the user key has no box for this device'
				: `${e.code}: this device's box in the key box set does not open`;
		throw e;
	} finally {
		wipe(sk);
	}
	if (!equalBytes(g.signPk, uc.st.ukSignPk) || !equalBytes(g.boxPk, uc.st.ukBoxPk)) {
		keyboxGenWipe(g);
		refuse('crypto', "the user key in this device's box is not the chain's");
	}
	return g;
}

/* gens_from_sets(): every generation, the current from this device's box and the earlier by walking back. */
function gensFromSets(session, sets, uc) {
	const n = uc.st.generation;
	if (n === 0n || n > BigInt(UK_PENDING_MAX)) refuse('too_large', 'the user key has too many generations');
	const ss = [];
	for (let g = 1n; g <= n; g++) ss.push(setFind(session, sets, uc, g));
	const top = setOpenOwn(session, ss[ss.length - 1], uc);
	if (n === 1n) return [top];
	try {
		return [...keyboxWalkBack(top, ss), top];
	} catch (e) {
		keyboxGenWipe(top);
		if (e instanceof VarskoError) e.message = `${e.code}: the earlier generations of the user key do not open`;
		throw e;
	}
}

function gensWipe(gs) {
	if (gs) gs.forEach(keyboxGenWipe);
}

function gensMatch(gs, uc) {
	if (!gs || gs.length === 0 || BigInt(gs.length) !== uc.st.generation) return false;
	const top = gs[gs.length - 1];
	return equalBytes(top.signPk, uc.st.ukSignPk) && equalBytes(top.boxPk, uc.st.ukBoxPk);
}

/* ---- the pending seeds, sealed under the local key ------------------------------------------ */

async function pendingSave(session, gs, needRecovery) {
	await session.pinPut(PENDING, { recovery: !!needRecovery, seeds: gs.map((g) => b64(g.seed)), user: session.user });
}

/* The pending generations, or null (none, or another user's); `bad_input` when damaged. */
async function pendingLoad(session) {
	const p = await session.pinGet(PENDING);
	if (!p) return null;
	if (typeof p.recovery !== 'boolean' || !Array.isArray(p.seeds) || typeof p.user !== 'string' || p.seeds.length === 0 ||
	    p.seeds.length > UK_PENDING_MAX)
		refuse('bad_input', 'the pending user key is damaged');
	if (p.user !== session.user) return null;
	const gs = [];
	try {
		p.seeds.forEach((s, i) => {
			const seed = unb64(s, 32);
			try {
				gs.push(keyboxGenDerive('user', i + 1, seed));
			} finally {
				wipe(seed);
			}
		});
	} catch {
		gensWipe(gs);
		refuse('bad_input', 'the pending user key is damaged');
	}
	return { gs, needRecovery: p.recovery };
}

function pendingRemove(session) {
	return session.pinPut(PENDING, null);
}

/** Whether a setup or recovery waits to be completed on this device (its presence, as the C's home_has). */
export async function userSetupPending(session) {
	return !!(await session.pinGet(PENDING));
}

/* ---- the steps ------------------------------------------------------------------------------ */

function linkOwnDevice(session, op) {
	return { op, chain: session.user, device: session.device, deviceSignPk: session.signPk, deviceBoxPk: session.boxPk,
		time: now() };
}

/* append_signed(): sign, check locally, chain_append, extend uc. */
async function appendSigned(session, uc, link, sk, sk2 = null) {
	let l = chainLinkFollow(link, uc.st.head);
	l = chainLinkSign(l, sk);
	if (sk2) l = chainLinkSign(l, sk2);
	let next;
	try {
		next = chainUserExtend(uc.st, l, null);
	} catch (e) {
		if (e instanceof VarskoError) e.message = `${e.code}: the ${l.op} link made here does not extend the chain`;
		throw e;
	}
	const ans = await session.request({ type: 'chain_append', kind: 'user', chain: session.user,
		link: textMap(chainLinkToJson(l), CHAIN_LINK_JSON_MAX) }, 'chain_ok');
	const seq = ans.raw.get('seq');
	if (typeof seq !== 'bigint' || seq !== l.seq) refuse('protocol', 'varskod stored the link as another seq than it has');
	uc.st = next;
	uc.links.push(l);
	uc.linkHash.push(chainLinkHash(l));
	if (l.op === 'uk_create' || l.op === 'uk_rotate') uc.genSignPk[Number(l.generation) - 1] = l.ukSignPk;
	uc.st.devices.forEach((d, j) => {
		if (!uc.dev[j]) uc.dev[j] = { addedSeq: 0n, addedTime: 0, revokedSeq: 0n, certified: false, role: '', certNotBefore: 0 };
		if (d.device === l.device) Object.assign(uc.dev[j], { addedSeq: l.seq, addedTime: l.time, certified: true });
	});
	await pinUpdate(session, uc);
}

/* seal_put(): the newest generation sealed to rcpts ([{id, boxPk}]), signed by the user key, put. */
async function sealPut(session, gs, rcpts) {
	const top = gs[gs.length - 1];
	const to = rcpts.slice(0, KEYBOX_RECIPIENTS_MAX);
	const s = keyboxSetMake(ownOwner(session), top, gs.length > 1 ? gs[gs.length - 2] : null, to, top.signSk);
	await keysPut(session, s);
}

/* set_complete(): the current set again with `target` among its recipients, unless it is there already. */
async function setComplete(session, uc, gs, target) {
	const self = target === session.device;
	const sets = await keysGet(session, ownOwner(session));
	let cur = null;
	try {
		cur = setFind(session, sets, uc, uc.st.generation);
	} catch (e) {
		if (!(e instanceof VarskoError) || e.code !== 'not_found') throw e;
	}
	if (cur) {
		if (self) {
			try {
				keyboxGenWipe(setOpenOwn(session, cur, uc));
				return;
			} catch {
				/* not opened: put it again */
			}
		} else if (setHasDevice(cur, target)) {
			return;
		}
	}
	const rcpts = [];
	uc.st.devices.forEach((d, j) => {
		if (!d.revoked && (d.device === target || (cur && uc.dev[j].certified && setHasDevice(cur, d.device))))
			rcpts.push({ id: deviceKeyid(d.device), boxPk: d.boxPk });
	});
	await sealPut(session, gs, rcpts);
}

/* recovery_make_put(): a new code and recovery box of every generation (Argon2id INTERACTIVE). */
async function recoveryMakePut(session, gs) {
	const code = keyboxCodeNew();
	try {
		const rb = keyboxRecoveryMake(session.user, code, gs, sodium.crypto_pwhash_OPSLIMIT_INTERACTIVE,
			sodium.crypto_pwhash_MEMLIMIT_INTERACTIVE);
		await session.request({ type: 'recovery_put', box: textMap(keyboxRecoveryToJson(rb)) }, 'recovery_ok');
		return keyboxCodeFormat(code);
	} finally {
		wipe(code);
	}
}

/* complete(): the key box set, then (needRecovery) the recovery box; then the pending seeds go. */
async function complete(session, uc, gs, needRecovery) {
	await setComplete(session, uc, gs, session.device);
	let code = null;
	if (needRecovery) code = await recoveryMakePut(session, gs);
	await pendingRemove(session);
	return code;
}

/**
 * varsko_user_setup(): make the user key when this is the user's first
 * device (generation 1, the uk_create link, the key box set, the recovery
 * box), or complete a setup that broke off. Returns { created, recoveryCode }
 * (the code, formatted as the C's XXXXX-XXXXX-..., only when created: show
 * it once). `not_cross_signed` when another device holds the key,
 * `device_revoked`, `not_found` when this device is named but holds nothing.
 */
export async function userSetup(session) {
	const uc = await chainFetch(session);
	let gs = null;
	try {
		if (uc.st.generation === 0n) {
			gs = [keyboxGenNew('user', 1)];
			await pendingSave(session, gs, true);
			const l = { ...linkOwnDevice(session, 'uk_create'), generation: 1n, ukSignPk: gs[0].signPk, ukBoxPk: gs[0].boxPk };
			const sk = session.signSk();
			try {
				await appendSigned(session, uc, l, sk);
			} finally {
				wipe(sk);
			}
			const code = await complete(session, uc, gs, true);
			return { created: code !== null, recoveryCode: code };
		}
		const j = selfIndex(session, uc);
		if (j < 0) {
			let p = null;
			try {
				p = await pendingLoad(session);
			} catch {
				p = null;
			}
			if (p) {
				if (!gensMatch(p.gs, uc)) await pendingRemove(session);
				gensWipe(p.gs);
			}
			return notCrossSigned(session);
		}
		if (uc.st.devices[j].revoked) refuse('device_revoked', `this device has been revoked from ${session.user}'s user chain`);
		let p = null;
		try {
			p = await pendingLoad(session);
		} catch (e) {
			if (e.code !== 'bad_input') throw e;
			p = null;
			await pendingRemove(session);
		}
		if (p && !gensMatch(p.gs, uc)) {
			gensWipe(p.gs);
			p = null;
			await pendingRemove(session);
		}
		if (!p) {
			const sets = await keysGet(session, ownOwner(session));
			try {
				gs = gensFromSets(session, sets, uc);
			} catch {
				refuse('not_found', `this device is in ${session.user}'s user chain but holds no user key, and none waits here: recover it with the recovery code`);
			}
			return { created: false, recoveryCode: null };
		}
		gs = p.gs;
		const code = await complete(session, uc, gs, p.needRecovery);
		return { created: code !== null, recoveryCode: code };
	} finally {
		gensWipe(gs);
	}
}

/**
 * varsko_device_recover(): make this device one of the user's with the
 * recovery code (the recovery box opened, the device_add link, its box in
 * the key box set). `bad_input` for a mistyped code (before a try is
 * spent), `crypto` for a wrong one, `exists` when it holds the key already.
 */
export async function deviceRecover(session, codeText) {
	let code;
	try {
		code = keyboxCodeParse(String(codeText ?? ''));
	} catch {
		return refuse('bad_input', 'a recovery code is 26 letters A-Z and digits 2-7, in groups like XXXXX-XXXXX-XXXXX-XXXXX-XXXXX-X');
	}
	let gs = null;
	try {
		const uc = await chainFetch(session);
		if (uc.st.generation === 0n) refuse('not_found', `${session.user} has no user key yet, so there is nothing to recover`);
		const j = selfIndex(session, uc);
		if (j >= 0 && uc.st.devices[j].revoked) refuse('device_revoked', `this device has been revoked from ${session.user}'s user chain`);
		if (j >= 0) {
			const sets = await keysGet(session, ownOwner(session));
			let own = null;
			try {
				own = gensFromSets(session, sets, uc);
			} catch {
				own = null;
			}
			if (own) {
				gensWipe(own);
				refuse('exists', `this device is already one of ${session.user}'s devices and holds the user key`);
			}
		}
		let ans;
		try {
			ans = await session.request({ type: 'recovery_get' }, 'recovery');
		} catch (e) {
			if (e.code === 'recovery_locked')
				e.message = 'recovery_locked: too many wrong recovery codes: recovery is locked until the operator unlocks it';
			throw e;
		}
		const box = ans.raw.get('box');
		const tries = ans.raw.get('tries');
		let rb;
		try {
			rb = keyboxRecoveryFromJson(mapText(box));
		} catch (e) {
			if (e instanceof VarskoError) e.message = `${e.code}: the recovery box does not parse`;
			throw e;
		}
		if (rb.user !== session.user) refuse('protocol', "varskod answered with another user's recovery box");
		try {
			gs = keyboxRecoveryOpen(rb, code, UK_PENDING_MAX);
		} catch (e) {
			if (e instanceof VarskoError && e.code === 'crypto')
				e.message = `crypto: the recovery code does not open the recovery box (try ${tries ?? '?'} of 10 since the last reset)`;
			throw e;
		}
		if (!gensMatch(gs, uc))
			refuse('bad_chain', `the recovery box does not hold the user chain's current user key (generation ${uc.st.generation}): it is stale or forged`);
		await pendingSave(session, gs, false);
		if (j < 0) await appendSigned(session, uc, linkOwnDevice(session, 'device_add'), gs[gs.length - 1].signSk);
		await complete(session, uc, gs, false);
	} finally {
		wipe(code);
		gensWipe(gs);
	}
}

/**
 * userkey_all(): every generation of the user key this device holds
 * (generations 1..n, from its own box and the walk back). Wipe each with
 * keyboxGenWipe (or userKeysWipe).
 */
export async function userKeyAll(session) {
	const uc = await chainFetch(session);
	if (uc.st.generation === 0n) refuse('not_found', `${session.user} has no user key yet`);
	if (selfIndex(session, uc) < 0) notCrossSigned(session);
	const sets = await keysGet(session, ownOwner(session));
	return gensFromSets(session, sets, uc);
}

/** userkey_current(): the current generation of the user key (wipe it with keyboxGenWipe). */
export async function userKeyCurrent(session) {
	const uc = await chainFetch(session);
	if (uc.st.generation === 0n) refuse('not_found', `${session.user} has no user key yet`);
	if (selfIndex(session, uc) < 0) notCrossSigned(session);
	const sets = await keysGet(session, ownOwner(session));
	return setOpenOwn(session, setFind(session, sets, uc, uc.st.generation), uc);
}

/** Wipe what userKeyAll returned. */
export function userKeysWipe(gs) {
	gensWipe(gs);
}

/**
 * varsko_user_devices(): { user, device, generation, state ('none',
 * 'not_cross_signed', 'revoked', 'ok', 'incomplete'), holdsUserKey,
 * setupPending, devices: [{device, added, seq, revoked, this, certified, keyBox}] }.
 */
export async function userDevices(session) {
	const uc = await chainFetch(session);
	let cur = null;
	let holds = false;
	if (uc.st.generation > 0n) {
		const sets = await keysGet(session, ownOwner(session));
		try {
			cur = setFind(session, sets, uc, uc.st.generation);
		} catch (e) {
			if (e.code !== 'not_found') throw e;
		}
		if (cur && selfIndex(session, uc) >= 0) {
			try {
				keyboxGenWipe(setOpenOwn(session, cur, uc));
				holds = true;
			} catch {
				holds = false;
			}
		}
	}
	const pending = await userSetupPending(session);
	const j = userKeyFindDevice(uc, session.device);
	const state = uc.st.generation === 0n ? 'none' : j < 0 ? 'not_cross_signed' : uc.st.devices[j].revoked ? 'revoked'
		: holds && !pending ? 'ok' : 'incomplete';
	return {
		user: session.user, device: session.device, generation: uc.st.generation, state, holdsUserKey: holds,
		setupPending: pending,
		devices: uc.st.devices.map((d, k) => ({ device: d.device, added: uc.dev[k].addedTime, seq: uc.dev[k].addedSeq,
			revoked: d.revoked, this: d.device === session.device, certified: uc.dev[k].certified, keyBox: setHasDevice(cur, d.device) })),
	};
}

/* ---- another device: approval, revocation, notices ------------------------------------------- */

function linkDevice(session, op, device, signPk, boxPk) {
	return { op, chain: session.user, device, deviceSignPk: signPk, deviceBoxPk: boxPk, time: now() };
}

/**
 * userkey_add_device(): make `device` (with these keys, its certificate
 * checked by the caller) one of the user's devices: the device_add link
 * signed by the user key, then its box in the current key box set (an
 * approval that stopped after the link is completed). `bad_chain` when the
 * chain names the device with other keys, `device_revoked`.
 */
export async function userAddDevice(session, device, signPk, boxPk) {
	const uc = await chainFetch(session);
	if (uc.st.generation === 0n) refuse('not_found', `${session.user} has no user key yet`);
	const self = selfIndex(session, uc);
	if (self < 0) notCrossSigned(session);
	if (uc.st.devices[self].revoked) refuse('device_revoked', `this device has been revoked from ${session.user}'s user chain`);
	const sets = await keysGet(session, ownOwner(session));
	const gs = gensFromSets(session, sets, uc);
	try {
		const j = userKeyFindDevice(uc, device);
		if (j >= 0 && (!equalBytes(uc.st.devices[j].signPk, signPk) || !equalBytes(uc.st.devices[j].boxPk, boxPk)))
			refuse('bad_chain', `the user chain names ${device} with other keys`);
		if (j >= 0 && uc.st.devices[j].revoked) refuse('device_revoked', `${device} has been revoked from ${session.user}'s user chain`);
		if (j < 0) await appendSigned(session, uc, linkDevice(session, 'device_add', device, signPk, boxPk), gs[gs.length - 1].signSk);
		await setComplete(session, uc, gs, device);
	} finally {
		gensWipe(gs);
	}
}

/* set_for_all(): the current generation sealed to every device added, not revoked and certified. */
async function setForAll(session, uc, gs) {
	const rcpts = [];
	uc.st.devices.forEach((d, j) => {
		if (!d.revoked && uc.dev[j].certified) rcpts.push({ id: deviceKeyid(d.device), boxPk: d.boxPk });
	});
	await sealPut(session, gs, rcpts);
}

/**
 * varsko_device_revoke(): revoke another device of the user from the user
 * chain and rotate the user key (PROTOCOL.md 15.8): device_revoke by the
 * user key, uk_rotate by the previous user key and this device, the new
 * generation sealed to the devices that remain, a new recovery code (its
 * text returned: show it once). `forbidden` for this device itself,
 * `exists` when revoked (and rotated) already.
 */
export async function deviceRevoke(session, device) {
	if (!device || device === session.device)
		refuse('forbidden', 'a device revokes another device of its user; this one is revoked by the operator');
	const uc = await chainFetch(session);
	if (selfIndex(session, uc) < 0) notCrossSigned(session);
	const j = userKeyFindDevice(uc, device);
	if (j < 0) refuse('not_found', `${device} is not a device of ${session.user}'s user chain`);
	const pending = uc.st.devices[j].revoked && uc.dev[j].revokedSeq === uc.st.head.seq;
	if (uc.st.devices[j].revoked && !pending) refuse('exists', `${device} is revoked already`);
	const sets = await keysGet(session, ownOwner(session));
	const gs = gensFromSets(session, sets, uc);
	try {
		if (gs.length >= UK_PENDING_MAX) refuse('too_large', 'the user key has too many generations');
		if (!pending)
			await appendSigned(session, uc, { op: 'device_revoke', chain: session.user, device, time: now() }, gs[gs.length - 1].signSk);
		const next = keyboxGenNew('user', gs.length + 1);
		gs.push(next);
		const l = { op: 'uk_rotate', chain: session.user, generation: BigInt(gs.length), ukSignPk: next.signPk,
			ukBoxPk: next.boxPk, time: now() };
		const sk = session.signSk();
		try {
			await appendSigned(session, uc, l, gs[gs.length - 2].signSk, sk);
		} finally {
			wipe(sk);
		}
		await setForAll(session, uc, gs);
		return await recoveryMakePut(session, gs);
	} finally {
		gensWipe(gs);
	}
}

/**
 * varsko_device_notices(): the devices added to the user's chain since
 * this device last looked ([{ device, added, certified, revoked }]), the
 * pin moved on; a device an operator revoked is revoked in the chain and
 * the key rotated here ({ device, rotated: true, recoveryCode }).
 */
export async function deviceNotices(session) {
	const uc = await chainFetch(session);
	const out = [];
	if (uc.pinnedSeq > 0n)
		uc.st.devices.forEach((d, j) => {
			if (uc.dev[j].addedSeq <= uc.pinnedSeq || d.device === session.device) return;
			out.push({ device: d.device, added: uc.dev[j].addedTime, certified: uc.dev[j].certified, revoked: d.revoked });
		});
	await pinUpdate(session, uc);
	for (let j = 0; j < uc.st.devices.length; j++) {
		const d = uc.st.devices[j];
		if (!uc.dev[j].serverRevoked || d.revoked || d.device === session.device) continue;
		let code;
		try {
			code = await deviceRevoke(session, d.device);
		} catch {
			continue;
		}
		out.push({ device: d.device, rotated: true, recoveryCode: code });
	}
	return out;
}
