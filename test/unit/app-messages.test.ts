// The chat message codec (docs/PROTOCOL.md §8.1): golden bytes, and the hand-written JSON of a text body
// against JSON.stringify, byte for byte, over strings full of what JSON escapes (quotes, backslashes,
// controls, lone and paired surrogates).
import assert from 'node:assert/strict';
import { decodeApp, encodeChat, jsonStringBody, type ChatEnvelope } from '../../extension/core/room/appMessages';
import type { ChatBody } from '../../extension/core/types';

/** The encoding before the hand-written text path: JSON.stringify of the body after the 17-byte header. */
function viaStringify(m: ChatEnvelope): Buffer {
  const json = Buffer.from(JSON.stringify(m.body), 'utf8');
  const head = Buffer.alloc(17);
  head[0] = 0x01;
  head.writeUInt32BE(m.epoch, 1);
  head.writeUInt32BE(m.seq, 5);
  head.writeBigUInt64BE(BigInt(m.sentAt), 9);
  return Buffer.concat([head, json]);
}

/** A small deterministic generator (xorshift32), so a failure names a reproducible case. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

const PIECES = ['a', 'Z', ' ', 'é', 'ÿ', '\n', '\r', '\t', '\b', '\f', '\v', '"', '\\', '/', '\u0000', '\u001f', '\u007f', '\u2028', '\u2029', '😀', '\ud800', '\udbff', '\udc00', '\udfff', '\uffff', '漢', '</script>'];

describe('app messages: the chat envelope', () => {
  it('golden bytes: a text message', () => {
    const bytes = encodeChat({ epoch: 0x01020304, seq: 5, sentAt: 1_700_000_000_000, body: { kind: 'text', text: 'hi "you"\n' } });
    assert.equal(
      bytes.toString('hex'),
      '01' + '01020304' + '00000005' + '0000018bcfe56800' + Buffer.from('{"kind":"text","text":"hi \\"you\\"\\n"}').toString('hex'),
    );
  });

  it('writes a text body byte for byte as JSON.stringify does, escapes, surrogates and all', () => {
    const next = rng(15);
    for (let k = 0; k < 20_000; k++) {
      let text = '';
      const len = Math.floor(next() * 14);
      for (let i = 0; i < len; i++) text += PIECES[Math.floor(next() * PIECES.length)];
      assert.equal(jsonStringBody(text), JSON.stringify(text).slice(1, -1), `case ${k}: ${JSON.stringify(text)}`);
      const m: ChatEnvelope = { epoch: Math.floor(next() * 2 ** 32), seq: k, sentAt: Math.floor(next() * 2 ** 53), body: { kind: 'text', text } };
      const bytes = encodeChat(m);
      assert.deepEqual(bytes, viaStringify(m), `case ${k}: ${JSON.stringify(text)}`);
      const d = decodeApp(bytes);
      assert.ok(d.ok && d.value.type === 'chat');
      assert.equal(d.value.sentAt, m.sentAt);
      assert.deepEqual(d.value.body, { kind: 'text', text: JSON.parse(JSON.stringify(text)) });
    }
  });

  it('keeps a long plain text as it is (no copy) and writes the other kinds through JSON.stringify', () => {
    const text = 'x'.repeat(70_000);
    assert.equal(jsonStringBody(text), text);
    const snippet: ChatBody = { kind: 'snippet', snippet: { path: 'a.ts', language: 'ts', startLine: 1, endLine: 2, code: 'a\n"b"' }, text: 'see' };
    const m: ChatEnvelope = { epoch: 1, seq: 2, sentAt: 3, body: snippet };
    assert.deepEqual(encodeChat(m), viaStringify(m));
  });

  it('refuses a sentAt that is not a u64 integer, as before', () => {
    assert.throws(() => encodeChat({ epoch: 1, seq: 1, sentAt: 1.5, body: { kind: 'text', text: 'a' } }));
    assert.throws(() => encodeChat({ epoch: 1, seq: 1, sentAt: -1, body: { kind: 'text', text: 'a' } }));
  });
});
