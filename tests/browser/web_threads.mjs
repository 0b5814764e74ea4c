// Browser scenario: consultation threads between the web client's modules
// (clients/web/src/client/threads.js, attach.js) in Chromium and the C CLI.
// laerer-anna enrolls this browser and sets up her user key; she opens a
// thread at her school (varskod names raadgiver-sofie, whom the browser
// checks and adds), and she and Sofie (`varsko thread ...` in Sofie's home)
// exchange messages, leveret/læst marks and files both ways.
// Then the chain taken back in varskod's database is refused (bad_chain).
// VARSKO_PHASE "ghost" (varskod-ghost, which adds a member of its own to
// every chain it hands out) opens the same browser profile again: the chain
// is refused and nothing is sent; "again" (the real varskod back): accepted.
// Started by test_web_threads.py with: VARSKO_URL (the test page),
// VARSKO_SPKI, VARSKO_CODE, VARSKO_FPR, VARSKO_CLI, VARSKO_SOFIE_HOME,
// VARSKO_CLI_HOME, VARSKO_TMP, VARSKO_DB, VARSKO_PROFILE, VARSKO_PHASE.
// Prints checks.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Checks, env, launch, watch } from './lib.mjs';

const INST = 'inst-nordskovskolen';
const ANNA = 'laerer-anna';
const SOFIE = 'raadgiver-sofie';
const JONAS = 'laerer-jonas';
const THOMAS = 'leder-thomas';
const PASS = 'korrekt hest batteri hæfteklamme';
const tmp = env('VARSKO_TMP');
const checks = new Checks();
const c = checks.ok.bind(checks);

/* Sofie's CLI: { rc, out, err, j }. */
function sofie(...args) {
	const e = { ...process.env, VARSKO_HOME: env('VARSKO_SOFIE_HOME'), HOME: env('VARSKO_CLI_HOME') };
	delete e.VARSKO_CA;
	try {
		const out = execFileSync(env('VARSKO_CLI'), args, { env: e, encoding: 'utf8', timeout: 120000, stdio: ['ignore', 'pipe', 'pipe'] });
		let j = null;
		try {
			j = JSON.parse(out);
		} catch {
			j = null;
		}
		return { rc: 0, out, err: '', j };
	} catch (x) {
		return { rc: x.status ?? 1, out: String(x.stdout || ''), err: String(x.stderr || ''), j: null };
	}
}

const show = (r) => `rc=${r.rc} out=${r.out.slice(0, 400)} err=${r.err.slice(0, 400)}`;
const sha = (b) => createHash('sha256').update(b).digest('hex');

/* SQL on varskod's database (python3's sqlite3, as the C tests edit it): the rows. */
function db(sql, params = []) {
	const py = 'import json, sqlite3, sys\n' +
		'c = sqlite3.connect(sys.argv[1], timeout=10)\n' +
		'c.execute("PRAGMA busy_timeout = 10000")\n' +
		'with c:\n' +
		'    rows = c.execute(sys.argv[2], json.loads(sys.argv[3])).fetchall()\n' +
		'print(json.dumps(rows))\n';
	return JSON.parse(execFileSync('python3', ['-c', py, env('VARSKO_DB'), sql, JSON.stringify(params)], { encoding: 'utf8' }));
}

/* Chromium with the profile the phases share (the vault and the pins in its IndexedDB). */
function launchAt(profile, spki) {
	return launch(spki, profile);
}

