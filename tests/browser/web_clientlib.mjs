// Browser scenario for the client library (clients/web/src/client/) against
// the C client, started by test_web_clientlib.py (which documents it). The
// page is test.html of the test's web root; every step is one
// page.evaluate of window.varskoTest (clientlib-entry.js); the C CLI runs
// here too (VARSKO_CLI with a user's VARSKO_HOME) so the order is one line.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Checks, close, env, foreign, jsonLines, launch, watch } from './lib.mjs';

const url = env('VARSKO_URL');
const checks = new Checks();
const c = checks.ok.bind(checks);
const PASS = 'korrekt hest batteri hæfteklamme';
const CODE_RE = /^(?:[A-Z2-7]{5}-){5}[A-Z2-7]$/;
const KVITTERING = 'Tak for din underretning. Vi har modtaget den og vurderer den inden for 24 timer.';
const KVITTERING2 = 'Modtaget i browseren – vi vender tilbage.';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/* `varsko ARGS` as the user of home: { rc, out }. */
function cli(home, ...args) {
	try {
		const e = { ...process.env, VARSKO_HOME: home, HOME: env('VARSKO_CLI_HOME') };
		delete e.VARSKO_CA;
		const out = execFileSync(env('VARSKO_CLI'), args, { env: e, encoding: 'utf8', timeout: 120000 });
		return { rc: 0, out };
	} catch (e) {
		return { rc: e.status ?? 1, out: `${e.stdout || ''}${e.stderr || ''}` };
	}
}

function cliJson(home, ...args) {
	const r = cli(home, ...args, '--json');
	try {
		r.j = JSON.parse(r.out);
	} catch {
		r.j = null;
	}
	return r;
}

/* A CLI command running with its --json lines: .event(name) (a promise of the first such line, null at exit), .write(text), .exit. */
function cliProc(home, args) {
	const e = { ...process.env, VARSKO_HOME: home, HOME: env('VARSKO_CLI_HOME') };
	delete e.VARSKO_CA;
	const p = spawn(env('VARSKO_CLI'), args, { env: e, stdio: ['pipe', 'pipe', 'pipe'] });
	return jsonLines(p);
}

/* `varsko device request --json` running: { approval } at once, then .code and .exit (promises). */
function cliRequest(home) {
	const pr = cliProc(home, ['device', 'request', '--json', '--timeout', '120']);
	return pr.event('requested').then((ev) => ({ approval: ev && ev.approval, code: pr.event('code').then((x) => x && x.code),
		exit: pr.exit }));
}

async function open(ctx) {
	const page = ctx.pages()[0] || await ctx.newPage();
	await page.goto(`${url}test.html`);
	await page.waitForFunction(() => window.varskoTest !== undefined, null, { timeout: 20000 });
	await page.evaluate(() => window.varskoTest.ready());
	return page;
}

const call = (page, fn, ...args) => page.evaluate(([f, a]) => window.varskoTest.call(f, ...a), [fn, args]);
const show = (r) => JSON.stringify(r).slice(0, 600);

async function waitFile(p, ms) {
	for (let t = 0; t < ms; t += 250) {
		if (existsSync(p)) return true;
		await sleep(250);
	}
	return false;
}

