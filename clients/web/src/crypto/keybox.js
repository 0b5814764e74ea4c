// The key material of the key model (PROTOCOL.md section 14), mirroring
// proto/keybox.c: user-key and team-key generations and their derivation, key
// ids, the key box set that hands a generation to its readers, the recovery
// code and recovery box (Argon2id), and the six-digit approval code.
//
// A generation is {kind: 'user' | 'team', generation (BigInt), seed, signPk,
// signSk (user keys; null for a team key), boxPk, boxSk, prevKey}; it holds
// secrets: keyboxGenWipe() it when done. A key box set is {owner, generation
// (BigInt), pub, prevBox (48 bytes; absent for generation 1), boxes:
// [{recipient, sealed}], signer, sig}; a recovery box {user, salt, opslimit,
// memlimit (BigInt), nonce, box}. Functions that draw randomness take it from
// the caller when given (ephemeral keys, salt, nonce) so vectors are
// deterministic. On failure nothing secret is left behind: every seed, key and
// plaintext made on the way is wiped.
import { sodium, fail, VarskoError, Fields, FieldReader, utf8, concat, equalBytes, wipe, verify, sign } from './codec.js';
import { K, field, ID_MAX, INT64_MAX, jsonLoad, schemaDecode, schemaEncodeText, validId } from './schema.js';

export const KEYBOX_SEED_LEN = 32;
export const KEYBOX_SEALED_LEN = 80;
export const KEYBOX_PREV_BOX_LEN = 48;
export const KEYBOX_RECIPIENTS_MAX = 128;
export const KEYBOX_OWNER_MAX = 5 + ID_MAX;
export const KEYBOX_KEYID_MAX = 5 + ID_MAX + 1 + 19;
export const KEYBOX_JSON_MAX = 65536;

export const KEYBOX_TAG_SET = 'varsko-keybox-v1';
export const KEYBOX_TAG_PREV = 'varsko-prevbox-v1';
export const KEYBOX_TAG_RECOVERY = 'varsko-recovery-v1';
export const KEYBOX_TAG_APPROVE = 'varsko-approve-v1';
export const KEYBOX_TAG_APPROVE_COMMIT = 'varsko-approve-commit-v1';
export const KEYBOX_TAG_APPROVE_NONCE = 'varsko-approve-nonce-v1';

const CTX = Object.freeze({ user: 'vskuser1', team: 'vskteam1' });
const SUBKEY_SIGN = 1;
const SUBKEY_BOX = 2;
const SUBKEY_PREV = 3;

const isBytes = (b, n) => b instanceof Uint8Array && b.length === n;

function big(v) {
	if (typeof v === 'bigint') return v;
	if (Number.isSafeInteger(v)) return BigInt(v);
	return -1n;
}

const genOk = (g) => g >= 1n && g <= INT64_MAX;

/* ---- generations --------------------------------------------------------------- */

/**
 * Generation `generation` of a user or team key from a 32-byte seed (copied,
 * not kept): crypto_kdf subkey 1 the Ed25519 seed (user keys only), 2 the
 * X25519 seed, 3 the prev_box key. `bad_input` for an unknown kind, a
 * generation outside 1..2^63-1 or a seed of another length.
 */
export function keyboxGenDerive(kind, generation, seed) {
	const g = big(generation);
	if (!Object.hasOwn(CTX, kind) || !genOk(g) || !isBytes(seed, KEYBOX_SEED_LEN)) fail('bad_input', 'generation');
	const ctx = CTX[kind];
	const out = { kind, generation: g, seed: Uint8Array.from(seed), signPk: new Uint8Array(32), signSk: null,
		boxPk: null, boxSk: null, prevKey: null };
	let sub = null;
	try {
		if (kind === 'user') {
			sub = sodium.crypto_kdf_derive_from_key(32, SUBKEY_SIGN, ctx, seed);
			const kp = sodium.crypto_sign_seed_keypair(sub);
			out.signPk = kp.publicKey;
			out.signSk = kp.privateKey;
			wipe(sub);
		}
		sub = sodium.crypto_kdf_derive_from_key(32, SUBKEY_BOX, ctx, seed);
		const bk = sodium.crypto_box_seed_keypair(sub);
		out.boxPk = bk.publicKey;
		out.boxSk = bk.privateKey;
		out.prevKey = sodium.crypto_kdf_derive_from_key(32, SUBKEY_PREV, ctx, seed);
	} catch (e) {
		keyboxGenWipe(out);
		throw e;
	} finally {
		wipe(sub);
	}
	return out;
}

