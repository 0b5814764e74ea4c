// Browser scenario: unlock and show an inbox of VARSKO_COUNT underretninger;
// the time is printed, never asserted (test_web_inbox.py).
import { axe, Checks, close, enrollForm, env, foreign, keepRecoveryCode, launch, PASSPHRASE, shots, watch } from './lib.mjs';

const url = env('VARSKO_URL');
const dir = env('VARSKO_SHOTS');
const count = Number(env('VARSKO_COUNT'));
const checks = new Checks();
const c = checks.ok.bind(checks);

const ctx = await launch(env('VARSKO_SPKI'));
const log = watch(ctx);
try {
	const page = ctx.pages()[0] || await ctx.newPage();
	await page.goto(url);
	await enrollForm(page, env('VARSKO_CODE'), env('VARSKO_FPR'));
	await keepRecoveryCode(page);
	await page.getByRole('link', { name: 'Indbakke' }).click();
	await page.getByRole('heading', { level: 1, name: 'Indbakke' }).waitFor({ timeout: 30000 });
	await page.locator('#inbox tbody tr').nth(count - 1).waitFor({ timeout: 60000 });

	// Reload (locks), then time: passphrase → the inbox's last row.
	await page.reload();
	await page.getByLabel('Adgangssætning').fill(PASSPHRASE);
	const t0 = Date.now();
	await page.getByRole('button', { name: 'Lås op' }).click();
	await page.locator('#inbox tbody tr').nth(count - 1).waitFor({ timeout: 60000 });
	const ms = Date.now() - t0;
	console.log(`unlock and inbox of ${count}: ${ms} ms`);
	const rows = await page.locator('#inbox tbody tr').count();
	c(rows === count, `the inbox lists all ${count}`, String(rows));
	const dues = await page.locator('#inbox tbody tr td:nth-child(3)').allInnerTexts();
	c(dues.length === count, 'every row has its vurdering deadline');
	const v = await axe(page);
	c(v.length === 0, `axe-core finds no WCAG 2.1 AA violation on an inbox of ${count}`, v.join('; '));
	await shots(page, dir, 'indbakke', checks);
	const f = foreign(log, url);
	c(f.length === 0, 'no request to any host but varskod', f.join(' '));
	c(log.errors.length === 0, 'no script error, CSP or Trusted Types violation', log.errors.join(' | '));
} catch (e) {
	c(false, 'the scenario ran to its end', e && e.stack ? e.stack.split('\n').slice(0, 4).join(' ') : String(e));
} finally {
	await close(ctx);
}
checks.done();
