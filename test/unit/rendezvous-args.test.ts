import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { parseCli, parseHostPort, usage } from '../../rendezvous/args';
import { createLogger } from '../../rendezvous/log';
import { turnCredentials } from '../../rendezvous/turn';

describe('rendezvous command line', () => {
  it('defaults', () => {
    const r = parseCli([], {});
    assert.ok(r.kind === 'run');
    assert.equal(r.config.server.port, 7000);
    assert.equal(r.config.server.probePort, 7001);
    assert.equal(r.config.server.host, undefined, 'default host is decided by the server (:: with IPv4 fallback)');
    assert.equal(r.config.server.maxMembersPerRoom, 8);
    assert.equal(r.config.server.refreshSeconds, 15);
    assert.equal(r.config.logLevel, 'info');
    assert.equal(r.config.turn, undefined);
  });

  it('directory flags: --data-dir, --max-accounts, --no-signup, --signup-rate (and their environment variables)', () => {
    const d = parseCli([], {});
    assert.ok(d.kind === 'run');
    assert.deepEqual(d.config.directory, { maxAccounts: 100_000, signup: true, signupsPerHour: 10, lookupsPerSecond: 10 });
    const r = parseCli(['--data-dir', '/var/lib/p2p', '--max-accounts', '5', '--no-signup', '--signup-rate', '3', '--lookup-rate', '50'], {});
    assert.ok(r.kind === 'run');
    assert.deepEqual(r.config.directory, { dataDir: '/var/lib/p2p', maxAccounts: 5, signup: false, signupsPerHour: 3, lookupsPerSecond: 50 });
    const e = parseCli([], { P2P_RENDEZVOUS_DATA_DIR: '/d', P2P_RENDEZVOUS_NO_SIGNUP: '1', P2P_RENDEZVOUS_MAX_ACCOUNTS: '7' });
    assert.ok(e.kind === 'run');
    assert.deepEqual(e.config.directory, { dataDir: '/d', maxAccounts: 7, signup: false, signupsPerHour: 10, lookupsPerSecond: 10 });
    const bad = parseCli(['--max-accounts', 'many', '--signup-rate', '0'], {});
    assert.ok(bad.kind === 'error');
    assert.match(bad.message, /--max-accounts must be a whole number/);
    assert.match(bad.message, /--signup-rate must be between 1/);
    for (const f of ['--data-dir', '--max-accounts', '--no-signup', '--signup-rate']) assert.ok(usage().includes(f), f);
  });

  it('flags win over environment variables', () => {
    const env = { P2P_RENDEZVOUS_PORT: '9000', P2P_RENDEZVOUS_MAX_MEMBERS: '4', P2P_RENDEZVOUS_LOG_LEVEL: 'debug' };
    const r = parseCli(['--max-members', '5', '--host', '::1'], env);
    assert.ok(r.kind === 'run');
    assert.equal(r.config.server.port, 9000);
    assert.equal(r.config.server.probePort, 9001);
    assert.equal(r.config.server.maxMembersPerRoom, 5);
    assert.equal(r.config.server.host, '::1');
    assert.equal(r.config.logLevel, 'debug');
  });

  it('port 0 means free ports for both sockets; an explicit probe port is kept', () => {
    const r = parseCli(['--port', '0'], {});
    assert.ok(r.kind === 'run' && r.config.server.port === 0 && r.config.server.probePort === 0);
    const r2 = parseCli(['--port', '7000', '--probe-port', '7100', '--refresh', '20', '--max-rooms', '3'], {});
    assert.ok(r2.kind === 'run');
    assert.deepEqual(
      [r2.config.server.probePort, r2.config.server.refreshSeconds, r2.config.server.maxRooms],
      [7100, 20, 3],
    );
  });

  it('help, version and errors', () => {
    assert.deepEqual(parseCli(['--help'], {}), { kind: 'help' });
    assert.deepEqual(parseCli(['--version'], {}), { kind: 'version' });
    for (const bad of [
      ['--port', 'x'],
      ['--port', '70000'],
      ['--max-members', '300'],
      ['--max-members', '1'],
      ['--log-level', 'loud'],
      ['--nope'],
      ['positional'],
      ['--port', '7000', '--probe-port', '7000'],
      ['--turn-server', 'turn.example:3478'],
      ['--turn-secret', 's'],
      ['--turn-server', 'nohostport', '--turn-secret', 's'],
    ]) {
      const r = parseCli(bad, {});
      assert.equal(r.kind, 'error', bad.join(' '));
    }
    assert.match(usage(), /--port/);
    assert.match(usage(), /P2P_RENDEZVOUS_PORT/);
  });

  it('TURN flags, with the secret from the environment', () => {
    const r = parseCli(['--turn-server', '[2001:db8::1]:3478', '--turn-ttl', '900'], { P2P_RENDEZVOUS_TURN_SECRET: 's3cret' });
    assert.ok(r.kind === 'run');
    assert.deepEqual(r.config.turn, { host: '2001:db8::1', port: 3478, ttlSeconds: 900, secret: 's3cret' });
    assert.deepEqual(parseHostPort('turn.example.org:3478'), { host: 'turn.example.org', port: 3478 });
    assert.equal(parseHostPort('host:0'), undefined);
  });
});

