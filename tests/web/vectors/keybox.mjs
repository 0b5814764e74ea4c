// keybox.json (PROTOCOL.md section 14): derived keys of every generation;
// every key box set made again byte for byte from its seeds and ephemeral
// keys, parsed, verified, opened by each recipient and walked back; the
// recovery box made again at the minimum Argon2id limits and opened; recovery
// codes both ways and as typed; approval codes and the exchange; and every
// invalid object refused with its error by the operation it names.
import * as c from '../../../clients/web/src/crypto/codec.js';
import * as kb from '../../../clients/web/src/crypto/keybox.js';

const hex = (b) => c.toHex(b);
const sodium = c.sodium;

function invalidSet(t, e) {
	const what = `invalid keybox "${e.name}"`;
	if (e.op === 'parse') {
		t.throws(() => kb.keyboxSetFromJson(e.json), e.error, what);
		return;
	}
	const s = kb.keyboxSetFromJson(e.json);
	if (e.op === 'verify') {
		t.throws(() => kb.keyboxSetVerify(s), e.error, what);
	} else if (e.op === 'open') {
		t.throws(() => kb.keyboxSetOpen(s, e.recipient, c.fromHex(e.box_pk), c.fromHex(e.box_sk)), e.error, what);
	} else if (e.op === 'walk_back') {
		const sets = e.sets.map((x) => kb.keyboxSetFromJson(x));
		sets.push(s);
		const top = kb.keyboxGenDerive(e.kind, sets.length, c.fromHex(e.top_seed));
		kb.keyboxSetVerify(s); /* re-signed: only the box is wrong */
		t.ok(true, `${what}: verifies`);
		t.throws(() => kb.keyboxWalkBack(top, sets), e.error, what);
		kb.keyboxGenWipe(top);
	} else {
		t.ok(false, `${what}: unknown op ${e.op}`);
	}
}

function invalidRecovery(t, e) {
	const what = `invalid recovery "${e.name}"`;
	if (e.op === 'parse') {
		t.throws(() => kb.keyboxRecoveryFromJson(e.json), e.error, what);
		return;
	}
	const r = kb.keyboxRecoveryFromJson(e.json);
	t.throws(() => kb.keyboxRecoveryOpen(r, c.fromHex(e.code)), e.error, what);
}

