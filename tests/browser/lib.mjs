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

/**
 * Launch Chromium with a fresh profile (removed by close()), or with the given
 * one (kept: a scenario that opens the same profile again); accept only the
 * server key whose SPKI hash is given.
 */
export async function launch(spki, keep = null) {
	const profile = keep || mkdtempSync(path.join(tmpdir(), 'varsko-chromium-'));
	const ctx = await chromium.launchPersistentContext(profile, {
		executablePath: process.env.VARSKO_CHROMIUM || '/usr/bin/chromium',
		headless: true,
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
			'--disable-component-update', '--disable-sync', '--no-first-run', `--ignore-certificate-errors-spki-list=${spki}`],
		viewport: { width: WIDTHS.desktop, height: 900 },
		locale: 'da-DK',
		timezoneId: 'Europe/Copenhagen',
	});
	ctx.varskoProfile = keep ? null : profile;
	return ctx;
}

export async function close(ctx) {
	const profile = ctx.varskoProfile;
	await ctx.close();
	if (profile) rmSync(profile, { recursive: true, force: true });
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

/*
 * Keyboard only: Tab from the top of the page reaches every control a mouse
 * could use (links, buttons, fields; one radio button per group, as browsers
 * do), each showing a focus outline. Returns the controls it did not reach.
 */
export async function keyboardMisses(page) {
	const want = await page.evaluate(() => {
		const seen = new Set();
		const out = [];
		let n = 0;
		for (const el of document.querySelectorAll('a[href], button, input, select, textarea, [tabindex]')) {
			const r = el.getBoundingClientRect();
			const style = getComputedStyle(el);
			if (el.disabled || el.tabIndex < 0 || r.width === 0 || r.height === 0 || style.visibility === 'hidden') continue;
			if (el.type === 'radio') {
				if (seen.has(el.name)) continue;
				seen.add(el.name);
			}
			el.dataset.vkKey = String(n++);
			out.push(el.dataset.vkKey);
		}
		return out;
	});
	const reached = new Set();
	const unfocused = [];
	await page.evaluate(() => document.activeElement && document.activeElement.blur());
	await page.keyboard.press('Home');
	for (let i = 0; i < want.length + 8; i++) {
		await page.keyboard.press('Tab');
		const got = await page.evaluate(() => {
			const a = document.activeElement;
			if (!a || !a.dataset || (a.dataset.vkKey === undefined && a.type !== 'radio')) return null;
			const st = getComputedStyle(a);
			const ring = st.outlineStyle !== 'none' && parseFloat(st.outlineWidth) > 0;
			return { key: a.type === 'radio' ? `radio:${a.name}` : a.dataset.vkKey, ring, what: a.outerHTML.slice(0, 80) };
		});
		if (!got) continue;
		reached.add(got.key);
		if (!got.ring) unfocused.push(got.what);
	}
	const radios = await page.evaluate(() => Object.fromEntries([...document.querySelectorAll('input[type=radio][data-vk-key]')]
		.map((r) => [r.dataset.vkKey, `radio:${r.name}`])));
	const missed = want.filter((k) => !reached.has(k) && !reached.has(radios[k]));
	const names = await page.evaluate((keys) => keys.map((k) => {
		const el = document.querySelector(`[data-vk-key="${k}"]`);
		return el ? el.outerHTML.slice(0, 80) : k;
	}), missed);
	return { missed: names, unfocused };
}

/** A full-page screenshot at the given width, listed in the output. */
export async function shots(page, dir, name, checks) {
	const size = page.viewportSize();
	const kb = await keyboardMisses(page);
	checks.ok(kb.missed.length === 0, `${name}: every control is reached with Tab alone`, kb.missed.join(' | '));
	checks.ok(kb.unfocused.length === 0, `${name}: the control with the keyboard focus shows it`, kb.unfocused.join(' | '));
	// The browser zoomed to 200 % on a 1280 px screen lays out as 640 px.
	await page.setViewportSize({ width: 640, height: 900 });
	const wide = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
	checks.ok(wide <= 0, `${name} fits the browser zoomed to 200 % (640 px) without sideways scrolling`, `${wide} px too wide`);
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

/**
 * A spawned program's --json lines: .event(name) (a promise of the first line
 * whose "event" is name, null at exit), .write(text) to its stdin, .exit (a
 * promise of { rc, out }), .output(), .kill().
 */
export function jsonLines(p) {
	let out = '';
	let buf = '';
	const waiters = [];
	const events = [];
	p.stdout.on('data', (d) => {
		out += d;
		buf += d;
		let i;
		while ((i = buf.indexOf('\n')) >= 0) {
			try {
				events.push(JSON.parse(buf.slice(0, i)));
			} catch {
				/* a line for people */
			}
			buf = buf.slice(i + 1);
			waiters.splice(0).forEach((w) => w());
		}
	});
	p.stderr.on('data', (d) => {
		out += d;
	});
	const exit = new Promise((res) => p.on('close', (rc) => {
		waiters.splice(0).forEach((w) => w());
		res({ rc, out });
	}));
	const event = (name) => new Promise((res) => {
		const look = () => {
			const ev = events.find((x) => x.event === name);
			if (ev) res(ev);
			else if (p.exitCode !== null || p.signalCode !== null) res(null);
			else waiters.push(look);
		};
		look();
	});
	return { event, exit, write: (t) => p.stdin.write(t), output: () => out, kill: () => p.kill() };
}
