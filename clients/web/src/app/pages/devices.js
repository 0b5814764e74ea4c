// Mine enheder: the user's devices by the verified user chain, and the
// approval of a new device of the user (PROTOCOL.md 15.7) from this one: the
// user chooses the request, the new device then shows six digits, and the
// user types them here. A wrong code approves nothing.
import { h, replace } from '../dom.js';
import { t } from '../text.js';
import { alert, button, errorAlert, errorSummary, field, heading, table, when } from '../ui.js';

/**
 * devices: userDevices(); requests: approvalList().items; info: a success
 * text to show first. onOffer(id) → a handle once the new device shows its
 * code; onConfirm(handle, typed); onRefresh().
 */
export function devicesPage(main, { devices, requests, info, onOffer, onConfirm, onRefresh }) {
	const stateOf = (d) => (d.revoked ? t('approve.revoked') : d.this ? t('approve.this_device') : t('approve.approved'));
	const list = table(t('approve.devices_caption'), [
		{ title: t('approve.col_device'), cell: (d) => h('span', { class: 'vk-mono' }, d.device) },
		{ title: t('approve.col_added'), cell: (d) => (d.added ? when(d.added) : '') },
		{ title: t('approve.col_state'), cell: stateOf },
	], devices.devices, { id: 'devices' });

	const area = h('div', { id: 'approve-area' });
	const refresh = () => h('p', null, button(t('approve.refresh'), { secondary: true, id: 'approve-refresh', onclick: () => onRefresh() }));

	function showList() {
		if (!requests.length) {
			replace(area, h('p', { id: 'no-requests' }, t('approve.requests_none')), refresh());
			return;
		}
		replace(area, h('p', null, t('approve.requests_intro')),
			h('ul', { class: 'nobullet-list', id: 'requests' }, requests.map((r) => h('li', { class: 'mb-5' },
				h('p', { class: 'mb-3' }, t('approve.request_item', { device: r.device, created: when(r.created) })),
				!r.certOk ? alert('warning', null, t('approve.request_bad_cert'))
					: r.offered ? h('p', null, t('approve.request_busy'))
						: button(t('approve.offer', { device: r.device }), { id: `offer-${r.approval}`, onclick: () => offer(r) })))),
			refresh());
	}

	/* An error where the request was (a text of ours, or the error's own), and the way to start again. */
	function problem(text, e) {
		const a = text ? alert('error', t('app.error_heading'), text) : errorAlert(e);
		a.setAttribute('tabindex', '-1');
		replace(area, a, refresh());
		a.focus();
	}

	async function offer(r) {
		const status = h('p', { class: 'vk-busy', role: 'status', 'aria-live': 'polite', id: 'offer-status' }, t('approve.offering'));
		replace(area, status);
		let handle;
		try {
			handle = await onOffer(r.approval, r.expires);
		} catch (e) {
			problem(e && e.code === 'timeout' ? t('approve.offer_timeout') : null, e);
			return;
		}
		codeForm(r, handle);
	}

	function codeForm(r, handle) {
		const typed = field({ id: 'approval-typed', label: t('approve.typed'), hint: t('approve.typed_hint'), inputmode: 'numeric',
			autocomplete: 'one-time-code' });
		const summary = h('div');
		const status = h('p', { class: 'vk-busy', role: 'status', 'aria-live': 'polite' });
		const submit = button(t('approve.confirm'), { type: 'submit', id: 'approval-confirm' });
		const bad = (text) => {
			typed.setError(text);
			const s = errorSummary([{ id: 'approval-typed', text }]);
			replace(summary, s);
			s.focus();
		};
		const form = h('form', { novalidate: true, onsubmit: async (ev) => {
			ev.preventDefault();
			const v = typed.input.value.trim();
			if (!v) return bad(t('approve.typed_missing'));
			if (!/^[0-9][0-9 -]*$/.test(v) || v.replace(/[ -]/g, '').length !== 6) return bad(t('approve.typed_bad'));
			typed.setError(null);
			replace(summary);
			submit.disabled = true;
			status.textContent = t('approve.confirming');
			try {
				await onConfirm(handle, v);
			} catch (e) {
				status.textContent = '';
				submit.disabled = false;
				if (e && e.code === 'bad_input') return bad(t('approve.typed_bad'));
				return problem(e && e.code === 'approval_failed' ? t('approve.wrong') : null, e);
			}
			await onRefresh(t('approve.approved_now', { device: r.device }));
		} }, typed.group, submit, status);
		replace(area, h('p', null, t('approve.request_item', { device: r.device, created: when(r.created) })), summary, form);
		typed.input.focus();
	}

	showList();
	replace(main, heading(t('approve.devices_title')),
		info ? alert('success', null, info) : null,
		h('p', null, t('approve.devices_intro')),
		list,
		h('h2', { class: 'mt-7' }, t('approve.requests_heading')),
		area);
}
