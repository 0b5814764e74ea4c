// Browser scenario: a consultation thread between Anna in the browser and
// raadgiver-sofie with the C CLI (test_web_samtale.py says what it proves).
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { axe, Checks, close, enrollForm, env, failed, foreign, keepRecoveryCode, launch, PASSPHRASE, shots, watch } from './lib.mjs';

const url = env('VARSKO_URL');
const dir = env('VARSKO_SHOTS');
const checks = new Checks();
const c = checks.ok.bind(checks);
const TITLE = 'Bekymring <img src=x onerror="window.__pwned=1"> i 3.b';
const FIRST = 'Hej Sofie. En elev er ofte sulten </script><script>window.__pwned=2</script>, hvad gør vi?';
const FILE_NAME = 'noter <b>\u202Efdp.exe.txt';
const REPLY = 'Tak, Anna. Skriv en underretning, hvis det fortsætter. javascript:window.__pwned=3';
const sha = (b) => createHash('sha256').update(b).digest('hex');

function sofie(...args) {
	return execFileSync(env('VARSKO_CLI'), args, {
		env: { ...process.env, VARSKO_HOME: env('VARSKO_SOFIE_HOME'), HOME: env('VARSKO_TMP') }, encoding: 'utf8', timeout: 120000,
	});
}

async function noAxe(page, what) {
	const v = await axe(page);
	c(v.length === 0, `axe-core finds no WCAG 2.1 AA violation on ${what}`, v.join('; '));
}

