import assert from 'node:assert/strict';
import { foldHandle, formatAccountAddress, HANDLE_RULE, parseAccountAddress, parseHandle } from '../../extension/core/account/handle';

describe('account: handle rules', () => {
  const valid: Array<[string, string]> = [
    ['alice', 'alice'],
    ['Alice', 'alice'],
    ['ALICE.B_c-9', 'alice.b_c-9'],
    ['abc', 'abc'],
    ['a'.repeat(32), 'a'.repeat(32)],
    ['0xdead', '0xdead'],
    ['a..b', 'a..b'],
    ['ＡＬＩＣＥ', 'alice'], // fullwidth: NFKC folds onto ASCII
    ['\u212Aelvin', 'kelvin'], // KELVIN SIGN -> K -> k
    ['ﬁsh', 'fish'], // the ﬁ ligature decomposes under NFKC
    ['bob①', 'bob1'], // circled digit one
  ];
  for (const [raw, want] of valid) {
    it(`accepts ${JSON.stringify(raw)} as "${want}"`, () => {
      const p = parseHandle(raw);
      assert.ok(p.ok, p.ok ? '' : p.error);
      assert.equal(p.handle, want);
    });
  }

  const invalid: Array<[string, RegExp]> = [
    ['', /too short/],
    ['ab', /too short/],
    ['a'.repeat(33), /too long/],
    ['аlice', /U\+0430/], // Cyrillic а: a confusable, not folded to Latin
    ['alicе', /U\+0435/], // Cyrillic е at the end
    ['bοb', /U\+03BF/], // Greek omicron
    ['straße', /U\+00DF/], // ß stays ß under toLowerCase
    ['\u0130stanbul', /U\+0307/], // İ lowercases to i + COMBINING DOT ABOVE
    ['al ice', /" " \(U\+0020\)|U\+0020/],
    ['alice@x', /"@"/],
    ['al\u200bice', /U\+200B/], // zero-width space
    ['ali\u202ece', /U\+202E/], // bidi override
    ['.alice', /start and end/],
    ['alice-', /start and end/],
    ['_ab', /start and end/],
    ['😀😀😀', /U\+1F600/],
  ];
  for (const [raw, err] of invalid) {
    it(`refuses ${JSON.stringify(raw)} naming the rule`, () => {
      const p = parseHandle(raw);
      assert.equal(p.ok, false);
      if (!p.ok) {
        assert.match(p.error, err);
        assert.ok(p.error.includes(HANDLE_RULE), 'the error states the rule');
        assert.ok(!/[\u200b\u202e]/.test(p.error), 'the echoed input is defanged');
      }
    });
  }

  it('folding is NFKC then lowercase (pinned)', () => {
    assert.equal(foldHandle('ＡＢＣ'), 'abc');
    assert.equal(foldHandle('Ǆ'), 'dž'); // NFKC first decomposes DŽ into D + Ž, then lowercase
  });

  it('never throws on odd input', () => {
    for (const s of ['\ud800', '\u0000\u0000\u0000', 'a'.repeat(100_000)]) assert.equal(parseHandle(s).ok, false);
  });
});

describe('account: addresses', () => {
  it('parses handle@host[:port] with the default port 7000', () => {
    assert.deepEqual(parseAccountAddress('Alice@Chat.Example.org'), { ok: true, address: { handle: 'alice', host: 'chat.example.org', port: 7000 } });
    assert.deepEqual(parseAccountAddress('bob@127.0.0.1:7100'), { ok: true, address: { handle: 'bob', host: '127.0.0.1', port: 7100 } });
    assert.deepEqual(parseAccountAddress('carol@[2001:db8::1]:9'), { ok: true, address: { handle: 'carol', host: '2001:db8::1', port: 9 } });
    assert.deepEqual(parseAccountAddress('carol@[::1]'), { ok: true, address: { handle: 'carol', host: '::1', port: 7000 } });
  });

  it('formats with the port only when it is not the default', () => {
    assert.equal(formatAccountAddress({ handle: 'alice', host: 'chat.example.org', port: 7000 }), 'alice@chat.example.org');
    assert.equal(formatAccountAddress({ handle: 'alice', host: 'h', port: 7001 }), 'alice@h:7001');
    assert.equal(formatAccountAddress({ handle: 'a1c', host: '::1', port: 7001 }), 'a1c@[::1]:7001');
    assert.equal(formatAccountAddress({ handle: 'a1c', host: '::1', port: 7000 }), 'a1c@[::1]');
  });

  it('refuses malformed addresses with a clear error', () => {
    for (const [s, re] of [
      ['alice', /handle@host/],
      ['@host', /handle@host/],
      ['alice@', /handle@host/],
      ['al@host', /too short/],
      ['alice@host:0', /out of range/],
      ['alice@host:99999', /out of range/],
      ['alice@ho st', /not a host/],
      ['alice@.host', /not a valid host/],
    ] as const) {
      const p = parseAccountAddress(s);
      assert.ok(!p.ok, s);
      if (!p.ok) assert.match(p.error, re);
    }
  });
});
