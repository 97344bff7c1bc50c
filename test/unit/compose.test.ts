// docker-compose.yml cannot be run here (no Docker engine): parse it, substitute its variables the
// way Compose does, and check what matters — Redis persists (AOF), two rendezvous instances on
// distinct ports share it, their environments pass the server's own option parser, and coturn uses
// the same shared secret the instances sign TURN credentials with.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { FLAGS, parseCli } from '../../rendezvous/args';

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string>;
  network_mode?: string;
  depends_on?: Record<string, { condition: string }>;
  volumes?: string[];
  healthcheck?: { test: string[] };
}

const VARS: Record<string, string> = { PUBLIC_IP: '203.0.113.10', TURN_SECRET: 'compose-test-secret' };

/** ${VAR}, ${VAR:-default}, ${VAR:?error}: Compose's interpolation, for the forms the file uses. */
function interpolate(text: string, vars: Record<string, string | undefined>): string {
  return text.replace(/\$\{([A-Z_]+)(?:(:-|:\?)([^}]*))?\}/g, (_m, name: string, op: string | undefined, arg: string | undefined) => {
    const v = vars[name];
    if (v !== undefined && v !== '') return v;
    if (op === ':-') return arg ?? '';
    throw new Error(`${name}: ${arg ?? 'unset'}`);
  });
}

describe('docker-compose.yml', () => {
  const raw = readFileSync(join(__dirname, '..', '..', 'docker-compose.yml'), 'utf8');
  const doc = load(interpolate(raw, VARS)) as { services: Record<string, Service>; volumes: Record<string, unknown> };
  const services = doc.services;
  const rendezvous = Object.entries(services).filter(([, s]) => s.environment?.P2P_RENDEZVOUS_PORT);

  it('refuses to start without the TURN secret (Compose reports the :? error)', () => {
    assert.throws(() => interpolate(raw, { PUBLIC_IP: '203.0.113.10' }), /TURN_SECRET/);
  });

  it('Redis persists to a named volume with the append-only file', () => {
    const r = services.redis;
    assert.ok(r.image?.startsWith('redis:7'));
    const cmd = r.command!.join(' ');
    assert.match(cmd, /--appendonly yes/);
    assert.match(cmd, /--appendfsync (everysec|always)/);
    assert.match(cmd, /--dir \/data/);
    assert.ok(r.volumes?.includes('redis-data:/data'));
    assert.ok('redis-data' in doc.volumes);
    assert.ok(r.healthcheck?.test.includes('ping'));
  });

  it('two rendezvous instances on distinct ports share Redis and parse with the server’s own flags', () => {
    assert.equal(rendezvous.length, 2);
    const ports = new Set<number>();
    for (const [name, s] of rendezvous) {
      const env = s.environment!;
      for (const k of Object.keys(env)) assert.ok(Object.values(FLAGS).some((f) => f.env === k), `${name}: unknown variable ${k}`);
      const parsed = parseCli([], env);
      assert.equal(parsed.kind, 'run', `${name}: ${parsed.kind === 'error' ? parsed.message : ''}`);
      if (parsed.kind !== 'run') continue;
      const c = parsed.config;
      assert.equal(c.redisUrl, 'redis://127.0.0.1:6379');
      assert.ok(c.http && c.http.port > 0 && c.http.host === '127.0.0.1');
      assert.deepEqual(c.turn && { host: c.turn.host, port: c.turn.port, secret: c.turn.secret }, { host: '203.0.113.10', port: 3478, secret: VARS.TURN_SECRET });
      for (const p of [c.server.port!, c.server.probePort!, c.http!.port]) {
        assert.ok(!ports.has(p), `${name}: port ${p} used twice`);
        ports.add(p);
      }
      assert.equal(s.depends_on?.redis.condition, 'service_healthy');
      assert.equal(s.network_mode, 'host', 'hole punching needs the real client addresses');
      assert.equal(s.build?.dockerfile, '../rendezvous/Dockerfile');
    }
  });

  it('coturn signs with the same shared secret and listens where the instances send clients', () => {
    const c = services.coturn;
    const args = c.command!;
    assert.ok(args.includes('--use-auth-secret'));
    assert.ok(args.includes(`--static-auth-secret=${VARS.TURN_SECRET}`));
    assert.ok(args.includes('--listening-port=3478'));
    assert.ok(args.some((a) => a === `--external-ip=${VARS.PUBLIC_IP}`));
    assert.equal(c.network_mode, 'host');
  });
});
