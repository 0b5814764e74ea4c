// One WebSocket connection to varskod (PROTOCOL.md sections 1 to 4): the
// varsko.v1 subprotocol, the hello, requests answered by id, pushes.
// The browser checks the server's TLS certificate itself; the origin signed
// into enroll and login is derived from the wss URL (section 9).
import { fail, originFromUrl, VarskoError } from '../crypto/codec.js';
import { PROTO_FRAME_TYPES, protoFrameDecode, protoFrameEncode } from '../crypto/frames.js';
import { jsonDump, jsonLoad } from '../crypto/schema.js';

const SUBPROTOCOL = 'varsko.v1';
const HELLO_TIMEOUT_MS = 10000;
const REQUEST_TIMEOUT_MS = 30000;
/* What a received frame may weigh: a flow frame's 2 162 688 bytes (section 1) with room for lists. */
const RECEIVE_MAX = 16 * 1024 * 1024;

/** The wss URL of the server that served this page. */
export function serverUrl() {
	return `wss://${location.host}/`;
}

function readFrame(text) {
	const m = jsonLoad(text, RECEIVE_MAX);
	const type = m.get('type');
	if (typeof type !== 'string') return null;
	if (PROTO_FRAME_TYPES.includes(type)) return protoFrameDecode(text);
	const id = m.get('id');
	return { type, id: typeof id === 'string' ? id : undefined, raw: m };
}

/** A loaded JSON value as plain objects (Maps to null-prototype objects), for members without a table. */
export function plain(v) {
	if (v instanceof Map) {
		const o = Object.create(null);
		for (const [k, x] of v) o[k] = plain(x);
		return o;
	}
	if (Array.isArray(v)) return v.map(plain);
	return v;
}

export class Conn {
	constructor(url = serverUrl()) {
		this.url = url;
		this.origin = originFromUrl(url);
		this.ws = null;
		this.hello = null;
		this.next = 1;
		this.pending = new Map();
		this.onpush = null;
		this.onclose = null;
		this.closed = false;
	}

	/** Connect and wait for hello: { nonce, time, org_pk, root_pk|null }. */
	open() {
		return new Promise((resolve, reject) => {
			let ws;
			try {
				ws = new WebSocket(this.url, SUBPROTOCOL);
			} catch {
				reject(new VarskoError('connect'));
				return;
			}
			this.ws = ws;
			const timer = setTimeout(() => {
				reject(new VarskoError('timeout'));
				ws.close();
			}, HELLO_TIMEOUT_MS);
			ws.onmessage = (ev) => {
				// Strictly, as section 2 says: a handshake frame of section 4 decoded
				// by its table, any other frame loaded (duplicate keys refused,
				// integers BigInt) and kept as `raw` (a Map) for its module.
				let f = null;
				try {
					f = readFrame(ev.data);
				} catch {
					f = null;
				}
				if (!f) {
					this.failAll(new VarskoError('bad_frame'));
					ws.close();
					return;
				}
				if (!this.hello) {
					clearTimeout(timer);
					try {
						this.hello = this.readHello(f);
						resolve(this.hello);
					} catch (e) {
						reject(e);
						ws.close();
					}
					return;
				}
				this.dispatch(f);
			};
			ws.onerror = () => {};
			ws.onclose = (ev) => {
				clearTimeout(timer);
				this.closed = true;
				if (!this.hello) reject(new VarskoError('connect'));
				this.failAll(new VarskoError('closed'));
				if (this.onclose) this.onclose(ev.code);
			};
		});
	}

	readHello(f) {
		if (f.type !== 'hello') fail('bad_frame', 'not a varsko.v1 hello');
		return { nonce: f.nonce, time: f.time, orgPk: f.orgPk, rootPk: f.rootPk || null };
	}

	dispatch(f) {
		const p = f.id !== undefined ? this.pending.get(f.id) : undefined;
		if (p) {
			this.pending.delete(f.id);
			clearTimeout(p.timer);
			if (f.type === 'error') p.reject(new VarskoError(typeof f.code === 'string' ? f.code : 'internal'));
			else if (p.want && f.type !== p.want) p.reject(new VarskoError('protocol', `got ${f.type}, want ${p.want}`));
			else p.resolve(f);
			return;
		}
		if (f.type === 'error' && this.pending.size === 1 && f.id === undefined) {
			// An error to a frame the server could not read far enough to find its id.
			const [id, q] = this.pending.entries().next().value;
			this.pending.delete(id);
			clearTimeout(q.timer);
			q.reject(new VarskoError(typeof f.code === 'string' ? f.code : 'internal'));
			return;
		}
		if (this.onpush) this.onpush(f);
	}

	failAll(err) {
		for (const [, p] of this.pending) {
			clearTimeout(p.timer);
			p.reject(err);
		}
		this.pending.clear();
	}

	/**
	 * Send frame and resolve with the answer of type `want`. A handshake frame
	 * (section 4) is given and answered as frames.js decodes it (camelCase,
	 * bytes, certificates decoded); any other frame is sent as the plain
	 * object given (integers as BigInt or Number) and answered as
	 * { type, id, raw } with raw the loaded Map.
	 */
	request(frame, want) {
		if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return Promise.reject(new VarskoError('closed'));
		const id = `w${this.next++}`;
		return new Promise((resolve, reject) => {
			const timer = setTimeout(() => {
				this.pending.delete(id);
				reject(new VarskoError('timeout'));
			}, REQUEST_TIMEOUT_MS);
			this.pending.set(id, { resolve, reject, want, timer });
			this.ws.send(PROTO_FRAME_TYPES.includes(frame.type) ? protoFrameEncode({ ...frame, id }) : jsonDump({ ...frame, id }));
		});
	}

	close() {
		if (this.ws && this.ws.readyState <= WebSocket.OPEN) this.ws.close(1000);
	}
}
