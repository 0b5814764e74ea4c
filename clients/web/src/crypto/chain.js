// The hash-linked signed chains of the key model (PROTOCOL.md section 13),
// mirroring proto/chain.c: one link object for the org, user, team and thread
// chains, its signing input, hash and JSON form (a table of the schema engine
// per op), and the verifier states that a chain extends link by link.
//
// A link is a plain object: {op, seq (BigInt), prev (32 bytes), time (Unix
// seconds), sigs: [{pk, sig}], ...} and the members its op uses (chain.h's
// table), named as proto/chain.h names them: `chain` is the chain id (the
// `user` of a user link, the `team` of a team link, the `thread` of a thread
// link), `user` the admin or member an org, team or thread link is about,
// `pk` the admin's user key, enrollment key or gateway key of an org link,
// `generation` (BigInt) the generation of a user link and the `uk_generation`
// of the others, and `device`, `deviceSignPk`, `deviceBoxPk`, `notAfter`,
// `ukSignPk`, `ukBoxPk`, `role`, `institution`, `anonymous` (boolean). A member
// the op does not use is absent (or "", 0, 0n, false, 32 zero bytes).
//
// Every link goes through one well-formedness check before it is encoded,
// signed, hashed or verified. The extend functions never change the state they
// are given: they return the extended state or throw, so a refused link leaves
// the state as it was. Nothing here is secret: signing keys are only passed to
// codec.sign.
import { sodium, fail, VarskoError, Fields, deviceId, sign, verify, equalBytes } from './codec.js';
import { K, field, ID_MAX, INT64_MAX, TIME_MAX, jsonLoad, schemaDecode, schemaEncodeText, validId } from './schema.js';
import { threadIdValid } from './thread.js';

export const CHAIN_TAG_ORG = 'varsko-orglink-v1';
export const CHAIN_TAG_USER = 'varsko-userlink-v1';
export const CHAIN_TAG_TEAM = 'varsko-teamlink-v1';
export const CHAIN_TAG_THREAD = 'varsko-threadlink-v1';

export const CHAIN_HASH_LEN = 32;
export const CHAIN_ADMINS_MAX = 64;
export const CHAIN_ENROLL_MAX = 16;
export const CHAIN_DEVICES_MAX = 64;
export const CHAIN_MEMBERS_MAX = 64;
export const CHAIN_LINK_JSON_MAX = 4096;

const ZERO32 = new Uint8Array(32);

/* The fields each op uses besides seq, prev, op, time and the signatures. */
const U_USER = 1 << 0;
const U_DEVICE = 1 << 1;
const U_DEVKEYS = 1 << 2;
const U_PK = 1 << 3;
const U_GEN = 1 << 4;
const U_NOTAFTER = 1 << 5;
const U_UK = 1 << 6;
const U_UKBOX = 1 << 7;
const U_ROLE = 1 << 8;
const U_INST = 1 << 9;
const U_ANON = 1 << 10;

/** Each op's chain kind, the fields it uses and its number of signatures, by wire name. */
const OPS = Object.freeze({
	admin_add: { kind: 'org', uses: U_USER | U_PK | U_GEN, sigs: 1 },
	admin_remove: { kind: 'org', uses: U_USER, sigs: 1 },
	enroll_key: { kind: 'org', uses: U_PK | U_NOTAFTER, sigs: 1 },
	gateway_key: { kind: 'org', uses: U_PK, sigs: 1 },
	uk_create: { kind: 'user', uses: U_DEVICE | U_DEVKEYS | U_GEN | U_UK | U_UKBOX, sigs: 1 },
	device_add: { kind: 'user', uses: U_DEVICE | U_DEVKEYS, sigs: 1 },
	device_revoke: { kind: 'user', uses: U_DEVICE, sigs: 1 },
	uk_rotate: { kind: 'user', uses: U_GEN | U_UK | U_UKBOX, sigs: 2 },
	team_create: { kind: 'team', uses: U_USER | U_ROLE | U_GEN | U_UK, sigs: 1 },
	member_add: { kind: 'team', uses: U_USER | U_ROLE | U_GEN | U_UK, sigs: 1 },
	member_remove: { kind: 'team', uses: U_USER, sigs: 1 },
	leder_add: { kind: 'team', uses: U_USER, sigs: 1 },
	leder_remove: { kind: 'team', uses: U_USER, sigs: 1 },
	thread_create: { kind: 'thread', uses: U_INST | U_ANON | U_USER | U_ROLE | U_GEN | U_UK, sigs: 1 },
	thread_member_add: { kind: 'thread', uses: U_USER | U_ROLE | U_GEN | U_UK, sigs: 1 },
	thread_member_remove: { kind: 'thread', uses: U_USER, sigs: 1 },
	thread_member_leave: { kind: 'thread', uses: U_USER, sigs: 1 },
});

