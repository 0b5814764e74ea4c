// The pages that need the client library's cryptography: the user key after
// login (setup, recovery code, recovery), sending the form, the verified
// timeline, the receipt file, and the caseworker's opened underretning.
// main.js owns the frame and the routes; this file connects pages and client/.
import { now, VarskoError } from '../crypto/codec.js';
import { approvalConfirm, approvalForget, approvalList, approvalOffer, approvalRequest, approvalReveal, approvalWait } from '../client/approve.js';
import { receiptFileText, receiptLoad } from '../client/receipt.js';
import { status as statusOf } from '../client/status.js';
import { submitWithFiles } from '../client/submit.js';
import { orgFirstCheck } from '../client/team.js';
import { deviceRecover, userDevices, userSetup } from '../client/userkey.js';
import * as vault from '../client/vault.js';
import { h, replace } from './dom.js';
import { devicesPage } from './pages/devices.js';
import { recoveryPage } from './pages/enroll.js';
import { sentPage, timelinePage } from './pages/mine.js';
import { recoverPage } from './pages/recover.js';
import { t } from './text.js';
import { alert, errorAlert } from './ui.js';

/**
 * After every login: the org chain's word on the enrollment key (16.2), then
 * the user key (15.1). Resolves when the pages may be shown; shows the
 * recovery code once when this device made the user's key, or the recovery
 * page when the device is not yet the user's.
 */
export async function afterLogin(main, session, done) {
	await orgFirstCheck(session);
	let r;
	try {
		r = await userSetup(session);
	} catch (e) {
		if (e instanceof VarskoError && e.code === 'not_cross_signed') {
			let finished = false;
			const finish = (text) => {
				if (finished) return;
				finished = true;
				done(text);
			};
			recoverPage(main, {
				onRecover: async (code) => {
					await deviceRecover(session, code);
					finish(t('recover.done'));
				},
				// 15.7 on this (new) device: ask, wait for the other device's offer, show the code, wait to be added.
				onApprove: async (progress) => {
					const a = await approvalRequest(session);
					try {
						progress('offer');
						progress('code', await approvalReveal(session, a, msUntil(a.expires)));
						await approvalWait(session, a);
					} finally {
						approvalForget(a);
					}
				},
				onApproved: () => finish(t('approve.done')),
			});
			focus();
			return;
		}
		throw e;
	}
	if (r.created && r.recoveryCode) {
		recoveryPage(main, { code: r.recoveryCode, onDone: () => done() });
		focus();
		return;
	}
	done();
}

/* Milliseconds until a protocol time (Unix seconds); never below 1 s. */
function msUntil(secs) {
	return Math.max(1000, (secs - now()) * 1000);
}

/**
 * Mine enheder: the user's devices by the verified chain and the open
 * approvals of new devices; this device approves one (15.7, the old side).
 */
export async function showDevices(main, session, info) {
	try {
		const [devices, list] = await Promise.all([userDevices(session), approvalList(session)]);
		devicesPage(main, {
			devices, requests: list.items, info,
			onOffer: (id, expires) => approvalOffer(session, id, msUntil(expires)),
			onConfirm: async (a, typed) => {
				try {
					await approvalConfirm(session, a, typed);
				} finally {
					if (a.state !== 1) approvalForget(a); // 1: not compared yet (not six digits), typed again
				}
			},
			onRefresh: (text) => showDevices(main, session, text),
		});
	} catch (e) {
		replace(main, errorAlert(e));
	}
	focus();
}

function focus() {
	const title = document.getElementById('page-title');
	if (title) title.focus();
}

/** Offer text as a file download (made in the page: nothing goes to the server). */
export function download(name, text, type = 'application/json') {
	const url = URL.createObjectURL(new Blob([text], { type }));
	const a = h('a', { href: url, download: name, hidden: true });
	document.body.append(a);
	a.click();
	a.remove();
	setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/** Send the form's document; on success the draft goes and the verified receipt shows. */
export async function sendDocument(main, session, doc, names, files = []) {
	let result;
	try {
		const data = await Promise.all(files.map(async (f) => ({
			name: f.name, mediaType: f.type || 'application/octet-stream', data: new Uint8Array(await f.arrayBuffer()),
		})));
		result = await submitWithFiles(session, JSON.stringify(doc), data);
	} catch (e) {
		// The draft stays: the same document sent again has the same submission id (one underretning, one receipt).
		throw Object.assign(e instanceof Error ? e : new Error(String(e)), { alert: errorAlert(e) });
	}
	await vault.del(vault.DRAFT);
	sentPage(main, {
		result: { receipt: result.info, duplicate: result.info.duplicate, noReader: result.noReader },
		names,
		onDownload: () => download(`kvittering-${result.info.reference}.json`, receiptFileText(result.receipt)),
	});
	focus();
	return result;
}

/** The verified timeline of ref; re-shown when a push about ref arrives. */
export async function showTimeline(main, session, ref, names, hooks) {
	const render = async () => {
		try {
			const st = await statusOf(session, ref);
			timelinePage(main, {
				status: st, names,
				onDownload: async () => {
					const r = await receiptLoad(session, ref);
					if (r) download(`kvittering-${ref}.json`, receiptFileText(r));
				},
			});
		} catch (e) {
			replace(main, errorAlert(e));
		}
	};
	await render();
	focus();
	hooks.push((p) => {
		if (p.type === 'pushed' && p.reference === ref) {
			const at = document.activeElement && document.activeElement.id;
			render().then(() => {
				const live = h('div', { role: 'status' }, alert('info', null, t('timeline.updated')));
				main.prepend(live);
				if (at && document.getElementById(at)) document.getElementById(at).focus();
			});
		}
	});
}
