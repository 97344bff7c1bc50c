import assert from 'node:assert/strict';
import { decodeTopic, encodeTopic, MAX_TOPIC_REQUEST_BYTES, MAX_TOPICS_PER_REGISTER, TopicKind, type TopicMessage } from '../../extension/core/wire/topics';

const T1 = Buffer.alloc(16, 0xaa);
const T2 = Buffer.alloc(16, 0xbb);
const ID = Buffer.alloc(16, 0x01);
const COOKIE = Buffer.alloc(16, 0xcc);

const GOLDEN: [TopicMessage, string][] = [
  [
    { type: 'topicRegister', cookie: COOKIE, clientId: ID, seq: 258, options: 1, flags: 0x09, candidates: [{ address: '10.0.0.2', port: 4000 }], topics: [{ kind: TopicKind.Peer, topic: T1 }, { kind: TopicKind.Host, topic: T2 }] },
    'c50130' + 'cc'.repeat(16) + '01'.repeat(16) + '0102' + '01' + '09' + '01' + '04' + '0fa0' + '0a000002' + '02' + '00' + 'aa'.repeat(16) + '01' + 'bb'.repeat(16),
  ],
  [{ type: 'topicLeave', cookie: COOKIE, clientId: ID, topics: [] }, 'c50131' + 'cc'.repeat(16) + '01'.repeat(16) + '00'],
  [{ type: 'topicLeave', cookie: COOKIE, clientId: ID, topics: [T1] }, 'c50131' + 'cc'.repeat(16) + '01'.repeat(16) + '01' + 'aa'.repeat(16)],
  [{ type: 'topicAck', seq: 7, observed: { address: '203.0.113.5', port: 40000 }, refreshSeconds: 15, accepted: 56, refused: 0, partners: 258 }, 'c50132' + '0007' + '04' + '9c40' + 'cb007105' + '000f' + '38' + '00' + '0102' + '00'],
  [
    { type: 'topicAck', seq: 7, observed: { address: '203.0.113.5', port: 40000 }, refreshSeconds: 15, accepted: 1, refused: 0, partners: 0, turn: { server: { address: '192.0.2.9', port: 3478 }, username: 'u', password: 'pw', ttlSeconds: 600 } },
    'c50132' + '0007' + '04' + '9c40' + 'cb007105' + '000f' + '01' + '00' + '0000' + '01' + '04' + '0d96' + 'c0000209' + '01' + '75' + '02' + '7077' + '00000258',
  ],
  [
    { type: 'topicPeer', topic: T1, partner: { clientId: ID, flags: 8, reflexive: { address: '198.51.100.1', port: 5000 }, candidates: [] } },
    'c50133' + 'aa'.repeat(16) + '01'.repeat(16) + '08' + '04' + '1388' + 'c6336401' + '00',
  ],
  [{ type: 'topicGone', topic: T1, clientId: ID }, 'c50134' + 'aa'.repeat(16) + '01'.repeat(16)],
];

describe('wire: topic messages', () => {
  it('golden bytes, both ways', () => {
    for (const [m, hex] of GOLDEN) {
      assert.equal(encodeTopic(m).toString('hex'), hex, m.type);
      const d = decodeTopic(Buffer.from(hex, 'hex'));
      assert.ok(d.ok, d.ok ? '' : d.error);
      assert.deepEqual(d.value, m);
    }
  });

  it('the largest register fits the datagram budget', () => {
    const v6 = Array.from({ length: 8 }, (_, i) => ({ address: `2001:db8::${i + 1}`, port: 65535 }));
    const topics = Array.from({ length: MAX_TOPICS_PER_REGISTER }, (_, i) => ({ kind: TopicKind.Peer, topic: Buffer.alloc(16, i) }));
    const buf = encodeTopic({ type: 'topicRegister', cookie: COOKIE, clientId: ID, seq: 1, options: 0, flags: 0, candidates: v6, topics });
    assert.ok(buf.length <= MAX_TOPIC_REQUEST_BYTES, `${buf.length} bytes`);
    assert.throws(() => encodeTopic({ type: 'topicRegister', cookie: COOKIE, clientId: ID, seq: 1, options: 0, flags: 0, candidates: [], topics: [...topics, topics[0]] }), RangeError);
  });

  it('an ack without TURN is never larger than the smallest register (one with TURN goes only to a verified source)', () => {
    const smallest = encodeTopic({ type: 'topicRegister', cookie: COOKIE, clientId: ID, seq: 0, options: 0, flags: 0, candidates: [], topics: [] });
    const largestAck = encodeTopic({ type: 'topicAck', seq: 0, observed: { address: '2001:db8::1', port: 1 }, refreshSeconds: 1, accepted: 0, refused: 0, partners: 0 });
    assert.ok(largestAck.length <= smallest.length, `${largestAck.length} > ${smallest.length}`);
  });

  it('refuses malformed input with ok:false, never a throw', () => {
    for (const [, hex] of GOLDEN) {
      const full = Buffer.from(hex, 'hex');
      for (let n = 0; n < full.length; n++) assert.equal(decodeTopic(full.subarray(0, n)).ok, false, `truncated to ${n}`);
      assert.equal(decodeTopic(Buffer.concat([full, Buffer.from([0])])).ok, false, 'trailing byte');
    }
    const badKind = Buffer.from(GOLDEN[0][1], 'hex');
    badKind[3 + 16 + 16 + 2 + 1 + 1 + 1 + 7 + 1] = 4;
    assert.equal(decodeTopic(badKind).ok, false);
    const tooMany = Buffer.from('c50131' + 'cc'.repeat(16) + '01'.repeat(16) + 'ff', 'hex');
    assert.equal(decodeTopic(tooMany).ok, false);
    assert.equal(decodeTopic(Buffer.from('c5013f', 'hex')).ok, false);
    assert.equal(decodeTopic(Buffer.from('c50230', 'hex')).ok, false);
    for (let i = 0; i < 2000; i++) {
      const junk = Buffer.from(Array.from({ length: (i * 7) % 300 }, (_, j) => (i * 31 + j * 17) & 0xff));
      junk[0] = 0xc5;
      junk[1] = 1;
      junk[2] = 0x30 + (i % 5);
      decodeTopic(junk);
    }
  });
});
