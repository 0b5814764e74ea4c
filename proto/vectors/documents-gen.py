#!/usr/bin/python3
"""documents-gen.py: proto/vectors/documents.json, the underretning documents
of PROTOCOL.md 11.3 and their routing headers (11.4), for every client that
writes a document (the web client: tests/web/vectors/documents.mjs).

The inputs are written here by hand; what each of them gives is NOT: every
expected problem list, birth date and header comes from running the real
proto/underretning.c (uh_parse_all, uh_header_derive) through the helper
proto/vectors/documents-gen.c, which meson builds as documents-gen. For the
document rules the C implementation is the reference, because it is what the
authority's agents run: a browser that applies any other rule makes documents
they refuse. tests/unit/test-documents.c checks the corpus against the C code
on every test run, so the two cannot drift apart.

    proto/vectors/documents-gen.py build/tests/unit/documents-gen

rewrites proto/vectors/documents.json deterministically.
"""
import base64
import copy
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
EXAMPLE = os.path.join(ROOT, 'deploy', 'demo', 'underretning-example.json')

CREATED = 1795426200  # 2026-11-23T09:30:00Z, a Monday in Copenhagen winter time
SUBMISSION = 'sub-0001'
MIB = 1024 * 1024

with open(EXAMPLE, encoding='utf-8') as f:
    EXAMPLE_TEXT = f.read()
BASE = json.loads(EXAMPLE_TEXT)

KEY = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8='
SHA = 'ZmlrdGl2LWVrc2VtcGVsLWZpa3Rpdi1la3NlbXBlbCE='


def att(i=1, **kw):
    a = {'id': 'att-%d' % i, 'name': 'bilag-%d.pdf' % i, 'media_type': 'application/pdf', 'size': 1000 + i,
         'key': KEY, 'sha256': SHA}
    a.update(kw)
    return a


def dumps(d):
    return json.dumps(d, ensure_ascii=False, separators=(',', ':'))


def edit(d, old, new):
    """d as JSON text (with ', ' and ': ') with old, which must occur, replaced by new."""
    t = json.dumps(d, ensure_ascii=False)
    assert old in t, old
    return t.replace(old, new)


def doc(**top):
    d = copy.deepcopy(BASE)
    d.update(top)
    return d


def mutate(path, value=None, delete=False):
    """The example with path (a tuple of keys and indexes) set to value or deleted."""
    d = copy.deepcopy(BASE)
    o = d
    for k in path[:-1]:
        o = o[k]
    if delete:
        del o[path[-1]]
    else:
        o[path[-1]] = value
    return d


def with_child(**child):
    return doc(child=dict(child))


