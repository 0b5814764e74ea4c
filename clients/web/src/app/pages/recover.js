// Godkend denne browser: a further device of a user, approved with the
// user's recovery code (PROTOCOL.md 15.6) or from another of the user's
// devices (15.7: this browser shows a six-digit code the user types there).
import { h, replace } from '../dom.js';
import { t } from '../text.js';
import { alert, button, errorAlert, errorSummary, field, heading } from '../ui.js';

/** "123456" as the CLI shows it: "123 456". */
export function codeGrouped(code) {
	return `${code.slice(0, 3)} ${code.slice(3)}`;
}

export function recoverPage(main, { onRecover, onApprove, onApproved }) {
	let attempt = 0; // the approval attempt shown; an older one's answers are ignored
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
			attempt++; // recovered: a waiting approval no longer matters
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

	// The other way: approval from another device. `live` says every change (the code included).
	const problem = h('div', { id: 'approve-problem' });
	const shown = h('div', { id: 'approve-code-box' });
	const live = h('p', { id: 'approve-status', class: 'vk-busy' });
	const start = button(t('approve.start'), { id: 'approve-start', secondary: true, onclick: () => begin() });
	const liveBox = h('div', { role: 'status', 'aria-live': 'polite' }, shown, live);

	async function begin() {
		const mine = ++attempt;
		const current = () => mine === attempt;
		replace(problem);
		replace(shown);
		start.textContent = t('approve.again');
		live.textContent = t('approve.starting');
		try {
			await onApprove((step, six) => {
				if (!current()) return;
				if (step === 'offer') {
					live.textContent = t('approve.wait_offer');
				} else if (step === 'code') {
					replace(shown,
						h('p', { class: 'font-lead mb-3' }, `${t('approve.code_label')} `,
							h('span', { class: 'vk-code', id: 'approval-code' }, codeGrouped(six))),
						h('p', null, t('approve.code_howto')));
					live.textContent = t('approve.wait_confirm');
				}
			});
		} catch (e) {
			if (!current()) return;
			replace(shown);
			live.textContent = '';
			const c = e && e.code;
			const a = c === 'timeout' ? alert('error', t('app.error_heading'), t('approve.timeout'))
				: c === 'approval_failed' || c === 'not_found' ? alert('error', t('app.error_heading'), t('approve.failed'))
					: errorAlert(e);
			a.setAttribute('tabindex', '-1');
			replace(problem, a);
			a.focus();
			return;
		}
		if (current()) onApproved();
	}

	replace(main, heading(t('recover.title')), h('p', null, t('recover.intro')), summary,
		h('h2', null, t('recover.code_heading')), form,
		h('h2', { class: 'mt-7' }, t('approve.heading')),
		h('p', null, t('approve.intro')),
		problem, liveBox, h('p', null, start));
}
