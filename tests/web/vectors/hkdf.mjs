// HKDF-SHA256 (PROTOCOL.md 11.1) against RFC 5869 appendix A, cases 1 to 3,
// and its limits, as tests/unit/test-hkdf.c.
import * as c from '../../../clients/web/src/crypto/codec.js';
import { hkdfSha256, hkdfSha256Extract, hkdfSha256Expand, HKDF_SHA256_OUT_MAX } from '../../../clients/web/src/crypto/hkdf.js';

const cases = [
	['0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b', '000102030405060708090a0b0c', 'f0f1f2f3f4f5f6f7f8f9',
		'077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5',
		'3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865'],
	['000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f' +
		'202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f',
	'606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f' +
		'808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeaf',
	'b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecf' +
		'd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff',
	'06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244',
	'b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c' +
		'59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87'],
	['0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b', '', '',
		'19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04',
		'8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8'],
];

export default async function (t) {
	cases.forEach(([ikm, salt, info, prk, okm], i) => {
		const k = c.fromHex(ikm), s = c.fromHex(salt), inf = c.fromHex(info);
		t.eq(c.toHex(hkdfSha256Extract(s, k)), prk, `RFC 5869 A.${i + 1} PRK`);
		t.eq(c.toHex(hkdfSha256Expand(c.fromHex(prk), inf, okm.length / 2)), okm, `RFC 5869 A.${i + 1} expand`);
		t.eq(c.toHex(hkdfSha256(k, s, inf, okm.length / 2)), okm, `RFC 5869 A.${i + 1} OKM`);
		t.eq(c.toHex(hkdfSha256(k, s, inf, 7)), okm.slice(0, 14), `RFC 5869 A.${i + 1} prefix`);
	});
	const prk = c.fromHex(cases[0][3]);
	const big = hkdfSha256Expand(prk, null, HKDF_SHA256_OUT_MAX);
	t.eq(big.length, HKDF_SHA256_OUT_MAX, 'longest output');
	t.ok(!c.equalBytes(big.subarray(0, 32), big.subarray(HKDF_SHA256_OUT_MAX - 32)), 'blocks differ');
	t.throws(() => hkdfSha256Expand(prk, null, HKDF_SHA256_OUT_MAX + 1), 'bad_input', 'too long an output');
	t.throws(() => hkdfSha256(prk, null, null, 0), 'bad_input', 'empty output');
	t.throws(() => hkdfSha256Expand(prk.subarray(0, 31), null, 32), 'bad_input', 'short PRK');
}
