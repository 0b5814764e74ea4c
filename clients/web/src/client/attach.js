// Attachments (PROTOCOL.md 17.9), the browser side of clients/lib/attach.c
// and the "file" plaintext of clients/lib/threadmsg.c: the file encrypted
// here (blob.js: secretstream under a fresh key), its ciphertext uploaded in
// parts (blob_begin, then blob_put from where varskod's stored bytes end),
// and the bytes of a blob fetched in parts, checked against the message that
// names it, decrypted and checked for length and SHA-256.
//
// The C client keeps an upload in its home until its message is sent; the
// browser keeps it in this page's memory (a fresh encryption would differ:
// the header is random), so an upload cut off by a dropped connection goes
// on, under the same blob and message ids, when the same file is sent to
// the same thread again while the page lives.
import { b64, concat, equalBytes, fail, toHex, unb64, utf8, sodium, VarskoError, wipe } from '../crypto/codec.js';
import { blobCipherLen, blobDecrypt, blobEncrypt, blobKey, BLOB_PART_MAX, BLOB_PLAIN_MAX } from '../crypto/blob.js';
import { threadBlobIdValid } from '../crypto/thread.js';
import { jsonDump } from '../crypto/schema.js';

export const TMSG_TEXT_MAX = 65536;
export const TMSG_TITLE_MAX = 200;
export const TMSG_FILE_NAME_MAX = 255;
export const TMSG_MEDIA_TYPE_MAX = 127;

/* ---- the text rules of proto/utf8.c ------------------------------------------------------ */

function isLoneSurrogate(s) {
	return /(?:[\uD800-\uDBFF](?![\uDC00-\uDFFF]))|(?:(?:^|[^\uD800-\uDBFF])[\uDC00-\uDFFF])/.test(s);
}

/* proto_utf8_valid with PROTO_UTF8_NO_CTRL (lfTab: PROTO_UTF8_LF_TAB): no C0, DEL or C1 control. */
function noCtrl(s, lfTab) {
	for (const ch of s) {
		const c = ch.codePointAt(0);
		if ((c < 0x20 || (c >= 0x7f && c <= 0x9f)) && !(lfTab && (c === 0x0a || c === 0x09))) return false;
	}
	return true;
}

/** UTF-8 length of a string (no lone surrogates), else -1. */
export function byteLen(s) {
	if (typeof s !== 'string' || isLoneSurrogate(s)) return -1;
	return utf8(s).length;
}

/** tmsg_text_valid(): 1..65536 bytes of UTF-8, no control characters but line feed and tab. */
export function tmsgTextValid(s) {
	const n = byteLen(s);
	return n >= 1 && n <= TMSG_TEXT_MAX && noCtrl(s, true);
}

/** tmsg_title_valid(): 1..200 bytes of UTF-8, no control characters. */
export function tmsgTitleValid(s) {
	const n = byteLen(s);
	return n >= 1 && n <= TMSG_TITLE_MAX && noCtrl(s, false);
}

/** tmsg_file_name_valid(): 1..255 bytes of UTF-8 without controls, '/' or '\', not "." or "..". */
export function tmsgFileNameValid(s) {
	const n = byteLen(s);
	if (n < 1 || n > TMSG_FILE_NAME_MAX || !noCtrl(s, false)) return false;
	if (s === '.' || s === '..') return false;
	return !s.includes('/') && !s.includes('\\');
}

/** tmsg_media_type_valid(): 3..127 bytes of visible ASCII with one '/', neither first nor last. */
export function tmsgMediaTypeValid(s) {
	if (typeof s !== 'string' || s.length < 3 || s.length > TMSG_MEDIA_TYPE_MAX) return false;
	let slash = 0;
	for (let i = 0; i < s.length; i++) {
		const c = s.charCodeAt(i);
		if (c < 0x21 || c > 0x7e) return false;
		if (c === 0x2f) slash++;
	}
	return slash === 1 && s[0] !== '/' && s[s.length - 1] !== '/';
}

/* ---- the "file" object of a file message ------------------------------------------------- */

/**
 * tmsg_file_encode(): the plaintext of a file message, compact with sorted
 * keys, as UTF-8 bytes (the caller wipes them: they hold the key).
 * f: { blob, key (32 bytes), mediaType, name, sha256 (32 bytes), size }.
 */
