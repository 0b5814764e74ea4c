// The web client's entry: the page frame (DKFDS header, main, footer), the
// device's state (new, locked, unlocked), the live connection, the idle lock
// and the routes. Pages are in pages/; all cryptography is in ../crypto/ and
// the protocol in ../client/.
import { ready, sodium, unb64 } from '../crypto/codec.js';
import { attachFetchOpen } from '../client/attach.js';
import { plain } from '../client/conn.js';
import { enroll, login } from '../client/enroll.js';
import { event as cwEvent, openUnderretning } from '../client/caseworker.js';
import { Session } from '../client/session.js';
import { afterLogin, download, sendDocument, showDevices, showTimeline } from './flows.js';
import { threadCreate, threadFetch, threadList, threadRead, threadSend, threadSendFile, threadSendReference } from '../client/threads.js';
import { conversationPage, newThreadPage, threadsPage } from './pages/threads.js';
import * as vault from '../client/vault.js';
import { h, icon, replace } from './dom.js';
import { enrollPage } from './pages/enroll.js';
import { deadlinesPage, pushAlert } from './pages/deadlines.js';
import { casePage, inboxPage } from './pages/inbox.js';
import { homePage, mePage } from './pages/me.js';
import { minePage } from './pages/mine.js';
import { reportPage } from './pages/report.js';
import { newDraft, underretPage } from './pages/underret.js';
import { unlockPage } from './pages/unlock.js';
import { t } from './text.js';
import { alert, errorAlert, when } from './ui.js';

const PING_MS = 60000;

const app = {
	secrets: null, // the unlocked secrets (null when locked)
	cert: null, // the session's certificate (JSON object)
	conn: null,
	settings: { lock_minutes: 15 }, // sealed under the local key (vault.SETTINGS)
	session: null, // client/session.js, once logged in
	ready: false, // the user key is in order: the pages may show
	directory: null, // the municipality's names (directory_get), refreshed at every login
	pushes: [], // frist and alert pushes of this session, newest first (leder)
	pushHooks: [], // functions a page registers for pushes while it is shown
	liveBox: null,
	formFiles: [], // the form's attachments (File objects), in memory only
	status: 'offline',
	lastUse: Date.now(),
	retry: 0,
	timers: [],
};

let main;
let navBox;
let statusEl;
let releaseEl;
let releaseWarning;

function frame() {
	statusEl = h('span', { class: 'vk-status', 'data-state': 'idle', role: 'status', 'aria-live': 'polite' },
		t('app.offline_locked'));
	navBox = h('div', { class: 'vk-navbar', hidden: true });
	main = h('main', { id: 'main-content', class: 'container', tabindex: '-1' });
	const release = h('p', { class: 'vk-footer-release', id: 'release' });
	releaseEl = release;
	releaseWarning = h('div', { class: 'container', id: 'release-warning', hidden: true });
	const root = document.getElementById('app');
	replace(root,
		h('header', { class: 'header' },
			h('div', { class: 'solution-info' },
				h('div', { class: 'solution-info-inner container vk-brand' },
					h('div', { class: 'solution-heading' }, h('a', { href: '#/' }, t('app.name'))),
					h('div', { class: 'vk-tagline' }, h('p', { class: 'mb-0' }, t('app.tagline')), h('p', { class: 'mb-0' }, statusEl))))),
		navBox,
		releaseWarning,
		main,
		h('footer', null, h('div', { class: 'footer' }, h('div', { class: 'container' },
			h('p', null, t('app.footer')), release))));
	if (navigator.serviceWorker) {
		navigator.serviceWorker.addEventListener('message', (e) => releaseMessage(e.data));
		navigator.serviceWorker.addEventListener('controllerchange', () => showRelease(releaseEl));
	}
	showRelease(release);
}

/*
 * The short hash of the running release (its manifest), in the footer: the
 * service worker's (sw.js) when it controls the page, which also says when
 * it refused a release the server offers; else the served release.json's.
 */
async function showRelease(el) {
	const sw = navigator.serviceWorker;
	if (sw && sw.controller) {
		sw.controller.postMessage({ type: 'release?' });
		return;
	}
	try {
		const r = await fetch('/release.json', { cache: 'no-cache' });
		const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', await r.arrayBuffer()));
		el.textContent = t('app.release', { hash: sodium.to_hex(digest).slice(0, 12) });
	} catch {
		el.textContent = '';
	}
}

