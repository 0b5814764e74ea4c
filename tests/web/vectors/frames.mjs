// frames.json (PROTOCOL.md sections 2 and 4): every valid frame decodes and
// encodes to its canonical form (and that form decodes to the same); every
// invalid one is refused with its error code.
import * as c from '../../../clients/web/src/crypto/codec.js';
import { protoFrameDecode, protoFrameEncode } from '../../../clients/web/src/crypto/frames.js';

export default async function (t, load) {
	const v = await load('frames.json');
	t.ok(v.valid.length >= 16 && v.invalid.length >= 60, 'frames vectors');
	for (const x of v.valid) {
		const f = protoFrameDecode(x.input);
		t.eq(protoFrameEncode(f), x.canonical, `valid ${x.desc}: canonical`);
		t.eq(protoFrameEncode(protoFrameDecode(x.canonical)), x.canonical, `valid ${x.desc}: fixed point`);
		t.eq(protoFrameEncode(protoFrameDecode(c.utf8(x.input))), x.canonical, `valid ${x.desc}: from bytes`);
	}
	for (const x of v.invalid) {
		const input = x.input_hex !== undefined ? c.fromHex(x.input_hex) : x.input;
		t.throws(() => protoFrameDecode(input), x.error, `invalid ${x.desc}`);
	}
	/* The encoder refuses what the decoder would. */
	const ping = protoFrameDecode('{"type":"ping","id":"p1"}');
	t.eq(protoFrameEncode(ping), '{"id":"p1","type":"ping"}', 'ping encodes');
	t.throws(() => protoFrameEncode({ ...ping, id: 'a b' }), 'bad_frame', 'encode a bad id');
	t.throws(() => protoFrameEncode({ type: 'submit' }), 'bad_frame', 'encode an unknown type');
	t.throws(() => protoFrameEncode({ type: 'ping', extra: 1 }), 'bad_frame', 'encode an unknown member');
	const hello = protoFrameDecode(v.valid.find((x) => x.desc === 'hello').canonical);
	t.throws(() => protoFrameEncode({ ...hello, id: 'x' }), 'bad_frame', 'encode hello with an id');
	t.throws(() => protoFrameEncode({ ...hello, nonce: new Uint8Array(31) }), 'bad_frame', 'encode a short nonce');
	t.throws(() => protoFrameEncode({ type: 'login', device: 'd-1', origin: 'wss://a:1', time: -1, sig: new Uint8Array(64) }),
		'bad_frame', 'encode a time before 1970');
	t.throws(() => protoFrameDecode('{"type":"ping"}' + ' '.repeat(65536)), 'too_large', 'above 64 KiB');
}
