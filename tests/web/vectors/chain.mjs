// chain.json (PROTOCOL.md section 13): every link of the org, user, team and
// thread chains parses, encodes back to its text, has the signing input, hash
// and signatures of the vector, is made again identically from the signers'
// seeds, and the chains verify to the states of the vector; every invalid
// chain is refused with its error at its link (the prefix verifies and the
// state is left as it was), every invalid link text with its parse error.
import * as c from '../../../clients/web/src/crypto/codec.js';
import * as ch from '../../../clients/web/src/crypto/chain.js';
import { threadIdValid } from '../../../clients/web/src/crypto/thread.js';

const hex = (b) => c.toHex(b);

/* A state as comparable text (bytes as hex, BigInt as decimal). */
function show(s) {
	return JSON.stringify(s, (k, v) => (v instanceof Uint8Array ? hex(v) : typeof v === 'bigint' ? `${v}n` : v));
}

/* Strip the members chainLinkFromJson fills in, keep what a maker would set. */
function unsigned(l) {
	const { sigs, kind, ...rest } = l;
	return rest;
}

function checkLinks(t, name, links) {
	const out = [];
	links.forEach((e, i) => {
		const what = `${name} link ${i + 1}`;
		const l = ch.chainLinkFromJson(e.json);
		t.eq(ch.chainLinkToJson(l), e.json, `${what}: JSON round trip`);
		t.eq(hex(ch.chainLinkSigningInput(l)), e.signing_input, `${what}: signing input`);
		t.eq(hex(ch.chainLinkHash(l)), e.hash, `${what}: hash`);
		t.eq(l.sigs.map((s) => hex(s.sig)).join(','), e.sigs.join(','), `${what}: signatures`);
		t.ok(ch.chainLinkWellFormed(l), `${what}: well-formed`);
		let made = { ...unsigned(l), sigs: [] };
		for (const seed of e.signer_seeds) {
			const kp = c.signKeypair(c.fromHex(seed));
			made = ch.chainLinkSign(made, kp.privateKey);
			c.wipe(kp.privateKey);
		}
		t.eq(ch.chainLinkToJson(made), e.json, `${what}: made again from the seeds`);
		out.push(l);
	});
	return out;
}


/* Deterministic keys for the chains made by hand. */
function keys(name) {
	return c.signKeypair(c.sodium.crypto_generichash(32, c.utf8(name), null));
}

/* Extend s by a link of `fields` following its head, signed by each of sks; returns the new state. */
function grow(extend, s, fields, ...sks) {
	let l = ch.chainLinkFollow({ time: 1795424460, ...fields }, s.head);
	for (const sk of sks) l = ch.chainLinkSign(l, sk);
	return extend(s, ch.chainLinkFromJson(ch.chainLinkToJson(l)));
}

