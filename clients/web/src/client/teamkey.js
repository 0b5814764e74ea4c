// Team key sets, the browser side of clients/lib/teamkey.c (PROTOCOL.md
// 16.5 to 16.7): a sender seals only to the newest set that a member's
// current user key signed and that still fits the members (else `stale_key`,
// 16.6); a reader opens its own box with the user key it is sealed to and
// reaches earlier generations only through the prev_box walk. A member
// keeps the key fit: a new generation when it is stale, the same one again
// with the boxes a new member lacks (teamKeyMaintain).
import { equalBytes, VarskoError } from '../crypto/codec.js';
import {
	keyboxGenNew, keyboxGenWipe, keyboxKeyId, keyboxKeyIdSplit, keyboxOwnerKind, keyboxSetMake, keyboxSetOpen,
	keyboxSetVerify, keyboxTeamFit, keyboxTeamOwner, keyboxUserKeyId, keyboxUserOwner, keyboxWalkBack, KEYBOX_FIT_MISSING,
	KEYBOX_FIT_OK, KEYBOX_FIT_STALE,
} from '../crypto/keybox.js';
import { teamChainOf } from './team.js';
import { keysGet, keysPut, refuse, setFromMap, userKeyAll, userKeysWipe } from './userkey.js';

/** Team key generations a client walks through at most. */
export const TEAMKEY_GENS_MAX = 256;

/**
 * tsets_fetch(): the team's sets, parsed (not verified): generations 1..n
 * of "team:<team>" in order, else `protocol`.
 */
export async function teamSets(session, team) {
	let owner;
	try {
		owner = keyboxTeamOwner(team);
	} catch {
		return refuse('bad_input', 'a team id is 1 to 64 visible characters');
	}
	let sets;
	try {
		sets = await keysGet(session, owner);
	} catch (e) {
		if (e instanceof VarskoError && e.code === 'not_found') e.message = `not_found: the municipality has no team ${team}`;
		throw e;
	}
	if (sets.length > TEAMKEY_GENS_MAX)
		refuse('too_large', `team ${team}'s key has more generations than a client walks (${TEAMKEY_GENS_MAX})`);
	return sets.map((v, i) => {
		let s;
		try {
			s = setFromMap(v);
		} catch (e) {
			if (e instanceof VarskoError) e.message = `${e.code}: key set ${i + 1} of team ${team} does not parse: refused`;
			throw e;
		}
		if (s.owner !== owner || s.generation !== BigInt(i + 1))
			refuse('protocol', `varskod answered with key sets of team ${team} that are not its generations 1..${sets.length} in order`);
		return s;
	});
}

function verified(s) {
	try {
		keyboxSetVerify(s, null);
		return true;
	} catch {
		return false;
	}
}

/** set_signer_member(): the member whose current user key signed s (signature verified), or -1. */
export function setSignerMember(tc, s) {
	if (!verified(s)) return -1;
	return tc.cur.findIndex((c) => equalBytes(s.signer, c.ukSignPk));
}

/** set_fit(): 'ok', 'missing' or 'stale' (16.6); a set no member's current key signed is stale. */
export function teamSetFit(tc, s) {
	if (setSignerMember(tc, s) < 0) return KEYBOX_FIT_STALE;
	return keyboxTeamFit(s, tc.st.members.map((m) => m.user), tc.cur.map((c) => c.generation));
}

/**
 * teamkey_for_sender(): what a sender seals to for `team`: { hasKey:
 * false } for a team without a chain or without a key (then the roster),
 * else { hasKey: true, keyId ("team:<team>:<g>"), pub }. `not_member` when
 * the newest set is not signed by a member's current user key, `stale_key`
 * when it no longer fits the members.
 */
