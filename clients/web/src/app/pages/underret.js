// Ny underretning: the guided form of every field of the document (PROTOCOL.md
// 11.3), in DKFDS steps, checked while the user types, with the akut warning,
// the notice that parents may read it, and a last review before sending. The
// draft is kept sealed under the device's local key after every change, so a
// reload or a lost connection loses nothing typed.
import { h, replace } from '../dom.js';
import { docProblem, t } from '../text.js';
import {
	dateValid, UH_ADDRESS_MAX, UH_ATTACH_MAX, UH_NAME_MAX, UH_PARENTS_MAX, UH_PHONE_MAX, UH_SHORT_MAX, UH_TEXT_MAX, uhAgeGroup, uhCprBirthDate,
	uhParseAll,
} from '../../proto/underretning.js';
import { alert, button, errorSummary, heading } from '../ui.js';

/* The limits of PROTOCOL.md 11.3, from the document module (which checks the whole document again before sealing). */
const LIMIT = { name: UH_NAME_MAX, address: UH_ADDRESS_MAX, role: UH_SHORT_MAX, phone: UH_PHONE_MAX, text: UH_TEXT_MAX };
const PARENTS_MAX = UH_PARENTS_MAX;
const STEPS = ['child', 'parents', 'concern', 'contact', 'notifier', 'review'];

const bytes = (s) => new TextEncoder().encode(s).length;
const blank = (s) => !s || !/\S/.test(s);

function size(n) {
	if (n < 1024) return `${n} B`;
	if (n < 1024 * 1024) return `${Math.round(n / 1024)} KB`;
	return `${(n / 1024 / 1024).toFixed(1).replace('.', ',')} MB`;
}

/** An empty draft for a notifier with this certificate. */
export function newDraft(cert) {
	return {
		step: 0,
		institution: cert.institutions[0] || '',
		child: { name: '', idKind: 'cpr', cpr: '', birth_date: '', address: '' },
		parents: [{ name: '', address: '', phone: '', custody: true }],
		interpreter: { needed: null, language: '' },
		notifier: { name: cert.name, role: '', relation: '' },
		concern: '', observations: '', wellbeing: '', help_tried: '',
		parents_contacted: { contacted: null, reaction: '', reason: '' },
		akut: null, handicap: null,
	};
}

/** The document of PROTOCOL.md 11.3 from a draft (only the fields that apply). */
export function toDocument(d) {
	const child = { name: d.child.name.trim(), address: d.child.address.trim() };
	if (d.child.idKind === 'cpr') child.cpr = d.child.cpr.trim();
	else child.birth_date = d.child.birth_date.trim();
	const parents = d.parents.map((p) => {
		const o = { name: p.name.trim(), custody: Boolean(p.custody) };
		if (p.address.trim()) o.address = p.address.trim();
		if (p.phone.trim()) o.phone = p.phone.trim();
		return o;
	});
	const interpreter = d.interpreter.needed ? { needed: true, language: d.interpreter.language.trim() } : { needed: false };
	const pc = d.parents_contacted.contacted
		? { contacted: true, reaction: d.parents_contacted.reaction }
		: { contacted: false, reason: d.parents_contacted.reason };
	return {
		institution: d.institution, child, parents, interpreter,
		notifier: { name: d.notifier.name.trim(), role: d.notifier.role.trim(), relation: d.notifier.relation.trim() },
		concern: d.concern, observations: d.observations, wellbeing: d.wellbeing, help_tried: d.help_tried,
		parents_contacted: pc, akut: Boolean(d.akut), handicap: Boolean(d.handicap),
	};
}

/* ---- the rules of each field, as the person reads them --------------------- */

function textRule(max, missing) {
	return (v) => {
		if (blank(v)) return missing || t('form.field_missing');
		return bytes(v) > max ? t('form.field_long') : null;
	};
}

function longText(v) {
	if (blank(v)) return t('form.text_missing');
	return bytes(v) > LIMIT.text ? t('form.text_long', { max: LIMIT.text }) : null;
}

/* The child's birth date by the document rules (proto/underretning.js, as the C client and the agents apply
 * them): the message to show, or null when it is a date of a child of 0 to 22 years today in Copenhagen. */
function birthProblem(birth, bad) {
	try {
		uhAgeGroup(birth, Math.floor(Date.now() / 1000));
		return null;
	} catch {
		return birth ? t('form.child_age_bad') : bad;
	}
}