const doc1 = readFileSync(env('VARSKO_DOC1'), 'utf8');
const doc2 = readFileSync(env('VARSKO_DOC2'), 'utf8');
const homeKaren = env('VARSKO_HOME_KAREN');
const homeLene = env('VARSKO_HOME_LENE');
let ctx = await launch(env('VARSKO_SPKI'));
let ctx2 = null;
let ctx3 = null;
let ctx4 = null;
let ctx5 = null;
const log = watch(ctx);
try {
	const page = await open(ctx);
	page.on('dialog', (d) => d.accept());

	// 1. laerer-anna enrolls this browser and logs in; the org chain vouches for the enrollment key.
	const who = await page.evaluate((a) => window.varskoTest.enrollLogin(a),
		{ code: env('VARSKO_ANNA_CODE'), fpr: env('VARSKO_FPR'), label: 'Browser', passphrase: PASS });
	c(who.user === 'laerer-anna' && who.role === 'fagperson', 'laerer-anna enrolls the browser (enroll.js) and logs in', show(who));
	let r = await call(page, 'team.orgFirstCheck');
	c(r.ok, 'the org chain verifies from the pinned root and lists the enrollment key (16.2)', show(r));

	// 2. Her user key: the first device makes it, with a recovery code in the C's format.
	r = await call(page, 'userkey.userSetup');
	c(r.ok && r.value.created === true && CODE_RE.test(r.value.recoveryCode || ''),
		'userSetup makes the user key and shows a recovery code like XXXXX-XXXXX-XXXXX-XXXXX-XXXXX-X', show(r));
	r = await call(page, 'userkey.userSetup');
	c(r.ok && r.value.created === false && r.value.recoveryCode === null, 'userSetup again: nothing left to do, no new code', show(r));
	r = await call(page, 'userkey.userDevices');
	c(r.ok && r.value.state === 'ok' && r.value.generation === '1' && r.value.devices.length === 1 && r.value.devices[0].keyBox,
		'userDevices: generation 1, this device holds the key and has its box', show(r));
	r = await call(page, 'userkey.deviceRecover', 'not-a-code');
	c(!r.ok && r.code === 'bad_input', 'deviceRecover refuses a mistyped code before a try is spent (bad_input)', show(r));

	// 3. The demo underretning (without attachments): sealed to the team key and her own user key.
	r = await call(page, 'submit.submit', doc1);
	const ref = r.ok ? r.value.info.reference : null;
	c(r.ok && /^U-\d{4}-\d{6}$/.test(ref || '') && r.value.info.team === env('VARSKO_TEAM') && r.value.teamKey === true &&
		r.value.info.duplicate === false, 'submit: receipt verified, routed to team-slagelse, sealed to its team key', show(r));
	const sub = await page.evaluate(([d]) => window.varskoTest.modules.submit.submissionId('laerer-anna', d), [doc1]);
	c(r.ok && r.value.info.submission === sub, 'the submission id is submissionId(user, document)', `${sub} ${show(r)}`);
	const again = await call(page, 'submit.submit', doc1);
	c(again.ok && again.value.info.duplicate === true && again.value.info.reference === ref,
		'a resend of the same document gets the same receipt (duplicate)', show(again));
	const wrong = await call(page, 'submit.submit', doc1.replace('inst-nordskovskolen', 'inst-noorskolen'));
	c(!wrong.ok && wrong.code === 'forbidden', 'a document of another institution is refused (forbidden)', show(wrong));
	const broken = await call(page, 'submit.submit', doc1.replace('"akut": false,', ''));
	c(!broken.ok && broken.code === 'bad_frame' && /akut/.test(broken.message), 'a document without akut is refused as uh_parse does (bad_frame at akut), nothing sent', show(broken));

	// 4. The receipt file verifies with the C CLI.
	const file = await page.evaluate((x) => window.varskoTest.receiptFile(x), ref);
	const fpath = path.join(env('VARSKO_OUT'), `${ref}.json`);
	writeFileSync(fpath, file || '');
	let v = cliJson(homeKaren, 'receipt', 'verify', fpath);
	c(v.rc === 0 && v.j && v.j.ok === true && v.j.reference === ref, '`varsko receipt verify` accepts the receipt file from the browser', v.out);
	const forged = (file || '').replace(/"team":"[^"]*"/, '"team":"team-ung"');
	writeFileSync(`${fpath}.forged`, forged);
	v = cli(homeKaren, 'receipt', 'verify', `${fpath}.forged`);
	c(v.rc !== 0, '... and refuses it with the team changed', v.out);
	const bv = await page.evaluate((t) => window.varskoTest.verifyReceiptText(t), forged);
	c(!bv.ok && bv.code === 'bad_signature', 'the browser refuses the changed receipt too (bad_signature)', show(bv));

	// 5. The agent files it; the C CLI opens the same document and sends a kvittering.
	const filed = await waitFile(path.join(env('VARSKO_CASES'), `${ref}.json`), 60000);
	c(filed, 'the team-slagelse agent files the browser\'s underretning', ref);
	v = cliJson(homeLene, 'myndighed', 'show', ref);
	c(v.rc === 0 && v.j && JSON.stringify(v.j.document) === JSON.stringify(JSON.parse(doc1)),
		'myndighed-lene\'s CLI opens it: the document is the one the browser sent', v.out.slice(0, 400));
	v = cli(homeLene, 'myndighed', 'kvitter', ref, '--besked', KVITTERING);
	c(v.rc === 0, 'myndighed-lene\'s CLI sends a kvittering', v.out);

	// 6. The browser's verified timeline opens the kvittering with the user key.
	r = await call(page, 'status.status', ref);
	const steps = r.ok ? r.value.steps.map((s) => s.step) : [];
	const kv = r.ok ? r.value.steps.find((s) => s.step === 'kvitteret') : null;
	c(r.ok && steps[0] === 'sendt' && steps.includes('aabnet') && steps.includes('journaliseret'),
		'status(): the verified timeline (sendt, ..., journaliseret, aabnet, kvitteret)', show(steps));
	c(kv && kv.message === KVITTERING, 'status(): the kvittering is opened with the user key', show(kv));
	r = await call(page, 'status.mine');
	c(r.ok && JSON.stringify(r.value).includes(ref), 'mine() lists the underretning', show(r));

	// A server that takes a chain back is refused: the pins as if this device had seen more (then restored).
	for (const [name, fn, args] of [['chain_seen', 'userkey.userKeyCurrent', []],
		[`team_seen:${env('VARSKO_TEAM')}`, 'teamkey.teamKeyForSender', [env('VARSKO_TEAM')]], ['org_seen', 'team.orgFetch', []]]) {
		const saved = await page.evaluate((n) => window.varskoTest.pinGet(n), name);
		const ahead = { seq: String(Number(saved ? saved.seq : '1') + 5), hash: '00'.repeat(32) };
		const changed = { seq: saved ? saved.seq : '1', hash: 'ab'.repeat(32) };
		await page.evaluate(([n, x]) => window.varskoTest.pinPut(n, x), [name, ahead]);
		const back = await call(page, fn, ...args);
		await page.evaluate(([n, x]) => window.varskoTest.pinPut(n, x), [name, changed]);
		const forked = await call(page, fn, ...args);
		await page.evaluate(([n, x]) => window.varskoTest.pinPut(n, x), [name, saved]);
		const again2 = await call(page, fn, ...args);
		c(saved && !back.ok && back.code === 'bad_chain' && !forked.ok && forked.code === 'bad_chain' && again2.ok,
			`${fn}: a chain shorter than, or another than, the one this device saw (${name}) is refused (bad_chain)`,
			show([saved, back, forked, again2]));
	}

	// 7. A second device of laerer-anna with the C CLI, approved from the browser (15.7); it reads her own copy.
	const homeAnna2 = env('VARSKO_HOME_ANNA2');
	v = cliJson(homeAnna2, 'enroll', '--server', env('VARSKO_WS'), '--code', env('VARSKO_ANNA_CODE2'), '--ca', env('VARSKO_CAFILE'),
		'--fingerprint', env('VARSKO_FPR'));
	c(v.rc === 0 && v.j && v.j.user_key_state === 'not_cross_signed', 'a CLI device of laerer-anna enrolls, not cross-signed', v.out);
	const dev2 = JSON.parse(readFileSync(path.join(homeAnna2, 'device.cert'), 'utf8')).device;
	const req = await cliRequest(homeAnna2);
	c(/^a-[0-9a-f]{16}$/.test(req.approval || ''), 'varsko device request: an approval id', show(req));
	r = await call(page, 'approve.approvalList');
	c(r.ok && r.value.items.some((it) => it.approval === req.approval && it.device === dev2 && it.certOk),
		'approvalList(): the CLI device\'s request, its certificate checked', show(r));
	const offered = await page.evaluate(([id]) => window.varskoTest.offer(id, 60000), [req.approval]);
	c(offered.ok && offered.device === dev2, 'approvalOffer(): the CLI revealed and its nonce opens its commitment', show(offered));
	const code6 = await req.code;
	c(/^\d{6}$/.test(code6 || ''), 'the CLI device shows a six-digit code', String(code6));
	const bad = await page.evaluate(() => window.varskoTest.confirm('12345'));
	c(!bad.ok && bad.code === 'bad_input', 'approvalConfirm(): five digits are refused before any comparison (bad_input)', show(bad));
	const good = await page.evaluate((x) => window.varskoTest.confirm(x), code6);
	c(good.ok, 'approvalConfirm() with the CLI\'s code: the CLI device becomes anna\'s (device_add, key box)', show(good));
	const done = await req.exit;
	c(done.rc === 0, 'varsko device request ends approved (exit 0)', done.out.slice(-600));
	v = cliJson(homeAnna2, 'underret', 'show', ref);
	c(v.rc === 0 && v.j && JSON.stringify(v.j.document) === JSON.stringify(JSON.parse(doc1)),
		'the approved CLI device opens the browser\'s own copy (the user key box) with `varsko underret show`', v.out.slice(0, 400));
	r = await call(page, 'userkey.deviceRevoke', dev2);
	c(r.ok && CODE_RE.test(r.value || ''), 'deviceRevoke(): the CLI device revoked, the user key rotated, a new recovery code', show(r));
	r = await call(page, 'userkey.userDevices');
	c(r.ok && r.value.generation === '2' && r.value.state === 'ok' && r.value.devices.some((d) => d.device === dev2 && d.revoked),
		'userDevices(): generation 2, the CLI device revoked', show(r));
	r = await call(page, 'status.status', ref);
	const kv2 = r.ok ? r.value.steps.find((s) => s.step === 'kvitteret') : null;
	c(kv2 && kv2.message === KVITTERING, 'status(): the kvittering sealed to generation 1 still opens (walked back from 2)', show(r).slice(0, 300));
	v = cli(homeAnna2, 'underret', 'show', ref);
	c(v.rc !== 0, 'the revoked CLI device can no longer read it', v.out.slice(0, 300));

	// 8. The C CLI sends; a second browser, a new device of myndighed-lene, opens it with the team key.
	v = cliJson(homeKaren, 'underret', 'send', env('VARSKO_DOC2'));
	const ref2 = v.j && v.j.reference;
	c(v.rc === 0 && /^U-/.test(ref2 || ''), 'skoleleder-karen\'s CLI sends an underretning to team-slagelse', v.out);
	const sub2 = await page.evaluate(([d]) => window.varskoTest.modules.submit.submissionId('skoleleder-karen', d), [doc2]);
	c(v.j && v.j.submission === sub2, 'submissionId() gives the C\'s varsko_submission_id for the same user and document', `${sub2} ${v.out.slice(0, 300)}`);
	ctx2 = await launch(env('VARSKO_SPKI'));
	watch(ctx2);
	const p2 = await open(ctx2);
	const who2 = await p2.evaluate((a) => window.varskoTest.enrollLogin(a),
		{ code: env('VARSKO_LENE_CODE'), fpr: env('VARSKO_FPR'), label: 'Browser', passphrase: PASS });
	c(who2.user === 'myndighed-lene' && who2.role === 'myndighed', 'myndighed-lene enrolls a second browser', show(who2));
	r = await call(p2, 'userkey.userSetup');
	c(!r.ok && r.code === 'not_cross_signed', 'userSetup on her new device: not cross-signed (another device holds the key)', show(r));
	r = await call(p2, 'caseworker.underretningOpen', ref2);
	c(!r.ok && r.code === 'not_cross_signed', 'before recovery the team key does not open for it (not_cross_signed)', show(r));
	r = await call(p2, 'userkey.deviceRecover', env('VARSKO_LENE_RECOVERY'));
	c(r.ok, 'deviceRecover with her recovery code makes the browser one of her devices', show(r));
	r = await call(p2, 'userkey.deviceRecover', env('VARSKO_LENE_RECOVERY'));
	c(!r.ok && r.code === 'exists', 'deviceRecover again: exists', show(r));
	r = await call(p2, 'teamkey.teamKeyForSender', env('VARSKO_TEAM'));
	c(r.ok && r.value.hasKey === true && /^team:team-slagelse:\d+$/.test(r.value.keyId), 'the team chain verifies (16.4) and the team key fits', show(r));
	r = await call(p2, 'caseworker.inbox');
	c(r.ok && JSON.stringify(r.value).includes(ref2), 'inbox() lists karen\'s underretning', show(r));
	r = await call(p2, 'caseworker.openUnderretning', ref2);
	c(r.ok && r.value.document === JSON.stringify(JSON.parse(doc2)) && typeof r.value.openedSeq === 'string',
		'openUnderretning(): the browser opens the CLI\'s document with the team key, the same document, and sends aabnet', show(r));
	const saved2 = readFileSync(path.join(homeKaren, 'receipts', `${ref2}.json`), 'utf8');
	c(r.ok && `${r.value.receiptJson}\n` === saved2, 'the receipt in the browser\'s form is byte for byte the file the CLI saved', `${r.ok && r.value.receiptJson} | ${saved2}`);
	r = await call(p2, 'caseworker.event', ref2, 'vurdering', { akut: false });
	c(r.ok, 'event vurdering (akut: no)', show(r));
	r = await call(p2, 'caseworker.event', ref2, 'kvittering', { message: KVITTERING2 });
	c(r.ok, 'event kvittering sealed to the notifier\'s user key', show(r));
	r = await call(p2, 'caseworker.event', ref2, 'kvittering', {});
	c(!r.ok && r.code === 'bad_input', 'a kvittering without a message is refused (bad_input)', show(r));
	v = cliJson(homeKaren, 'underret', 'status', ref2);
	c(v.rc === 0 && v.out.includes(KVITTERING2) && v.out.includes('aabnet') && v.out.includes('vurderet'),
		'skoleleder-karen\'s CLI verifies the browser\'s events and reads its kvittering', v.out.slice(0, 800));
	r = await call(p2, 'status.status', ref2);
	c(r.ok && r.value.steps.some((s) => s.step === 'kvitteret'), 'status() on the caseworker side verifies the timeline', show(r));

	// 9. myndighed-lene's browser revokes her CLI device: her user key rotates, the team key no longer fits
	// (16.6, stale) until the agent renews it; a sender waits for that, the reader walks the team key back.
	const leneCli = JSON.parse(readFileSync(path.join(homeLene, 'device.cert'), 'utf8')).device;
	r = await call(p2, 'userkey.deviceRevoke', leneCli);
	c(r.ok && CODE_RE.test(r.value || ''), 'myndighed-lene\'s browser revokes her CLI device: her user key is now generation 2', show(r));
	const stale = await call(page, 'teamkey.teamKeyForSender', env('VARSKO_TEAM'));
	console.log(`team key right after the rotation: ${show(stale)}`);
	const doc3 = doc1.replace('FIKTIVT EKSEMPEL.', 'FIKTIVT EKSEMPEL 3.');
	r = await call(page, 'submit.submit', doc3);
	const ref3 = r.ok ? r.value.info.reference : null;
	c(r.ok && r.value.teamKey === true && ref3 !== ref, 'submit after the rotation: sealed to the renewed team key (waiting while it was stale)', show(r));
	r = await call(page, 'teamkey.teamKeyForSender', env('VARSKO_TEAM'));
	c(r.ok && r.value.keyId === `team:${env('VARSKO_TEAM')}:2`, 'the team key is at generation 2 and fits the members again', show(r));
	r = await call(p2, 'caseworker.underretningOpen', ref3);
	c(r.ok && r.value.document === JSON.stringify(JSON.parse(doc3)), 'myndighed-lene\'s browser opens it with team key generation 2 (her user key 2)', show(r));
	r = await call(p2, 'caseworker.underretningOpen', ref2);
	c(r.ok && r.value.document === JSON.stringify(JSON.parse(doc2)), '... and the earlier one, sealed to team key generation 1, by the walk back', show(r));

	// 10. The other events: tilbagemelding and afslutning on karen's, omdirigering of anna's third.
	const TILBAGE = 'Vi har iværksat en børnefaglig undersøgelse.';
	r = await call(p2, 'caseworker.event', ref2, 'tilbagemelding', { started: true, message: TILBAGE });
	c(r.ok, 'event tilbagemelding (started, with a message for the notifier)', show(r));
	r = await call(p2, 'caseworker.event', ref2, 'afslutning');
	c(r.ok, 'event afslutning', show(r));
	v = cliJson(homeKaren, 'underret', 'status', ref2);
	c(v.rc === 0 && v.out.includes(TILBAGE) && v.out.includes('afsluttet'), 'karen\'s CLI verifies them and reads the tilbagemelding', v.out.slice(0, 600));
	r = await call(p2, 'caseworker.event', ref3, 'omdirigering', { team: 'team-korsoer-skaelskoer' });
	c(r.ok, 'event omdirigering: the same document re-sealed for team-korsoer-skaelskoer\'s verified team key', show(r));
	r = await call(page, 'status.status', ref3);
	const om = r.ok ? r.value.steps.find((x) => x.step === 'omdirigeret') : null;
	c(om && om.newTeam === 'team-korsoer-skaelskoer', 'anna\'s status() verifies the re-routing', show(r).slice(0, 400));
	v = cliJson(env('VARSKO_HOME_PETER'), 'myndighed', 'show', ref3);
	c(v.rc === 0 && v.j && JSON.stringify(v.j.document) === JSON.stringify(JSON.parse(doc3)),
		'myndighed-peter\'s CLI (team-korsoer-skaelskoer) opens the browser\'s re-sealed envelope: the same document', v.out.slice(0, 400));
	r = await call(p2, 'caseworker.event', ref3, 'vurdering', { akut: true });
	c(!r.ok, 'team-slagelse can no longer act on it after the re-routing', show(r));

	// 11. A third browser: a recovered device of the leder; the team chain and key from the browser.
	const T = env('VARSKO_TEAM');
	ctx3 = await launch(env('VARSKO_SPKI'));
	watch(ctx3);
	const p3 = await open(ctx3);
	const who3 = await p3.evaluate((a) => window.varskoTest.enrollLogin(a),
		{ code: env('VARSKO_LEDER_CODE'), fpr: env('VARSKO_FPR'), label: 'Browser', passphrase: PASS });
	r = await call(p3, 'userkey.deviceRecover', env('VARSKO_LEDER_RECOVERY'));
	c(who3.user === 'leder-thomas' && r.ok, 'leder-thomas recovers a browser with his recovery code', show([who3, r]));
	r = await call(p3, 'team.teamShow', T);
	const lm = r.ok ? r.value.members.find((m) => m.user === 'myndighed-lene') : null;
	c(r.ok && r.value.leder === true && lm && lm.ukGeneration === '1' && lm.currentGeneration === '2' &&
		r.value.keyGeneration === '2' && r.value.keyState === 'ok', 'teamShow(): he is leder; lene pinned at 1, current 2; key 2 ok', show(r));
	r = await call(p3, 'teamkey.teamKeyMaintain', T);
	c(r.ok && r.value.changed === 0, 'teamKeyMaintain(): nothing to do while the key fits', show(r));
	r = await call(p3, 'caseworker.overview');
	c(r.ok && JSON.stringify(r.value).includes(ref) && !JSON.stringify(r.value).includes(ref2), 'overview(): the leder\'s deadlines list anna\'s open underretning, not karen\'s closed one', show(r).slice(0, 300));
	r = await call(p3, 'userkey.deviceNotices');
	const r4 = await call(p3, 'userkey.deviceNotices');
	c(r.ok && r4.ok && r4.value.length === 0, 'deviceNotices(): nothing new the second time (the pin moved on)', show([r, r4]));
	r = await call(p2, 'team.teamLeder', T, 'myndighed-lene', true);
	c(!r.ok && r.code === 'not_member', 'myndighed-lene may not change the chain: the chain pins her user key 1, she signs with 2 (not_member, nothing sent)', show(r));
	r = await call(p3, 'team.teamAdd', T, 'skoleleder-karen');
	c(!r.ok && r.code === 'bad_input', 'a fagperson cannot be a team member (bad_input)', show(r));
	r = await call(p3, 'team.teamLeder', T, 'myndighed-lene', true);
	const r2 = await call(p3, 'team.teamLeder', T, 'myndighed-lene', false);
	c(r.ok && r2.ok, 'leder_add and leder_remove of myndighed-lene', show([r, r2]));
	r = await call(p3, 'team.teamRemove', T, 'myndighed-lene');
	c(r.ok, 'member_remove of myndighed-lene', show(r));
	r = await call(p3, 'teamkey.teamKeyMaintain', T);
	const r3 = await call(p3, 'team.teamShow', T);
	c(r.ok && r3.ok && r3.value.keyGeneration === '3' && r3.value.keyState === 'ok',
		'teamKeyMaintain(): a new generation without her (3)', show([r, r3]));
	r = await call(p2, 'teamkey.teamKeyForSender', T);
	c(r.ok && r.value.keyId === `team:${T}:3`, 'senders now seal to generation 3', show(r));
	r = await call(p2, 'teamkey.teamKeyOpen', T, 3);
	c(!r.ok && r.code === 'not_found', 'removed, myndighed-lene has no box in generation 3 (not_found)', show(r));
	r = await call(p3, 'team.teamAdd', T, 'myndighed-lene');
	c(r.ok, 'member_add of myndighed-lene again (her current user key 2 pinned)', show(r));
	r = await call(p3, 'teamkey.teamKeyMaintain', T);
	c(r.ok && r.value.generation === '3', 'teamKeyMaintain(): generation 3 with her box added (or the agent was faster)', show(r));
	r = await call(p2, 'teamkey.teamKeyOpen', T, 3);
	c(r.ok && r.value.generation === '3', 'back in the team, myndighed-lene opens team key generation 3', show(r).slice(0, 200));
	r = await call(p2, 'caseworker.underretningOpen', ref2);
	c(r.ok && r.value.document === JSON.stringify(JSON.parse(doc2)), 'and the generation 1 underretning, walking back from 3', show(r).slice(0, 300));

	// 12. Breaks: a setup cut off after its chain link completes from the sealed pending seeds;
	// a submission whose answer was lost gets the same receipt when sent again.
	ctx4 = await launch(env('VARSKO_SPKI'));
	watch(ctx4);
	const p4 = await open(ctx4);
	const who4 = await p4.evaluate((a) => window.varskoTest.enrollLogin(a),
		{ code: env('VARSKO_FREJA_CODE'), fpr: env('VARSKO_FPR'), label: 'Browser', passphrase: PASS });
	c(who4.user === 'laerer-freja', 'laerer-freja enrolls a browser', show(who4));
	await p4.evaluate(() => window.varskoTest.breakOnce('keys_put', 'before'));
	r = await call(p4, 'userkey.userSetup');
	c(!r.ok && r.code === 'closed', 'userSetup breaks off after the uk_create link (the key box set never sent)', show(r));
	r = await call(p4, 'userkey.userSetupPending');
	const raw = await p4.evaluate(() => window.varskoTest.rawPin('uk_pending'));
	c(r.ok && r.value === true && raw && Object.keys(raw).sort().join() === 'box,nonce' && !JSON.stringify(raw).includes('seeds'),
		'the seeds wait sealed under the local key (the stored record is only a nonce and a box)', show([r, raw]));
	r = await call(p4, 'userkey.userDevices');
	c(r.ok && r.value.state === 'incomplete' && r.value.setupPending === true, 'userDevices(): incomplete, setup pending', show(r));
	r = await call(p4, 'userkey.userSetup');
	c(r.ok && r.value.created === true && CODE_RE.test(r.value.recoveryCode || ''),
		'userSetup again completes it from the pending seeds: key box set, recovery box, the code', show(r));
	r = await call(p4, 'userkey.userDevices');
	c(r.ok && r.value.state === 'ok' && r.value.setupPending === false && r.value.generation === '1', 'userDevices(): ok, nothing pending', show(r));
	const doc4 = doc1.replace('inst-nordskovskolen', 'inst-noorskolen').replace('FIKTIVT EKSEMPEL.', 'FIKTIVT EKSEMPEL 4.');
	await p4.evaluate(() => window.varskoTest.breakOnce('submit', 'after'));
	r = await call(p4, 'submit.submit', doc4);
	c(!r.ok && r.code === 'closed', 'a submission whose answer is lost', show(r));
	r = await call(p4, 'submit.submit', doc4);
	const ref4 = r.ok ? r.value.info.reference : null;
	c(r.ok && r.value.info.duplicate === true && /^U-/.test(ref4 || ''), 'sent again: varskod knows it (duplicate) and the receipt verifies', show(r));
	r = await call(p4, 'status.mine');
	c(r.ok && (JSON.stringify(r.value).match(/U-\d{4}-\d{6}/g) || []).filter((x) => x === ref4).length >= 1 &&
		!JSON.stringify(r.value).includes(ref), 'mine() of laerer-freja: that one underretning, once', show(r));

	// 13. The other direction of 15.7: a browser device of skoleleder-karen approved by her CLI device.
	ctx5 = await launch(env('VARSKO_SPKI'));
	watch(ctx5);
	const p5 = await open(ctx5);
	const who5 = await p5.evaluate((a) => window.varskoTest.enrollLogin(a),
		{ code: env('VARSKO_KAREN_CODE'), fpr: env('VARSKO_FPR'), label: 'Browser', passphrase: PASS });
	c(who5.user === 'skoleleder-karen', 'skoleleder-karen enrolls a browser', show(who5));
	r = await call(p5, 'status.status', ref2);
	const closed = r.ok ? r.value.steps.find((x) => x.step === 'kvitteret') : null;
	c(closed && closed.message === null, 'before the approval her kvittering stays closed in this browser (the timeline still verifies)', show(closed));
	r = await p5.evaluate(() => window.varskoTest.request());
	c(r.ok && /^a-[0-9a-f]{16}$/.test(r.id), 'approvalRequest(): the browser asks to be approved', show(r));
	const ap = cliProc(homeKaren, ['device', 'approve', '--json', '--timeout', '90']);
	const revealed = p5.evaluate(() => window.varskoTest.reveal(60000));
	const seen = await ap.event('revealed');
	const rv = await revealed;
	c(rv.ok && /^\d{6}$/.test(rv.code) && seen && seen.device === who5.device,
		'approvalReveal(): the CLI offered, the browser revealed and shows a six-digit code', show([rv, seen]));
	ap.write(`${rv.code}\n`);
	const waited = await p5.evaluate(() => window.varskoTest.wait(60000));
	const apDone = await ap.exit;
	c(waited.ok && apDone.rc === 0, 'the CLI (`varsko device approve`) accepts the code; approvalWait() sees this browser approved', show([waited, apDone.out.slice(-300)]));
	r = await call(p5, 'status.status', ref2);
	const opened = r.ok ? r.value.steps.find((x) => x.step === 'kvitteret') : null;
	c(opened && opened.message === KVITTERING2, 'now the browser opens her kvittering with the user key', show(opened));

	const f = foreign(log, url);
	c(f.length === 0, 'no request goes to any host but varskod', f.join(' '));
	c(log.errors.length === 0, 'no page error', log.errors.join(' | '));
} catch (e) {
	c(false, 'the scenario runs to its end', e.stack);
} finally {
	if (ctx5) await close(ctx5);
	if (ctx4) await close(ctx4);
	if (ctx3) await close(ctx3);
	if (ctx2) await close(ctx2);
	await close(ctx);
}
checks.done();