/* The bounds of 13.5 (too_large) and rules the vectors do not reach, on chains made by hand. */
function byHand(t, root) {
	const orgX = (s, l) => ch.chainOrgExtend(s, l, root.publicKey);
	let org = ch.chainOrgState();
	for (let i = 0; i < ch.CHAIN_ADMINS_MAX; i++)
		org = grow(orgX, org, { op: 'admin_add', user: `a-${i}`, pk: keys(`admin ${i}`).publicKey, generation: 1 }, root.privateKey);
	t.eq(org.admins.length, 64, 'by hand: 64 admins');
	t.throws(() => grow(orgX, org, { op: 'admin_add', user: 'a-64', pk: keys('admin 64').publicKey, generation: 1 }, root.privateKey),
		'too_large', 'by hand: a 65th admin');
	t.throws(() => grow(orgX, org, { op: 'admin_add', user: 'a-new', pk: keys('admin 3').publicKey, generation: 1 }, root.privateKey),
		'bad_chain', "by hand: admin_add with an admin's key");
	for (let i = 0; i < ch.CHAIN_ENROLL_MAX; i++)
		org = grow(orgX, org, { op: 'enroll_key', pk: keys(`enroll ${i}`).publicKey, notAfter: 1800000000 }, root.privateKey);
	t.throws(() => grow(orgX, org, { op: 'enroll_key', pk: keys('enroll 16').publicKey, notAfter: 1800000000 }, root.privateKey),
		'too_large', 'by hand: a 17th enrollment key');
	org = grow(orgX, org, { op: 'enroll_key', pk: keys('enroll 5').publicKey, notAfter: 0 }, root.privateKey);
	t.ok(org.enroll.length === 16 && org.enroll[5].notAfter === 0, 'by hand: enroll_key of a listed key retires it');
	org = grow(orgX, org, { op: 'gateway_key', pk: keys('gw').publicKey }, root.privateKey);
	t.ok(c.equalBytes(org.gatewayPk, keys('gw').publicKey), 'by hand: gateway key');

	/* user: 64 devices, the first by uk_create */
	const userX = (s, l) => ch.chainUserExtend(s, l, org);
	const uk = keys('uk 1');
	const dev = (i) => ({ device: c.deviceId(keys(`dev ${i}`).publicKey), deviceSignPk: keys(`dev ${i}`).publicKey,
		deviceBoxPk: keys(`box ${i}`).publicKey });
	let user = grow(userX, ch.chainUserState('u-7'), { op: 'uk_create', chain: 'u-7', ...dev(0), generation: 1,
		ukSignPk: uk.publicKey, ukBoxPk: keys('ukbox 1').publicKey }, keys('dev 0').privateKey);
	for (let i = 1; i < ch.CHAIN_DEVICES_MAX; i++) user = grow(userX, user, { op: 'device_add', chain: 'u-7', ...dev(i) }, uk.privateKey);
	t.throws(() => grow(userX, user, { op: 'device_add', chain: 'u-7', ...dev(64) }, uk.privateKey), 'too_large', 'by hand: a 65th device');
	user = grow(userX, user, { op: 'device_revoke', chain: 'u-7', device: dev(3).device }, keys('admin 7').privateKey);
	t.ok(user.devices[3].revoked, 'by hand: revoked by an admin');
	t.throws(() => grow(userX, user, { op: 'uk_rotate', chain: 'u-7', generation: 2, ukSignPk: keys('uk 2').publicKey,
		ukBoxPk: keys('ukbox 2').publicKey }, uk.privateKey, keys('dev 3').privateKey), 'device_revoked', 'by hand: rotate by a revoked device');
	user = grow(userX, user, { op: 'uk_rotate', chain: 'u-7', generation: 2, ukSignPk: keys('uk 2').publicKey,
		ukBoxPk: keys('ukbox 2').publicKey }, uk.privateKey, keys('dev 4').privateKey);
	t.ok(user.generation === 2n && c.equalBytes(user.ukSignPk, keys('uk 2').publicKey), 'by hand: rotated');
	t.throws(() => grow(userX, user, { op: 'device_revoke', chain: 'u-7', device: dev(5).device }, uk.privateKey), 'bad_signature',
		'by hand: revoke by the old user key');

	/* team: 64 members */
	const teamX = (s, l) => ch.chainTeamExtend(s, l, org);
	const admin = keys('admin 0');
	let team = grow(teamX, ch.chainTeamState('t-1'), { op: 'team_create', chain: 't-1', user: 'm-0', role: 'leder', generation: 1,
		ukSignPk: keys('member 0').publicKey }, admin.privateKey);
	for (let i = 1; i < ch.CHAIN_MEMBERS_MAX; i++)
		team = grow(teamX, team, { op: 'member_add', chain: 't-1', user: `m-${i}`, role: 'agent', generation: 1,
			ukSignPk: keys(`member ${i}`).publicKey }, i % 2 ? admin.privateKey : keys('member 0').privateKey);
	t.throws(() => grow(teamX, team, { op: 'member_add', chain: 't-1', user: 'm-64', role: 'agent', generation: 1,
		ukSignPk: keys('member 64').publicKey }, admin.privateKey), 'too_large', 'by hand: a 65th member');
	t.throws(() => grow(teamX, team, { op: 'member_remove', chain: 't-1', user: 'm-0' }, admin.privateKey), 'bad_chain',
		'by hand: remove the last leder');
	t.throws(() => grow(teamX, team, { op: 'leder_add', chain: 't-1', user: 'm-2' }, keys('member 1').privateKey), 'forbidden',
		'by hand: leder_add by a member who is not a leder');
	team = grow(teamX, team, { op: 'leder_add', chain: 't-1', user: 'm-2' }, keys('member 0').privateKey);
	team = grow(teamX, team, { op: 'leder_remove', chain: 't-1', user: 'm-0' }, keys('member 2').privateKey);
	t.ok(!team.members[0].leder && team.members[2].leder, 'by hand: leder handed over');

	/* thread: 64 users ever added */
	const th = 'T-' + 'A'.repeat(25) + 'Q';
	let thread = grow(ch.chainThreadExtend, ch.chainThreadState(th), { op: 'thread_create', chain: th, institution: 'inst-1',
		anonymous: false, user: 'p-0', role: 'raadgiver', generation: 1, ukSignPk: keys('p 0').publicKey }, keys('p 0').privateKey);
	for (let i = 1; i < ch.CHAIN_MEMBERS_MAX; i++)
		thread = grow(ch.chainThreadExtend, thread, { op: 'thread_member_add', chain: th, user: `p-${i}`, role: 'fagperson',
			generation: 1, ukSignPk: keys(`p ${i}`).publicKey }, keys('p 0').privateKey);
	thread = grow(ch.chainThreadExtend, thread, { op: 'thread_member_leave', chain: th, user: 'p-9' }, keys('p 9').privateKey);
	t.throws(() => grow(ch.chainThreadExtend, thread, { op: 'thread_member_add', chain: th, user: 'p-64', role: 'fagperson',
		generation: 1, ukSignPk: keys('p 64').publicKey }, keys('p 0').privateKey), 'too_large', 'by hand: a 65th user, departed counted');
	thread = grow(ch.chainThreadExtend, thread, { op: 'thread_member_add', chain: th, user: 'p-9', role: 'leder', generation: 2,
		ukSignPk: keys('p 9 again').publicKey }, keys('p 0').privateKey);
	const back = ch.chainThreadMember(thread, 'p-9');
	t.ok(back.role === 'leder' && back.removed === 0n && back.added === thread.head.seq, 'by hand: added again with a new role and pin');
	t.throws(() => grow(ch.chainThreadExtend, thread, { op: 'thread_member_remove', chain: th, user: 'p-0' }, keys('p 0').privateKey),
		'bad_chain', 'by hand: nobody removes itself');
	t.throws(() => ch.chainLinkSign({ op: 'thread_create', seq: 1n, prev: new Uint8Array(32), time: 0, chain: 'T-' + 'A'.repeat(25) + 'B',
		institution: 'i', anonymous: false, user: 'p', role: 'fagperson', generation: 1, ukSignPk: keys('p').publicKey },
	keys('p').privateKey), 'bad_input', 'by hand: a thread id that is not canonical');
}

