// Lås op: the passphrase opens the keys sealed in IndexedDB.
import { h, replace } from '../dom.js';
import { t } from '../text.js';
import { alert, button, errorAlert, errorSummary, field, heading } from '../ui.js';

export function unlockPage(main, { device, notice, onUnlock, onForget }) {
	const pass = field({ id: 'passphrase', label: t('unlock.passphrase'), type: 'password', autocomplete: 'current-password' });
	const summary = h('div', { id: 'summary' });
	const status = h('p', { class: 'vk-busy', role: 'status', 'aria-live': 'polite' });
	const submit = button(t('unlock.submit'), { type: 'submit', id: 'unlock-submit' });
	const form = h('form', { novalidate: true, onsubmit: async (ev) => {
		ev.preventDefault();
		if (!pass.input.value) {
			pass.setError(t('unlock.missing'));
			const s = errorSummary([{ id: 'passphrase', text: t('unlock.missing') }]);
			replace(summary, s);
			s.focus();
			return;
		}
		pass.setError(null);
		replace(summary);
		submit.disabled = true;
		status.textContent = t('unlock.working');
		try {
			await onUnlock(pass.input.value);
		} catch (e) {
			const wrong = e && e.code === 'crypto';
			if (wrong) pass.setError(t('unlock.wrong'));
			const a = wrong ? errorSummary([{ id: 'passphrase', text: t('unlock.wrong') }]) : errorAlert(e);
			replace(summary, a);
			a.setAttribute('tabindex', '-1');
			a.focus();
			pass.input.value = '';
		} finally {
			submit.disabled = false;
			status.textContent = '';
		}
	} }, pass.group, submit, status);
	replace(main, heading(t('unlock.title')),
		notice ? alert('info', null, notice) : null,
		h('p', null, t('unlock.intro', { device })), summary, form,
		h('h2', { class: 'h4 mt-7' }, t('unlock.forget')),
		h('p', null, t('unlock.lost')),
		button(t('unlock.forget'), { secondary: true, id: 'forget', onclick: () => {
			if (window.confirm(t('unlock.forget_confirm'))) onForget();
		} }));
}
