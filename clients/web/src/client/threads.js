// Consultation threads (PROTOCOL.md 17; docs/THREADS.md), the browser side of
// clients/lib/threadchain.c (the membership) and clients/lib/threadmsg.c
// (messages and read marks); attach.js does the files of 17.9.
//
// Nothing varskod hands out is believed: the thread chain is verified from
// its root, every key a link pins must be one that user's own verified user
// chain had at that generation (userkey.js), every present member must be
// admitted by the newest certificate of a device their user chain
// cross-signed (17.5), and what this device last verified of each thread
// (the pin threads/<id>.seen) must still be in the chain. Only then is a
// message sealed to the members' current user keys, or shown. A message
// shown verifies: its sender certificate against the organisation key, the
// sender's device cross-signed by the sender's user chain, the sender a
// present member at the version it was sealed against, its signature, its
// routing and object id. A read mark is shown only when it verifies against
// a device of the marking user's chain.
//
// Every refusal is a VarskoError whose code is the one libvarsko returns.
import { concat, equalBytes, fail, now, sodium, timeFormat, timeParse, toHex, utf8, VarskoError, wipe } from '../crypto/codec.js';
import { certFromJson, certVerify } from '../crypto/cert.js';
import {
	chainLinkFollow, chainLinkHash, chainLinkSign, chainLinkToJson, chainThreadExtend, chainThreadMember,
	chainThreadState, chainThreadVerify, CHAIN_LINK_JSON_MAX, CHAIN_MEMBERS_MAX, CHAIN_ROLES,
} from '../crypto/chain.js';
import { envFromJson, envOpen, envSeal, envToJson, envVerify, ENV_JSON_MAX, ENV_RECIPIENTS_MAX } from '../crypto/envelope.js';
import { flowEnvelopeHash, flowReferenceValid } from '../crypto/flow.js';
import { keyboxGenWipe, keyboxKeyIdSplit, keyboxOwnerKind, keyboxUserKeyId } from '../crypto/keybox.js';
import { ID_MAX, INT64_MAX, jsonDump, jsonLoad } from '../crypto/schema.js';
import {
	threadIdValid, threadMarkFromJson, threadMarkToJson, threadMessageIdValid, threadReceiptSign, threadReceiptVerify,
	threadRoutingDecode, threadRoutingEncode,
} from '../crypto/thread.js';
import {
	CHAIN_LINKS_MAX, linksParse, seenCheck, seenWrite, userChainOf, userKeyAll, userKeyCurrent, userKeyHad,
	userKeysWipe,
} from './userkey.js';
import {
	attachFetchOpen, fileWant, idOf, newId, tmsgFileEncode, tmsgFileFromJson, tmsgTextValid, tmsgTitleValid,
	TMSG_TEXT_MAX, TMSG_TITLE_MAX, uploadDrop, uploadFile,
} from './attach.js';

const TMSG_ENV_KIND = 'thread_message';
const THREAD_SYNC_MAX = 100; /* FLOW_THREAD_SYNC_MAX */
const TMSG_PAGES_MAX = 10;

function refuse(code, detail) {
	throw new VarskoError(code, detail);
}

/* A VarskoError's detail replaced, its code kept. */
function redetail(e, detail) {
	if (e instanceof VarskoError) e.message = `${e.code}: ${detail}`;
	return e;
}

const num = (v) => (typeof v === 'bigint' ? Number(v) : v);

/* BigInt to Number (safe everywhere here), Maps to plain objects: the C's JSON as JavaScript values. */
function js(v) {
	if (typeof v === 'bigint') return Number(v);
	if (v instanceof Map) {
		const o = {};
		for (const [k, x] of v) o[k] = js(x);
		return o;
	}
	if (Array.isArray(v)) return v.map(js);
	return v;
}

/* 1..64 bytes, as the C's length checks (the server judges the rest). */
const idOk = (s) => typeof s === 'string' && s.length >= 1 && utf8(s).length <= ID_MAX;
const seenName = (thread) => `threads/${thread}.seen`;
const lastName = (thread) => `threads/${thread}.last`;

/* ---- who may be a member (17.5) ------------------------------------------------------------ */

const certLists = (c, institution) => c.institutions.includes(institution);
const THREAD_ROLES = ['fagperson', 'raadgiver', 'leder'];

/** tchain_admits(): whether cert admits a member of `role` at institution; { ok, why }. */
export function tchainAdmits(institution, role, cert, raadgiverTeams) {
	if (!cert) return { ok: false, why: 'no device of the user has a valid certificate from the organisation' };
	const rn = CHAIN_ROLES.includes(role) ? role : null;
	if (rn === null || !THREAD_ROLES.includes(role) || cert.role !== rn)
		return { ok: false, why: `the certificate's role is ${cert.role || 'none'}, which cannot be a thread member${rn !== null ? ` as ${rn}` : ''}` };
	if (role === 'fagperson' || role === 'raadgiver') {
		if (certLists(cert, institution)) return { ok: true, why: '' };
		return { ok: false, why: `the certificate (${cert.role}) does not list the institution ${institution}` };
	}
	if (cert.team !== '' && raadgiverTeams.includes(cert.team)) return { ok: true, why: '' };
	return { ok: false, why: `a leder is a member only with a rådgiver of the leder's team (${cert.team || 'none'}) in the thread` };
}

/* tuser_from_chain(): what a thread needs of a user's verified chain. */
function tuserFromChain(uc) {
	return {
		user: uc.st.user, generation: uc.st.generation, ukBoxPk: uc.st.ukBoxPk, cert: uc.cert,
		dev: uc.st.devices.map((d, j) => ({ device: d.device, signPk: d.signPk, certified: uc.dev[j].certified,
			revoked: d.revoked })),
	};
}