const phase = process.env.VARSKO_PHASE || 'main';
const threadFile = path.join(tmp, 'thread.txt');
const ctx = await launchAt(env('VARSKO_PROFILE'), env('VARSKO_SPKI'));
const log = watch(ctx);
try {
	const page = ctx.pages()[0] || await ctx.newPage();
	await page.goto(env('VARSKO_URL'));
	await page.waitForFunction(() => !!window.varskoThreadTest, null, { timeout: 30000 });

	/*
	 * Run fn(T, S, arg) in the page (T the modules, S the session); errors come
	 * back as { error, message }. The expression goes through the DevTools
	 * protocol, as every page.evaluate, so the page's CSP stays as it is.
	 */
	const run = (fn, arg) => page.evaluate(`(async () => {
		const T = window.varskoThreadTest;
		try {
			return { ok: await (${fn.toString()})(T, window.S, ${JSON.stringify(arg ?? null)}) };
		} catch (e) {
			return { error: e && e.code ? e.code : String(e), message: e && e.message ? e.message : String(e) };
		}
	})()`);

	if (phase !== 'main') {
		const thread = readFileSync(threadFile, 'utf8');
		let r = await run(async (T, _S, a) => {
			await T.codec.ready();
			const rec = await T.vault.get(T.vault.DEVICE);
			const secrets = T.vault.unseal(a.pass, rec.sealed);
			const { conn, cert } = await T.enroll.login(secrets);
			window.S = new T.Session(conn, secrets, cert);
			return window.S.user;
		}, { pass: PASS });
		c(r.ok === ANNA, `${phase}: the browser opens again with the passphrase and logs in`, JSON.stringify(r));
		if (phase === 'ghost') {
			r = await run((T, S, a) => T.threads.threadMembers(S, a.thread), { thread });
			c(['bad_chain', 'not_member', 'bad_signature'].includes(r.error),
				'varskod-ghost adds a member to the chain it hands out: the browser refuses the chain', JSON.stringify(r));
			r = await run((T, S, a) => T.threads.threadSend(S, a.thread, 'Til spøgelset?'), { thread });
			c(!!r.error, '... and seals nothing: the send is refused before anything is sent', JSON.stringify(r));
			r = await run((T, S, a) => T.threads.threadRead(S, a.thread), { thread });
			c(!!r.error, '... and shows nothing', JSON.stringify(r).slice(0, 300));
		} else {
			r = await run((T, S, a) => T.threads.threadMembers(S, a.thread), { thread });
			c(r.ok && r.ok.version === 5 && r.ok.members.length === 3, "the real varskod's chain is accepted again",
				JSON.stringify(r));
			r = await run((T, S, a) => T.threads.threadSend(S, a.thread, 'Igen'), { thread });
			c(r.ok && r.ok.seq === 8, '... and the browser sends again (seq 8)', JSON.stringify(r));
		}
		c(log.errors.length === 0, 'no error in the page', log.errors.join('; '));
		throw null; // eslint-disable-line no-throw-literal
	}

	let r = await run(async (T, _S, a) => {
		await T.codec.ready();
		const secrets = await T.enroll.enroll({ code: a.code, fpr: a.fpr, label: 'Browser', passphrase: a.pass });
		const { conn, cert } = await T.enroll.login(secrets);
		window.S = new T.Session(conn, secrets, cert);
		const setup = await T.userkey.userSetup(window.S);
		return { user: window.S.user, created: setup.created, code: !!setup.recoveryCode };
	}, { code: env('VARSKO_CODE'), fpr: env('VARSKO_FPR'), pass: PASS });
	c(r.ok && r.ok.user === ANNA && r.ok.created && r.ok.code,
		'anna enrolls the browser, logs in and makes her user key (userSetup)', JSON.stringify(r));

	// An outsider (a fagperson of another school) is refused by the browser before anything is sent.
	r = await run((T, S, a) => T.threads.threadCreate(S, { institution: a.inst, title: 'Forkert', members: [a.jonas] }),
		{ inst: INST, jonas: JONAS });
	c(r.error === 'forbidden' && r.message.includes(JONAS), 'a member the certificates do not admit is refused: forbidden',
		JSON.stringify(r));
	r = await run((T, S) => T.threads.threadList(S));
	c(r.ok && Array.isArray(r.ok.threads) && r.ok.threads.length === 0, '... and nothing was created', JSON.stringify(r));

	const title = 'Bekymring om elev i 3.b æøå';
	const m1 = 'Første besked fra browseren: trivsel og fravær.';
	r = await run((T, S, a) => T.threads.threadCreate(S, { institution: a.inst, title: a.title, text: a.m1 }),
		{ inst: INST, title, m1 });
	const thread = r.ok ? r.ok.thread : '';
	writeFileSync(threadFile, thread);
	c(/^T-[A-Z2-7]{26}$/.test(thread) && r.ok.seq === 1 && r.ok.anonymous === false,
		'anna opens a thread in the browser; its first message (with the title) is seq 1', JSON.stringify(r));

	r = await run((T, S, a) => T.threads.threadMembers(S, a.thread), { thread });
	const mem = r.ok ? Object.fromEntries(r.ok.members.map((m) => [m.user, m])) : {};
	c(r.ok && Object.keys(mem).sort().join() === [ANNA, SOFIE].sort().join() && mem[ANNA].creator && mem[ANNA].this &&
		mem[SOFIE].role === 'raadgiver' && mem[SOFIE].admitted === true && r.ok.version === 2,
	'the browser verifies the members: anna (creator) and sofie (the assigned rådgiver, admitted)', JSON.stringify(r));

	let s = sofie('thread', 'members', thread, '--json');
	c(s.rc === 0 && s.j && s.j.members.length === 2 && s.j.creator === ANNA,
		"sofie's C client verifies the chain the browser made", show(s));
	s = sofie('thread', 'read', thread, '--json');
	c(s.rc === 0 && s.j && s.j.title === title && s.j.messages.length === 1 && s.j.messages[0].text === m1 &&
		s.j.messages[0].user === ANNA && s.j.messages[0].new === true,
	"sofie's CLI reads the browser's title and message", show(s));

	const m2 = 'Svar fra Sofie i terminalen.';
	s = sofie('thread', 'send', thread, m2, '--json');
	c(s.rc === 0 && s.j && s.j.seq === 2, 'sofie answers with the CLI (seq 2)', show(s));

	r = await run((T, S, a) => T.threads.threadRead(S, a.thread), { thread });
	let msgs = r.ok ? r.ok.messages : [];
	const marks1 = msgs[0] && msgs[0].marks ? Object.fromEntries(msgs[0].marks.map((m) => [m.user, m])) : {};
	c(r.ok && r.ok.title === title && msgs.map((m) => m.text).join('|') === [m1, m2].join('|') && msgs[0].own === true &&
		msgs[1].user === SOFIE && msgs[1].own === false && msgs[1].new === true,
	"the browser reads sofie's answer, verified and opened, after its own message", JSON.stringify(r).slice(0, 800));
	c(marks1[SOFIE] && marks1[SOFIE].leveret && marks1[SOFIE].laest && r.ok.marks_refused === 0,
		"on the browser's message: sofie's leveret and læst, each verified", JSON.stringify(msgs[0]));
	c(r.ok && r.ok.marks_sent === 2, 'the browser sent leveret and læst for sofie\'s message', JSON.stringify(r.ok && r.ok.marks_sent));

	s = sofie('thread', 'read', thread, '--json');
	const own2 = s.j ? s.j.messages.find((m) => m.seq === 2) : null;
	const mk2 = own2 && own2.marks ? own2.marks.find((m) => m.user === ANNA) : null;
	c(s.rc === 0 && mk2 && mk2.leveret && mk2.laest && s.j.marks_refused === 0,
		"sofie's CLI sees the browser's leveret and læst on her message, verified", show(s));

	// A 1 MiB file from the browser, fetched by sofie's CLI.
	r = await run(async (T, S, a) => {
		const data = T.codec.sodium.randombytes_buf(1024 * 1024);
		const h = T.codec.toHex(T.codec.sodium.crypto_hash_sha256(data));
		const res = await T.threads.threadSendFile(S, a.thread, 'elevplan.pdf', 'application/pdf', data, 'Elevplanen');
		return { ...res, sha256: h, kept: T.attach.uploadsKept() };
	}, { thread });
	c(r.ok && r.ok.seq === 3 && r.ok.resumedFrom === 0 && r.ok.kept === 0,
		'the browser attaches a 1 MiB file (seq 3); nothing is kept once the message is stored', JSON.stringify(r));
	const got = path.join(tmp, 'sofie-got.pdf');
	s = sofie('thread', 'fetch', thread, '3', '--out', got);
	let same = false;
	try {
		same = s.rc === 0 && r.ok && sha(readFileSync(got)) === r.ok.sha256;
	} catch {
		same = false;
	}
	c(same, "sofie's CLI fetches the browser's file with the same SHA-256", show(s));

	// Sofie's file, fetched in the browser.
	const file = randomBytes(300 * 1024 + 17);
	const fpath = path.join(tmp, 'referat.txt');
	writeFileSync(fpath, file);
	s = sofie('thread', 'send', thread, 'Referat fra mødet', '--file', fpath, '--json');
	c(s.rc === 0 && s.j && s.j.seq === 4, 'sofie attaches a file with the CLI (seq 4)', show(s));
	r = await run(async (T, S, a) => {
		const f = await T.threads.threadFetch(S, a.thread, 4);
		const h = T.codec.toHex(T.codec.sodium.crypto_hash_sha256(f.data));
		const n = f.data.length;
		T.codec.wipe(f.data);
		return { name: f.name, mediaType: f.mediaType, size: n, sha256: h };
	}, { thread });
	c(r.ok && r.ok.sha256 === sha(file) && r.ok.size === file.length && r.ok.name === 'referat.txt',
		"the browser fetches sofie's file: the same bytes", JSON.stringify(r));
	r = await run((T, S, a) => T.threads.threadFetch(S, a.thread, 2).then(() => 'fetched'), { thread });
	c(r.error === 'not_found', 'a message without attachment has nothing to fetch: not_found', JSON.stringify(r));

	r = await run((T, S, a) => T.threads.threadRead(S, a.thread), { thread });
	msgs = r.ok ? r.ok.messages : [];
	const f3 = msgs.find((m) => m.seq === 3);
	const f4 = msgs.find((m) => m.seq === 4);
	c(f3 && f3.kind === 'file' && f3.file && f3.file.size === 1024 * 1024 && f3.file.name === 'elevplan.pdf' &&
		f3.text === 'Elevplanen' && !('key' in f3.file) && f4 && f4.kind === 'file' && f4.file.sha256 === sha(file),
	'the read shows both files (name, size, SHA-256, never the key)', JSON.stringify(msgs.slice(2)).slice(0, 600));

	// 17.10: an underretning's reference told twice is one message.
	r = await run(async (T, S, a) => {
		const one = await T.threads.threadSendReference(S, a.thread, 'U-2026-000123');
		const two = await T.threads.threadSendReference(S, a.thread, 'U-2026-000123');
		return { one, two, id: T.threads.referenceMessageId(a.thread, 'U-2026-000123', S.user) };
	}, { thread });
	c(r.ok && r.ok.one.seq === 5 && r.ok.two.seq === 5, 'the reference told twice is one message (seq 5)', JSON.stringify(r));
	if (r.ok) writeFileSync(path.join(tmp, 'ref.json'), JSON.stringify({ thread, reference: 'U-2026-000123', user: ANNA, id: r.ok.id }));
	s = sofie('thread', 'read', thread, '--json');
	const ref = s.j ? s.j.messages.find((m) => m.seq === 5) : null;
	c(ref && ref.kind === 'underretning_ref' && ref.reference === 'U-2026-000123' && r.ok && ref.message === r.ok.id,
		"sofie's CLI shows it with the deterministic message id", show(s));
	const reads = s.j ? s.j.messages.filter((m) => m.seq === 3) : [];
	c(reads.length === 1 && reads[0].user === ANNA && reads[0].file && reads[0].file.size === 1024 * 1024,
		"sofie's CLI lists the browser's file message", show(s));

	// Sofie reads; the browser then sees her marks on every own message.
	r = await run((T, S, a) => T.threads.threadRead(S, a.thread), { thread });
	const own = r.ok ? r.ok.messages.filter((m) => m.own) : [];
	c(own.length === 3 && own.every((m) => m.marks.length === 1 && m.marks[0].user === SOFIE && m.marks[0].leveret &&
		m.marks[0].laest), "the browser sees sofie's leveret and læst on all three own messages", JSON.stringify(own).slice(0, 800));

	r = await run((T, S) => T.threads.threadList(S));
	const row = r.ok ? r.ok.threads.find((t) => t.thread === thread) : null;
	c(row && row.last_seq === 5 && row.institution === INST && row.anonymous === false,
		'the thread list names the thread with its last seq', JSON.stringify(r));

	// An upload cut off by a dropped connection goes on, in this page, where it stopped.
	r = await run(async (T, S, a) => {
		const data = T.codec.sodium.randombytes_buf(700 * 1024);
		const h = T.codec.toHex(T.codec.sodium.crypto_hash_sha256(data));
		let puts = 0;
		const request = S.request.bind(S);
		S.request = (f, want) => {
			if (f.type === 'blob_put' && ++puts === 2) S.conn.ws.close();
			return request(f, want);
		};
		let first = null;
		try {
			await T.threads.threadSendFile(S, a.thread, 'stor.bin', 'application/octet-stream', data);
		} catch (e) {
			first = e.code;
		}
		const kept = T.attach.uploadsKept();
		const { conn, cert } = await T.enroll.login(S.secrets);
		window.S = new T.Session(conn, S.secrets, cert);
		const res = await T.threads.threadSendFile(window.S, a.thread, 'stor.bin', 'application/octet-stream', data);
		return { first, kept, res, sha256: h, keptAfter: T.attach.uploadsKept() };
	}, { thread });
	c(r.ok && r.ok.first === 'closed' && r.ok.kept === 1, 'a dropped connection mid-upload keeps the upload in the page',
		JSON.stringify(r));
	c(r.ok && r.ok.res.seq === 6 && r.ok.res.resumedFrom === 262144 && r.ok.keptAfter === 0,
		'sent again after a new login, it goes on from the stored part (262 144 bytes) and is sent once (seq 6)',
		JSON.stringify(r));
	const got6 = path.join(tmp, 'sofie-stor.bin');
	s = sofie('thread', 'fetch', thread, '6', '--out', got6);
	let same6 = false;
	try {
		same6 = s.rc === 0 && r.ok && sha(readFileSync(got6)) === r.ok.sha256;
	} catch {
		same6 = false;
	}
	c(same6, "sofie's CLI fetches the resumed file with the same SHA-256", show(s));

	// History: the page before seq 3, without marks; what was shown is no longer new.
	r = await run((T, S, a) => T.threads.threadRead(S, a.thread, { before: 3, mark: false }), { thread });
	c(r.ok && r.ok.messages.map((m) => m.seq).join() === '1,2' && r.ok.older === false && r.ok.marks_sent === 0 &&
		r.ok.title === title && r.ok.messages[1].new === false,
	'the page before seq 3: messages 1 and 2, nothing older, no marks sent, seen ones not new', JSON.stringify(r).slice(0, 600));

	// An anonymous consultation (13.2): the flag travels in the chain, sofie's client sees it.
	r = await run((T, S, a) => T.threads.threadCreate(S, { institution: a.inst, title: 'Anonym sparring', anonymous: true }),
		{ inst: INST });
	const anon = r.ok ? r.ok.thread : '';
	c(r.ok && r.ok.anonymous === true && r.ok.seq === 1, 'the browser opens an anonymous consultation', JSON.stringify(r));
	s = sofie('thread', 'read', anon, '--json');
	c(s.rc === 0 && s.j && s.j.anonymous === true && s.j.title === 'Anonym sparring' &&
		s.j.messages[0].text === 'Anonym sparring', "sofie's CLI reads it as anonymous, the title as its first text", show(s));

	// Wrong input is refused before anything is sent.
	r = await run((T, S, a) => T.threads.threadSend(S, a.thread, ''), { thread });
	c(r.error === 'bad_input', 'an empty message: bad_input', JSON.stringify(r));
	r = await run((T, S) => T.threads.threadRead(S, 'T-NOTATHREAD'));
	c(r.error === 'bad_input', 'a malformed thread id: bad_input', JSON.stringify(r));
	r = await run((T, S) => T.threads.threadRead(S, 'T-AAAAAAAAAAAAAAAAAAAAAAAAAA'));
	c(r.error === 'not_found', 'an unknown thread: not_found', JSON.stringify(r));
	r = await run((T, S, a) => T.threads.threadSendFile(S, a.thread, '../x', 'text/plain', new Uint8Array(3)), { thread });
	c(r.error === 'bad_input', "a file name with '/': bad_input", JSON.stringify(r));

	// Changes made in the browser: thomas (leder of sofie's team) added; jonas refused.
	r = await run((T, S, a) => T.threads.threadAdd(S, a.thread, a.user), { thread, user: THOMAS });
	c(r.ok && r.ok.version === 3, "the browser adds thomas, admitted as the leder of sofie's team (version 3)", JSON.stringify(r));
	s = sofie('thread', 'members', thread, '--json');
	const th = s.j ? s.j.members.find((m) => m.user === THOMAS) : null;
	c(th && th.role === 'leder' && th.present && th.admitted, "sofie's C client verifies the browser's add", show(s));
	r = await run((T, S, a) => T.threads.threadAdd(S, a.thread, a.user), { thread, user: THOMAS });
	c(r.error === 'exists', 'adding him again: exists', JSON.stringify(r));
	r = await run((T, S, a) => T.threads.threadAdd(S, a.thread, a.user), { thread, user: JONAS });
	c(r.error === 'forbidden', 'adding jonas (another school): forbidden', JSON.stringify(r));

	// Sofie leaves: thomas, a leder, is no longer admitted (17.5); nothing is sealed until he is removed.
	s = sofie('thread', 'leave', thread, '--json');
	c(s.rc === 0, 'sofie leaves with the CLI', show(s));
	r = await run((T, S, a) => T.threads.threadMembers(S, a.thread), { thread });
	const mm = r.ok ? Object.fromEntries(r.ok.members.map((m) => [m.user, m])) : {};
	c(r.ok && r.ok.version === 4 && mm[SOFIE].present === false && mm[SOFIE].removed === 4 &&
		mm[THOMAS].admitted === false && mm[ANNA].admitted === true,
	"the browser verifies the leave, and shows thomas as no longer admitted by his certificate", JSON.stringify(r));
	r = await run((T, S, a) => T.threads.threadSend(S, a.thread, 'Ikke til Thomas'), { thread });
	c(r.error === 'bad_chain' && r.message.includes(THOMAS), 'the browser refuses to seal to him (bad_chain)',
		JSON.stringify(r));
	r = await run((T, S, a) => T.threads.threadRemove(S, a.thread, a.user), { thread, user: THOMAS });
	c(r.ok && r.ok.version === 5, '... but removes him (version 5)', JSON.stringify(r));
	r = await run((T, S, a) => T.threads.threadRemove(S, a.thread, a.user), { thread, user: THOMAS });
	c(r.error === 'not_found', 'removing him again: not_found', JSON.stringify(r));
	r = await run((T, S, a) => T.threads.threadRemove(S, a.thread, a.user), { thread, user: ANNA });
	c(r.error === 'bad_chain', "removing oneself is refused by the chain's rules: bad_chain", JSON.stringify(r));
	r = await run((T, S, a) => T.threads.threadSend(S, a.thread, 'Efter Sofie gik'), { thread });
	c(r.ok && r.ok.seq === 7, '... and then writes again, sealed against the new version (seq 7)', JSON.stringify(r));
	s = sofie('thread', 'read', thread, '--json');
	c(s.rc !== 0 && !s.out.includes('Efter Sofie gik'), 'sofie (departed) reads nothing of it', show(s));

	// A server that takes a link back (here: sofie's leave) is refused by the device that saw it.
	const taken = db("SELECT kind, chain, seq, link_json, created_at FROM chain_links WHERE kind = 'thread' AND chain = ? AND seq = 5",
		[thread]);
	db("DELETE FROM chain_links WHERE kind = 'thread' AND chain = ? AND seq = 5", [thread]);
	r = await run((T, S, a) => T.threads.threadMembers(S, a.thread), { thread });
	c(taken.length === 1 && r.error === 'bad_chain' && /went backwards/.test(r.message),
		"with the last link deleted from varskod's database, the browser refuses the shorter chain (bad_chain)",
		JSON.stringify(r));
	r = await run((T, S, a) => T.threads.threadSend(S, a.thread, 'Til en kortere kæde?'), { thread });
	c(r.error === 'bad_chain', '... and seals nothing to it', JSON.stringify(r));
	if (taken.length === 1)
		db('INSERT INTO chain_links (kind, chain, seq, link_json, created_at) VALUES (?, ?, ?, ?, ?)', taken[0]);
	r = await run((T, S, a) => T.threads.threadMembers(S, a.thread), { thread });
	c(r.ok && r.ok.version === 5, '... and accepts it again when the link is back', JSON.stringify(r));

	c(log.errors.length === 0, 'no error in the page', log.errors.join('; '));
} catch (e) {
	if (e !== null) c(false, 'the scenario runs to the end', e && e.stack ? e.stack : String(e));
} finally {
	await ctx.close();
}
checks.done();
