// Godkend denne browser: a further device of a user, approved with the
// user's recovery code (PROTOCOL.md 15.6).
import { h, replace } from '../dom.js';
import { t } from '../text.js';
import { alert, button, errorAlert, errorSummary, field, heading } from '../ui.js';

export function recoverPage(main, { onRecover }) {
	const code = field({ id: 'recovery-code', label: t('recover.code'), hint: t('recover.code_hint'), autocapitalize: 'characters' });
	const summary = h('div', { id: 'summary' });
	const status = h('p', { class: 'vk-busy', role: 'status', 'aria-live': 'polite' });
	const submit = button(t('recover.submit'), { type: 'submit', id: 'recover-submit' });
	const form = h('form', { novalidate: true, onsubmit: async (ev) => {
		ev.preventDefault();
		const v = code.input.value.trim();
		if (!v) {
			code.setError(t('recover.code_missing'));
			const s = errorSummary([{ id: 'recovery-code', text: t('recover.code_missing') }]);
			replace(summary, s);
			s.focus();
			return;
		}
		code.setError(null);
		replace(summary);
		submit.disabled = true;
		status.textContent = t('recover.working');
		try {
			await onRecover(v);
		} catch (e) {
			const wrong = e && (e.code === 'crypto' || e.code === 'bad_input');
			if (wrong) code.setError(t('recover.wrong'));
			const a = wrong ? errorSummary([{ id: 'recovery-code', text: t('recover.wrong') }]) : errorAlert(e);
			replace(summary, a);
			a.setAttribute('tabindex', '-1');
			a.focus();
		} finally {
			submit.disabled = false;
			status.textContent = '';
		}
	} }, code.group, submit, status);
	replace(main, heading(t('recover.title')), h('p', null, t('recover.intro')), summary, form,
		alert('info', null, t('recover.other_device')));
}
