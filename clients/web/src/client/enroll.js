// Enrollment and login (PROTOCOL.md sections 3, 4, 7, 16.2), as
// clients/lib/enroll.c does them: the fingerprint is checked before anything
// is sent; the keys are made here; the answer is checked and the keys stored
// (sealed under the passphrase) before enroll_confirm; login pins the
// organisation key (and root key) of the enrollment.
import {
	b64, boxKeypair, confirmSigningInput, deviceId, enrollSigningInput, equalBytes, fail, fingerprint,
	fingerprintEqual, loginSigningInput, now, sign, signKeypair, unb64, VarskoError, wipe,
} from '../crypto/codec.js';
import { certFromJson, certToJson, certVerify } from '../crypto/cert.js';
import { Conn } from './conn.js';
import * as vault from './vault.js';

/**
 * A certificate (as cert.js decodes it) verified against orgPk now, that
 * carries the given keys when they are given. Returns it.
 */
export function checkCert(cert, orgPk, signPk, boxPk) {
	certVerify(cert, orgPk, now());
	if (signPk && !equalBytes(cert.signPk, signPk)) fail('bad_cert', 'not this device\'s signing key');
	if (boxPk && !equalBytes(cert.boxPk, boxPk)) fail('bad_cert', 'not this device\'s box key');
	return cert;
}

/** The certificate stored in the secrets (its JSON text), decoded. */
export function storedCert(text) {
	return certFromJson(text);
}

/** The key whose fingerprint the enrollment letter gives: the root when there is one (16.2). */
function pinnedKey(hello) {
	return hello.rootPk || hello.orgPk;
}

async function confirm(conn, hello, secrets) {
	const sk = unb64(secrets.sign_sk, 64);
	try {
		const input = confirmSigningInput(hello.nonce, conn.origin, secrets.device);
		await conn.request({ type: 'enroll_confirm', device: secrets.device, origin: conn.origin, sig: sign(input, sk) },
			'confirmed');
	} finally {
		wipe(sk);
	}
}

/**
 * Enroll this browser: returns the secrets object (kept in memory by the
 * caller) after the device is active. Throws VarskoError: `bad_cert` with
 * `fingerprint: true` when the fingerprint does not match (nothing sent).
 */
export async function enroll({ code, fpr, label, passphrase }) {
	const conn = new Conn();
	try {
		const hello = await conn.open();
		if (!fingerprintEqual(fpr, fingerprint(pinnedKey(hello))))
			throw Object.assign(new VarskoError('bad_cert', 'fingerprint'), { fingerprint: true });
		const sk = signKeypair();
		const bk = boxKeypair();
		const input = enrollSigningInput(hello.nonce, conn.origin, code, sk.publicKey, bk.publicKey, label);
		const ans = await conn.request({
			type: 'enroll', code, origin: conn.origin, signPk: sk.publicKey, boxPk: bk.publicKey,
			label, sig: sign(input, sk.privateKey),
		}, 'enrolled');
		if (!equalBytes(ans.orgPk, hello.orgPk)) fail('bad_cert', 'enrolled names another organisation key');
		const cert = checkCert(ans.cert, hello.orgPk, sk.publicKey, bk.publicKey);
		checkCert(ans.gatewayCert, hello.orgPk);
		if (cert.device !== deviceId(sk.publicKey)) fail('bad_cert', 'the certificate names another device');
		const secrets = {
			device: cert.device,
			sign_sk: b64(sk.privateKey),
			sign_pk: b64(sk.publicKey),
			box_sk: b64(bk.privateKey),
			box_pk: b64(bk.publicKey),
			cert: certToJson(ans.cert),
			gateway_cert: certToJson(ans.gatewayCert),
			org_pk: b64(hello.orgPk),
			root_pk: hello.rootPk ? b64(hello.rootPk) : null,
			local_key: vault.newLocalKey(),
		};
		wipe(sk.privateKey, bk.privateKey);
		// Stored before the confirmation: a break after this point is repaired at login (device_pending).
		await vault.put(vault.DEVICE, {
			device: cert.device, label, created: now(), state: 'pending', sealed: vault.seal(passphrase, secrets),
		});
		await confirm(conn, hello, secrets);
		const rec = await vault.get(vault.DEVICE);
		await vault.put(vault.DEVICE, { ...rec, state: 'active' });
		return secrets;
	} finally {
		conn.close();
	}
}

/**
 * Log in with the unlocked secrets: a connection whose session is this
 * device's. Repairs a pending device (stored, never confirmed) first.
 * Returns { conn, cert } where cert is the session's verified certificate (decoded).
 */
export async function login(secrets) {
	for (let attempt = 0; ; attempt++) {
		const conn = new Conn();
		try {
			const hello = await conn.open();
			const orgPk = unb64(secrets.org_pk, 32);
			if (!equalBytes(hello.orgPk, orgPk)) fail('bad_cert', 'the server shows another organisation key');
			if (secrets.root_pk && (!hello.rootPk || !equalBytes(hello.rootPk, unb64(secrets.root_pk, 32))))
				fail('bad_chain', 'the server shows another organisation root');
			const rec = await vault.get(vault.DEVICE);
			if (rec && rec.state === 'pending') {
				await confirm(conn, hello, secrets);
				await vault.put(vault.DEVICE, { ...rec, state: 'active' });
				conn.close();
				continue;
			}
			const time = now();
			const sk = unb64(secrets.sign_sk, 64);
			let sig;
			try {
				sig = sign(loginSigningInput(hello.nonce, conn.origin, secrets.device, time), sk);
			} finally {
				wipe(sk);
			}
			const ans = await conn.request({ type: 'login', device: secrets.device, origin: conn.origin, time, sig }, 'session');
			const cert = checkCert(ans.cert, orgPk, unb64(secrets.sign_pk, 32), unb64(secrets.box_pk, 32));
			return { conn, cert };
		} catch (e) {
			conn.close();
			if (e.code === 'device_pending' && attempt === 0) {
				const rec = await vault.get(vault.DEVICE);
				await vault.put(vault.DEVICE, { ...rec, state: 'pending' });
				continue;
			}
			throw e;
		}
	}
}
