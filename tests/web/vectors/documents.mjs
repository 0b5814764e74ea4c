// documents.json (made by proto/vectors/documents-gen.py from the C code, the
// reference for PROTOCOL.md 11.3 and 11.4): every valid document parses, as a
// string and as UTF-8 bytes, with the birth date, stored CPR number and routing
// header (or its refusal) the C code gives; every invalid one gives exactly
// the problems uh_parse_all() gives, in order, and uhParse() throws the first.
import * as u from '../../../clients/web/src/proto/underretning.js';

const enc = new TextEncoder();

function bytesOf(c) {
	let b = c.text !== undefined ? enc.encode(c.text) : Uint8Array.from(Buffer.from(c.bytes_b64, 'base64'));
	if (c.pad_to !== undefined && c.pad_to > b.length) {
		const p = new Uint8Array(c.pad_to).fill(0x20);
		p.set(b);
		b = p;
	}
	return b;
}

/* The same document as a string, when it is valid UTF-8 (padding included). */
function textOf(c) {
	if (c.text === undefined) return undefined;
	return c.pad_to !== undefined && c.pad_to > enc.encode(c.text).length
		? c.text + ' '.repeat(c.pad_to - enc.encode(c.text).length) : c.text;
}

const sorted = (o) => JSON.stringify(Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1))));
const show = (ps) => ps.map((p) => `${p.problem}:${p.path}`).join(' ');

export default async function (t, load) {
	const v = await load('documents.json');
	t.ok(v.valid.length >= 20 && v.invalid.length >= 100, 'corpus size');
	for (const c of v.valid) {
		const created = c.created !== undefined ? c.created : v.created;
		const submission = c.submission !== undefined ? c.submission : v.submission;
		for (const [form, input] of [['bytes', bytesOf(c)], ['text', textOf(c)]]) {
			if (input === undefined) continue;
			const r = u.uhParseAll(input);
			t.ok(r.doc !== null && r.problems.length === 0 && r.code === null,
				`valid ${c.name} (${form}): refused with ${show(r.problems)}`);
			if (r.doc === null) continue;
			t.eq(u.uhDateString(r.doc.child.birth), c.birth, `${c.name}: birth`);
			t.eq(r.doc.child.cpr, c.cpr, `${c.name}: cpr`);
			t.eq(u.uhDateString(u.uhCopenhagenDate(created)), c.today, `${c.name}: Copenhagen date`);
			if (c.header === null) t.throws(() => u.uhHeaderDerive(r.doc, submission, created), 'bad_input', `${c.name}: header refused`);
			else {
				let h = null;
				try {
					h = u.uhHeaderDerive(r.doc, submission, created);
				} catch (e) {
					t.ok(false, `${c.name}: header threw ${e.code || e.message}`);
				}
				if (h !== null) {
					t.eq(JSON.stringify(h), sorted(c.header), `${c.name}: header`);
					t.eq(u.uhAgeGroup(r.doc.child.birth, created), c.header.age_group, `${c.name}: uhAgeGroup`);
				}
			}
			t.eq(u.uhParse(input).institution, r.doc.institution, `${c.name}: uhParse`);
		}
	}
	for (const c of v.invalid) {
		const want = show(c.problems);
		for (const [form, input] of [['bytes', bytesOf(c)], ['text', textOf(c)]]) {
			if (input === undefined) continue;
			const r = u.uhParseAll(input);
			t.ok(r.doc === null, `invalid ${c.name} (${form}): accepted`);
			t.eq(show(r.problems), want, `${c.name} (${form}): problems`);
			try {
				u.uhParse(input);
				t.ok(false, `${c.name} (${form}): uhParse accepted`);
			} catch (e) {
				t.ok(e.problem === c.problems[0].problem && e.path === c.problems[0].path,
					`${c.name} (${form}): uhParse threw ${e.problem}:${e.path}, want ${want.split(' ')[0]}`);
			}
		}
	}

	// The demo document's attachment key comes out as its 32 bytes.
	const demo = u.uhParse(v.valid[0].text);
	t.eq(Buffer.from(demo.attachments[0].key).toString('base64'), 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=', 'key bytes');
	t.eq(demo.attachments[0].size, 48213, 'size');
	// uhParse's error codes are C's results.
	for (const [input, code] of [['{', 'bad_json'], ['{"a":1,"a":2}', 'duplicate_key'], ['{}', 'bad_frame'],
		[' '.repeat(u.UH_DOC_MAX + 1), 'too_large']])
		t.throws(() => u.uhParse(input), code, `uhParse ${input.slice(0, 16)} code`);
	t.eq(u.uhParseAll('{"a":1,"a":2}').code, 'duplicate_key', 'duplicate_key code');
	t.eq(u.uhParseAll('{"\\ud800":1}').problems[0].problem, 'bad_json', 'lone surrogate escape');
	t.eq(u.uhParseAll('{"a":"\ud800"}').problems[0].problem, 'bad_json', 'lone surrogate in a JS string');
	t.throws(() => u.uhParseAll(42), 'bad_input', 'not a string or bytes');

	// uhCprBirthDate and uhAgeGroup on their own (uh_cpr_birth_date, uh_age_group).
	t.eq(u.uhDateString(u.uhCprBirthDate('140317-4321')), '2017-03-14', 'cpr with a dash');
	t.eq(u.uhDateString(u.uhCprBirthDate('1403174321')), '2017-03-14', 'cpr without a dash');
	t.eq(u.uhDateString(u.uhCprBirthDate('010137-4000')), '1937-01-01', 'cpr digit 4, YY 37');
	t.eq(u.uhDateString(u.uhCprBirthDate('010158-5000')), '1858-01-01', 'cpr digit 5, YY 58');
	t.eq(u.uhDateString(u.uhCprBirthDate('010157-8000')), '2057-01-01', 'cpr digit 8, YY 57');
	for (const bad of ['290201-0000', '140317 4321', '140317-432', '', '１40317-4321', 'abcdefghij'])
		t.throws(() => u.uhCprBirthDate(bad), 'bad_input', `cpr ${bad}`);
	t.eq(u.uhAgeGroup('2008-02-29', '2026-02-28'), '14-17', '29 February on 28 February');
	t.eq(u.uhAgeGroup({ year: 2008, month: 2, day: 29 }, { year: 2026, month: 3, day: 1 }), '18-22', 'on 1 March');
	t.eq(u.uhAgeGroup('2020-01-01', '2020-01-01'), '0-5', 'born today');
	t.throws(() => u.uhAgeGroup('2020-01-02', '2020-01-01'), 'bad_input', 'unborn');
	t.throws(() => u.uhAgeGroup('2000-01-01', '2023-01-01'), 'bad_input', '23');
	t.throws(() => u.uhAgeGroup('2015-02-29', '2020-01-01'), 'bad_input', 'not a date');
	t.throws(() => u.uhCopenhagenDate(Date.UTC(2100, 0, 1) / 1000), 'bad_input', 'year 2100');
	t.throws(() => u.uhCopenhagenDate(Date.UTC(1995, 11, 31, 22) / 1000), 'bad_input', 'year 1995');
	t.eq(u.uhDateString(u.uhCopenhagenDate(Date.UTC(1995, 11, 31, 23) / 1000)), '1996-01-01', 'first local second of 1996');
	t.throws(() => u.uhHeaderDerive(demo, 'sub-1', 1.5), 'bad_input', 'created not whole seconds');
}
