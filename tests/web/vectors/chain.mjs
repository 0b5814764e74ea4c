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
	c.wipe(root.privateKey, kp.privateKey);
}