export async function teamKeyForSender(session, team) {
	const tc = await teamChainOf(session, team);
	if (tc.st.head.seq === 0n) return { hasKey: false };
	const ts = await teamSets(session, team);
	if (ts.length === 0) return { hasKey: false };
	const top = ts[ts.length - 1];
	if (setSignerMember(tc, top) < 0)
		refuse('not_member', `the newest key set of team ${team} (generation ${top.generation}) is not signed by the current user key of a member by the team chain: refused`);
	if (teamSetFit(tc, top) === KEYBOX_FIT_STALE)
		refuse('stale_key', `the key of team ${team} is being renewed (generation ${top.generation} no longer fits the members): try again shortly`);
	return { hasKey: true, keyId: keyboxKeyId(top.owner, top.generation), pub: Uint8Array.from(top.pub),
		generation: top.generation };
}

/* own_box(): the user-key generation the own box of s is sealed to (0n: none) and its recipient. */
function ownBox(session, s) {
	const own = keyboxUserOwner(session.user);
	for (const b of s.boxes) {
		let id;
		try {
			id = keyboxKeyIdSplit(b.recipient);
		} catch {
			continue;
		}
		if (id.owner === own) return { gen: BigInt(id.generation), recipient: b.recipient };
	}
	return { gen: 0n, recipient: null };
}

/* open_from(): generation `generation` from the sets, with the own user keys uk (generations 1..n). */
function openFrom(session, team, ts, uk, generation) {
	const want = BigInt(generation);
	if (want === 0n || want > BigInt(ts.length)) refuse('not_found', `team ${team} has no key generation ${generation}`);
	let t = BigInt(ts.length);
	let own = { gen: 0n, recipient: null };
	for (; t >= want; t--) {
		own = ownBox(session, ts[Number(t) - 1]);
		if (own.gen !== 0n) break;
	}
	if (own.gen === 0n)
		refuse('not_found', `team ${team}'s key (generation ${generation}) has no box for ${session.user}: not a member, or not sealed to yet (a member's device or the team's agent adds it)`);
	const s = ts[Number(t) - 1];
	if (!verified(s)) refuse('bad_signature', `key set ${t} of team ${team} is not signed by its signer: refused`);
	if (own.gen > BigInt(uk.length))
		refuse('crypto', `key set ${t} of team ${team} is sealed to a user key generation (${own.gen}) this device does not hold`);
	const u = uk[Number(own.gen) - 1];
	let top;
	try {
		top = keyboxSetOpen(s, own.recipient, u.boxPk, u.boxSk);
	} catch (e) {
		if (e instanceof VarskoError)
			refuse(e.code === 'not_found' ? 'crypto' : e.code, `${session.user}'s box in key set ${t} of team ${team} does not open`);
		throw e;
	}
	if (t === want) return top;
	let earlier;
	try {
		earlier = keyboxWalkBack(top, ts.slice(0, Number(t)));
	} catch (e) {
		if (e instanceof VarskoError) e.message = `${e.code}: the earlier generations of team ${team}'s key do not open`;
		throw e;
	} finally {
		keyboxGenWipe(top);
	}
	const out = earlier[Number(want) - 1];
	earlier.forEach((g, i) => {
		if (i !== Number(want) - 1) keyboxGenWipe(g);
	});
	return out;
}

/**
 * teamkey_open(): generation `generation` of team's key for this user (a
 * member): its own box, opened with the user key it is sealed to, walked
 * back when older. Wipe the result with keyboxGenWipe.
 */
export async function teamKeyOpen(session, team, generation) {
	const ts = await teamSets(session, team);
	if (ts.length === 0) refuse('not_found', `team ${team} has no key yet`);
	const uk = await userKeyAll(session);
	try {
		return openFrom(session, team, ts, uk, generation);
	} finally {
		userKeysWipe(uk);
	}
}

/**
 * teamkey_state(): { generation, state: 'none' | 'ok' | 'missing' | 'stale' }
 * of the newest set against the members (tc from teamChainOf).
 */
export async function teamKeyState(session, tc, team) {
	if (tc.st.head.seq === 0n) return { generation: 0n, state: 'none' };
	const ts = await teamSets(session, team);
	if (ts.length === 0) return { generation: 0n, state: 'none' };
	const fit = teamSetFit(tc, ts[ts.length - 1]);
	return { generation: BigInt(ts.length), state: fit === KEYBOX_FIT_OK ? 'ok' : fit === KEYBOX_FIT_MISSING ? 'missing' : 'stale' };
}

