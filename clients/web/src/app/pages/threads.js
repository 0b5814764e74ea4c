// Samtaler: the consultation threads between staff and the fremskudte
// rådgivere (PROTOCOL.md 17): the list, a new thread, one conversation with
// its messages (text, files, the reference of an underretning made from it),
// the "leveret" and "læst" marks of one's own messages, and choosing messages
// for an underretning (17.10). Everything shown comes from other people and
// is set as text.
import { h, replace } from '../dom.js';
import { t } from '../text.js';
import { alert, button, errorAlert, errorSummary, field, heading, table, when } from '../ui.js';

function size(n) {
	const v = Number(n);
	if (v < 1024) return `${v} B`;
	if (v < 1024 * 1024) return `${Math.round(v / 1024)} KB`;
	return `${(v / 1024 / 1024).toFixed(1).replace('.', ',')} MB`;
}

/** list: threadList's threads; titles: thread id → title (from this device's reads), names(id). */
export function threadsPage(main, { list, titles, names }) {
	replace(main, heading(t('threads.title')),
		h('p', null, t('threads.intro')),
		h('p', null, h('a', { href: '#/samtaler/ny', class: 'button button-primary', id: 'thread-new' }, t('threads.new'))),
		list.length === 0 ? h('p', null, t('threads.empty')) : table(t('threads.caption'), [
			{ title: t('threads.col_thread'), cell: (x) => [h('a', { href: `#/samtale/${x.thread}` }, titles[x.thread] || x.thread),
				x.anonymous ? [' ', h('span', { class: 'badge badge-large' }, t('threads.anonymous'))] : null] },
			{ title: t('threads.col_institution'), cell: (x) => names(x.institution) },
			{ title: t('threads.col_last'), cell: (x) => (x.purged ? t('threads.purged') : x.last_time ? when(x.last_time) : '') },
		], list, { id: 'threads' }));
}

/** A new thread: institution, title, first message, anonymous. onCreate(a) → thread id. */
export function newThreadPage(main, { cert, names, onCreate }) {
	const inst = h('select', { class: 'form-select', id: 'thread-institution', name: 'institution' },
		cert.institutions.map((i) => h('option', { value: i }, names(i))));
	const title = field({ id: 'thread-title', label: t('threads.field_title'), hint: t('threads.field_title_hint') });
	const text = h('textarea', { class: 'form-input', id: 'thread-text', name: 'text', rows: 5 });
	const anon = h('input', { type: 'checkbox', class: 'form-checkbox', id: 'thread-anonymous', checked: true });
	const reminder = h('div', null, alert('warning', null, t('threads.anonymous_reminder')));
	anon.addEventListener('change', () => {
		reminder.hidden = !anon.checked;
	});
	const summary = h('div');
	const submit = button(t('threads.create'), { type: 'submit', id: 'thread-create' });
	replace(main, heading(t('threads.new_title')), h('p', null, t('threads.new_intro')), summary,
		h('form', { novalidate: true, onsubmit: async (ev) => {
			ev.preventDefault();
			if (!/\S/.test(title.input.value)) {
				title.setError(t('threads.field_title_missing'));
				const s = errorSummary([{ id: 'thread-title', text: t('threads.field_title_missing') }]);
				replace(summary, s);
				s.focus();
				return;
			}
			title.setError(null);
			submit.disabled = true;
			try {
				await onCreate({ institution: inst.value, title: title.input.value.trim(), text: text.value.trim() || undefined,
					anonymous: anon.checked });
			} catch (e) {
				replace(summary, errorAlert(e));
				summary.firstChild.setAttribute('tabindex', '-1');
				summary.firstChild.focus();
			} finally {
				submit.disabled = false;
			}
		} },
		h('div', { class: 'form-group' }, h('label', { class: 'form-label', for: 'thread-institution' }, t('form.institution')), inst),
		title.group,
		h('div', { class: 'form-group' }, h('label', { class: 'form-label', for: 'thread-text' }, t('threads.field_text'),
			h('span', { class: 'weight-normal' }, ` (${t('app.optional')})`)), text),
		h('div', { class: 'form-group' }, h('div', { class: 'form-group-checkbox' }, anon,
			h('label', { class: 'form-label', for: 'thread-anonymous' }, t('threads.field_anonymous')))),
		reminder, submit));
}

/**
 * One conversation. read: threadRead's object. opts: onSend(text, file|null), onFetch(seq) → download,
 * onOlder(), canMakeUnderretning, onMake(selected messages).
 */