export const CHAIN_OPS = Object.freeze(Object.keys(OPS));
export const CHAIN_ROLES = Object.freeze(['myndighed', 'leder', 'agent', 'fagperson', 'raadgiver']);

/** 'org', 'user', 'team' or 'thread' for an op name, else undefined. */
export function chainOpKind(op) {
	return Object.hasOwn(OPS, op) ? OPS[op].kind : undefined;
}

/** True when `role` is one a member of a chain of `kind` may have: team myndighed, leder, agent; thread fagperson, raadgiver, leder. */
export function chainRoleOfKind(role, kind) {
	switch (role) {
	case 'leder':
		return kind === 'team' || kind === 'thread';
	case 'myndighed':
	case 'agent':
		return kind === 'team';
	case 'fagperson':
	case 'raadgiver':
		return kind === 'thread';
	default:
		return false;
	}
}

/* ---- JSON tables ------------------------------------------------------------- */

const SIG_TABLE = Object.freeze([field('pk', K.B64, { max: 32 }), field('sig', K.B64, { max: 64 })]);

const common = (nsigs) => [
	field('op', K.ENUM, { names: CHAIN_OPS }),
	field('seq', K.U64, { min: 1 }),
	field('prev', K.B64, { max: CHAIN_HASH_LEN }),
	field('time', K.TIME),
	field('sigs', K.OBJLIST, { min: nsigs, max: nsigs, table: SIG_TABLE }),
];
const id = (name, key) => field(name, K.ID, { min: 1, max: ID_MAX, key });
const key32 = (name, key) => field(name, K.B64, { max: 32, key });
const gen = (name) => field(name, K.U64, { min: 1, key: 'generation' });
const role = field('role', K.ENUM, { names: CHAIN_ROLES });

const T_TEAM_USER = [...common(1), id('team', 'chain'), id('user')];
const T_THREAD_USER = [...common(1), id('thread', 'chain'), id('user')];
const TABLES = Object.freeze({
	admin_add: [...common(1), id('user'), key32('uk_sign_pk', 'pk'), gen('uk_generation')],
	admin_remove: [...common(1), id('user')],
	enroll_key: [...common(1), key32('pk'), field('not_after', K.TIME)],
	gateway_key: [...common(1), key32('pk')],
	uk_create: [...common(1), id('user', 'chain'), id('device'), key32('device_sign_pk'), key32('device_box_pk'),
		gen('generation'), key32('uk_sign_pk'), key32('uk_box_pk')],
	device_add: [...common(1), id('user', 'chain'), id('device'), key32('device_sign_pk'), key32('device_box_pk')],
	device_revoke: [...common(1), id('user', 'chain'), id('device')],
	uk_rotate: [...common(2), id('user', 'chain'), gen('generation'), key32('uk_sign_pk'), key32('uk_box_pk')],
	team_create: [...common(1), id('team', 'chain'), id('user'), gen('uk_generation'), key32('uk_sign_pk')],
	member_add: [...common(1), id('team', 'chain'), id('user'), role, gen('uk_generation'), key32('uk_sign_pk')],
	member_remove: T_TEAM_USER,
	leder_add: T_TEAM_USER,
	leder_remove: T_TEAM_USER,
	thread_create: [...common(1), id('thread', 'chain'), id('institution'), field('anonymous', K.BOOL), id('user'), role,
		gen('uk_generation'), key32('uk_sign_pk')],
	thread_member_add: [...common(1), id('thread', 'chain'), id('user'), role, gen('uk_generation'), key32('uk_sign_pk')],
	thread_member_remove: T_THREAD_USER,
	thread_member_leave: T_THREAD_USER,
});

/* ---- well-formedness ---------------------------------------------------------------- */

function big(v) {
	if (typeof v === 'bigint') return v;
	if (Number.isSafeInteger(v)) return BigInt(v);
	return -1n;
}

/*
 * The link with every member chain.h's struct has: those absent take their
 * zero value ("", 0, 0n, false, 32 zero bytes, no signatures).
 */
