import assert from 'node:assert/strict';
import { contactUri, formatContactLink, parseContactLink, type ContactLink } from '../../extension/core/contacts/link';

const SAMPLE: ContactLink = {
  signingKey: Buffer.alloc(32, 0x11),
  staticKey: Buffer.alloc(32, 0x22),
  requestToken: Buffer.alloc(16, 0x33),
  server: { host: 'chat.example.org', port: 7000 },
  displayName: 'Alice',
};

describe('contact links', () => {
  it('golden bytes', () => {
    // version 01 | 32×11 | 32×22 | 16×33 | 10 "chat.example.org" | 1b58 | 05 "Alice"
    const hex =
      '01' + '11'.repeat(32) + '22'.repeat(32) + '33'.repeat(16) + '10' + Buffer.from('chat.example.org').toString('hex') + '1b58' + '05' + Buffer.from('Alice').toString('hex');
    assert.equal(formatContactLink(SAMPLE), 'p2pchat:contact:' + Buffer.from(hex, 'hex').toString('base64url'));
    assert.equal(
      formatContactLink(SAMPLE),
      'p2pchat:contact:ARERERERERERERERERERERERERERERERERERERERERERIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIzMzMzMzMzMzMzMzMzMzMzEGNoYXQuZXhhbXBsZS5vcmcbWAVBbGljZQ',
    );
  });

  it('round-trips through the string and the vscode:// form, IPv6 and unicode names included', () => {
    for (const l of [SAMPLE, { ...SAMPLE, server: { host: '2001:db8::1', port: 1 }, displayName: 'Zoë 🚀' }, { ...SAMPLE, displayName: '' }]) {
      for (const text of [formatContactLink(l), contactUri(l), `  <${formatContactLink(l)}> `, contactUri(l, 'vscode-insiders')]) {
        const p = parseContactLink(text);
        assert.ok(p.ok, `${text}: ${p.ok ? '' : p.error}`);
        assert.deepEqual(p.link, l);
      }
    }
  });

  it('cuts an over-long display name on a character boundary', () => {
    const p = parseContactLink(formatContactLink({ ...SAMPLE, displayName: 'é'.repeat(40) }));
    assert.ok(p.ok);
    assert.equal(p.link.displayName, 'é'.repeat(32));
  });

  it('rejects damaged links with a reason, never a throw', () => {
    const good = formatContactLink(SAMPLE);
    const body = Buffer.from(good.slice('p2pchat:contact:'.length), 'base64url');
    const wrongVersion = Buffer.from(body);
    wrongVersion[0] = 2;
    const bads = [
      '',
      'p2pchat:contact:',
      'p2pchat:contact:!!',
      'p2pchat:AAAA@h:1',
      good.slice(0, -4),
      good + 'AAAA',
      'p2pchat:contact:' + wrongVersion.toString('base64url'),
      'vscode://p2p-chat.p2p-chat/contact?x=1',
      'vscode://p2p-chat.p2p-chat/contact?link=%E0%A4%A',
    ];
    for (const bad of bads) {
      const p = parseContactLink(bad);
      assert.equal(p.ok, false, bad);
      assert.ok(!p.ok && p.error.length > 5);
    }
    // Port 0 and an unparseable host.
    const zeroPort = formatContactLink({ ...SAMPLE, server: { host: 'h', port: 0 } });
    assert.equal(parseContactLink(zeroPort).ok, false);
    const badHost = formatContactLink({ ...SAMPLE, server: { host: 'a b', port: 1 } });
    assert.equal(parseContactLink(badHost).ok, false);
    // Peer text that could reorder or hide what the user reads is refused, as in account records.
    assert.equal(parseContactLink(formatContactLink({ ...SAMPLE, displayName: 'evil\u202egnp.exe' })).ok, false);
    assert.equal(parseContactLink(formatContactLink({ ...SAMPLE, displayName: 'bell\u0007' })).ok, false);
    // Random garbage of every length.
    for (let n = 0; n < 200; n++) parseContactLink('p2pchat:contact:' + Buffer.alloc(n, n).toString('base64url'));
  });
});
