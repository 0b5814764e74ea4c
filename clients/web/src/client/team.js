// The organisation root and the team chains, the browser side of
// clients/lib/team.c (PROTOCOL.md 16.2 to 16.4): the org chain verified from
// the pinned root, the pinned organisation key a live enrollment key of it;
// a team chain verified against the org chain's admins, every member's
// pinned user key found in the member's own user chain, and neither chain
// allowed to go back from what this device verified last (its pins).
import { equalBytes, now, timeFormat, VarskoError } from '../crypto/codec.js';
import { chainOrgVerify, chainTeamVerify, chainLinkHash } from '../crypto/chain.js';
import { chainGet, linksParse, refuse, seenCheck, seenWrite, userChainOf, userKeyHad } from './userkey.js';

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
