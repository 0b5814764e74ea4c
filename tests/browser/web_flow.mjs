// Browser scenario: the underretning flow end to end in the web client, with
// the C CLI beside it (test_web_flow.py starts the servers and says what this
// does). Three browser contexts: Anna (teacher), Lene (intake worker), Thomas
// (leder, a second device recovered with his recovery code).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { axe, Checks, close, enrollForm, env, failed, foreign, keepRecoveryCode, launch, shots, watch } from './lib.mjs';

const url = env('VARSKO_URL');
const dir = env('VARSKO_SHOTS');
const checks = new Checks();
const c = checks.ok.bind(checks);

/* What Anna types: markup, script, a javascript: link and an RTL override in every kind of field. */
const INJECT = {
	child: 'Sofie <img src=x onerror="window.__pwned=1">',
	address: 'Eksempelvej 1 </script><script>window.__pwned=2</script>',
	parent: 'Mette "><svg onload=window.__pwned=3>',
	concern: 'Bekymring: javascript:window.__pwned=4 og \u202Efdp.exe\u202C og {{constructor.constructor("window.__pwned=5")()}}',
	observations: 'Mandag kl. 8.15 sad hun i garderoben.\nTorsdag et blåt mærke. <b>fed</b> &amp; &lt;',
	wellbeing: 'Glad og fagligt alderssvarende.',
	help: 'Samtaler med AKT-læreren.',
	reaction: 'Mor blev ked af det <iframe src="javascript:window.__pwned=6">.',
	role: 'lærer',
	relation: 'klasselærer i 3.b',
};
const KVITTERING = 'Tak for underretningen. Vi har modtaget den og vurderer den i dag.';
const TILBAGEMELDING = 'Vi har iværksat en undersøgelse efter servicelovens § 50.';

function cli(home, ...args) {
	return execFileSync(env('VARSKO_CLI'), args, {
		env: { ...process.env, VARSKO_HOME: home, HOME: env('VARSKO_TMP') }, encoding: 'utf8', timeout: 120000,
	});
}

function ctl(...args) {
	return execFileSync(env('VARSKO_CTL'), ['-c', env('VARSKO_CONF'), ...args], { encoding: 'utf8', timeout: 60000 });
}

async function noAxe(page, what) {
	const v = await axe(page);
	c(v.length === 0, `axe-core finds no WCAG 2.1 AA violation on ${what}`, v.join('; '));
}

async function newUser(ctx) {
	const page = ctx.pages()[0] || await ctx.newPage();
	page.on('dialog', (d) => d.accept());
	await page.goto(url);
	await page.getByRole('heading', { level: 1, name: 'Tilmeld denne browser' }).waitFor();
	return page;
}

function enroll(page, code) {
	return enrollForm(page, code, env('VARSKO_FPR'));
}

/* The first device of a user: the recovery code page, then the home page. Returns the code. */
async function firstDevice(page, name) {
	const code = await keepRecoveryCode(page);
	await page.getByRole('heading', { level: 1, name: `Velkommen, ${name}` }).waitFor({ timeout: 30000 });
	return code;
}

async function next(page) {
	await page.getByRole('button', { name: 'Næste' }).click();
}

/* Open ref from the inbox; retried while the team key has no box for the reader yet (the agent adds it). */
async function openCase(page, ref) {
	for (let i = 0; i < 40; i++) {
		await page.goto(`${url}#/indbakke`);
		await page.getByRole('heading', { level: 1, name: 'Indbakke' }).waitFor({ timeout: 30000 });
		const link = page.getByRole('link', { name: `Åbn ${ref}` });
		if (await link.count()) {
			await link.click();
			const ok = page.getByText('Underretningen er dekrypteret og kontrolleret');
			const bad = page.getByRole('heading', { name: 'Det gik ikke' });
			await Promise.race([ok.waitFor({ timeout: 30000 }), bad.waitFor({ timeout: 30000 })]).catch(() => {});
			if (await ok.count()) return true;
		}
		await page.waitForTimeout(1500);
	}
	return false;
}

