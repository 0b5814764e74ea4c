// For myndighed and leder: the team's inbox, one underretning opened (its
// document shown exactly as typed, never as markup), and the decisions:
// vurdering, kvittering, tilbagemelding, omdirigering, afslutning.
import { h, replace } from '../dom.js';
import { stepLabel, t } from '../text.js';
import { alert, button, errorAlert, heading, table, when } from '../ui.js';

export function inboxPage(main, { items, team, names }) {
	const rows = [...items].sort((a, b) => Number(a.vurdering_due) - Number(b.vurdering_due));
	replace(main, heading(t('inbox.title')),
		h('p', null, t('inbox.intro', { team: names(team) })),
		h('div', { id: 'inbox-news', 'aria-live': 'polite' }),
		rows.length === 0 ? h('p', null, t('inbox.empty')) : table(t('inbox.caption'), [
			{ title: t('mine.col_reference'), cell: (r) => h('a', { href: `#/sag/${r.reference}`, 'aria-label': t('inbox.open', { reference: r.reference }) },
				r.reference) },
			{ title: t('mine.col_received'), cell: (r) => when(r.received) },
			{ title: t('inbox.col_due'), cell: (r) => when(r.vurdering_due) },
			{ title: t('mine.col_institution'), cell: (r) => names(r.institution) },
			{ title: t('mine.col_age'), cell: (r) => t('mine.age', { age: r.age_group }) },
			{ title: t('mine.col_state'), cell: (r) => [stepLabel(r.state), r.akut ? h('span', { class: 'badge badge-large ml-3' }, t('mine.akut')) : null] },
		], rows, { id: 'inbox' }));
}

function facts(pairs) {
	return h('dl', { class: 'vk-facts' }, pairs.filter(Boolean).map(([k, v]) => [h('dt', null, k), h('dd', { class: 'vk-pre' }, v)]));
}

/** The document of PROTOCOL.md 11.3, read-only; every value is text. */
function documentView(doc, names, onAttachment) {
	const yn = (b) => (b ? t('form.yes') : t('form.no'));
	return [
		h('h2', { class: 'h3' }, t('case.child')),
		facts([[t('form.child_name'), doc.child.name],
			doc.child.cpr ? [t('form.child_cpr'), doc.child.cpr] : [t('form.child_birth'), doc.child.birth_date],
			[t('form.child_address'), doc.child.address], [t('form.institution'), names(doc.institution)],
			[t('form.akut'), yn(doc.akut)], [t('form.handicap'), yn(doc.handicap)]]),
		h('h2', { class: 'h3' }, t('case.parents')),
		doc.parents.length ? facts(doc.parents.map((p, n) => [t('form.parents_legend', { n: n + 1 }),
			[p.name, p.address, p.phone, p.custody ? t('form.parent_custody') : null].filter(Boolean).join(', ')])) : h('p', null, t('form.none')),
		facts([[t('case.interpreter'), doc.interpreter.needed ? `${t('form.yes')}: ${doc.interpreter.language}` : t('form.no')]]),
		h('h2', { class: 'h3' }, t('case.notifier')),
		facts([[t('form.notifier_name'), doc.notifier.name], [t('form.notifier_role'), doc.notifier.role],
			[t('form.notifier_relation'), doc.notifier.relation]]),
		...['concern', 'observations', 'wellbeing', 'help_tried'].map((f) => [h('h2', { class: 'h3' }, t(`case.${f}`)),
			h('p', { class: 'vk-pre', 'data-field': f }, doc[f])]),
		h('h2', { class: 'h3' }, t('case.parents_contacted')),
		facts([[t('form.contacted'), yn(doc.parents_contacted.contacted)],
			doc.parents_contacted.contacted ? [t('form.reaction'), doc.parents_contacted.reaction] : [t('form.reason'), doc.parents_contacted.reason]]),
		doc.attachments && doc.attachments.length ? [h('h2', { class: 'h3' }, t('case.attachments')),
			h('ul', { class: 'nobullet-list', id: 'attachments' }, doc.attachments.map((a) => h('li', { class: 'mb-3' }, `${a.name} `,
				button(t('case.fetch', { name: a.name }), { secondary: true, onclick: () => onAttachment(a) }))))] : null,
	];
}

/**
 * opened = { reference, document, receipt }; teams = [{id, name}]; onEvent(kind, args) → Promise.
 */