/** As keyboxGenDerive with a fresh random seed. */
export function keyboxGenNew(kind, generation) {
	const seed = sodium.randombytes_buf(KEYBOX_SEED_LEN);
	try {
		return keyboxGenDerive(kind, generation, seed);
	} finally {
		wipe(seed);
	}
}

/** Wipes a generation's seed and secret keys. Null-safe. */
export function keyboxGenWipe(g) {
	if (g) wipe(g.seed, g.signSk, g.boxSk, g.prevKey);
}

/* ---- key ids ------------------------------------------------------------------ */

/* A generation in a key id: decimal, no leading zero, 1..2^63-1. */
function generationTextOk(s) {
	return /^[1-9][0-9]{0,18}$/.test(s) && BigInt(s) <= INT64_MAX;
}

function prefixKind(s) {
	if (s.startsWith('team:')) return 'team';
	if (s.startsWith('user:')) return 'user';
	return null;
}

/** 'user' or 'team' for an owner "user:<id>" / "team:<id>", else null. */
export function keyboxOwnerKind(owner) {
	if (typeof owner !== 'string' || owner.length > KEYBOX_OWNER_MAX) return null;
	const k = prefixKind(owner);
	return k && validId(owner.slice(5), 1, ID_MAX) ? k : null;
}

/** A key id: "user:<id>:<g>", "team:<id>:<g>" (g after the last ':') or "device:<device id>". */
export function keyboxKeyidValid(id) {
	if (typeof id !== 'string' || id.length > KEYBOX_KEYID_MAX) return false;
	if (id.startsWith('device:')) return validId(id.slice(7), 1, ID_MAX);
	if (!prefixKind(id)) return false;
	const colon = id.lastIndexOf(':');
	if (colon <= 4) return false;
	return validId(id.slice(5, colon), 1, ID_MAX) && generationTextOk(id.slice(colon + 1));
}

/** owner's key id of generation g; `bad_input` for a bad owner or generation. */
export function keyboxKeyId(owner, generation) {
	const g = big(generation);
	if (!keyboxOwnerKind(owner) || !genOk(g)) fail('bad_input', 'owner or generation');
	return `${owner}:${g}`;
}

/** "user:<user>"; `bad_input` for a user that is not an id. */
export function keyboxUserOwner(user) {
	if (!validId(user, 1, ID_MAX)) fail('bad_input', 'user id');
	return `user:${user}`;
}

/** "user:<user>:<generation>". */
export function keyboxUserKeyId(user, generation) {
	return keyboxKeyId(keyboxUserOwner(user), generation);
}

/** "team:<team>"; `bad_input` for a team that is not an id. */
export function keyboxTeamOwner(team) {
	if (!validId(team, 1, ID_MAX)) fail('bad_input', 'team id');
	return `team:${team}`;
}

/** {owner, generation} of a key id "user:<id>:<g>" or "team:<id>:<g>"; `bad_input` for anything else. */
export function keyboxKeyIdSplit(id) {
	if (!keyboxKeyidValid(id) || id.startsWith('device:')) fail('bad_input', 'not a generation key id');
	const colon = id.lastIndexOf(':');
	return { owner: id.slice(0, colon), generation: BigInt(id.slice(colon + 1)) };
}

/* ---- key box set ------------------------------------------------------------------ */

const BOX_TABLE = Object.freeze([
	field('recipient', K.ID, { min: 1, max: KEYBOX_KEYID_MAX }),
	field('sealed', K.B64, { max: KEYBOX_SEALED_LEN }),
]);

const SET_TABLE = Object.freeze([
	field('boxes', K.OBJLIST, { min: 1, max: KEYBOX_RECIPIENTS_MAX, table: BOX_TABLE }),
	field('generation', K.U64, { min: 1 }),
	field('owner', K.ID, { min: 6, max: KEYBOX_OWNER_MAX }),
	field('prev_box', K.B64, { max: KEYBOX_PREV_BOX_LEN, required: false }),
	field('pub', K.B64, { max: 32 }),
	field('sig', K.B64, { max: 64 }),
	field('signer', K.B64, { max: 32 }),
]);

