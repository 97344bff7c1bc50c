import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { generateKeyPair, HandshakeState, keyPairFromPrivate, TransportCipher, type KeyPair } from '../../extension/core/noise';
import { dh } from '../../extension/core/noise/x25519';

const PROLOGUE = Buffer.from('p2p-chat test');

function pair(opts: { pattern?: 'XX' | 'XXpsk3'; pskI?: Buffer; pskR?: Buffer; prologueR?: Buffer } = {}) {
  const pattern = opts.pattern ?? 'XXpsk3';
  const psk = crypto.randomBytes(32);
  const si = generateKeyPair();
  const sr = generateKeyPair();
  const init = new HandshakeState({
    pattern,
    initiator: true,
    prologue: PROLOGUE,
    s: si,
    psk: pattern === 'XXpsk3' ? (opts.pskI ?? psk) : undefined,
  });
  const resp = new HandshakeState({
    pattern,
    initiator: false,
    prologue: opts.prologueR ?? PROLOGUE,
    s: sr,
    psk: pattern === 'XXpsk3' ? (opts.pskR ?? psk) : undefined,
  });
  return { init, resp, si, sr };
}

function flip(buf: Buffer, index: number): Buffer {
  const out = Buffer.from(buf);
  out[index] ^= 0x01;
  return out;
}

