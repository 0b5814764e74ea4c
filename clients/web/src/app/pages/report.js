// Ledelsestilsyn: a leder's own team's figures (report_get, PROTOCOL.md
// 12.7) as a table and two SVG charts made with DOM calls (never markup);
// each chart has a text alternative and the table holds every number.
import { h, replace } from '../dom.js';
import { t } from '../text.js';
import { button, field, heading } from '../ui.js';

const SVG = 'http://www.w3.org/2000/svg';

function svg(tag, attrs, ...children) {
	const el = document.createElementNS(SVG, tag);
	for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
	for (const ch of children) el.append(typeof ch === 'string' ? document.createTextNode(ch) : ch);
	return el;
}

const pct = (x) => (x === null || x === undefined ? null : Math.round(Number(x) * 100));
const hours = (s) => (s === null || s === undefined ? null : Math.round(Number(s) / 360) / 10);

/* Horizontal bars: rows [{ label, value (0..max) or null, text }]. */
function bars(title, label, rows, max) {
	const w = 640;
	const rowH = 44;
	const left = 170;
	const chart = svg('svg', { viewBox: `0 0 ${w} ${rows.length * rowH + 10}`, role: 'img', 'aria-label': label, class: 'vk-chart',
		width: '100%' },
	svg('title', {}, title),
	...rows.flatMap((r, i) => {
		const y = i * rowH + 8;
		const len = r.value === null ? 0 : Math.max(2, ((w - left - 90) * Math.min(r.value, max)) / max);
		return [
			svg('text', { x: 0, y: y + 20, 'font-size': 16 }, r.label),
			svg('rect', { x: left, y, width: len, height: 28, fill: '#0059b3' }),
			svg('text', { x: left + len + 8, y: y + 20, 'font-size': 16 }, r.text),
		];
	}));
	return h('figure', { class: 'mt-5' }, h('figcaption', { class: 'h4' }, title), chart);
}

/** figures: FIGURES (plain); period: { from, to } as asked; onPeriod(from, to). */
export function reportPage(main, { figures: f, period, onPeriod }) {
	const from = field({ id: 'report-from', label: t('report.from'), hint: t('report.date_hint'), value: period.from || '', optional: true });
	const to = field({ id: 'report-to', label: t('report.to'), value: period.to || '', optional: true });
	const share = (x) => (x.decided ? t('report.within', { within: x.within, decided: x.decided, share: `${pct(x.share)} %` }) : t('report.none'));
	const time = (s) => (s === null || s === undefined ? t('report.none') : t('report.hours', { hours: String(hours(s)).replace('.', ',') }));
	const rows = [
		[t('report.received'), String(f.received)],
		[t('report.outside_office'), `${f.outside_office.count}${f.received ? ` (${pct(f.outside_office.share)} %)` : ''}`],
		[t('report.vurdering'), share(f.vurdering)],
		[t('report.median', { what: t('report.what_vurdering') }), time(f.vurdering.median_seconds)],
		[t('report.p90'), time(f.vurdering.p90_seconds)],
		[t('report.kvittering'), share(f.kvittering)],
		[t('report.median', { what: t('report.what_kvittering') }), time(f.kvittering.median_seconds)],
		[t('report.p90'), time(f.kvittering.p90_seconds)],
		[t('report.overdue'), String(f.overdue)],
	];
	const fmt = (x) => (x === null ? '–' : String(x).replace('.', ','));
	replace(main, heading(t('report.title')),
		h('p', null, t('report.intro', { team: f.name, from: period.shownFrom, to: period.shownTo })),
		h('form', { novalidate: true, class: 'vk-noprint', onsubmit: (ev) => {
			ev.preventDefault();
			const ok = (v) => v === '' || /^\d{4}-\d{2}-\d{2}$/.test(v);
			from.setError(ok(from.input.value.trim()) ? null : t('report.date_bad'));
			to.setError(ok(to.input.value.trim()) ? null : t('report.date_bad'));
			if (ok(from.input.value.trim()) && ok(to.input.value.trim())) onPeriod(from.input.value.trim(), to.input.value.trim());
		} }, h('div', { class: 'vk-period' }, from.group, to.group), button(t('report.show'), { type: 'submit', secondary: true })),
		h('table', { class: 'table table--zebra mt-6', id: 'report' },
			h('caption', null, t('report.caption')),
			h('tbody', null, rows.map(([k, v]) => h('tr', null, h('th', { scope: 'row' }, k), h('td', null, v))))),
		bars(t('report.chart_share'), t('report.chart_share_label', { v: `${fmt(pct(f.vurdering.share))} %`, k: `${fmt(pct(f.kvittering.share))} %` }), [
			{ label: t('report.what_vurdering'), value: pct(f.vurdering.share), text: pct(f.vurdering.share) === null ? t('report.none') : `${pct(f.vurdering.share)} %` },
			{ label: t('report.what_kvittering'), value: pct(f.kvittering.share), text: pct(f.kvittering.share) === null ? t('report.none') : `${pct(f.kvittering.share)} %` },
		], 100),
		bars(t('report.chart_time'), t('report.chart_time_label', {
			vm: fmt(hours(f.vurdering.median_seconds)), vp: fmt(hours(f.vurdering.p90_seconds)),
			km: fmt(hours(f.kvittering.median_seconds)), kp: fmt(hours(f.kvittering.p90_seconds)),
		}), [
			{ label: `${t('report.what_vurdering')}, median`, value: hours(f.vurdering.median_seconds), text: time(f.vurdering.median_seconds) },
			{ label: `${t('report.what_vurdering')}, 90 %`, value: hours(f.vurdering.p90_seconds), text: time(f.vurdering.p90_seconds) },
			{ label: `${t('report.what_kvittering')}, median`, value: hours(f.kvittering.median_seconds), text: time(f.kvittering.median_seconds) },
			{ label: `${t('report.what_kvittering')}, 90 %`, value: hours(f.kvittering.p90_seconds), text: time(f.kvittering.p90_seconds) },
		], Math.max(1, ...[f.vurdering.p90_seconds, f.kvittering.p90_seconds].map((s) => hours(s) || 0))));
}