function cprBirth(cpr) {
	try {
		return uhCprBirthDate(cpr.trim());
	} catch {
		return null;
	}
}

function dateBirth(s) {
	const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s.trim());
	return m && dateValid(Number(m[1]), Number(m[2]), Number(m[3])) ? { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) } : null;
}

/** Every problem of the draft's step i: [{ id, text }] (the id of the field to fix). */
export function stepProblems(d, i) {
	const p = [];
	const add = (id, text) => text && p.push({ id, text });
	switch (STEPS[i]) {
	case 'child': {
		add('child-name', textRule(LIMIT.name, t('form.child_name_missing'))(d.child.name));
		if (d.child.idKind === 'cpr') add('child-cpr', birthProblem(cprBirth(d.child.cpr), t('form.child_cpr_bad')));
		else add('child-birth', birthProblem(dateBirth(d.child.birth_date), t('form.child_birth_bad')));
		add('child-address', textRule(LIMIT.address, t('form.child_address_missing'))(d.child.address));
		add('akut-yes', d.akut === null ? t('form.choose') : null);
		add('handicap-yes', d.handicap === null ? t('form.choose') : null);
		break;
	}
	case 'parents':
		d.parents.forEach((par, n) => {
			add(`parent-${n}-name`, textRule(LIMIT.name, t('form.parent_name_missing'))(par.name));
			if (par.address && bytes(par.address) > LIMIT.address) add(`parent-${n}-address`, t('form.field_long'));
			const ph = par.phone.trim();
			if (ph && (!/^[0-9 +()-]+$/.test(ph) || (ph.match(/\d/g) || []).length < 3 || bytes(ph) > LIMIT.phone))
				add(`parent-${n}-phone`, t('form.parent_phone_bad'));
		});
		add('interpreter-yes', d.interpreter.needed === null ? t('form.choose') : null);
		if (d.interpreter.needed)
			add('interpreter-language', textRule(LIMIT.role, t('form.interpreter_language_missing'))(d.interpreter.language));
		break;
	case 'concern':
		for (const f of ['concern', 'observations', 'wellbeing', 'help_tried']) add(f.replace('_', '-'), longText(d[f]));
		break;
	case 'contact':
		add('contacted-yes', d.parents_contacted.contacted === null ? t('form.choose') : null);
		if (d.parents_contacted.contacted === true) add('reaction', longText(d.parents_contacted.reaction));
		if (d.parents_contacted.contacted === false) add('reason', longText(d.parents_contacted.reason));
		break;
	case 'notifier':
		add('notifier-name', textRule(LIMIT.name)(d.notifier.name));
		add('notifier-role', textRule(LIMIT.role)(d.notifier.role));
		add('notifier-relation', textRule(LIMIT.role)(d.notifier.relation));
		break;
	default:
		break;
	}
	return p;
}

/*
 * The document rules' problems (proto/underretning.js, as the agents apply
 * them) as form problems: { step, id, text } with the field's label and the
 * catalogue's text of the problem.
 */
const PATH_FIELD = [
	[/^institution$/, 0, 'institution', 'form.institution'], [/^child\.name$/, 0, 'child-name', 'form.child_name'],
	[/^child\.cpr$/, 0, 'child-cpr', 'form.child_cpr'], [/^child\.birth_date$/, 0, 'child-birth', 'form.child_birth'],
	[/^child\.address$/, 0, 'child-address', 'form.child_address'], [/^child/, 0, 'child-name', 'form.child_name'],
	[/^akut$/, 0, 'akut-yes', 'form.akut'], [/^handicap$/, 0, 'handicap-yes', 'form.handicap'],
	[/^parents\[(\d)\]\.(name|address|phone)$/, 1, (m) => `parent-${m[1]}-${m[2]}`, (m) => `form.parent_${m[2]}`],
	[/^parents/, 1, 'interpreter-yes', 'form.parents_legend'], [/^interpreter/, 1, 'interpreter-language', 'form.interpreter_language'],
	[/^(concern|observations|wellbeing|help_tried)$/, 2, (m) => m[1].replace('_', '-'), (m) => `form.${m[1]}`],
	[/^parents_contacted\.reaction$/, 3, 'reaction', 'form.reaction'], [/^parents_contacted/, 3, 'reason', 'form.reason'],
	[/^notifier\.(name|role|relation)$/, 4, (m) => `notifier-${m[1]}`, (m) => `form.notifier_${m[1]}`],
];

