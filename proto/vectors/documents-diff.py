#!/usr/bin/python3
"""documents-diff.py: random documents through the C rules and the web client's.

Beyond the hand-written cases of documents.json, this mutates the demo
document at random (fields set to other values, deleted or added, keys
duplicated, bytes inserted, flipped or cut) and runs every result through
proto/underretning.c (the documents-gen helper) and through
clients/web/src/proto/underretning.js (Node), and prints every document on
which they disagree: the problem list, the stored CPR number or the routing
header. Not a test of the suite (it is random); run it after changing either
side:

    proto/vectors/documents-diff.py build/tests/unit/documents-gen [N [SEED]]
"""
import base64
import copy
import json
import os
import random
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
EXAMPLE = os.path.join(ROOT, 'deploy', 'demo', 'underretning-example.json')
MODULE = os.path.join(ROOT, 'clients', 'web', 'src', 'proto', 'underretning.js')

VALS = [None, True, False, 0, 1, -1, 1.0, 25 * 1024 * 1024, 25 * 1024 * 1024 + 1, '', ' ', '\t', '\n', 'x', 'a b',
        'æøå', '😀', '140317-4321', '1403174321', '290200-4000', '310299-0000', '2017-03-14', '2016-02-29', '2015-02-29',
        '1799-01-01', '+45 12', '112', '(+45) 1', 'a/b', 'ab', 'application/pdf',
        'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=', 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh=', 'x' * 64,
        'x' * 65, 'ø' * 64, 'ø' * 65, '\x00', '\x7f', '\x85', '\u00a0', [], {}, [1], {'a': 1}, ['x'], 'att-1',
        '12', '1 2', 'ab\ncd', 'a\tb', '\r', 'ø' * 6, '2017-3-14', '0', 16000 * 'x', 16001 * 'x', 0.5, -0.0]
KEYS = ['institution', 'child', 'parents', 'interpreter', 'notifier', 'concern', 'akut', 'attachments', 'name', 'cpr',
        'birth_date', 'address', 'phone', 'custody', 'needed', 'language', 'contacted', 'reaction', 'reason', 'id',
        'media_type', 'size', 'key', 'sha256', 'foo', '', '1', '__proto__', 'ø']
SNIPPETS = [b'\\u', b'\\ud800', b'\\udc00', b'\\u0000', b'\xed\xa0\x80', b'\xc0\x80', b'\xef\xbb\xbf', b'"', b'1e400',
            b'-', b'0', b'99999999999999999999', b'.', b'e', b'[', b']', b'{', b'}', b',', b':']

NODE = r'''
import { readFileSync } from 'node:fs';
const u = await import(process.argv[2]);
const cases = JSON.parse(readFileSync(process.argv[3], 'utf8'));
const out = cases.map((c) => {
	const r = u.uhParseAll(Uint8Array.from(Buffer.from(c.bytes_b64, 'base64')));
	const o = { problems: r.problems };
	if (r.doc) {
		o.cpr = r.doc.child.cpr;
		try { o.header = u.uhHeaderDerive(r.doc, c.submission, c.created); } catch { o.header = null; }
	}
	return o;
});
process.stdout.write(JSON.stringify(out));
'''


def containers(o, acc):
    if isinstance(o, (dict, list)):
        acc.append(o)
        for v in (o.values() if isinstance(o, dict) else o):
            containers(v, acc)
    return acc


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
    rnd = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
    base = json.load(open(EXAMPLE, encoding='utf-8'))
    subs = [base['child'], base['parents'][0], base['attachments'][0], base['parents_contacted'],
            {'needed': True, 'language': 'x'}, {'contacted': False, 'reason': 'y'}]

    def rval():
        r = rnd.random()
        if r < 0.15:
            return copy.deepcopy(rnd.choice(subs))
        if r < 0.2:
            return [copy.deepcopy(base['attachments'][0]) for _ in range(rnd.randint(0, 18))]
        return copy.deepcopy(rnd.choice(VALS))

    cases = []
    for _ in range(n):
        d = copy.deepcopy(base)
        for _ in range(rnd.randint(1, 6)):
            c = rnd.choice(containers(d, []))
            op = rnd.random()
            if isinstance(c, dict):
                if op < 0.3 and c:
                    del c[rnd.choice(list(c))]
                elif op < 0.8 and c:
                    c[rnd.choice(list(c))] = rval()
                else:
                    c[rnd.choice(KEYS)] = rval()
            elif op < 0.3 and c:
                del c[rnd.randrange(len(c))]
            elif op < 0.7 and c:
                c[rnd.randrange(len(c))] = rval()
            else:
                c.append(rval())
        b = bytearray(json.dumps(d, ensure_ascii=rnd.random() < 0.3).encode())
        if rnd.random() < 0.3:
            for _ in range(rnd.randint(1, 3)):
                p = rnd.randrange(len(b) + 1)
                r = rnd.random()
                if r < 0.3:
                    b[p:p] = bytes([rnd.randrange(256)])
                elif r < 0.5 and p < len(b):
                    b[p] ^= 1 << rnd.randrange(8)
                elif r < 0.7 and p < len(b):
                    del b[p]
                else:
                    b[p:p] = rnd.choice(SNIPPETS)
        elif rnd.random() < 0.1:
            b = b.replace(b'"akut"', b'"akut": 1, "akut"', 1)
        cases.append({'bytes_b64': base64.b64encode(bytes(b)).decode(), 'created': 1795426200, 'submission': 's'})
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'cases.json')
        with open(path, 'w') as f:
            json.dump(cases, f)
        c_out = json.loads(subprocess.run([sys.argv[1]], stdin=open(path, 'rb'), stdout=subprocess.PIPE,
                                          check=True).stdout)
        script = os.path.join(tmp, 'run.mjs')
        with open(script, 'w') as f:
            f.write(NODE)
        js_out = json.loads(subprocess.run(['node', script, 'file://' + MODULE, path], stdout=subprocess.PIPE,
                                           check=True).stdout)
    bad = 0
    for case, c, j in zip(cases, c_out, js_out):
        want = {'problems': c['problems']}
        if not c['problems']:
            want['cpr'] = c['cpr']
            want['header'] = c['header']
        if json.dumps(want, sort_keys=True) != json.dumps(j, sort_keys=True):
            bad += 1
            if bad <= 5:
                print('C: ', json.dumps(want)[:300])
                print('JS:', json.dumps(j)[:300])
                print('document (base64):', case['bytes_b64'][:400])
    print('%d documents (%d valid), %d differ' % (n, sum(1 for c in c_out if not c['problems']), bad))
    sys.exit(1 if bad else 0)


if __name__ == '__main__':
    main()