export default async function (t, load) {
	const v = await load('keybox.json');

	/* 14.1 derivation */
	for (const e of v.derive) {
		const what = `derive ${e.kind} ${e.generation} ${e.seed.slice(0, 8)}`;
		const g = kb.keyboxGenDerive(e.kind, e.generation, c.fromHex(e.seed));
		t.eq(hex(g.boxPk), e.box_pk, `${what}: box_pk`);
		t.eq(hex(g.boxSk), e.box_sk, `${what}: box_sk`);
		t.eq(hex(g.prevKey), e.prev_key, `${what}: prev_key`);
		t.eq(hex(sodium.crypto_kdf_derive_from_key(32, 2, e.kind === 'user' ? 'vskuser1' : 'vskteam1', g.seed)), e.box_seed,
			`${what}: box seed`);
		if (e.kind === 'user') {
			t.eq(hex(g.signPk), e.sign_pk, `${what}: sign_pk`);
			t.eq(hex(g.signSk.subarray(0, 32)), e.sign_seed, `${what}: sign seed`);
		} else {
			t.ok(g.signSk === null && sodium.is_zero(g.signPk), `${what}: no signing key`);
		}
		kb.keyboxGenWipe(g);
		t.ok(sodium.is_zero(g.seed) && sodium.is_zero(g.boxSk) && sodium.is_zero(g.prevKey), `${what}: wiped`);
	}
	t.throws(() => kb.keyboxGenDerive('group', 1, new Uint8Array(32)), 'bad_input', 'derive unknown kind');
	t.throws(() => kb.keyboxGenDerive('user', 0, new Uint8Array(32)), 'bad_input', 'derive generation 0');
	t.throws(() => kb.keyboxGenDerive('user', 1n << 63n, new Uint8Array(32)), 'bad_input', 'derive generation 2^63');

	/* 14.2 key ids */
	t.eq(kb.keyboxKeyId('team:team-oest', 2), 'team:team-oest:2', 'key id');
	t.eq(kb.keyboxUserKeyId('a:b', 9223372036854775807n), 'user:a:b:9223372036854775807', 'user key id, id with a colon');
	t.eq(kb.keyboxTeamOwner('t'), 'team:t', 'team owner');
	const split = kb.keyboxKeyIdSplit('user:a:b:12');
	t.ok(split.owner === 'user:a:b' && split.generation === 12n, 'key id split at the last colon');
	for (const good of ['device:d-1', 'user:x:1', 'team:a:b:9223372036854775807'])
		t.ok(kb.keyboxKeyidValid(good), `key id ${good}`);
	for (const bad of ['device:', 'user:x', 'user::1', 'user:x:0', 'user:x:01', 'user:x:9223372036854775808', 'group:x:1',
		'user:x y:1', 'user:x:1 ', `user:${'a'.repeat(65)}:1`])
		t.ok(!kb.keyboxKeyidValid(bad), `not a key id: ${bad}`);
	t.throws(() => kb.keyboxKeyIdSplit('device:d-1'), 'bad_input', 'split a device key id');
	t.eq(kb.keyboxOwnerKind('user:anna'), 'user', 'owner kind user');
	t.eq(kb.keyboxOwnerKind('team:'), null, 'owner kind of an empty id');

	/* 14.3 key box sets */
	const made = {};
	for (const e of v.sets) {
		const what = `set ${e.name}`;
		const g = kb.keyboxGenDerive(e.kind, e.generation, c.fromHex(e.seed));
		const prev = e.prev_seed ? kb.keyboxGenDerive(e.kind, e.generation - 1, c.fromHex(e.prev_seed)) : null;
		const signer = c.signKeypair(c.fromHex(e.signer_seed));
		const rcpts = e.recipients.map((r) => ({ id: r.id, boxPk: c.fromHex(r.box_pk) }));
		const s = kb.keyboxSetMake(e.owner, g, prev, rcpts, signer.privateKey, e.recipients.map((r) => c.fromHex(r.eph_sk)));
		t.eq(kb.keyboxSetToJson(s), e.json, `${what}: JSON made again`);
		t.eq(hex(kb.keyboxSetSigningInput(s)), e.signing_input, `${what}: signing input`);
		t.eq(hex(s.sig), e.sig, `${what}: signature`);
		t.eq(hex(s.signer), e.signer_pk, `${what}: signer`);
		if (e.prev_nonce) t.eq(hex(kb.keyboxPrevNonce(e.owner, e.generation)), e.prev_nonce, `${what}: prev nonce`);
		const p = kb.keyboxSetFromJson(e.json);
		t.eq(kb.keyboxSetToJson(p), e.json, `${what}: JSON round trip`);
		kb.keyboxSetVerify(p);
		kb.keyboxSetVerify(p, c.fromHex(e.signer_pk));
		t.ok(true, `${what}: verifies`);
		t.throws(() => kb.keyboxSetVerify(p, new Uint8Array(32)), 'bad_signature', `${what}: another signer expected`);
		kb.keyboxSetCheckNewer(p, e.generation - 1);
		t.throws(() => kb.keyboxSetCheckNewer(p, e.generation), 'stale_key', `${what}: not newer`);
		for (const r of e.recipients) {
			const o = kb.keyboxSetOpen(p, r.id, c.fromHex(r.box_pk), c.fromHex(r.box_sk));
			t.eq(hex(o.seed), e.seed, `${what}: opened by ${r.id}`);
			t.ok(o.generation === BigInt(e.generation) && o.kind === e.kind, `${what}: generation of ${r.id}`);
			kb.keyboxGenWipe(o);
		}
		t.throws(() => kb.keyboxSetOpen(p, 'user:nobody:1', c.fromHex(e.recipients[0].box_pk),
			c.fromHex(e.recipients[0].box_sk)), 'not_found', `${what}: no box`);
		/* With fresh ephemeral keys the set differs but opens the same. */
		const fresh = kb.keyboxSetMake(e.owner, g, prev, rcpts, signer.privateKey);
		kb.keyboxSetVerify(fresh);
		const o = kb.keyboxSetOpen(fresh, e.recipients[0].id, c.fromHex(e.recipients[0].box_pk), c.fromHex(e.recipients[0].box_sk));
		t.eq(hex(o.seed), e.seed, `${what}: fresh seal opens`);
		kb.keyboxGenWipe(o);
		made[e.name] = { set: p, g };
		kb.keyboxGenWipe(prev);
		c.wipe(signer.privateKey);
	}
	for (const [kind, owner] of [['team', 'team'], ['user', 'user']]) {
		const one = made[`${owner}-1`];
		const two = made[`${owner}-2`];
		const back = kb.keyboxWalkBack(two.g, [one.set, two.set]);
		t.eq(back.length, 1, `${kind} walk back: one older generation`);
		t.eq(hex(back[0].seed), hex(one.g.seed), `${kind} walk back: the seed of generation 1`);
		back.forEach(kb.keyboxGenWipe);
		t.throws(() => kb.keyboxWalkBack(two.g, [two.set, one.set]), 'bad_input', `${kind} walk back: sets out of order`);
		t.throws(() => kb.keyboxWalkBack(two.g, [two.set]), 'bad_input', `${kind} walk back: too few sets`);
		t.eq(kb.keyboxWalkBack(one.g, [one.set]).length, 0, `${kind} walk back from generation 1`);
	}
	const team2 = made['team-2'];
	t.eq(kb.keyboxTeamFit(team2.set, ['anna', 'bo'], [2, 1]), kb.KEYBOX_FIT_OK, 'team fit ok');
	t.eq(kb.keyboxTeamFit(team2.set, ['anna', 'bo', 'carl'], [2, 1, 1]), kb.KEYBOX_FIT_MISSING, 'team fit missing');
	t.eq(kb.keyboxTeamFit(team2.set, ['anna', 'bo'], [3, 1]), kb.KEYBOX_FIT_STALE, 'team fit stale');
	t.eq(kb.keyboxTeamFit(team2.set, ['anna'], [2]), kb.KEYBOX_FIT_STALE, 'team fit of a removed member');
	{
		const g = made['team-1'].g;
		const signer = c.signKeypair(c.fromHex('07'.repeat(32)));
		const pk = c.fromHex(v.sets[0].recipients[0].box_pk);
		t.throws(() => kb.keyboxSetMake('team:team-oest', g, null, [], signer.privateKey), 'bad_input', 'make: no recipient');
		t.throws(() => kb.keyboxSetMake('team:team-oest', g, null, [{ id: 'user:a:1', boxPk: pk }, { id: 'user:a:1', boxPk: pk }],
			signer.privateKey), 'bad_input', 'make: a key id twice');
		t.throws(() => kb.keyboxSetMake('user:x', g, null, [{ id: 'user:a:1', boxPk: pk }], signer.privateKey), 'bad_input',
			'make: kind of another owner');
		t.throws(() => kb.keyboxSetMake('team:t', g, null, Array.from({ length: 129 }, (_, i) => ({ id: `user:u${i}:1`, boxPk: pk })),
			signer.privateKey), 'too_large', 'make: 129 recipients');
		t.throws(() => kb.keyboxSetMake('team:t', g, null, [{ id: 'user:a:1', boxPk: new Uint8Array(32) }], signer.privateKey),
			'crypto', 'make: recipient key of low order');
		t.throws(() => kb.keyboxSetMake('team:t', team2.g, null, [{ id: 'user:a:1', boxPk: pk }], signer.privateKey), 'bad_input',
			'make: generation 2 without the previous one');
		c.wipe(signer.privateKey);
	}
	for (const m of Object.values(made)) kb.keyboxGenWipe(m.g);

	/* 14.4 recovery codes */
	for (const e of v.recovery_codes) {
		t.eq(kb.keyboxCodeFormat(c.fromHex(e.bytes)), e.text, `code format ${e.bytes}`);
		t.eq(hex(kb.keyboxCodeParse(e.text)), e.bytes, `code parse ${e.text}`);
	}
	for (const e of v.recovery_code_parse) {
		if (e.error) t.throws(() => kb.keyboxCodeParse(e.input), e.error, `typed code ${JSON.stringify(e.input)}`);
		else t.eq(hex(kb.keyboxCodeParse(e.input)), e.bytes, `typed code ${JSON.stringify(e.input)}`);
	}
	t.throws(() => kb.keyboxCodeParse(' '.repeat(231) + v.recovery.code_text), 'bad_input', 'typed code over 256 bytes');
	t.eq(kb.keyboxCodeParse(kb.keyboxCodeFormat(kb.keyboxCodeNew())).length, 16, 'fresh code round trip');

	/* 14.5 recovery box */
	const rv = v.recovery;
	const code = c.fromHex(rv.code);
	t.eq(kb.keyboxCodeFormat(code), rv.code_text, 'recovery code text');
	const gens = rv.seeds.map((s, i) => kb.keyboxGenDerive('user', i + 1, c.fromHex(s)));
	const box = kb.keyboxRecoveryMake(rv.user, code, gens, rv.opslimit, rv.memlimit, c.fromHex(rv.salt), c.fromHex(rv.nonce));
	t.eq(kb.keyboxRecoveryToJson(box), rv.json, 'recovery box made again');
	const key = sodium.crypto_pwhash(32, code, c.fromHex(rv.salt), rv.opslimit, rv.memlimit, sodium.crypto_pwhash_ALG_ARGON2ID13);
	t.eq(hex(key), rv.key, 'recovery key');
	t.eq(hex(sodium.crypto_secretbox_open_easy(box.box, box.nonce, key)), rv.plaintext, 'recovery plaintext');
	c.wipe(key);
	const parsed = kb.keyboxRecoveryFromJson(rv.json);
	t.eq(kb.keyboxRecoveryToJson(parsed), rv.json, 'recovery box round trip');
	const opened = kb.keyboxRecoveryOpen(parsed, code);
	t.eq(opened.map((g) => hex(g.seed)).join(','), rv.seeds.join(','), 'recovery box opens to the seeds');
	t.eq(hex(opened[1].signPk), hex(gens[1].signPk), 'recovery: newest user key');
	t.throws(() => kb.keyboxRecoveryOpen(parsed, code, 1), 'too_large', 'recovery: more generations than room');
	opened.forEach(kb.keyboxGenWipe);
	t.throws(() => kb.keyboxRecoveryMake(rv.user, code, gens, 4, rv.memlimit), 'bad_input', 'recovery make: opslimit 4');
	t.throws(() => kb.keyboxRecoveryMake(rv.user, code, [gens[1]], 1, 8192), 'bad_input', 'recovery make: generations out of order');
	t.throws(() => kb.keyboxRecoveryMake('a b', code, gens, 1, 8192), 'bad_input', 'recovery make: bad user');
	const fresh = kb.keyboxRecoveryMake(rv.user, code, gens, 1, 8192);
	const again = kb.keyboxRecoveryOpen(kb.keyboxRecoveryFromJson(kb.keyboxRecoveryToJson(fresh)), code);
	t.eq(again.map((g) => hex(g.seed)).join(','), rv.seeds.join(','), 'recovery with random salt and nonce');
	again.forEach(kb.keyboxGenWipe);
	gens.forEach(kb.keyboxGenWipe);

	/* 14.6 approval codes */
	for (const e of v.approval) {
		const args = [e.nonce, e.old_sign_pk, e.new_sign_pk, e.new_box_pk].map(c.fromHex);
		t.eq(hex(kb.keyboxApprovalInput(...args)), e.input, `approval input ${e.code}`);
		t.eq(hex(sodium.crypto_hash_sha256(kb.keyboxApprovalInput(...args))), e.sha256, `approval hash ${e.code}`);
		t.eq(kb.keyboxApprovalCode(...args), e.code, `approval code ${e.code}`);
		t.eq(e.bits20 % 1000000, Number(e.code), `approval bits ${e.code}`);
	}
	for (const e of v.approval_exchange) {
		const commit = kb.keyboxApprovalCommit(c.fromHex(e.n_new), c.fromHex(e.new_sign_pk), c.fromHex(e.new_box_pk));
		t.eq(hex(commit), e.commit, `approval commit ${e.code}`);
		const nonce = kb.keyboxApprovalNonce(c.fromHex(e.n_old), c.fromHex(e.n_new));
		t.eq(hex(nonce), e.nonce, `approval nonce ${e.code}`);
		t.eq(kb.keyboxApprovalCode(nonce, c.fromHex(e.old_sign_pk), c.fromHex(e.new_sign_pk), c.fromHex(e.new_box_pk)), e.code,
			`approval exchange code ${e.code}`);
	}
	kb.keyboxApprovalEqual('043304', '043304');
	t.ok(true, 'approval codes equal');
	t.throws(() => kb.keyboxApprovalEqual('043304', '043305'), 'approval_failed', 'approval mismatch');
	for (const bad of ['12345', '1234567', '12345a', ' 12345', null])
		t.throws(() => kb.keyboxApprovalEqual(bad, bad), 'bad_input', `approval code ${JSON.stringify(bad)}`);

	/* invalid objects */
	for (const e of v.invalid) {
		if (e.object === 'keybox') invalidSet(t, e);
		else if (e.object === 'recovery') invalidRecovery(t, e);
		else t.ok(false, `invalid: unknown object ${e.object}`);
	}
}