/* A message from the service worker: {type: 'release', state, running, offered}. */
function releaseMessage(m) {
	if (!m || m.type !== 'release') return;
	if (m.running) releaseEl.textContent = t('app.release', { hash: m.running.slice(0, 12) });
	if (m.state === 'refused') {
		releaseWarning.hidden = false;
		replace(releaseWarning, alert('warning', t('app.release_refused_heading'), t('app.release_refused'),
			t('app.release_refused_next')));
	} else if (m.state === 'unverified') {
		releaseWarning.hidden = false;
		replace(releaseWarning, alert('warning', t('app.release_refused_heading'), t('app.release_unverified')));
	} else if (m.state === 'current' || m.state === 'taken') {
		releaseWarning.hidden = true;
		replace(releaseWarning);
	}
}

/* The worker's URL through the page's one Trusted Types policy, "varsko" (the CSP requires it): only /sw.js. */
let ttPolicy = null;
function swUrl() {
	if (!window.trustedTypes) return '/sw.js';
	if (!ttPolicy) ttPolicy = window.trustedTypes.createPolicy('varsko', {
		createScriptURL: (u) => {
			if (u !== '/sw.js') throw new TypeError('not the service worker');
			return u;
		},
	});
	return ttPolicy.createScriptURL('/sw.js');
}

/*
 * Pin the organisation root public key where the service worker reads it (a
 * plain record: it is public) and register the worker, once the device is
 * enrolled and unlocked. Without a root (no org chain) nothing is pinned.
 */
async function protectRelease(secrets) {
	if (!secrets.root_pk || !('serviceWorker' in navigator)) return;
	try {
		const pin = await vault.get(vault.RELEASE);
		if (!pin || !pin.root_pk) await vault.put(vault.RELEASE, { root_pk: secrets.root_pk });
		// Not awaited: the worker checks the release while the page goes on.
		navigator.serviceWorker.register(swUrl(), { scope: '/' }).catch(() => {});
	} catch {
		// No worker (a private window, a browser without it): the page runs as before, unprotected.
	}
}

function setStatus(s) {
	app.status = s;
	statusEl.dataset.state = s;
	statusEl.textContent = t({ online: 'app.connected', connecting: 'app.connecting', offline: 'app.offline',
		idle: 'app.offline_locked' }[s]);
}

function renderUser() {
	if (!app.secrets || !app.cert) {
		navBox.hidden = true;
		replace(navBox);
		return;
	}
	const here = location.hash || '#/';
	const link = (href, text) => h('li', null, h('a', { href, 'aria-current': here === href ? 'page' : undefined }, text));
	navBox.hidden = false;
	replace(navBox, h('nav', { class: 'container', 'aria-label': t('nav.label') },
		h('ul', { class: 'vk-nav nobullet-list' },
			link('#/', t('nav.home')),
			app.cert.role === 'fagperson' ? link('#/ny', t('nav.new')) : null,
			app.cert.role === 'fagperson' ? link('#/mine', t('nav.mine')) : null,
			THREAD_ROLES.includes(app.cert.role) ? link('#/samtaler', t('nav.threads')) : null,
			app.cert.role === 'myndighed' || app.cert.role === 'leder' ? link('#/indbakke', t('nav.inbox')) : null,
			app.cert.role === 'leder' ? link('#/frister', t('nav.deadlines')) : null,
			app.cert.role === 'leder' ? link('#/tilsyn', t('nav.report')) : null,
			link('#/mig', t('nav.me')),
			h('li', { class: 'vk-user' }, app.cert.name),
			h('li', null, h('button', { class: 'function-link', type: 'button', id: 'lock', onclick: () => lock() },
				icon('lock'), t('nav.lock'))))));
}

function focusTitle() {
	const title = document.getElementById('page-title');
	if (title) title.focus();
}