const tuserDevice = (u, device) => (u ? u.dev.find((d) => d.device === device) : undefined);
const userIndex = (t, user) => t.st.members.findIndex((m) => m.user === user);

/** tchain_present_at(): was `user` a member at `version` by the links? */
function presentAt(links, user, version) {
	let present = false;
	for (const l of links) {
		if (l.seq > BigInt(version)) break;
		if (l.user !== user) continue;
		present = l.op === 'thread_create' || l.op === 'thread_member_add';
	}
	return present;
}

/* The teams of the rådgivere among the present members (a leder's place). */
function raadgiverTeams(st, users) {
	const teams = [];
	st.members.forEach((m, i) => {
		if (m.removed === 0n && m.role === 'raadgiver' && users[i].cert && users[i].cert.team !== '')
			teams.push(users[i].cert.team);
	});
	return teams;
}

/* ---- the verified chain ---------------------------------------------------------------------- */

/* thread_get: the links parsed. */
async function linksGet(session, thread) {
	let ans;
	try {
		ans = await session.request({ type: 'thread_get', thread }, 'thread');
	} catch (e) {
		if (e instanceof VarskoError && e.code === 'bad_chain')
			redetail(e, `varskod says its stored chain of thread ${thread} does not verify (bad_chain): it has been tampered with; ask the operator`);
		else if (e instanceof VarskoError && e.code === 'not_found')
			redetail(e, `thread ${thread} does not exist, or you are not a member of it`);
		throw e;
	}
	const m = ans.raw;
	const links = m.get('links');
	if (m.get('thread') !== thread || !Array.isArray(links)) refuse('protocol', `varskod answered with another thread than ${thread}`);
	if (links.length === 0 || links.length > CHAIN_LINKS_MAX)
		refuse('bad_chain', `varskod shows thread ${thread} with ${links.length} links: refused`);
	return linksParse(links, `thread ${thread}`);
}

/* users_check(): every user the chain ever added, their chain verified and every pin checked. */
async function usersCheck(session, t) {
	t.users = [];
	for (const m of t.st.members) {
		const uc = await userChainOf(session, m.user);
		for (const l of t.links) {
			if ((l.op !== 'thread_create' && l.op !== 'thread_member_add') || l.user !== m.user) continue;
			if (!userKeyHad(uc, l.generation, l.ukSignPk))
				refuse('bad_chain', `link ${l.seq} of thread ${t.st.thread} pins a user key of ${m.user} (generation ${l.generation}) that ${m.user}'s user chain never had: refused`);
		}
		t.users.push(tuserFromChain(uc));
	}
}

/* members_admitted(). */
function membersAdmitted(t) {
	const teams = raadgiverTeams(t.st, t.users);
	t.refused = '';
	t.st.members.forEach((m, i) => {
		const a = m.removed === 0n ? tchainAdmits(t.st.institution, m.role, t.users[i].cert, teams) : { ok: false, why: '' };
		t.users[i].admitted = m.removed === 0n && a.ok;
		if (m.removed === 0n && !a.ok && t.refused === '')
			t.refused = `${m.user} (${m.role}) is a member whom the certificates do not admit now: ${a.why}`;
	});
}

/** tchain_usable(): `bad_chain` while a present member is not admitted. */
function tchainUsable(t) {
	if (t.refused) refuse('bad_chain', `${t.refused}; nothing is sealed or shown until the member is removed`);
}

/**
 * tchain_of(): thread's chain verified (13.5), not behind what this device
 * saw, every pin against the user's own chain, every present member's
 * admission. { links, st, users, refused, seenSeq }.
 */
export async function tchainOf(session, thread) {
	if (!threadIdValid(thread)) refuse('bad_input', 'a thread id looks like T- and 26 letters A-Z and digits 2-7');
	const t = { links: await linksGet(session, thread) };
	try {
		t.st = chainThreadVerify(t.links, thread);
	} catch (e) {
		if (!(e instanceof VarskoError)) throw e;
		refuse('bad_chain', `the chain of thread ${thread} does not verify at link ${(e.bad ?? 0) + 1} (${e.code}): refused`);
	}
	const hashes = t.links.map(chainLinkHash);
	try {
		t.seenSeq = await seenCheck(session, seenName(thread), hashes);
	} catch (e) {
		if (e instanceof VarskoError && e.code === 'bad_chain')
			redetail(e, `the server shows a chain of thread ${thread} that does not contain the one this device verified: it went backwards or was changed; refused`);
		throw e;
	}
	await usersCheck(session, t);
	membersAdmitted(t);
	await seenWrite(session, seenName(thread), t.st.head);
	return t;
}

/* tchain_json(). */
function tchainJson(t, self) {
	return {
		thread: t.st.thread, institution: t.st.institution, anonymous: t.st.anonymous, version: num(t.st.head.seq),
		creator: t.st.creator,
		members: t.st.members.map((m, i) => {
			const e = { user: m.user, role: m.role, present: m.removed === 0n, added: num(m.added),
				uk_generation: num(m.ukGeneration), current_generation: num(t.users[i].generation), this: m.user === self,
				creator: m.user === t.st.creator };
			if (m.removed !== 0n) e.removed = num(m.removed);
			else e.admitted = t.users[i].admitted;
			if (t.users[i].cert) e.name = t.users[i].cert.name;
			return e;
		}),
	};
}

/* ---- changes ----------------------------------------------------------------------------- */

