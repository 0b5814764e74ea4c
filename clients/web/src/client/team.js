// The organisation root and the team chains, the browser side of
// clients/lib/team.c (PROTOCOL.md 16.2 to 16.4): the org chain verified from
// the pinned root, the pinned organisation key a live enrollment key of it;
// a team chain verified against the org chain's admins, every member's
// pinned user key found in the member's own user chain, and neither chain
// allowed to go back from what this device verified last (its pins). A
// change is a link signed by the own user's current key, checked against
// the verified state first, so one varskod would refuse never leaves.
import { equalBytes, now, timeFormat, VarskoError } from '../crypto/codec.js';
import {
	chainLinkFollow, chainLinkHash, chainLinkSign, chainLinkToJson, chainOrgVerify, chainRoleOfKind, chainTeamExtend,
	chainTeamVerify, CHAIN_LINK_JSON_MAX,
} from '../crypto/chain.js';
import { keyboxGenWipe } from '../crypto/keybox.js';
import { teamKeyState } from './teamkey.js';
import {
	chainGet, linksParse, refuse, seenCheck, seenWrite, textMap, userChainOf, userKeyCurrent, userKeyHad,
} from './userkey.js';

const ORG_SEEN = 'org_seen';
const TEAM_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

async function seenRefuse(session, name, hashes, what) {
	try {
		return await seenCheck(session, name, hashes);
	} catch (e) {
		if (e instanceof VarskoError && e.code === 'bad_chain')
			e.message = `bad_chain: the server shows ${what} that does not contain the one this device verified: it went backwards or was changed; refused`;
		throw e;
	}
}

/**
 * team_org_fetch(): the org chain verified from the pinned root, its
 * enrollment keys holding the pinned organisation key, still valid; the
 * pin updated. Returns the org state. `not_found` without a pinned root,
 * `bad_chain` otherwise.
 */
export async function orgFetch(session) {
	const root = session.rootPk;
	if (!root)
		refuse('not_found', 'this device holds no organisation root key (it was enrolled before the org chain existed), so it cannot verify the org chain or any team chain: enroll it again');
	const m = await chainGet(session, 'org', 'org');
	const ls = linksParse(m.get('links'), 'the org chain org');
	if (ls.length === 0) refuse('bad_chain', 'the server presents an organisation root but no org chain: refused');
	let org;
	try {
		org = chainOrgVerify(ls, root);
	} catch (e) {
		if (e instanceof VarskoError)
			refuse('bad_chain', `the org chain does not verify from the pinned organisation root at link ${(e.bad ?? 0) + 1} (${e.code}): refused`);
		throw e;
	}
	await seenRefuse(session, ORG_SEEN, ls.map(chainLinkHash), 'an org chain');
	const e = org.enroll.find((k) => equalBytes(k.pk, session.orgPk));
	if (!e) refuse('bad_chain', "the organisation key this device pinned is not an enrollment key of the org chain: it is not the organisation's; refused");
	if (e.notAfter < now())
		refuse('bad_chain', `the org chain retired the organisation key this device pinned (valid until ${timeFormat(e.notAfter)}): refused; enroll the device again`);
	await seenWrite(session, ORG_SEEN, org.head);
	return org;
}

/**
 * team_org_first_check(): at the first login with a root, the org chain
 * must vouch for the enrollment key before anything else (16.2). Nothing
 * to do without a root or once the org chain was verified on this device.
 */
export async function orgFirstCheck(session) {
	if (!session.rootPk || (await session.pinGet(ORG_SEEN))) return;
	await orgFetch(session);
}

/** The index of `user` among the team state's members, or -1. */
export function teamMemberIndex(st, user) {
	return st.members.findIndex((m) => m.user === user);
}

/** team_pin_check(): the member's user chain holds the key the team chain pinned. */
export function teamPinCheck(m, uc) {
	if (uc.st.user !== m.user || !userKeyHad(uc, m.ukGeneration, m.ukSignPk))
		refuse('bad_chain', `the user chain the server shows for ${m.user} does not contain the user key the team chain pinned (generation ${m.ukGeneration}): refused`);
}

/**
 * team_chain_of(): all of 16.4 for `team`. Returns { org, st, linkHash[],
 * seenSeq, cur: [{ name, generation, ukSignPk, ukBoxPk }] (each member's
 * current user key, by st.members' order) }. A team without a chain has
 * st.head.seq 0n and no members.
 */
