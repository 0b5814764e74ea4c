// encoding.json (signing inputs of section 7, ids and fingerprints of section 8)
// and signatures.json (pure Ed25519 from a seed).
import * as c from '../../../clients/web/src/crypto/codec.js';

export default async function (t, load) {
	const v = await load('encoding.json');
	for (const e of v.login) {
		const input = c.loginSigningInput(c.fromHex(e.nonce), e.origin, e.device, c.timeParse(e.time));
		t.eq(c.toHex(input), e.input, `login input ${e.device}`);
	}
	for (const e of v.enroll) {
		const input = c.enrollSigningInput(c.fromHex(e.nonce), e.origin, e.code, c.unb64(e.sign_pk, 32),
			c.unb64(e.box_pk, 32), e.label);
		t.eq(c.toHex(input), e.input, `enroll input ${e.code}`);
	}
	for (const e of v.confirm) {
		const input = c.confirmSigningInput(c.fromHex(e.nonce), e.origin, e.device);
		t.eq(c.toHex(input), e.input, `confirm input ${e.device}`);
	}
	for (const e of v.keys) {
		const pk = c.unb64(e.pk, 32);
		t.eq(c.deviceId(pk), e.device, `device id of ${e.pk}`);
		t.eq(c.fingerprint(pk), e.fingerprint, `fingerprint of ${e.pk}`);
		t.ok(c.fingerprintEqual(e.fingerprint.toUpperCase().replace(/-/g, ' '), e.fingerprint), 'fingerprint as typed');
	}
	for (const e of await load('signatures.json')) {
		const kp = c.signKeypair(c.fromHex(e.seed));
		t.eq(c.toHex(kp.publicKey), e.pk, 'public key from seed');
		const sig = c.sign(c.fromHex(e.input), kp.privateKey);
		t.eq(c.toHex(sig), e.sig, 'signature');
		t.ok(c.verify(c.fromHex(e.input), sig, kp.publicKey), 'verifies');
		const bad = Uint8Array.from(sig);
		bad[0] ^= 1;
		t.ok(!c.verify(c.fromHex(e.input), bad, kp.publicKey), 'flipped signature refused');
	}
	t.eq(c.originFromUrl('wss://Varsko.Slagelse.DK/ws'), 'wss://varsko.slagelse.dk:443', 'origin default port');
	t.eq(c.originFromUrl('wss://[::1]:8443/'), 'wss://[::1]:8443', 'origin ipv6');
	for (const bad of ['ws://x:1', 'wss://u@x:1', 'wss://:1', 'wss://x:', 'wss://x:0', 'wss://x:65536', 'https://x'])
		t.throws(() => c.originFromUrl(bad), 'bad_input', `origin ${bad}`);
	t.eq(c.timeFormat(c.timeParse('2026-11-23T09:30:00Z')), '2026-11-23T09:30:00Z', 'time round trip');
	t.eq(c.timeParse('2026-11-23T09:30:00Z'), 1795426200, 'time value');
	for (const bad of ['2026-02-30T00:00:00Z', '2026-11-23T09:30:00z', '2026-11-23 09:30:00Z', '2026-11-23T24:00:00Z'])
		t.throws(() => c.timeParse(bad), 'bad_time', `time ${bad}`);
	for (const bad of ['QQ', 'QQ=', 'QR==', ' QQ==', 'QQ==\n'])
		t.throws(() => c.unb64(bad), 'bad_input', `base64 ${JSON.stringify(bad)}`);
	t.eq(c.b64(c.unb64('QQ==')), 'QQ==', 'base64 round trip');
}