/* change_refused(): the detail of a link the verified state refuses, the code kept. */
function changeRefused(session, st, l, e) {
	const me = chainThreadMember(st, session.user);
	const r = e.code;
	let d;
	if (r === 'not_member' && me && me.removed === 0n)
		d = `the change is not signed with the user key thread ${st.thread} pins for ${session.user} (generation ${me.ukGeneration}): refused (not_member)`;
	else if (r === 'not_member') d = `${session.user} is not a member of thread ${st.thread}`;
	else if (r === 'forbidden') d = 'only the thread\'s creator or a rådgiver member adds and removes members';
	else if (r === 'too_large') d = `thread ${st.thread} has had as many members as a thread holds (${CHAIN_MEMBERS_MAX})`;
	else if (l.op === 'thread_member_add' && r === 'bad_chain') d = `${l.user} is a member of thread ${st.thread} already`;
	else if (l.op === 'thread_member_remove' && r === 'bad_chain')
		d = l.user === session.user ? "you leave a thread with 'leave', not 'remove'" : `${l.user} is not a member of thread ${st.thread}`;
	else d = `the ${l.op} link for ${l.user} does not fit thread ${st.thread} (${r})`;
	return redetail(e, d);
}

/* link_make(): l follows st, signed with the own user key g; returns { l, st } after it. */
function linkMake(session, st, link, g) {
	let l = chainLinkFollow({ ...link, time: now() }, st.head);
	l = chainLinkSign(l, g.signSk);
	try {
		return { l, st: chainThreadExtend(st, l) };
	} catch (e) {
		if (e instanceof VarskoError) throw changeRefused(session, st, l, e);
		throw e;
	}
}

/* thread_ok for thread at version. */
function threadOkCheck(ans, thread, version) {
	const v = ans.raw.get('version');
	if (ans.raw.get('thread') !== thread || typeof v !== 'bigint' || v !== BigInt(version))
		refuse('protocol', `varskod stored thread ${thread} as another version than it has`);
}

/* own_signing_key(): the generation the chain pins for this user, or the current one for a non-member. */
async function ownSigningKey(session, t) {
	const me = chainThreadMember(t.st, session.user);
	if (!me || me.removed !== 0n) return userKeyCurrent(session);
	const gens = await userKeyAll(session);
	let out = null;
	for (const g of gens) {
		if (!out && BigInt(g.generation) === me.ukGeneration && equalBytes(g.signPk, me.ukSignPk)) out = g;
		else keyboxGenWipe(g);
	}
	if (out) return out;
	return refuse('not_found', `this device does not hold generation ${me.ukGeneration} of your user key, which thread ${t.st.thread} pins for you`);
}

const linkMap = (l) => jsonLoad(chainLinkToJson(l), CHAIN_LINK_JSON_MAX);

/* thread_change(): one change of a verified thread, signed, checked, appended, remembered. */
async function threadChange(session, t, link) {
	const g = await ownSigningKey(session, t);
	let made;
	try {
		made = linkMake(session, t.st, { kind: 'thread', chain: t.st.thread, ...link }, g);
	} finally {
		keyboxGenWipe(g);
	}
	let ans;
	try {
		ans = await session.request({ type: 'thread_append', thread: t.st.thread, link: linkMap(made.l) }, 'thread_ok');
	} catch (e) {
		if (e instanceof VarskoError && e.code === 'stale_key')
			redetail(e, `${made.l.user}'s user key changed meanwhile (stale_key): run the command again`);
		throw e;
	}
	threadOkCheck(ans, t.st.thread, made.l.seq);
	t.st = made.st;
	await seenWrite(session, seenName(t.st.thread), t.st.head);
	return { thread: t.st.thread, version: num(t.st.head.seq) };
}

function userShape(user) {
	if (user !== null && !idOk(user)) refuse('bad_input', `a user id is 1 to ${ID_MAX} characters`);
}

/*
 * member_fetch(): what a user to be added pins and is: a link with user,
 * role (the newest certificate's), generation and ukSignPk; and the tuser.
 */
async function memberFetch(session, user) {
	const uc = await userChainOf(session, user);
	if (uc.st.generation === 0n) refuse('not_found', `${user} has no user key yet: the user enrolls a device first (varsko enroll)`);
	const role = uc.cert && CHAIN_ROLES.includes(uc.cert.role) ? uc.cert.role : '';
	return { link: { user, role, generation: uc.st.generation, ukSignPk: uc.st.ukSignPk }, u: tuserFromChain(uc) };
}

/* member_admit(). */
function memberAdmit(institution, link, u, teams) {
	const a = tchainAdmits(institution, link.role, u.cert, teams);
	if (!a.ok) refuse('forbidden', `${link.user} may not be a member of this thread: ${a.why}`);
}

/** varsko_thread_add(): { thread, version }. `exists`, `forbidden`, `not_found`, `bad_chain`, ... */
export async function threadAdd(session, thread, user) {
	userShape(user);
	const t = await tchainOf(session, thread);
	const j = userIndex(t, user);
	if (j >= 0 && t.st.members[j].removed === 0n) refuse('exists', `${user} is a member of thread ${thread} already`);
	const teams = raadgiverTeams(t.st, t.users);
	const { link, u } = await memberFetch(session, user);
	memberAdmit(t.st.institution, link, u, teams);
	return threadChange(session, t, { op: 'thread_member_add', ...link });
}

/** varsko_thread_remove(): { thread, version }. */
export async function threadRemove(session, thread, user) {
	userShape(user);
	const t = await tchainOf(session, thread);
	const j = userIndex(t, user);
	if (j < 0 || t.st.members[j].removed !== 0n) refuse('not_found', `${user} is not a member of thread ${thread}`);
	return threadChange(session, t, { op: 'thread_member_remove', user });
}

