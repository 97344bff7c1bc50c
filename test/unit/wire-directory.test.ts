import assert from 'node:assert/strict';
import { decodeDirectory, DirectoryStatus, encodeDirectory, MAX_SIGNED_BYTES } from '../../extension/core/wire/directory';

const cookie = Buffer.alloc(16, 0xcc);

describe('wire: directory messages (golden bytes)', () => {
  it('lookup', () => {
    const b = encodeDirectory({ type: 'accountLookup', cookie, requestId: 0x01020304, handle: 'alice' });
    assert.equal(b.toString('hex'), 'c50124' + 'cc'.repeat(16) + '01020304' + '05616c696365');
    assert.deepEqual(decodeDirectory(b), { ok: true, value: { type: 'accountLookup', cookie, requestId: 0x01020304, handle: 'alice' } });
  });

  it('claim / update / rotate / delete carry raw signed bytes to the end of the datagram', () => {
    for (const [type, code, field] of [
      ['accountClaim', '20', 'record'],
      ['accountUpdate', '21', 'record'],
      ['accountRotate', '22', 'rotation'],
      ['accountDelete', '23', 'deletion'],
    ] as const) {
      const m = { type, cookie, requestId: 7, [field]: Buffer.from('abcd', 'hex') } as Parameters<typeof encodeDirectory>[0];
      const b = encodeDirectory(m);
      assert.equal(b.toString('hex'), `c501${code}` + 'cc'.repeat(16) + '00000007' + 'abcd');
      const d = decodeDirectory(b);
      assert.ok(d.ok);
      assert.deepEqual(d.value, m);
    }
  });

  it('result and found', () => {
    const r = encodeDirectory({ type: 'accountResult', requestId: 9, status: DirectoryStatus.HandleTaken, version: 3n, message: 'taken' });
    assert.equal(r.toString('hex'), 'c50125' + '00000009' + '08' + '0000000000000003' + '05' + Buffer.from('taken').toString('hex'));
    assert.deepEqual(decodeDirectory(r), { ok: true, value: { type: 'accountResult', requestId: 9, status: 8, version: 3n, message: 'taken' } });
    const f = encodeDirectory({ type: 'accountFound', requestId: 9, record: Buffer.from([1, 2]) });
    assert.equal(f.toString('hex'), 'c50126' + '00000009' + '0102');
  });

  it('never throws on truncated, oversized or garbage input', () => {
    const good = encodeDirectory({ type: 'accountClaim', cookie, requestId: 1, record: Buffer.alloc(200, 1) });
    for (let n = 0; n < good.length; n++) assert.equal(decodeDirectory(good.subarray(0, n)).ok, n > 23 ? true : false, `length ${n}`);
    assert.equal(decodeDirectory(Buffer.concat([good.subarray(0, 23), Buffer.alloc(MAX_SIGNED_BYTES + 1)])).ok, false);
    assert.equal(decodeDirectory(Buffer.from('c5012f', 'hex')).ok, false);
    assert.equal(decodeDirectory(Buffer.from('c50224', 'hex')).ok, false);
    for (let i = 0; i < 2000; i++) {
      const junk = Buffer.from(Array.from({ length: (i % 80) + 3 }, (_, k) => (i * 31 + k * 17) & 0xff));
      junk[0] = 0xc5;
      junk[1] = 1;
      junk[2] = 0x20 + (i % 16);
      decodeDirectory(junk);
    }
  });
});
