// DKFDS building blocks used by every page: the form field with its hint and
// error, the error summary, alerts and buttons. Markup follows the DKFDS
// patterns (form-group, form-label, form-hint, form-error-message, alert).
import { timeParse } from '../crypto/codec.js';
import { h, icon } from './dom.js';
import { errorText, t } from './text.js';

/**
 * A text field: { id, label, hint, type, autocomplete, value, optional, inputmode, spellcheck }.
 * Returns { group, input, setError(text|null) }.
 */
export function field(o) {
	const hintId = o.hint ? `${o.id}-hint` : null;
	const errId = `${o.id}-error`;
	const err = h('span', { class: 'form-error-message', id: errId, hidden: true });
	const input = h('input', {
		class: 'form-input', id: o.id, name: o.id, type: o.type || 'text', autocomplete: o.autocomplete || 'off',
		value: o.value || '', inputmode: o.inputmode, spellcheck: o.spellcheck === undefined ? 'false' : o.spellcheck,
		'aria-describedby': hintId || undefined, required: !o.optional, autocapitalize: o.autocapitalize,
	});
	const group = h('div', { class: 'form-group' },
		h('label', { class: 'form-label', for: o.id }, o.label,
			o.optional ? h('span', { class: 'weight-normal' }, ` (${t('app.optional')})`) : null),
		o.hint ? h('span', { class: 'form-hint', id: hintId }, o.hint) : null,
		err, input);
	function setError(text) {
		if (text) {
			group.classList.add('form-error');
			err.replaceChildren(h('span', { class: 'sr-only' }, 'Fejl: '), text);
			err.hidden = false;
			input.setAttribute('aria-invalid', 'true');
			input.setAttribute('aria-describedby', [hintId, errId].filter(Boolean).join(' '));
		} else {
			group.classList.remove('form-error');
			err.replaceChildren();
			err.hidden = true;
			input.removeAttribute('aria-invalid');
			if (hintId) input.setAttribute('aria-describedby', hintId);
			else input.removeAttribute('aria-describedby');
		}
	}
	return { group, input, setError };
}

/** The DKFDS error summary: a heading and a link to each field in error. */
export function errorSummary(problems) {
	const box = h('div', { class: 'alert alert-error', role: 'alert', tabindex: '-1' },
		icon('error', 'Fejl'),
		h('div', { class: 'alert-body' },
			h('h2', { class: 'alert-heading' }, t('app.problems_heading')),
			h('ul', { class: 'alert-text nobullet-list' },
				problems.map((p) => h('li', null, h('a', { class: 'function-link', href: `#${p.id}`, onclick: (ev) => {
					ev.preventDefault();
					document.getElementById(p.id).focus();
				} }, p.text))))));
	return box;
}

/** An alert: variant info|success|warning|error, a heading and paragraphs. */
export function alert(variant, heading, ...paras) {
	const labels = { info: 'Information', success: 'Succes', warning: 'Advarsel', error: 'Fejl' };
	return h('div', { class: `alert alert-${variant}`, role: variant === 'error' || variant === 'warning' ? 'alert' : 'status' },
		icon(variant, labels[variant]),
		h('div', { class: 'alert-body' },
			heading ? h('h2', { class: 'alert-heading' }, heading) : null,
			paras.filter(Boolean).map((p) => h('p', { class: 'alert-text' }, p))));
}

/** An error from the crypto module or the server as a DKFDS alert in Danish: what happened, what to do. */
export function errorAlert(e, override) {
	if (override) return alert('error', t('app.error_heading'), override);
	const code = e && typeof e.code === 'string' ? e.code : 'internal';
	const x = errorText(code);
	return alert('error', t('app.error_heading'), x.text, x.next, t('app.error_code', { code: x.code }));
}

export function button(text, o = {}) {
	return h('button', { class: `button ${o.secondary ? 'button-secondary' : 'button-primary'}`, type: o.type || 'button',
		onclick: o.onclick, id: o.id }, text);
}

/** Make a page's h1 the focus after navigation, for keyboard and screen reader users. */
export function heading(text) {
	return h('h1', { tabindex: '-1', id: 'page-title' }, text);
}

/**
 * A DKFDS table that stacks its rows on a phone (table--responsive-headers:
 * each cell carries its column's name). cols: [{ title, cell(row) → node|text }].
 */
export function table(caption, cols, rows, o = {}) {
	return h('div', { class: 'table--responsive-scroll' },
		h('table', { class: 'table table--zebra table--responsive-headers', id: o.id },
			h('caption', { class: o.captionVisible ? undefined : 'sr-only' }, caption),
			h('thead', null, h('tr', null, cols.map((c) => h('th', { scope: 'col' }, c.title)))),
			h('tbody', null, rows.map((r) => h('tr', null, cols.map((c) => h('td', { 'data-title': c.title }, c.cell(r))))))));
}

/** A time (Unix seconds, or a protocol time string) as a Danish date and time in Copenhagen. */
export function when(x) {
	const secs = typeof x === 'string' ? timeParse(x) : Number(x);
	return new Date(secs * 1000).toLocaleString('da-DK', {
		timeZone: 'Europe/Copenhagen', dateStyle: 'medium', timeStyle: 'short',
	});
}