/** varsko_thread_leave(): { thread, version }. */
export async function threadLeave(session, thread) {
	const t = await tchainOf(session, thread);
	return threadChange(session, t, { op: 'thread_member_leave', user: session.user });
}

/* ---- creating ------------------------------------------------------------------------------ */

/* tchain_create(): the chain made, signed, stored; returns the thread id. */
async function tchainCreate(session, institution, anonymous, members) {
	if (!idOk(institution)) refuse('bad_input', `an institution id is 1 to ${ID_MAX} characters`);
	const cert = session.cert;
	const myRole = cert.role === 'fagperson' || cert.role === 'raadgiver' ? cert.role : '';
	if (!myRole || !certLists(cert, institution))
		refuse('forbidden', `only a fagperson or rådgiver of institution ${institution} opens a thread there`);
	const want = [];
	for (const m of members) {
		if (!idOk(m)) refuse('bad_input', `a user id is 1 to ${ID_MAX} characters`);
		if (m === session.user || want.includes(m)) continue;
		if (want.length === CHAIN_MEMBERS_MAX - 1) refuse('too_large', `a thread has at most ${CHAIN_MEMBERS_MAX} members`);
		want.push(m);
	}
	/* Every member's key and certificate, before anything is signed. */
	const add = [];
	for (const m of want) add.push(await memberFetch(session, m));
	const teams = [];
	if (myRole === 'raadgiver' && cert.team !== '') teams.push(cert.team);
	for (const a of add) if (a.link.role === 'raadgiver' && a.u.cert && a.u.cert.team !== '') teams.push(a.u.cert.team);
	for (const a of add) memberAdmit(institution, a.link, a.u, teams);
	const g = await userKeyCurrent(session);
	const thread = newId('T-');
	const ls = [];
	try {
		let st = chainThreadState();
		let made = linkMake(session, st, { op: 'thread_create', kind: 'thread', chain: thread, user: session.user, institution,
			anonymous: !!anonymous, role: myRole, generation: BigInt(g.generation), ukSignPk: g.signPk }, g);
		ls.push(made.l);
		st = made.st;
		for (const raad of [true, false]) {
			for (const a of add) {
				if ((a.link.role === 'raadgiver') !== raad) continue;
				made = linkMake(session, st, { op: 'thread_member_add', kind: 'thread', chain: thread, ...a.link }, g);
				ls.push(made.l);
				st = made.st;
			}
		}
		const ans = await session.request({ type: 'thread_create', links: ls.map(linkMap) }, 'thread_ok');
		threadOkCheck(ans, thread, st.head.seq);
		await seenWrite(session, seenName(thread), st.head);
		return thread;
	} finally {
		keyboxGenWipe(g);
	}
}

/* members_with_raadgivere(): the assigned rådgivere first (never trusted: checked as every member), then those asked. */
async function membersWithRaadgivere(session, institution, members) {
	if (typeof institution !== 'string') refuse('bad_input', 'an institution is needed');
	let users = [];
	try {
		const ans = await session.request({ type: 'thread_raadgivere', institution }, 'raadgivere');
		const u = ans.raw.get('users');
		if (Array.isArray(u)) users = u;
	} catch (e) {
		if (!(e instanceof VarskoError) || e.code !== 'unknown_type') throw e;
	}
	const list = [];
	for (const id of users) if (typeof id === 'string' && id !== session.user) list.push(id);
	for (const m of members) if (!list.includes(m) && m !== session.user) list.push(m);
	return list;
}

/**
 * varsko_thread_create(): a = { institution, title, text?, anonymous?,
 * members? } (as struct varsko_thread_new). Returns { thread, seq,
 * anonymous } (seq of the first message, which carries the title).
 */
export async function threadCreate(session, a) {
	const title = a ? a.title : undefined;
	if (!tmsgTitleValid(title)) refuse('bad_input', `a title is 1 to ${TMSG_TITLE_MAX} bytes of UTF-8 text on one line`);
	const text = a.text !== undefined && a.text !== null ? a.text : title;
	if (!tmsgTextValid(text))
		refuse('bad_input', `a message is 1 to ${TMSG_TEXT_MAX} bytes of UTF-8 text without control characters (line feed and tab are fine)`);
	const members = await membersWithRaadgivere(session, a.institution, Array.isArray(a.members) ? a.members : []);
	const thread = await tchainCreate(session, a.institution, !!a.anonymous, members);
	try {
		const r = await tmsgSend(session, thread, text, title);
		return { thread, seq: r.seq, anonymous: r.anonymous };
	} catch (e) {
		if (e instanceof VarskoError) {
			e.message = `${e.message}; thread ${thread} was created, but its first message (with the title) was not sent`;
			e.thread = thread;
		}
		throw e;
	}
}

/* ---- sending ------------------------------------------------------------------------------ */

/* targets_of(): every present member's current user key. */
function targetsOf(t) {
	const to = [];
	t.st.members.forEach((m, i) => {
		if (m.removed !== 0n) return;
		if (to.length === ENV_RECIPIENTS_MAX) refuse('too_large', 'recipients');
		if (t.users[i].generation === 0n) refuse('bad_chain', `member ${m.user} has no user key`);
		to.push({ device: keyboxUserKeyId(t.users[i].user, t.users[i].generation), boxPk: t.users[i].ukBoxPk });
	});
	return to;
}