/* What every set meets before it is signed, verified, opened or encoded, and after it is decoded. */
function setWellFormed(s) {
	if (!s || typeof s !== 'object' || !keyboxOwnerKind(s.owner)) return false;
	const g = big(s.generation);
	const hasPrev = s.prevBox !== undefined && s.prevBox !== null;
	if (!genOk(g) || hasPrev !== g > 1n || (hasPrev && !isBytes(s.prevBox, KEYBOX_PREV_BOX_LEN))) return false;
	if (!isBytes(s.pub, 32) || !isBytes(s.signer, 32) || !isBytes(s.sig, 64)) return false;
	if (!Array.isArray(s.boxes) || s.boxes.length < 1 || s.boxes.length > KEYBOX_RECIPIENTS_MAX) return false;
	for (let i = 0; i < s.boxes.length; i++) {
		const b = s.boxes[i];
		if (!b || !keyboxKeyidValid(b.recipient) || !isBytes(b.sealed, KEYBOX_SEALED_LEN)) return false;
		/* Key ids are ASCII, so JavaScript's order is the bytewise order. */
		if (i > 0 && !(s.boxes[i - 1].recipient < b.recipient)) return false;
	}
	return true;
}

/** The nonce of a prev_box: the first 24 bytes of SHA-256(enc(tag, owner, u64 generation)), the set's generation. */
export function keyboxPrevNonce(owner, generation) {
	const g = big(generation);
	if (!keyboxOwnerKind(owner) || !genOk(g)) fail('bad_input', 'owner or generation');
	return sodium.crypto_hash_sha256(new Fields(KEYBOX_TAG_PREV).str(owner).int(g).done()).slice(0, 24);
}

/** The signing input of 14.3; `bad_input` for a malformed set. */
export function keyboxSetSigningInput(s) {
	if (!setWellFormed(s)) fail('bad_input', 'key box set not well-formed');
	const f = new Fields(KEYBOX_TAG_SET).str(s.owner).int(big(s.generation)).bytes(s.pub)
		.bytes(s.prevBox ?? new Uint8Array(0)).int(s.boxes.length);
	for (const b of s.boxes) f.str(b.recipient).bytes(b.sealed);
	return f.done();
}

/*
 * crypto_box_seal of a seed. With the caller's ephemeral secret key it is the
 * same construction by hand (epk || crypto_box(seed, nonce = BLAKE2b-192(epk
 * || pk), pk, esk)), so crypto_box_seal_open opens both. `crypto` for a
 * recipient key of low order.
 */
function sealSeed(seed, pk, esk) {
	if (!isBytes(pk, 32)) fail('bad_input', 'recipient key of 32 bytes');
	try {
		if (esk === undefined || esk === null) return sodium.crypto_box_seal(seed, pk);
		if (!isBytes(esk, 32)) fail('bad_input', 'ephemeral key of 32 bytes');
		const epk = sodium.crypto_scalarmult_base(esk);
		const nonce = sodium.crypto_generichash(24, concat(epk, pk), null);
		return concat(epk, sodium.crypto_box_easy(seed, nonce, pk, esk));
	} catch (e) {
		if (e instanceof VarskoError) throw e;
		return fail('crypto', 'cannot seal to that key');
	}
}

/**
 * The box set of generation g (its kind that of owner), with prev (generation
 * g - 1, same kind) sealed in prev_box, or prev null for generation 1. Seals
 * g's seed to each of rcpts ([{id, boxPk}]), sorted by key id, and signs with
 * signerSk (64-byte Ed25519). ephSks: null for fresh ephemeral keys, else one
 * 32-byte X25519 secret key per recipient (vectors). `bad_input` (bad owner,
 * kinds or generations, a bad or repeated key id, no recipient), `too_large`
 * (more than 128), `crypto` (a recipient key of low order).
 */
