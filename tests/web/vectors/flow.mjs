// flow.json (PROTOCOL.md section 12): the roster, the receipt and the events
// parsed, their signing inputs, signatures and JSON reproduced byte for
// byte, verified; envelope hashes; then what must be refused, with its
// error, as tests/unit/test-flow.c (the file holds no invalid vectors).
import * as c from '../../../clients/web/src/crypto/codec.js';
import * as env from '../../../clients/web/src/crypto/envelope.js';
import * as flow from '../../../clients/web/src/crypto/flow.js';
import { certFromJson } from '../../../clients/web/src/crypto/cert.js';

const clone = (o) => {
	if (o instanceof Uint8Array) return Uint8Array.from(o);
	if (Array.isArray(o)) return o.map(clone);
	if (o && typeof o === 'object') return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, clone(v)]));
	return o;
};

function edit(js, from, to) {
	const at = js.indexOf(from);
	if (at < 0) throw new Error(`edit: ${from} not found`);
	return js.slice(0, at) + to + js.slice(at + from.length);
}

export default async function (t, load) {
	const v = await load('flow.json');
	const org = c.signKeypair(c.fromHex(v.org_seed));
	t.eq(c.toHex(org.publicKey), v.org_pk, 'organisation key');
	const gw = c.signKeypair(c.fromHex(v.gateway_seed));
	const now = c.timeParse(v.now);
	const gwCert = certFromJson(v.gateway_cert);
	t.ok(c.equalBytes(gwCert.signPk, gw.publicKey), 'gateway certificate key');
	const senderCert = certFromJson(v.sender_cert);
	const otherOrg = c.signKeypair(c.fromHex('22'.repeat(32)));

	/* roster */
	const r = flow.flowRosterFromJson(v.roster.json);
	t.eq(c.toHex(flow.flowRosterSigningInput(r)), v.roster.signing_input, 'roster signing input');
	t.eq(c.toHex(r.sig), v.roster.sig, 'roster signature parsed');
	t.eq(flow.flowRosterToJson(r), v.roster.json, 'roster JSON');
	const r2 = clone(r);
	r2.sig = new Uint8Array(64);
	r2.devices.reverse();
	flow.flowRosterSign(r2, org.privateKey);
	t.eq(c.toHex(r2.sig), v.roster.sig, 'roster signed again (sorted first)');
	t.eq(flow.flowRosterToJson(r2), v.roster.json, 'roster signed again, JSON');
	t.ok(flow.flowRosterVerify(r, org.publicKey, now), 'roster verifies');
	t.eq(flow.flowRosterReaders(r), 1, 'roster readers');
	t.ok(flow.flowRosterFromJson(c.utf8(v.roster.json)).devices.length === 3, 'roster from bytes');
	t.throws(() => flow.flowRosterVerify(r, otherOrg.publicKey, now), 'bad_signature', 'roster: another organisation key');
	t.throws(() => flow.flowRosterVerify(r, org.publicKey, c.timeParse('2027-01-01T00:00:01Z')), 'device_expired', 'roster: after not_after');
	t.throws(() => flow.flowRosterVerify(r, org.publicKey, c.timeParse('2025-12-31T23:59:59Z')), 'device_expired', 'roster: before not_before');
	{
		const x = clone(r);
		[x.devices[0], x.devices[1]] = [x.devices[1], x.devices[0]];
		t.throws(() => flow.flowRosterVerify(x, org.publicKey, now), 'bad_signature', 'roster: devices out of order');
		const y = clone(r);
		y.devices[1] = clone(y.devices[0]);
		t.throws(() => flow.flowRosterVerify(y, org.publicKey, now), 'bad_signature', 'roster: a device twice');
		t.throws(() => flow.flowRosterSign(y, org.privateKey), 'bad_input', 'roster: a device twice not signed');
		const z = clone(r);
		z.version = 4;
		t.throws(() => flow.flowRosterVerify(z, org.publicKey, now), 'bad_signature', 'roster: version changed');
		z.version = 0;
		t.throws(() => flow.flowRosterSign(z, org.privateKey), 'bad_input', 'roster: version 0 not signed');
		const w = clone(r);
		w.devices[0].name = 'Someone Else';
		t.throws(() => flow.flowRosterVerify(w, org.publicKey, now), 'bad_cert', 'roster: a certificate altered');
		/* A certificate of another team or a role that may not read, re-signed: bad_cert. */
		const u = clone(r);
		u.team = 'team-oest';
		flow.flowRosterSign(u, org.privateKey);
		t.throws(() => flow.flowRosterVerify(u, org.publicKey, now), 'bad_cert', 'roster: certificates of another team');
		const fag = clone(r);
		fag.devices = [senderCert];
		fag.team = '';
		t.throws(() => flow.flowRosterSign(fag, org.privateKey), 'bad_input', 'roster: empty team not signed');
		fag.team = 'team-vest';
		flow.flowRosterSign(fag, org.privateKey);
		t.throws(() => flow.flowRosterVerify(fag, org.publicKey, now), 'bad_cert', 'roster: a fagperson');
		const empty = clone(r);
		empty.devices = [];
		t.throws(() => flow.flowRosterVerify(empty, org.publicKey, now), 'bad_signature', 'roster: no device');
		t.throws(() => flow.flowRosterSign(empty, org.privateKey), 'bad_input', 'roster: no device not signed');
		const noReader = clone(r);
		noReader.devices = noReader.devices.filter((d) => d.role !== 'myndighed');
		t.eq(flow.flowRosterReaders(noReader), 0, 'roster without a myndighed: nobody to read it');
	}
	const rj = v.roster.json;
	for (const [from, to, want, what] of [
		['"version":3', '"version":0', 'bad_frame', 'version 0'],
		['"version":3', '"version":-1', 'bad_frame', 'version negative'],
		['"version":3', '"version":3.0', 'bad_frame', 'version real'],
		['"version":3', '"version":9223372036854775807', null, 'version 2^63-1'],
		['"version":3', '"version":9223372036854775808', 'bad_json', 'version 2^63'],
		['"devices":[', '"devices":[],"x":[', 'bad_frame', 'no devices'],
		['{', '{"extra":1,', 'bad_frame', 'unknown member'],
		['{', '{"team":"x",', 'duplicate_key', 'duplicate member'],
		['"team":"team-vest","version"', '"team":"","version"', 'bad_frame', 'empty team'],
		['"issued":"2026-11-23T08:59:00Z"', '"issued":"2026-11-23T08:59:00"', 'bad_frame', 'issued malformed'],
		['"box_pk":', '"extra":1,"box_pk":', 'bad_frame', 'unknown certificate member'],
		['"serial":20', '"serial":0', 'bad_frame', 'certificate serial 0'],
		['"sig":"', '"sig":"AAAA', 'bad_frame', 'signature too long'],
	]) {
		const m = edit(rj, from, to);
		if (want === null) t.ok(flow.flowRosterFromJson(m).version === 9223372036854775807n, `roster JSON ${what} accepted`);
		else t.throws(() => flow.flowRosterFromJson(m), want, `roster JSON ${what}`);
	}
	{
		const o = JSON.parse(rj);
		o.devices = Array(64).fill(o.devices[0]);
		t.throws(() => flow.flowRosterFromJson(JSON.stringify(o)), 'bad_frame', 'roster JSON 64 devices');
		t.throws(() => flow.flowRosterFromJson('[]'), 'bad_json', 'roster JSON array');
		t.throws(() => flow.flowRosterFromJson(null), 'bad_frame', 'roster JSON null');
	}

	/* receipt */
	const rc = flow.flowReceiptFromJson(v.receipt.json);
	t.eq(c.toHex(flow.flowReceiptSigningInput(rc)), v.receipt.signing_input, 'receipt signing input');
	t.eq(c.toHex(rc.sig), v.receipt.sig, 'receipt signature parsed');
	t.eq(flow.flowReceiptToJson(rc), v.receipt.json, 'receipt JSON');
	const rc2 = clone(rc);
	rc2.sig = new Uint8Array(64);
	t.eq(c.toHex(flow.flowReceiptSign(rc2, gw.privateKey).sig), v.receipt.sig, 'receipt signed again');
	t.ok(flow.flowReceiptVerify(rc, gwCert, org.publicKey, rc.received), 'receipt verifies as of its issue');
	t.ok(flow.flowReceiptVerify(rc, gwCert, org.publicKey, now), 'receipt verifies now');
	const renv = env.envFromJson(v.receipt.envelope);
	t.ok(c.equalBytes(flow.flowEnvelopeHash(renv), rc.envelopeHash), 'receipt names its envelope');
	t.eq(rc.reference, renv.objectId, 'receipt reference is the object id');
	t.eq(rc.sender, senderCert.device, 'receipt sender');
	t.throws(() => flow.flowReceiptVerify(rc, senderCert, org.publicKey, now), 'bad_cert', 'receipt: not a gateway certificate');
	t.throws(() => flow.flowReceiptVerify(rc, gwCert, otherOrg.publicKey, now), 'bad_cert', 'receipt: another organisation key');
	t.throws(() => flow.flowReceiptVerify(rc, gwCert, org.publicKey, c.timeParse('2027-01-01T00:00:01Z')), 'bad_cert', 'receipt: gateway certificate expired');
	t.throws(() => flow.flowReceiptVerify(rc, null, org.publicKey, now), 'bad_cert', 'receipt: no certificate');
	{
		const x = clone(rc);
		x.team = 'team-oest';
		t.throws(() => flow.flowReceiptVerify(x, gwCert, org.publicKey, now), 'bad_signature', 'receipt: team changed');
		const y = clone(rc);
		y.gateway = 'd-0000000000000000';
		t.throws(() => flow.flowReceiptVerify(y, gwCert, org.publicKey, now), 'bad_cert', 'receipt: another gateway');
		const z = clone(rc);
		z.reference = 'U-26-1';
		t.throws(() => flow.flowReceiptSign(z, gw.privateKey), 'bad_input', 'receipt: bad reference not signed');
		t.throws(() => flow.flowReceiptToJson(z), 'bad_input', 'receipt: bad reference not written');
		t.throws(() => flow.flowReceiptVerify(z, gwCert, org.publicKey, now), 'bad_signature', 'receipt: bad reference');
		const w = clone(rc);
		w.received = -1;
		t.throws(() => flow.flowReceiptSign(w, gw.privateKey), 'bad_input', 'receipt: time out of range not signed');
	}
	const rcj = v.receipt.json;
	for (const [from, to, what] of [
		['"version":1', '"version":2', 'version 2'],
		['"reference":"U-2026-000001"', '"reference":"U-2026-00001"', 'reference of 5 digits'],
		['"reference":"U-2026-000001"', '"reference":"U-2026-0000000001"', 'reference of 17 bytes'],
		['"reference":"U-2026-000001"', '"reference":"X-2026-000001"', 'reference prefix'],
		['"envelope_hash":"', '"envelope_hash":"AAAA', 'envelope hash of 35 bytes'],
		['{', '{"extra":1,', 'unknown member'],
		['"team":"team-vest",', '', 'missing team'],
		['"sender_user":"u-1001"', '"sender_user":"u 1001"', 'sender user with space'],
		['"received":"2026-11-23T09:00:00Z"', '"received":1795424400', 'time a number'],
	])
		t.throws(() => flow.flowReceiptFromJson(edit(rcj, from, to)), 'bad_frame', `receipt JSON ${what}`);
	t.throws(() => flow.flowReceiptFromJson(edit(rcj, '{', '{"team":"x",')), 'duplicate_key', 'receipt JSON duplicate member');
	t.throws(() => flow.flowReceiptFromJson(rcj + 'x'), 'bad_json', 'receipt JSON trailing garbage');

	/* events */
	t.eq(v.events.length, 6, 'six events');
	for (const x of v.events) {
		const kp = c.signKeypair(c.fromHex(x.signer_seed));
		const e = flow.flowEventFromJson(x.json);
		t.eq(e.kind, x.name, `event ${x.name}: kind`);
		t.ok(flow.flowEventKindValid(e.kind), `event ${x.name}: a kind of 12.5`);
		t.eq(c.toHex(flow.flowEventSigningInput(e)), x.signing_input, `event ${x.name}: signing input`);
		t.eq(c.toHex(e.sig), x.sig, `event ${x.name}: signature parsed`);
		t.eq(flow.flowEventToJson(e), x.json, `event ${x.name}: JSON`);
		const e2 = clone(e);
		e2.sig = new Uint8Array(64);
		t.eq(c.toHex(flow.flowEventSign(e2, kp.privateKey).sig), x.sig, `event ${x.name}: signed again`);
		t.ok(flow.flowEventVerify(e, kp.publicKey), `event ${x.name}: verifies`);
		t.throws(() => flow.flowEventVerify(e, org.publicKey), 'bad_signature', `event ${x.name}: another key`);
		t.eq('envelopeHash' in e, flow.flowEventNeedsEnvelope(e.kind), `event ${x.name}: envelope hash exactly when needed`);
		/* A member its kind does not have, or without one it needs: refused by parser, signer and writer. */
		const o = JSON.parse(x.json);
		const extras = { akut: true, started: false, team: 'team-oest', envelope_hash: c.b64(new Uint8Array(32)) };
		for (const [k, val] of Object.entries(extras)) {
			const p = { ...o };
			if (k in p) delete p[k];
			else p[k] = val;
			t.throws(() => flow.flowEventFromJson(JSON.stringify(p)), 'bad_frame', `event ${x.name}: ${k in o ? 'without' : 'with'} ${k}`);
			const q = clone(e);
			const qk = k === 'envelope_hash' ? 'envelopeHash' : k;
			if (qk in q) delete q[qk];
			else q[qk] = qk === 'envelopeHash' ? new Uint8Array(32) : val;
			t.throws(() => flow.flowEventSign(q, kp.privateKey), 'bad_input', `event ${x.name}: ${k} wrong, not signed`);
			t.throws(() => flow.flowEventVerify(q, kp.publicKey), 'bad_signature', `event ${x.name}: ${k} wrong, not verified`);
			t.throws(() => flow.flowEventToJson(q), 'bad_input', `event ${x.name}: ${k} wrong, not written`);
		}
		t.throws(() => flow.flowEventFromJson(edit(x.json, `"kind":"${x.name}"`, '"kind":"modtaget_gateway"')), 'bad_frame', `event ${x.name}: kind modtaget_gateway`);
		t.throws(() => flow.flowEventFromJson(edit(x.json, `"kind":"${x.name}"`, '"kind":"Vurderet"')), 'bad_frame', `event ${x.name}: unknown kind`);
		t.throws(() => flow.flowEventFromJson(edit(x.json, '"version":1', '"version":2')), 'bad_frame', `event ${x.name}: version 2`);
		t.throws(() => flow.flowEventFromJson(edit(x.json, '{', '{"x":null,')), 'bad_frame', `event ${x.name}: unknown member`);
		t.throws(() => flow.flowEventFromJson(edit(x.json, '{', '{"kind":"aabnet",')), 'duplicate_key', `event ${x.name}: duplicate kind`);
	}
	{
		const vur = flow.flowEventFromJson(v.events.find((x) => x.name === 'vurderet').json);
		t.throws(() => flow.flowEventFromJson(edit(flow.flowEventToJson(vur), '"akut":true', '"akut":1')), 'bad_frame', 'event: akut as 1');
		const om = flow.flowEventFromJson(v.events.find((x) => x.name === 'omdirigeret').json);
		t.throws(() => flow.flowEventFromJson(edit(flow.flowEventToJson(om), '"team":"team-oest"', '"team":""')), 'bad_frame', 'event: empty team');
		const flipped = clone(vur);
		flipped.akut = false;
		t.throws(() => flow.flowEventVerify(flipped, c.signKeypair(c.fromHex(v.events[2].signer_seed)).publicKey), 'bad_signature', 'event: akut flipped');
	}
	t.eq(flow.FLOW_EVENT_KINDS.length, 9, 'nine kinds');
	t.ok(!flow.flowEventKindValid('modtaget_gateway') && flow.FLOW_ITEM_STATES.includes('modtaget_gateway'), 'modtaget_gateway a state, not a kind');

	/* envelope hashes */
	t.ok(v.envelope_hashes.length >= 3, 'three envelope hashes');
	for (const h of v.envelope_hashes) {
		const e = env.envFromJson(h.envelope);
		t.eq(c.toHex(flow.flowEnvelopeHash(e)), h.hash, `envelope hash of ${e.objectId}`);
		e.ciphertext[0] ^= 1;
		t.ok(c.toHex(flow.flowEnvelopeHash(e)) !== h.hash, 'a bit of the ciphertext changes it');
		e.ciphertext[0] ^= 1;
		e.sig[0] ^= 1;
		t.eq(c.toHex(flow.flowEnvelopeHash(e)), h.hash, 'the signature is not part of it');
		e.wraps = [];
		t.throws(() => flow.flowEnvelopeHash(e), 'bad_input', 'malformed envelope');
	}
	t.throws(() => flow.flowEnvelopeHash(null), 'bad_input', 'no envelope');
}
