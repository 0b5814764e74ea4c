// Browser scenario for the client library (clients/web/src/client/) against
// the C client, started by test_web_clientlib.py (which documents it). The
// page is test.html of the test's web root; every step is one
// page.evaluate of window.varskoTest (clientlib-entry.js); the C CLI runs
// here too (VARSKO_CLI with a user's VARSKO_HOME) so the order is one line.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Checks, close, env, foreign, launch, watch } from './lib.mjs';

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

	// 7. The C CLI sends; a second browser, a new device of myndighed-lene, opens it with the team key.
	v = cliJson(homeKaren, 'underret', 'send', env('VARSKO_DOC2'));
	const ref2 = v.j && v.j.reference;
	c(v.rc === 0 && /^U-/.test(ref2 || ''), 'skoleleder-karen\'s CLI sends an underretning to team-slagelse', v.out);
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

	const f = foreign(log, url);
	c(f.length === 0, 'no request goes to any host but varskod', f.join(' '));
	c(log.errors.length === 0, 'no page error', log.errors.join(' | '));
} catch (e) {
	c(false, 'the scenario runs to its end', e.stack);
} finally {
	if (ctx2) await close(ctx2);
	await close(ctx);
}
checks.done();
