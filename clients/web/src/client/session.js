// A logged-in device: its connection, its unlocked secrets and its verified
// certificate, and what the C client keeps in its home (the chains and
// rosters it saw last, to refuse a rollback), kept here in IndexedDB sealed
// under the device's local key. Every module of client/ takes a Session.
import { unb64 } from '../crypto/codec.js';
import * as vault from './vault.js';

const PIN = 'pin:';

export class Session {
	/**
	 * conn: a logged-in Conn; secrets: the unlocked secrets (enroll.js);
	 * cert: the session's certificate as cert.js decodes it.
	 */
	constructor(conn, secrets, cert) {
		this.conn = conn;
		this.secrets = secrets;
		this.cert = cert;
	}

	get user() {
		return this.cert.user;
	}

	get device() {
		return this.cert.device;
	}

	get role() {
		return this.cert.role;
	}

	/** The pinned organisation (enrollment) key. */
	get orgPk() {
		return unb64(this.secrets.org_pk, 32);
	}

	/** The pinned organisation root key, or null (enrolled before the org chain existed). */
	get rootPk() {
		return this.secrets.root_pk ? unb64(this.secrets.root_pk, 32) : null;
	}

	get signPk() {
		return unb64(this.secrets.sign_pk, 32);
	}

	get boxPk() {
		return unb64(this.secrets.box_pk, 32);
	}

	/** A fresh copy of the device's Ed25519 secret key (64 bytes): wipe it after use. */
	signSk() {
		return unb64(this.secrets.sign_sk, 64);
	}

	/** A fresh copy of the device's X25519 secret key (32 bytes): wipe it after use. */
	boxSk() {
		return unb64(this.secrets.box_sk, 32);
	}

	/** Send a frame, resolve with the answer of type `want` (conn.js). */
	request(frame, want) {
		return this.conn.request(frame, want);
	}

	/** What this device saw last under `name` (a JSON value), or null. */
	pinGet(name) {
		return vault.getLocal(this.secrets.local_key, PIN + name);
	}

	/** Remember `value` (a JSON value: no BigInt, no bytes) under `name`. */
	pinPut(name, value) {
		return vault.putLocal(this.secrets.local_key, PIN + name, value);
	}
}