function route() {
	if (!app.secrets || !app.ready) return; // locked, or the user key is not in order yet (flows.afterLogin)
	app.pushHooks = [];
	renderUser();
	const hash = location.hash || '#/';
	if (hash === '#/mig') {
		mePage(main, {
			cert: app.cert, secrets: app.secrets, names: nameOf, onLock: () => lock(), onForget: forget,
			lockMinutes: app.settings.lock_minutes,
			onLockMinutes: async (n) => {
				app.settings.lock_minutes = n;
				await vault.putLocal(app.secrets.local_key, vault.SETTINGS, app.settings);
			},
		});
	} else if (hash === '#/enheder') {
		showDevices(main, app.session);
		return;
	} else if (hash === '#/ny' && app.cert.role === 'fagperson') {
		showForm();
		return;
	} else if (hash === '#/mine' && app.cert.role === 'fagperson') {
		showList('mine', (items) => minePage(main, { items, names: nameOf }));
		return;
	} else if (hash === '#/tilsyn' && app.cert.role === 'leder') {
		showReport({});
		return;
	} else if (hash === '#/samtaler' && THREAD_ROLES.includes(app.cert.role)) {
		showThreads();
		return;
	} else if (hash === '#/samtaler/ny' && THREAD_ROLES.includes(app.cert.role)) {
		newThreadPage(main, {
			cert: app.cert, names: nameOf,
			onCreate: async (a) => {
				const r = await threadCreate(app.session, a);
				location.hash = `#/samtale/${r.thread}`;
			},
		});
	} else if (hash.startsWith('#/samtale/') && THREAD_ROLES.includes(app.cert.role)) {
		showConversation(hash.slice(10));
		return;
	} else if (hash.startsWith('#/u/') && app.cert.role === 'fagperson') {
		showTimeline(main, app.session, hash.slice(4), nameOf, app.pushHooks);
		return;
	} else if (hash.startsWith('#/sag/') && (app.cert.role === 'myndighed' || app.cert.role === 'leder')) {
		showCase(hash.slice(6));
		return;
	} else if (hash === '#/indbakke' && (app.cert.role === 'myndighed' || app.cert.role === 'leder')) {
		showList('inbox', (items) => inboxPage(main, { items, team: app.cert.team, names: nameOf }));
		return;
	} else if (hash === '#/frister' && app.cert.role === 'leder') {
		showList('overview', (items) => {
			app.liveBox = deadlinesPage(main, { items, team: app.cert.team, names: nameOf, live: app.pushes });
		}, 'deadlines');
		return;
	} else {
		homePage(main, { cert: app.cert });
	}
	focusTitle();
}

/* The name of an institution or team from the directory (its id when unknown). */
function nameOf(id) {
	const d = app.directory;
	const x = d && [...d.institutions, ...d.teams].find((e) => e.id === id);
	return x ? x.name : id;
}

function akutPhone() {
	const d = app.directory;
	const team = d && d.akut_team && d.teams.find((e) => e.id === d.akut_team);
	return team && team.phone ? { team: team.name, phone: team.phone } : null;
}

const THREAD_ROLES = ['fagperson', 'raadgiver'];

/* A Copenhagen date n days before today, YYYY-MM-DD. */
function cphDate(daysBack) {
	return new Date(Date.now() - daysBack * 86400000).toLocaleDateString('sv-SE', { timeZone: 'Europe/Copenhagen' });
}

/* The leder's ledelsestilsyn for a period (the last 30 days when none is given). */
async function showReport(period) {
	try {
		const req = { type: 'report_get' };
		if (period.from) req.from = period.from;
		if (period.to) req.to = period.to;
		const ans = await app.conn.request(req, 'report');
		const shownTo = period.to || cphDate(0);
		reportPage(main, {
			figures: plain(ans.raw).figures,
			period: { ...period, shownTo, shownFrom: period.from || cphDate(29) },
			onPeriod: (from, to) => showReport({ from, to }),
		});
	} catch (e) {
		replace(main, errorAlert(e));
	}
	focusTitle();
}

async function showThreads() {
	try {
		const r = await threadList(app.session);
		const titles = (await app.session.pinGet('thread-titles')) || {};
		threadsPage(main, { list: r.threads, titles, names: nameOf });
	} catch (e) {
		replace(main, errorAlert(e));
	}
	focusTitle();
}