export function keyboxSetMake(owner, g, prev, rcpts, signerSk, ephSks = null) {
	const kind = keyboxOwnerKind(owner);
	if (!g || !isBytes(signerSk, 64) || !Array.isArray(rcpts)) fail('bad_input', 'arguments');
	if (!kind || g.kind !== kind || !genOk(big(g.generation))) fail('bad_input', 'owner or generation');
	const gen = big(g.generation);
	if (gen === 1n ? prev : !prev || prev.kind !== kind || big(prev.generation) !== gen - 1n)
		fail('bad_input', 'previous generation');
	if (rcpts.length === 0) fail('bad_input', 'no recipient');
	if (rcpts.length > KEYBOX_RECIPIENTS_MAX) fail('too_large', 'recipients');
	if (ephSks && ephSks.length !== rcpts.length) fail('bad_input', 'one ephemeral key per recipient');
	const s = { owner, generation: gen, pub: Uint8Array.from(g.boxPk), boxes: [], signer: null, sig: null };
	if (prev) s.prevBox = sodium.crypto_secretbox_easy(prev.seed, keyboxPrevNonce(owner, gen), g.prevKey);
	rcpts.forEach((r, i) => {
		if (!r || !keyboxKeyidValid(r.id)) fail('bad_input', 'recipient key id');
		s.boxes.push({ recipient: r.id, sealed: sealSeed(g.seed, r.boxPk, ephSks ? ephSks[i] : null) });
	});
	s.boxes.sort((a, b) => (a.recipient < b.recipient ? -1 : a.recipient > b.recipient ? 1 : 0));
	s.signer = sodium.crypto_sign_ed25519_sk_to_pk(signerSk);
	s.sig = new Uint8Array(64);
	if (!setWellFormed(s)) fail('bad_input', 'a key id twice');
	s.sig = sign(keyboxSetSigningInput(s), signerSk);
	return s;
}

/**
 * Checks s's signature with its signer; with signerPk, the signer must also
 * be that key. `bad_signature` otherwise (also for a malformed set). Whether
 * the signer may make the set is the caller's to check against the chains.
 */
export function keyboxSetVerify(s, signerPk = null) {
	if (!setWellFormed(s)) fail('bad_signature', 'malformed set');
	if (signerPk !== null && signerPk !== undefined && !equalBytes(signerPk, s.signer)) fail('bad_signature', 'another signer');
	if (!verify(keyboxSetSigningInput(s), s.sig, s.signer)) fail('bad_signature');
}

/** `stale_key` for a set whose generation is not after `known` (the last accepted; 0 for none). */
export function keyboxSetCheckNewer(s, known) {
	if (!s) fail('bad_input', 'no set');
	if (!(big(s.generation) > big(known))) fail('stale_key');
}

/**
 * Opens the box of `recipient` with its X25519 key pair and derives the
 * generation (kind from the owner). `not_found` (no box for that key id),
 * `crypto` (the box does not open, or the seed's box key is not pub),
 * `bad_input` (malformed set). Does not check the signature: verify first.
 */
export function keyboxSetOpen(s, recipient, boxPk, boxSk) {
	if (!setWellFormed(s) || typeof recipient !== 'string' || !isBytes(boxPk, 32) || !isBytes(boxSk, 32))
		fail('bad_input', 'malformed set or key');
	const box = s.boxes.find((b) => b.recipient === recipient);
	if (!box) fail('not_found', 'no box for that key id');
	let seed;
	try {
		seed = sodium.crypto_box_seal_open(box.sealed, boxPk, boxSk);
	} catch {
		return fail('crypto', 'box does not open');
	}
	try {
		const g = keyboxGenDerive(keyboxOwnerKind(s.owner), s.generation, seed);
		if (!equalBytes(g.boxPk, s.pub)) {
			keyboxGenWipe(g);
			fail('crypto', 'seed is not of pub');
		}
		return g;
	} finally {
		wipe(seed);
	}
}

/**
 * Walks back from `top` (generation g) through sets (sets[i] the set of
 * generation i + 1, all of one owner, sets.length === g): opens each
 * prev_box and checks that the seed derives the pub of the set before.
 * Returns generations 1..g-1 (wipe each). `bad_input` (wrong number, order or
 * owner of sets, or top not of them), `crypto` (a prev_box that does not open
 * or a seed that does not match); nothing is returned or left on failure.
 */