/* self_present(). */
function selfPresent(session, t) {
	const j = userIndex(t, session.user);
	if (j >= 0 && t.st.members[j].removed === 0n) return;
	refuse('not_member', `you are not a member of thread ${t.st.thread}${j >= 0 ? ' any more' : ''}`);
}

/* seal_send(): pt sealed for t's present members against t's version as message id, sent. */
async function sealSend(session, t, kind, id, pt) {
	const to = targetsOf(t);
	const routing = threadRoutingEncode(t.st.thread, t.st.head.seq, kind);
	const sk = session.signSk();
	let env;
	try {
		env = envSeal({ kind: TMSG_ENV_KIND, objectId: id, sender: session.device, routing }, to, pt, sk);
	} catch (e) {
		throw redetail(e, `cannot seal the message for thread ${t.st.thread}`);
	} finally {
		wipe(sk);
	}
	const ans = await session.request({ type: 'thread_send', thread: t.st.thread,
		envelope: jsonLoad(envToJson(env), ENV_JSON_MAX) }, 'thread_sent');
	const m = ans.raw;
	const s = m.get('seq');
	if (m.get('thread') !== t.st.thread || m.get('message') !== id || typeof s !== 'bigint' || s < 1n)
		refuse('protocol', "varskod's answer names another message than the one sent");
	return { seq: Number(s), duplicate: m.get('duplicate') === true };
}

/**
 * tmsg_send_plain(): pt (bytes) of kind sent to thread, under message id
 * (null: a fresh one); sealed once more against a chain verified afresh when
 * the membership changed meanwhile. { seq, anonymous, duplicate }.
 */
export async function tmsgSendPlain(session, thread, kind, pt, id = null) {
	const mid = id || newId('M-');
	let anonymous = false;
	for (let attempt = 0; ; attempt++) {
		const t = await tchainOf(session, thread);
		anonymous = t.st.anonymous;
		selfPresent(session, t);
		tchainUsable(t);
		try {
			const r = await sealSend(session, t, kind, mid, pt);
			return { seq: r.seq, anonymous, duplicate: r.duplicate };
		} catch (e) {
			if (!(e instanceof VarskoError) || (e.code !== 'stale_key' && e.code !== 'not_member') || attempt === 1) {
				if (e instanceof VarskoError && (e.code === 'stale_key' || e.code === 'not_member'))
					e.message += '; the membership changed twice while sending; nothing was stored: send again';
				if (e instanceof VarskoError) e.anonymous = anonymous;
				throw e;
			}
		}
	}
}

/* tmsg_plain_encode(): {"text":...,"title":...} compact, sorted. */
function plainEncode(text, title) {
	const o = { text };
	if (title !== null && title !== undefined) o.title = title;
	return utf8(jsonDump(o));
}

async function tmsgSend(session, thread, text, title) {
	if (!tmsgTextValid(text))
		refuse('bad_input', `a message is 1 to ${TMSG_TEXT_MAX} bytes of UTF-8 text without control characters (line feed and tab are fine)`);
	if (title !== null && title !== undefined && !tmsgTitleValid(title))
		refuse('bad_input', `a title is 1 to ${TMSG_TITLE_MAX} bytes of UTF-8 text on one line`);
	const pt = plainEncode(text, title);
	try {
		return await tmsgSendPlain(session, thread, 'text', pt, null);
	} finally {
		wipe(pt);
	}
}

/** varsko_thread_send(): { seq, anonymous }. */
export async function threadSend(session, thread, text) {
	const r = await tmsgSend(session, thread, text, null);
	return { seq: r.seq, anonymous: r.anonymous };
}

/**
 * varsko_thread_send_file(): bytes attached to thread as a file message
 * (17.9; text optional). The ciphertext is kept in this page until the
 * message is stored, so a second call after a dropped connection goes on
 * where the upload stopped. { seq, anonymous, resumedFrom }.
 */
export async function threadSendFile(session, thread, name, mediaType, bytes, text = null) {
	if (!threadIdValid(thread)) refuse('bad_input', 'not a thread id');
	if (text !== null && text !== undefined && !tmsgTextValid(text))
		refuse('bad_input', `a text is 1 to ${TMSG_TEXT_MAX} bytes of UTF-8`);
	const want = fileWant(name, mediaType, bytes);
	const { upload, name: keptName, resumedFrom } = await uploadFile(session, 'thread', thread, want, bytes);
	const pt = tmsgFileEncode(upload.f, text);
	try {
		const r = await tmsgSendPlain(session, thread, 'file', pt, upload.message);
		uploadDrop(keptName);
		return { seq: r.seq, anonymous: r.anonymous, resumedFrom };
	} finally {
		wipe(pt);
	}
}

/** The message id of 17.10: BLAKE2b-128 over the tag, then thread, reference and user, each with a zero byte. */
export function referenceMessageId(thread, reference, user) {
	const z = new Uint8Array(1);
	const h = sodium.crypto_generichash(16, concat(utf8('varsko-threadref-v1'), utf8(thread), z, utf8(reference), z,
		utf8(user), z), null);
	return idOf('M-', h);
}

/**
 * varsko_thread_send_reference(): tell thread that the underretning
 * `reference` was made from it (17.10), under the deterministic message id;
 * told before (exists), the own message with that id and reference is
 * found. { seq, anonymous }.
 */
