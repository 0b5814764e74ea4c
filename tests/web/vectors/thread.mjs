// thread.json (PROTOCOL.md 17.1): thread and message ids, the routing bytes
// of thread messages and signed read marks, valid and invalid with their
// errors, and the MARK JSON of 17.2, as tests/unit/test-thread.c. The file is
// read with schema.js's loader so that 64-bit integers stay exact.
import { readFile } from 'node:fs/promises';
import * as c from '../../../clients/web/src/crypto/codec.js';
import { jsonLoad } from '../../../clients/web/src/crypto/schema.js';
import * as th from '../../../clients/web/src/crypto/thread.js';

/* A read mark from a vector object (integers as the loader gives them, BigInt). */
function receiptFrom(x) {
	const n = (v) => (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
	return { thread: x.thread, seq: n(x.seq), message: x.message, envelopeHash: c.fromHex(x.envelope_hash), kind: x.kind,
		user: x.user, device: x.device, time: n(x.time) };
}

/* The loader's Maps as plain objects, integers kept as BigInt. */
function plain(x) {
	if (x instanceof Map) return Object.fromEntries([...x].map(([k, y]) => [k, plain(y)]));
	if (Array.isArray(x)) return x.map(plain);
	return x;
}

export default async function (t) {
	const text = await readFile(new URL('../../../proto/vectors/thread.json', import.meta.url), 'utf8');
	const v = plain(jsonLoad(text, Infinity));

	for (const id of v.thread_ids.valid) {
		t.ok(th.threadIdValid(id), `thread id ${id}`);
		t.ok(!th.threadMessageIdValid(id) && !th.threadBlobIdValid(id), `thread id ${id} is no other id`);
	}
	for (const id of v.thread_ids.invalid) t.ok(!th.threadIdValid(id), `thread id ${JSON.stringify(id)} refused`);
	for (const id of v.message_ids.valid) {
		t.ok(th.threadMessageIdValid(id), `message id ${id}`);
		t.ok(th.threadBlobIdValid('B-' + id.slice(2)), `blob id of ${id}`);
	}
	for (const id of v.message_ids.invalid) t.ok(!th.threadMessageIdValid(id), `message id ${JSON.stringify(id)} refused`);
	t.ok(!th.threadIdValid(null) && !th.threadIdValid(undefined), 'no id');

	for (const x of v.routing) {
		t.eq(c.toHex(th.threadRoutingEncode(x.thread, x.version, x.kind)), x.hex, `routing ${x.kind} v${x.version}: encoded`);
		const d = th.threadRoutingDecode(c.fromHex(x.hex));
		t.ok(d.thread === x.thread && BigInt(d.version) === x.version && d.kind === x.kind, `routing ${x.kind} v${x.version}: decoded`);
	}
	t.ok(v.invalid_routing.length >= 20, 'invalid routing vectors');
	for (const x of v.invalid_routing)
		t.throws(() => th.threadRoutingDecode(c.fromHex(x.hex)), x.error, `routing ${x.name}`);
	const t0 = v.thread_ids.valid[0];
	for (const [thread, version, kind, what] of [[t0, 0, 'text', 'version 0'], [t0, 1n << 63n, 'text', 'version 2^63'],
		[t0, 1, 'Text', 'kind upper case'], [t0, 1, 'underretning', 'unknown kind'], [t0.toLowerCase(), 1, 'text', 'thread lower case'],
		[v.message_ids.valid[0], 1, 'text', 'a message id'], [t0, 1.5, 'text', 'version not an integer']])
		t.throws(() => th.threadRoutingEncode(thread, version, kind), 'bad_input', `routing encode ${what}`);

	/* read marks */
	for (const x of v.receipts) {
		const r = receiptFrom(x);
		t.ok(th.threadReceiptValid(r), `read mark ${x.kind} seq ${x.seq}: valid`);
		t.eq(c.toHex(th.threadReceiptSigningInput(r)), x.signing_input, `read mark ${x.kind} seq ${x.seq}: signing input`);
		const kp = c.signKeypair(c.fromHex(x.device_seed));
		t.eq(c.toHex(kp.publicKey), x.device_pk, 'device key');
		const sig = th.threadReceiptSign(r, kp.privateKey);
		t.eq(c.toHex(sig), x.sig, `read mark ${x.kind} seq ${x.seq}: signature`);
		t.ok(th.threadReceiptVerify(r, sig, kp.publicKey), `read mark ${x.kind} seq ${x.seq}: verifies`);
		/* MARK JSON: written, read back, verified; one member at a time wrong is refused. */
		const m = { ...r, sig };
		const js = th.threadMarkToJson(m);
		const back = th.threadMarkFromJson(js);
		t.eq(th.threadMarkToJson(back), js, `MARK ${x.kind}: read back`);
		t.ok(th.threadReceiptVerify(back, back.sig, kp.publicKey), `MARK ${x.kind}: verifies`);
		const o = JSON.parse(js);
		t.eq(Object.keys(o).length, 9, `MARK ${x.kind}: nine members`);
		t.ok(js.includes('"time":"'), `MARK ${x.kind}: time as text`);
		const variants = [
			(p) => { p.extra = true; }, (p) => { delete p.sig; }, (p) => { p.kind = 'read'; }, (p) => { p.seq = 0; },
			(p) => { p.message = 'M-AAAAAAAAAAAAAAAAAAAAAAAAAB'; }, (p) => { p.thread = p.message; },
			(p) => { p.envelope_hash = 'AAAA'; }, (p) => { p.time = '2026-11-24 09:00:00'; },
			(p) => { p.seq = '12'; }, (p) => { p.user = ''; },
		];
		variants.forEach((f, i) => {
			const p = JSON.parse(js.replace(/"seq":\d+/, '"seq":1'));
			f(p);
			t.throws(() => th.threadMarkFromJson(JSON.stringify(p)), 'bad_frame', `MARK ${x.kind}: variant ${i}`);
		});
		if (typeof r.seq === 'bigint') t.ok(js.includes(`"seq":${x.seq}`), 'MARK seq 2^63-1 exact');
		t.throws(() => th.threadMarkFromJson(js.replace(/"seq":\d+/, '"seq":9223372036854775808')), 'bad_json', `MARK ${x.kind}: seq 2^63`);
		t.throws(() => th.threadMarkFromJson(js.replace('{', '{"kind":"laest",')), 'duplicate_key', `MARK ${x.kind}: duplicate member`);
	}
	t.ok(v.invalid_receipts.length >= 10, 'invalid read marks');
	for (const x of v.invalid_receipts) {
		const r = receiptFrom(x);
		t.eq(th.threadReceiptValid(r), x.signing_input_ok, `read mark ${x.name}: validity`);
		if (x.signing_input_ok) t.ok(th.threadReceiptSigningInput(r).length > 0, `read mark ${x.name}: signing input`);
		else t.throws(() => th.threadReceiptSigningInput(r), 'bad_input', `read mark ${x.name}: no signing input`);
		t.throws(() => th.threadReceiptVerify(r, c.fromHex(x.sig), c.fromHex(x.device_pk)), x.error, `read mark ${x.name}`);
		if (!x.signing_input_ok) t.throws(() => th.threadMarkToJson({ ...r, sig: c.fromHex(x.sig) }), 'bad_input', `read mark ${x.name}: not written`);
	}
	/* What the signer refuses (test_receipt_by_hand). */
	const x0 = v.receipts[0];
	const r0 = receiptFrom(x0);
	const kp = c.signKeypair(c.fromHex(x0.device_seed));
	const seed = c.fromHex(x0.device_seed);
	seed[0] ^= 1;
	const other = c.signKeypair(seed);
	t.throws(() => th.threadReceiptSign(r0, other.privateKey), 'bad_input', 'sign with a key of another device');
	for (const [what, f] of [['seq 2^63', (m) => { m.seq = 1n << 63n; }], ['seq 0', (m) => { m.seq = 0; }],
		['no kind', (m) => { m.kind = undefined; }], ['time after 9999', (m) => { m.time = 253402300800; }],
		['user of 65 bytes', (m) => { m.user = 'u'.repeat(65); }], ['device empty', (m) => { m.device = ''; }],
		['message id lower case', (m) => { m.message = 'M-a' + m.message.slice(3); }], ['thread id as M-', (m) => { m.thread = 'M' + m.thread.slice(1); }],
		['envelope hash of 31 bytes', (m) => { m.envelopeHash = m.envelopeHash.subarray(1); }]]) {
		const m = { ...r0 };
		f(m);
		t.ok(!th.threadReceiptValid(m), `by hand ${what}: not valid`);
		t.throws(() => th.threadReceiptSign(m, kp.privateKey), 'bad_input', `by hand ${what}: not signed`);
	}
	const sig = th.threadReceiptSign(r0, kp.privateKey);
	for (const [what, f] of [['envelope hash', (m) => { m.envelopeHash = Uint8Array.from(m.envelopeHash); m.envelopeHash[31] ^= 1; }],
		['time', (m) => { m.time++; }], ['kind', (m) => { m.kind = m.kind === 'laest' ? 'leveret' : 'laest'; }],
		['user', (m) => { m.user = 'u-3003'; }]]) {
		const m = { ...r0 };
		f(m);
		t.throws(() => th.threadReceiptVerify(m, sig, kp.publicKey), 'bad_signature', `changed ${what}`);
	}
	t.throws(() => th.threadReceiptVerify(r0, sig, other.publicKey), 'bad_signature', 'another key');
	t.throws(() => th.threadReceiptVerify(null, sig, kp.publicKey), 'bad_signature', 'no mark');
	t.throws(() => th.threadReceiptVerify(r0, null, kp.publicKey), 'bad_signature', 'no signature');
	t.throws(() => th.threadReceiptVerify(r0, sig, null), 'bad_signature', 'no key');
	t.throws(() => th.threadReceiptSign(r0, null), 'bad_input', 'no secret key');
	t.eq(th.THREAD_RECEIPT_KINDS[1], 'laest', 'receipt kind names');
	t.eq(th.THREAD_MSG_KINDS[2], 'underretning_ref', 'message kind names');
}
