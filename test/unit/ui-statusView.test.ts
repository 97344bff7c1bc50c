import assert from 'node:assert/strict';
import { cleanDisplayName, DEFAULT_HOST_RENDEZVOUS_PORT, normalizeSettings, truncateUtf8 } from '../../extension/ui/settings';
import { keyChangeText, newMessageText, NotificationThrottle, statusView } from '../../extension/ui/statusView';

describe('statusView', () => {
  it('has a short text with a codicon for every state, and a tone for trouble', () => {
    assert.equal(statusView({ kind: 'idle' }, 0, undefined).text.value, '$(comment-discussion) Chat');
    assert.equal(statusView({ kind: 'connected', path: 'direct', peers: 2 }, 0, 'Room a').text.value, '$(comment-discussion) 2');
    assert.equal(statusView({ kind: 'connected', path: 'relayed', peers: 1 }, 0, 'Room a').text.value, '$(cloud) 1');
    assert.match(statusView({ kind: 'punching', peers: 1 }, 0, 'R').text.value, /spin/);
    assert.equal(statusView({ kind: 'reconnecting', reason: 'x', attempt: 1 }, 0, 'R').tone, 'warning');
    const failed = statusView({ kind: 'failed', reason: 'no answer', hint: 'check UDP' }, 0, 'R');
    assert.equal(failed.tone, 'error');
    assert.match(failed.tooltip.value, /no answer/);
    assert.match(failed.tooltip.value, /check UDP/);
  });

  it('shows the unread count, capped', () => {
    const v = statusView({ kind: 'waiting', roomMembers: 1 }, 3, 'Room a');
    assert.match(v.text.value, /\$\(bell-dot\) 3$/);
    assert.match(v.tooltip.value, /3 unread messages/);
    assert.match(statusView({ kind: 'idle' }, 1000, undefined).text.value, /99\+$/);
    assert.match(statusView({ kind: 'idle' }, 1, undefined).tooltip.value, /1 unread message\n/);
  });
});

describe('NotificationThrottle', () => {
  it('shows the first at once, summarises the rest after the quiet period', () => {
    const t = new NotificationThrottle(5000);
    assert.equal(t.offer(0), true);
    assert.equal(t.offer(100), false);
    assert.equal(t.offer(200), false);
    assert.equal(t.nextFlushAt(), 5000);
    assert.equal(t.flush(4999), 0);
    assert.equal(t.flush(5000), 2);
    assert.equal(t.nextFlushAt(), undefined);
    assert.equal(t.offer(6000), false, 'the summary counts as shown');
    assert.equal(t.offer(10_001), true);
  });
  it('reset drops what was held', () => {
    const t = new NotificationThrottle(1000);
    t.offer(0);
    t.offer(1);
    t.reset();
    assert.equal(t.flush(5000), 0);
  });
});

describe('settings', () => {
  it('defaults', () => {
    const s = normalizeSettings({}, 'alice');
    assert.deepEqual(s, {
      rendezvousServer: undefined,
      rendezvousServers: [],
      rendezvousServerError: undefined,
      displayName: 'alice',
      localPort: 0,
      keepaliveSeconds: 15,
      notifications: true,
      mentionNotifications: true,
      hostRendezvousPort: DEFAULT_HOST_RENDEZVOUS_PORT,
    });
  });
  it('parses and clamps', () => {
    const s = normalizeSettings(
      { rendezvousServer: ' chat.example.org:7100 ', displayName: '  Bob \n Smith ', localPort: 70000, keepaliveSeconds: 120, notifications: false, hostRendezvousPort: 65535 },
      'x',
    );
    assert.deepEqual(s.rendezvousServer, { host: 'chat.example.org', port: 7100 });
    assert.deepEqual(s.rendezvousServers, [{ host: 'chat.example.org', port: 7100 }]);
    const several = normalizeSettings({ rendezvousServer: 'a.example.org:7000, b.example.org:7100' }, 'x');
    assert.deepEqual(several.rendezvousServers, [{ host: 'a.example.org', port: 7000 }, { host: 'b.example.org', port: 7100 }]);
    assert.deepEqual(several.rendezvousServer, { host: 'a.example.org', port: 7000 });
    assert.equal(several.rendezvousServerError, undefined);
    assert.equal(s.displayName, 'Bob Smith');
    assert.equal(s.localPort, 0);
    assert.equal(s.keepaliveSeconds, 25);
    assert.equal(s.notifications, false);
    assert.equal(s.mentionNotifications, true, 'mentions stay on when the other notifications are off');
    assert.equal(normalizeSettings({ mentionNotifications: false }, 'x').mentionNotifications, false);
    assert.equal(s.hostRendezvousPort, 65534);
    assert.equal(normalizeSettings({ keepaliveSeconds: 1 }, 'x').keepaliveSeconds, 5);
  });
  it('reports a malformed server instead of silently hosting', () => {
    const s = normalizeSettings({ rendezvousServer: 'not a host!' }, 'x');
    assert.equal(s.rendezvousServer, undefined);
    assert.match(s.rendezvousServerError ?? '', /not host:port/);
  });
  it('names fit the wire limit without splitting characters', () => {
    assert.equal(cleanDisplayName('', ''), 'Anonymous');
    const long = cleanDisplayName('é'.repeat(40), 'x');
    assert.equal(Buffer.byteLength(long), 64);
    assert.equal(truncateUtf8('a😀b', 4), 'a');
    assert.equal(truncateUtf8('a😀b', 5), 'a😀');
  });
});

describe('what peers can put in the status bar and notifications', () => {
  const LINK = /\[[^\]]+\]\((?:https?:\/\/|command:|file:)/i;
  const hostile = '[Join call](command:workbench.action.terminal.new)';

  it('new-message notification: sender and text are inert and short', () => {
    const t = newMessageText(hostile, `${hostile} [x](file:///etc/passwd) $(verified-filled)`).value;
    assert.doesNotMatch(t, LINK);
    assert.doesNotMatch(t, /\$\(/);
    assert.match(t, /^\[Join call\] \(command∶workbench\.action\.terminal\.…: \[Join call\] \(command∶/);
    assert.ok(newMessageText('x'.repeat(500), 'y'.repeat(5000)).value.length < 200);
    assert.equal(newMessageText('', 'hi').value, 'Someone: hi');
  });

  it('key-change warning: the name is inert', () => {
    const t = keyChangeText(`${hostile}\u202e`).value;
    assert.doesNotMatch(t, LINK);
    assert.doesNotMatch(t, /\u202e/);
    assert.match(t, /^P2P Chat: "\[Join call\] \(command∶workbench\.action\.terminal\.new\)" joined with a different identity key/);
  });

  it('status bar: a room label or failure reason with links or icons stays text; our own icons stay icons', () => {
    const v = statusView({ kind: 'failed', reason: hostile, hint: '$(check) [y](https://x.example)' }, 2, '$(verified-filled) room');
    assert.match(v.text.value, /^\$\(error\) Chat \$\(bell-dot\) 2$/);
    assert.doesNotMatch(v.tooltip.value, LINK);
    assert.doesNotMatch(v.tooltip.value, /\$\(/);
  });
});
