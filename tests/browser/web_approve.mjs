// Browser scenario: a new device of laerer-anna approved from another of her
// devices (15.7), browser to browser and browser to the C CLI
// (test_web_approve.py says what it proves).
import { execFileSync, spawn } from 'node:child_process';
import { axe, Checks, close, enrollForm, env, failed, foreign, jsonLines, keepRecoveryCode, launch, shots, watch } from './lib.mjs';

const url = env('VARSKO_URL');
const dir = env('VARSKO_SHOTS');
const checks = new Checks();
const c = checks.ok.bind(checks);
const OFFER = /^Godkend d-/;

function cliEnv() {
	const e = { ...process.env, VARSKO_HOME: env('VARSKO_HOME_CLI'), HOME: env('VARSKO_TMP') };
	delete e.VARSKO_CA;
	return e;
}

/* `varsko ARGS --json` of Anna's CLI home: { rc, out, j }. */
function cliJson(...args) {
	let r;
	try {
		r = { rc: 0, out: execFileSync(env('VARSKO_CLI'), [...args, '--json'], { env: cliEnv(), encoding: 'utf8', timeout: 120000 }) };
	} catch (e) {
		r = { rc: e.status ?? 1, out: `${e.stdout || ''}${e.stderr || ''}` };
	}
	try {
		r.j = JSON.parse(r.out);
	} catch {
		r.j = null;
	}
	return r;
}