export function keyboxWalkBack(top, sets) {
	const n = Array.isArray(sets) ? sets.length : 0;
	if (!top || n < 1 || BigInt(n) !== big(top.generation)) fail('bad_input', 'sets');
	for (let i = 0; i < n; i++)
		if (!setWellFormed(sets[i]) || big(sets[i].generation) !== BigInt(i + 1) || sets[i].owner !== sets[0].owner ||
		    keyboxOwnerKind(sets[i].owner) !== top.kind)
			fail('bad_input', 'sets');
	if (!equalBytes(sets[n - 1].pub, top.boxPk)) fail('bad_input', 'top is not of the last set');
	const out = new Array(n - 1).fill(null);
	let cur = top;
	try {
		for (let k = n; k >= 2; k--) {
			const s = sets[k - 1];
			let seed;
			try {
				seed = sodium.crypto_secretbox_open_easy(s.prevBox, keyboxPrevNonce(s.owner, k), cur.prevKey);
			} catch {
				fail('crypto', 'prev_box does not open');
			}
			try {
				out[k - 2] = keyboxGenDerive(top.kind, k - 1, seed);
			} finally {
				wipe(seed);
			}
			if (!equalBytes(out[k - 2].boxPk, sets[k - 2].pub)) fail('crypto', 'seed is not of the older pub');
			cur = out[k - 2];
		}
	} catch (e) {
		out.forEach(keyboxGenWipe);
		throw e;
	}
	return out;
}

export const KEYBOX_FIT_OK = 'ok';
export const KEYBOX_FIT_MISSING = 'missing';
export const KEYBOX_FIT_STALE = 'stale';

/**
 * How a team key set fits the team's members (16.6): users[i] the members,
 * gens[i] the generation of each one's current user key. 'stale' when a box
 * is for anyone but a member's current user key, else 'missing' when a member
 * has no box, else 'ok'.
 */
export function keyboxTeamFit(s, users, gens) {
	let boxed = 0;
	for (const b of s.boxes) {
		let id;
		try {
			id = keyboxKeyIdSplit(b.recipient);
		} catch {
			return KEYBOX_FIT_STALE;
		}
		if (keyboxOwnerKind(id.owner) !== 'user') return KEYBOX_FIT_STALE;
		const k = users.indexOf(id.owner.slice(5));
		if (k < 0 || id.generation !== big(gens[k])) return KEYBOX_FIT_STALE;
		boxed++;
	}
	return boxed === users.length ? KEYBOX_FIT_OK : KEYBOX_FIT_MISSING;
}

/** Canonical JSON text of a set; `bad_input` for a set that would not parse back. */
export function keyboxSetToJson(s) {
	if (!setWellFormed(s)) fail('bad_input', 'key box set not well-formed');
	return schemaEncodeText(s, SET_TABLE);
}

/**
 * Strict parse of a set's JSON text (at most 65 536 bytes: `too_large`);
 * `bad_json`, `duplicate_key`, and `bad_frame` for a missing, unknown or
 * ill-kinded member, a prev_box present for generation 1 or missing for a
 * later one, an empty, unsorted or duplicate `boxes`, a recipient that is not
 * a key id. Does not verify.
 */
export function keyboxSetFromJson(text) {
	const s = schemaDecode(jsonLoad(text, KEYBOX_JSON_MAX), SET_TABLE);
	if (!setWellFormed(s)) fail('bad_frame', 'key box set not well-formed');
	return s;
}

/* ---- recovery code -------------------------------------------------------------------- */

export const KEYBOX_CODE_LEN = 16;
export const KEYBOX_CODE_CHARS = 26;
export const KEYBOX_CODE_INPUT_MAX = 256;

/*
 * Base32 digits without lookups indexed by secret values: a mask that is -1
 * when lo <= c <= hi, else 0.
 */
function inRange(c, lo, hi) {
	return ((lo - 1 - c) & (c - hi - 1)) >> 8;
}

function b32Char(v) {
	return String.fromCharCode(0x41 + v + (inRange(v, 26, 31) & (0x32 - 0x41 - 26)));
}

/* 0..31, or -1 for a character that is not a base32 digit of either case. */
function b32Value(c) {
	const up = inRange(c, 0x41, 0x5a);
	const lo = inRange(c, 0x61, 0x7a);
	const dig = inRange(c, 0x32, 0x37);
	return (up & (c - 0x41)) | (lo & (c - 0x61)) | (dig & (c - 0x32 + 26)) | ~(up | lo | dig);
}

/** Fresh random code bytes (16). */
export function keyboxCodeNew() {
	return sodium.randombytes_buf(KEYBOX_CODE_LEN);
}

