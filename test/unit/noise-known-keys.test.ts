// The patterns with pre-messages (KKpsk0 for DMs, IKpsk2 for contact requests, X for sealed boxes):
// the handshake proves the expected static key, and any other key fails it without a throw.
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { generateKeyPair, HandshakeState } from '../../extension/core/noise';

const PROLOGUE = Buffer.from('p2p-chat dm test');

describe('noise: patterns with known static keys', () => {
  it('KKpsk0: the first message carries data and both sides learn the pinned keys', () => {
    const a = generateKeyPair();
    const b = generateKeyPair();
    const psk = crypto.randomBytes(32);
    const init = new HandshakeState({ pattern: 'KKpsk0', initiator: true, prologue: PROLOGUE, s: a, rs: b.publicKey, psk });
    const resp = new HandshakeState({ pattern: 'KKpsk0', initiator: false, prologue: PROLOGUE, s: b, rs: a.publicKey, psk });
    const m1 = init.writeMessage(Buffer.from('hello bob'));
    const r1 = resp.readMessage(m1);
    assert.ok(r1.ok);
    assert.equal(r1.payload.toString(), 'hello bob');
    const r2 = init.readMessage(resp.writeMessage(Buffer.from('hi')));
    assert.ok(r2.ok && init.complete && resp.complete);
    assert.deepEqual(init.handshakeHash, resp.handshakeHash);
  });

  it('KKpsk0: a responder expecting another key refuses message 1 (a swapped key never talks)', () => {
    const a = generateKeyPair();
    const b = generateKeyPair();
    const mallory = generateKeyPair();
    const psk = crypto.randomBytes(32);
    // Mallory knows the psk (the worst case) but not Alice's private key.
    const init = new HandshakeState({ pattern: 'KKpsk0', initiator: true, prologue: PROLOGUE, s: mallory, rs: b.publicKey, psk });
    const resp = new HandshakeState({ pattern: 'KKpsk0', initiator: false, prologue: PROLOGUE, s: b, rs: a.publicKey, psk });
    const r = resp.readMessage(init.writeMessage(Buffer.from('x')));
    assert.equal(r.ok, false);
    assert.ok(resp.failed);
  });

  it('KKpsk0: an initiator that pinned the wrong key for the responder cannot complete', () => {
    const a = generateKeyPair();
    const b = generateKeyPair();
    const fake = generateKeyPair();
    const psk = crypto.randomBytes(32);
    const init = new HandshakeState({ pattern: 'KKpsk0', initiator: true, prologue: PROLOGUE, s: a, rs: fake.publicKey, psk });
    const resp = new HandshakeState({ pattern: 'KKpsk0', initiator: false, prologue: PROLOGUE, s: b, rs: a.publicKey, psk });
    assert.equal(resp.readMessage(init.writeMessage(Buffer.alloc(0))).ok, false);
  });

  it('IKpsk2: the responder learns the initiator key from message 1; a wrong responder key fails', () => {
    const a = generateKeyPair();
    const b = generateKeyPair();
    const psk = crypto.randomBytes(32);
    const init = new HandshakeState({ pattern: 'IKpsk2', initiator: true, prologue: PROLOGUE, s: a, rs: b.publicKey, psk });
    const resp = new HandshakeState({ pattern: 'IKpsk2', initiator: false, prologue: PROLOGUE, s: b, psk });
    const r1 = resp.readMessage(init.writeMessage(Buffer.from('request')));
    assert.ok(r1.ok);
    assert.deepEqual(resp.remoteStatic, a.publicKey);
    assert.ok(init.readMessage(resp.writeMessage(Buffer.alloc(0))).ok);

    const other = generateKeyPair();
    const i2 = new HandshakeState({ pattern: 'IKpsk2', initiator: true, prologue: PROLOGUE, s: a, rs: other.publicKey, psk });
    const r2 = new HandshakeState({ pattern: 'IKpsk2', initiator: false, prologue: PROLOGUE, s: b, psk });
    assert.equal(r2.readMessage(i2.writeMessage(Buffer.alloc(0))).ok, false);
  });

  it('IKpsk1: without the right psk the responder cannot read message 1 at all', () => {
    const a = generateKeyPair();
    const b = generateKeyPair();
    const init = new HandshakeState({ pattern: 'IKpsk1', initiator: true, prologue: PROLOGUE, s: a, rs: b.publicKey, psk: crypto.randomBytes(32) });
    const resp = new HandshakeState({ pattern: 'IKpsk1', initiator: false, prologue: PROLOGUE, s: b, psk: crypto.randomBytes(32) });
    assert.equal(resp.readMessage(init.writeMessage(Buffer.from('request'))).ok, false);
  });

  it('X: a one-way message opens only with the recipient key', () => {
    const a = generateKeyPair();
    const b = generateKeyPair();
    const init = new HandshakeState({ pattern: 'X', initiator: true, prologue: PROLOGUE, s: a, rs: b.publicKey });
    const resp = new HandshakeState({ pattern: 'X', initiator: false, prologue: PROLOGUE, s: b });
    const r = resp.readMessage(init.writeMessage(Buffer.from('sealed')));
    assert.ok(r.ok && resp.complete && init.complete);
    assert.equal(r.payload.toString(), 'sealed');
    assert.deepEqual(resp.remoteStatic, a.publicKey);
  });

  it('misuse: a missing or superfluous pre-message key throws at construction', () => {
    const a = generateKeyPair();
    const psk = crypto.randomBytes(32);
    assert.throws(() => new HandshakeState({ pattern: 'KKpsk0', initiator: true, prologue: PROLOGUE, s: a, psk }), /static key in advance/);
    assert.throws(() => new HandshakeState({ pattern: 'XX', initiator: true, prologue: PROLOGUE, s: a, rs: a.publicKey }), /must not be given/);
    assert.throws(() => new HandshakeState({ pattern: 'IK', initiator: false, prologue: PROLOGUE, s: a, rs: a.publicKey }), /must not be given/);
  });
});