function full(l) {
	const k32 = (v) => (v === undefined || v === null ? ZERO32 : v);
	return {
		op: l.op, kind: chainOpKind(l.op), chain: l.chain ?? '', seq: big(l.seq ?? 0n), prev: l.prev, time: l.time,
		user: l.user ?? '', device: l.device ?? '', deviceSignPk: k32(l.deviceSignPk), deviceBoxPk: k32(l.deviceBoxPk),
		pk: k32(l.pk), generation: big(l.generation ?? 0n), notAfter: l.notAfter ?? 0, ukSignPk: k32(l.ukSignPk),
		ukBoxPk: k32(l.ukBoxPk), role: l.role ?? '', institution: l.institution ?? '', anonymous: l.anonymous ?? false,
		sigs: l.sigs ?? [],
	};
}

const isKey = (b, n = 32) => b instanceof Uint8Array && b.length === n;
const isZero = (b) => isKey(b) && sodium.is_zero(b);
const timeOk = (t) => Number.isInteger(t) && t >= 0 && t <= TIME_MAX;
const strOk = (s, used) => (used ? validId(s, 1, ID_MAX) : s === '');

/*
 * Everything chain.h's table says about a full link. exact: the signatures
 * are all there; otherwise fewer are allowed (a link being signed).
 * Signatures are counted, not checked.
 */
function wellFormed(l, exact) {
	const o = OPS[l.op];
	if (!o || !Object.hasOwn(OPS, l.op)) return false;
	const u = o.uses;
	if (!Array.isArray(l.sigs) || (exact ? l.sigs.length !== o.sigs : l.sigs.length > o.sigs)) return false;
	if (!l.sigs.every((s) => s && isKey(s.pk) && isKey(s.sig, 64))) return false;
	if (!strOk(l.chain, o.kind !== 'org')) return false;
	if (o.kind === 'thread' && !threadIdValid(l.chain)) return false;
	if (l.seq < 1n || l.seq > INT64_MAX || !timeOk(l.time) || !isKey(l.prev, CHAIN_HASH_LEN)) return false;
	if (!strOk(l.user, u & U_USER) || !strOk(l.device, u & U_DEVICE) || !strOk(l.institution, u & U_INST)) return false;
	if (u & U_ANON ? typeof l.anonymous !== 'boolean' : l.anonymous !== false) return false;
	if (!isKey(l.deviceSignPk) || !isKey(l.deviceBoxPk) || !isKey(l.pk) || !isKey(l.ukSignPk) || !isKey(l.ukBoxPk))
		return false;
	if (!(u & U_DEVKEYS) && (!isZero(l.deviceSignPk) || !isZero(l.deviceBoxPk))) return false;
	if (!(u & U_PK) && !isZero(l.pk)) return false;
	if (u & U_GEN ? l.generation < 1n || l.generation > INT64_MAX : l.generation !== 0n) return false;
	if (u & U_NOTAFTER ? !timeOk(l.notAfter) : l.notAfter !== 0) return false;
	if (!(u & U_UK) && !isZero(l.ukSignPk)) return false;
	if (!(u & U_UKBOX) && !isZero(l.ukBoxPk)) return false;
	/* A team's first member is its leder; a thread's creator is a fagperson or a rådgiver, never a leder. */
	if (l.op === 'team_create') return l.role === 'leder';
	if (l.op === 'thread_create') return l.role === 'fagperson' || l.role === 'raadgiver';
	return u & U_ROLE ? chainRoleOfKind(l.role, o.kind) : l.role === '';
}

/** True when l is complete and consistent as chain.h's table says (signatures counted, not checked). */
export function chainLinkWellFormed(l) {
	return !!l && typeof l === 'object' && wellFormed(full(l), true);
}

/* ---- signing input and hash ------------------------------------------------------ */

