// Forside and Mig: who is logged in on this device, the lock setting, log out.
import { fingerprint, unb64 } from '../../crypto/codec.js';
import { h, replace } from '../dom.js';
import { roleName, t } from '../text.js';
import { alert, button, field, heading } from '../ui.js';

export function homePage(main, { cert }) {
	replace(main, heading(t('home.title', { name: cert.name })),
		h('p', { class: 'font-lead' }, t('home.intro', { role: roleName(cert.role) })),
		alert('info', null, t('home.soon')));
}

function row(term, value) {
	return [h('dt', null, term), h('dd', null, value)];
}

export function mePage(main, { cert, secrets, names, lockMinutes, onLock, onForget, onLockMinutes }) {
	const org = fingerprint(unb64(secrets.root_pk || secrets.org_pk, 32));
	const minutes = field({ id: 'lock-minutes', label: t('me.lock_after'), hint: t('me.lock_after_hint'), inputmode: 'numeric',
		value: String(lockMinutes || 15) });
	const saved = h('p', { role: 'status', 'aria-live': 'polite' });
	const form = h('form', { novalidate: true, onsubmit: async (ev) => {
		ev.preventDefault();
		const v = minutes.input.value.trim();
		const n = /^[0-9]{1,2}$/.test(v) ? Number(v) : 0;
		if (n < 1 || n > 60) {
			minutes.setError(t('me.lock_after_bad'));
			minutes.input.focus();
			return;
		}
		minutes.setError(null);
		await onLockMinutes(n);
		saved.textContent = t('me.saved');
	} }, minutes.group, button(t('me.save'), { type: 'submit', secondary: true }), saved);
	replace(main, heading(t('me.title')),
		h('dl', { class: 'vk-facts' },
			row(t('me.name'), cert.name),
			row(t('me.role'), roleName(cert.role)),
			cert.institutions.length ? row(t('me.institutions'), cert.institutions.map(names).join(', ')) : null,
			cert.team ? row(t('me.team'), names(cert.team)) : null,
			row(t('me.device'), h('span', { class: 'vk-mono' }, cert.device)),
			row(t('me.org'), h('span', { class: 'vk-mono' }, org)),
			row(t('me.valid'), new Date(cert.notAfter * 1000).toLocaleDateString('da-DK', { dateStyle: 'long' }))),
		h('p', null, h('a', { href: '#/enheder', id: 'my-devices' }, t('me.devices'))),
		form,
		h('p', { class: 'mt-7' }, button(t('me.lock'), { secondary: true, id: 'lock-now', onclick: onLock })),
		h('p', null, button(t('me.logout'), { secondary: true, id: 'logout', onclick: () => {
			if (window.confirm(t('me.logout_confirm'))) onForget();
		} })));
}