/* A CLI command in the background with its --json lines: .event(name) (null at exit), .exit. */
function cliProc(args) {
	const p = spawn(env('VARSKO_CLI'), args, { env: cliEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
	return jsonLines(p);
}

async function noAxe(page, what) {
	const v = await axe(page);
	c(v.length === 0, `axe-core finds no WCAG 2.1 AA violation on ${what}`, v.join('; '));
}

/* Mine enheder on page A: "Opdater listen" until a request may be offered; returns its button. */
async function requestShown(page) {
	for (let i = 0; i < 60; i++) {
		const b = page.getByRole('button', { name: OFFER });
		if (await b.count() === 1) return b;
		await page.locator('#approve-refresh').click();
		await page.getByRole('heading', { level: 1, name: 'Mine enheder' }).waitFor();
		await page.waitForTimeout(500);
	}
	throw new Error('no approval request showed on Mine enheder');
}

const rows = (page) => page.locator('#devices tbody tr').count();

const ctxA = await launch(env('VARSKO_SPKI'));
const ctxB = await launch(env('VARSKO_SPKI'));
const logA = watch(ctxA);
const logB = watch(ctxB);
let cliReq = null;
try {
	// (a) Browser A: her first device.
	const a = ctxA.pages()[0] || await ctxA.newPage();
	a.on('dialog', (d) => d.accept());
	await a.goto(url);
	await enrollForm(a, env('VARSKO_ANNA_CODE'), env('VARSKO_FPR'));
	await keepRecoveryCode(a);
	await a.getByRole('link', { name: 'Mig' }).waitFor({ timeout: 60000 });

	// (b) Browser B: enrolled, not yet hers; she asks to be approved from another device.
	const b = ctxB.pages()[0] || await ctxB.newPage();
	await b.goto(url);
	await enrollForm(b, env('VARSKO_ANNA_CODE2'), env('VARSKO_FPR'));
	await b.getByRole('heading', { level: 1, name: 'Godkend denne browser' }).waitFor({ timeout: 60000 });
	c(await b.getByText('kommer i en senere udgave').count() === 0, 'the "later release" notice is gone from Godkend denne browser');
	await noAxe(b, 'Godkend denne browser');
	await shots(b, dir, 'godkend-browser', checks);
	await b.getByRole('button', { name: 'Godkend fra en anden enhed' }).click();
	await b.getByText('Venter på den anden enhed').waitFor({ timeout: 30000 });
	c(await b.locator('[aria-live="polite"] #approve-status').count() === 1, 'the approval status is in a live region');
	await noAxe(b, 'Godkend denne browser, waiting for the other device');
	await shots(b, dir, 'godkend-venter', checks);

	// A: Mig → Mine enheder shows her one device and B's request.
	await a.getByRole('link', { name: 'Mig' }).click();
	await a.getByRole('link', { name: 'Mine enheder' }).click();
	await a.getByRole('heading', { level: 1, name: 'Mine enheder' }).waitFor({ timeout: 30000 });
	c(await rows(a) === 1, 'Mine enheder lists one device (this one)');
	let offer = await requestShown(a);
	await noAxe(a, 'Mine enheder with a request');
	await shots(a, dir, 'mine-enheder', checks);
	await offer.click();
	await a.getByLabel('Koden, som den nye enhed viser').waitFor({ timeout: 60000 });
	await b.locator('#approval-code').waitFor({ timeout: 30000 });
	let code = (await b.locator('#approval-code').innerText()).trim();
	c(/^\d{3} \d{3}$/.test(code), `B shows the six-digit code grouped as the CLI does (${code})`);
	c(/Godkendelseskode: \d{3} \d{3}/.test(await b.locator('main').innerText()), 'B says "Godkendelseskode: 123 456"');
	await noAxe(b, 'Godkend denne browser with the code');
	await shots(b, dir, 'godkend-kode', checks);
	await noAxe(a, 'Mine enheder, the code form');
	await shots(a, dir, 'kode-form', checks);

	// A wrong code: refused in Danish, nothing approved.
	const wrong = code.slice(0, 6) + String((Number(code[6]) + 1) % 10);
	await a.getByLabel('Koden, som den nye enhed viser').fill(wrong);
	await a.getByRole('button', { name: 'Godkend', exact: true }).click();
	await a.getByText('Koden passer ikke. Intet er godkendt.').waitFor({ timeout: 30000 });
	c(true, 'a wrong code is refused in Danish on A ("Koden passer ikke. Intet er godkendt.")');
	await noAxe(a, 'Mine enheder after a wrong code');
	await shots(a, dir, 'forkert-kode', checks);
	await a.locator('#approve-refresh').click();
	await a.getByRole('heading', { level: 1, name: 'Mine enheder' }).waitFor();
	await a.waitForTimeout(1500);
	c(await rows(a) === 1 && await b.getByRole('heading', { level: 1, name: 'Godkend denne browser' }).count() === 1,
		'after the wrong code nothing is approved: A lists one device, B still waits');

	// B asks again; A types the right code.
	await b.getByRole('button', { name: 'Prøv igen' }).click();
	await b.locator('#approval-code').waitFor({ state: 'detached', timeout: 10000 });
	offer = await requestShown(a);
	await offer.click();
	await a.getByLabel('Koden, som den nye enhed viser').waitFor({ timeout: 60000 });
	await b.locator('#approval-code').waitFor({ timeout: 30000 });
	const code2 = (await b.locator('#approval-code').innerText()).trim();
	c(/^\d{3} \d{3}$/.test(code2), `after "Prøv igen" B shows a new code (${code2})`);
	code = code2;
	await a.getByLabel('Koden, som den nye enhed viser').fill(code);
	await a.getByRole('button', { name: 'Godkend', exact: true }).click();
	await a.getByText(/er nu godkendt som din/).waitFor({ timeout: 60000 });
	c(await rows(a) === 2, 'with the right code A lists two devices');
	await noAxe(a, 'Mine enheder after an approval');
	await shots(a, dir, 'enhed-godkendt', checks);
	await b.getByText('Browseren er nu godkendt som din enhed.').waitFor({ timeout: 60000 });
	await b.getByRole('heading', { level: 1, name: /^Velkommen/ }).waitFor({ timeout: 10000 });
	c(true, 'B continues to the home page, approved');
	await noAxe(b, 'the home page after the approval');
	await shots(b, dir, 'godkendt', checks);
	await b.getByRole('link', { name: 'Mine underretninger' }).click();
	await b.getByRole('heading', { level: 1, name: 'Mine underretninger' }).waitFor({ timeout: 30000 });
	c(await b.locator('main .alert-error').count() === 0, 'on B her list of underretninger loads without an error');

	// (c) A CLI device of Anna, approved from A's Mine enheder.
	let v = cliJson('enroll', '--server', env('VARSKO_WS'), '--code', env('VARSKO_ANNA_CODE3'), '--ca', env('VARSKO_CAFILE'),
		'--fingerprint', env('VARSKO_FPR'));
	c(v.rc === 0 && v.j && v.j.user_key_state === 'not_cross_signed', 'a CLI device of Anna enrolls, not yet hers', v.out.slice(0, 600));
	cliReq = cliProc(['device', 'request', '--json', '--timeout', '120']);
	const requested = await cliReq.event('requested');
	c(requested && /^a-[0-9a-f]{16}$/.test(requested.approval || ''), 'varsko device request asks for approval');
	await a.getByRole('link', { name: 'Mig' }).click();
	await a.getByRole('link', { name: 'Mine enheder' }).click();
	await a.getByRole('heading', { level: 1, name: 'Mine enheder' }).waitFor({ timeout: 30000 });
	offer = await requestShown(a);
	await offer.click();
	await a.getByLabel('Koden, som den nye enhed viser').waitFor({ timeout: 60000 });
	const cliCode = await cliReq.event('code');
	c(cliCode && /^\d{6}$/.test(cliCode.code || ''), 'the CLI shows its six-digit code');
	await a.getByLabel('Koden, som den nye enhed viser').fill(cliCode ? `${cliCode.code.slice(0, 3)} ${cliCode.code.slice(3)}` : '');
	await a.getByRole('button', { name: 'Godkend', exact: true }).click();
	await a.getByText(/er nu godkendt som din/).waitFor({ timeout: 60000 });
	c(await rows(a) === 3, 'A lists three devices');
	const done = await cliReq.exit;
	cliReq = null;
	c(done.rc === 0, 'varsko device request ends approved (exit 0)', done.out.slice(-600));
	v = cliJson('whoami');
	const uk = (v.j && v.j.user_key) || {};
	c(v.rc === 0 && uk.state === 'ok' && uk.holds_user_key === true, 'varsko whoami: the CLI device holds the user key', v.out.slice(0, 600));

	for (const [name, log] of [['A', logA], ['B', logB]]) {
		const f = foreign(log, url);
		c(f.length === 0, `browser ${name}: no request to any host but varskod`, f.join(' '));
		c(log.errors.length === 0, `browser ${name}: no script error, CSP or Trusted Types violation`, log.errors.join(' | '));
	}
} catch (e) {
	c(false, 'the scenario ran to its end', e && e.stack ? e.stack.split('\n').slice(0, 4).join(' ') : String(e));
	await failed(ctxA, dir);
	await failed(ctxB, dir);
	console.log(`page errors: A ${logA.errors.join(' | ')} B ${logB.errors.join(' | ')}`);
} finally {
	if (cliReq) cliReq.kill();
	await close(ctxA);
	await close(ctxB);
}
checks.done();