/* One thread: read (which marks leveret and laest), shown; shown again when a message arrives. */
async function showConversation(thread, keepFocus) {
	const session = app.session;
	let read;
	try {
		read = await threadRead(session, thread);
	} catch (e) {
		replace(main, errorAlert(e));
		focusTitle();
		return;
	}
	if (read.title) {
		const titles = (await session.pinGet('thread-titles')) || {};
		if (titles[thread] !== read.title) await session.pinPut('thread-titles', { ...titles, [thread]: read.title });
	}
	conversationPage(main, {
		read, names: nameOf, canMakeUnderretning: app.cert.role === 'fagperson',
		onSend: async (text, file) => {
			if (file) {
				const bytes = new Uint8Array(await file.arrayBuffer());
				await threadSendFile(session, thread, file.name, file.type || 'application/octet-stream', bytes, /\S/.test(text) ? text : null);
			} else {
				await threadSend(session, thread, text);
			}
			await showConversation(thread, 'message-text');
		},
		onFetch: async (seq) => {
			const f = await threadFetch(session, thread, seq);
			download(f.name, f.data, f.mediaType);
		},
		onMake: async (messages) => {
			const d = newDraft(app.cert);
			if (app.cert.institutions.includes(read.institution)) d.institution = read.institution;
			d.observations = messages.map((m) => `${m.name}, ${when(m.received)}:\n${m.text}`).join('\n\n');
			d.thread = thread;
			await vault.putLocal(app.secrets.local_key, vault.DRAFT, d);
			location.hash = '#/ny';
		},
	});
	app.pushHooks.push((p) => {
		if ((p.type === 'thread_message' || p.type === 'thread_changed') && p.thread === thread && location.hash === `#/samtale/${thread}`)
			showConversation(thread, document.activeElement && document.activeElement.id);
	});
	const again = keepFocus && document.getElementById(keepFocus);
	if (again) again.focus();
	else focusTitle();
}

/* One underretning of the team, opened (which sends "aabnet"), with its decisions for a myndighed. */
async function showCase(ref) {
	try {
		const o = await openUnderretning(app.session, ref);
		casePage(main, {
			opened: { reference: ref, document: o.doc, receipt: o.info },
			teams: app.directory ? app.directory.teams : [],
			names: nameOf,
			canDecide: app.cert.role === 'myndighed',
			onEvent: (kind, args) => cwEvent(app.session, ref, kind, args),
			onAttachment: async (a) => {
				const data = await attachFetchOpen(app.session, { blob: a.id, size: a.size, key: unb64(a.key, 32), sha256: unb64(a.sha256, 32) });
				download(a.name, data, a.media_type);
			},
		});
	} catch (e) {
		replace(main, errorAlert(e));
	}
	focusTitle();
}

/* A list frame (mine, inbox, overview) and its page; an error shows in Danish where the page would be. */
async function showList(type, render, want = 'items') {
	try {
		const ans = await app.conn.request({ type }, want);
		render(plain(ans.raw).items);
	} catch (e) {
		replace(main, errorAlert(e));
	}
	focusTitle();
}

let draftTimer = null;

async function showForm() {
	const draft = (await vault.getLocal(app.secrets.local_key, vault.DRAFT)) || newDraft(app.cert);
	underretPage(main, {
		cert: app.cert, draft, names: nameOf, akutPhone: akutPhone(), files: app.formFiles,
		onChange: (d) => {
			clearTimeout(draftTimer);
			const key = app.secrets.local_key;
			draftTimer = setTimeout(() => vault.putLocal(key, vault.DRAFT, d), 300);
		},
		onSend: async (doc, d, files) => {
			clearTimeout(draftTimer);
			const r = await sendDocument(main, app.session, doc, nameOf, files);
			app.formFiles.length = 0;
			// Made from a thread: the thread learns the reference, never the content (17.10).
			if (d.thread) await threadSendReference(app.session, d.thread, r.info.reference).catch(() => {});
		},
		onDiscard: async () => {
			clearTimeout(draftTimer);
			await vault.del(vault.DRAFT);
			app.formFiles.length = 0;
			showForm();
		},
	});
	focusTitle();
}

/* ---- the connection ------------------------------------------------------- */

async function connect() {
	setStatus('connecting');
	const { conn, cert } = await login(app.secrets);
	app.conn = conn;
	app.cert = cert;
	app.session = new Session(conn, app.secrets, cert);
	app.retry = 0;
	setStatus('online');
	conn.request({ type: 'directory_get' }, 'directory').then((d) => {
		app.directory = plain(d.raw);
	}).catch(() => {});
	conn.onclose = () => {
		if (app.conn !== conn) return;
		app.conn = null;
		setStatus('offline');
		if (app.secrets) reconnectLater();
	};
	conn.onpush = onPush;
}