export async function threadSendReference(session, thread, reference) {
	if (!threadIdValid(thread) || !flowReferenceValid(reference))
		refuse('bad_input', "a thread id and an underretning's reference (U-YYYY-NNNNNN) are needed");
	const id = referenceMessageId(thread, reference, session.user);
	const pt = utf8(`{"reference":"${reference}"}`);
	try {
		const r = await tmsgSendPlain(session, thread, 'underretning_ref', pt, id);
		return { seq: r.seq, anonymous: r.anonymous };
	} catch (e) {
		if (!(e instanceof VarskoError) || e.code !== 'exists') throw e;
		const read = await threadRead(session, thread, { before: 0, mark: false });
		const m = read.messages.find((x) => x.message === id && x.reference === reference && x.own);
		if (!m) throw e;
		return { seq: m.seq, anonymous: read.anonymous };
	} finally {
		wipe(pt);
	}
}

/* ---- reading ------------------------------------------------------------------------------- */

/* tmsg_plain_decode_kind(): the plaintext as a Map, checked for its kind; `bad_frame`. */
function plainDecodeKind(pt, kind) {
	let o;
	try {
		o = jsonLoad(pt, pt.length + 1);
	} catch {
		return refuse('bad_frame', 'plaintext');
	}
	/* jansson (json_loadb without JSON_ALLOW_NUL) refuses \u0000 in a string: so does this. */
	const str = (v, min, max) => typeof v === 'string' && !v.includes('\u0000') && utf8(v).length >= min &&
		utf8(v).length <= max;
	if (kind === 'text') {
		const title = o.get('title');
		if (!str(o.get('text'), 1, TMSG_TEXT_MAX) || (o.has('title') && !str(title, 1, TMSG_TITLE_MAX)) ||
		    o.size !== (o.has('title') ? 2 : 1))
			refuse('bad_frame', 'text');
		return o;
	}
	if (kind === 'underretning_ref') {
		if (o.size !== 1 || !flowReferenceValid(o.get('reference'))) refuse('bad_frame', 'reference');
		return o;
	}
	if (kind !== 'file') refuse('bad_frame', 'kind');
	const f = tmsgFileFromJson(o.get('file'));
	wipe(f.key);
	if (o.size !== (o.has('text') ? 2 : 1) || (o.has('text') && !tmsgTextValid(o.get('text')))) refuse('bad_frame', 'file');
	return o;
}

/**
 * tmsg_verify(): the envelope a message of this thread sealed against a
 * version it had; the sender certificate verifies (at `received`) and names
 * a device of the sender's user chain; the sender a present member at that
 * version; the signature. Returns the routing.
 */
export function tmsgVerify(t, orgPk, m) {
	const env = m.env;
	let rt = null;
	try {
		rt = threadRoutingDecode(env.routing);
	} catch {
		rt = null;
	}
	if (env.kind !== TMSG_ENV_KIND || !threadMessageIdValid(env.objectId) || !rt || rt.thread !== t.st.thread ||
	    BigInt(rt.version) > t.st.head.seq)
		refuse('bad_signature', `message ${m.seq} is not a message of thread ${t.st.thread}: refused`);
	let ok = m.cert.device === env.sender;
	if (ok) {
		try {
			certVerify(m.cert, orgPk, m.received);
		} catch {
			ok = false;
		}
	}
	if (!ok) refuse('bad_cert', `the certificate of message ${m.seq}'s sender does not verify: refused`);
	const j = userIndex(t, m.cert.user);
	const d = j >= 0 ? tuserDevice(t.users[j], m.cert.device) : undefined;
	if (!d || !equalBytes(d.signPk, m.cert.signPk))
		refuse('not_cross_signed', `message ${m.seq}'s sender device is not one of ${m.cert.user}'s devices by the user chain: refused`);
	if (!presentAt(t.links, m.cert.user, rt.version))
		refuse('not_member', `message ${m.seq}'s sender ${m.cert.user} was not a member at version ${rt.version}: refused`);
	try {
		envVerify(env, m.cert.signPk);
	} catch {
		refuse('bad_signature', `message ${m.seq}'s signature does not verify: refused`);
	}
	return rt;
}

/** tmsg_mark_check(): a MARK (Map) of message (seq, id, envelope hash) verified; the mark, or a thrown code. */
export function tmsgMarkCheck(t, mo, seq, message, hash) {
	let mk;
	try {
		mk = threadMarkFromJson(mo);
	} catch {
		return refuse('bad_frame', 'mark');
	}
	if (mk.thread !== t.st.thread || BigInt(mk.seq) !== BigInt(seq) || mk.message !== message ||
	    !equalBytes(mk.envelopeHash, hash))
		refuse('bad_signature', 'mark of another message');
	const j = userIndex(t, mk.user);
	const d = j >= 0 ? tuserDevice(t.users[j], mk.device) : undefined;
	if (!d || (!d.certified && !d.revoked)) refuse('not_cross_signed', 'mark by a device not of the user');
	threadReceiptVerify(mk, mk.sig, d.signPk);
	return mk;
}

function markOk(t, mo, m) {
	try {
		return tmsgMarkCheck(t, mo, m.seq, m.env.objectId, m.hash);
	} catch (e) {
		if (e instanceof VarskoError) return null;
		throw e;
	}
}

/* The own user-key generations, fetched once per read (userkey_all). */
class Keys {
	constructor() {
		this.gens = null;
	}

	async get(session) {
		if (!this.gens) this.gens = await userKeyAll(session);
		return this.gens;
	}

	wipe() {
		if (this.gens) userKeysWipe(this.gens);
		this.gens = null;
	}
}

