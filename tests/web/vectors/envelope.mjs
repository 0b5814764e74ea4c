// envelope.json (PROTOCOL.md 11.2): every vector sealed again from its fixed
// randomness byte for byte, parsed and written back, verified and opened by
// every recipient; then what must be refused, with its error, as
// tests/unit/test-envelope.c (the file holds no invalid vectors of its own).
import * as c from '../../../clients/web/src/crypto/codec.js';
import * as env from '../../../clients/web/src/crypto/envelope.js';

function edit(js, from, to) {
	const at = js.indexOf(from);
	if (at < 0) throw new Error(`edit: ${from} not found`);
	return js.slice(0, at) + to + js.slice(at + from.length);
}

function opens(e, pk, device, boxSk, want, kind = null, obj = null) {
	try {
		const pt = env.envOpen(e, pk, device, boxSk, kind, obj);
		const ok = c.equalBytes(pt, want);
		c.wipe(pt);
		return ok;
	} catch (err) {
		if (err.code !== 'crypto') throw err;
		return false;
	}
}

export default async function (t, load) {
	const v = await load('envelope.json');
	t.ok(v.vectors.length >= 4, 'four vectors');
	for (const x of v.vectors) {
		const kp = c.signKeypair(c.fromHex(x.sender_seed));
		t.eq(c.toHex(kp.publicKey), x.sender_sign_pk, `${x.name}: sender key`);
		t.eq(c.deviceId(kp.publicKey), x.sender, `${x.name}: sender id`);
		const rcpts = x.recipients.map((r) => ({ device: r.device, boxPk: c.fromHex(r.box_pk) }));
		for (const r of x.recipients) t.eq(c.toHex(c.sodium.crypto_scalarmult_base(c.fromHex(r.box_sk))), r.box_pk, `${x.name}: box key`);
		const pt = c.fromHex(x.plaintext);
		const rnd = { contentKey: c.fromHex(x.content_key), ephSk: c.fromHex(x.eph_sk), nonce: c.fromHex(x.nonce),
			wrapNonces: x.wrap_nonces.map(c.fromHex) };
		const sealed = env.envSealForTestVectors({ kind: x.kind, objectId: x.object_id, sender: x.sender,
			routing: c.fromHex(x.routing) }, rcpts, pt, kp.privateKey, rnd);
		t.eq(env.envToJson(sealed), x.envelope, `${x.name}: sealed JSON byte for byte`);
		t.eq(c.toHex(env.envHeaderEncode(sealed)), x.header, `${x.name}: header`);
		t.eq(c.sodium.crypto_hash_sha256(env.envSigningInput(sealed), 'hex'), x.signing_input_sha256, `${x.name}: signing input`);

		const e = env.envFromJson(x.envelope);
		t.eq(env.envToJson(e), x.envelope, `${x.name}: parse and write back`);
		t.eq(env.envFromJson(c.utf8(x.envelope)).kind, x.kind, `${x.name}: parse from bytes`);
		t.ok(env.envVerify(e, kp.publicKey), `${x.name}: verifies`);
		const other = c.signKeypair(c.fromHex('11'.repeat(32)));
		t.throws(() => env.envVerify(e, other.publicKey), 'bad_signature', `${x.name}: another sender key`);
		for (const r of x.recipients) {
			const sk = c.fromHex(r.box_sk);
			t.ok(opens(e, kp.publicKey, r.device, sk, pt), `${x.name}: ${r.device} opens`);
			t.ok(opens(e, kp.publicKey, r.device, sk, pt, x.kind, x.object_id), `${x.name}: ${r.device} opens as expected`);
			t.throws(() => env.envOpen(e, kp.publicKey, r.device, sk, 'other', null), 'crypto', `${x.name}: other kind`);
			t.throws(() => env.envOpen(e, kp.publicKey, r.device, sk, null, 'U-0'), 'crypto', `${x.name}: other object`);
			t.throws(() => env.envOpen(e, other.publicKey, r.device, sk, null, null), 'crypto', `${x.name}: wrong sender key`);
		}
		const r0 = x.recipients[0];
		t.throws(() => env.envOpen(e, kp.publicKey, 'd-0000000000000000', c.fromHex(r0.box_sk), null, null), 'crypto',
			`${x.name}: not a recipient`);
		if (x.recipients.length > 1)
			t.throws(() => env.envOpen(e, kp.publicKey, x.recipients[1].device, c.fromHex(r0.box_sk), null, null), 'crypto',
				`${x.name}: another recipient's key`);
		const flipped = env.envFromJson(x.envelope);
		flipped.ciphertext[0] ^= 1;
		t.throws(() => env.envVerify(flipped, kp.publicKey), 'bad_signature', `${x.name}: flipped ciphertext, verify`);
		t.throws(() => env.envOpen(flipped, kp.publicKey, r0.device, c.fromHex(r0.box_sk), null, null), 'crypto',
			`${x.name}: flipped ciphertext, open`);
		/* Re-signed after a change to the header: the AEAD refuses. */
		for (const [what, change] of [['object id', (y) => { y.objectId = 'U-2026-999999'; }],
			['kind', (y) => { y.kind = 'other'; }], ['routing', (y) => { y.routing = c.concat(y.routing, Uint8Array.of(1)); }]]) {
			const y = env.envFromJson(x.envelope);
			change(y);
			y.sig = c.sign(env.envSigningInput(y), kp.privateKey);
			t.ok(env.envVerify(y, kp.publicKey), `${x.name}: ${what} changed and re-signed verifies`);
			t.ok(!opens(y, kp.publicKey, r0.device, c.fromHex(r0.box_sk), pt), `${x.name}: ${what} changed does not open`);
		}
	}

	/* Fresh randomness: two seals differ, both open. */
	const s = c.signKeypair();
	const sender = c.deviceId(s.publicKey);
	const devs = Array.from({ length: 65 }, () => {
		const sp = c.signKeypair();
		const bx = c.boxKeypair();
		return { device: c.deviceId(sp.publicKey), boxPk: bx.publicKey, boxSk: bx.privateKey };
	});
	const msg = c.utf8('Emma (fiktiv) har blå mærker.');
	const p = { kind: 'event', objectId: 'U-9', sender, routing: Uint8Array.of(1, 2, 3, 4, 5) };
	const e1 = env.envSeal(p, devs.slice(0, 2), msg, s.privateKey);
	const e2 = env.envSeal(p, devs.slice(0, 2), msg, s.privateKey);
	t.ok(env.envToJson(e1) !== env.envToJson(e2), 'fresh randomness');
	t.ok(opens(e1, s.publicKey, devs[0].device, devs[0].boxSk, msg) && opens(e2, s.publicKey, devs[1].device, devs[1].boxSk, msg),
		'sealed envelopes open');
	t.ok(!opens(e1, s.publicKey, devs[0].device, devs[1].boxSk, msg), 'wrong box key');
	const all = env.envSeal(p, devs.slice(0, 64), msg, s.privateKey);
	t.ok(opens(all, s.publicKey, devs[63].device, devs[63].boxSk, msg), '64 recipients');

	/* Sealing limits (test_limits). */
	const pu = { kind: 'underretning', objectId: 'U-1', sender };
	t.throws(() => env.envSeal(pu, [], msg, s.privateKey), 'bad_input', 'no recipient');
	t.throws(() => env.envSeal(pu, devs, msg, s.privateKey), 'bad_input', '65 recipients');
	t.throws(() => env.envSeal(pu, devs.slice(0, 1), new Uint8Array(0), s.privateKey), 'bad_input', 'empty payload');
	t.throws(() => env.envSeal(pu, devs.slice(0, 1), new Uint8Array(env.ENV_PAYLOAD_MAX + 1), s.privateKey), 'too_large', 'payload too large');
	const big = env.envSeal(pu, devs.slice(0, 1), new Uint8Array(env.ENV_PAYLOAD_MAX), s.privateKey);
	t.eq(big.ciphertext.length, env.ENV_PAYLOAD_MAX + env.ENV_TAG_LEN, 'largest payload');
	t.ok(opens(big, s.publicKey, devs[0].device, devs[0].boxSk, new Uint8Array(env.ENV_PAYLOAD_MAX)), 'largest payload opens');
	const kid = 'k'.repeat(env.ENV_RECIPIENT_ID_MAX);
	const ke = env.envSeal(pu, [{ device: kid, boxPk: devs[0].boxPk }], msg, s.privateKey);
	t.ok(opens(ke, s.publicKey, kid, devs[0].boxSk, msg), 'recipient id of 96 bytes');
	t.throws(() => env.envSeal(pu, [{ device: kid + 'k', boxPk: devs[0].boxPk }], msg, s.privateKey), 'bad_input', 'recipient id of 97 bytes');
	t.throws(() => env.envSeal({ ...pu, routing: new Uint8Array(env.ENV_ROUTING_MAX + 1) }, devs.slice(0, 1), msg, s.privateKey), 'too_large', 'routing too large');
	t.ok(opens(env.envSeal({ ...pu, routing: new Uint8Array(env.ENV_ROUTING_MAX) }, devs.slice(0, 1), msg, s.privateKey),
		s.publicKey, devs[0].device, devs[0].boxSk, msg), 'largest routing');
	t.throws(() => env.envSeal(pu, [devs[0], { device: devs[0].device, boxPk: devs[1].boxPk }], msg, s.privateKey), 'bad_input', 'recipient twice');
	t.throws(() => env.envSeal(pu, [{ device: devs[0].device, boxPk: new Uint8Array(32) }], msg, s.privateKey), 'crypto', 'low-order key');
	t.throws(() => env.envSeal({ ...pu, kind: 'Underretning' }, devs.slice(0, 1), msg, s.privateKey), 'bad_input', 'kind upper case');
	t.throws(() => env.envSeal({ ...pu, objectId: 'has space' }, devs.slice(0, 1), msg, s.privateKey), 'bad_input', 'object id with space');
	t.throws(() => env.envSeal({ ...pu, objectId: '' }, devs.slice(0, 1), msg, s.privateKey), 'bad_input', 'object id empty');

	/* Reordered wraps: not canonical, refused before any crypto, and not writable. */
	const r3 = env.envSeal(pu, devs.slice(0, 3), msg, s.privateKey);
	[r3.wraps[0], r3.wraps[1]] = [r3.wraps[1], r3.wraps[0]];
	t.throws(() => env.envVerify(r3, s.publicKey), 'bad_signature', 'wraps out of order: verify');
	t.throws(() => env.envToJson(r3), 'bad_input', 'wraps out of order: JSON');
	t.throws(() => env.envOpen(r3, s.publicKey, devs[0].device, devs[0].boxSk), 'crypto', 'wraps out of order: open');

	/* The strict parser (test_json_strict and the fuzz corpus's broken variants). */
	const js = env.envToJson(e1);
	const w0 = e1.wraps[0].device, w1 = e1.wraps[1].device;
	const cases = [
		['{', '{', null, 'unchanged'],
		['"version":1', '"version":2', 'bad_frame', 'version 2'],
		['"version":1', '"version":1.0', 'bad_frame', 'version real'],
		['"version":1', '"version":"1"', 'bad_frame', 'version string'],
		['"version":1', '"version":99999999999999999999', 'bad_json', 'version beyond 64 bits'],
		['{', '{"extra":1,', 'bad_frame', 'unknown member'],
		['{', '{"kind":"event",', 'duplicate_key', 'duplicate member'],
		['"kind":"event",', '', 'bad_frame', 'missing kind'],
		['"kind":"event"', '"kind":"Event"', 'bad_frame', 'kind upper case'],
		['"kind":"event"', '"kind":null', 'bad_frame', 'kind null'],
		['"routing":"AQIDBAU="', '"routing":"AQIDBAU"', 'bad_frame', 'routing unpadded'],
		['"routing":"AQIDBAU="', '"routing":"AQIDBAV="', 'bad_frame', 'routing non-canonical'],
		['"routing":"AQIDBAU="', '"routing":""', null, 'routing empty'],
		['"device":', '"extra":0,"device":', 'bad_frame', 'unknown wrap member'],
		['"wraps":[', '"wraps":[1,', 'bad_frame', 'wrap not an object'],
		['"wraps":[', '"wraps":[],"x":[', 'bad_frame', 'empty wraps'],
		['"epk":"', '"epk":"AAAA', 'bad_frame', 'epk too long'],
		['"sender":"', '"sender":"a\\u0000', 'bad_frame', 'NUL in sender'],
		['}', '} ', null, 'trailing blank'],
		['}', '}x', 'bad_json', 'trailing garbage'],
		['}', '}{}', 'bad_json', 'two objects'],
		[`"device":"${w1}"`, `"device":"${w0}"`, 'bad_frame', 'same wrap twice'],
	];
	for (const [from, to, want, what] of cases) {
		const m = edit(js, from, to);
		if (want === null) t.ok(env.envFromJson(m) !== null, `JSON ${what} accepted`);
		else t.throws(() => env.envFromJson(m), want, `JSON ${what}`);
	}
	const swapped = env.envToJson(env.envFromJson(js)).replace(w0, '\u0001').replace(w1, w0).replace('\u0001', w1);
	t.throws(() => env.envFromJson(swapped), 'bad_frame', 'JSON wraps out of order');
	const sig = JSON.parse(js).sig;
	const forged = env.envFromJson(js.replace(sig, (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1)));
	t.throws(() => env.envVerify(forged, s.publicKey), 'bad_signature', 'JSON flipped signature');
	t.throws(() => env.envFromJson('{}'), 'bad_frame', 'JSON {}');
	t.throws(() => env.envFromJson('[]'), 'bad_json', 'JSON []');
	t.throws(() => env.envFromJson('{'), 'bad_json', 'JSON {');
	t.throws(() => env.envFromJson(''), 'bad_json', 'JSON empty');
	t.throws(() => env.envFromJson(js.slice(0, js.length >> 1)), 'bad_json', 'JSON truncated');
	t.throws(() => env.envFromJson('{}' + ' '.repeat(env.ENV_JSON_MAX)), 'too_large', 'JSON above 2 MiB');
	t.throws(() => env.envFromJson(c.concat(c.utf8(js.slice(0, 20)), Uint8Array.of(0xc3, 0x28), c.utf8(js.slice(20)))), 'bad_json', 'JSON invalid UTF-8');
}
