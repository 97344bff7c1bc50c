import assert from 'node:assert/strict';
import { createInvite, formatInvite, inviteLink, parseInvite, parseServer } from '../../extension/core/invite';

describe('invites', () => {
  it('round-trips through the string and the vscode:// link', () => {
    const inv = createInvite({ host: '203.0.113.1', port: 7000 });
    for (const text of [formatInvite(inv), inviteLink(inv), `  <${formatInvite(inv)}>  `, inviteLink(inv, 'vscode-insiders')]) {
      const p = parseInvite(text);
      assert.ok(p.ok, text);
      assert.ok(p.invite.secret.equals(inv.secret));
      assert.deepEqual(p.invite.server, inv.server);
    }
  });
  it('carries IPv6 and host names', () => {
    for (const server of [{ host: '2001:db8::1', port: 7000 }, { host: 'chat.example.org', port: 443 }]) {
      const p = parseInvite(formatInvite(createInvite(server)));
      assert.ok(p.ok);
      assert.deepEqual(p.invite.server, server);
    }
    assert.match(formatInvite(createInvite({ host: '::1', port: 1 })), /@\[::1\]:1$/);
  });
  it('golden format', () => {
    assert.equal(formatInvite({ secret: Buffer.alloc(16, 0xff), server: { host: 'h', port: 7 } }), 'p2pchat:_____________________w@h:7');
  });
  it('rejects bad invites with a reason', () => {
    for (const bad of ['', 'hello', 'p2pchat:abc', 'p2pchat:abc@h:1', 'p2pchat:' + 'A'.repeat(22) + '@h:99999', 'p2pchat:!!@h:1', 'vscode://p2p-chat.p2p-chat/join?x=1']) {
      const p = parseInvite(bad);
      assert.equal(p.ok, false, bad);
      assert.ok(!p.ok && p.error.length > 5);
    }
  });
  it('parses server addresses', () => {
    assert.deepEqual(parseServer('example.org'), { host: 'example.org', port: 7000 });
    assert.deepEqual(parseServer('[::1]:9'), { host: '::1', port: 9 });
    assert.deepEqual(parseServer('::1'), { host: '::1', port: 7000 });
    assert.equal(parseServer('a b'), undefined);
    assert.equal(parseServer('h:0'), undefined);
  });
});