export function documentProblems(doc) {
	const r = uhParseAll(JSON.stringify(doc));
	return r.problems.map((p) => {
		for (const [re, step, id, label] of PATH_FIELD) {
			const m = re.exec(p.path);
			if (!m) continue;
			const field = t(typeof label === 'function' ? label(m) : label, { n: 1 });
			return { step, id: typeof id === 'function' ? id(m) : id, text: t('form.doc_problem', { field, problem: docProblem(p.problem) }) };
		}
		return { step: 0, id: 'child-name', text: t('form.doc_problem', { field: p.path, problem: docProblem(p.problem) }) };
	});
}

/* ---- widgets ------------------------------------------------------------------ */

/** A DKFDS form group around one control; returns { group, setError }. */
function group(id, label, hint, control, opts = {}) {
	const hintId = hint ? `${id}-hint` : null;
	const err = h('span', { class: 'form-error-message', id: `${id}-error`, hidden: true });
	const g = h('div', { class: 'form-group', 'data-field': id },
		opts.legend ? null : h('label', { class: 'form-label', for: id }, label,
			opts.optional ? h('span', { class: 'weight-normal' }, ` (${t('app.optional')})`) : null),
		hint ? h('span', { class: 'form-hint', id: hintId }, hint) : null, err, control);
	if (hintId) control.setAttribute('aria-describedby', hintId);
	return {
		group: g,
		setError(text) {
			g.classList.toggle('form-error', Boolean(text));
			err.hidden = !text;
			err.replaceChildren(...(text ? [h('span', { class: 'sr-only' }, 'Fejl: '), text] : []));
			const target = opts.focusTarget || control;
			if (text) target.setAttribute('aria-invalid', 'true');
			else target.removeAttribute('aria-invalid');
			target.setAttribute('aria-describedby', [hintId, text ? err.id : null].filter(Boolean).join(' ') || '');
			if (!target.getAttribute('aria-describedby')) target.removeAttribute('aria-describedby');
		},
	};
}

function textInput(id, value, onInput, o = {}) {
	return h(o.multiline ? 'textarea' : 'input', {
		class: 'form-input', id, name: id, type: o.multiline ? undefined : 'text', value, rows: o.multiline ? 6 : undefined,
		autocomplete: o.autocomplete || 'off', inputmode: o.inputmode, spellcheck: o.multiline ? 'true' : 'false',
		oninput: (ev) => onInput(ev.target.value),
	});
}

/** Ja/Nej radio buttons in a fieldset; ids `<id>-yes` and `<id>-no`. */
function yesNo(id, legend, value, onChange) {
	const radio = (v, label) => h('div', { class: 'form-group-radio' },
		h('input', { type: 'radio', class: 'form-radio', id: `${id}-${v ? 'yes' : 'no'}`, name: id, value: v ? 'ja' : 'nej',
			checked: value === v, onchange: () => onChange(v) }),
		h('label', { class: 'form-label', for: `${id}-${v ? 'yes' : 'no'}` }, label));
	const err = h('span', { class: 'form-error-message', id: `${id}-error`, hidden: true });
	const fs = h('fieldset', null, h('legend', { class: 'form-label' }, legend), err, radio(true, t('form.yes')), radio(false, t('form.no')));
	const g = h('div', { class: 'form-group', 'data-field': `${id}-yes` }, fs);
	return {
		group: g,
		setError(text) {
			g.classList.toggle('form-error', Boolean(text));
			err.hidden = !text;
			err.replaceChildren(...(text ? [h('span', { class: 'sr-only' }, 'Fejl: '), text] : []));
			if (text) fs.setAttribute('aria-describedby', err.id);
			else fs.removeAttribute('aria-describedby');
		},
	};
}

/* ---- the page ------------------------------------------------------------------- */

/**
 * opts: { cert, draft, names: { institution(id) → name }, akutPhone, onChange(draft), onSend(document, draft),
 *         onDiscard() }
 */
