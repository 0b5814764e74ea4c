// Mine underretninger: the notifier's list, each underretning's verified
// timeline (updated live from pushes), and the receipt after sending.
import { h, replace } from '../dom.js';
import { stepLabel, t } from '../text.js';
import { alert, button, heading, table, when } from '../ui.js';

const AGE = { '0-5': '0-5', '6-13': '6-13', '14-17': '14-17', '18-22': '18-22' };

/** items: ITEMs of `mine` (plain, times as Unix seconds); names(id) → name. */
export function minePage(main, { items, names }) {
	const rows = [...items].sort((a, b) => Number(b.received) - Number(a.received));
	replace(main, heading(t('mine.title')),
		rows.length === 0 ? h('p', null, t('mine.empty')) : table(t('mine.caption'), [
			{ title: t('mine.col_reference'), cell: (r) => h('a', { href: `#/u/${r.reference}` }, r.reference) },
			{ title: t('mine.col_received'), cell: (r) => when(r.received) },
			{ title: t('mine.col_institution'), cell: (r) => names(r.institution) },
			{ title: t('mine.col_age'), cell: (r) => t('mine.age', { age: AGE[r.age_group] || r.age_group }) },
			{ title: t('mine.col_team'), cell: (r) => names(r.team) },
			{ title: t('mine.col_state'), cell: (r) => [stepLabel(r.state), r.akut ? h('span', { class: 'badge badge-large ml-3' }, t('mine.akut')) : null] },
		], rows, { id: 'mine' }));
}

/** After a send: the verified receipt, the dues, and how to keep it. */
export function sentPage(main, { result, names, onDownload }) {
	const r = result.receipt;
	replace(main, heading(t('sent.title')),
		alert('success', t('sent.reference', { reference: r.reference }),
			t('sent.verified'), result.duplicate ? t('sent.duplicate') : null),
		result.noReader ? alert('warning', null, t('sent.no_reader', { team: names(r.team) })) : null,
		h('dl', { class: 'vk-facts', id: 'receipt' },
			h('dt', null, t('mine.col_reference')), h('dd', null, r.reference),
			h('dt', null, t('mine.col_received')), h('dd', null, when(r.received)),
			h('dt', null, t('mine.col_team')), h('dd', null, names(r.team))),
		h('p', null, t('sent.dues', { vurdering: when(r.vurderingDue), kvittering: when(r.kvitteringDue) })),
		h('p', { class: 'vk-noprint' },
			button(t('sent.print'), { secondary: true, onclick: () => window.print() }), ' ',
			button(t('sent.download'), { secondary: true, id: 'download-receipt', onclick: onDownload }), ' ',
			h('a', { href: `#/u/${r.reference}`, class: 'button button-primary' }, t('sent.follow'))));
}

/**
 * The verified timeline: status = { reference, steps: [{ step, time, role, team, verified, akut?, started?,
 * message?, newTeam? }] }.
 */
export function timelinePage(main, { status, names, onDownload }) {
	const who = (s) => (s.role === 'gateway' ? t('timeline.gateway') : s.role === 'agent' ? t('timeline.agent') : names(s.team));
	const detail = (s) => [
		s.akut === true ? t('timeline.akut_yes') : s.akut === false ? t('timeline.akut_no') : null,
		s.started === true ? t('timeline.started') : s.started === false ? t('timeline.not_started') : null,
		s.newTeam ? t('timeline.moved', { team: names(s.newTeam) }) : null,
	].filter(Boolean).join(' ');
	const messages = status.steps.filter((s) => s.message);
	replace(main, heading(t('timeline.title', { reference: status.reference })),
		h('p', null, t('timeline.intro')),
		table(t('timeline.caption'), [
			{ title: t('timeline.col_step'), cell: (s) => [stepLabel(s.step), detail(s) ? h('br') : null, detail(s)] },
			{ title: t('timeline.col_time'), cell: (s) => when(s.time) },
			{ title: t('timeline.col_who'), cell: (s) => [who(s), ' ', s.verified ? h('span', { class: 'sr-only' }, t('timeline.verified'))
				: h('strong', null, t('timeline.not_verified'))] },
		], status.steps, { id: 'timeline', captionVisible: true }),
		messages.map((s) => h('section', { class: 'mt-6' },
			h('h2', { class: 'h3' }, `${stepLabel(s.step)}: ${t('timeline.message')}`),
			h('p', { class: 'vk-pre vk-message' }, s.message))),
		h('p', { class: 'form-hint' }, t('timeline.live')),
		h('p', { class: 'vk-noprint' }, button(t('sent.download'), { secondary: true, onclick: onDownload }), ' ',
			button(t('sent.print'), { secondary: true, onclick: () => window.print() })),
		h('p', { class: 'vk-noprint' }, h('a', { href: '#/mine' }, t('timeline.back'))));
}