/* Pushes (PROTOCOL.md 12.7): deadline warnings and alerts for leders, new underretninger, events. */
function onPush(f) {
	const p = f.raw ? plain(f.raw) : f;
	if (p.type === 'frist' || p.type === 'alert') {
		app.pushes.unshift(p);
		if (app.liveBox && app.liveBox.isConnected) app.liveBox.prepend(pushAlert(p));
	} else if (p.type === 'new_underretning' && (location.hash === '#/indbakke')) {
		route();
	} else if (p.type === 'missed') {
		// Pushes were dropped while this page read too slowly: fetch what it shows again.
		route();
	}
	for (const fn of app.pushHooks) fn(p);
}

/* Codes after which trying again cannot help: the device is no longer accepted, or the server is not ours. */
const FINAL = ['device_revoked', 'device_expired', 'unknown_device', 'bad_cert', 'bad_chain', 'auth_failed'];

function reconnectLater() {
	const delay = Math.min(30000, 1000 * 2 ** app.retry++);
	app.timers.push(setTimeout(() => {
		if (!app.secrets || app.conn) return;
		connect().catch((e) => {
			if (e && FINAL.includes(e.code)) {
				// Say why, in Danish, where the page was; nothing typed is lost (the draft stays sealed).
				setStatus('idle');
				replace(main, errorAlert(e));
				return;
			}
			reconnectLater();
		});
	}, delay));
}

/* ---- lock, unlock, enroll ----------------------------------------------------- */

function wipeSecrets(s) {
	if (!s) return;
	for (const k of ['sign_sk', 'box_sk', 'local_key']) {
		if (typeof s[k] === 'string') s[k] = '';
	}
}

async function lock(notice) {
	const s = app.secrets;
	app.secrets = null;
	app.ready = false;
	app.session = null;
	app.pushes = [];
	wipeSecrets(s);
	for (const tm of app.timers) clearTimeout(tm);
	app.timers = [];
	if (app.conn) {
		const c = app.conn;
		app.conn = null;
		c.close();
	}
	app.cert = null;
	setStatus('idle');
	renderUser();
	await start(notice);
}

async function forget() {
	await lock();
	await vault.clear();
	await start(null, t('me.forgotten'));
}

async function unlocked(secrets) {
	app.secrets = secrets;
	await protectRelease(secrets);
	app.settings = { lock_minutes: 15, ...(await vault.getLocal(secrets.local_key, vault.SETTINGS)) };
	app.lastUse = Date.now();
	await connect();
	app.timers.push(setInterval(() => {
		if (app.conn) app.conn.request({ type: 'ping' }, 'pong').catch(() => {});
	}, PING_MS));
	app.timers.push(setInterval(() => {
		const minutes = app.settings.lock_minutes || 15;
		if (app.secrets && Date.now() - app.lastUse > minutes * 60000)
			lock(t('unlock.locked_idle', { minutes }));
	}, 5000));
}

/* The pages, once the user key is in order; `info` a message to show above the first one. */
function shown(info) {
	app.ready = true;
	route();
	if (info) main.prepend(alert('success', null, info));
}

async function start(notice, info) {
	const rec = await vault.get(vault.DEVICE);
	if (!rec) {
		enrollPage(main, {
			onEnroll: async (o) => {
				const secrets = await enroll(o);
				location.hash = '#/';
				await unlocked(secrets);
				await afterLogin(main, app.session, shown);
			},
		});
		if (info) main.prepend(alert('success', null, info));
		focusTitle();
		return;
	}
	unlockPage(main, {
		device: rec.device,
		notice,
		onUnlock: async (passphrase) => {
			const secrets = vault.unseal(passphrase, rec.sealed);
			await unlocked(secrets);
			await afterLogin(main, app.session, shown);
		},
		onForget: forget,
	});
	focusTitle();
}

async function boot() {
	frame();
	replace(main, h('p', { role: 'status' }, t('app.loading')));
	try {
		await ready();
	} catch {
		replace(main, alert('error', t('app.error_heading'), t('app.nojs_crypto')));
		return;
	}
	if (!window.indexedDB) {
		replace(main, alert('error', t('app.error_heading'), t('app.storage')));
		return;
	}
	for (const ev of ['pointerdown', 'keydown']) document.addEventListener(ev, () => {
		app.lastUse = Date.now();
	}, { passive: true });
	window.addEventListener('hashchange', route);
	try {
		await start();
	} catch (e) {
		replace(main, alert('error', t('app.error_heading'), e && e.code === 'storage' ? t('app.storage') : String(e.message)));
	}
}

boot();