export function tmsgFileEncode(f, text = null) {
	if (!threadBlobIdValid(f.blob) || !tmsgFileNameValid(f.name) || !tmsgMediaTypeValid(f.mediaType) ||
	    !Number.isSafeInteger(f.size) || f.size < 0 || f.size > BLOB_PLAIN_MAX ||
	    (text !== null && text !== undefined && !tmsgTextValid(text)))
		fail('bad_input', 'file message');
	const o = { file: { blob: f.blob, key: b64(f.key), media_type: f.mediaType, name: f.name, sha256: b64(f.sha256),
		size: BigInt(f.size) } };
	if (text !== null && text !== undefined) o.text = text;
	return utf8(jsonDump(o));
}

/* Exactly 32 bytes of standard base64 (44 characters). */
function b64of32(v) {
	if (typeof v !== 'string' || v.length !== 44) return null;
	try {
		return unb64(v, 32);
	} catch {
		return null;
	}
}

/** tmsg_file_from_json(): the "file" member (a Map as loaded) checked, or `bad_frame`. */
export function tmsgFileFromJson(o) {
	if (!(o instanceof Map) || o.size !== 6) fail('bad_frame', 'file');
	const blob = o.get('blob');
	if (typeof blob !== 'string' || !threadBlobIdValid(blob)) fail('bad_frame', 'file blob');
	const key = b64of32(o.get('key'));
	const sha256 = b64of32(o.get('sha256'));
	if (!key || !sha256) {
		wipe(key);
		fail('bad_frame', 'file key or sha256');
	}
	const name = o.get('name');
	const mediaType = o.get('media_type');
	const size = o.get('size');
	if (!tmsgFileNameValid(name) || !tmsgMediaTypeValid(mediaType) || typeof size !== 'bigint' || size < 0n ||
	    size > BigInt(BLOB_PLAIN_MAX)) {
		wipe(key);
		fail('bad_frame', 'file name, type or size');
	}
	return { blob, key, mediaType, name, sha256, size: Number(size) };
}

/* ---- uploading ------------------------------------------------------------------------------ */

/* The kept uploads of this page: name (upload_names()) -> { f, message, ct, ctSha256 }. */
const kept = new Map();

/** A fresh id: prefix ("T-", "M-", "B-") and the canonical base32 of 16 bytes (tchain_id_of). */
export function idOf(prefix, b) {
	if (!(b instanceof Uint8Array) || b.length !== 16) fail('bad_input', 'id of 16 bytes');
	const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
	let acc = 0;
	let bits = 0;
	let out = prefix;
	for (const byte of b) {
		acc = (acc << 8) | byte;
		bits += 8;
		while (bits >= 5) {
			out += A[(acc >>> (bits - 5)) & 31];
			bits -= 5;
			acc &= (1 << bits) - 1;
		}
	}
	return out + A[(acc << (5 - bits)) & 31];
}

/** tchain_new_id(): a fresh random id. */
export function newId(prefix) {
	const b = sodium.randombytes_buf(16);
	try {
		return idOf(prefix, b);
	} finally {
		wipe(b);
	}
}

/* upload_names(): BLAKE2b-128 of the binding ("thread"/"submission" and its id) and the file's SHA-256. */
function uploadName(bindKey, bindValue, sha) {
	const z = new Uint8Array(1);
	const h = sodium.crypto_generichash(16, concat(utf8(bindKey), z, utf8(bindValue), z, sha), null);
	return toHex(h);
}

function uploadClear(u) {
	if (!u) return;
	wipe(u.f.key, u.ct);
}

/**
 * file_want(): the facts of a file for its "file" object: { name, mediaType,
 * size, sha256 }. `bad_input` for a name or type not allowed, `too_large`.
 */
export function fileWant(name, mediaType, data) {
	if (!tmsgFileNameValid(name) || !tmsgMediaTypeValid(mediaType) || !(data instanceof Uint8Array))
		fail('bad_input', `a file's name is 1 to ${TMSG_FILE_NAME_MAX} bytes without '/', its type "type/subtype"`);
	if (data.length > BLOB_PLAIN_MAX) fail('too_large', 'the file is larger than any server takes');
	return { name, mediaType, size: data.length, sha256: sodium.crypto_hash_sha256(data) };
}

/* upload_new(): key, encryption, ids. */
function uploadNew(want, data) {
	const f = { ...want, key: blobKey(), blob: newId('B-') };
	const ct = blobEncrypt(f.key, data);
	return { f, message: newId('M-'), ct, ctSha256: sodium.crypto_hash_sha256(ct) };
}