function signingInput(l) {
	if (!wellFormed(l, false)) fail('bad_input', 'link not well-formed');
	switch (l.kind) {
	case 'org':
		return new Fields(CHAIN_TAG_ORG).int(l.seq).bytes(l.prev).str(l.op).str(l.user).bytes(l.pk).int(l.generation)
			.int(l.notAfter).int(l.time).done();
	case 'user': {
		/* The device keys are 32 bytes where the op names a device's keys, an empty field elsewhere. */
		const devkeys = (OPS[l.op].uses & U_DEVKEYS) !== 0;
		const none = new Uint8Array(0);
		return new Fields(CHAIN_TAG_USER).str(l.chain).int(l.seq).bytes(l.prev).str(l.op).str(l.device)
			.bytes(devkeys ? l.deviceSignPk : none).bytes(devkeys ? l.deviceBoxPk : none).int(l.generation)
			.bytes(l.ukSignPk).bytes(l.ukBoxPk).int(l.time).done();
	}
	case 'team':
		return new Fields(CHAIN_TAG_TEAM).str(l.chain).int(l.seq).bytes(l.prev).str(l.op).str(l.user).str(l.role)
			.int(l.generation).bytes(l.ukSignPk).int(l.time).done();
	default:
		return new Fields(CHAIN_TAG_THREAD).str(l.chain).int(l.seq).bytes(l.prev).str(l.op).str(l.institution)
			.int(l.anonymous ? 1 : 0).str(l.user).str(l.role).int(l.generation).bytes(l.ukSignPk).int(l.time).done();
	}
}

/** The signing input of 13.3; `bad_input` for a link not well-formed apart from its signatures. */
export function chainLinkSigningInput(l) {
	return signingInput(full(l));
}

/** SHA-256 of the signing input: the link's hash, the next link's prev. */
export function chainLinkHash(l) {
	return sodium.crypto_hash_sha256(chainLinkSigningInput(l));
}

/* ---- JSON ------------------------------------------------------------------------ */

/** The canonical JSON text of 13.2; `bad_input` for a link that is not well-formed. */
export function chainLinkToJson(l) {
	const f = l && typeof l === 'object' ? full(l) : null;
	if (!f || !wellFormed(f, true)) fail('bad_input', 'link not well-formed');
	return schemaEncodeText(f, TABLES[f.op]);
}

/**
 * A link from its JSON text (string or UTF-8 bytes, at most 4 096 bytes:
 * else `too_large`) or from an object loaded by schema.jsonLoad. `bad_json`,
 * `duplicate_key`, and `bad_frame` for anything the op's table or chain.h's
 * well-formedness refuses. No signature is checked.
 */
export function chainLinkFromJson(text) {
	const o = text instanceof Map ? text : jsonLoad(text, CHAIN_LINK_JSON_MAX);
	const op = o.get('op');
	if (typeof op !== 'string' || !Object.hasOwn(OPS, op)) fail('bad_frame', 'unknown op');
	const d = schemaDecode(o, TABLES[op]);
	if (op === 'team_create') d.role = 'leder';
	const l = full(d);
	if (!wellFormed(l, true)) fail('bad_frame', 'link not well-formed');
	return l;
}

/* ---- verifier states ------------------------------------------------------------------ */

const emptyHead = () => ({ seq: 0n, hash: new Uint8Array(CHAIN_HASH_LEN) });

/** An empty org state: no links, no admins, no enrollment keys, no gateway key (gatewayPk null). */
export function chainOrgState() {
	return { head: emptyHead(), admins: [], enroll: [], gatewayPk: null };
}

/** An empty user state; `user` (optional) pins the chain id. */
export function chainUserState(user = '') {
	return { head: emptyHead(), user, generation: 0n, ukSignPk: new Uint8Array(32), ukBoxPk: new Uint8Array(32),
		devices: [] };
}

/** An empty team state; `team` (optional) pins the chain id. */
export function chainTeamState(team = '') {
	return { head: emptyHead(), team, members: [] };
}

/** An empty thread state; `thread` (optional) pins the chain id. */
export function chainThreadState(thread = '') {
	return { head: emptyHead(), thread, institution: '', anonymous: false, creator: '', members: [] };
}

function clone(s) {
	return structuredClone(s);
}

function badChain(detail) {
	return fail('bad_chain', detail);
}

/*
 * Steps 1 and 2: l (full) is well-formed, of the state's kind and chain (an
 * empty id: not pinned), follows the head; the create op is link 1 and only
 * link 1.
 */
function checkFollows(head, id, l, kind, create) {
	if (!wellFormed(l, true) || l.kind !== kind) badChain('not a well-formed link of this chain kind');
	if (id !== '' && id !== l.chain) badChain('another chain');
	if (head.seq >= INT64_MAX || l.seq !== head.seq + 1n) badChain('seq does not follow');
	if (head.seq === 0n ? !sodium.is_zero(l.prev) : !equalBytes(l.prev, head.hash)) badChain('prev does not follow');
	if (create && (l.seq === 1n) !== (l.op === create)) badChain(`${create} is link 1 and only link 1`);
}

