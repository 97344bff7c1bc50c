// Real-NAT lab: Linux network namespaces, veth/bridges and iptables NAT, built
// and torn down per test run. Needs root. Nothing here touches the root
// namespace's interfaces, routes or firewall: every link has both ends inside
// lab namespaces and routers have no default route, so no packet can leave.
//
//            pub (br0 203.0.113.1[/.2], rendezvous / TURN live here)
//           /                                   \
//   natA wan0 203.0.113.10                 natB wan0 203.0.113.20
//   natA br0  10.0.1.1                     natB br0  10.0.2.1
//    |- hostA  10.0.1.2                     |- hostB 10.0.2.2
//    |- hostA2 10.0.1.3
//
// A WAN link is a veth pair, or, once a delay is asked for, two TAP devices
// joined by delay-forwarder.py (the kernel has no netem). See README.md.

import { spawnSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ManagedProcess, spawnManaged, type SpawnOptions } from '../helpers/proc';
import { requireTools } from '../helpers/tools';
import { coturnArgs } from '../helpers/coturn';

/**
 * cone: MASQUERADE (port-preserving, endpoint-independent mapping) with an INPUT/FORWARD filter that drops
 * unsolicited packets; cone-reject: the same, rejecting with ICMP; fullcone: every inbound UDP packet goes
 * to one host; symmetric: MASQUERADE --random-fully (a new port per destination); open: MASQUERADE with no
 * filter at all (policy ACCEPT), like a Docker host or a VM's NAT gateway: an unsolicited packet is taken
 * by the router's own stack, and conntrack keeps that flow.
 */
export type NatKind = 'cone' | 'cone-reject' | 'fullcone' | 'symmetric' | 'open';
export type RouterRole = 'natA' | 'natB';
export type HostRole = 'hostA' | 'hostA2' | 'hostB';
export type Role = 'pub' | RouterRole | HostRole;

export const NAT_KINDS: readonly NatKind[] = ['cone', 'cone-reject', 'fullcone', 'symmetric', 'open'];
export const ROLES: readonly Role[] = ['pub', 'natA', 'natB', 'hostA', 'hostA2', 'hostB'];

/** Every address in the lab. Documentation (RFC 5737) and private ranges only. */
export const ADDR = {
  pub: '203.0.113.1',
  pub2: '203.0.113.2',
  natA: '203.0.113.10',
  natB: '203.0.113.20',
  /** natA's public address after renumber() (a new public address: DHCP renewal, a reboot, a new uplink). */
  natARenumbered: '203.0.113.11',
  natALan: '10.0.1.1',
  natBLan: '10.0.2.1',
  hostA: '10.0.1.2',
  hostA2: '10.0.1.3',
  hostB: '10.0.2.2',
} as const;

interface RouterSpec {
  wan: string;
  lan: string;
  hosts: readonly HostRole[];
  /** Name of the WAN link's end on the pub bridge. */
  pubPort: string;
}

const ROUTERS: Record<RouterRole, RouterSpec> = {
  natA: { wan: ADDR.natA, lan: ADDR.natALan, hosts: ['hostA', 'hostA2'], pubPort: 'wA' },
  natB: { wan: ADDR.natB, lan: ADDR.natBLan, hosts: ['hostB'], pubPort: 'wB' },
};

const HOSTS: Record<HostRole, { router: RouterRole; ip: string; lanPort: string }> = {
  hostA: { router: 'natA', ip: ADDR.hostA, lanPort: 'h2' },
  hostA2: { router: 'natA', ip: ADDR.hostA2, lanPort: 'h3' },
  hostB: { router: 'natB', ip: ADDR.hostB, lanPort: 'h2' },
};

export function routerOf(host: HostRole): RouterRole {
  return HOSTS[host].router;
}

export function hostsBehind(router: RouterRole): readonly HostRole[] {
  return ROUTERS[router].hosts;
}

/** Stable MACs derived from the IP, so a re-created link keeps its neighbours' ARP entries valid. */
function macFor(ip: string): string {
  return `02:00:${ip
    .split('.')
    .map((o) => Number(o).toString(16).padStart(2, '0'))
    .join(':')}`;
}