const ctx = await launch(env('VARSKO_SPKI'));
const log = watch(ctx);
const tmp = mkdtempSync(path.join(env('VARSKO_TMP'), 'samtale-'));
try {
	const page = ctx.pages()[0] || await ctx.newPage();
	page.on('dialog', (d) => d.accept());
	await page.goto(url);
	await enrollForm(page, env('VARSKO_ANNA_CODE'), env('VARSKO_FPR'));
	await keepRecoveryCode(page);
	await page.getByRole('link', { name: 'Samtaler' }).click();
	await page.getByRole('heading', { level: 1, name: 'Samtaler' }).waitFor();
	await noAxe(page, 'Samtaler (empty)');

	// A new anonymous consultation; Sofie is its rådgiver.
	await page.getByRole('link', { name: 'Start en ny samtale' }).click();
	await page.getByLabel('Emne').fill(TITLE);
	await page.getByLabel(/Første besked/).fill(FIRST);
	c(await page.getByText('Skriv ikke barnets navn').count() === 1, 'the anonymous consultation reminds not to name the child');
	await noAxe(page, 'Ny samtale');
	await shots(page, dir, 'ny-samtale', checks);
	await page.getByRole('button', { name: 'Start samtalen' }).click();
	await page.getByRole('heading', { level: 1, name: `Samtale: ${TITLE}` }).waitFor({ timeout: 60000 });
	const thread = decodeURIComponent(new URL(page.url()).hash.replace('#/samtale/', ''));
	c(/^t-/.test(thread) || thread.length > 4, `the thread is made: ${thread}`);
	c(await page.locator('#messages').innerText().then((x) => x.includes(FIRST)), 'the first message shows as typed');

	// A file from Anna.
	const mine = randomBytes(300 * 1024);
	const minePath = path.join(tmp, 'upload.bin');
	writeFileSync(minePath, mine);
	await page.locator('#message-file').setInputFiles({ name: FILE_NAME, mimeType: 'text/plain', buffer: mine });
	await page.getByLabel('Skriv en besked').fill('Her er mine noter.');
	await page.getByRole('button', { name: 'Send', exact: true }).click();
	const shownName = FILE_NAME.replace('\u202E', '⟨U+202E⟩');
	await page.getByText(`Fil: ${shownName}`).waitFor({ timeout: 60000 });
	c(true, 'Anna sends a file with a message; its name shows as typed, the right-to-left override as a visible marker, not obeyed');

	// Sofie (C CLI) reads both, fetches the file, answers with text and a file.
	const read = JSON.parse(sofie('thread', 'read', thread, '--json'));
	const texts = read.messages.map((m) => m.text || '');
	c(read.title === TITLE && texts.includes(FIRST), 'Sofie\'s CLI reads the title and the first message as typed', JSON.stringify(read).slice(0, 400));
	const fileMsg = read.messages.find((m) => m.file);
	const got = path.join(tmp, 'from-anna.bin');
	sofie('thread', 'fetch', thread, String(fileMsg.seq), '--out', got);
	c(sha(readFileSync(got)) === sha(mine) && fileMsg.file.name === FILE_NAME, 'Sofie fetches Anna\'s file byte for byte, its name as typed');
	const theirs = randomBytes(200 * 1024);
	const theirsPath = path.join(tmp, 'plan.bin');
	writeFileSync(theirsPath, theirs);
	sofie('thread', 'send', thread, REPLY);
	sofie('thread', 'send', thread, 'Handleplan', '--file', theirsPath);

	// Anna's page shows the answer without a reload; her messages are marked.
	await page.getByText(REPLY).waitFor({ timeout: 30000 });
	c(true, 'Sofie\'s answer arrives in Anna\'s page without a reload');
	await page.getByText('Fil: plan.bin').waitFor({ timeout: 30000 });
	await page.reload();
	await page.getByLabel('Adgangssætning').fill(PASSPHRASE);
	await page.getByRole('button', { name: 'Lås op' }).click();
	await page.getByRole('heading', { level: 1, name: `Samtale: ${TITLE}` }).waitFor({ timeout: 60000 });
	const marks = await page.locator('#messages').innerText();
	c(/Læst af Sofie Brandt/.test(marks), 'Anna\'s messages show "Læst af Sofie Brandt"', marks.slice(0, 600));
	const dl = page.waitForEvent('download');
	await page.getByRole('button', { name: 'Hent plan.bin' }).click();
	const saved = path.join(tmp, 'from-sofie.bin');
	await (await dl).saveAs(saved);
	c(sha(readFileSync(saved)) === sha(theirs), 'Anna downloads Sofie\'s file byte for byte');
	c(await page.evaluate(() => window.__pwned || 0) === 0 && await page.locator('main img, main script').count() === 0,
		'no injected markup or script ran in the thread');
	await noAxe(page, 'a conversation');
	await shots(page, dir, 'samtale', checks);

	// An underretning from the thread: the chosen message under observations; the thread gets the reference only.
	await page.getByLabel('Medtag i en underretning').first().check();
	await page.getByRole('button', { name: 'Lav en underretning ud fra samtalen' }).click();
	await page.getByRole('heading', { level: 1, name: 'Ny underretning' }).waitFor();
	await page.getByLabel('Barnets navn').fill('Sofie Eksempel');
	await page.getByLabel('Kun fødselsdato').check();
	await page.getByLabel('Barnets fødselsdato').fill(`${new Date().getFullYear() - 9}-03-14`);
	await page.getByLabel('Barnets adresse').fill('Eksempelvej 1, 4200 Slagelse');
	await page.locator('#akut-no').check();
	await page.locator('#handicap-no').check();
	await page.getByRole('button', { name: 'Næste' }).click();
	await page.getByRole('button', { name: 'Fjern forælder 1' }).click();
	await page.locator('#interpreter-no').check();
	await page.getByRole('button', { name: 'Næste' }).click();
	const obs = await page.getByLabel('Hvad har du set og hørt?').inputValue();
	c(obs.includes(FIRST) && !obs.includes(REPLY), 'the chosen message, and only it, is under "Hvad har du set og hørt?"', obs);
	await page.getByLabel('Hvad er du bekymret for?').fill('Eleven er ofte sulten.');
	await page.getByLabel('Barnets trivsel og udvikling').fill('Ellers glad.');
	await page.getByLabel('Hvilken hjælp er forsøgt?').fill('Samtale med rådgiveren.');
	await page.getByRole('button', { name: 'Næste' }).click();
	await page.locator('#contacted-no').check();
	await page.getByLabel('Hvorfor har du ikke talt med forældrene?').fill('Rådgiveren anbefalede at vente.');
	await page.getByRole('button', { name: 'Næste' }).click();
	await page.getByLabel('Din rolle').fill('lærer');
	await page.getByLabel('Din relation til barnet').fill('klasselærer');
	await page.getByRole('button', { name: 'Næste' }).click();
	await page.getByRole('button', { name: 'Send underretningen' }).click();
	await page.getByRole('heading', { level: 1, name: 'Underretningen er sendt' }).waitFor({ timeout: 60000 });
	const ref = (/U-\d{4}-\d{6}/.exec(await page.locator('main').innerText()) || [''])[0];
	let refSeen = false;
	for (let i = 0; i < 20 && !refSeen; i++) {
		const r2 = JSON.parse(sofie('thread', 'read', thread, '--json'));
		refSeen = r2.messages.some((m) => m.reference === ref);
		if (!refSeen) await page.waitForTimeout(500);
	}
	c(ref !== '' && refSeen, `the thread gets the reference ${ref} (Sofie's CLI sees it)`);

	const f = foreign(log, url);
	c(f.length === 0, 'no request to any host but varskod', f.join(' '));
	c(log.errors.length === 0, 'no script error, CSP or Trusted Types violation', log.errors.join(' | '));
} catch (e) {
	c(false, 'the scenario ran to its end', e && e.stack ? e.stack.split('\n').slice(0, 4).join(' ') : String(e));
	await failed(ctx, dir);
	console.log(`page errors: ${log.errors.join(' | ')}`);
} finally {
	await close(ctx);
}
checks.done();
