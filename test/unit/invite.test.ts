import assert from 'node:assert/strict';
import { createInvite, formatInvite, inviteLink, inviteServers, parseInvite, parseServer, parseServerList } from '../../extension/core/invite';

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
  describe('several instances', () => {
    const a = { host: 'a.example.org', port: 7000 };
    const b = { host: '2001:db8::2', port: 7100 };
    it('golden format: the list after @, commas, IPv6 in brackets', () => {
      const inv = { secret: Buffer.alloc(16, 0xff), server: a, servers: [a, b] };
      assert.equal(formatInvite(inv), 'p2pchat:_____________________w@a.example.org:7000,[2001:db8::2]:7100');
    });
    it('a one-server invite keeps the original bytes and parses without a list', () => {
      const inv = createInvite([a]);
      assert.equal(inv.servers, undefined);
      assert.match(formatInvite(inv), /@a\.example\.org:7000$/);
      const p = parseInvite('p2pchat:_____________________w@h:7');
      assert.ok(p.ok);
      assert.deepEqual(p.invite, { secret: Buffer.alloc(16, 0xff), server: { host: 'h', port: 7 } });
    });
    it('round-trips a list through the string and the link', () => {
      const inv = createInvite([a, b]);
      for (const text of [formatInvite(inv), inviteLink(inv)]) {
        const p = parseInvite(text);
        assert.ok(p.ok, text);
        assert.deepEqual(inviteServers(p.invite), [a, b]);
        assert.deepEqual(p.invite.server, a);
      }
    });
    it('rejects a bad entry, spaces and over-long lists with a reason', () => {
      const s = 'p2pchat:_____________________w@';
      for (const bad of [s + 'a:1,', s + 'a:1,b:0', s + 'a:1, b:2', s + Array.from({ length: 17 }, (_, i) => `h${i}:1`).join(',')]) {
        const p = parseInvite(bad);
        assert.equal(p.ok, false, bad);
      }
    });
    it('parses a server setting list (commas, spaces around them), dropping duplicates', () => {
      const r = parseServerList(' a:1, b:2 ,a:1,, [::1]:3 ');
      assert.ok(r.ok);
      assert.deepEqual(r.servers, [{ host: 'a', port: 1 }, { host: 'b', port: 2 }, { host: '::1', port: 3 }]);
      assert.deepEqual(parseServerList(''), { ok: true, servers: [] });
      assert.equal(parseServerList('a:1,b:x').ok, false);
      assert.equal(parseServerList('not a host').ok, false, 'spaces do not separate');
    });
  });
});
