// The web client's crypto module against every file in proto/vectors/: each
// tests/web/vectors/*.mjs exports `default async (t, load)`; `load(name)` reads
// proto/vectors/<name>. Prints one line per failed check and a summary, exits
// 1 when a check failed or a module threw, 0 otherwise. Run with Node from the
// source tree (tests/meson.build registers it as the unit test `web_vectors`).
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import { ready } from '../../clients/web/src/crypto/codec.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const vectors = path.join(here, '..', '..', 'proto', 'vectors');
const only = process.argv.slice(2);

async function load(name) {
	return JSON.parse(await readFile(path.join(vectors, name), 'utf8'));
}

let passed = 0;
let failed = 0;
function makeT(mod) {
	const t = {
		ok(cond, what) {
			if (cond) passed++;
			else {
				failed++;
				console.log(`FAIL ${mod}: ${what}`);
			}
		},
		eq(got, want, what) {
			t.ok(got === want, `${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
		},
		throws(fn, code, what) {
			try {
				fn();
				t.ok(false, `${what}: accepted, want ${code}`);
			} catch (e) {
				t.ok(code === undefined || e.code === code, `${what}: threw ${e.code || e.message}, want ${code}`);
			}
		},
		async rejects(fn, code, what) {
			try {
				await fn();
				t.ok(false, `${what}: accepted, want ${code}`);
			} catch (e) {
				t.ok(code === undefined || e.code === code, `${what}: threw ${e.code || e.message}, want ${code}`);
			}
		},
	};
	return t;
}

await ready();
const files = (await readdir(path.join(here, 'vectors'))).filter((f) => f.endsWith('.mjs')).sort();
for (const f of files) {
	const name = f.replace(/\.mjs$/, '');
	if (only.length && !only.includes(name)) continue;
	const before = passed + failed;
	try {
		const mod = await import(pathToFileURL(path.join(here, 'vectors', f)));
		await mod.default(makeT(name), load);
	} catch (e) {
		failed++;
		console.log(`FAIL ${name}: threw ${e && e.stack ? e.stack : e}`);
	}
	console.log(`${name}: ${passed + failed - before} checks`);
}
console.log(`web vectors: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