export function conversationPage(main, { read, names, canMakeUnderretning, onSend, onFetch, onMake }) {
	const title = read.title || read.thread;
	const chosen = new Set();
	const others = (marks, kind) => marks.filter((m) => m[kind]).map((m) => m.name || m.user);
	const msg = (m) => h('li', { class: 'mb-5', 'data-seq': String(m.seq) },
		h('p', { class: 'mb-1' }, h('strong', null, m.own ? `${m.name} (${t('threads.you')})` : m.name), ', ', when(m.received),
			m.new ? [' ', h('span', { class: 'badge' }, t('threads.new_message'))] : null),
		m.title ? h('p', { class: 'mb-1 h4' }, m.title) : null,
		m.text ? h('p', { class: 'vk-pre vk-message mb-1' }, m.text) : null,
		m.file ? h('p', { class: 'mb-1' }, t('threads.file', { name: m.file.name, size: size(m.file.size) }), ' ',
			button(t('threads.fetch', { name: m.file.name }), { secondary: true, onclick: () => onFetch(m.seq) })) : null,
		m.reference ? alert('info', null, t('threads.reference', { reference: m.reference })) : null,
		m.own && m.marks && m.marks.length ? h('p', { class: 'form-hint mb-1' },
			[others(m.marks, 'leveret').length ? t('threads.leveret', { names: others(m.marks, 'leveret').join(', ') }) : null,
				others(m.marks, 'laest').length ? t('threads.laest', { names: others(m.marks, 'laest').join(', ') }) : null]
				.filter(Boolean).join('. ')) : null,
		canMakeUnderretning && m.text ? h('div', { class: 'form-group-checkbox' },
			h('input', { type: 'checkbox', class: 'form-checkbox', id: `include-${m.seq}`, onchange: (ev) => {
				if (ev.target.checked) chosen.add(m.seq);
				else chosen.delete(m.seq);
			} }),
			h('label', { class: 'form-label', for: `include-${m.seq}` }, t('threads.include'))) : null);

	const text = h('textarea', { class: 'form-input', id: 'message-text', name: 'text', rows: 4 });
	const file = h('input', { type: 'file', class: 'form-file-input', id: 'message-file', 'aria-describedby': 'message-file-hint' });
	const news = h('div', { 'aria-live': 'polite' });
	const status = h('p', { class: 'vk-busy', role: 'status', 'aria-live': 'polite' });
	const submit = button(t('threads.send'), { type: 'submit', id: 'message-send' });
	const form = h('form', { novalidate: true, onsubmit: async (ev) => {
		ev.preventDefault();
		const f = file.files && file.files[0] ? file.files[0] : null;
		if (!/\S/.test(text.value) && !f) {
			replace(news, alert('error', null, t('threads.write_missing')));
			text.focus();
			return;
		}
		submit.disabled = true;
		status.textContent = t('threads.sending');
		try {
			await onSend(text.value, f);
		} catch (e) {
			replace(news, errorAlert(e));
			news.firstChild.setAttribute('tabindex', '-1');
			news.firstChild.focus();
		} finally {
			submit.disabled = false;
			status.textContent = '';
		}
	} },
	h('div', { class: 'form-group' }, h('label', { class: 'form-label', for: 'message-text' }, t('threads.write')), text),
	h('div', { class: 'form-group' }, h('label', { class: 'form-label', for: 'message-file' }, t('threads.attach')),
		h('span', { class: 'form-hint', id: 'message-file-hint' }, t('threads.attach_hint')), file),
	submit, status);

	replace(main, heading(t('threads.conversation', { title })),
		read.anonymous ? alert('warning', t('threads.anonymous'), t('threads.anonymous_reminder')) : null,
		h('h2', { class: 'h3' }, t('threads.members')),
		h('ul', null, read.members.filter((m) => m.present).map((m) => h('li', null, m.name || m.user, m.this ? ` (${t('threads.you')})` : ''))),
		h('h2', { class: 'h3' }, t('threads.messages')),
		h('ol', { class: 'nobullet-list', id: 'messages' }, read.messages.map(msg)),
		news, form,
		canMakeUnderretning ? h('section', { class: 'mt-7' }, h('h2', { class: 'h3' }, t('threads.make_underretning')),
			h('p', null, t('threads.make_hint')),
			button(t('threads.make_underretning'), { secondary: true, id: 'make-underretning',
				onclick: () => onMake(read.messages.filter((m) => chosen.has(m.seq))) })) : null);
}
