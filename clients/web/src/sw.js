// The service worker: keeps the running release of the web client and takes
// a new one only when the organisation root key signed it (PROTOCOL.md 18,
// docs/WEB.md "The release manifest").
//
// The page registers it once the device is enrolled and pins the root public
// key in IndexedDB (vault key 'release', {root_pk}); until a root is pinned
// every request passes through. Then, at install and at each navigation, it
// fetches /release.json and /release.sig (never from a cache); a release it
// does not run yet is taken only when its manifest verifies under the pinned
// root and every listed file has its SHA-256 (each is cached in the Cache
// Storage cache of that release as it is checked). Release files and
// navigations are served from the running release's cache; the WebSocket and
// everything else passes through. A refused release leaves the running one
// in place and the pages are told (message 'release'), so they can say so.
//
// Its limit: the browser fetches a new sw.js from the server itself, so a
// hostile server can replace this worker at an update (docs/WEB.md).
import { Fields, equalBytes, ready, toHex, unb64, verify } from './crypto/codec.js';

const DB = 'varsko';
const STORE = 'kv';
const PIN = 'release'; // {root_pk}: written by the page (main.js)
const RUNNING = 'release_running'; // {hash, files: {path: hex}}: written here
const PREFIX = 'varsko-release-';
const TAG = 'varsko-release-v1';
const CHECK_WAIT_MS = 30000; // a navigation waits at most this long for the check
const PARALLEL = 6; // files fetched at once while a release is checked
const PATH_RE = /^(?:[A-Za-z0-9_-][A-Za-z0-9._-]*\/)*[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

function idb(mode, fn) {
	return new Promise((resolve, reject) => {
		const req = indexedDB.open(DB, 1);
		req.onupgradeneeded = () => req.result.createObjectStore(STORE);
		req.onerror = () => reject(new Error('storage'));
		req.onsuccess = () => {
			const db = req.result;
			const t = db.transaction(STORE, mode);
			const r = fn(t.objectStore(STORE));
			t.oncomplete = () => {
				db.close();
				resolve(r && 'result' in r ? r.result : undefined);
			};
			t.onerror = t.onabort = () => {
				db.close();
				reject(new Error('storage'));
			};
		};
	});
}

const idbGet = (k) => idb('readonly', (s) => s.get(k));
const idbPut = (k, v) => idb('readwrite', (s) => s.put(v, k));

async function sha256(bytes) {
	return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
}

async function pinnedRoot() {
	const pin = await idbGet(PIN).catch(() => null);
	try {
		return pin && pin.root_pk ? unb64(pin.root_pk, 32) : null;
	} catch {
		return null;
	}
}

/* A copy of a fetched response around bytes already read (the body is decoded: no Content-Encoding). */
function copy(res, bytes) {
	const headers = new Headers(res.headers);
	headers.delete('Content-Encoding');
	headers.delete('Content-Length');
	return new Response(bytes, { status: res.status, statusText: res.statusText, headers });
}

/* Throws unless sigText is the root's signature over the manifest hash (PROTOCOL.md 18). */
function checkSignature(sigText, hash, root) {
	const o = JSON.parse(sigText);
	if (!o || o.version !== 1 || typeof o.manifest !== 'string' || typeof o.sig !== 'string')
		throw new Error('release.sig is malformed');
	if (!equalBytes(unb64(o.manifest, 32), hash)) throw new Error('release.sig signs another release.json');
	if (!verify(new Fields(TAG).bytes(hash).done(), unb64(o.sig, 64), root))
		throw new Error('release.sig is not the root key\'s signature');
}

function parseManifest(bytes) {
	const m = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
	if (!m || m.version !== 1 || !m.files || typeof m.files !== 'object') throw new Error('release.json is malformed');
	const files = {};
	for (const [p, hex] of Object.entries(m.files)) {
		if (!PATH_RE.test(p) || p.split('/').some((s) => s === '.' || s === '..') ||
			typeof hex !== 'string' || !/^[0-9a-f]{64}$/.test(hex))
			throw new Error(`release.json: bad entry ${p}`);
		files[p] = hex;
	}
	if (!files['index.html']) throw new Error('release.json lists no index.html');
	return files;
}

/* Fetch, check and cache every file of a release; throws at the first that does not match. */
async function take(hex, files) {
	const name = PREFIX + hex;
	const cache = await caches.open(name);
	const queue = Object.entries(files);
	const one = async ([p, want]) => {
		const res = await fetch('/' + p, { cache: 'no-cache', credentials: 'same-origin' });
		if (!res.ok) throw new Error(`${p}: HTTP ${res.status}`);
		const bytes = await res.arrayBuffer();
		if (toHex(await sha256(bytes)) !== want) throw new Error(`${p}: its SHA-256 is not the manifest's`);
		await cache.put('/' + p, copy(res, bytes));
	};
	try {
		await Promise.all(Array.from({ length: PARALLEL }, async () => {
			while (queue.length) await one(queue.shift());
		}));
	} catch (e) {
		await caches.delete(name);
		throw e;
	}
	await idbPut(RUNNING, { hash: hex, files });
	for (const k of await caches.keys())
		if (k.startsWith(PREFIX) && k !== name) await caches.delete(k);
}

let running = null; // {hash, files}, loaded from IndexedDB
let last = null; // the last check's result: {state, running, offered, reason}
let inflight = null;
const servedTo = new Map(); // client id -> the release hash its page was served from (this worker's life)

async function loadRunning() {
	if (!running) running = (await idbGet(RUNNING).catch(() => null)) || null;
	return running;
}

async function tell(result) {
	for (const c of await self.clients.matchAll({ type: 'window', includeUncontrolled: true }))
		c.postMessage({ type: 'release', ...result });
}

/*
 * The check: state 'unpinned' (no root: pass through), 'current' (the
 * served release is the running one), 'taken' (a new signed release is now
 * running), 'refused' (the served release does not verify; the running one
 * stays), 'unverified' (it does not verify and nothing runs yet: pass
 * through) or 'offline' (the server could not be asked).
 */
async function check() {
	await ready();
	const root = await pinnedRoot();
	if (!root) return { state: 'unpinned' };
	const run = await loadRunning();
	const have = run ? run.hash : null;
	let json;
	let sig;
	try {
		const [a, b] = await Promise.all([
			fetch('/release.json', { cache: 'no-store', credentials: 'same-origin' }),
			fetch('/release.sig', { cache: 'no-store', credentials: 'same-origin' }),
		]);
		if (!a.ok) throw new Error(`release.json: HTTP ${a.status}`);
		json = new Uint8Array(await a.arrayBuffer());
		sig = b.ok ? await b.text() : null;
	} catch (e) {
		return { state: 'offline', running: have, reason: String(e.message || e) };
	}
	const hash = await sha256(json);
	const hex = toHex(hash);
	if (hex === have && (await caches.has(PREFIX + hex))) return { state: 'current', running: have };
	try {
		if (sig === null) throw new Error('release.sig is missing');
		checkSignature(sig, hash, root);
		await take(hex, parseManifest(json));
	} catch (e) {
		const r = { state: have ? 'refused' : 'unverified', running: have, offered: hex, reason: String(e.message || e) };
		await tell(r);
		return r;
	}
	running = await idbGet(RUNNING);
	const r = { state: 'taken', running: hex, previous: have };
	await tell(r);
	return r;
}

function checkOnce() {
	if (!inflight) {
		inflight = check().catch((e) => ({ state: 'error', running: running && running.hash, reason: String(e) }))
			.then((r) => {
				last = r;
				inflight = null;
				return r;
			});
	}
	return inflight;
}

async function fromRelease(path) {
	const run = await loadRunning();
	if (!run) return null;
	const cache = await caches.open(PREFIX + run.hash);
	return cache.match(path);
}

async function navigate(req, clientId) {
	if (!(await pinnedRoot())) return fetch(req);
	await Promise.race([checkOnce(), new Promise((r) => setTimeout(r, CHECK_WAIT_MS))]);
	const res = await fromRelease('/index.html');
	if (res && clientId) servedTo.set(clientId, running.hash);
	return res || fetch(req);
}

async function asset(req, path) {
	const res = await fromRelease(path);
	if (res) return res;
	// Not in the cache (evicted): fetch it and hold it to the running manifest.
	const run = await loadRunning();
	const net = await fetch(req);
	const bytes = await net.arrayBuffer();
	if (!run || toHex(await sha256(bytes)) !== run.files[path.slice(1)])
		return new Response('not part of the running release', { status: 502 });
	const out = copy(net, bytes);
	await (await caches.open(PREFIX + run.hash)).put(path, out.clone());
	return out;
}

self.addEventListener('install', (e) => {
	self.skipWaiting();
	e.waitUntil(checkOnce());
});

self.addEventListener('activate', (e) => {
	e.waitUntil(self.clients.claim());
});

self.addEventListener('fetch', (e) => {
	const req = e.request;
	if (req.method !== 'GET') return;
	const url = new URL(req.url);
	if (url.origin !== self.location.origin) return;
	if (req.mode === 'navigate' && (url.pathname === '/' || url.pathname === '/index.html')) {
		e.respondWith(navigate(req, e.resultingClientId));
		return;
	}
	const p = url.pathname === '/' ? 'index.html' : url.pathname.slice(1);
	if (!running || !running.files[p]) {
		// Not known to be a release file yet: ask the stored state, then decide.
		e.respondWith(loadRunning().then((run) => (run && run.files[p] ? asset(req, '/' + p) : fetch(req))));
		return;
	}
	e.respondWith(asset(req, '/' + p));
});

// A page asks which release runs ({type: 'release?'}); the answer is the last check's (or a new one).
self.addEventListener('message', (e) => {
	if (!e.data || e.data.type !== 'release?') return;
	const answer = async () => {
		const r = inflight ? await inflight : last || (await checkOnce());
		// The release this page runs: the one its navigation was served from, else the running one.
		const mine = (e.source && servedTo.get(e.source.id)) || r.running || (running && running.hash);
		if (e.source) e.source.postMessage({ type: 'release', ...r, running: mine });
	};
	e.waitUntil(answer());
});