/* open_own(): m.env opened with the own user key generation its wrap names; the plaintext (wipe it). */
async function openOwn(session, keys, m) {
	for (const w of m.env.wraps) {
		let split;
		try {
			split = keyboxKeyIdSplit(w.device);
		} catch {
			continue;
		}
		if (keyboxOwnerKind(split.owner) !== 'user' || split.owner.slice(5) !== session.user) continue;
		const gens = await keys.get(session);
		for (const g of gens) {
			if (BigInt(g.generation) !== split.generation) continue;
			try {
				return envOpen(m.env, m.cert.signPk, keyboxUserKeyId(session.user, split.generation), g.boxSk, TMSG_ENV_KIND,
					m.env.objectId);
			} catch {
				return refuse('crypto', `message ${m.seq} does not open with your user key`);
			}
		}
		return refuse('crypto', `message ${m.seq} is sealed to generation ${split.generation} of your user key, which this device does not hold`);
	}
	return refuse('crypto', `message ${m.seq} is not sealed to you`);
}

/* message_take(): one entry of a messages answer parsed, verified and opened. */
async function messageTake(session, t, keys, e) {
	const seq = e instanceof Map ? e.get('seq') : undefined;
	const marks = e instanceof Map ? e.get('marks') : undefined;
	const m = { seq: typeof seq === 'bigint' && seq > 0n ? Number(seq) : 0, marks: marks === undefined ? [] : marks };
	try {
		if (typeof seq !== 'bigint' || seq < 1n) fail('bad_frame');
		m.received = timeParse(e.get('received'));
		m.env = envFromJson(e.get('envelope'));
		m.cert = certFromJson(e.get('sender_cert'));
		if (!Array.isArray(m.marks)) fail('bad_frame');
	} catch {
		refuse('bad_frame', `message ${seq} of thread ${t.st.thread} is malformed: refused`);
	}
	m.rt = tmsgVerify(t, session.orgPk, m);
	m.hash = flowEnvelopeHash(m.env);
	const pt = await openOwn(session, keys, m);
	try {
		m.plain = plainDecodeKind(pt, m.rt.kind);
	} catch (err) {
		throw redetail(err, `message ${m.seq} opens, but its content is not a thread message`);
	} finally {
		wipe(pt);
	}
	return m;
}

/* sync_page(): one thread_sync, every message verified and opened, appended to ms; returns `more`. */
async function syncPage(session, t, keys, afterMode, at, limit, ms, cap) {
	const ans = await session.request({ type: 'thread_sync', thread: t.st.thread, [afterMode ? 'after' : 'before']: BigInt(at),
		limit: BigInt(limit) }, 'messages');
	const a = ans.raw;
	const arr = a.get('messages');
	if (a.get('thread') !== t.st.thread || !Array.isArray(arr) || arr.length > limit)
		refuse('protocol', 'varskod answered with the messages of another thread');
	let more = a.get('more') === true;
	let prev = 0;
	for (const e of arr) {
		if (ms.length === cap) {
			more = true;
			break;
		}
		const m = await messageTake(session, t, keys, e);
		if (m.seq <= prev || (afterMode ? m.seq <= at : m.seq >= at))
			refuse('protocol', `varskod sent the messages of thread ${t.st.thread} out of order`);
		prev = m.seq;
		ms.push(m);
	}
	return more;
}

/* mark_send(): one read mark of kind for m, signed by this device. */
async function markSend(session, t, m, kind) {
	const r = { thread: t.st.thread, seq: BigInt(m.seq), message: m.env.objectId, envelopeHash: m.hash, kind,
		user: session.user, device: session.device, time: now() };
	const sk = session.signSk();
	try {
		r.sig = threadReceiptSign(r, sk);
	} finally {
		wipe(sk);
	}
	await session.request({ type: 'thread_mark', mark: jsonLoad(threadMarkToJson(r)) }, 'mark_ok');
}

const transportError = (e) => e instanceof VarskoError && ['connect', 'timeout', 'closed', 'tls', 'nomem'].includes(e.code);

function userName(t, user) {
	const j = userIndex(t, user);
	return j >= 0 && t.users[j].cert ? t.users[j].cert.name : '';
}

/* own_marks(): per recipient but oneself, the earliest verified leveret and laest. */
function ownMarks(t, self, m, counter) {
	for (const mo of m.marks) if (!markOk(t, mo, m)) counter.refused++;
	const out = [];
	for (const w of m.env.wraps) {
		let split;
		try {
			split = keyboxKeyIdSplit(w.device);
		} catch {
			continue;
		}
		if (keyboxOwnerKind(split.owner) !== 'user' || split.owner.slice(5) === self) continue;
		const user = split.owner.slice(5);
		const at = { leveret: 0, laest: 0 };
		for (const mo of m.marks) {
			const mk = markOk(t, mo, m);
			if (mk && mk.user === user && (at[mk.kind] === 0 || mk.time < at[mk.kind])) at[mk.kind] = mk.time;
		}
		if (at.leveret === 0) at.leveret = at.laest;
		out.push({ user, name: userName(t, user), leveret: at.leveret ? timeFormat(at.leveret) : null,
			laest: at.laest ? timeFormat(at.laest) : null });
	}
	return out;
}

function hasOwnMark(t, self, m, kind) {
	return m.marks.some((mo) => {
		const mk = markOk(t, mo, m);
		return mk && mk.user === self && mk.kind === kind;
	});
}