def ms(ch, n):
    """ch repeated to exactly n bytes of UTF-8 (ch a 1..4 byte character), padded with 'a'."""
    b = len(ch.encode())
    s = ch * (n // b)
    return s + 'a' * (n - len(s.encode()))


def b64(b):
    return base64.b64encode(b).decode()


valid = []
invalid = []


def V(name, d=None, text=None, **kw):
    c = {'name': name, 'text': text if text is not None else dumps(d)}
    c.update(kw)
    valid.append(c)


def I(name, d=None, text=None, raw=None, **kw):
    c = {'name': name}
    if raw is not None:
        c['bytes_b64'] = b64(raw)
    else:
        c['text'] = text if text is not None else dumps(d)
    c.update(kw)
    invalid.append(c)


def T(s):
    """Local helper: a UTC time string to Unix seconds."""
    import calendar
    import time
    return calendar.timegm(time.strptime(s, '%Y-%m-%dT%H:%M:%SZ'))


# ---- valid documents ------------------------------------------------------------

V('the demo example, as deployed', text=EXAMPLE_TEXT)
V('the demo example, compact', text=json.dumps(BASE, ensure_ascii=False, separators=(',', ':')))
V('the demo example, non-ASCII as \\u escapes', text=json.dumps(BASE))

# From here on, the example with its long texts cut short, to keep this file small.
for k in ['concern', 'observations', 'wellbeing', 'help_tried']:
    BASE[k] = BASE[k][:40].rstrip() + '\n' + BASE[k][-20:].lstrip()
BASE['parents_contacted']['reaction'] = BASE['parents_contacted']['reaction'][:30].rstrip()
V('whitespace around the object (space, tab, CR, LF)', text=' \t\r\n' + dumps(BASE) + '\r\n\t ')
V('keys in another order', text=dumps(dict(reversed(list(doc().items())))))
V('cpr with a dash instead of birth_date', with_child(name='Sofie', cpr='140317-4321', address='Eksempelvej 1'))
V('cpr without a dash (stored with one)', with_child(name='Sofie', address='Eksempelvej 1', cpr='1403174321'))
for cpr in ['010190-1234', '140315-3000', '140320-4000', '140337-4000', '140336-9000', '140340-9000',
            '140357-5000', '140358-8000', '140310-6000', '140305-7000', '140399-2999', '290200-4000',
            '290200-5000', '290296-6000', '290260-7000', '290204-9000', '290240-9000', '311299-0000']:
    V('cpr %s: century from the 7th digit %s' % (cpr, cpr[7]),
      with_child(name='Barn', cpr=cpr, address='Vej 1'))
V('no parents', doc(parents=[]))
V('four parents, address and phone left out',
  doc(parents=[{'name': 'Forælder %d' % i, 'custody': i % 2 == 0} for i in range(4)]))
V('interpreter needed, with a language', doc(interpreter={'needed': True, 'language': 'arabisk'}))
V('parents not contacted, with a reason',
  doc(parents_contacted={'contacted': False, 'reason': 'Mistanke om vold i hjemmet.\nAftalt med leder.'}))
V('akut and handicap', doc(akut=True, handicap=True))
V('akut only', doc(akut=True))
V('handicap only', doc(handicap=True))
d = doc()
del d['attachments']
V('no attachments key', d)
V('empty attachments', doc(attachments=[]))
V('sixteen attachments', doc(attachments=[att(i) for i in range(16)]))
V('attachment sizes 1 and 25 MiB', doc(attachments=[att(1, size=1), att(2, size=25 * MIB)]))
V('attachment limits: id 64, name 255 bytes, media type 127',
  doc(attachments=[att(1, id='!' + 'x' * 62 + '~', name=ms('æ', 255), media_type='a/' + 'b' * 125)]))
V('attachment media type of 3 bytes', doc(attachments=[att(1, media_type='a/b')]))
V('texts with line feeds and tabs',
  doc(concern='Linje 1\nLinje 2\n\tindrykket', observations='\tTab først', wellbeing='a\n\n\nb',
      help_tried='\n\t x'))
V('texts of exactly 16000 bytes: 2-, 3- and 4-byte characters and ASCII',
  doc(concern=ms('æ', 16000), observations=ms('€', 16000), wellbeing=ms('😀', 16000), help_tried='x' * 16000))
V('reaction and reason of exactly 16000 bytes',
  doc(parents_contacted={'contacted': True, 'reaction': ms('ø', 16000)}))
V('reason of exactly 16000 bytes', doc(parents_contacted={'contacted': False, 'reason': ms('😀', 16000)}))
V('names 128 bytes, addresses 256, phone 32 (multibyte at the limit)',
  doc(child={'name': ms('Å', 128), 'birth_date': '2017-03-14', 'address': ms('€', 256)},
      parents=[{'name': ms('😀', 128), 'address': ms('ø', 256), 'phone': '+45 (0) 12-34-56-78 90 12 34 567',
                'custody': False}],
      notifier={'name': ms('ü', 128), 'role': ms('é', 128), 'relation': ms('😀', 128)},
      interpreter={'needed': True, 'language': ms('ß', 128)}))
V('institution of 64 bytes of visible ASCII', doc(institution='!"#$%&\'()*+,-./0123456789:;<=>?@AZ[\\]^_`az{|}~' + 'x' * 17))
V('phone of exactly 3 digits', doc(parents=[{'name': 'Mor', 'phone': '112', 'custody': True}]))
V('text of a non-breaking space is not blank', doc(concern='\u00a0'))
V('text with U+2028 and U+FEFF', doc(concern='a\u2028b\ufeffc'))
V('surrogate pair as an escape', text=dumps(doc(concern='X')).replace('"X"', '"\\ud83d\\ude00 \\u00e6"'))
V('escaped solidus and quotes', text=dumps(doc(concern='X')).replace('"X"', '"a\\/b \\"c\\" \\\\ d"'))
V('born 29 February 2016, birth_date', with_child(name='B', birth_date='2016-02-29', address='V'))
V('birth_date 1800-01-01 (the earliest)', with_child(name='B', birth_date='1800-01-01', address='V'))
V('birth_date 9999-12-31 (unborn)', with_child(name='B', birth_date='9999-12-31', address='V'))
V('document of exactly 512 KiB', doc(), pad_to=512 * 1024)

# Age groups on the Copenhagen date of `created`.
AGES = [
    ('2008-02-29', '2026-02-28T12:00:00Z', '29 February birthday on 28 February: not yet 18'),
    ('2008-02-29', '2026-02-28T22:59:59Z', '28 February 23:59:59 in Copenhagen'),
    ('2008-02-29', '2026-02-28T23:00:00Z', 'already 1 March in Copenhagen'),
    ('2008-02-29', '2026-03-01T12:00:00Z', '1 March: 18'),
    ('2012-02-29', '2018-02-28T12:00:00Z', '29 February birthday, 5 on 28 February'),
    ('2012-02-29', '2018-03-01T12:00:00Z', '29 February birthday, 6 on 1 March'),
    ('2012-02-29', '2024-02-29T12:00:00Z', '29 February birthday in a leap year: 12'),
    ('2012-02-29', '2024-02-28T12:00:00Z', 'the day before, in a leap year: 11'),
    ('2026-11-23', None, 'born today: 0'),
    ('2026-11-24', None, 'born tomorrow: refused'),
    ('2003-11-24', None, '22 the day before the 23rd birthday'),
    ('2003-11-23', None, '23 on the birthday: refused'),
    ('2003-11-23', '2026-11-22T22:59:59Z', '22 until local midnight'),
    ('2021-01-01', '2026-12-31T22:59:59Z', '5 on New Year\'s Eve in Copenhagen'),
    ('2021-01-01', '2026-12-31T23:00:00Z', '6 at local midnight (UTC still 31 December)'),
    ('2013-07-01', '2027-06-30T21:59:59Z', 'summer time: 13 at 23:59:59 CEST'),
    ('2013-07-01', '2027-06-30T22:00:00Z', 'summer time: 14 at 00:00 CEST'),
    ('2009-03-29', '2027-03-28T22:59:59Z', '17 just before the birthday'),
    ('2009-03-29', '2027-03-28T22:00:00Z', '18 at local midnight in summer time'),
]
for birth, created, what in AGES:
    c = {}
    if created is not None:
        c['created'] = T(created)
    V('age: born %s at %s: %s' % (birth, created or 'the default time', what),
      with_child(name='B', birth_date=birth, address='V'), **c)
V('age from a CPR number: 18 in 2026', with_child(name='B', cpr='2311084000', address='V'))
V('age from a CPR number: unborn in the 2000s', with_child(name='B', cpr='010130-4000', address='V'))
# The header refuses a submission id that is not 1..64 visible ASCII.
for sub, what in [('', 'empty'), ('a b', 'with a space'), ('x' * 65, '65 bytes'), ('æ', 'non-ASCII')]:
    V('header refused: submission %s' % what, doc(), submission=sub)
V('header: submission of 64 bytes', doc(), submission='s' * 64)
V('header: created 1996-01-01T00:00:00Z', doc(), created=T('1996-01-01T00:00:00Z'),
  text=dumps(with_child(name='B', birth_date='1990-01-01', address='V')))

# ---- invalid documents ------------------------------------------------------------

# Malformed JSON, and what the strict loader refuses (PROTOCOL.md section 2, rules 1 and 2).
good = dumps(BASE)
for text, what in [
        ('', 'empty'), ('   ', 'only whitespace'), ('[]', 'an array'), ('"x"', 'a string'), ('null', 'null'),
        ('1', 'a number'), (good + 'x', 'garbage after the object'), (good + good, 'two objects'),
        ('\ufeff' + good, 'a byte order mark'), (good[:-1], 'cut short'), ('{"akut": true,}', 'trailing comma'),
        ("{'akut': true}", 'single quotes'), ('{"akut": NaN}', 'NaN'), ('{"akut": true} // x', 'a comment'),
        ('{akut: true}', 'unquoted key'), ('{"akut" true}', 'no colon'), ('{"akut": tru}', 'bad literal'),
        ('{"akut": True}', 'capital True'), ('{"a": 01}', 'leading zero'), ('{"a": 1.}', 'no digit after the point'),
        ('{"a": .5}', 'no digit before the point'), ('{"a": 1e}', 'empty exponent'), ('{"a": +1}', 'plus sign'),
        ('{"a": -}', 'lone minus'), ('{"a": 0x10}', 'hex'), ('{"a": 1e400}', 'real overflow'),
        ('{"a": -1e400}', 'negative real overflow'),
        ('{"a": 9223372036854775808}', 'integer above int64'),
        ('{"a": -9223372036854775809}', 'integer below int64'),
        ('{"a": "\\x"}', 'bad escape'), ('{"a": "\\u12"}', 'short \\u escape'), ('{"a": "\\u12G4"}', 'bad hex'),
        ('{"a": "\\ud800"}', 'lone high surrogate'), ('{"a": "\\udc00"}', 'lone low surrogate'),
        ('{"a": "\\ud800\\u0041"}', 'high surrogate then not a low one'), ('{"a": "\\ud800x"}', 'high surrogate then text'),
        ('{"a": "\\udc00\\ud800"}', 'reversed pair'),
        ('{"a": "x\ny"}', 'raw line feed in a string'), ('{"a": "x\ty"}', 'raw tab in a string'),
        ('{"a": "x\x00y"}', 'raw NUL in a string'), ('{"a": "x\x1fy"}', 'raw U+001F in a string'),
        ('{"a\\u0000b": 1}', 'U+0000 in a key'),
        ('{"akut": true, "akut": true}', 'duplicate key'),
        ('{"akut": true, "\\u0061kut": false}', 'duplicate key, one escaped'),
        ('{"\\u0000": 1, "a": 2}', 'key of a single U+0000'),
        ('{"a": [1, 2,]}', 'trailing comma in an array'), ('{"a": [1 2]}', 'no comma in an array'),
        ('{"a": {"b": 1, "b": 2}}', 'duplicate key inside a nested unknown object'),
        ('{"a": "x"', 'unterminated object'), ('{"a": "x}', 'unterminated string'),
        ('{"a": [}', 'bad array'), ('\x00' + good, 'NUL before the object'), ('{"a"\x00: 1}', 'NUL after a key'),
        ('{"a": "x"}\x00', 'NUL after the object'), ('{"a": "x"}\x0b', 'vertical tab after the object'),
        ('{"a": "x"}\x0c', 'form feed after the object'), ('\u00a0{}', 'non-breaking space before the object'),
]:
    I('JSON: ' + what, text=text)
dup = dumps(BASE)
I('JSON: duplicate top-level key', text=dup[:-1] + ', "akut": true}')
I('JSON: duplicate key in child',
  text=edit(BASE, '"name": "Sofie Eksempel Fiktivsen"', '"name": "A", "name": "B"'))
I('JSON: duplicate key in parents[1]', text=edit(BASE, '"custody": true}]', '"custody": true, "custody": false}]'))
I('JSON: duplicate key in attachments[0]', text=edit(BASE, '"size": 48213', '"size": 48213, "size": 48213'))
I('JSON: duplicate key and other problems', text=edit(doc(akut='x'), '"handicap": false', '"handicap": false, "handicap": 1'))
for raw, what in [(b'\xff', 'byte 0xFF'), (b'\xc0\x80', 'overlong NUL'), (b'\xe0\x80\xaf', 'overlong solidus'),
                  (b'\xed\xa0\x80', 'UTF-8 of a surrogate'), (b'\xf4\x90\x80\x80', 'above U+10FFFF'),
                  (b'\xc3', 'cut sequence'), (b'\x80', 'lone continuation byte'), (b'\xf5\x80\x80\x80', 'lead byte 0xF5')]:
    I('JSON: invalid UTF-8 in a text: ' + what, raw=dumps(doc(concern='@@')).encode().replace(b'@@', b'x' + raw + b'y'))
I('JSON: invalid UTF-8 outside strings', raw=b'\xff' + dumps(BASE).encode())
nest = 2047
I('JSON: nesting of 2049 levels', text=dumps(doc(akut='@@')).replace('"@@"', '[' * (nest + 1) + ']' * (nest + 1)))
I('nesting of 2048 levels is JSON, akut of the wrong type',
  text=dumps(doc(akut='@@')).replace('"@@"', '[' * nest + ']' * nest))
I('JSON: nesting of 2049 levels in objects',
  text=dumps(doc(akut='@@')).replace('"@@"', '{"a":' * (nest + 1) + '1' + '}' * (nest + 1)))
# jansson counts every value, not only arrays and objects: the document is level 1, a value may be at 2048.
I('a number at nesting level 2048 is JSON', text=dumps(doc(akut='@@')).replace('"@@"', '[' * (nest - 1) + '1' + ']' * (nest - 1)))
I('JSON: a number at nesting level 2049', text=dumps(doc(akut='@@')).replace('"@@"', '[' * nest + '1' + ']' * nest))
I('JSON: a string at nesting level 2049 in objects',
  text=dumps(doc(akut='@@')).replace('"@@"', '{"a":' * nest + '"x"' + '}' * nest))
I('JSON: an empty object at nesting level 2049', text=dumps(doc(akut='@@')).replace('"@@"', '[' * nest + '{}' + ']' * nest))
I('document of 512 KiB + 1 byte', doc(), pad_to=512 * 1024 + 1)
I('malformed document above 512 KiB', text='{', pad_to=512 * 1024 + 1)

I('empty object: every required field missing', text='{}')
I('everything of the wrong type', text=dumps({k: None for k in BASE}))
I('everything wrong at once (more than 32 problems)', {
    'institution': 'a b', 'x1': 1, 'child': {'name': '', 'cpr': '310299-0000', 'birth_date': 'x', 'zz': 1},
    'parents': [1, {'name': ' ', 'phone': 'abc', 'custody': 'yes', 'email': 'x'},
                {'address': '', 'phone': '12'}, None],
    'interpreter': {'needed': True, 'language': '\t', 'extra': 1},
    'notifier': {'name': None, 'role': 1, 'relation': []},
    'concern': ' ', 'observations': '\r', 'wellbeing': '\u0085', 'help_tried': 'x' * 16001,
    'parents_contacted': {'contacted': True, 'reason': 'x', 'reaction': ''},
    'akut': 'false', 'handicap': 0,
    'attachments': [att(1, size=0), att(2, key='x'), 'x', att(1), {'id': 'att-9'}], 'x2': None})

# Each field: missing.
MISSING = [('institution',), ('child',), ('child', 'name'), ('child', 'birth_date'), ('child', 'address'),
           ('parents',), ('parents', 0, 'name'), ('parents', 1, 'custody'), ('parents', 0, 'address'),
           ('parents', 0, 'phone'), ('interpreter',), ('interpreter', 'needed'), ('notifier',),
           ('notifier', 'name'), ('notifier', 'role'), ('notifier', 'relation'), ('concern',), ('observations',),
           ('wellbeing',), ('help_tried',), ('parents_contacted',), ('parents_contacted', 'contacted'),
           ('parents_contacted', 'reaction'), ('akut',), ('handicap',)] + \
          [('attachments', 0, k) for k in ['id', 'name', 'media_type', 'size', 'key', 'sha256']]


def pname(p):
    return ''.join('[%d]' % k if isinstance(k, int) else ('.' if i else '') + k for i, k in enumerate(p))


for p in MISSING:
    if p in [('parents', 0, 'address'), ('parents', 0, 'phone')]:
        V('optional field left out: ' + pname(p), mutate(p, delete=True))
    else:
        I('missing: ' + pname(p), mutate(p, delete=True))
I('missing: interpreter.language when needed', doc(interpreter={'needed': True}))
I('missing: parents_contacted.reason when not contacted', doc(parents_contacted={'contacted': False}))

# Each field: wrong type (null included).
FIELDS_STR = [('institution',), ('child', 'name'), ('child', 'birth_date'), ('child', 'address'), ('parents', 0, 'name'),
              ('parents', 0, 'address'), ('parents', 0, 'phone'), ('notifier', 'name'), ('notifier', 'role'),
              ('notifier', 'relation'), ('concern',), ('observations',), ('wellbeing',), ('help_tried',),
              ('parents_contacted', 'reaction')] + \
             [('attachments', 0, k) for k in ['id', 'name', 'media_type', 'key', 'sha256']]
FIELDS_BOOL = [('parents', 1, 'custody'), ('interpreter', 'needed'), ('parents_contacted', 'contacted'), ('akut',),
               ('handicap',)]
FIELDS_OBJ = [('child',), ('interpreter',), ('notifier',), ('parents_contacted',), ('parents', 1), ('attachments', 0)]
FIELDS_ARR = [('parents',), ('attachments',)]
for p in FIELDS_STR:
    for v in [None, 1, True, [], {}, ['x']]:
        I('wrong type: %s = %s' % (pname(p), json.dumps(v)), mutate(p, v))
for p in FIELDS_BOOL:
    for v in [None, 1, 0, 'true', [], {}]:
        I('wrong type: %s = %s' % (pname(p), json.dumps(v)), mutate(p, v))
for p in FIELDS_OBJ:
    for v in [None, 'x', [], 1, False]:
        I('wrong type: %s = %s' % (pname(p), json.dumps(v)), mutate(p, v))
for p in FIELDS_ARR:
    for v in [None, {}, 'x', 0]:
        I('wrong type: %s = %s' % (pname(p), json.dumps(v)), mutate(p, v))
for v, what in [('null', 'null'), ('1.0', '1.0'), ('1e3', '1e3'), ('1E3', '1E3'), ('48213.5', 'a fraction'),
                ('-0.0', '-0.0'), ('"48213"', 'a string'), ('true', 'true'), ('[1]', 'an array'),
                ('1e-400', 'real underflow')]:
    I('wrong type: attachments[0].size = ' + what, text=edit(BASE, '"size": 48213', '"size": ' + v))
I('wrong type: child.cpr = 1403174321', with_child(name='B', cpr=1403174321, address='V'))
I('wrong type: child.cpr = null', with_child(name='B', cpr=None, address='V'))
I('wrong type: child.birth_date = null, no name', with_child(birth_date=None, address='V'))
I('wrong type: interpreter.language = null', doc(interpreter={'needed': True, 'language': None}))
I('wrong type: parents_contacted.reason = 1', doc(parents_contacted={'contacted': False, 'reason': 1}))

# Too long: one byte above the limit, counted in bytes (the character count is under it).
LIMITS = [(('institution',), 64, 'x'), (('child', 'name'), 128, 'ø'), (('child', 'address'), 256, '€'),
          (('parents', 0, 'name'), 128, '😀'), (('parents', 0, 'address'), 256, 'æ'),
          (('parents', 0, 'phone'), 32, '1'), (('notifier', 'name'), 128, 'é'), (('notifier', 'role'), 128, 'ø'),
          (('notifier', 'relation'), 128, '€'), (('concern',), 16000, 'æ'), (('observations',), 16000, '€'),
          (('wellbeing',), 16000, '😀'), (('help_tried',), 16000, 'x'), (('parents_contacted', 'reaction'), 16000, 'ø'),
          (('attachments', 0, 'id'), 64, 'x'), (('attachments', 0, 'name'), 255, 'ø'),
          (('attachments', 0, 'media_type'), 127, 'x')]
for p, n, ch in LIMITS:
    I('too long: %s of %d bytes (%s)' % (pname(p), n + 1, ch), mutate(p, ms(ch, n + 1)))
    if len(ch.encode()) > 1:
        I('too long: %s of %d characters but %d bytes' % (pname(p), n // len(ch.encode()) + 1,
                                                            (n // len(ch.encode()) + 1) * len(ch.encode())),
          mutate(p, ch * (n // len(ch.encode()) + 1)))
I('too long: interpreter.language of 129 bytes', doc(interpreter={'needed': True, 'language': ms('ø', 129)}))
I('too long: parents_contacted.reason of 16001 bytes',
  doc(parents_contacted={'contacted': False, 'reason': ms('😀', 16001)}))
I('too long: child.cpr of 12 bytes', with_child(name='B', cpr='140317-43210', address='V'))
I('too long: child.cpr of 6 two-byte characters', with_child(name='B', cpr='ææææææ', address='V'))
I('too long: child.cpr in Arabic-Indic digits', with_child(name='B', cpr='١٤٠٣١٧-٤٣٢١', address='V'))
I('too long: child.birth_date of 11 bytes', with_child(name='B', birth_date='2017-03-140', address='V'))
I('too long: child.birth_date as a time', with_child(name='B', birth_date='2017-03-14T00:00:00Z', address='V'))
I('too long: child.birth_date with a fullwidth digit', with_child(name='B', birth_date='2017-03-1４', address='V'))
I('too long: 5 parents', doc(parents=[{'name': 'P%d' % i, 'custody': True} for i in range(5)]))
I('too long: 17 attachments', doc(attachments=[att(i) for i in range(17)]))
I('too long: attachments[0].size = 25 MiB + 1', mutate(('attachments', 0, 'size'), 25 * MIB + 1))
I('too long: attachments[0].size = int64 max', text=edit(BASE, '"size": 48213', '"size": 9223372036854775807'))
I('too long: 5 parents, each bad (not looked at)', doc(parents=[1, 2, 3, 4, 5]))

# Empty, blank-only, control characters.
LINE = [('institution',), ('child', 'name'), ('child', 'address'), ('parents', 0, 'name'), ('parents', 0, 'address'),
        ('notifier', 'name'), ('notifier', 'role'), ('notifier', 'relation'), ('attachments', 0, 'name')]
MULTI = [('concern',), ('observations',), ('wellbeing',), ('help_tried',), ('parents_contacted', 'reaction')]
for p in LINE + MULTI + [('parents', 0, 'phone'), ('attachments', 0, 'id'), ('attachments', 0, 'media_type')]:
    I('bad value: %s empty' % pname(p), mutate(p, ''))
for p in LINE + MULTI:
    I('bad value: %s of one space' % pname(p), mutate(p, ' '))
for p in MULTI:
    I('bad value: %s of blanks, line feeds and tabs' % pname(p), mutate(p, ' \n\t \n'))
for p in LINE:
    I('bad value: %s with a line feed' % pname(p), mutate(p, 'a\nb'))
    I('bad value: %s with a tab' % pname(p), mutate(p, 'a\tb'))
for p in LINE + MULTI:
    for ch, what in [('\x00', 'U+0000'), ('\x01', 'U+0001'), ('\r', 'CR'), ('\x1b', 'ESC'), ('\x7f', 'DEL'),
                     ('\x80', 'U+0080'), ('\x85', 'U+0085 (NEL)'), ('\x9f', 'U+009F')]:
        if p in LINE[1:] and what not in ('U+0000', 'DEL', 'U+0085 (NEL)'):
            continue  # every control class is covered on institution and the long texts
        I('bad value: %s with %s' % (pname(p), what), mutate(p, 'a' + ch + 'b'))
for ch, what in [('\x00', 'U+0000'), ('\x1b', 'ESC'), ('\x7f', 'DEL'), ('\x85', 'NEL'), ('\r', 'CR')]:
    I('bad value: concern with %s written as a \\u escape' % what, text=json.dumps(doc(concern='a' + ch + 'b')))
I('bad value: child.name with NEL written as a \\u escape',
  text=json.dumps(with_child(name='a\x85', birth_date='2017-03-14', address='V')))
I('bad value: institution with a space', mutate(('institution',), 'inst nordskov'))
I('bad value: institution with non-ASCII', mutate(('institution',), 'inst-æ'))
I('bad value: interpreter.language of one space', doc(interpreter={'needed': True, 'language': ' '}))
I('bad value: interpreter.language with a line feed', doc(interpreter={'needed': True, 'language': 'a\nb'}))
I('bad value: interpreter.language empty', doc(interpreter={'needed': True, 'language': ''}))
I('bad value: parents_contacted.reason with CR', doc(parents_contacted={'contacted': False, 'reason': 'a\r\nb'}))
I('bad value: parents_contacted.reason blank', doc(parents_contacted={'contacted': False, 'reason': '\t'}))
I('bad value: child.name of U+0000 only', with_child(name='\x00', birth_date='2017-03-14', address='V'))

# Unknown keys: the path is the key itself, as it may be shown.
for parent, key in [((), 'foo'), ((), 'Institution'), ((), 'attachment'), (('child',), 'fodselsdato'),
                    (('child',), 'cpr_nr'), (('child',), 'fødsels dato'), (('child',), 'a.b[0]'),
                    (('child',), 'x' * 32), (('child',), 'y' * 33), (('child',), 'abcdefghijklmnopqrstuvwxyz0123456789'),
                    (('child',), ''), ((), ''), (('parents', 1), 'email'), (('interpreter',), 'sprog'),
                    (('notifier',), 'address'), (('parents_contacted',), 'date'), (('attachments', 0), 'url'),
                    ((), '__proto__'), (('child',), 'constructor'), ((), 'toString'), ((), 'hasOwnProperty'),
                    (('child',), '😀'), ((), 'null')]:
    d = copy.deepcopy(BASE)
    o = d
    for k in parent:
        o = o[k]
    o[key] = 'x'
    I('unknown key %r in %s' % (key, pname(parent) or 'the document'), d)
I('unknown keys in document order, integer-like ones included',
  text=dumps(BASE)[:-1] + ', "b": 1, "2": 2, "a": 3, "1": 4, "__proto__": {}, "-1": 5, "10": 6, "01": 7}')
I('unknown keys in child, integer-like', text=edit(BASE, '"name": "Sofie Eksempel Fiktivsen"',
                                                               '"9": 1, "name": "Sofie Eksempel Fiktivsen", "0": 2'))
I('unknown key and a missing field in interpreter', doc(interpreter={'sprog': 'dansk'}))
I('unknown key with an escaped name', text=dumps(BASE)[:-1] + ', "\\u00e6\\t\\"x": 1}')

# child: cpr and birth_date.
I('not allowed: cpr and birth_date', with_child(name='B', cpr='140317-4321', birth_date='2017-03-14', address='V'))
I('not allowed: cpr and birth_date, both bad', with_child(name='B', cpr=1, birth_date=None, address='V'))
I('missing: neither cpr nor birth_date', with_child(name='B', address='V'))
I('missing: neither, and no name or address', with_child())
for cpr, what in [('310215-1234', '31 February'), ('300215-1234', '30 February'), ('290201-0000', '29 February 1901'),
                  ('290200-0000', '29 February 1900 (digit 0)'), ('290200-3000', '29 February 1900 (digit 3)'),
                  ('290237-4000', '29 February 1937 (digit 4, YY 37)'), ('290237-9000', '29 February 1937 (digit 9)'),
                  ('290258-5000', '29 February 1858 (digit 5, YY 58)'), ('290201-8000', '29 February 2001 (digit 8)'),
                  ('000115-1234', 'day 00'), ('320115-1234', 'day 32'), ('311115-1234', '31 November'),
                  ('140015-1234', 'month 00'), ('141315-1234', 'month 13'), ('140315 1234', 'a space for the dash'),
                  ('140315+1234', 'a plus for the dash'), ('14031512345', '11 digits'), ('140315-123', '10 with a dash'),
                  ('1403151234 ', '10 digits and a space'), ('140315123', '9 digits'), ('', 'empty'),
                  ('14-03-1512', 'dashes'), ('abcdefghij', 'letters'), ('1403１51234', 'fullwidth digit (12 bytes)'),
                  ('14031５123', 'fullwidth digit (11 bytes, no dash)'), ('140315-12a4', 'a letter'),
                  ('140315\x001234', 'U+0000'), ('1403151234\n'[:10], 'ten digits ok?')]:
    if what == 'ten digits ok?':
        continue
    I('bad value: cpr %s' % what, with_child(name='B', cpr=cpr, address='V'))
for bd, what in [('2015-02-29', '29 February 2015'), ('1900-02-29', '29 February 1900'), ('2017-02-30', '30 February'),
                 ('2017-04-31', '31 April'), ('2017-13-01', 'month 13'), ('2017-00-10', 'month 0'), ('2017-01-00', 'day 0'),
                 ('2017-1-14', 'one-digit month'), ('17-03-14', 'two-digit year'), ('20170314', 'no dashes'),
                 ('2017/03/14', 'slashes'), ('14-03-2017', 'Danish order'), ('1799-12-31', 'before 1800'),
                 ('0000-01-01', 'year 0'), ('', 'empty'), ('2017-03-1 ', 'trailing space'), ('x017-03-14', 'a letter'),
                 ('+017-03-14', 'a sign'), ('2017-03-14\x00'[:10], 'same'), ('2017-03\x0014', 'U+0000'),
                 ('2017-0３-4', 'fullwidth digit (11 bytes)'), ('201７-3-1', 'fullwidth digit (10 bytes)')]:
    if what == 'same':
        continue
    I('bad value: birth_date %s' % what, with_child(name='B', birth_date=bd, address='V'))

# parents.
I('wrong type: parents[1] a string', doc(parents=[BASE['parents'][0], 'Jens']))
I('wrong type: parents[0] null, parents[1] bad', doc(parents=[None, {'name': '', 'custody': 1}]))
for ph, what in [('+45 12 ab 34', 'letters'), ('12', '2 digits'), ('1 2', '2 digits and a space'), ('+-() ', 'no digits'),
                 ('   ', 'blanks'), ('١٢٣٤', 'Arabic-Indic digits'), ('12.34.56', 'dots'), ('12/34', 'a slash'),
                 ('12\t345', 'a tab'), ('123\x00', 'U+0000'), ('#123', 'a hash'), ('１２３', 'fullwidth digits')]:
    I('bad value: phone with %s' % what, doc(parents=[{'name': 'Mor', 'phone': ph, 'custody': True}]))

# interpreter.
I('not allowed: language without needed', doc(interpreter={'needed': False, 'language': 'arabisk'}))
I('not allowed: language null without needed', doc(interpreter={'needed': False, 'language': None}))
I('not allowed: language empty without needed', doc(interpreter={'needed': False, 'language': ''}))
I('wrong type: needed a string, with a language', doc(interpreter={'needed': 'ja', 'language': 'arabisk'}))
I('missing: needed, with a language', doc(interpreter={'language': 'arabisk'}))
I('unknown key, needed null, language', doc(interpreter={'x': 1, 'needed': None, 'language': 1}))
I('unknown key, needed true, no language', doc(interpreter={'needed': True, 'x': 1}))

# parents_contacted.
I('not allowed: contacted with a reason', doc(parents_contacted={'contacted': True, 'reaction': 'OK', 'reason': 'x'}))
I('not allowed: contacted with a reason only', doc(parents_contacted={'contacted': True, 'reason': 'x'}))
I('not allowed: not contacted with a reaction', doc(parents_contacted={'contacted': False, 'reaction': 'x'}))
I('not allowed: not contacted with both', doc(parents_contacted={'contacted': False, 'reaction': 'x', 'reason': 'y'}))
I('not allowed: not contacted with a reaction null and a bad reason',
  doc(parents_contacted={'contacted': False, 'reaction': None, 'reason': ' '}))
I('wrong type: contacted a string, with a reaction', doc(parents_contacted={'contacted': 'true', 'reaction': 'x'}))
I('missing: contacted, with both texts', doc(parents_contacted={'reaction': 'x', 'reason': 'y'}))
I('unknown key and contacted null', doc(parents_contacted={'contacted': None, 'hvornaar': 'x'}))

# attachments.
for v, what in [(0, '0'), (-1, '-1'), (-9223372036854775807 - 1, 'int64 min')]:
    I('bad value: attachments[0].size = %s' % what, mutate(('attachments', 0, 'size'), v))
I('bad value: attachments[0].size = -0', text=edit(BASE, '"size": 48213', '"size": -0'))
for k, what in [('AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8', '43 characters, no padding'),
                ('AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8==', '45 characters'),
                ('AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh=', 'non-zero unused bits'),
                ('AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==', '31 bytes'),
                ('AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8AAAA=', '35 bytes'),
                ('AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8A', '44 characters, no padding'),
                ('AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd-h8=', 'URL-safe alphabet'),
                ('AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd_h8=', 'URL-safe underscore'),
                ('AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd Hh8=', 'a space'),
                ('AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n', 'a line feed after'),
                ('AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdH=8=', 'padding inside'),
                ('AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh\x008=', 'U+0000'),
                ('AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHæ=', 'non-ASCII (44 bytes)'),
                ('', 'empty'), ('=' * 44, 'only padding')]:
    I('bad value: attachments[0].key, %s' % what, mutate(('attachments', 0, 'key'), k))
I('bad value: attachments[0].sha256, 31 bytes',
  mutate(('attachments', 0, 'sha256'), 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg=='))
for mt, what in [('applicationpdf', 'no slash'), ('ab', '2 bytes'), ('a/', '2 bytes with a slash'),
                 ('application/ pdf', 'a space'), ('application/pdfæ', 'non-ASCII')]:
    I('bad value: media_type %s' % what, mutate(('attachments', 0, 'media_type'), mt))
I('bad value: attachment id with a space', mutate(('attachments', 0, 'id'), 'att 1'))
I('bad value: attachment id non-ASCII', mutate(('attachments', 0, 'id'), 'bilag-ø'))
I('bad value: duplicate attachment ids', doc(attachments=[att(1), att(2), att(1, name='andet.pdf')]))
I('bad value: duplicate attachment id after a refused attachment',
  doc(attachments=[att(1, name=''), att(1)]))
I('attachment refused at its first problem only', doc(attachments=[
    {'id': 'a b', 'name': '', 'media_type': 'x', 'size': 0, 'key': '', 'sha256': ''},
    {'name': 1, 'url': 'x', 'zz': 2}, att(3, media_type='pdf', size=-5), att(4, size=None, key='x'),
    att(5, key=KEY, sha256=None)]))
I('an attachment whose unknown key hides its id from the duplicate check',
  doc(attachments=[att(1, url='x'), att(1), att(1)]))
I('missing: attachment of an empty object', doc(attachments=[{}]))
I('17 attachments, each bad (not looked at)', doc(attachments=[1] * 17))

# Problems in the order of the document's fields, whatever the order of the keys.
I('problems in the order of the fields, not of the text',
  text=dumps(dict(reversed(list(doc(institution='', akut=None, concern='', attachments=[att(1, size=0)],
                                    child={'name': '', 'cpr': 'x', 'address': ''}).items())))))

# ---- run the C reference ------------------------------------------------------------


def main():
    if len(sys.argv) != 2:
        sys.exit('usage: documents-gen.py BUILD/tests/unit/documents-gen')
    names = set()
    for c in valid + invalid:
        if c['name'] in names:
            sys.exit('duplicate case name: ' + c['name'])
        names.add(c['name'])
    cases = []
    for c in valid + invalid:
        x = dict(c)
        x.setdefault('created', CREATED)
        x.setdefault('submission', SUBMISSION)
        cases.append(x)
    out = subprocess.run([sys.argv[1]], input=json.dumps(cases).encode(), stdout=subprocess.PIPE, check=True).stdout
    results = json.loads(out)
    bad = []
    for c, r in zip(valid, results[:len(valid)]):
        if r['problems']:
            bad.append('valid case refused: %s: %s' % (c['name'], r['problems']))
            continue
        c['birth'] = r['birth']
        c['cpr'] = r['cpr']
        c['today'] = r['today']
        c['header'] = r['header']
    for c, r in zip(invalid, results[len(valid):]):
        if not r['problems']:
            bad.append('invalid case accepted: ' + c['name'])
        c['problems'] = r['problems']
    if bad:
        sys.exit('\n'.join(bad))
    corpus = {
        'comment': [
            'Underretning documents of PROTOCOL.md 11.3 and their routing headers (11.4), made by '
            'proto/vectors/documents-gen.py: the inputs are written by hand, every expected result comes from '
            'proto/underretning.c, the reference for the document rules because it is what the agents run. '
            'tests/unit/test-documents.c checks this file against the C code; tests/web/vectors/documents.mjs '
            'checks the web client against it.',
            'A case\'s document is "text" (its UTF-8) or "bytes_b64" (raw bytes), followed by spaces up to '
            '"pad_to" bytes when given. "created" (Unix seconds) and "submission" default to the top-level ones.',
            'valid: uh_parse_all() accepts it; "birth" is the child\'s birth date, "cpr" the stored CPR number '
            '("DDMMYY-SSSS", "" for birth_date), "today" the Copenhagen date of created, "header" the JSON form of '
            'uh_header_derive() or null when it refuses (age outside 0..22, unborn, a bad submission id).',
            'invalid: "problems" is every problem uh_parse_all() reports, in its order (uh_parse() reports the '
            'first); for an unknown key the path is the key itself (characters outside [A-Za-z0-9_-] as ?, cut at '
            '32 bytes), for malformed JSON, a duplicate key or a document above 512 KiB it is "".',
        ],
        'created': CREATED,
        'submission': SUBMISSION,
        'valid': valid,
        'invalid': invalid,
    }
    with open(os.path.join(HERE, 'documents.json'), 'w', encoding='utf-8') as f:
        json.dump(corpus, f, ensure_ascii=False, indent=1)
        f.write('\n')
    print('documents.json: %d valid, %d invalid' % (len(valid), len(invalid)))


if __name__ == '__main__':
    main()