/* Step 3: every signature verifies with the key it names; returns the link's hash. */
function checkSigs(l) {
	const input = signingInput(l);
	for (const s of l.sigs) if (!verify(input, s.sig, s.pk)) fail('bad_signature');
	return sodium.crypto_hash_sha256(input);
}

function advance(t, l, hash) {
	t.head = { seq: l.seq, hash };
}

function adminByKey(org, pk) {
	return org ? org.admins.find((a) => equalBytes(a.ukSignPk, pk)) : undefined;
}

function prep(l) {
	if (!l || typeof l !== 'object') fail('bad_input', 'no link');
	return full(l);
}

/* ---- org chain --------------------------------------------------------------------- */

/**
 * The org state after one more link: every link signed by rootPk (else
 * `bad_signature`); admin_add of an admin (user or key) and admin_remove of a
 * non-admin `bad_chain`; enroll_key of a listed key sets its notAfter;
 * gateway_key replaces the gateway key; past the bounds `too_large`.
 */
export function chainOrgExtend(s, link, rootPk) {
	const l = prep(link);
	checkFollows(s.head, '', l, 'org', null);
	const hash = checkSigs(l);
	if (!equalBytes(l.sigs[0].pk, rootPk)) fail('bad_signature', 'not by the organisation root key');
	const t = clone(s);
	switch (l.op) {
	case 'admin_add':
		if (t.admins.some((a) => a.user === l.user || equalBytes(a.ukSignPk, l.pk))) badChain('admin already listed');
		if (t.admins.length >= CHAIN_ADMINS_MAX) fail('too_large', 'admins');
		t.admins.push({ user: l.user, ukSignPk: Uint8Array.from(l.pk), ukGeneration: l.generation });
		break;
	case 'admin_remove': {
		const i = t.admins.findIndex((a) => a.user === l.user);
		if (i < 0) badChain('not an admin');
		t.admins.splice(i, 1);
		break;
	}
	case 'enroll_key': {
		let e = t.enroll.find((k) => equalBytes(k.pk, l.pk));
		if (!e) {
			if (t.enroll.length >= CHAIN_ENROLL_MAX) fail('too_large', 'enrollment keys');
			e = { pk: Uint8Array.from(l.pk), notAfter: 0 };
			t.enroll.push(e);
		}
		e.notAfter = l.notAfter;
		break;
	}
	case 'gateway_key':
		t.gatewayPk = Uint8Array.from(l.pk);
		break;
	default:
		badChain('op');
	}
	advance(t, l, hash);
	return t;
}

/* ---- user chain ------------------------------------------------------------------------ */

/* Step 4 of a user link: the signers its op needs. */
function userSigners(t, l, org) {
	switch (l.op) {
	case 'uk_create':
		if (!equalBytes(l.sigs[0].pk, l.deviceSignPk)) fail('bad_signature', 'uk_create not by its device');
		return;
	case 'device_add':
		if (!equalBytes(l.sigs[0].pk, t.ukSignPk)) fail('bad_signature', 'device_add not by the user key');
		return;
	case 'device_revoke':
		if (!equalBytes(l.sigs[0].pk, t.ukSignPk) && !adminByKey(org, l.sigs[0].pk))
			fail('bad_signature', 'device_revoke neither by the user key nor by an admin');
		return;
	case 'uk_rotate': {
		const d = t.devices.find((x) => equalBytes(x.signPk, l.sigs[1].pk));
		if (!equalBytes(l.sigs[0].pk, t.ukSignPk) || !d) fail('bad_signature', 'uk_rotate signers');
		if (d.revoked) fail('device_revoked');
		return;
	}
	default:
		badChain('op');
	}
}

/* Step 5 of uk_create and device_add: a new device, its id derived from its key, never seen before. */
function addDevice(t, l) {
	if (deviceId(l.deviceSignPk) !== l.device) badChain('device id is not that of device_sign_pk');
	if (t.devices.some((d) => d.device === l.device || equalBytes(d.signPk, l.deviceSignPk))) badChain('device twice');
	if (t.devices.length >= CHAIN_DEVICES_MAX) fail('too_large', 'devices');
	t.devices.push({ device: l.device, signPk: Uint8Array.from(l.deviceSignPk), boxPk: Uint8Array.from(l.deviceBoxPk),
		revoked: false });
}