// ---------------------------------------------------------------- shell helpers

interface ShOptions {
  input?: string;
  timeoutMs?: number;
  allowFail?: boolean;
}

function sh(cmd: string, args: readonly string[], opts: ShOptions = {}): string {
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    input: opts.input,
    timeout: opts.timeoutMs ?? 20_000,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  if (r.error || r.status !== 0) {
    if (opts.allowFail) return r.stdout ?? '';
    const why = r.error ? r.error.message : `status ${r.status}${r.signal ? ` signal ${r.signal}` : ''}`;
    throw new Error(`${cmd} ${args.join(' ')} failed (${why}): ${(r.stderr ?? '').trim()}`);
  }
  return r.stdout;
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function which(bin: string): string | undefined {
  const dirs = new Set([...(process.env.PATH ?? '').split(':'), '/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/bin', '/bin']);
  for (const d of dirs) {
    if (!d) continue;
    const p = path.join(d, bin);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

// ---------------------------------------------------------------- tools

const TOOLS: ReadonlyArray<{ bin: string; pkg: string }> = [
  { bin: 'ip', pkg: 'iproute2' },
  { bin: 'ss', pkg: 'iproute2' },
  { bin: 'iptables', pkg: 'iptables' },
  { bin: 'iptables-restore', pkg: 'iptables' },
  { bin: 'nft', pkg: 'nftables' },
  { bin: 'conntrack', pkg: 'conntrack' },
  { bin: 'turnserver', pkg: 'coturn' },
  { bin: 'ping', pkg: 'iputils-ping' },
  { bin: 'python3', pkg: 'python3' },
];

let toolsChecked = false;

/**
 * Checks the lab's tools once per process. Nothing is installed here: test/run-all.sh installs every
 * package of test/apt-packages.txt before the first suite; a missing tool fails, naming its package.
 */
export function ensureLabTools(_log: (m: string) => void = () => undefined): void {
  if (toolsChecked) return;
  requireTools('the NAT lab', TOOLS);
  toolsChecked = true;
}

function python3(): string {
  // The distribution's interpreter: a version-manager shim on PATH may not
  // work the same inside `ip netns exec`.
  return fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : (which('python3') ?? 'python3');
}

// ---------------------------------------------------------------- run identity and stale cleanup

const NS_PREFIX = 'p2pl';
const NAME_RE = new RegExp(`^${NS_PREFIX}-(\\d+)-(\\d+)-(\\d+)-`);

/** Start time (clock ticks since boot) of a pid, which tells a live owner from a recycled pid. */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function ownerAlive(pid: number, start: string): boolean {
  return startTimeOf(pid) === start;
}

function listNetns(): string[] {
  try {
    return fs.readdirSync('/run/netns');
  } catch {
    return [];
  }
}

function killPidsIn(ns: string): void {
  const out = sh('ip', ['netns', 'pids', ns], { allowFail: true });
  for (const w of out.split(/\s+/)) {
    const pid = Number(w);
    if (Number.isInteger(pid) && pid > 1 && pid !== process.pid) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
}

function deleteNetns(ns: string): void {
  killPidsIn(ns);
  sh('ip', ['netns', 'del', ns], { allowFail: true });
}

/** Removes namespaces and temp dirs of lab runs whose owning process is dead. Returns what it removed. */
export function cleanupStaleLabs(): string[] {
  const removed: string[] = [];
  for (const ns of listNetns()) {
    const m = NAME_RE.exec(ns);
    if (!m || ownerAlive(Number(m[1]), m[2])) continue;
    deleteNetns(ns);
    removed.push(ns);
  }
  const tmp = os.tmpdir();
  for (const d of fs.readdirSync(tmp)) {
    const m = NAME_RE.exec(d);
    if (!m || ownerAlive(Number(m[1]), m[2])) continue;
    fs.rmSync(path.join(tmp, d), { recursive: true, force: true });
    removed.push(path.join(tmp, d));
  }
  return removed;
}

let labSeq = 0;
const liveLabs = new Set<Lab>();
let hooksInstalled = false;

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const lab of [...liveLabs]) lab.destroySync();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      for (const lab of [...liveLabs]) lab.destroySync();
      process.exit(128 + (os.constants.signals[sig] ?? 0));
    });
  }
}