export function underretPage(main, opts) {
	const d = opts.draft;
	const fields = new Map(); // field id -> setError
	const touched = new Set();
	const summary = h('div', { id: 'summary' });
	const saved = h('p', { class: 'form-hint', role: 'status', 'aria-live': 'polite' });

	const changed = () => {
		opts.onChange(d);
		saved.textContent = t('form.draft_saved');
		// Errors already shown follow the typing; new ones wait for the next "Næste".
		const now = new Map(stepProblems(d, d.step).map((p) => [p.id, p.text]));
		for (const id of touched) if (fields.has(id)) fields.get(id)(now.get(id) || null);
	};

	function reg(id, g) {
		fields.set(id, g.setError);
		return g.group;
	}

	function textField(id, label, hint, get, set, o = {}) {
		const input = textInput(id, get(), (v) => {
			set(v);
			touched.add(id);
			changed();
		}, o);
		return reg(id, group(id, label, hint, input, o));
	}

	function stepChild() {
		const inst = h('select', { class: 'form-select', id: 'institution', name: 'institution', onchange: (ev) => {
			d.institution = ev.target.value;
			changed();
		} }, opts.cert.institutions.map((i) => h('option', { value: i, selected: i === d.institution ? 'selected' : undefined },
			opts.names(i))));
		inst.value = d.institution;
		const idKind = h('fieldset', null, h('legend', { class: 'form-label' }, t('form.child_id')),
			['cpr', 'birth_date'].map((k) => h('div', { class: 'form-group-radio' },
				h('input', { type: 'radio', class: 'form-radio', id: `child-id-${k}`, name: 'child-id', value: k, checked: d.child.idKind === k,
					onchange: () => {
						d.child.idKind = k;
						changed();
						render();
					} }),
				h('label', { class: 'form-label', for: `child-id-${k}` }, t(k === 'cpr' ? 'form.child_id_cpr' : 'form.child_id_birth')))));
		const akut = yesNo('akut', t('form.akut'), d.akut, (v) => {
			d.akut = v;
			changed();
			render();
		});
		const handicap = yesNo('handicap', t('form.handicap'), d.handicap, (v) => {
			d.handicap = v;
			changed();
		});
		return [
			reg('institution', group('institution', t('form.institution'), t('form.institution_hint'), inst)),
			textField('child-name', t('form.child_name'), null, () => d.child.name, (v) => { d.child.name = v; }, { autocomplete: 'off' }),
			h('div', { class: 'form-group' }, idKind),
			d.child.idKind === 'cpr'
				? textField('child-cpr', t('form.child_cpr'), t('form.child_cpr_hint'), () => d.child.cpr, (v) => { d.child.cpr = v; },
					{ inputmode: 'numeric' })
				: textField('child-birth', t('form.child_birth'), t('form.child_birth_hint'), () => d.child.birth_date,
					(v) => { d.child.birth_date = v; }, { inputmode: 'numeric' }),
			textField('child-address', t('form.child_address'), null, () => d.child.address, (v) => { d.child.address = v; }),
			reg('akut-yes', akut),
			d.akut ? alert('warning', t('form.akut_heading'),
				opts.akutPhone ? t('form.akut_call', opts.akutPhone) : t('form.akut_call_no_phone')) : null,
			reg('handicap-yes', handicap),
		];
	}

	function stepParents() {
		const out = [];
		if (!d.parents.length) out.push(h('p', null, t('form.parents_none')));
		d.parents.forEach((p, n) => {
			const custody = h('input', { type: 'checkbox', class: 'form-checkbox', id: `parent-${n}-custody`, checked: p.custody,
				onchange: (ev) => {
					p.custody = ev.target.checked;
					changed();
				} });
			out.push(h('fieldset', { class: 'mb-6' },
				h('legend', { class: 'h3' }, t('form.parents_legend', { n: n + 1 })),
				textField(`parent-${n}-name`, t('form.parent_name'), null, () => p.name, (v) => { p.name = v; }),
				textField(`parent-${n}-address`, t('form.parent_address'), null, () => p.address, (v) => { p.address = v; },
					{ optional: true }),
				textField(`parent-${n}-phone`, t('form.parent_phone'), null, () => p.phone, (v) => { p.phone = v; },
					{ optional: true, inputmode: 'tel' }),
				h('div', { class: 'form-group' }, h('div', { class: 'form-group-checkbox' }, custody,
					h('label', { class: 'form-label', for: `parent-${n}-custody` }, t('form.parent_custody')))),
				button(t('form.parent_remove', { n: n + 1 }), { secondary: true, onclick: () => {
					d.parents.splice(n, 1);
					changed();
					render();
				} })));
		});
		if (d.parents.length < PARENTS_MAX)
			out.push(h('p', null, button(t('form.parent_add'), { secondary: true, id: 'parent-add', onclick: () => {
				d.parents.push({ name: '', address: '', phone: '', custody: true });
				changed();
				render();
				document.getElementById(`parent-${d.parents.length - 1}-name`).focus();
			} })));
		out.push(reg('interpreter-yes', yesNo('interpreter', t('form.interpreter'), d.interpreter.needed, (v) => {
			d.interpreter.needed = v;
			changed();
			render();
		})));
		if (d.interpreter.needed)
			out.push(textField('interpreter-language', t('form.interpreter_language'), null, () => d.interpreter.language,
				(v) => { d.interpreter.language = v; }));
		return out;
	}

	function stepConcern() {
		const files = opts.files;
		const input = h('input', { type: 'file', class: 'form-file-input', id: 'attachments', multiple: true,
			'aria-describedby': 'attachments-hint', onchange: () => {
				for (const f of input.files) if (files.length < UH_ATTACH_MAX) files.push(f);
				render();
				document.getElementById('attachments').focus();
			} });
		return [
			...['concern', 'observations', 'wellbeing', 'help_tried'].map((f) =>
				textField(f.replace('_', '-'), t(`form.${f}`), t(`form.${f}_hint`), () => d[f], (v) => { d[f] = v; }, { multiline: true })),
			h('div', { class: 'form-group' },
				h('label', { class: 'form-label', for: 'attachments' }, t('form.attachments'),
					h('span', { class: 'weight-normal' }, ` (${t('app.optional')})`)),
				h('span', { class: 'form-hint', id: 'attachments-hint' }, t('form.attachments_hint')),
				files.length < UH_ATTACH_MAX ? input : h('p', null, t('form.attachments_too_many')),
				h('ul', { class: 'nobullet-list', id: 'attachment-list' }, files.map((f, n) => h('li', null, `${f.name} (${size(f.size)}) `,
					button(t('form.attachment_remove', { name: f.name }), { secondary: true, onclick: () => {
						files.splice(n, 1);
						render();
					} }))))),
		];
	}

	function stepContact() {
		const pc = d.parents_contacted;
		return [
			alert('info', null, t('form.parents_may_read')),
			reg('contacted-yes', yesNo('contacted', t('form.contacted'), pc.contacted, (v) => {
				pc.contacted = v;
				changed();
				render();
			})),
			pc.contacted === true ? textField('reaction', t('form.reaction'), null, () => pc.reaction, (v) => { pc.reaction = v; },
				{ multiline: true }) : null,
			pc.contacted === false ? textField('reason', t('form.reason'), t('form.reason_hint'), () => pc.reason,
				(v) => { pc.reason = v; }, { multiline: true }) : null,
		];
	}

	function stepNotifier() {
		return [
			textField('notifier-name', t('form.notifier_name'), null, () => d.notifier.name, (v) => { d.notifier.name = v; },
				{ autocomplete: 'name' }),
			textField('notifier-role', t('form.notifier_role'), t('form.notifier_role_hint'), () => d.notifier.role,
				(v) => { d.notifier.role = v; }),
			textField('notifier-relation', t('form.notifier_relation'), t('form.notifier_relation_hint'), () => d.notifier.relation,
				(v) => { d.notifier.relation = v; }),
		];
	}

	function stepReview() {
		const doc = toDocument(d);
		const yn = (b) => (b ? t('form.yes') : t('form.no'));
		const sec = (i, rows) => [
			h('h2', { class: 'h3' }, t(`form.step_${STEPS[i]}`)),
			h('dl', null, rows.filter(Boolean).map(([k, v]) => [h('dt', null, k), h('dd', { class: 'vk-pre' }, v || t('form.none'))])),
			h('p', null, button(t('form.edit', { step: t(`form.step_${STEPS[i]}`).toLowerCase() }), { secondary: true, onclick: () => go(i) })),
		];
		return [
			h('p', null, t('form.review_intro')),
			d.akut ? alert('warning', t('form.akut_heading'),
				opts.akutPhone ? t('form.akut_call', opts.akutPhone) : t('form.akut_call_no_phone')) : null,
			sec(0, [[t('form.institution'), opts.names(doc.institution)], [t('form.child_name'), doc.child.name],
				doc.child.cpr ? [t('form.child_cpr'), doc.child.cpr] : [t('form.child_birth'), doc.child.birth_date],
				[t('form.child_address'), doc.child.address], [t('form.akut'), yn(doc.akut)], [t('form.handicap'), yn(doc.handicap)]]),
			sec(1, [...doc.parents.map((p, n) => [t('form.parents_legend', { n: n + 1 }),
				[p.name, p.address, p.phone, p.custody ? t('form.parent_custody') : null].filter(Boolean).join(', ')]),
			[t('form.interpreter'), doc.interpreter.needed ? `${t('form.yes')}: ${doc.interpreter.language}` : t('form.no')]]),
			sec(2, [...['concern', 'observations', 'wellbeing', 'help_tried'].map((f) => [t(`form.${f}`), doc[f]]),
				[t('form.attachments'), opts.files.length ? opts.files.map((f) => `${f.name} (${size(f.size)})`).join(', ') : t('form.attachments_none')]]),
			sec(3, [[t('form.contacted'), yn(doc.parents_contacted.contacted)],
				doc.parents_contacted.contacted ? [t('form.reaction'), doc.parents_contacted.reaction]
					: [t('form.reason'), doc.parents_contacted.reason]]),
			sec(4, [[t('form.notifier_name'), doc.notifier.name], [t('form.notifier_role'), doc.notifier.role],
				[t('form.notifier_relation'), doc.notifier.relation]]),
			alert('info', null, t('form.parents_may_read')),
		];
	}

	const status = h('p', { class: 'vk-busy', role: 'status', 'aria-live': 'polite' });

	function go(i) {
		d.step = i;
		touched.clear();
		changed();
		render();
		document.getElementById('step-title').focus();
	}

	function showProblems(problems) {
		for (const p of problems) {
			touched.add(p.id);
			if (fields.has(p.id)) fields.get(p.id)(p.text);
		}
		const s = errorSummary(problems);
		replace(summary, s);
		s.focus();
	}

	function render() {
		fields.clear();
		const i = d.step;
		const body = [stepChild, stepParents, stepConcern, stepContact, stepNotifier, stepReview][i]();
		const last = i === STEPS.length - 1;
		const send = button(last ? t('form.send') : t('form.next'), { type: 'submit', id: last ? 'send' : 'next' });
		const form = h('form', { novalidate: true, onsubmit: async (ev) => {
			ev.preventDefault();
			if (!last) {
				const problems = stepProblems(d, i);
				if (problems.length) return showProblems(problems);
				replace(summary);
				return go(i + 1);
			}
			for (let k = 0; k < STEPS.length - 1; k++) {
				const problems = stepProblems(d, k);
				if (problems.length) {
					go(k);
					return showProblems(problems);
				}
			}
			// The whole document by the rules the agents apply: nothing they would refuse is sealed.
			const docProblems = documentProblems(toDocument(d));
			if (docProblems.length) {
				go(docProblems[0].step);
				return showProblems(docProblems.filter((p) => p.step === docProblems[0].step));
			}
			send.disabled = true;
			status.textContent = t('form.sending');
			try {
				await opts.onSend(toDocument(d), d, opts.files);
			} catch (e) {
				replace(summary, e.alert || alert('error', t('app.error_heading'), String(e.message)));
				summary.firstChild.setAttribute('tabindex', '-1');
				summary.firstChild.focus();
			} finally {
				send.disabled = false;
				status.textContent = '';
			}
		} }, body,
		h('div', { class: 'mt-6' }, i > 0 ? button(t('form.back'), { secondary: true, id: 'back', onclick: () => go(i - 1) }) : null,
			' ', send, status));
		replace(main, heading(t('form.title')),
			h('p', { class: 'step-subheading' }, t('form.step', { n: i + 1, total: STEPS.length })),
			h('h2', { id: 'step-title', tabindex: '-1' }, t(`form.step_${STEPS[i]}`)),
			i === 0 ? h('p', { class: 'font-lead' }, t('form.intro')) : null,
			summary, form, saved,
			h('p', { class: 'mt-7' }, button(t('form.discard'), { secondary: true, id: 'discard', onclick: () => {
				if (window.confirm(t('form.discard_confirm'))) opts.onDiscard();
			} })));
	}
	render();
}