export async function teamChainOf(session, team) {
	if (typeof team !== 'string' || !TEAM_RE.test(team))
		refuse('bad_input', "a team id is 1 to 64 of the letters A-Z a-z, digits, '-', '_' and '.'");
	/* 1. The org chain from the pinned root: the admins. */
	const org = await orgFetch(session);
	/* 2. The team chain, verified from its root against those admins. */
	let m;
	try {
		m = await chainGet(session, 'team', team);
	} catch (e) {
		if (e instanceof VarskoError && e.code === 'not_found') e.message = `not_found: the municipality has no team ${team}`;
		throw e;
	}
	const ls = linksParse(m.get('links'), `the team chain ${team}`);
	let st;
	try {
		st = chainTeamVerify(ls, team, org);
	} catch (e) {
		if (e instanceof VarskoError)
			e.message = `${e.code}: the team chain of ${team} does not verify at link ${(e.bad ?? 0) + 1}: refused`;
		throw e;
	}
	const linkHash = ls.map(chainLinkHash);
	/* 4. Not shorter than, and extending, what this device verified last. */
	const name = `team_seen:${team}`;
	const seenSeq = await seenRefuse(session, name, linkHash, `a team chain of ${team}`);
	/* 3. Each member's user chain holds the pinned key; its newest key is the current one. */
	const cur = [];
	for (const mem of st.members) {
		const uc = await userChainOf(session, mem.user);
		teamPinCheck(mem, uc);
		cur.push({ name: uc.cert ? uc.cert.name : '', generation: uc.st.generation, ukSignPk: uc.st.ukSignPk,
			ukBoxPk: uc.st.ukBoxPk });
	}
	await seenWrite(session, name, st.head);
	return { org, st, linkHash, seenSeq, cur };
}

/* ---- changes ------------------------------------------------------------------------------------ */

function changeRefused(session, tc, l, e) {
	const a = tc.org.admins.find((x) => x.user === session.user);
	const j = teamMemberIndex(tc.st, session.user);
	if (e.code === 'not_member' && (a || j >= 0))
		e.message = `not_member: the ${a ? 'org' : 'team'} chain pins an older user key of ${session.user} (generation ${a ? a.ukGeneration : tc.st.members[j].ukGeneration}) than the one this device signs with: the change is refused until the key is pinned again`;
	else if (e.code === 'not_member')
		e.message = l.op === 'team_create' ? `not_member: ${session.user} is not an admin by the org chain: only an admin creates a team chain`
			: `not_member: ${session.user} is neither a leder of the team nor an admin by the org chain`;
	else if (e.code === 'forbidden')
		e.message = `forbidden: ${session.user} is a member of team ${tc.st.team} but not a leder: only a leder changes it`;
	else e.message = `${e.code}: the ${l.op} link for ${l.user} does not fit team ${l.chain}'s chain`;
	throw e;
}

/*
 * team_change(): sign l with the own user's current key, check that it
 * extends tc (else the code varskod would give, nothing sent), append it
 * and move the pin on.
 */
async function teamChange(session, tc, link) {
	const g = await userKeyCurrent(session);
	let l;
	try {
		l = chainLinkSign(chainLinkFollow({ ...link, time: now() }, tc.st.head), g.signSk);
	} finally {
		keyboxGenWipe(g);
	}
	let next;
	try {
		next = chainTeamExtend(tc.st, l, tc.org);
	} catch (e) {
		if (e instanceof VarskoError) changeRefused(session, tc, l, e);
		throw e;
	}
	let ans;
	try {
		ans = await session.request({ type: 'chain_append', kind: 'team', chain: l.chain,
			link: textMap(chainLinkToJson(l), CHAIN_LINK_JSON_MAX) }, 'chain_ok');
	} catch (e) {
		if (e instanceof VarskoError && e.code === 'stale_key')
			e.message = `stale_key: ${l.user}'s user key changed meanwhile: try again`;
		throw e;
	}
	const seq = ans.raw.get('seq');
	if (typeof seq !== 'bigint' || seq !== l.seq) refuse('protocol', 'varskod stored the link as another seq than it has');
	tc.st = next;
	tc.linkHash.push(chainLinkHash(l));
	await seenWrite(session, `team_seen:${l.chain}`, tc.st.head);
}