/** The shown form: 26 base32 characters in groups of five joined by '-' (31 characters). */
export function keyboxCodeFormat(code) {
	if (!isBytes(code, KEYBOX_CODE_LEN)) fail('bad_input', 'code of 16 bytes');
	let acc = 0;
	let bits = 0;
	let chars = 0;
	let out = '';
	for (const byte of code) {
		acc = (acc << 8) | byte;
		bits += 8;
		while (bits >= 5) {
			if (chars > 0 && chars % 5 === 0) out += '-';
			out += b32Char((acc >>> (bits - 5)) & 31);
			chars++;
			bits -= 5;
			acc &= (1 << bits) - 1;
		}
	}
	/* 128 = 25 * 5 + 3: the last digit holds 3 bits and 2 zero bits. */
	return out + '-' + b32Char((acc << (5 - bits)) & 31);
}

/**
 * A typed code back to its 16 bytes: base32 letters of either case, spaces
 * and '-' anywhere, exactly 26 letters whose 2 unused trailing bits are 0, at
 * most 256 bytes. `bad_input` otherwise.
 */
export function keyboxCodeParse(s) {
	if (typeof s !== 'string') fail('bad_input', 'code');
	const bytes = utf8(s);
	const code = new Uint8Array(KEYBOX_CODE_LEN);
	if (bytes.length > KEYBOX_CODE_INPUT_MAX) {
		wipe(bytes);
		fail('bad_input', 'code too long');
	}
	let acc = 0;
	let bits = 0;
	let k = 0;
	let chars = 0;
	let bad = 0;
	for (const ch of bytes) {
		if (ch === 0x20 || ch === 0x2d) continue;
		const v = b32Value(ch);
		bad |= v < 0 ? 1 : 0;
		if (chars++ >= KEYBOX_CODE_CHARS) {
			bad = 1;
			break;
		}
		acc = (acc << 5) | (v & 31);
		bits += 5;
		if (bits >= 8) {
			code[k++] = acc >>> (bits - 8);
			bits -= 8;
			acc &= (1 << bits) - 1;
		}
	}
	/* 26 digits are 130 bits: 16 bytes and two unused bits that must be zero, so each code has one spelling. */
	bad |= chars !== KEYBOX_CODE_CHARS || acc !== 0 ? 1 : 0;
	acc = 0;
	wipe(bytes);
	if (bad) {
		wipe(code);
		fail('bad_input', 'not a recovery code');
	}
	return code;
}

/* ---- recovery box ------------------------------------------------------------------------- */

export const KEYBOX_SALT_LEN = 16;
export const KEYBOX_BOX_NONCE_LEN = 24;
export const KEYBOX_RECOVERY_GEN_MAX = 256;
export const KEYBOX_RECOVERY_BOX_MAX = 16 + 4 + 18 + 4 + ID_MAX + 12 + KEYBOX_RECOVERY_GEN_MAX * 36;
const RECOVERY_BOX_MIN = 16 + 1;

const RECOVERY_TABLE = Object.freeze([
	field('box', K.BYTES, { min: RECOVERY_BOX_MIN, max: KEYBOX_RECOVERY_BOX_MAX }),
	field('memlimit', K.U64, { min: 1 }),
	field('nonce', K.B64, { max: KEYBOX_BOX_NONCE_LEN }),
	field('opslimit', K.U64, { min: 1 }),
	field('salt', K.B64, { max: KEYBOX_SALT_LEN }),
	field('user', K.ID, { min: 1, max: ID_MAX }),
]);

/* The Argon2id limits a client accepts: from the minimum up to libsodium's "moderate". */
function limitsOk(opslimit, memlimit) {
	const o = big(opslimit);
	const m = big(memlimit);
	return o >= BigInt(sodium.crypto_pwhash_OPSLIMIT_MIN) && o <= BigInt(sodium.crypto_pwhash_OPSLIMIT_MODERATE) &&
		m >= BigInt(sodium.crypto_pwhash_MEMLIMIT_MIN) && m <= BigInt(sodium.crypto_pwhash_MEMLIMIT_MODERATE);
}

function recoveryWellFormed(r) {
	if (!r || typeof r !== 'object' || !validId(r.user, 1, ID_MAX)) return false;
	if (!isBytes(r.salt, KEYBOX_SALT_LEN) || !isBytes(r.nonce, KEYBOX_BOX_NONCE_LEN)) return false;
	const o = big(r.opslimit);
	const m = big(r.memlimit);
	return r.box instanceof Uint8Array && r.box.length >= RECOVERY_BOX_MIN && r.box.length <= KEYBOX_RECOVERY_BOX_MAX &&
		o >= 1n && o <= INT64_MAX && m >= 1n && m <= INT64_MAX;
}