/** True when id is a team key id ("team:<team>:<g>"): { team, generation }, else null. */
export function teamKeyIdOf(id) {
	try {
		const k = keyboxKeyIdSplit(id);
		return keyboxOwnerKind(k.owner) === 'team' ? { team: k.owner.slice(5), generation: BigInt(k.generation) } : null;
	} catch {
		return null;
	}
}

/* ---- keeping the key fit ---------------------------------------------------------------------- */

/* rcpts_of(): every member's current user key as a recipient (keyboxSetMake sorts them). */
function rcptsOf(tc) {
	return tc.st.members.map((m, i) => ({ id: keyboxUserKeyId(m.user, tc.cur[i].generation), boxPk: tc.cur[i].ukBoxPk }));
}

/* maintain_once(): { changed: 0 | 1 (boxes added) | 2 (generation made), generation, putRefused }. */
async function maintainOnce(session, team, state) {
	state.putRefused = false;
	const tc = await teamChainOf(session, team);
	if (tc.st.head.seq === 0n) refuse('not_member', `team ${team} has no team chain yet, so it has no members`);
	const self = tc.st.members.findIndex((m) => m.user === session.user);
	if (self < 0) refuse('not_member', `${session.user} is not a member of team ${team} by its chain`);
	const ts = await teamSets(session, team);
	const l = ts.length;
	let fit = KEYBOX_FIT_STALE;
	if (l > 0 && (fit = teamSetFit(tc, ts[l - 1])) === KEYBOX_FIT_OK) return { changed: 0, generation: BigInt(l) };
	if (l + 1 > TEAMKEY_GENS_MAX) refuse('too_large', `team ${team}'s key has as many generations as a client walks (${TEAMKEY_GENS_MAX})`);
	const uk = await userKeyAll(session);
	let cur = null;
	let prev = null;
	let newg = null;
	try {
		const signer = uk[uk.length - 1];
		if (signer.generation !== tc.cur[self].generation || !equalBytes(signer.signPk, tc.cur[self].ukSignPk))
			refuse('stale_key', `${session.user}'s user key changed meanwhile`);
		const owner = keyboxTeamOwner(team);
		if (l > 0) {
			try {
				cur = openFrom(session, team, ts, uk, l);
			} catch (e) {
				if (e instanceof VarskoError && e.code === 'not_found')
					e.message = `not_found: ${session.user} has no box in team ${team}'s newest key generation (${l}), so it cannot ${fit === KEYBOX_FIT_STALE ? 'renew' : 'add boxes to'} it: another member (the team's agent) does`;
				throw e;
			}
		}
		let made;
		let what;
		if (l > 0 && fit === KEYBOX_FIT_MISSING) {
			if (l > 1) prev = openFrom(session, team, ts, uk, l - 1);
			made = keyboxSetMake(owner, cur, prev, rcptsOf(tc), signer.signSk);
			what = 1;
		} else {
			newg = keyboxGenNew('team', l + 1);
			made = keyboxSetMake(owner, newg, cur, rcptsOf(tc), signer.signSk);
			what = 2;
		}
		try {
			await keysPut(session, made);
		} catch (e) {
			state.putRefused = true;
			throw e;
		}
		return { changed: what, generation: made.generation };
	} finally {
		keyboxGenWipe(cur);
		keyboxGenWipe(prev);
		keyboxGenWipe(newg);
		userKeysWipe(uk);
	}
}

/**
 * teamkey_maintain_gen(): keep team's key fit for its members (16.6): a new
 * generation when the newest no longer fits (a member left or rotated), the
 * same generation again with the boxes a new member lacks. Returns {
 * changed: 0 | 1 | 2, generation }. Once more from a fresh fetch when
 * another member was faster.
 */
export async function teamKeyMaintain(session, team) {
	const state = { putRefused: false };
	try {
		return await maintainOnce(session, team, state);
	} catch (e) {
		if (e instanceof VarskoError && (e.code === 'stale_key' || (state.putRefused && e.code === 'bad_input')))
			return maintainOnce(session, team, state);
		throw e;
	}
}
