// The routing header of PROTOCOL.md 11.4 (no vector file of its own): the
// routing bytes of envelope.json's underretning and those of
// tests/unit/test-underretning.c decode and encode back byte for byte; cuts,
// extra bytes, NULs and out-of-range values are refused; the JSON form; the
// age groups as test_age_groups.
import * as c from '../../../clients/web/src/crypto/codec.js';
import * as uh from '../../../clients/web/src/crypto/underretning.js';

const WANT = '00000011766172736b6f2d726f7574696e672d763100000008000000000000000100000013696e73742d6e6f7264736b6f76736b6f6c656e' +
	'00000004362d313300000008000000000000000000000008000000000000000100000006732d3030303100000008000000006b0409f0';

export default async function (t, load) {
	const v = await load('envelope.json');
	const x = v.vectors.find((e) => e.kind === 'underretning');
	const h0 = uh.uhHeaderDecode(c.fromHex(x.routing));
	t.eq(c.toHex(uh.uhHeaderEncode(h0)), x.routing, 'envelope.json routing bytes round trip');
	t.ok(h0.institution === 'inst-nordskovskolen' && h0.ageGroup === '6-13' && !h0.akut && !h0.handicap &&
		h0.submission === 's-0001' && h0.created === 1795426800, 'envelope.json routing header fields');

	const h = { institution: 'inst-nordskovskolen', ageGroup: '6-13', akut: false, handicap: true, submission: 's-0001',
		created: 1795426800 };
	t.eq(c.toHex(uh.uhHeaderEncode(h)), WANT, 'test-underretning.c bytes');
	const raw = c.fromHex(WANT);
	t.eq(JSON.stringify(uh.uhHeaderDecode(raw)), JSON.stringify(h), 'decoded');
	let cuts = 0;
	for (let cut = 0; cut < raw.length; cut++) {
		try {
			uh.uhHeaderDecode(raw.subarray(0, cut));
		} catch (e) {
			if (e.code === 'bad_input') cuts++;
		}
	}
	t.eq(cuts, raw.length, 'every cut refused');
	t.throws(() => uh.uhHeaderDecode(c.concat(raw, Uint8Array.of(0))), 'bad_input', 'a byte after the last field');
	const nul = Uint8Array.from(raw);
	nul[4 + 17 + 12 + 4 + 3] = 0;
	t.throws(() => uh.uhHeaderDecode(nul), 'bad_input', 'a NUL inside a string field');
	const akut2 = Uint8Array.from(raw);
	t.eq(akut2[raw.length - 35], 0, 'the last byte of akut');
	akut2[raw.length - 35] = 2;
	t.throws(() => uh.uhHeaderDecode(akut2), 'bad_input', 'akut 2');
	let flips = 0, same = 0;
	for (let i = 0; i < raw.length * 8; i++) {
		const f = Uint8Array.from(raw);
		f[i >> 3] ^= 1 << (i & 7);
		try {
			const g = uh.uhHeaderDecode(f);
			if (JSON.stringify(g) === JSON.stringify(h)) same++;
		} catch (e) {
			if (e.code === 'bad_input') flips++;
		}
	}
	t.eq(same, 0, 'no bit flip decodes to the same header');
	t.ok(flips > 0, 'bit flips refused');
	t.throws(() => uh.uhHeaderDecode(c.fromHex(WANT.replace('362d3133', '352d3133'))), 'bad_input', 'age group 5-13');

	const js = uh.uhHeaderToJson(h);
	t.eq(js, '{"age_group":"6-13","akut":false,"created":"2026-11-23T09:40:00Z","handicap":true,"institution":"inst-nordskovskolen","submission":"s-0001"}', 'JSON form');
	t.eq(c.toHex(uh.uhHeaderEncode(uh.uhHeaderFromJson(js))), WANT, 'JSON read back');
	for (const bad of [
		'{"age_group":"5-9","akut":false,"created":"2026-11-23T09:40:00Z","handicap":true,"institution":"i","submission":"s"}',
		'{"age_group":"6-13","akut":0,"created":"2026-11-23T09:40:00Z","handicap":true,"institution":"i","submission":"s"}',
		'{"age_group":"6-13","akut":false,"created":"2026-11-23 09:40:00","handicap":true,"institution":"i","submission":"s"}',
		'{"age_group":"6-13","akut":false,"created":"2026-11-23T09:40:00Z","handicap":true,"institution":"i"}',
		'{"age_group":"6-13","akut":false,"created":"2026-11-23T09:40:00Z","handicap":true,"institution":"i","submission":"s","cpr":"x"}',
	])
		t.throws(() => uh.uhHeaderFromJson(bad), 'bad_frame', `JSON ${bad.slice(0, 40)}`);
	t.throws(() => uh.uhHeaderFromJson('{"akut":true,"akut":false}'), 'duplicate_key', 'JSON duplicate member');
	for (const [what, f] of [['empty submission', (y) => { y.submission = ''; }], ['submission with space', (y) => { y.submission = 's 1'; }],
		['created before 1970', (y) => { y.created = -1; }], ['akut 1', (y) => { y.akut = 1; }]]) {
		const y = { ...h };
		f(y);
		t.throws(() => uh.uhHeaderEncode(y), 'bad_input', `encode ${what}`);
		t.throws(() => uh.uhHeaderToJson(y), 'bad_input', `JSON ${what}`);
	}

	const today = { year: 2026, month: 11, day: 23 };
	const age = (by, bm, bd, want, td = today) => {
		const b = { year: by, month: bm, day: bd };
		if (want === null) t.throws(() => uh.uhAgeGroup(b, td), 'bad_input', `age ${by}-${bm}-${bd}`);
		else t.eq(uh.uhAgeGroup(b, td), want, `age ${by}-${bm}-${bd}`);
	};
	age(2026, 11, 23, '0-5');
	age(2026, 11, 24, null);
	age(2020, 11, 23, '6-13');
	age(2020, 11, 24, '0-5');
	age(2012, 11, 23, '14-17');
	age(2012, 11, 24, '6-13');
	age(2008, 11, 23, '18-22');
	age(2008, 11, 24, '14-17');
	age(2003, 11, 23, null);
	age(2003, 11, 24, '18-22');
	age(2017, 3, 14, '6-13');
	age(2012, 12, 1, '6-13');
	age(2012, 10, 30, '14-17');
	age(2017, 2, 30, null);
	age(2012, 2, 29, '6-13', { year: 2026, month: 2, day: 28 });
	age(2012, 2, 29, '14-17', { year: 2026, month: 3, day: 1 });
	age(2012, 2, 29, '14-17', { year: 2028, month: 2, day: 29 });
	age(2020, 11, 23, null, { year: 2026, month: 13, day: 1 });
}