/* The secretbox key of a recovery box: Argon2id13 of the 16 code bytes (the caller wipes it). */
function recoveryKey(code, salt, opslimit, memlimit) {
	try {
		return sodium.crypto_pwhash(32, code, salt, Number(opslimit), Number(memlimit), sodium.crypto_pwhash_ALG_ARGON2ID13);
	} catch {
		return fail('nomem', 'Argon2id cannot run');
	}
}

/**
 * Seals the seeds of gens (user keys of generations 1..n, in order) for
 * `user` under the code (16 bytes). opslimit and memlimit within
 * OPSLIMIT_MIN..MODERATE and MEMLIMIT_MIN..MODERATE (the product uses
 * INTERACTIVE); salt and nonce null: random. Blocks for the Argon2id time.
 * `bad_input`, `too_large` (more than 256 generations).
 */
export function keyboxRecoveryMake(user, code, gens, opslimit, memlimit, salt = null, nonce = null) {
	if (!isBytes(code, KEYBOX_CODE_LEN) || !Array.isArray(gens) || gens.length < 1 || !limitsOk(opslimit, memlimit))
		fail('bad_input', 'arguments or limits');
	if (gens.length > KEYBOX_RECOVERY_GEN_MAX) fail('too_large', 'generations');
	if (!validId(user, 1, ID_MAX)) fail('bad_input', 'user id');
	if ((salt && !isBytes(salt, KEYBOX_SALT_LEN)) || (nonce && !isBytes(nonce, KEYBOX_BOX_NONCE_LEN)))
		fail('bad_input', 'salt or nonce');
	const f = new Fields(KEYBOX_TAG_RECOVERY).str(user).int(gens.length);
	gens.forEach((g, i) => {
		if (!g || g.kind !== 'user' || big(g.generation) !== BigInt(i + 1) || !isBytes(g.seed, KEYBOX_SEED_LEN))
			fail('bad_input', 'generations');
		f.bytes(g.seed);
	});
	const pt = f.done();
	const r = { user, salt: salt ? Uint8Array.from(salt) : sodium.randombytes_buf(KEYBOX_SALT_LEN), opslimit: big(opslimit),
		memlimit: big(memlimit), nonce: nonce ? Uint8Array.from(nonce) : sodium.randombytes_buf(KEYBOX_BOX_NONCE_LEN),
		box: null };
	let key = null;
	try {
		key = recoveryKey(code, r.salt, r.opslimit, r.memlimit);
		r.box = sodium.crypto_secretbox_easy(pt, r.nonce, key);
	} finally {
		wipe(key, pt);
	}
	return r;
}

/*
 * The seeds in a recovery box's plaintext: exactly enc(tag, user, u64 n,
 * seed_1, ..., seed_n) with 1 <= n <= 256, else `crypto`; more than cap
 * `too_large` (checked where proto/keybox.c does). Views into pt.
 */
function recoveryPlaintextSeeds(pt, user, cap) {
	const rd = new FieldReader(pt);
	try {
		if (!equalBytes(rd.bytes(), utf8(KEYBOX_TAG_RECOVERY)) || !equalBytes(rd.bytes(), utf8(user)))
			fail('crypto', 'plaintext layout');
		const n = rd.u64();
		if (n < 1n || n > BigInt(KEYBOX_RECOVERY_GEN_MAX) || BigInt(pt.length - rd.pos) !== n * BigInt(4 + KEYBOX_SEED_LEN))
			fail('crypto', 'plaintext layout');
		if (n > BigInt(cap)) fail('too_large', 'more generations than room');
		const seeds = [];
		for (let i = 0n; i < n; i++) {
			const seed = rd.bytes();
			if (seed.length !== KEYBOX_SEED_LEN) fail('crypto', 'plaintext layout');
			seeds.push(seed);
		}
		rd.end();
		return seeds;
	} catch (e) {
		if (e instanceof VarskoError && e.code === 'bad_input') fail('crypto', 'plaintext layout');
		throw e;
	}
}

/**
 * Opens r with the code: user-key generations 1..n (wipe each). Limits
 * outside the maker's ranges are `bad_input` before any work, so a server
 * cannot make a client burn memory; a wrong code, a tampered box or a
 * plaintext other than exactly the layout of 14.5 with r's user is `crypto`;
 * more generations than `cap` `too_large`. Blocks for the Argon2id time. The
 * caller then checks the last generation's keys against the user chain.
 */
