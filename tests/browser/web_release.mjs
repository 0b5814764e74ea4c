// Browser scenario: the service worker keeps the signed release and refuses
// an unsigned one (test_web_release.py says what it proves). Between steps
// it asks the test to change the served release ("step: NAME" on stdout,
// "done" on stdin).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { axe, Checks, close, enrollForm, env, failed, foreign, keepRecoveryCode, launch, PASSPHRASE, shots, watch } from './lib.mjs';

const url = env('VARSKO_URL');
const dir = env('VARSKO_SHOTS');
const root = env('VARSKO_WEB_ROOT');
const MARK = env('VARSKO_MARK');
const checks = new Checks();
const c = checks.ok.bind(checks);
const WARNING = 'Serveren tilbyder en ny udgave af Varsko, som ikke er underskrevet af kommunen. Du bruger fortsat den udgave, du har.';

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
async function step(name) {
	console.log(`step: ${name}`);
	const { value } = await lines.next();
	if (value !== 'done') throw new Error(`step ${name}: ${value}`);
}

/* The short hash of the served release.json (the one the footer shows). */
const served = () => createHash('sha256').update(readFileSync(path.join(root, 'release.json'))).digest('hex').slice(0, 12);
const footer = (page) => page.locator('#release').innerText();
async function footerShows(page, hash) {
	try {
		await page.waitForFunction((h) => (document.getElementById('release') || {}).textContent === `Udgave ${h}`, hash,
			{ timeout: 20000 });
		return true;
	} catch {
		return false;
	}
}
const controlled = (page) => page.evaluate(() => !!(navigator.serviceWorker && navigator.serviceWorker.controller));
const marked = (page) => page.evaluate((m) => window[m], MARK);

async function reloadToUnlock(page) {
	await page.reload();
	await page.getByRole('heading', { level: 1, name: 'Lås op' }).waitFor({ timeout: 30000 });
}

const ctx = await launch(env('VARSKO_SPKI'));
const log = watch(ctx);
let fresh = null;
try {
	const page = ctx.pages()[0] || await ctx.newPage();
	await page.goto(url);
	await enrollForm(page, env('VARSKO_ANNA_CODE'), env('VARSKO_FPR'));
	await keepRecoveryCode(page);
	await page.waitForFunction(() => navigator.serviceWorker && navigator.serviceWorker.controller, null, { timeout: 30000 });
	c(true, 'after enrollment the service worker controls the page');
	const first = served();
	c(await footerShows(page, first), `the footer shows the signed release's hash ${first}`, await footer(page));
	const pin = await page.evaluate(() => new Promise((resolve) => {
		const r = indexedDB.open('varsko', 1);
		r.onsuccess = () => {
			const g = r.result.transaction('kv').objectStore('kv').get('release');
			g.onsuccess = () => resolve(g.result || null);
		};
	}));
	c(pin && typeof pin.root_pk === 'string' && pin.root_pk.length === 44, 'the root public key is pinned in IndexedDB (vault key release)', JSON.stringify(pin));

	// An unsigned change: the page keeps the running release and says so.
	await step('unsigned');
	const changed = served();
	c(changed !== first, `the served release.json changed (${first} to ${changed})`);
	await reloadToUnlock(page);
	c(await controlled(page), 'after the reload the worker still controls the page');
	await page.getByText(WARNING).waitFor({ timeout: 20000 });
	c(true, 'the page says in Danish that the server offers an unsigned release and the old one runs');
	c(await page.getByText('Fortæl det til it-support').count() === 1, 'the warning says what to do: tell the it-support');
	c(await footerShows(page, first), `the footer still shows the running release ${first}`, await footer(page));
	c(await marked(page) === undefined, 'the changed script never ran (its global is absent)', String(await marked(page)));
	const v = await axe(page);
	c(v.length === 0, 'axe-core finds no WCAG 2.1 AA violation with the warning shown', v.join('; '));
	await shots(page, dir, 'udgave-afvist', checks);
	await reloadToUnlock(page);
	await page.getByText(WARNING).waitFor({ timeout: 20000 });
	c(await marked(page) === undefined && await footerShows(page, first), 'a second reload: still the old release, still the warning');

	// The same change signed with the root key: taken.
	await step('sign');
	await reloadToUnlock(page);
	c(await footerShows(page, changed), `the signed release is taken: the footer shows ${changed}`, await footer(page));
	c(await marked(page) === 1, 'the new release\'s script runs', String(await marked(page)));
	c(await page.getByText(WARNING).count() === 0, 'no warning for a signed release');
	await page.getByLabel('Adgangssætning').fill(PASSPHRASE);
	await page.getByRole('button', { name: 'Lås op' }).click();
	await page.getByRole('link', { name: 'Mig' }).first().waitFor({ timeout: 60000 });
	c(true, 'the new release unlocks and logs in');
	await shots(page, dir, 'ny-udgave', checks);

	// A first visit (no worker, not enrolled) to an unsigned release still works.
	await step('unsigned-again');
	const third = served();
	fresh = await launch(env('VARSKO_SPKI'));
	const flog = watch(fresh);
	const p2 = fresh.pages()[0] || await fresh.newPage();
	await p2.goto(url);
	await p2.getByRole('heading', { level: 1, name: 'Tilmeld denne browser' }).waitFor({ timeout: 30000 });
	c(!(await controlled(p2)), 'a first visit has no worker yet');
	c(await marked(p2) === 2 && await footerShows(p2, third), 'a first visit runs the served (unsigned) release: the worker protects only after enrollment');
	c(flog.errors.length === 0, 'no script error on the first visit', flog.errors.join(' | '));
	await close(fresh);
	fresh = null;

	const f = foreign(log, url);
	c(f.length === 0, 'no request to any host but varskod', f.join(' '));
	c(log.errors.length === 0, 'no script error, CSP or Trusted Types violation', log.errors.join(' | '));
} catch (e) {
	c(false, 'the scenario ran to its end', e && e.stack ? e.stack.split('\n').slice(0, 4).join(' ') : String(e));
	await failed(ctx, dir);
	console.log(`page errors: ${log.errors.join(' | ')}`);
} finally {
	if (fresh) await close(fresh);
	await close(ctx);
}
checks.done();