describe('noise: key pairs', () => {
  it('matches RFC 7748 §6.1: public key from private, and the shared secret', () => {
    const alice = keyPairFromPrivate(Buffer.from('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'hex'));
    assert.equal(alice.publicKey.toString('hex'), '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
    const bobPublic = Buffer.from('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f', 'hex');
    assert.equal(dh(alice.privateKey, bobPublic).toString('hex'), '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742');
  });

  it('generates distinct 32-byte key pairs', () => {
    const a = generateKeyPair();
    const b = generateKeyPair();
    assert.equal(a.publicKey.length, 32);
    assert.equal(a.privateKey.length, 32);
    assert.notDeepEqual(a.publicKey, b.publicKey);
    assert.deepEqual(keyPairFromPrivate(a.privateKey).publicKey, a.publicKey);
  });
});

describe('noise: handshake between two HandshakeStates', () => {
  for (const pattern of ['XX', 'XXpsk3'] as const) {
    it(`${pattern}: completes with random keys, learns both statics, agrees on h and keys`, () => {
      const { init, resp, si, sr } = pair({ pattern });
      assert.ok(init.isMyTurn && !resp.isMyTurn);
      const r1 = resp.readMessage(init.writeMessage(Buffer.from('hello')));
      assert.deepEqual(r1, { ok: true, payload: Buffer.from('hello') });
      const r2 = init.readMessage(resp.writeMessage(Buffer.from('from responder')));
      assert.ok(r2.ok);
      assert.equal(r2.payload.toString(), 'from responder');
      assert.deepEqual(init.remoteStatic, sr.publicKey);
      assert.equal(resp.remoteStatic, undefined, 'responder learns the initiator only in message 3');
      const r3 = resp.readMessage(init.writeMessage(Buffer.from('third')));
      assert.ok(r3.ok);
      assert.equal(r3.payload.toString(), 'third');
      assert.ok(init.complete && resp.complete);
      assert.deepEqual(resp.remoteStatic, si.publicKey);
      assert.deepEqual(init.handshakeHash, resp.handshakeHash);

      const a = TransportCipher.fromSplit(init.split());
      const b = TransportCipher.fromSplit(resp.split());
      const s1 = a.seal(Buffer.from('ping'));
      assert.equal(b.open(s1.counter, s1.ciphertext)?.toString(), 'ping');
      const s2 = b.seal(Buffer.from('pong'));
      assert.equal(a.open(s2.counter, s2.ciphertext)?.toString(), 'pong');
      assert.throws(() => init.split(), /already/);
    });
  }

  it('fresh ephemerals give different transcripts for the same statics', () => {
    const s = generateKeyPair();
    const h = (): Buffer => {
      const hs = new HandshakeState({ pattern: 'XX', initiator: true, prologue: PROLOGUE, s });
      hs.writeMessage(Buffer.alloc(0));
      return hs.handshakeHash;
    };
    assert.notDeepEqual(h(), h());
  });

  it('wrong psk: the responder rejects message 3 without throwing', () => {
    const { init, resp } = pair({ pskI: crypto.randomBytes(32), pskR: crypto.randomBytes(32) });
    // The psk enters only at the end of message 3, so that is where a mismatch must show.
    assert.ok(resp.readMessage(init.writeMessage(Buffer.alloc(0))).ok);
    assert.ok(init.readMessage(resp.writeMessage(Buffer.alloc(0))).ok);
    const r3 = resp.readMessage(init.writeMessage(Buffer.from('secret')));
    assert.equal(r3.ok, false);
    assert.ok(resp.failed && !resp.complete);
    assert.throws(() => resp.split());
  });

  it('different prologues: XXpsk3 fails at message 1, XX (plaintext first payload) at message 2', () => {
    const psk3 = pair({ prologueR: Buffer.from('other') });
    // psk modifier: e is mixed into the key, so message 1's payload is already encrypted under h(prologue).
    assert.equal(psk3.resp.readMessage(psk3.init.writeMessage(Buffer.alloc(0))).ok, false);
    const xx = pair({ pattern: 'XX', prologueR: Buffer.from('other') });
    assert.ok(xx.resp.readMessage(xx.init.writeMessage(Buffer.alloc(0))).ok);
    assert.equal(xx.init.readMessage(xx.resp.writeMessage(Buffer.alloc(0))).ok, false);
  });

  it('psk and XX transcripts do not interoperate', () => {
    const s = generateKeyPair();
    const init = new HandshakeState({ pattern: 'XXpsk3', initiator: true, prologue: PROLOGUE, s, psk: Buffer.alloc(32) });
    const resp = new HandshakeState({ pattern: 'XX', initiator: false, prologue: PROLOGUE, s: generateKeyPair() });
    const r = resp.readMessage(init.writeMessage(Buffer.alloc(0)));
    // XX reads the 16-byte tag as a plaintext payload; it is message 2 that the initiator then refuses.
    assert.ok(r.ok);
    assert.equal(init.readMessage(resp.writeMessage(Buffer.alloc(0))).ok, false);
  });

  for (const [which, index] of [
    ['message 2, ephemeral', 5],
    ['message 2, encrypted static', 40],
    ['message 2, payload tag', -1],
    ['message 3, encrypted static', 3],
    ['message 3, payload tag', -1],
  ] as const) {
    it(`tampered ${which} is refused with ok:false, no throw, and poisons the state`, () => {
      const { init, resp } = pair();
      assert.ok(resp.readMessage(init.writeMessage(Buffer.from('one'))).ok);
      const m2 = resp.writeMessage(Buffer.from('two'));
      if (which.startsWith('message 2')) {
        const r = init.readMessage(flip(m2, index < 0 ? m2.length + index : index));
        assert.equal(r.ok, false);
        assert.ok(init.failed);
        assert.throws(() => init.writeMessage(Buffer.alloc(0)), /failed/);
        assert.equal(init.readMessage(m2).ok, false, 'the genuine message cannot revive a failed state');
        return;
      }
      assert.ok(init.readMessage(m2).ok);
      const m3 = init.writeMessage(Buffer.from('three'));
      const r = resp.readMessage(flip(m3, index < 0 ? m3.length + index : index));
      assert.equal(r.ok, false);
      assert.ok(resp.failed && !resp.complete);
      assert.equal(resp.readMessage(m3).ok, false);
    });
  }

  it('truncated, empty, oversize and garbage messages never throw', () => {
    const cases: Buffer[] = [Buffer.alloc(0), Buffer.alloc(10), Buffer.alloc(31), crypto.randomBytes(100), Buffer.alloc(70000)];
    for (const bad of cases) {
      const { init, resp } = pair();
      resp.readMessage(init.writeMessage(Buffer.alloc(0)));
      const m2 = resp.writeMessage(Buffer.alloc(0));
      assert.doesNotThrow(() => {
        const r = init.readMessage(bad);
        assert.equal(r.ok, false);
      });
      // A truncated prefix of the real message too.
      const { init: i2, resp: r2 } = pair();
      r2.readMessage(i2.writeMessage(Buffer.alloc(0)));
      const real = r2.writeMessage(Buffer.alloc(0));
      assert.equal(i2.readMessage(real.subarray(0, real.length - 1)).ok, false);
      assert.ok(m2.length > 0);
    }
    // Message 1 for the responder: random bytes of every short length.
    for (let len = 0; len < 64; len++) {
      const { resp } = pair();
      assert.doesNotThrow(() => resp.readMessage(crypto.randomBytes(len)));
    }
  });

  it('a low-order ephemeral (all-zero DH) is refused, not thrown', () => {
    const { init, resp } = pair({ pattern: 'XX' });
    resp.readMessage(init.writeMessage(Buffer.alloc(0)));
    const m2 = resp.writeMessage(Buffer.alloc(0));
    const evil = Buffer.from(m2);
    evil.fill(0, 0, 32); // u = 0 is a low-order point: X25519 yields all zeros
    const r = init.readMessage(evil);
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.error, /key agreement/);
  });

  it('wrong-turn and post-completion reads are refused without poisoning the state', () => {
    const { init, resp } = pair();
    assert.equal(init.readMessage(crypto.randomBytes(64)).ok, false, 'initiator must write first');
    assert.ok(!init.failed);
    const m1 = init.writeMessage(Buffer.alloc(0));
    assert.ok(resp.readMessage(m1).ok);
    assert.equal(resp.readMessage(m1).ok, false, 'a duplicated message 1 is refused');
    assert.ok(!resp.failed);
    assert.ok(init.readMessage(resp.writeMessage(Buffer.alloc(0))).ok);
    const m3 = init.writeMessage(Buffer.alloc(0));
    assert.ok(resp.readMessage(m3).ok);
    assert.equal(resp.readMessage(m3).ok, false);
    assert.ok(resp.complete && !resp.failed);
  });

  it('API misuse throws', () => {
    const s: KeyPair = generateKeyPair();
    assert.throws(() => new HandshakeState({ pattern: 'XXpsk3', initiator: true, prologue: PROLOGUE, s }), /psk/);
    assert.throws(() => new HandshakeState({ pattern: 'XXpsk3', initiator: true, prologue: PROLOGUE, s, psk: Buffer.alloc(16) }), /psk/);
    assert.throws(() => new HandshakeState({ pattern: 'XX', initiator: true, prologue: PROLOGUE, s, psk: Buffer.alloc(32) }), /psk/);
    const resp = new HandshakeState({ pattern: 'XX', initiator: false, prologue: PROLOGUE, s });
    assert.throws(() => resp.writeMessage(Buffer.alloc(0)), /turn/);
    assert.throws(() => resp.split(), /not complete/);
    const init = new HandshakeState({ pattern: 'XX', initiator: true, prologue: PROLOGUE, s });
    assert.throws(() => init.writeMessage(Buffer.alloc(70000)), /max/);
  });
});