export function casePage(main, { opened, teams, names, canDecide, onEvent, onAttachment }) {
	const news = h('div', { 'aria-live': 'polite' });
	const done = async (kind, args, form) => {
		const btn = form.querySelector('button[type=submit]');
		btn.disabled = true;
		try {
			await onEvent(kind, args);
			replace(news, alert('success', null, `${stepLabel(kind)}: ${t('case.done')}`));
			form.reset();
		} catch (e) {
			replace(news, errorAlert(e));
		} finally {
			btn.disabled = false;
			news.firstChild && news.firstChild.setAttribute('tabindex', '-1');
			news.firstChild && news.firstChild.focus();
		}
	};
	const radios = (name, legend) => h('fieldset', null, h('legend', { class: 'form-label' }, legend),
		[[true, 'yes'], [false, 'no']].map(([v, k]) => h('div', { class: 'form-group-radio' },
			h('input', { type: 'radio', class: 'form-radio', id: `${name}-${k}`, name, value: String(v), required: true }),
			h('label', { class: 'form-label', for: `${name}-${k}` }, t(`form.${k}`)))));
	const textForm = (id, label, hint, sendText, kind, extra) => {
		const ta = h('textarea', { class: 'form-input', id, name: id, rows: 4, 'aria-describedby': hint ? `${id}-hint` : undefined });
		const f = h('form', { novalidate: true, onsubmit: (ev) => {
			ev.preventDefault();
			if (!/\S/.test(ta.value)) {
				replace(news, alert('error', null, t('case.message_missing')));
				ta.focus();
				return;
			}
			const args = { message: ta.value };
			if (extra) {
				const v = f.querySelector(`input[name=${extra}]:checked`);
				if (!v) {
					f.querySelector(`input[name=${extra}]`).focus();
					return;
				}
				args.started = v.value === 'true';
			}
			done(kind, args, f);
		} }, h('div', { class: 'form-group' }, h('label', { class: 'form-label', for: id }, label),
			hint ? h('span', { class: 'form-hint', id: `${id}-hint` }, hint) : null, ta),
		extra ? h('div', { class: 'form-group' }, radios(extra, t('case.tilbagemelding_started'))) : null,
		button(sendText, { type: 'submit' }));
		return f;
	};
	const vurdering = h('form', { novalidate: true, onsubmit: (ev) => {
		ev.preventDefault();
		const v = vurdering.querySelector('input[name=vurdering-akut]:checked');
		if (!v) return vurdering.querySelector('input[name=vurdering-akut]').focus();
		return done('vurderet', { akut: v.value === 'true' }, vurdering);
	} }, h('div', { class: 'form-group' }, radios('vurdering-akut', t('case.vurdering_akut'))), button(t('case.vurdering_send'), { type: 'submit' }));
	const teamSel = h('select', { class: 'form-select', id: 'omdirigering-team', name: 'team' },
		teams.filter((x) => x.id !== opened.receipt.team).map((x) => h('option', { value: x.id }, x.name)));
	const omdir = h('form', { novalidate: true, onsubmit: (ev) => {
		ev.preventDefault();
		done('omdirigeret', { team: teamSel.value }, omdir);
	} }, h('div', { class: 'form-group' }, h('label', { class: 'form-label', for: 'omdirigering-team' }, t('case.omdirigering_team')), teamSel),
	button(t('case.omdirigering_send'), { type: 'submit', secondary: true }));
	const afslut = h('form', { novalidate: true, onsubmit: (ev) => {
		ev.preventDefault();
		if (window.confirm(t('case.afslutning_confirm'))) done('afsluttet', {}, afslut);
	} }, button(t('case.afslutning_send'), { type: 'submit', secondary: true }));

	replace(main, heading(t('case.title', { reference: opened.reference })),
		alert('info', null, t('case.verified')),
		facts([[t('mine.col_received'), when(opened.receipt.received)], [t('inbox.col_due'), when(opened.receipt.vurderingDue)]]),
		documentView(opened.document, names, async (a) => {
			try {
				await onAttachment(a);
			} catch (e) {
				replace(news, errorAlert(e));
			}
		}),
		canDecide ? [
			h('h2', { class: 'mt-7' }, t('case.actions')), news,
			h('h3', null, t('case.vurdering')), vurdering,
			h('h3', null, t('case.kvittering')), textForm('kvittering', t('case.kvittering'), t('case.kvittering_hint'), t('case.kvittering_send'), 'kvitteret'),
			h('h3', null, t('case.tilbagemelding')), textForm('tilbagemelding', t('case.tilbagemelding'), null, t('case.tilbagemelding_send'), 'tilbagemelding', 'started'),
			h('h3', null, t('case.omdirigering')), omdir,
			h('h3', null, t('case.afslutning')), afslut,
		] : null);
}