const ctxA = await launch(env('VARSKO_SPKI'));
const ctxB = await launch(env('VARSKO_SPKI'));
const ctxC = await launch(env('VARSKO_SPKI'));
const logs = [watch(ctxA), watch(ctxB), watch(ctxC)];
try {
	// 1. Anna and Lene enroll: each the user's first device.
	const anna = await newUser(ctxA);
	await enroll(anna, env('VARSKO_ANNA_CODE'));
	await firstDevice(anna, 'Anna Mikkelsen');
	c(true, 'Anna enrolls in the browser and gets her recovery code');
	const lene = await newUser(ctxB);
	await enroll(lene, env('VARSKO_LENE_CODE'));
	const leneCode = await firstDevice(lene, 'Lene Sørensen');
	c(/^([A-Z2-7]{5}-){5}[A-Z2-7]$/.test(leneCode), 'Lene enrolls in the browser and gets her recovery code', leneCode);
	cli(env('VARSKO_THOMAS_HOME'), 'team', 'add', 'team-slagelse', 'myndighed-lene');
	c(true, 'leder-thomas (C CLI) adds Lene, enrolled in the browser, to team-slagelse');

	// 2. Thomas: a second device, recovered with his recovery code; he watches the deadlines.
	const thomas = await newUser(ctxC);
	await enroll(thomas, env('VARSKO_THOMAS_CODE'));
	await thomas.getByRole('heading', { level: 1, name: 'Godkend denne browser' }).waitFor({ timeout: 60000 });
	await noAxe(thomas, 'Godkend denne browser');
	await shots(thomas, dir, 'godkend', checks);
	await thomas.getByLabel('Gendannelseskode').fill('AAAAA-AAAAA-AAAAA-AAAAA-AAAAA-A');
	await thomas.getByRole('button', { name: 'Godkend', exact: true }).click();
	await thomas.getByText('Gendannelseskoden passer ikke').first().waitFor({ timeout: 30000 });
	c(true, 'a wrong recovery code is refused in Danish');
	await thomas.getByLabel('Gendannelseskode').fill(env('VARSKO_THOMAS_RECOVERY').toLowerCase());
	await thomas.getByRole('button', { name: 'Godkend', exact: true }).click();
	await thomas.getByRole('heading', { level: 1, name: 'Velkommen, Thomas Overgaard' }).waitFor({ timeout: 60000 });
	c(true, 'Thomas\'s browser is approved with his recovery code (made by the C CLI)');
	await thomas.getByRole('link', { name: 'Frister' }).click();
	await thomas.getByRole('heading', { level: 1, name: 'Frister' }).waitFor();

	// 3. Anna fills in the form and sends it.
	await anna.getByRole('link', { name: 'Ny underretning' }).click();
	await anna.getByRole('heading', { level: 1, name: 'Ny underretning' }).waitFor();
	await anna.getByLabel('Barnets navn').fill(INJECT.child);
	await anna.getByLabel('Kun fødselsdato').check();
	const born = `${new Date().getFullYear() - 9}-03-14`;
	await anna.getByLabel('Barnets fødselsdato').fill(born);
	await anna.getByLabel('Barnets adresse').fill(INJECT.address);
	await anna.locator('#akut-no').check();
	await anna.locator('#handicap-no').check();
	await next(anna);
	await anna.getByRole('heading', { level: 2, name: 'Forældre og tolk' }).waitFor();
	await anna.getByLabel('Navn', { exact: true }).fill(INJECT.parent);
	await anna.getByLabel('Telefon').fill('+45 00 00 00 01');
	await anna.locator('#interpreter-no').check();
	await noAxe(anna, 'Ny underretning, step 2');
	await shots(anna, dir, 'ny-trin2', checks);
	await next(anna);
	await anna.getByLabel('Hvad er du bekymret for?').fill(INJECT.concern);
	await anna.getByLabel('Hvad har du set og hørt?').fill(INJECT.observations);
	await anna.getByLabel('Barnets trivsel og udvikling').fill(INJECT.wellbeing);
	await anna.getByLabel('Hvilken hjælp er forsøgt?').fill(INJECT.help);
	const bilag = readFileSync(env('VARSKO_BILAG'));
	await anna.locator('#attachments').setInputFiles({ name: 'fravaer.pdf', mimeType: 'application/pdf', buffer: bilag });
	await anna.getByText('fravaer.pdf (').waitFor();
	await next(anna);
	await anna.locator('#contacted-yes').check();
	await anna.getByLabel('Hvordan reagerede forældrene?').fill(INJECT.reaction);
	await noAxe(anna, 'Ny underretning, step 4 (the parents may read it)');
	await next(anna);
	await anna.getByLabel('Din rolle').fill(INJECT.role);
	await anna.getByLabel('Din relation til barnet').fill(INJECT.relation);
	await next(anna);
	await anna.getByRole('heading', { level: 2, name: 'Gennemse og send' }).waitFor();
	const review = await anna.locator('main').innerText();
	c(review.includes(INJECT.child) && review.includes('javascript:window.__pwned=4') && review.includes('fravaer.pdf'), 'the review shows every field as typed, and the attachment', review.slice(0, 400));
	await noAxe(anna, 'Ny underretning, review');
	await shots(anna, dir, 'ny-gennemse', checks);
	await anna.getByRole('button', { name: 'Send underretningen' }).click();
	await anna.getByRole('heading', { level: 1, name: 'Underretningen er sendt' }).waitFor({ timeout: 60000 });
	const sentText = await anna.locator('main').innerText();
	const ref = (/U-\d{4}-\d{6}/.exec(sentText) || [''])[0];
	c(ref !== '' && sentText.includes('underskrevet og kontrolleret'), `sent: ${ref}, the receipt verified in the browser`, sentText.slice(0, 300));
	await noAxe(anna, 'Underretningen er sendt');
	await shots(anna, dir, 'sendt', checks);
	const dl = anna.waitForEvent('download');
	await anna.getByRole('button', { name: 'Gem kvitteringen som fil' }).click();
	const file = path.join(mkdtempSync(path.join(env('VARSKO_TMP'), 'dl-')), 'kvittering.json');
	await (await dl).saveAs(file);
	let verified = '';
	try {
		verified = cli(env('VARSKO_KAREN_HOME'), 'receipt', 'verify', file);
	} catch (e) {
		verified = `exit ${e.status}: ${e.stdout}${e.stderr}`;
	}
	c(verified.includes(ref), 'the downloaded receipt verifies with `varsko receipt verify`', verified);
	const receiptJson = JSON.parse(readFileSync(file, 'utf8'));
	c(receiptJson.reference === ref, 'the receipt file names the reference');

	// 4. Thomas sees the vurdering deadline's warning arrive (warn_vurdering_minutes 1440: at once).
	await thomas.getByText(`fristen for vurdering (24 timer) af ${ref}`).first().waitFor({ timeout: 30000 });
	c(true, 'the leder sees the deadline warning arrive live, without a reload');
	await noAxe(thomas, 'Frister with a live warning');
	await shots(thomas, dir, 'frister', checks);

	// 5. Anna follows it; Lene opens and decides; Anna's timeline follows without a reload.
	await anna.getByRole('link', { name: 'Følg underretningen' }).click();
	await anna.getByRole('heading', { level: 1, name: `Underretning ${ref}` }).waitFor({ timeout: 30000 });
	c(await openCase(lene, ref), 'Lene opens the underretning in her browser (the agent gave her the team key)');
	const shown = await lene.locator('main').innerText();
	c(shown.includes(INJECT.child) && shown.includes(INJECT.address) && shown.includes(INJECT.concern.replace(/\u202E|\u202C/g, '').slice(0, 20)),
		'the document shows exactly as Anna typed it', shown.slice(0, 600));
	c(shown.includes('og ⟨U+202E⟩fdp.exe⟨U+202C⟩ og'), 'the right-to-left override in the text shows as a visible marker, not obeyed');
	const pwned = await Promise.all([anna, lene].map((p) => p.evaluate(() => window.__pwned || 0)));
	c(pwned.every((x) => x === 0), 'none of the injected markup or script ran, in the sender\'s or the reader\'s page', String(pwned));
	c(await lene.locator('main img, main svg[onload], main iframe, main script').count() === 0, 'no injected element exists in the page');
	const got = lene.waitForEvent('download');
	await lene.getByRole('button', { name: 'Hent fravaer.pdf' }).click();
	const bilagFile = path.join(mkdtempSync(path.join(env('VARSKO_TMP'), 'bilag-')), 'fravaer.pdf');
	await (await got).saveAs(bilagFile);
	c(readFileSync(bilagFile).equals(bilag), 'Lene downloads the attachment Anna sent with it, byte for byte');
	await noAxe(lene, 'one opened underretning');
	await shots(lene, dir, 'sag', checks);
	await lene.locator('#vurdering-akut-no').check();
	await lene.getByRole('button', { name: 'Registrér vurderingen' }).click();
	await lene.getByText('Vurderet: Registreret.').waitFor({ timeout: 30000 });
	await lene.getByLabel('Kvittering til den, der underrettede').fill(KVITTERING);
	await lene.getByRole('button', { name: 'Send kvittering' }).click();
	await lene.getByText('Kvitteret: Registreret.').waitFor({ timeout: 30000 });
	await lene.getByLabel('Tilbagemelding til den, der underrettede').fill(TILBAGEMELDING);
	await lene.locator('#started-yes').check();
	await lene.getByRole('button', { name: 'Send tilbagemelding' }).click();
	await lene.getByText('Tilbagemelding: Registreret.').waitFor({ timeout: 30000 });
	c(true, 'Lene sends vurdering, kvittering and tilbagemelding from the browser');
	await anna.getByText(TILBAGEMELDING).waitFor({ timeout: 30000 });
	const tl = await anna.locator('main').innerText();
	c(['Åbnet', 'Vurderet', 'Kvitteret', 'Tilbagemelding'].every((s) => tl.includes(s)) && tl.includes(KVITTERING),
		'Anna\'s timeline shows each step and both messages, decrypted, without a reload', tl.slice(0, 800));
	await noAxe(anna, 'the timeline');
	await shots(anna, dir, 'forloeb', checks);

	// Mine underretninger: the list, then back to the timeline by its link.
	await anna.getByRole('link', { name: 'Mine underretninger', exact: true }).click();
	await anna.getByRole('heading', { level: 1, name: 'Mine underretninger' }).waitFor();
	const mineText = await anna.locator('#mine').innerText();
	c(mineText.includes(ref) && mineText.includes('Nordskovskolen') && mineText.includes('Tilbagemelding'),
		'Mine underretninger lists it with its institution and its last step', mineText);
	await noAxe(anna, 'Mine underretninger');
	await shots(anna, dir, 'mine', checks);
	await anna.getByRole('link', { name: ref }).click();
	await anna.getByRole('heading', { level: 1, name: `Underretning ${ref}` }).waitFor({ timeout: 30000 });

	// 6. Lene's second device, the C CLI, recovered with the code her browser showed, reads the same document.
	const inv = JSON.parse(ctl('invite', '--user', 'myndighed-lene', '--json'));
	const home = path.join(env('VARSKO_TMP'), 'home-lene-cli');
	cli(home, 'enroll', '--server', env('VARSKO_WS'), '--code', inv.code, '--ca', env('VARSKO_CA'), '--fingerprint', env('VARSKO_FPR'));
	cli(home, 'device', 'recover', '--code', leneCode);
	const showJson = JSON.parse(cli(home, 'myndighed', 'show', ref, '--json'));
	const doc = typeof showJson.document === 'string' ? JSON.parse(showJson.document) : showJson.document;
	c(doc && doc.child.name === INJECT.child && doc.child.address === INJECT.address && doc.concern === INJECT.concern &&
		doc.observations === INJECT.observations && doc.parents[0].name === INJECT.parent && doc.child.birth_date === born,
	'the C CLI, recovered with the browser\'s recovery code, decrypts the same document', JSON.stringify(doc).slice(0, 500));

	// 7. One sent with the C CLI shows correctly in Lene's browser.
	const sent = cli(env('VARSKO_KAREN_HOME'), 'underret', 'send', env('VARSKO_KAREN_DOC'));
	const ref2 = (/U-\d{4}-\d{6}/.exec(sent) || [''])[0];
	const karen = JSON.parse(readFileSync(env('VARSKO_KAREN_DOC'), 'utf8'));
	c(ref2 !== '' && await openCase(lene, ref2), `the CLI's ${ref2} opens in Lene's browser`);
	const shown2 = await lene.locator('main').innerText();
	c(shown2.includes(karen.child.name) && shown2.includes(karen.concern.slice(0, 40)) && shown2.includes('Vestervangsskolen'),
		'... and shows its document', shown2.slice(0, 400));

	// Lene re-routes Karen's underretning to Team Ung and closes Anna's.
	await lene.getByLabel('Team', { exact: true }).selectOption('team-ung');
	await lene.getByRole('button', { name: 'Send videre' }).click();
	await lene.getByText('Omdirigeret: Registreret.').waitFor({ timeout: 30000 });
	c(true, 'Lene re-routes the CLI\'s underretning to Team Ung (sealed again to that team\'s key)');
	c(await openCase(lene, ref), 'Lene opens Anna\'s underretning again');
	await lene.getByRole('button', { name: 'Afslut', exact: true }).click();
	await lene.getByText('Afsluttet: Registreret.').waitFor({ timeout: 30000 });
	await lene.getByLabel('Kvittering til den, der underrettede').fill('En kvittering for meget.');
	await lene.getByRole('button', { name: 'Send kvittering' }).click();
	await lene.getByText('Fejlkode: case_state').waitFor({ timeout: 30000 });
	const closedText = await lene.locator('main').innerText();
	c(/forløb tillader ikke dette trin nu[\s\S]*En afsluttet underretning kan ikke ændres/.test(closedText) && !/varsko underret/.test(closedText),
		'a kvittering on a closed underretning is refused with a Danish explanation (and its code)', closedText);
	await anna.getByText('Afsluttet').first().waitFor({ timeout: 30000 });
	c(true, 'Anna\'s timeline shows Afsluttet without a reload');

	// 8. Thomas's ledelsestilsyn: his team's figures with charts.
	await thomas.getByRole('link', { name: 'Ledelsestilsyn' }).click();
	await thomas.getByRole('heading', { level: 1, name: 'Ledelsestilsyn' }).waitFor({ timeout: 30000 });
	const rep = await thomas.locator('#report').innerText();
	c(/Modtagne underretninger\s+1/.test(rep) && /Vurdering inden for 24 timer\s+1 af 1 \(100 %\)/.test(rep),
		'the leder\'s ledelsestilsyn counts the underretning still with the team (the other was re-routed) and its vurdering within the deadline', rep);
	c(await thomas.locator('svg.vk-chart[role=img][aria-label]').count() === 2, 'two charts, each with a text alternative');
	await thomas.getByLabel(/^Fra/).fill('1. november');
	await thomas.getByRole('button', { name: 'Vis' }).click();
	c(await thomas.getByText('Skriv datoen som ÅÅÅÅ-MM-DD').count() > 0, 'a date in the wrong form is explained in Danish');
	await noAxe(thomas, 'Ledelsestilsyn');
	await shots(thomas, dir, 'ledelsestilsyn', checks);

	for (const [who, log] of [['Anna', logs[0]], ['Lene', logs[1]], ['Thomas', logs[2]]]) {
		const f = foreign(log, url);
		c(f.length === 0, `${who}: no request to any host but varskod`, f.join(' '));
		c(log.errors.length === 0, `${who}: no script error, CSP or Trusted Types violation`, log.errors.join(' | '));
	}
} catch (e) {
	c(false, 'the scenario ran to its end', e && e.stack ? e.stack.split('\n').slice(0, 4).join(' ') : String(e));
	for (const ctx of [ctxA, ctxB, ctxC]) await failed(ctx, dir);
	console.log(`page errors: ${logs.map((l) => l.errors.join(' | ')).join(' || ')}`);
} finally {
	for (const ctx of [ctxA, ctxB, ctxC]) await close(ctx);
}
checks.done();
