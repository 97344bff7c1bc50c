// The topic registry's stored values (docs/PROTOCOL.md §11.3): what one instance writes, another reads back
// only if it is a well-formed topicPeer for the key's topic under the right field; anything else is skipped.
import assert from 'node:assert/strict';
import { encodeTopic, TopicKind } from '../../extension/core/wire/topics';
import { packTopicValue, unpackTopicValue } from '../../rendezvous/cluster/topicRegistry';
import { memberField } from '../../rendezvous/topics';

const topic = Buffer.alloc(16, 0xa1);
const clientId = Buffer.alloc(16, 0x07);
const reflexive = { address: '198.51.100.7', port: 4242 };
const peer = encodeTopic({ type: 'topicPeer', topic, partner: { clientId, flags: 0x09, reflexive, candidates: [{ address: '10.0.0.7', port: 4242 }] } });
const instance = Buffer.alloc(16, 0x33);

describe('topic registry: stored values', () => {
  it('round-trips: expiry, instance, kind and the partner, under its field', () => {
    const v = packTopicValue(1_765_000_000_123, instance, TopicKind.Host, peer);
    assert.equal(v.subarray(0, 8).toString('hex'), '0000019af232b27b', 'u64 big-endian wall-clock ms');
    assert.deepEqual(v.subarray(8, 24), instance);
    assert.equal(v[24], TopicKind.Host);
    const u = unpackTopicValue(v, topic, memberField(clientId, reflexive));
    assert.ok(u);
    assert.equal(u.expiresAt, 1_765_000_000_123);
    assert.equal(u.kind, TopicKind.Host);
    assert.equal(u.partner.flags, 0x09);
    assert.deepEqual(u.partner.reflexive, reflexive);
    assert.equal(u.field, `${clientId.toString('hex')}@198.51.100.7:4242`);
  });

  it('skips a value for another topic, under another field, of an unknown kind, truncated or oversized', () => {
    const v = packTopicValue(1, instance, TopicKind.Peer, peer);
    assert.equal(unpackTopicValue(v, Buffer.alloc(16, 0xa2)), undefined, 'another topic');
    assert.equal(unpackTopicValue(v, topic, memberField(Buffer.alloc(16, 8), reflexive)), undefined, 'another field');
    const badKind = Buffer.from(v);
    badKind[24] = 4;
    assert.equal(unpackTopicValue(badKind, topic), undefined, 'kind 4');
    assert.equal(unpackTopicValue(v.subarray(0, v.length - 1), topic), undefined, 'truncated');
    assert.equal(unpackTopicValue(Buffer.concat([v, Buffer.alloc(500)]), topic), undefined, 'oversized');
    assert.equal(unpackTopicValue(Buffer.alloc(25), topic), undefined, 'no datagram');
    const notPeer = packTopicValue(1, instance, TopicKind.Peer, encodeTopic({ type: 'topicGone', topic, clientId }));
    assert.equal(unpackTopicValue(notPeer, topic), undefined, 'a topicGone is no member');
  });
});