describe('rendezvous TURN credentials (coturn REST scheme)', () => {
  it('username is expiry:short-id, password is base64 HMAC-SHA1 of the username', () => {
    const peerId = Buffer.from('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff', 'hex');
    const cfg = { server: { address: '203.0.113.1', port: 3478 }, secret: 'north', ttlSeconds: 600 };
    const c = turnCredentials(cfg, peerId, 1_700_000_000_500);
    assert.equal(c.username, '1700000600:0011223344556677');
    assert.equal(c.password, createHmac('sha1', 'north').update('1700000600:0011223344556677').digest('base64'));
    assert.equal(c.password.length, 28);
    assert.equal(c.ttlSeconds, 600);
    assert.deepEqual(c.server, cfg.server);
  });
});

describe('rendezvous flags for several instances', () => {
  it('--redis, --http-port, --http-host, --public-name (flags and environment)', () => {
    const p = parseCli(['--redis', 'redis://10.0.0.5:6379', '--http-port', '9100', '--public-name', 'Chat.Example.org:7100'], {});
    assert.equal(p.kind, 'run');
    if (p.kind !== 'run') return;
    assert.equal(p.config.redisUrl, 'redis://10.0.0.5:6379');
    assert.deepEqual(p.config.http, { host: '127.0.0.1', port: 9100 });
    assert.deepEqual(p.config.publicName, { host: 'chat.example.org', port: 7100 });
    const e = parseCli([], { P2P_RENDEZVOUS_REDIS: 'rediss://r:1', P2P_RENDEZVOUS_HTTP_PORT: '0', P2P_RENDEZVOUS_HTTP_HOST: '::' });
    assert.ok(e.kind === 'run' && e.config.redisUrl === 'rediss://r:1' && e.config.http === undefined);
    const none = parseCli([], {});
    assert.ok(none.kind === 'run' && none.config.redisUrl === undefined && none.config.http === undefined && none.config.publicName === undefined);
  });
  it('refuses a bad Redis URL, a bad HTTP port or public name, and --redis with --data-dir', () => {
    for (const argv of [['--redis', 'localhost:6379'], ['--http-port', '70000'], ['--public-name', 'a b'], ['--redis', 'redis://r:1', '--data-dir', '/tmp/x']]) {
      const p = parseCli(argv, {});
      assert.equal(p.kind, 'error', argv.join(' '));
    }
  });
});

describe('rendezvous log', () => {
  it('writes JSON lines at or above its level and redacts secret-looking string fields', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'info', sink: (l) => lines.push(l), clock: () => 0 });
    log.debug('hidden');
    log.info('shown', { room: 'abc123', turnSecret: 'x', cookiesIssued: 3 });
    log.error('bad', { n: 1n });
    assert.equal(lines.length, 2);
    assert.deepEqual(JSON.parse(lines[0]), {
      time: '1970-01-01T00:00:00.000Z',
      level: 'info',
      event: 'shown',
      room: 'abc123',
      turnSecret: '[redacted]',
      cookiesIssued: 3,
    });
    assert.equal(JSON.parse(lines[1]).n, '1');
  });
});
