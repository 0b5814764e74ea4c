// Tilmeld: enroll this browser with the one-time code and the organisation's
// fingerprint; the passphrase seals the keys in IndexedDB.
import { h, replace } from '../dom.js';
import { t } from '../text.js';
import { alert, button, errorAlert, errorSummary, field, heading } from '../ui.js';

const FPR_RE = /^[0-9a-f]{32}$/;

export function enrollPage(main, { onEnroll }) {
	const code = field({ id: 'code', label: t('enroll.code'), hint: t('enroll.code_hint'), autocapitalize: 'characters' });
	const fpr = field({ id: 'fingerprint', label: t('enroll.fingerprint'), hint: t('enroll.fingerprint_hint') });
	const label = field({ id: 'label', label: t('enroll.label'), hint: t('enroll.label_hint'), value: t('enroll.label_default'),
		optional: true });
	const pass = field({ id: 'passphrase', label: t('enroll.passphrase'), hint: t('enroll.passphrase_hint'), type: 'password',
		autocomplete: 'new-password' });
	const pass2 = field({ id: 'passphrase2', label: t('enroll.passphrase2'), type: 'password', autocomplete: 'new-password' });
	const summary = h('div', { id: 'summary' });
	const status = h('p', { class: 'vk-busy', role: 'status', 'aria-live': 'polite' });
	const submit = button(t('enroll.submit'), { type: 'submit', id: 'enroll-submit' });

	// Each field's rule, used while typing (after the first visit) and on submit.
	const rules = [
		[code, () => (code.input.value.trim() ? null : t('enroll.code_missing'))],
		[fpr, () => {
			const v = fpr.input.value.toLowerCase().replace(/[\s:-]/g, '');
			if (!v) return t('enroll.fingerprint_missing');
			return FPR_RE.test(v) ? null : t('enroll.fingerprint_form');
		}],
		[pass, () => ([...pass.input.value].length >= 12 ? null : t('enroll.passphrase_short'))],
		[pass2, () => (pass2.input.value === pass.input.value ? null : t('enroll.passphrase_differ'))],
	];
	for (const [f, rule] of rules) {
		let touched = false;
		f.input.addEventListener('blur', () => {
			touched = true;
			f.setError(rule());
		});
		f.input.addEventListener('input', () => {
			if (touched) f.setError(rule());
		});
	}

	const form = h('form', { novalidate: true, onsubmit: async (ev) => {
		ev.preventDefault();
		const problems = [];
		for (const [f, rule] of rules) {
			const p = rule();
			f.setError(p);
			if (p) problems.push({ id: f.input.id, text: p });
		}
		if (problems.length) {
			const s = errorSummary(problems);
			replace(summary, s);
			s.focus();
			return;
		}
		replace(summary);
		submit.disabled = true;
		status.textContent = t('enroll.working');
		try {
			await onEnroll({
				code: code.input.value.trim().toUpperCase(),
				fpr: fpr.input.value,
				label: label.input.value.trim() || t('enroll.label_default'),
				passphrase: pass.input.value,
			});
			pass.input.value = '';
			pass2.input.value = '';
		} catch (e) {
			const a = e && e.fingerprint ? errorAlert(e, t('enroll.wrong_fingerprint')) : errorAlert(e);
			replace(summary, a);
			a.setAttribute('tabindex', '-1');
			a.focus();
		} finally {
			submit.disabled = false;
			status.textContent = '';
		}
	} }, code.group, fpr.group, label.group, pass.group, pass2.group, submit, status);

	replace(main, heading(t('enroll.title')), h('p', { class: 'font-lead' }, t('enroll.intro')), summary, form);
}

/** The recovery code, shown once after a first enrollment. */
export function recoveryPage(main, { code, onDone }) {
	const ok = h('input', { type: 'checkbox', id: 'saved', class: 'form-checkbox' });
	const go = button(t('recovery.continue'), { id: 'recovery-continue', onclick: () => {
		if (ok.checked) onDone();
		else ok.focus();
	} });
	go.disabled = true;
	ok.addEventListener('change', () => {
		go.disabled = !ok.checked;
	});
	replace(main, heading(t('recovery.title')),
		h('p', null, t('recovery.intro')),
		h('p', null, h('span', { class: 'vk-code', id: 'recovery-code' }, code)),
		alert('warning', null, t('recovery.advice')),
		h('p', { class: 'vk-noprint' }, button(t('recovery.print'), { secondary: true, onclick: () => window.print() })),
		h('div', { class: 'form-group vk-noprint' },
			h('fieldset', null, h('legend', { class: 'sr-only' }, t('recovery.confirm')),
				h('ul', { class: 'nobullet-list' }, h('li', null, ok,
					h('label', { class: 'form-label', for: 'saved' }, t('recovery.confirm')))))),
		h('p', { class: 'vk-noprint' }, go));
}
