// The browser suite's entry for the client library (test_web_clientlib): the
// modules of clients/web/src/client/ on window.varskoTest, bundled by esbuild
// into the test's copy of the web client and loaded by test.html (no inline
// script: the Content-Security-Policy holds). The scenario drives it with
// page.evaluate: varskoTest.enrollLogin(...) once, then
// varskoTest.call('module.function', ...args) with the session as first
// argument; answers come back JSON-safe (BigInt as text, bytes as base64).
import * as codec from '../../clients/web/src/crypto/codec.js';
import * as conn from '../../clients/web/src/client/conn.js';
import * as enroll from '../../clients/web/src/client/enroll.js';
import { Session } from '../../clients/web/src/client/session.js';
import * as vault from '../../clients/web/src/client/vault.js';
import * as userkey from '../../clients/web/src/client/userkey.js';
import * as team from '../../clients/web/src/client/team.js';
import * as teamkey from '../../clients/web/src/client/teamkey.js';
import * as receipt from '../../clients/web/src/client/receipt.js';
import * as submit from '../../clients/web/src/client/submit.js';
import * as status from '../../clients/web/src/client/status.js';
import * as caseworker from '../../clients/web/src/client/caseworker.js';
import * as approve from '../../clients/web/src/client/approve.js';

const modules = { codec, conn, enroll, vault, userkey, team, teamkey, receipt, submit, status, caseworker, approve };

/* A value as JSON can carry it. */
function j(v) {
	if (typeof v === 'bigint') return v.toString();
	if (v instanceof Uint8Array) return codec.b64(v);
	if (v instanceof Map) return j(Object.fromEntries(v));
	if (Array.isArray(v)) return v.map(j);
	if (v && typeof v === 'object') {
		const o = {};
		for (const [k, x] of Object.entries(v)) if (typeof x !== 'function') o[k] = j(x);
		return o;
	}
	return v;
}

const T = {
	modules,
	Session,
	session: null,
	j,
	async ready() {
		await codec.ready();
		return true;
	},
	/** Enroll this browser with an invitation and log in: the session every call takes. */
	async enrollLogin({ code, fpr, label, passphrase }) {
		await codec.ready();
		const secrets = await enroll.enroll({ code, fpr, label, passphrase });
		const { conn: c, cert } = await enroll.login(secrets);
		T.session = new Session(c, secrets, cert);
		return { user: T.session.user, device: T.session.device, role: T.session.role };
	},
	/** module.fn(session, ...args): { ok: true, value } or { ok: false, code, message }. */
	async call(path, ...args) {
		const [m, f] = path.split('.');
		try {
			const v = await modules[m][f](T.session, ...args);
			return { ok: true, value: j(v) };
		} catch (e) {
			return { ok: false, code: e && e.code, message: String(e && e.message) };
		}
	},
	/** approve.approvalOffer, its handle kept here for approvalConfirm. */
	async offer(id, timeoutMs) {
		try {
			T.approval = await approve.approvalOffer(T.session, id, timeoutMs);
			return { ok: true, device: T.approval.device };
		} catch (e) {
			return { ok: false, code: e && e.code, message: String(e && e.message) };
		}
	},
	async confirm(code) {
		try {
			await approve.approvalConfirm(T.session, T.approval, code);
			return { ok: true };
		} catch (e) {
			return { ok: false, code: e && e.code, message: String(e && e.message) };
		}
	},
	/** What the session remembers under name (its pins), and to set it: for the rollback checks. */
	pinGet(name) {
		return T.session.pinGet(name);
	},
	pinPut(name, value) {
		return T.session.pinPut(name, value);
	},
	/** The kept receipt of ref as the file `varsko receipt verify` reads. */
	async receiptFile(ref) {
		const r = await receipt.receiptLoad(T.session, ref);
		return r ? receipt.receiptFileText(r) : null;
	},
	/** receipt.receiptVerifyText of a file's text: the reference, or the refusal's code. */
	verifyReceiptText(text) {
		try {
			return { ok: true, reference: receipt.receiptVerifyText(T.session, text).reference };
		} catch (e) {
			return { ok: false, code: e.code };
		}
	},
};

window.varskoTest = T;
