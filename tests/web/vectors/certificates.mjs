// certificates.json (PROTOCOL.md section 6 and 7.1): every valid certificate
// parses, encodes back to the same text, has the signing input of the vector,
// is signed again to the same signature and verifies; every invalid one is
// refused with its error, by the parser or by certVerify.
import * as c from '../../../clients/web/src/crypto/codec.js';
import * as cert from '../../../clients/web/src/crypto/cert.js';

const PARSE_ERRORS = ['bad_frame', 'duplicate_key', 'bad_json', 'too_large'];

export default async function (t, load) {
	const v = await load('certificates.json');
	const org = c.signKeypair(c.fromHex(v.org_seed));
	const orgPk = c.unb64(v.org_pk, 32);
	t.ok(c.equalBytes(org.publicKey, orgPk), 'org key from seed');
	t.eq(c.fingerprint(orgPk), v.org_fingerprint, 'org fingerprint');
	const now = c.timeParse(v.now);

	for (const e of v.valid) {
		const x = cert.certFromJson(e.json);
		t.eq(cert.certToJson(x), e.json, `${e.device}: JSON round trip`);
		t.eq(c.toHex(cert.certSigningInput(x)), e.input, `${e.device}: signing input`);
		t.eq(x.device, e.device, `${e.device}: device`);
		t.eq(c.deviceId(x.signPk), e.device, `${e.device}: device id of sign_pk`);
		t.eq(c.fingerprint(x.signPk), e.fingerprint, `${e.device}: fingerprint`);
		t.ok(cert.certVerify(x, orgPk, now) === x, `${e.device}: verifies`);
		t.ok(cert.certVerify(x, orgPk, x.notBefore) && cert.certVerify(x, orgPk, x.notAfter), `${e.device}: window inclusive`);
		const again = cert.certSign({ ...x, device: '', sig: undefined }, org.privateKey);
		t.eq(cert.certToJson(again), e.json, `${e.device}: signed again to the same text`);
		t.ok(c.utf8(e.json).length === c.utf8(cert.certToJson(cert.certFromJson(c.utf8(e.json)))).length, `${e.device}: from bytes`);
		t.throws(() => cert.certVerify(x, c.signKeypair(c.fromHex('11'.repeat(32))).publicKey, now), 'bad_cert',
			`${e.device}: another organisation key`);
		t.throws(() => cert.certSign({ ...x, version: 2 }, org.privateKey), 'bad_input', `${e.device}: sign version 2`);
		t.throws(() => cert.certSign({ ...x, name: 'a\nb' }, org.privateKey), 'bad_input', `${e.device}: sign bad name`);
		t.throws(() => cert.certToJson({ ...x, signPk: new Uint8Array(31) }), 'bad_input', `${e.device}: encode short key`);
	}

	for (const e of v.invalid) {
		const at = c.timeParse(e.now);
		if (PARSE_ERRORS.includes(e.error)) {
			t.throws(() => cert.certFromJson(e.json), e.error, `invalid "${e.desc}"`);
			continue;
		}
		let x;
		try {
			x = cert.certFromJson(e.json);
		} catch (err) {
			t.ok(false, `invalid "${e.desc}": parse refused with ${err.code}, want ${e.error} from verify`);
			continue;
		}
		t.throws(() => cert.certVerify(x, orgPk, at), e.error, `invalid "${e.desc}"`);
	}

	/* Section 2 at the loader, beyond the vectors. */
	const good = v.valid[0].json;
	t.throws(() => cert.certFromJson(good.replace('"serial":1', '"serial":1.0')), 'bad_frame', 'serial 1.0');
	t.throws(() => cert.certFromJson(good.replace('"serial":1', '"serial":1e0')), 'bad_frame', 'serial 1e0');
	t.throws(() => cert.certFromJson(good.replace('"serial":1', '"serial":99999999999999999999')), 'bad_json', 'serial beyond 64 bits');
	t.throws(() => cert.certFromJson(good.replace('"serial":1', '"serial":01')), 'bad_json', 'serial 01');
	t.throws(() => cert.certFromJson(good.replace('"team":""', '"team":null')), 'bad_frame', 'null member');
	t.throws(() => cert.certFromJson(good.replace('"team":""', '"team":"a\\u0000"')), 'bad_frame', 'NUL in string');
	t.throws(() => cert.certFromJson(good.replace('"team":""', '"team":"\\ud800"')), 'bad_json', 'lone surrogate');
	t.throws(() => cert.certFromJson('\ufeff' + good), 'bad_json', 'byte-order mark');
	t.throws(() => cert.certFromJson(good + good), 'bad_json', 'two objects');
	t.throws(() => cert.certFromJson(' '.repeat(65537 - good.length) + good), 'too_large', 'too large');
	t.eq(cert.certToJson(cert.certFromJson(` \n${good}\t`)), good, 'whitespace around');
	t.eq(cert.certToJson(cert.certFromJson(good.replace('"Bj\u00f8rk', '"Bj\\u00f8rk'))), good, 'escaped non-ASCII');
	t.throws(() => cert.certFromJson(good.replace('"serial":1', '"serial":' + '['.repeat(2100) + ']'.repeat(2100))),
		'bad_json', 'nesting too deep');
	t.throws(() => cert.certFromJson(good.replace('"serial":1', '"serial":' + '['.repeat(100) + ']'.repeat(100))),
		'bad_frame', 'nested array as serial');
}
