// Reproduces, byte for byte, the cacophony test vectors for the patterns this project speaks.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CipherState, HandshakeState, keyPairFromPrivate, TransportCipher, type PatternName } from '../../extension/core/noise';
import { PATTERNS } from '../../extension/core/noise/patterns';

// The official file sits in ../shared beside the checkout (CI lays it there); the XX/XXpsk3 subset is
// also kept in test/vectors so a lone clone still runs the same check (the other patterns need the shared file).
const SHARED_VECTORS = path.join(__dirname, '../../../shared/vectors/noise-25519-chachapoly.json');
const VECTORS_FILE = fs.existsSync(SHARED_VECTORS) ? SHARED_VECTORS : path.join(__dirname, '../vectors/noise-xx-25519-chachapoly-sha256.json');
const WANTED: Record<string, PatternName> = {
  Noise_XX_25519_ChaChaPoly_SHA256: 'XX',
  Noise_XXpsk3_25519_ChaChaPoly_SHA256: 'XXpsk3',
  Noise_KK_25519_ChaChaPoly_SHA256: 'KK',
  Noise_KKpsk0_25519_ChaChaPoly_SHA256: 'KKpsk0',
  Noise_IK_25519_ChaChaPoly_SHA256: 'IK',
  Noise_IKpsk1_25519_ChaChaPoly_SHA256: 'IKpsk1',
  Noise_IKpsk2_25519_ChaChaPoly_SHA256: 'IKpsk2',
  Noise_X_25519_ChaChaPoly_SHA256: 'X',
};
const XX_ONLY = new Set(['XX', 'XXpsk3']);

interface Vector {
  protocol_name: string;
  init_prologue: string;
  init_psks?: string[];
  init_static: string;
  init_ephemeral: string;
  init_remote_static?: string;
  resp_prologue: string;
  resp_remote_static?: string;
  resp_psks?: string[];
  resp_static: string;
  resp_ephemeral?: string;
  handshake_hash: string;
  messages: { payload: string; ciphertext: string }[];
}

const hex = (s: string): Buffer => Buffer.from(s, 'hex');

function loadVectors(): Vector[] {
  if (!fs.existsSync(VECTORS_FILE)) throw new Error(`Noise test vectors missing: ${VECTORS_FILE}`);
  const doc = JSON.parse(fs.readFileSync(VECTORS_FILE, 'utf8')) as { vectors: Vector[] };
  return doc.vectors.filter((v) => v.protocol_name in WANTED);
}

function onePsk(psks: string[] | undefined): Buffer | undefined {
  if (psks === undefined) return undefined;
  assert.equal(psks.length, 1, 'single-psk patterns carry exactly one psk');
  return hex(psks[0]);
}

function runVector(v: Vector): void {
  const pattern = WANTED[v.protocol_name];
  const HANDSHAKE_MESSAGES = PATTERNS[pattern].messages.length;
  const oneWay = PATTERNS[pattern].oneWay;
  const init = new HandshakeState({
    pattern,
    initiator: true,
    prologue: hex(v.init_prologue),
    s: keyPairFromPrivate(hex(v.init_static)),
    e: keyPairFromPrivate(hex(v.init_ephemeral)),
    ...(v.init_remote_static ? { rs: hex(v.init_remote_static) } : {}),
    psk: onePsk(v.init_psks),
  });
  const resp = new HandshakeState({
    pattern,
    initiator: false,
    prologue: hex(v.resp_prologue),
    s: keyPairFromPrivate(hex(v.resp_static)),
    ...(v.resp_ephemeral ? { e: keyPairFromPrivate(hex(v.resp_ephemeral)) } : {}),
    ...(v.resp_remote_static ? { rs: hex(v.resp_remote_static) } : {}),
    psk: onePsk(v.resp_psks),
  });
  assert.ok(v.messages.length > HANDSHAKE_MESSAGES, 'vector should include transport messages');

  for (let i = 0; i < HANDSHAKE_MESSAGES; i++) {
    const [writer, reader] = i % 2 === 0 ? [init, resp] : [resp, init];
    const m = v.messages[i];
    const wire = writer.writeMessage(hex(m.payload));
    assert.equal(wire.toString('hex'), m.ciphertext, `handshake message ${i} ciphertext`);
    const read = reader.readMessage(wire);
    assert.ok(read.ok, `handshake message ${i} read: ${read.ok ? '' : read.error}`);
    assert.equal(read.payload.toString('hex'), m.payload, `handshake message ${i} payload`);
  }
  assert.ok(init.complete && resp.complete);
  assert.equal(init.handshakeHash.toString('hex'), v.handshake_hash, 'initiator handshake hash');
  assert.equal(resp.handshakeHash.toString('hex'), v.handshake_hash, 'responder handshake hash');
  assert.deepEqual(init.remoteStatic, keyPairFromPrivate(hex(v.resp_static)).publicKey);
  assert.deepEqual(resp.remoteStatic, keyPairFromPrivate(hex(v.init_static)).publicKey);
  if (oneWay) assert.equal(v.messages.length > HANDSHAKE_MESSAGES, true);

  const initCs = init.split();
  const respCs = resp.split();
  // The explicit-counter transport must seal exactly what Noise's implicit-nonce CipherState does.
  const initTx = new TransportCipher({ send: initCs.send.key!, recv: initCs.recv.key! });
  const respTx = new TransportCipher({ send: respCs.send.key!, recv: respCs.recv.key! });

  for (let i = HANDSHAKE_MESSAGES; i < v.messages.length; i++) {
    const m = v.messages[i];
    // One-way patterns: every transport message goes initiator -> responder.
    const fromInit = oneWay || i % 2 === 0;
    const [sendCs, recvCs]: [CipherState, CipherState] = fromInit ? [initCs.send, respCs.recv] : [respCs.send, initCs.recv];
    const [txS, txR] = fromInit ? [initTx, respTx] : [respTx, initTx];
    const ct = sendCs.encryptWithAd(Buffer.alloc(0), hex(m.payload));
    assert.equal(ct.toString('hex'), m.ciphertext, `transport message ${i} ciphertext (CipherState)`);
    assert.equal(recvCs.decryptWithAd(Buffer.alloc(0), ct)?.toString('hex'), m.payload, `transport message ${i} payload`);
    const sealed = txS.seal(hex(m.payload));
    assert.equal(sealed.ciphertext.toString('hex'), m.ciphertext, `transport message ${i} ciphertext (TransportCipher)`);
    assert.equal(txR.open(sealed.counter, sealed.ciphertext)?.toString('hex'), m.payload);
  }
}

describe('noise: cacophony test vectors', () => {
  it('reproduces every XX, XXpsk3, KK, KKpsk0, IK, IKpsk1, IKpsk2 and X (25519, ChaChaPoly, SHA256) vector byte for byte', () => {
    const vectors = loadVectors();
    assert.ok(vectors.length > 0, `no vectors matched in ${VECTORS_FILE}`);
    let ran = 0;
    const seen = new Set<string>();
    for (const v of vectors) {
      runVector(v);
      seen.add(v.protocol_name);
      ran++;
    }
    // The file (cacophony, filtered) holds one vector per protocol name; both must be present and run.
    // The fallback file holds only the XX pair; the shared file must hold all of them.
    const expected = Object.keys(WANTED).filter((n) => VECTORS_FILE === SHARED_VECTORS || XX_ONLY.has(WANTED[n]));
    assert.deepEqual([...seen].sort(), expected.sort());
    assert.equal(ran, expected.length);
  });
});