/* member_key(): the newest key of the user's verified chain and the role of its newest live certificate. */
async function memberKey(session, user, l) {
	const uc = await userChainOf(session, user);
	if (uc.st.generation === 0n) refuse('not_found', `${user} has no user key yet: the user enrolls a device first`);
	let role = null;
	let nb = 0;
	uc.st.devices.forEach((d, j) => {
		if (uc.dev[j].certified && !d.revoked && (role === null || uc.dev[j].certNotBefore >= nb)) {
			role = uc.dev[j].role;
			nb = uc.dev[j].certNotBefore;
		}
	});
	if (role === null) refuse('not_found', `no device of ${user} has a valid certificate from the organisation`);
	if (!chainRoleOfKind(role, 'team') || (l.op === 'team_create' && role !== 'leder'))
		refuse('bad_input', `${user} has the role ${role}, which cannot be ${l.op === 'team_create' ? 'the first leder' : 'a member'} of a team`);
	return { ...l, user, role, generation: uc.st.generation, ukSignPk: uc.st.ukSignPk };
}

async function changeStart(session, team, user) {
	if (typeof user !== 'string' || user === '' || user.length > 64) refuse('bad_input', 'a user id is 1 to 64 characters');
	return teamChainOf(session, team);
}

/** varsko_team_create(): an admin creates team's chain with its first leder. */
export async function teamCreate(session, team, leder) {
	const tc = await changeStart(session, team, leder);
	if (tc.st.head.seq > 0n) refuse('exists', `team ${team} has a team chain already`);
	if (!tc.org.admins.some((a) => a.user === session.user))
		refuse('not_member', `${session.user} is not an admin by the org chain: only an admin creates a team chain`);
	await teamChange(session, tc, await memberKey(session, leder, { op: 'team_create', chain: team }));
}

/** varsko_team_add(): a leder (or admin) adds a member, pinning the member's current user key. */
export async function teamAdd(session, team, user) {
	const tc = await changeStart(session, team, user);
	if (tc.st.head.seq === 0n) refuse('not_found', `team ${team} has no team chain yet: an admin creates it first`);
	if (teamMemberIndex(tc.st, user) >= 0) refuse('exists', `${user} is a member of team ${team} already`);
	await teamChange(session, tc, await memberKey(session, user, { op: 'member_add', chain: team }));
}

async function changeMember(session, team, user, op) {
	const tc = await changeStart(session, team, user);
	const j = teamMemberIndex(tc.st, user);
	if (j < 0) refuse('not_found', `${user} is not a member of team ${team}`);
	if (op === 'leder_add' && tc.st.members[j].leder) refuse('exists', `${user} is a leder of team ${team} already`);
	if (op === 'leder_remove' && !tc.st.members[j].leder) refuse('not_found', `${user} is not a leder of team ${team}`);
	await teamChange(session, tc, { op, chain: team, user });
}

/** varsko_team_remove(): member_remove. */
export function teamRemove(session, team, user) {
	return changeMember(session, team, user, 'member_remove');
}

/** varsko_team_leder(): leder_add (leder true) or leder_remove. */
export function teamLeder(session, team, user, leder) {
	return changeMember(session, team, user, leder ? 'leder_add' : 'leder_remove');
}

/**
 * varsko_team_show(): { team, seq, admin, leder, members: [{ user, name,
 * role, leder, ukGeneration, currentGeneration, this }], keyGeneration, keyState }.
 */
export async function teamShow(session, team) {
	const tc = await teamChainOf(session, team);
	const key = await teamKeyState(session, tc, team);
	const j = teamMemberIndex(tc.st, session.user);
	return {
		team, seq: tc.st.head.seq, admin: tc.org.admins.some((a) => a.user === session.user),
		leder: j >= 0 && tc.st.members[j].leder,
		members: tc.st.members.map((m, i) => ({ user: m.user, name: tc.cur[i].name, role: m.role, leder: m.leder,
			ukGeneration: m.ukGeneration, currentGeneration: tc.cur[i].generation, this: m.user === session.user })),
		keyGeneration: key.generation, keyState: key.state,
	};
}