export function keyboxRecoveryOpen(r, code, cap = KEYBOX_RECOVERY_GEN_MAX) {
	if (!recoveryWellFormed(r) || !isBytes(code, KEYBOX_CODE_LEN)) fail('bad_input', 'malformed box or code');
	if (!limitsOk(r.opslimit, r.memlimit)) fail('bad_input', 'Argon2id limits out of range');
	let key = null;
	let pt = null;
	const out = [];
	try {
		key = recoveryKey(code, r.salt, r.opslimit, r.memlimit);
		try {
			pt = sodium.crypto_secretbox_open_easy(r.box, r.nonce, key);
		} catch {
			fail('crypto', 'box does not open');
		}
		/* The box opened, so the code was right; what it holds must still be exactly the layout. */
		const seeds = recoveryPlaintextSeeds(pt, r.user, cap);
		seeds.forEach((seed, i) => out.push(keyboxGenDerive('user', i + 1, seed)));
		return out;
	} catch (e) {
		out.forEach(keyboxGenWipe);
		throw e;
	} finally {
		wipe(key, pt);
	}
}

/** Canonical JSON text of a recovery box; `bad_input` for one that would not parse back. */
export function keyboxRecoveryToJson(r) {
	if (!recoveryWellFormed(r)) fail('bad_input', 'recovery box not well-formed');
	return schemaEncodeText(r, RECOVERY_TABLE);
}

/** Strict parse of a recovery box (at most 65 536 bytes); errors as keyboxSetFromJson. */
export function keyboxRecoveryFromJson(text) {
	const r = schemaDecode(jsonLoad(text, KEYBOX_JSON_MAX), RECOVERY_TABLE);
	if (!recoveryWellFormed(r)) fail('bad_frame', 'recovery box not well-formed');
	return r;
}

/* ---- approval code ---------------------------------------------------------------------------- */

export const KEYBOX_APPROVAL_DIGITS = 6;

function need32(...bs) {
	for (const b of bs) if (!isBytes(b, 32)) fail('bad_input', '32 bytes expected');
}

/** enc("varsko-approve-v1", nonce (32), old device sign_pk, new device sign_pk, new device box_pk). */
export function keyboxApprovalInput(nonce, oldSignPk, newSignPk, newBoxPk) {
	need32(nonce, oldSignPk, newSignPk, newBoxPk);
	return new Fields(KEYBOX_TAG_APPROVE).bytes(nonce).bytes(oldSignPk).bytes(newSignPk).bytes(newBoxPk).done();
}

/** The code both devices show: the first 20 bits of SHA-256 of the input (big-endian) mod 10^6, six digits. */
export function keyboxApprovalCode(nonce, oldSignPk, newSignPk, newBoxPk) {
	const h = sodium.crypto_hash_sha256(keyboxApprovalInput(nonce, oldSignPk, newSignPk, newBoxPk));
	const v = ((h[0] << 12) | (h[1] << 4) | (h[2] >> 4)) % 1000000;
	wipe(h);
	return String(v).padStart(KEYBOX_APPROVAL_DIGITS, '0');
}

function approvalValid(s) {
	return typeof s === 'string' && /^[0-9]{6}$/.test(s);
}

/**
 * Compares two codes in constant time: returns when equal, `approval_failed`
 * when not, `bad_input` when either is not exactly six decimal digits.
 */
export function keyboxApprovalEqual(a, b) {
	if (!approvalValid(a) || !approvalValid(b)) fail('bad_input', 'not six digits');
	if (!sodium.memcmp(utf8(a), utf8(b))) fail('approval_failed');
}

/** The new device's commitment SHA-256(enc("varsko-approve-commit-v1", nNew, new sign_pk, new box_pk)). */
export function keyboxApprovalCommit(nNew, newSignPk, newBoxPk) {
	need32(nNew, newSignPk, newBoxPk);
	return sodium.crypto_hash_sha256(new Fields(KEYBOX_TAG_APPROVE_COMMIT).bytes(nNew).bytes(newSignPk).bytes(newBoxPk)
		.done());
}

/** The code's nonce SHA-256(enc("varsko-approve-nonce-v1", nOld, nNew)). */
export function keyboxApprovalNonce(nOld, nNew) {
	need32(nOld, nNew);
	return sodium.crypto_hash_sha256(new Fields(KEYBOX_TAG_APPROVE_NONCE).bytes(nOld).bytes(nNew).done());
}
