// Shared by the browser suite's scenarios: Debian's Chromium (never a
// downloaded browser) through playwright-core, with the test server's
// certificate accepted by its public key only (--ignore-certificate-errors-
// spki-list), pages at a phone's and a desktop's width, axe-core, screenshots,
// the network log and the checks a scenario prints.
import { chromium } from 'playwright-core';
import AxeBuilder from '@axe-core/playwright';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const WIDTHS = { phone: 360, desktop: 1280 };

export function env(name) {
	const v = process.env[name];
	if (!v) {
		console.error(`${name} is not set (the browser suite is started by its Python test)`);
		process.exit(2);
	}
	return v;
}

/** Checks printed as "ok - …" / "not ok - …"; done() exits 1 when one failed. */
export class Checks {
	constructor() {
		this.failed = 0;
		this.passed = 0;
	}

	ok(cond, name, detail) {
		if (cond) {
			this.passed++;
			console.log(`ok - ${name}`);
		} else {
			this.failed++;
			console.log(`not ok - ${name}${detail ? `: ${detail}` : ''}`);
		}
		return cond;
	}

	done() {
		console.log(`browser checks: ${this.passed} passed, ${this.failed} failed`);
		process.exit(this.failed === 0 && this.passed > 0 ? 0 : 1);
	}
}

/** Launch Chromium with a fresh profile; accept only the server key whose SPKI hash is given. */
export async function launch(spki) {
	const profile = mkdtempSync(path.join(tmpdir(), 'varsko-chromium-'));
	const ctx = await chromium.launchPersistentContext(profile, {
		executablePath: process.env.VARSKO_CHROMIUM || '/usr/bin/chromium',
		headless: true,
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
			'--disable-component-update', '--disable-sync', '--no-first-run', `--ignore-certificate-errors-spki-list=${spki}`],
		viewport: { width: WIDTHS.desktop, height: 900 },
		locale: 'da-DK',
		timezoneId: 'Europe/Copenhagen',
	});
	ctx.varskoProfile = profile;
	return ctx;
}

export async function close(ctx) {
	const profile = ctx.varskoProfile;
	await ctx.close();
	rmSync(profile, { recursive: true, force: true });
}

/**
 * Every request of every page of ctx, for the "only varskod" check, and
 * every console error and page error (an exception in the page is a defect,
 * and a Trusted Types or CSP violation shows there).
 */
export function watch(ctx) {
	const log = { requests: [], errors: [] };
	const hook = (page) => {
		page.on('request', (r) => log.requests.push(r.url()));
		page.on('websocket', (ws) => log.requests.push(ws.url()));
		page.on('pageerror', (e) => log.errors.push(`pageerror: ${e.stack || e.message}`));
		page.on('response', (r) => {
			if (r.status() >= 400) log.errors.push(`HTTP ${r.status()}: ${r.url()}`);
		});
		page.on('console', (m) => {
			if (m.type() === 'error') log.errors.push(`console: ${m.text()}`);
		});
	};
	ctx.pages().forEach(hook);
	ctx.on('page', hook);
	return log;
}

/** Requests to anything but the server's own https and wss origin. */
export function foreign(log, base) {
	const u = new URL(base);
	return log.requests.filter((r) => {
		if (r.startsWith('data:') || r.startsWith('blob:')) return false;
		const x = new URL(r);
		return !((x.protocol === 'https:' || x.protocol === 'wss:') && x.host === u.host);
	});
}

/** axe-core's WCAG 2.1 A and AA rules on the page as it is now: the violations, summarised. */
export async function axe(page) {
	const r = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
	return r.violations.map((v) => `${v.id} (${v.nodes.length}): ${v.nodes.slice(0, 2).map((n) => n.target.join(' ')).join(', ')}`);
}

/** A full-page screenshot at the given width, listed in the output. */
export async function shots(page, dir, name, checks) {
	const size = page.viewportSize();
	for (const [label, width] of Object.entries(WIDTHS)) {
		await page.setViewportSize({ width, height: 900 });
		const file = path.join(dir, `${name}-${width}.png`);
		await page.screenshot({ path: file, fullPage: true });
		console.log(`screenshot: ${file}`);
		const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
		checks.ok(overflow <= 0, `${name} fits a ${label} screen (${width} px) without sideways scrolling`, `${overflow} px too wide`);
	}
	await page.setViewportSize(size);
}

/** After a failed step: a screenshot of every open page and its main text, for the person reading the log. */
export async function failed(ctx, dir) {
	let n = 0;
	for (const page of ctx.pages()) {
		const file = path.join(dir, `failed-${n++}.png`);
		try {
			await page.screenshot({ path: file, fullPage: true });
			console.log(`screenshot: ${file}`);
			console.log(`page text: ${(await page.locator('body').innerText()).replace(/\s+/g, ' ').slice(0, 1500)}`);
		} catch {
			/* the page is gone */
		}
	}
}

/** The passphrase every scenario locks its browsers with. */
export const PASSPHRASE = 'korrekt hest batteri hæfteklamme';

/** Fill in and send the Tilmeld page (open at url) with an enrollment code and the organisation fingerprint. */
export async function enrollForm(page, code, fpr) {
	await page.getByLabel('Engangskode').fill(code);
	await page.getByLabel('Organisationens fingeraftryk').fill(fpr);
	await page.getByLabel('Vælg en adgangssætning').fill(PASSPHRASE);
	await page.getByLabel('Gentag adgangssætningen').fill(PASSPHRASE);
	await page.getByRole('button', { name: 'Tilmeld' }).click();
}

/** A user's first device after enrollForm: the recovery code page, marked as kept; returns the code. */
export async function keepRecoveryCode(page) {
	await page.getByRole('heading', { level: 1, name: 'Din gendannelseskode' }).waitFor({ timeout: 60000 });
	const code = (await page.locator('#recovery-code').innerText()).trim();
	await page.getByLabel('Jeg har gemt koden et sikkert sted').check();
	await page.getByRole('button', { name: 'Fortsæt' }).click();
	return code;
}
