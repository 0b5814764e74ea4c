// Browser scenario: a teacher enrolls this browser with a code from
// `varskoctl invite`, unlocks it after a reload, sees who she is, locks it.
// Started by test_web_enroll.py with: VARSKO_URL, VARSKO_SPKI, VARSKO_CODE,
// VARSKO_FPR, VARSKO_NAME, VARSKO_SHOTS. Prints checks and screenshot paths.
import { execFileSync } from 'node:child_process';
import { axe, Checks, close, env, failed, foreign, launch, PASSPHRASE, shots, watch } from './lib.mjs';

const url = env('VARSKO_URL');
const dir = env('VARSKO_SHOTS');
const name = env('VARSKO_NAME');
const PASS = PASSPHRASE;
const checks = new Checks();
const c = checks.ok.bind(checks);

async function noAxe(page, what) {
	const v = await axe(page);
	c(v.length === 0, `axe-core finds no WCAG 2.1 AA violation on ${what}`, v.join('; '));
}

const ctx = await launch(env('VARSKO_SPKI'));
const log = watch(ctx);
try {
	const page = ctx.pages()[0] || await ctx.newPage();
	page.on('dialog', (d) => d.accept());
	// What the first visit transfers (compressed, as on the wire) of script and styles.
	const cdp = await ctx.newCDPSession(page);
	await cdp.send('Network.enable');
	const wire = new Map();
	const urls = new Map();
	cdp.on('Network.responseReceived', (e) => urls.set(e.requestId, { url: e.response.url, cached: e.response.fromDiskCache || e.response.fromMemoryCache }));
	cdp.on('Network.loadingFinished', (e) => wire.set(e.requestId, e.encodedDataLength));
	const assetBytes = () => {
		let n = 0;
		let fromNet = 0;
		for (const [id, u] of urls) {
			if (!/\.(js|css)$/.test(new URL(u.url).pathname)) continue;
			if (!u.cached) fromNet++;
			n += u.cached ? 0 : wire.get(id) || 0;
		}
		return { n, fromNet };
	};
	const resp = await page.goto(url);
	const csp = resp.headers()['content-security-policy'] || '';
	c(/default-src 'self'/.test(csp) && /require-trusted-types-for 'script'/.test(csp) && /frame-ancestors 'none'/.test(csp),
		'the page comes with the strict Content-Security-Policy', csp);
	c(resp.headers()['referrer-policy'] === 'no-referrer', 'Referrer-Policy: no-referrer');
	c(/max-age=/.test(resp.headers()['strict-transport-security'] || ''), 'HSTS header');

	await page.getByRole('heading', { level: 1, name: 'Tilmeld denne browser' }).waitFor();
	c(await page.evaluate(() => document.documentElement.lang) === 'da', 'the page is in Danish (lang="da")');
	const first = assetBytes();
	console.log(`first visit: script and styles ${Math.round(first.n / 1024)} KiB over the wire`);
	c(first.n > 0 && first.n <= 600 * 1024, 'the first visit loads at most 600 KiB of compressed script and styles', `${first.n} bytes`);
	await noAxe(page, 'Tilmeld');
	await shots(page, dir, 'tilmeld', checks);

	// Nothing filled in: the DKFDS error summary names every field, in Danish.
	await page.getByRole('button', { name: 'Tilmeld' }).click();
	const summary = page.getByRole('alert');
	await summary.waitFor();
	const stext = await summary.innerText();
	c(/Skriv engangskoden/.test(stext) && /fingeraftryk/.test(stext) && /mindst 12 tegn/.test(stext),
		'an empty form lists what is missing, in Danish', stext);
	await noAxe(page, 'Tilmeld with errors');
	await shots(page, dir, 'tilmeld-fejl', checks);

	// Keyboard only: the summary's link moves the focus to its field.
	await page.getByRole('link', { name: 'Skriv engangskoden.' }).focus();
	await page.keyboard.press('Enter');
	c(await page.evaluate(() => document.activeElement && document.activeElement.id) === 'code',
		'the error summary link takes the keyboard to the field');

	// A wrong fingerprint: refused before anything is sent.
	await page.getByLabel('Engangskode').fill(env('VARSKO_CODE'));
	await page.getByLabel('Organisationens fingeraftryk').fill('0000-1111-2222-3333-4444-5555-6666-7777');
	await page.getByLabel('Vælg en adgangssætning').fill(PASS);
	await page.getByLabel('Gentag adgangssætningen').fill(PASS);
	await page.getByRole('button', { name: 'Tilmeld' }).click();
	await page.getByText('Fingeraftrykket passer ikke').waitFor({ timeout: 20000 });
	c(true, 'a wrong fingerprint is refused with a Danish explanation');
	await shots(page, dir, 'tilmeld-fingeraftryk', checks);

	// An unknown code, with the right fingerprint: the server's refusal in Danish; nothing typed is lost.
	await page.getByLabel('Engangskode').fill('AAAA-BBBB-CCCC');
	await page.getByLabel('Organisationens fingeraftryk').fill(env('VARSKO_FPR'));
	await page.getByLabel('Vælg en adgangssætning').fill(PASS);
	await page.getByLabel('Gentag adgangssætningen').fill(PASS);
	await page.getByRole('button', { name: 'Tilmeld' }).click();
	await page.getByText('Engangskoden findes ikke.').waitFor({ timeout: 20000 });
	const unknown = await page.locator('main').innerText();
	c(/Kontrollér koden/.test(unknown) && await page.getByLabel('Organisationens fingeraftryk').inputValue() === env('VARSKO_FPR'),
		'an unknown code is refused in Danish with what to do, and the form keeps what was typed', unknown.slice(0, 300));
	await page.getByLabel('Engangskode').fill(env('VARSKO_CODE'));

	// The right one: enrolled, logged in, the home page greets her by name.
	await page.getByLabel('Organisationens fingeraftryk').fill(env('VARSKO_FPR'));
	await page.getByLabel('Vælg en adgangssætning').fill(PASS);
	await page.getByLabel('Gentag adgangssætningen').fill(PASS);
	await page.getByRole('button', { name: 'Tilmeld' }).click();

	// Her first device: the user key is made here and the recovery code shown once.
	await page.getByRole('heading', { level: 1, name: 'Din gendannelseskode' }).waitFor({ timeout: 60000 });
	const code = (await page.locator('#recovery-code').innerText()).trim();
	c(/^([A-Z2-7]{5}-){5}[A-Z2-7]$/.test(code), 'the first enrollment shows a recovery code in the CLI\'s form', code);
	console.log(`recovery code: ${code}`);
	c(await page.locator('#recovery-continue').isDisabled(), 'Fortsæt waits until the code is marked as kept');
	await noAxe(page, 'Din gendannelseskode');
	await shots(page, dir, 'gendannelseskode', checks);
	await page.getByLabel('Jeg har gemt koden et sikkert sted').check();
	await page.getByRole('button', { name: 'Fortsæt' }).click();
	await page.getByRole('heading', { level: 1, name: `Velkommen, ${name}` }).waitFor({ timeout: 30000 });
	c(true, `enrolled and logged in: "Velkommen, ${name}"`);
	c(await page.getByText('Forbundet').count() > 0, 'the header says it is connected');
	await noAxe(page, 'Forside');
	await shots(page, dir, 'forside', checks);

	// The form's first step, with the akut warning; the draft survives a reload (sealed, checked below).
	await page.getByRole('link', { name: 'Ny underretning' }).click();
	await page.getByRole('heading', { level: 1, name: 'Ny underretning' }).waitFor();
	await page.getByLabel('Barnets navn').fill('Sofie Eksempel');
	await page.locator('#akut-yes').check();
	const akut = await page.getByText('Ring til Døgnvagt nu').count();
	c(akut === 1, 'choosing akut shows "Ring til Døgnvagt nu" at once');
	await page.getByRole('button', { name: 'Næste' }).click();
	const ftext = await page.getByRole('alert').first().innerText();
	c(/CPR-nummeret/.test(ftext) && /adresse/.test(ftext), 'the first step lists what is missing before going on', ftext);
	await noAxe(page, 'Ny underretning (step 1, akut, errors)');
	await shots(page, dir, 'ny-trin1', checks);

	await page.getByRole('link', { name: 'Mig' }).click();
	await page.getByRole('heading', { level: 1, name: 'Mig' }).waitFor();
	const me = await page.locator('main').innerText();
	c(me.includes(name) && /d-[0-9a-f]{16}/.test(me), 'Mig shows the name and the device id', me);
	await noAxe(page, 'Mig');
	await shots(page, dir, 'mig', checks);

	// A reload locks: the keys are sealed in IndexedDB, never in the clear.
	const stored = await page.evaluate(() => new Promise((resolve) => {
		const r = indexedDB.open('varsko');
		r.onsuccess = () => {
			const g = r.result.transaction('kv').objectStore('kv').get('device');
			g.onsuccess = () => resolve(JSON.stringify(g.result));
		};
	}));
	c(!/sign_sk|box_sk|BEGIN|"cert"/.test(stored) && /"box"/.test(stored), 'IndexedDB holds the keys only sealed', stored.slice(0, 200));
	const all = await page.evaluate(() => new Promise((resolve) => {
		const r = indexedDB.open('varsko');
		r.onsuccess = () => {
			const g = r.result.transaction('kv').objectStore('kv').getAll();
			g.onsuccess = () => resolve(JSON.stringify(g.result));
		};
	}));
	c(!all.includes('Sofie') && /"box"/.test(all), 'the draft is stored, and only sealed (the child\'s name is not in IndexedDB)', all.slice(0, 300));
	urls.clear();
	await page.reload();
	await page.getByRole('heading', { level: 1, name: 'Lås op' }).waitFor();
	const again = assetBytes();
	console.log(`later visit: script and styles ${again.n} bytes over the wire`);
	c(again.n === 0, 'a later visit transfers no byte of script or styles (content-hashed, immutable)', JSON.stringify(again));
	await noAxe(page, 'Lås op');
	await shots(page, dir, 'laas-op', checks);
	await page.getByLabel('Adgangssætning').fill('forkert adgangssætning');
	await page.getByRole('button', { name: 'Lås op' }).click();
	await page.getByText('Adgangssætningen er forkert').first().waitFor({ timeout: 20000 });
	c(true, 'a wrong passphrase is refused in Danish');
	// Keyboard only: Tab to the field, type, Enter.
	await page.locator('body').focus();
	await page.getByLabel('Adgangssætning').fill('');
	let focused = '';
	for (let i = 0; i < 12 && focused !== 'passphrase'; i++) {
		await page.keyboard.press('Tab');
		focused = await page.evaluate(() => document.activeElement && document.activeElement.id);
	}
	c(focused === 'passphrase', 'the passphrase field is reached with Tab');
	const t0 = Date.now();
	await page.keyboard.type(PASS);
	await page.keyboard.press('Enter');
	await page.getByRole('heading', { level: 1, name: 'Mig' }).waitFor({ timeout: 30000 });
	console.log(`unlock (Argon2id, login, first page): ${Date.now() - t0} ms`);
	c(true, 'the right passphrase, typed and sent with the keyboard alone, unlocks, logs in and shows the page that was open (Mig)');

	await page.getByRole('link', { name: 'Ny underretning' }).click();
	c(await page.getByLabel('Barnets navn').inputValue() === 'Sofie Eksempel', 'the draft survives the reload and the lock');

	await page.getByRole('button', { name: 'Lås', exact: true }).click();
	await page.getByRole('heading', { level: 1, name: 'Lås op' }).waitFor();
	c(true, 'Lås locks the page');

	// A server whose receipt does not verify: every frame passes through a relay in the test that breaks
	// the first receipt's signature. The page refuses it in Danish and keeps the draft; sent again, the
	// same submission gets the one (now untouched) receipt, marked as the same.
	let broken = 0;
	await page.routeWebSocket(/.*/, (ws) => {
		const server = ws.connectToServer();
		ws.onMessage((m) => server.send(m));
		server.onMessage((m) => {
			if (broken === 0 && typeof m === 'string' && m.includes('"type":"receipt"')) {
				broken++;
				ws.send(m.replace(/"sig":"(.)/, (x, ch) => `"sig":"${ch === 'A' ? 'B' : 'A'}`));
				return;
			}
			ws.send(m);
		});
	});
	await page.getByLabel('Adgangssætning').fill(PASS);
	await page.getByRole('button', { name: 'Lås op' }).click();
	await page.getByLabel('Barnets navn').waitFor({ timeout: 30000 });
	await page.getByLabel('Kun fødselsdato').check();
	await page.getByLabel('Barnets fødselsdato').fill(`${new Date().getFullYear() - 9}-03-14`);
	await page.getByLabel('Barnets adresse').fill('Eksempelvej 1, 4200 Slagelse');
	await page.locator('#akut-no').check();
	await page.locator('#handicap-no').check();
	await page.getByRole('button', { name: 'Næste' }).click();
	await page.getByRole('button', { name: 'Fjern forælder 1' }).click();
	await page.locator('#interpreter-no').check();
	await page.getByRole('button', { name: 'Næste' }).click();
	await page.getByLabel('Hvad er du bekymret for?').fill('Eleven er ofte sulten.');
	await page.getByLabel('Hvad har du set og hørt?').fill('Ingen madpakke tre dage i træk.');
	await page.getByLabel('Barnets trivsel og udvikling').fill('Ellers glad.');
	await page.getByLabel('Hvilken hjælp er forsøgt?').fill('Samtale med eleven.');
	await page.getByRole('button', { name: 'Næste' }).click();
	await page.locator('#contacted-yes').check();
	await page.getByLabel('Hvordan reagerede forældrene?').fill('Forstående.');
	await page.getByRole('button', { name: 'Næste' }).click();
	await page.getByLabel('Din rolle').fill('lærer');
	await page.getByLabel('Din relation til barnet').fill('klasselærer');
	await page.getByRole('button', { name: 'Næste' }).click();
	await page.getByRole('button', { name: 'Send underretningen' }).click();
	await page.getByText('En underskrift kunne ikke bekræftes').waitFor({ timeout: 60000 });
	c(broken === 1 && await page.getByRole('button', { name: 'Send underretningen' }).count() === 1,
		'a receipt that does not verify is refused in Danish, and the underretning stays ready to send again');
	await shots(page, dir, 'kvittering-afvist', checks);
	await page.getByRole('button', { name: 'Send underretningen' }).click();
	await page.getByRole('heading', { level: 1, name: 'Underretningen er sendt' }).waitFor({ timeout: 60000 });
	const resent = await page.locator('main').innerText();
	c(/var allerede modtaget; dette er den samme kvittering/.test(resent),
		'sent again, the same submission gets the one receipt, verified, and says it is the same', resent.slice(0, 300));

	// Revoked by the operator while the page is open: it says so in Danish and stops trying.
	const device = /d-[0-9a-f]{16}/.exec(await page.locator('main').innerText().catch(() => '')) ||
		/d-[0-9a-f]{16}/.exec(me);
	execFileSync(env('VARSKO_CTL'), ['-c', env('VARSKO_CONF'), 'revoke', device[0]], { encoding: 'utf8' });
	await page.getByText('Denne enhed er tilbagekaldt').waitFor({ timeout: 60000 });
	const revoked = await page.locator('main').innerText();
	c(/Bed it-supporten om en ny engangskode/.test(revoked), 'a device revoked while the page is open: the page says so in Danish and what to do', revoked.slice(0, 300));
	await shots(page, dir, 'tilbagekaldt', checks);

	const f = foreign(log, url);
	c(f.length === 0, 'no request to any host but varskod', f.join(' '));
	c(log.errors.length === 0, 'no script error, CSP or Trusted Types violation in the page', log.errors.join(' | '));
} catch (e) {
	c(false, 'the scenario ran to its end', e && e.stack ? e.stack.split('\n').slice(0, 4).join(' ') : String(e));
	await failed(ctx, dir);
	console.log(`page errors: ${log.errors.join(' | ')}`);
} finally {
	await close(ctx);
}
checks.done();