// ---------------------------------------------------------------- the lab

export interface Impairment {
  /** Probability (0..1) that a packet is dropped, applied on each direction of the WAN link. */
  loss?: number;
  /** One-way delay in ms added in each direction of the WAN link (0 = plain veth). */
  delayMs?: number;
  /** Overrides delayMs for the inbound direction (pub -> router). */
  delayInMs?: number;
}

export interface LabOptions {
  natA?: NatKind;
  natB?: NatKind;
  /** Adds 203.0.113.2 on the pub bridge, for a second server address. */
  secondPubAddress?: boolean;
  impair?: Partial<Record<RouterRole, Impairment>>;
  log?: (msg: string) => void;
}

interface RouterState {
  nat: NatKind;
  fullconeTo: HostRole;
  loss: number;
  delayOutMs: number;
  delayInMs: number;
  forwarder?: ManagedProcess;
}

export interface TurnOptions {
  secret?: string;
  realm?: string;
  listenIp?: string;
  port?: number;
  minPort?: number;
  maxPort?: number;
  extraArgs?: readonly string[];
  readyTimeoutMs?: number;
}

export interface TurnServer {
  host: string;
  port: number;
  realm: string;
  secret: string;
  url: string;
  proc: ManagedProcess;
  dir: string;
  /** Time-limited credentials in coturn's use-auth-secret (TURN REST) scheme. */
  credentials(user?: string, ttlSec?: number): { username: string; password: string };
  stop(): Promise<void>;
}

export interface RunOptions {
  input?: string;
  timeoutMs?: number;
  allowFail?: boolean;
}

const REPO_ROOT = path.resolve(__dirname, '..', '..');

export class Lab {
  readonly prefix: string;
  readonly tmpDir: string;
  readonly ns: Readonly<Record<Role, string>>;
  readonly hasSecondPubAddress: boolean;
  private readonly routers: Record<RouterRole, RouterState>;
  private readonly procs = new Set<ManagedProcess>();
  private readonly log: (m: string) => void;
  private egressLoss: 'nft' | 'mangle' | undefined;
  private destroyed = false;
  private readonly initial: LabOptions;