/**
 * The user state after one more link (13.5). `org` is the verified org state
 * whose admins may revoke devices (null: none). uk_create is link 1, by its
 * device; checking that device's certificate is the caller's.
 */
export function chainUserExtend(s, link, org = null) {
	const l = prep(link);
	checkFollows(s.head, s.user, l, 'user', 'uk_create');
	const hash = checkSigs(l);
	const t = clone(s);
	userSigners(t, l, org);
	switch (l.op) {
	case 'uk_create':
		if (l.generation !== 1n) badChain('uk_create of generation other than 1');
		addDevice(t, l);
		t.user = l.chain;
		break;
	case 'device_add':
		addDevice(t, l);
		break;
	case 'device_revoke': {
		const d = t.devices.find((x) => x.device === l.device);
		if (!d || d.revoked) badChain('revoke of an unknown or revoked device');
		d.revoked = true;
		break;
	}
	case 'uk_rotate':
		if (l.generation !== t.generation + 1n) badChain('generation does not step by one');
		break;
	default:
		badChain('op');
	}
	if (l.op === 'uk_create' || l.op === 'uk_rotate') {
		t.generation = l.generation;
		t.ukSignPk = Uint8Array.from(l.ukSignPk);
		t.ukBoxPk = Uint8Array.from(l.ukBoxPk);
	}
	advance(t, l, hash);
	return t;
}

/* ---- team chain ------------------------------------------------------------------------- */

/* Step 4 of a team link: an admin, or (after team_create) a leder of the team. */
function teamSigner(t, l, org) {
	if (adminByKey(org, l.sigs[0].pk)) return;
	const m = l.op === 'team_create' ? undefined : t.members.find((x) => equalBytes(x.ukSignPk, l.sigs[0].pk));
	if (!m) fail('not_member');
	if (!m.leder) fail('forbidden');
}

/**
 * The team state after one more link (13.5). `org` is the verified org
 * state whose admins may create and change teams (null: none).
 */
export function chainTeamExtend(s, link, org = null) {
	const l = prep(link);
	checkFollows(s.head, s.team, l, 'team', 'team_create');
	const hash = checkSigs(l);
	const t = clone(s);
	teamSigner(t, l, org);
	const m = t.members.find((x) => x.user === l.user);
	const leders = () => t.members.filter((x) => x.leder).length;
	switch (l.op) {
	case 'team_create':
		t.team = l.chain;
	/* falls through */
	case 'member_add':
		if (m || t.members.some((x) => equalBytes(x.ukSignPk, l.ukSignPk))) badChain('member (user or key) twice');
		if (t.members.length >= CHAIN_MEMBERS_MAX) fail('too_large', 'members');
		t.members.push({ user: l.user, role: l.role, ukSignPk: Uint8Array.from(l.ukSignPk), ukGeneration: l.generation,
			leder: l.op === 'team_create' });
		break;
	case 'member_remove':
		if (!m || (m.leder && leders() === 1)) badChain('remove of a non-member or of the last leder');
		t.members.splice(t.members.indexOf(m), 1);
		break;
	case 'leder_add':
		if (!m || m.leder) badChain('leder_add of a non-member or a leder');
		m.leder = true;
		break;
	case 'leder_remove':
		if (!m || !m.leder || leders() === 1) badChain('leder_remove of a non-leder or of the last leder');
		m.leder = false;
		break;
	default:
		badChain('op');
	}
	advance(t, l, hash);
	return t;
}

/* ---- thread chain ------------------------------------------------------------------------ */

/** The entry of `user` in a thread state (a member or a departed one), or undefined. */
export function chainThreadMember(s, user) {
	return s.members.find((m) => m.user === user);
}

/* Step 4 of a thread link; returns the signing member (undefined for thread_create). */
function threadSigner(t, l) {
	if (l.op === 'thread_create') {
		if (!equalBytes(l.sigs[0].pk, l.ukSignPk)) fail('bad_signature', 'thread_create not by the key it pins');
		return undefined;
	}
	const m = t.members.find((x) => x.removed === 0n && equalBytes(x.ukSignPk, l.sigs[0].pk));
	if (!m) fail('not_member');
	if (l.op === 'thread_member_leave') {
		if (m.user !== l.user) fail('forbidden', 'a leave by another member');
	} else if (m.user !== t.creator && m.role !== 'raadgiver') {
		fail('forbidden', 'neither the creator nor a raadgiver');
	}
	return m;
}