/* message_json(). */
function messageJson(t, self, m, last, counter) {
	const own = m.cert.user === self;
	const o = { seq: m.seq, message: m.env.objectId, user: m.cert.user, name: m.cert.name, device: m.cert.device,
		received: timeFormat(m.received), version: num(m.rt.version), kind: m.rt.kind, own, new: !own && m.seq > last };
	if (m.plain.has('text')) o.text = m.plain.get('text');
	if (m.plain.has('title')) o.title = m.plain.get('title');
	if (m.rt.kind === 'underretning_ref') o.reference = m.plain.get('reference');
	if (m.rt.kind === 'file') {
		const f = tmsgFileFromJson(m.plain.get('file'));
		wipe(f.key);
		o.file = { blob: f.blob, name: f.name, media_type: f.mediaType, size: f.size, sha256: toHex(f.sha256) };
	}
	if (own) o.marks = ownMarks(t, self, m, counter);
	return o;
}

/* read_start(). */
async function readStart(session, thread, n, zeroOk) {
	if (!Number.isSafeInteger(n) || n < 0 || (n === 0 && !zeroOk)) refuse('bad_input', 'no message has that number');
	const t = await tchainOf(session, thread);
	tchainUsable(t);
	return t;
}

async function lastRead(session, thread) {
	const v = await session.pinGet(lastName(thread));
	return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : 0;
}

/**
 * varsko_thread_read(): the verified, decrypted messages as the C's JSON
 * gives them: { thread, institution, anonymous, version, title?, members,
 * messages: [{ seq, message, user, name, device, received, version, kind,
 * own, new, text?, title?, reference?, file?: { blob, name, media_type,
 * size, sha256 (hex) }, marks? (own messages: [{ user, name, leveret,
 * laest }]) }], more, older, marks_sent, marks_refused }. opts: { before
 * (0: the newest page), mark (send leveret and laest, default true) }.
 */
export async function threadRead(session, thread, opts = {}) {
	const before = opts.before ?? 0;
	const mark = opts.mark ?? true;
	const t = await readStart(session, thread, before, true);
	const keys = new Keys();
	let ms = [];
	const first = [];
	try {
		const cap = TMSG_PAGES_MAX * THREAD_SYNC_MAX;
		let more = false;
		let older;
		const last = await lastRead(session, thread);
		if (before > 0) {
			older = await syncPage(session, t, keys, false, before, THREAD_SYNC_MAX, ms, cap);
		} else {
			older = await syncPage(session, t, keys, false, INT64_MAX, THREAD_SYNC_MAX, ms, cap);
			if (last > 0 && older && ms.length > 0 && ms[0].seq > last + 1) {
				ms = [];
				older = true;
				for (let page = 0; page < TMSG_PAGES_MAX; page++) {
					const at = ms.length > 0 ? ms[ms.length - 1].seq : last;
					more = await syncPage(session, t, keys, true, at, THREAD_SYNC_MAX, ms, cap);
					if (!more) break;
				}
			}
		}
		let title = null;
		for (const m of ms) if (title === null && m.plain.has('title')) title = m.plain.get('title');
		if (title === null && older) {
			await syncPage(session, t, keys, true, 0, 1, first, 1);
			if (first.length === 1 && first[0].plain.has('title')) title = first[0].plain.get('title');
		}
		let sent = 0;
		for (const m of mark ? ms : []) {
			if (m.cert.user === session.user) continue;
			for (const kind of ['leveret', 'laest']) {
				if (hasOwnMark(t, session.user, m, kind)) continue;
				try {
					await markSend(session, t, m, kind);
					sent++;
				} catch (e) {
					if (transportError(e) || !(e instanceof VarskoError)) throw e;
				}
			}
		}
		const counter = { refused: 0 };
		let top = 0;
		const messages = ms.map((m) => {
			if (m.seq > top) top = m.seq;
			return messageJson(t, session.user, m, last, counter);
		});
		const o = { thread: t.st.thread, institution: t.st.institution, anonymous: t.st.anonymous, version: num(t.st.head.seq),
			members: tchainJson(t, session.user).members, messages, more, older, marks_sent: sent,
			marks_refused: counter.refused };
		if (title !== null) o.title = title;
		if (before === 0 && top > last) await session.pinPut(lastName(thread), top);
		return o;
	} finally {
		keys.wipe();
	}
}

/**
 * varsko_thread_fetch(): the attachment of message seq, verified and
 * opened as every message, its bytes fetched and checked.
 * { data (Uint8Array: wipe it after use), name, mediaType }.
 */
export async function threadFetch(session, thread, seq) {
	const t = await readStart(session, thread, seq, false);
	const keys = new Keys();
	try {
		const ms = [];
		await syncPage(session, t, keys, true, seq - 1, 1, ms, 1);
		if (ms.length !== 1 || ms[0].seq !== seq) refuse('not_found', `thread ${thread} has no message ${seq} that is sealed to you`);
		let f = null;
		try {
			f = ms[0].rt.kind === 'file' ? tmsgFileFromJson(ms[0].plain.get('file')) : null;
		} catch {
			f = null;
		}
		if (!f) refuse('not_found', `message ${seq} has no attachment`);
		try {
			const data = await attachFetchOpen(session, f);
			return { data, name: f.name, mediaType: f.mediaType };
		} finally {
			wipe(f.key);
		}
	} finally {
		keys.wipe();
	}
}

/* ---- lists -------------------------------------------------------------------------------- */

/** varsko_thread_list(): varskod's catalogue as it answers it: { threads: [{ thread, institution, anonymous, version, last_seq, last_time?, purged? }] }. */
export async function threadList(session) {
	const ans = await session.request({ type: 'thread_list' }, 'threads');
	const o = js(ans.raw);
	delete o.type;
	delete o.id;
	return o;
}

/** varsko_thread_members(): the verified chain's members, as tchain_json. */
export async function threadMembers(session, thread) {
	const t = await tchainOf(session, thread);
	return tchainJson(t, session.user);
}