  /** Use createLab(). */
  constructor(opts: LabOptions) {
    const start = startTimeOf(process.pid) ?? '0';
    this.prefix = `${NS_PREFIX}-${process.pid}-${start}-${++labSeq}`;
    this.ns = Object.fromEntries(ROLES.map((r) => [r, `${this.prefix}-${r}`])) as Record<Role, string>;
    this.tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), `${this.prefix}-`));
    this.hasSecondPubAddress = opts.secondPubAddress === true;
    this.log = opts.log ?? (() => undefined);
    this.initial = opts;
    const st = (r: RouterRole): RouterState => ({
      nat: opts[r] ?? 'cone',
      fullconeTo: ROUTERS[r].hosts[0],
      loss: 0,
      delayOutMs: 0,
      delayInMs: 0,
    });
    this.routers = { natA: st('natA'), natB: st('natB') };
  }

  // ------------------------------------------------------------ running things

  /** Runs a command to completion inside a namespace; returns stdout, throws with stderr on failure. */
  run(role: Role, cmd: string, args: readonly string[] = [], opts: RunOptions = {}): string {
    return sh('ip', ['netns', 'exec', this.ns[role], cmd, ...args], opts);
  }

  /** Starts a long-running process inside a namespace, in its own process group, killed with the lab. */
  spawnIn(role: Role, cmd: string, args: readonly string[] = [], opts: SpawnOptions = {}): ManagedProcess {
    if (this.destroyed) throw new Error('lab destroyed');
    const p = spawnManaged('ip', ['netns', 'exec', this.ns[role], cmd, ...args], {
      cwd: REPO_ROOT,
      ...opts,
      name: opts.name ?? `${role}:${path.basename(cmd)}`,
    });
    this.procs.add(p);
    void p.exited.then(() => this.procs.delete(p));
    return p;
  }

  /** Starts a Node program (.js, or .ts through tsx) inside a namespace. */
  spawnNode(role: Role, script: string, args: readonly string[] = [], opts: SpawnOptions = {}): ManagedProcess {
    const abs = path.resolve(REPO_ROOT, script);
    const pre = abs.endsWith('.ts') ? ['-r', require.resolve('tsx/cjs')] : [];
    return this.spawnIn(role, process.execPath, [...pre, abs, ...args], {
      ...opts,
      name: opts.name ?? `${role}:${path.basename(script)}`,
    });
  }

  /** Processes this lab started that are still running. */
  processes(): ManagedProcess[] {
    return [...this.procs];
  }

  sysctl(role: Role, key: string, value: string | number): void {
    this.run(role, 'sysctl', ['-qw', `${key}=${value}`]);
  }

  // ------------------------------------------------------------ building

  /** @internal called by createLab */
  async build(opts: LabOptions): Promise<void> {
    for (const role of ROLES) {
      sh('ip', ['netns', 'add', this.ns[role]]);
      // No IPv6: keeps router solicitations and DAD noise off the links.
      this.run(role, 'sysctl', ['-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
      this.ip(role, 'link', 'set', 'lo', 'up');
    }
    this.ip('pub', 'link', 'add', 'br0', 'type', 'bridge');
    this.ip('pub', 'link', 'set', 'br0', 'address', macFor(ADDR.pub));
    this.ip('pub', 'addr', 'add', `${ADDR.pub}/24`, 'dev', 'br0');
    if (this.hasSecondPubAddress) this.ip('pub', 'addr', 'add', `${ADDR.pub2}/24`, 'dev', 'br0');
    this.ip('pub', 'link', 'set', 'br0', 'up');

    for (const r of ['natA', 'natB'] as const) {
      const spec = ROUTERS[r];
      this.sysctl(r, 'net.ipv4.ip_forward', 1);
      this.ip(r, 'link', 'add', 'br0', 'type', 'bridge');
      this.ip(r, 'link', 'set', 'br0', 'address', macFor(spec.lan));
      this.ip(r, 'addr', 'add', `${spec.lan}/24`, 'dev', 'br0');
      this.ip(r, 'link', 'set', 'br0', 'up');
      for (const h of spec.hosts) {
        const hs = HOSTS[h];
        this.ip(h, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', hs.lanPort, 'netns', this.ns[r]);
        this.ip(r, 'link', 'set', hs.lanPort, 'master', 'br0');
        this.ip(r, 'link', 'set', hs.lanPort, 'up');
        this.ip(h, 'link', 'set', 'eth0', 'address', macFor(hs.ip));
        this.ip(h, 'addr', 'add', `${hs.ip}/24`, 'dev', 'eth0');
        this.ip(h, 'link', 'set', 'eth0', 'up');
        this.ip(h, 'route', 'add', 'default', 'via', spec.lan);
      }
      const imp = opts.impair?.[r];
      const st = this.routers[r];
      st.loss = imp?.loss ?? 0;
      st.delayOutMs = imp?.delayMs ?? 0;
      st.delayInMs = imp?.delayInMs ?? imp?.delayMs ?? 0;
      await this.attachWan(r);
      this.applyRules(r);
    }
  }

  private ip(role: Role, ...args: string[]): string {
    return sh('ip', ['-n', this.ns[role], ...args]);
  }

  private async attachWan(r: RouterRole): Promise<void> {
    const spec = ROUTERS[r];
    const st = this.routers[r];
    if (st.delayOutMs > 0 || st.delayInMs > 0) {
      // Both TAPs are born in pub (where the forwarder runs); the router's is then moved over.
      const moving = `${spec.pubPort}x`;
      const fwd = this.spawnIn(
        'pub',
        python3(),
        [
          path.join(__dirname, 'delay-forwarder.py'),
          '--tap-a',
          spec.pubPort,
          '--tap-b',
          moving,
          '--a-to-b-ms',
          String(st.delayInMs),
          '--b-to-a-ms',
          String(st.delayOutMs),
        ],
        { name: `delay-forwarder:${r}` },
      );
      await fwd.waitForLine(/^ready$/, { timeoutMs: 10_000, what: 'forwarder ready' });
      st.forwarder = fwd;
      this.ip('pub', 'link', 'set', moving, 'netns', this.ns[r]);
      this.ip(r, 'link', 'set', moving, 'name', 'wan0');
    } else {
      this.ip(r, 'link', 'add', 'wan0', 'type', 'veth', 'peer', 'name', spec.pubPort, 'netns', this.ns.pub);
    }
    this.ip(r, 'link', 'set', 'wan0', 'address', macFor(spec.wan));
    const wan = r === 'natA' && this.renumbered ? ADDR.natARenumbered : spec.wan;
    this.ip(r, 'addr', 'add', `${wan}/24`, 'dev', 'wan0');
    this.ip(r, 'link', 'set', 'wan0', 'up');
    this.ip('pub', 'link', 'set', spec.pubPort, 'master', 'br0');
    this.ip('pub', 'link', 'set', spec.pubPort, 'up');
  }

  private async detachWan(r: RouterRole): Promise<void> {
    const st = this.routers[r];
    if (st.forwarder) {
      // Closing the forwarder's fds removes both TAPs.
      await st.forwarder.kill(500);
      st.forwarder = undefined;
    } else {
      this.ip(r, 'link', 'del', 'wan0');
    }
  }

  /** Replaces the router's whole iptables ruleset (atomic with iptables-restore). */
  private applyRules(r: RouterRole): void {
    const st = this.routers[r];
    const verdict = st.nat === 'cone-reject' ? 'REJECT --reject-with icmp-port-unreachable' : 'DROP';
    const lossRule = (chainSpec: string) =>
      st.loss > 0 ? [`-A ${chainSpec} -m statistic --mode random --probability ${st.loss.toFixed(6)} -j DROP`] : [];
    const egress = this.egressLossMode(r);
    const rules = [
      '*raw',
      ':PREROUTING ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      // The WAN is a bridge, which does not decrement TTL; on the Internet at least one router lies
      // between two NATs. A packet that arrives with TTL 1 would have expired at that router: drop it
      // here, so a low-TTL packet opens its sender's NAT mapping without reaching the far NAT.
      '-A PREROUTING -i wan0 -m ttl --ttl-lt 2 -j DROP',
      ...lossRule('PREROUTING -i wan0'),
      'COMMIT',
      '*mangle',
      ':PREROUTING ACCEPT [0:0]',
      ':INPUT ACCEPT [0:0]',
      ':FORWARD ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      ':POSTROUTING ACCEPT [0:0]',
      ...(egress === 'mangle' ? lossRule('POSTROUTING -o wan0') : []),
      'COMMIT',
      '*nat',
      ':PREROUTING ACCEPT [0:0]',
      ':INPUT ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      ':POSTROUTING ACCEPT [0:0]',
      ...(st.nat === 'fullcone' ? [`-A PREROUTING -i wan0 -p udp -j DNAT --to-destination ${HOSTS[st.fullconeTo].ip}`] : []),
      `-A POSTROUTING -o wan0 -j MASQUERADE${st.nat === 'symmetric' ? ' --random-fully' : ''}`,
      'COMMIT',
      '*filter',
      ':INPUT ACCEPT [0:0]',
      ':FORWARD ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      // No filter at all for 'open': what arrives unsolicited is delivered to the router itself.
      ...(st.nat === 'open'
        ? []
        : [
            '-A INPUT -i wan0 -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT',
            `-A INPUT -i wan0 -j ${verdict}`,
            '-A FORWARD -i wan0 -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT',
            ...(st.nat === 'fullcone' ? ['-A FORWARD -i wan0 -m conntrack --ctstate DNAT -j ACCEPT'] : []),
            `-A FORWARD -i wan0 -j ${verdict}`,
          ]),
      'COMMIT',
      '',
    ].join('\n');
    this.run(r, 'iptables-restore', [], { input: rules });
    if (egress === 'nft') this.applyEgressLoss(r);
  }

  /**
   * Outbound loss belongs after NAT and conntrack confirmation, like loss on
   * the wire: a lost packet has still opened its mapping. iptables has no hook
   * that late, the netdev egress hook is; mangle POSTROUTING is the fallback
   * on kernels without it.
   */
  private egressLossMode(r: RouterRole): 'nft' | 'mangle' {
    if (this.egressLoss === undefined) {
      const probe = 'table netdev p2plprobe {\n chain e { type filter hook egress device "wan0" priority 0; }\n}\ndelete table netdev p2plprobe\n';
      const ok = spawnSync('ip', ['netns', 'exec', this.ns[r], 'nft', '-f', '-'], { input: probe, encoding: 'utf8' }).status === 0;
      this.egressLoss = ok ? 'nft' : 'mangle';
      if (!ok) this.log('nft egress hook unavailable; outbound loss falls back to mangle POSTROUTING');
    }
    return this.egressLoss;
  }

  private applyEgressLoss(r: RouterRole): void {
    const st = this.routers[r];
    let script = 'table netdev p2plab\ndelete table netdev p2plab\n';
    if (st.loss > 0) {
      const threshold = Math.round(st.loss * 1_000_000);
      script +=
        'table netdev p2plab {\n' +
        ' chain egress_loss {\n' +
        '  type filter hook egress device "wan0" priority 0;\n' +
        `  numgen random mod 1000000 < ${threshold} counter drop\n` +
        ' }\n' +
        '}\n';
    }
    this.run(r, 'nft', ['-f', '-'], { input: script });
  }

  // ------------------------------------------------------------ switching between cases

  natKind(r: RouterRole): NatKind {
    return this.routers[r].nat;
  }

  impairment(r: RouterRole): Required<Impairment> {
    const st = this.routers[r];
    return { loss: st.loss, delayMs: st.delayOutMs, delayInMs: st.delayInMs };
  }

  /** Switches a router's NAT behaviour and flushes its conntrack so old mappings do not linger. */
  setNat(r: RouterRole, kind: NatKind, opts: { fullconeTo?: HostRole } = {}): void {
    const st = this.routers[r];
    st.nat = kind;
    if (opts.fullconeTo) {
      if (HOSTS[opts.fullconeTo].router !== r) throw new Error(`${opts.fullconeTo} is not behind ${r}`);
      st.fullconeTo = opts.fullconeTo;
    }
    this.applyRules(r);
    this.flushConntrack(r);
  }

  /**
   * Sets loss and delay on a router's WAN link. Turning delay on or off
   * re-creates the link (veth <-> TAP forwarder), which also drops the
   * router's NAT mappings; changing a non-zero delay does not.
   */
  async impair(r: RouterRole, imp: Impairment): Promise<void> {
    const st = this.routers[r];
    if (imp.loss !== undefined && (imp.loss < 0 || imp.loss >= 1)) throw new Error(`loss must be in [0, 1): ${imp.loss}`);
    const out = imp.delayMs ?? st.delayOutMs;
    const inn = imp.delayInMs ?? imp.delayMs ?? st.delayInMs;
    if (out < 0 || inn < 0) throw new Error('delay must be >= 0');
    const wantFwd = out > 0 || inn > 0;
    st.loss = imp.loss ?? st.loss;
    if (wantFwd !== (st.forwarder !== undefined)) {
      await this.detachWan(r);
      st.delayOutMs = out;
      st.delayInMs = inn;
      await this.attachWan(r);
    } else if (st.forwarder && (out !== st.delayOutMs || inn !== st.delayInMs)) {
      const mark = st.forwarder.markLine();
      st.forwarder.writeLine(`delay ${inn} ${out}`);
      await st.forwarder.waitForLine(/^ok delay/, { timeoutMs: 5000, from: mark });
      st.delayOutMs = out;
      st.delayInMs = inn;
    }
    this.applyRules(r);
  }

  /**
   * Back to the NAT kinds and impairments the lab was created with, default
   * conntrack UDP timeouts and empty conntrack tables: call between cases. Processes keep running unless
   * killProcesses is set (delay forwarders are part of the links and stay).
   */
  async reset(opts: { killProcesses?: boolean } = {}): Promise<void> {
    if (opts.killProcesses) {
      const forwarders = new Set(Object.values(this.routers).map((st) => st.forwarder));
      await Promise.all([...this.procs].filter((p) => !forwarders.has(p)).map((p) => p.kill(500)));
    }
    this.renumber('original');
    for (const r of ['natA', 'natB'] as const) {
      const want = this.initial.impair?.[r];
      const target = { loss: want?.loss ?? 0, delayMs: want?.delayMs ?? 0, delayInMs: want?.delayInMs ?? want?.delayMs ?? 0 };
      const now = this.impairment(r);
      if (now.loss !== target.loss || now.delayMs !== target.delayMs || now.delayInMs !== target.delayInMs) await this.impair(r, target);
      const st = this.routers[r];
      const kind = this.initial[r] ?? 'cone';
      if (st.nat !== kind || st.fullconeTo !== ROUTERS[r].hosts[0]) this.setNat(r, kind, { fullconeTo: ROUTERS[r].hosts[0] });
      // Kernel defaults, in case a case shortened them to test keepalives.
      this.run(r, 'sysctl', ['-qw', 'net.netfilter.nf_conntrack_udp_timeout=30', 'net.netfilter.nf_conntrack_udp_timeout_stream=120']);
    }
    this.flushConntrack();
  }

  /**
   * Gives natA a new public address (203.0.113.11) or its own back, and forgets its flows: every mapping
   * changes while the NAT stays endpoint-independent (a DHCP renewal, a reboot with a new address).
   */
  renumber(to: 'new' | 'original'): void {
    const [from, next] = to === 'new' ? [ADDR.natA, ADDR.natARenumbered] : [ADDR.natARenumbered, ADDR.natA];
    if (this.renumbered === (to === 'new')) return;
    this.ip('natA', 'addr', 'del', `${from}/24`, 'dev', 'wan0');
    this.ip('natA', 'addr', 'add', `${next}/24`, 'dev', 'wan0');
    this.renumbered = to === 'new';
    this.flushConntrack('natA');
  }

  private renumbered = false;

  /** Resolves once something in the namespace listens on UDP ip:port (polls `ss`). */
  async waitForUdpListener(role: Role, ip: string, port: number, timeoutMs = 10_000, proc?: ManagedProcess): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (proc && !proc.running) throw new Error(`${proc.name} exited before listening on ${ip}:${port}\n${proc.describe()}`);
      const ss = this.run(role, 'ss', ['-Hlun'], { allowFail: true });
      if (ss.includes(` ${ip}:${port} `) || ss.includes(` 0.0.0.0:${port} `)) return;
      if (Date.now() > deadline) throw new Error(`nothing listening on udp ${ip}:${port} in ${role} after ${timeoutMs} ms${proc ? `\n${proc.describe()}` : ''}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Packets dropped so far by the loss rules of a router: inbound (iptables raw) and outbound. */
  lossCounters(r: RouterRole): { inbound: number; outbound: number } {
    const countIpt = (table: string, chain: string) => {
      const out = this.run(r, 'iptables', ['-t', table, '-L', chain, '-v', '-x', '-n']);
      const line = out.split('\n').find((l) => /\bstatistic\b/.test(l));
      return line ? Number(line.trim().split(/\s+/)[0]) : 0;
    };
    const inbound = countIpt('raw', 'PREROUTING');
    let outbound = 0;
    if (this.egressLoss === 'nft') {
      const out = this.run(r, 'nft', ['list', 'table', 'netdev', 'p2plab'], { allowFail: true });
      const m = /counter packets (\d+)/.exec(out);
      outbound = m ? Number(m[1]) : 0;
    } else {
      outbound = countIpt('mangle', 'POSTROUTING');
    }
    return { inbound, outbound };
  }

  /** Delay forwarder counters ({a_to_b, b_to_a, dropped}), or undefined on a plain veth link. */
  async forwarderStats(r: RouterRole): Promise<Record<string, number> | undefined> {
    const fwd = this.routers[r].forwarder;
    if (!fwd) return undefined;
    const mark = fwd.markLine();
    fwd.writeLine('stats');
    const line = await fwd.waitForLine((l) => l.startsWith('{'), { timeoutMs: 5000, from: mark });
    return JSON.parse(line) as Record<string, number>;
  }

  /** Empties conntrack in the given namespaces (default: both routers and pub). */
  flushConntrack(...roles: Role[]): void {
    const targets = roles.length > 0 ? roles : (['natA', 'natB', 'pub'] as const);
    for (const role of targets) this.run(role, 'conntrack', ['-F'], { allowFail: true });
  }

  conntrackCount(role: Role): number {
    const out = this.run(role, 'conntrack', ['-C'], { allowFail: true }).trim();
    return Number(out) || 0;
  }

  // ------------------------------------------------------------ TURN

  async startTurn(opts: TurnOptions = {}): Promise<TurnServer> {
    const host = opts.listenIp ?? ADDR.pub;
    const port = opts.port ?? 3478;
    const realm = opts.realm ?? 'p2p-chat.test';
    const secret = opts.secret ?? randomBytes(16).toString('hex');
    const dir = fs.mkdtempSync(path.join(this.tmpDir, 'turn-'));
    const proc = this.spawnIn(
      'pub',
      'turnserver',
      [
        ...coturnArgs({ ip: host, port, minPort: opts.minPort ?? 49152, maxPort: opts.maxPort ?? 49407, secret, realm, dir }),
        ...(opts.extraArgs ?? []),
      ],
      { name: 'turnserver' },
    );
    try {
      await this.waitForUdpListener('pub', host, port, opts.readyTimeoutMs ?? 10_000, proc);
    } catch (e) {
      await proc.kill(200);
      throw e;
    }
    return {
      host,
      port,
      realm,
      secret,
      url: `turn:${host}:${port}?transport=udp`,
      proc,
      dir,
      credentials(user = 'lab', ttlSec = 3600) {
        const username = `${Math.floor(Date.now() / 1000) + ttlSec}:${user}`;
        const password = createHmac('sha1', secret).update(username).digest('base64');
        return { username, password };
      },
      stop: async () => {
        await proc.kill(1000);
      },
    };
  }

  // ------------------------------------------------------------ teardown

  get isDestroyed(): boolean {
    return this.destroyed;
  }

  /** Graceful: SIGTERM to our processes (SIGKILL after a grace), then destroySync. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    await Promise.all([...this.procs].map((p) => p.kill(500)));
    this.destroySync();
  }

  /** Kills everything inside the lab namespaces, deletes them and the temp dir. Idempotent, synchronous. */
  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    liveLabs.delete(this);
    for (const p of this.procs) p.killSync();
    for (const role of ROLES) killPidsIn(this.ns[role]);
    for (const role of ROLES) sh('ip', ['netns', 'del', this.ns[role]], { allowFail: true });
    fs.rmSync(this.tmpDir, { recursive: true, force: true });
  }

  /** @internal */
  register(): void {
    liveLabs.add(this);
    installHooks();
  }
}

/** Builds a fresh lab (root only). Cleans up stale labs of dead runs first. Destroy it with destroyLab(). */
export async function createLab(opts: LabOptions = {}): Promise<Lab> {
  if (!isRoot()) throw new Error('the NAT lab needs root');
  ensureLabTools(opts.log);
  const stale = cleanupStaleLabs();
  if (stale.length > 0) opts.log?.(`removed stale lab leftovers: ${stale.join(', ')}`);
  const lab = new Lab(opts);
  lab.register();
  try {
    await lab.build(opts);
  } catch (e) {
    lab.destroySync();
    throw e;
  }
  return lab;
}

export async function destroyLab(lab: Lab): Promise<void> {
  await lab.destroy();
}

/** Every lab namespace on the machine (any run), optionally only those of one lab prefix. */
export function listLabNamespaces(prefix?: string): string[] {
  return listNetns().filter((n) => NAME_RE.test(n) && (prefix === undefined || n.startsWith(`${prefix}-`)));
}

/** True once a pid is gone (or only a zombie is left of it). */
export function pidGone(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/** Namespaces of this process's labs still present (should be empty after destroy). */
export function ownNamespaces(): string[] {
  const mine = `${NS_PREFIX}-${process.pid}-`;
  return listNetns().filter((n) => n.startsWith(mine));
}
