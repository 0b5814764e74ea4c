// For leder: the team's open deadlines soonest first, and warnings and
// escalations as they arrive (the `frist` and `alert` pushes).
import { h, replace } from '../dom.js';
import { t } from '../text.js';
import { alert, heading, table, when } from '../ui.js';

export function deadlinesPage(main, { items, team, names, live }) {
	const rows = [...items].sort((a, b) => Number(a.due) - Number(b.due));
	const liveBox = h('div', { id: 'deadline-news', 'aria-live': 'assertive' }, live.map((x) => pushAlert(x)));
	replace(main, heading(t('deadlines.title')),
		h('p', null, t('deadlines.intro', { team: names(team) })),
		liveBox,
		rows.length === 0 ? h('p', null, t('deadlines.empty')) : table(t('deadlines.caption'), [
			{ title: t('mine.col_reference'), cell: (r) => r.reference },
			{ title: t('deadlines.col_kind'), cell: (r) => t(`deadlines.kind_${r.kind}`) },
			{ title: t('deadlines.col_due'), cell: (r) => when(r.due) },
			{ title: t('deadlines.col_state'), cell: (r) => (r.state === 'overdue' ? h('strong', null, t('deadlines.state_overdue'))
				: t(`deadlines.state_${r.state}`)) },
		], rows, { id: 'deadlines' }));
	return liveBox;
}

/** A `frist` or `alert` push (plain object) as a DKFDS alert. */
export function pushAlert(p) {
	if (p.type === 'alert') {
		const key = p.kind === 'dead_letter' ? 'deadlines.dead_letter' : 'deadlines.no_reader';
		return alert(p.kind === 'dead_letter' ? 'error' : 'warning', null, t(key, { reference: p.reference }));
	}
	const kind = t(`deadlines.kind_${p.deadline}`);
	return p.kind === 'escalation'
		? alert('error', null, t('deadlines.escalation', { kind, reference: p.reference, due: when(p.due) }))
		: alert('warning', null, t('deadlines.warning', { kind, reference: p.reference, due: when(p.due) }));
}