/** The thread state after one more link (13.5). */
export function chainThreadExtend(s, link) {
	const l = prep(link);
	checkFollows(s.head, s.thread, l, 'thread', 'thread_create');
	const hash = checkSigs(l);
	const t = clone(s);
	const signer = threadSigner(t, l);
	switch (l.op) {
	case 'thread_create':
		t.thread = l.chain;
		t.institution = l.institution;
		t.anonymous = l.anonymous;
		t.creator = l.user;
	/* falls through */
	case 'thread_member_add': {
		let m = chainThreadMember(t, l.user);
		if (m && m.removed === 0n) badChain('add of a present member');
		if (t.members.some((x) => x !== m && equalBytes(x.ukSignPk, l.ukSignPk))) badChain('key pinned for another user');
		if (!m) {
			if (t.members.length >= CHAIN_MEMBERS_MAX) fail('too_large', 'members');
			m = { user: l.user };
			t.members.push(m);
		}
		Object.assign(m, { role: l.role, ukSignPk: Uint8Array.from(l.ukSignPk), ukGeneration: l.generation, added: l.seq,
			removed: 0n });
		break;
	}
	case 'thread_member_remove': {
		/* A member who wants to go leaves; a remove of oneself would read as someone else's decision. */
		const m = chainThreadMember(t, l.user);
		if (!m || m.removed !== 0n || m === signer) badChain('remove of a non-member or of the signer');
		m.removed = l.seq;
		break;
	}
	case 'thread_member_leave':
		signer.removed = l.seq;
		break;
	default:
		badChain('op');
	}
	advance(t, l, hash);
	return t;
}

/* ---- whole chains ---------------------------------------------------------------------- */

/*
 * Extend `state` by links[0..n): the state after the last one, or a thrown
 * VarskoError carrying `bad` (the index of the refused link) and `state` (the
 * state after the links before it).
 */
function walk(state, links, extend) {
	let s = state;
	for (let i = 0; i < links.length; i++) {
		try {
			s = extend(s, links[i]);
		} catch (e) {
			if (e instanceof VarskoError) {
				e.bad = i;
				e.state = s;
			}
			throw e;
		}
	}
	return s;
}

/** Verify an org chain from its root; see walk() for failures. */
export function chainOrgVerify(links, rootPk) {
	return walk(chainOrgState(), links, (s, l) => chainOrgExtend(s, l, rootPk));
}

/** Verify a user chain from its root; `user` (may be empty) pins the chain id. */
export function chainUserVerify(links, user = '', org = null) {
	return walk(chainUserState(user ?? ''), links, (s, l) => chainUserExtend(s, l, org));
}

/** Verify a team chain from its root; `team` (may be empty) pins the chain id. */
export function chainTeamVerify(links, team = '', org = null) {
	return walk(chainTeamState(team ?? ''), links, (s, l) => chainTeamExtend(s, l, org));
}

/** Verify a thread chain from its root; `thread` (may be empty) pins the chain id. */
export function chainThreadVerify(links, thread = '') {
	return walk(chainThreadState(thread ?? ''), links, chainThreadExtend);
}

/* ---- making links ---------------------------------------------------------------------- */

/**
 * For a client that makes a link: a copy of l following `head` (the head of
 * the chain's state): seq and prev set, no signatures. Sign it last.
 */
export function chainLinkFollow(l, head) {
	return { ...l, seq: head.seq + 1n, prev: Uint8Array.from(head.hash), sigs: [] };
}

/**
 * A copy of l with one more signature by sk (64-byte Ed25519 secret key; its
 * public half is the signature's pk) over the signing input. uk_rotate is
 * signed twice: first with the current user key, then with the device's key.
 * `bad_input` when l is not well-formed apart from its signatures or already
 * has all of them.
 */
export function chainLinkSign(link, sk) {
	const l = prep(link);
	if (!(sk instanceof Uint8Array) || sk.length !== 64) fail('bad_input', 'secret key of 64 bytes');
	if (!wellFormed(l, false) || l.sigs.length >= OPS[l.op].sigs) fail('bad_input', 'link not signable');
	const sig = sign(signingInput(l), sk);
	return { ...link, sigs: [...l.sigs, { pk: Uint8Array.from(sk.subarray(32)), sig }] };
}