/* blob_begin or blob_put: { received, complete } of the answer, checked to be this upload's. */
async function blobStep(session, frame, u) {
	const ans = await session.request(frame, 'blob_ok');
	const m = ans.raw;
	const received = m.get('received');
	const size = m.get('size');
	if (m.get('blob') !== u.f.blob || typeof size !== 'bigint' || size !== BigInt(u.ct.length) ||
	    typeof received !== 'bigint' || received < 0n || received > BigInt(u.ct.length))
		fail('protocol', "varskod's answer names another upload than this one");
	return { received: Number(received), complete: m.get('complete') === true };
}

/* upload_send(): what varskod does not have yet; returns what it had at the start. */
async function uploadSend(session, bindKey, bindValue, u) {
	let { received, complete } = await blobStep(session, { type: 'blob_begin', blob: u.f.blob, [bindKey]: bindValue,
		size: BigInt(u.ct.length), sha256: b64(u.ctSha256) }, u);
	const from = received;
	while (!complete) {
		const n = Math.min(u.ct.length - received, BLOB_PART_MAX);
		const was = received;
		if (n === 0) fail('protocol', 'varskod has every byte but does not call the upload complete');
		({ received, complete } = await blobStep(session, { type: 'blob_put', blob: u.f.blob, offset: BigInt(received),
			data: b64(u.ct.subarray(received, received + n)) }, u));
		if (!complete && received <= was) fail('protocol', 'varskod stored nothing of a part');
	}
	return from;
}

/** varsko_upload_kept(): an upload is kept for a retry only when the connection failed. */
export function uploadKept(code) {
	return ['connect', 'timeout', 'closed', 'tls', 'unavailable', 'nomem'].includes(code);
}

/**
 * upload_file(): one file uploaded for the binding (bindKey "thread" or
 * "submission"): the kept upload of it when there is one, else a new one.
 * Returns { upload: { f, message }, name (to drop it with uploadDrop once the
 * message naming it is stored), resumedFrom }.
 */
export async function uploadFile(session, bindKey, bindValue, want, data) {
	const name = uploadName(bindKey, bindValue, want.sha256);
	let u = kept.get(name);
	if (!u || u.f.size !== want.size || u.f.name !== want.name || u.f.mediaType !== want.mediaType ||
	    u.ct.length !== blobCipherLen(want.size)) {
		uploadClear(u);
		u = uploadNew(want, data);
		kept.set(name, u);
	}
	try {
		const resumedFrom = await uploadSend(session, bindKey, bindValue, u);
		return { upload: u, name, resumedFrom };
	} catch (e) {
		if (!(e instanceof VarskoError) || !uploadKept(e.code)) uploadDrop(name);
		throw e;
	}
}

/** The kept upload `name` forgotten (its key and ciphertext wiped). */
export function uploadDrop(name) {
	const u = kept.get(name);
	kept.delete(name);
	uploadClear(u);
}

/** How many uploads wait in this page (for tests). */
export function uploadsKept() {
	return kept.size;
}

/* ---- fetching ------------------------------------------------------------------------------ */

/* blob_fetch(): the ciphertext of f.blob (cipher bytes), in parts, each checked against the message. */
async function blobFetch(session, f, cipher) {
	const buf = new Uint8Array(cipher);
	let at = 0;
	while (at < cipher) {
		const ans = await session.request({ type: 'blob_get', blob: f.blob, offset: BigInt(at) }, 'blob_data');
		const m = ans.raw;
		const s = m.get('data');
		let part = null;
		try {
			if (typeof s === 'string' && m.get('blob') === f.blob && m.get('size') === BigInt(cipher) &&
			    m.get('offset') === BigInt(at) && Math.floor(s.length / 4) * 3 <= cipher - at + 2)
				part = unb64(s);
		} catch {
			part = null;
		}
		if (!part || part.length === 0 || part.length > cipher - at) {
			wipe(buf);
			fail('crypto', "varskod's answer for the attachment does not fit the message that names it");
		}
		buf.set(part, at);
		at += part.length;
	}
	return buf;
}

/**
 * attach_fetch_open(): the file f names ({ blob, key, size, sha256, ... }),
 * fetched, decrypted and checked (length and SHA-256). The caller wipes it.
 */
export async function attachFetchOpen(session, f) {
	const cipher = blobCipherLen(f.size);
	if (cipher === 0) fail('too_large', 'attachment');
	const ct = await blobFetch(session, f, cipher);
	let pt = null;
	try {
		pt = blobDecrypt(f.key, ct);
	} catch {
		pt = null;
	}
	wipe(ct);
	if (!pt || pt.length !== f.size || !equalBytes(sodium.crypto_hash_sha256(pt), f.sha256)) {
		wipe(pt);
		fail('crypto', `the attachment ${f.blob} does not open, or is not the file that names it`);
	}
	return pt;
}
