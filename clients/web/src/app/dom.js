// The only way pages make DOM: elements from a tag, properties and children.
// Text is always a text node (textContent); attributes go through
// setAttribute, and a link's href must be a same-page or same-origin path.
// No string ever becomes markup (no innerHTML anywhere: the CSP's Trusted
// Types would refuse it), so text that comes from people shows as typed.
import spriteUrl from 'dkfds-dist/img/all-svg-icons.svg';

const SVG = 'http://www.w3.org/2000/svg';

function safeHref(v) {
	const s = String(v);
	// "#/…" routes, "/…" paths of this origin, and blob: URLs this page made (downloads).
	if (/^#[A-Za-z0-9/_-]*$/.test(s) || /^\/(?!\/)[A-Za-z0-9._~/?=&%-]*$/.test(s) || s.startsWith('blob:' + location.origin + '/'))
		return s;
	throw new Error('refused href');
}

/**
 * h('div', {class: 'x', id: 'y', onclick: fn, 'aria-live': 'polite'}, 'text', child, [more])
 * Properties: `class`, `for`, `on<event>` (a function), `value`, `checked`,
 * `disabled`, `hidden`, `required`, anything else as an attribute (`href`
 * checked). null, undefined and false children are skipped.
 */
export function h(tag, props, ...children) {
	const el = document.createElement(tag);
	setProps(el, props);
	append(el, children);
	return el;
}

function setProps(el, props) {
	if (!props) return;
	for (const [k, v] of Object.entries(props)) {
		if (v === undefined || v === null || v === false) continue;
		if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
		else if (k === 'value') el.value = v;
		else if (k === 'checked' || k === 'disabled' || k === 'hidden' || k === 'required') el[k] = Boolean(v);
		else if (k === 'href') el.setAttribute('href', safeHref(v));
		else if (/^(on|srcdoc$|src$|style$)/i.test(k)) throw new Error(`refused attribute ${k}`);
		else el.setAttribute(k, v === true ? '' : String(v));
	}
}

/*
 * Bidirectional controls (embedding, override, isolate: U+202A..U+202E,
 * U+2066..U+2069) in text from people could reorder what follows them
 * ("rapport\u202Efdp.exe" shows as "rapportexe.pdf"). They are shown as
 * what they are, a visible marker, never obeyed.
 */
const BIDI = /[\u202A-\u202E\u2066-\u2069]/;

function textOf(str) {
	if (!BIDI.test(str)) return document.createTextNode(str);
	const frag = document.createDocumentFragment();
	for (const part of str.split(/([\u202A-\u202E\u2066-\u2069])/)) {
		if (part === '') continue;
		if (BIDI.test(part)) {
			const code = `U+${part.codePointAt(0).toString(16).toUpperCase()}`;
			const mark = document.createElement('span');
			mark.className = 'vk-bidi';
			mark.textContent = `⟨${code}⟩`;
			frag.append(mark);
		} else {
			frag.append(document.createTextNode(part));
		}
	}
	return frag;
}

export function append(el, children) {
	for (const c of children.flat(Infinity)) {
		if (c === null || c === undefined || c === false) continue;
		el.append(c instanceof Node ? c : textOf(String(c)));
	}
	return el;
}

/** Replace everything inside el. */
export function replace(el, ...children) {
	el.replaceChildren();
	return append(el, children);
}

/** A DKFDS icon from the bundled sprite (decorative unless a label is given). */
export function icon(name, label) {
	const svg = document.createElementNS(SVG, 'svg');
	svg.setAttribute('class', 'icon-svg');
	svg.setAttribute('focusable', 'false');
	if (label) {
		svg.setAttribute('role', 'img');
		svg.setAttribute('aria-label', label);
	} else {
		svg.setAttribute('aria-hidden', 'true');
	}
	const use = document.createElementNS(SVG, 'use');
	use.setAttribute('href', `${spriteUrl}#${name}`);
	svg.append(use);
	return svg;
}