export default async function (t, load) {
	const v = await load('chain.json');
	const root = c.signKeypair(c.fromHex(v.root_seed));
	const rootPk = c.fromHex(v.root_pk);
	t.ok(c.equalBytes(root.publicKey, rootPk), 'root key from seed');

	/* org */
	const orgLinks = checkLinks(t, 'org', v.org.links);
	const org = ch.chainOrgVerify(orgLinks, rootPk);
	t.eq(String(org.head.seq), String(orgLinks.length), 'org head seq');
	t.eq(hex(org.head.hash), v.org.links.at(-1).hash, 'org head hash');
	t.eq(show(org.admins.map((a) => ({ uk_generation: Number(a.ukGeneration), uk_sign_pk: hex(a.ukSignPk), user: a.user }))),
		JSON.stringify(v.org.admins), 'org admins');
	t.eq(JSON.stringify(org.enroll.map((e) => ({ not_after: c.timeFormat(e.notAfter), pk: hex(e.pk) }))),
		JSON.stringify(v.org.enroll), 'org enrollment keys');
	t.eq(hex(org.gatewayPk), v.org.gateway_pk, 'org gateway key');

	/* user */
	const userLinks = checkLinks(t, 'user', v.user.links);
	const user = ch.chainUserVerify(userLinks, v.user.user, org);
	t.eq(user.user, v.user.user, 'user id');
	t.eq(String(user.generation), String(v.user.generation), 'user generation');
	t.eq(hex(user.ukSignPk), v.user.uk_sign_pk, 'user uk_sign_pk');
	t.eq(hex(user.ukBoxPk), v.user.uk_box_pk, 'user uk_box_pk');
	t.eq(JSON.stringify(user.devices.map((d) => ({ box_pk: hex(d.boxPk), device: d.device, revoked: d.revoked,
		sign_pk: hex(d.signPk) }))), JSON.stringify(v.user.devices), 'user devices');
	t.throws(() => ch.chainUserVerify(userLinks, 'u-other', org), 'bad_chain', 'user chain pinned to another id');
	t.throws(() => ch.chainUserVerify(userLinks, v.user.user, null), 'bad_signature', 'user chain: revoke by admin without org');

	/* team */
	const teamLinks = checkLinks(t, 'team', v.team.links);
	const team = ch.chainTeamVerify(teamLinks, v.team.team, org);
	t.eq(team.team, v.team.team, 'team id');
	t.eq(JSON.stringify(team.members.map((m) => ({ leder: m.leder, role: m.role, uk_generation: Number(m.ukGeneration),
		uk_sign_pk: hex(m.ukSignPk), user: m.user }))), JSON.stringify(v.team.members), 'team members');

	/* threads */
	v.threads.forEach((th, k) => {
		const links = checkLinks(t, `thread ${k + 1}`, th.links);
		const s = ch.chainThreadVerify(links, th.thread);
		t.eq(s.thread, th.thread, `thread ${k + 1}: id`);
		t.eq(String(s.head.seq), String(th.version), `thread ${k + 1}: version`);
		t.eq(s.institution, th.institution, `thread ${k + 1}: institution`);
		t.eq(s.anonymous, th.anonymous, `thread ${k + 1}: anonymous`);
		t.eq(s.creator, th.creator, `thread ${k + 1}: creator`);
		t.eq(JSON.stringify(s.members.map((m) => ({ added: Number(m.added), removed: Number(m.removed), role: m.role,
			uk_generation: Number(m.ukGeneration), uk_sign_pk: hex(m.ukSignPk), user: m.user }))),
		JSON.stringify(th.members), `thread ${k + 1}: members`);
		t.ok(ch.chainThreadMember(s, th.creator) !== undefined, `thread ${k + 1}: creator entry`);
		t.ok(threadIdValid(th.thread), `thread ${k + 1}: id valid`);
	});

	/* invalid chains */
	const verifiers = {
		org: (links) => ch.chainOrgVerify(links, rootPk),
		user: (links) => ch.chainUserVerify(links, '', org),
		team: (links) => ch.chainTeamVerify(links, '', org),
		thread: (links) => ch.chainThreadVerify(links, ''),
	};
	const extenders = {
		org: (s, l) => ch.chainOrgExtend(s, l, rootPk),
		user: (s, l) => ch.chainUserExtend(s, l, org),
		team: (s, l) => ch.chainTeamExtend(s, l, org),
		thread: (s, l) => ch.chainThreadExtend(s, l),
	};
	for (const e of v.invalid_chains) {
		const links = e.links.map((x) => ch.chainLinkFromJson(x));
		let got;
		try {
			verifiers[e.kind](links);
			got = { code: 'accepted' };
		} catch (err) {
			got = err;
		}
		t.eq(got.code, e.error, `invalid chain ${e.name}: error`);
		t.eq(got.bad, e.bad, `invalid chain ${e.name}: refused link`);
		const prefix = verifiers[e.kind](links.slice(0, e.bad));
		const before = show(prefix);
		t.throws(() => extenders[e.kind](prefix, links[e.bad]), e.error, `invalid chain ${e.name}: extend`);
		t.eq(show(prefix), before, `invalid chain ${e.name}: state unchanged`);
		if (got.state) t.eq(show(got.state), before, `invalid chain ${e.name}: state of the prefix`);
	}

	/* invalid link texts */
	for (const e of v.invalid_json) t.throws(() => ch.chainLinkFromJson(e.text), e.error, `invalid json ${e.name}`);
	t.throws(() => ch.chainLinkFromJson(v.org.links[0].json + ' '.repeat(4097)), 'too_large', 'link text too large');

	/* making a link that follows a verified head */
	const kp = c.signKeypair(c.fromHex('42'.repeat(32)));
	let add = ch.chainLinkFollow({ op: 'enroll_key', pk: kp.publicKey, notAfter: c.timeParse('2028-01-01T00:00:00Z'),
		time: c.timeParse('2026-12-01T00:00:00Z') }, org.head);
	t.throws(() => ch.chainLinkToJson(add), 'bad_input', 'unsigned link not encodable');
	add = ch.chainLinkSign(add, root.privateKey);
	t.throws(() => ch.chainLinkSign(add, root.privateKey), 'bad_input', 'signed twice');
	const org2 = ch.chainOrgExtend(org, ch.chainLinkFromJson(ch.chainLinkToJson(add)), rootPk);
	t.eq(org2.enroll.length, org.enroll.length + 1, 'made link extends the org chain');
	t.ok(org.head.seq + 1n === org2.head.seq, 'head advanced, old state kept');
	t.throws(() => ch.chainOrgExtend(org2, add, rootPk), 'bad_chain', 'the same link again');
	t.throws(() => ch.chainLinkSign({ op: 'admin_remove', seq: 1n, prev: new Uint8Array(32), time: 0, user: 'u 1' },
		root.privateKey), 'bad_input', 'sign a malformed link');
	byHand(t, root);
	c.wipe(root.privateKey, kp.privateKey);
}
