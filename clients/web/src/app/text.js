// Every text a person reads, from the Danish catalogue shared with the C CLI
// (clients/catalogue/da.json, generated into build/clients/lib/catalogue.js).
import { document as docTexts, errors, steps, web } from 'varsko-catalogue';

function fill(s, vars) {
	return s.replace(/\{([a-z_]+)\}/g, (m, k) => (vars && vars[k] !== undefined ? String(vars[k]) : m));
}

/** t('enroll.title'), t('unlock.intro', {device: 'd-…'}) */
export function t(key, vars) {
	const [sec, name] = key.split('.');
	const s = web[sec] && web[sec][name];
	if (s === undefined) throw new Error(`no text ${key}`);
	return fill(s, vars);
}

/** What happened and what to do, for an error code (never the code alone). */
export function errorText(code) {
	const e = errors[code] || errors.internal;
	const c = errors[code] ? code : 'internal';
	// In the browser, the next step never names a CLI command (catalogue "web.next").
	return { text: e.text, next: web.next[c] || e.next, code: c };
}

export function roleName(role) {
	return web.roles[role] || role;
}

/** The Danish name of a timeline step or item state (catalogue "steps", shared with the CLI). */
export function stepLabel(step) {
	return steps[step] || step;
}

/** What is wrong with a field of the document, by the problem's name (catalogue "document.problems"). */
export function docProblem(problem) {
	return docTexts.problems[problem] || problem;
}
