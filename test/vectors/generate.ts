// Writes the test-vector corpus (test/vectors/*.json) from scenarios written against
// docs/semantics.md. Expected outputs are built here, independently of src/pipeline: balanced frames
// by explicitly setting the two MACs on a copy of the input, ARP replies by building the reply from
// its fields, expected backends by a small model of the session rules over the reference Maglev
// (test/lib/reference.ts, itself checked against a C oracle). Run after a build:
//   node dist/test/vectors/generate.js
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { formatIpv4, formatIpv6, looksIpv6, parseIpv4, parseIpv6 } from '../../src/core/addr.js';
import type { Algorithm, BackendConfig, HealthCheckConfig } from '../../src/core/model.js';
import {
  ARP_OP_REPLY,
  ARP_OP_REQUEST,
  arp,
  arpReplyFrame,
  arpRequestFrame,
  concat,
  ETH_P_8021AD,
  ETH_P_ARP,
  ETH_P_IPV4,
  ethernet,
  type FrameAddressing,
  ICMP_DEST_UNREACH,
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  ICMP_FRAG_NEEDED,
  ICMP_PARAM_PROBLEM,
  ICMP_TIME_EXCEEDED,
  icmpEcho,
  icmpEchoFrame,
  icmpError,
  icmpErrorFrame,
  ipv4,
  ipv4Frame,
  quote,
  TCP_ACK,
  TCP_FIN,
  TCP_PSH,
  TCP_SYN,
  tcp,
  tcpFrame,
  toHex,
  udp,
  udpFrame,
  withMacs,
} from '../../src/packet/build.js';
import {
  type AnyFlowKey,
  type FlowKey,
  type FragEffect,
  isKey6,
  isTcpNonSyn,
  type RefBackend,
  ReferenceFragments,
  type RefFrontend,
  type RefService,
  referenceBackend,
  referenceFrontend,
  referenceMatch,
  referenceModes,
  referencePick,
} from '../lib/reference.js';
import { type FlowKey6, hex, ReferenceFragments6, referenceDecide6 } from '../lib/reference6.js';
import type {
  SessionEffect,
  Vector,
  VectorConfig,
  VectorExpect,
  VectorReconfigure,
  VectorSession,
  VectorStep,
} from '../lib/vectors.js';

/** test/vectors/, or LBDSR_VECTORS_OUT (scripts/check-vectors.sh regenerates into a temp dir). */
const OUT_DIR = process.env.LBDSR_VECTORS_OUT
  ? `${process.env.LBDSR_VECTORS_OUT.replace(/\/$/, '')}/`
  : fileURLToPath(new URL('../../../test/vectors/', import.meta.url));

export const VIP = '10.0.0.100';
export const FE_MAC = 'aa:bb:cc:dd:ee:ff';
export const BP_MAC = '02:00:00:00:be:01';
export const CLIENT_MAC = '52:54:00:00:00:01';
export const ROUTER_MAC = '52:54:00:00:00:fe';
export const ROUTER_IP = '10.0.0.254';
export const CLIENTS = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '192.168.7.9'];
/** The seed's pool: group-bit MACs (01:..) included, as in the Polycube README. */
export const POOL3: BackendConfig[] = [
  { id: 1, mac: '01:01:01:01:01:01' },
  { id: 2, mac: '02:02:02:02:02:02' },
  { id: 3, mac: '03:03:03:03:03:03' },
];

const TIMEOUT_DEFAULTS = { tcp: 600, udp: 60, icmp: 30 };

export function fe(src: string, ethDst = FE_MAC): FrameAddressing {
  return { ethDst, ethSrc: CLIENT_MAC, src, dst: VIP };
}

export function key(src: string, sport: number, dport: number, proto: number, dst = VIP): FlowKey {
  return { src: parseIpv4(src), dst: parseIpv4(dst), sport, dport, proto };
}

export const VIP6 = 'fd00::100';

/** An IPv6 key to `dst` (default VIP6). */
export function key6(src: string, sport: number, dport: number, proto: number, dst = VIP6): FlowKey6 {
  return { family: 6, src: parseIpv6(src), dst: parseIpv6(dst), sport, dport, proto };
}

function keyString(k: AnyFlowKey): string {
  if (isKey6(k)) return `6/${hex(k.src)}/${hex(k.dst)}/${k.sport}/${k.dport}/${k.proto}`;
  return `${k.src}/${k.dst}/${k.sport}/${k.dport}/${k.proto}`;
}

/** The VIP fields of a service as the model keeps them: IPv4 number (0: none), IPv6 hex (or none). */
function vipsOf(vip: string, vip6: string | undefined): { vip: number; vip6?: string } {
  if (looksIpv6(vip)) return { vip: 0, vip6: hex(parseIpv6(vip)) };
  return { vip: parseIpv4(vip), ...(vip6 === undefined ? {} : { vip6: hex(parseIpv6(vip6)) }) };
}

interface ModelSession {
  key: AnyFlowKey;
  /** The service the session was recorded for. */
  service: string;
  backend: number;
  lastSeen: number;
}

/** A service in the data plane as the model sees it (docs/semantics.md, "Services"). */
interface ModelService extends RefService {
  mac: string;
  algorithm: Algorithm;
  pool: BackendConfig[];
  check?: HealthCheckConfig;
}

const PROTO_NUMBERS = { TCP: 6, UDP: 17, ICMP: 1 } as const;

/** The ports of a vector beyond the backend port's MAC (docs/semantics.md, "Frontend modes"). */
export interface VectorPorts {
  /** The FRONTEND interface's MAC (mode ROUTED reads it); null: unknown. */
  frontendPortMac?: string | null;
  /** FRONTEND and BACKEND are one interface. */
  oneArm?: boolean;
}

/** Rules whose drop host_pass turns into a pass (the reference decides; this only names them). */
const EARLY_RULES = new Set([
  'TRUNCATED',
  'VLAN',
  'ARP',
  'ETHERTYPE',
  'IP_MALFORMED',
  'ND',
  'NOT_VIP',
  'DST_MAC',
]);

/** Drops after the key is known (rules 9a..11): the scenario's balanced() decides them. */
const LATE_RULES = new Set(['NO_SERVICE', 'NOT_READY', 'NO_BACKEND']);

/** Whether an Ethernet frame is IPv6 (EtherType 0x86dd at bytes 12..13). */
const isIpv6Frame = (f: Uint8Array) => f.length >= 14 && f[12] === 0x86 && f[13] === 0xdd;

/** Builds one vector, keeping a model of the config and the session table to derive expectations. */
export class VectorBuilder {
  readonly steps: VectorStep[] = [];
  private cfg: VectorConfig;
  private portMac: string | null;
  private fePortMac: string | null;
  private now = 1000;
  private pending: VectorReconfigure | undefined;
  private pendingNow: number | undefined;
  readonly sessions = new Map<string, ModelSession>();
  readonly frags = new ReferenceFragments();
  readonly frags6 = new ReferenceFragments6();
  readonly tags: string[] = [];

  constructor(
    readonly name: string,
    readonly description: string,
    config: VectorConfig,
    backendPortMac: string | null = BP_MAC,
    private readonly ports: VectorPorts = {},
  ) {
    this.cfg = structuredClone(config);
    this.initial = structuredClone(config);
    this.portMac = backendPortMac;
    this.initialPortMac = backendPortMac;
    this.fePortMac = ports.frontendPortMac ?? null;
  }
  private readonly initial: VectorConfig;
  private readonly initialPortMac: string | null;

  get pool(): BackendConfig[] {
    return this.cfg.backend.pool;
  }
  get algorithm(): Algorithm {
    return this.cfg.algorithm ?? 'HASH_SESSION';
  }
  private capacity(): number {
    return this.cfg.sessions?.capacity ?? 1_000_000;
  }
  private timeoutMs(proto: number): number {
    const t = { ...TIMEOUT_DEFAULTS, ...this.cfg.sessions?.timeouts };
    return 1000 * (proto === 6 ? t.tcp : proto === 17 ? t.udp : t.icmp);
  }

  /** Applies a config change before the next step. */
  reconfigure(r: VectorReconfigure): this {
    this.pending = { ...this.pending, ...r };
    let pool = r.pool ? structuredClone(r.pool) : this.cfg.backend.pool;
    if (r.removeBackends) pool = pool.filter((b) => !r.removeBackends!.includes(b.id));
    if (r.addBackends) pool = [...pool, ...structuredClone(r.addBackends)];
    const healthcheck =
      r.healthcheck === undefined ? this.cfg.backend.healthcheck : (r.healthcheck ?? undefined);
    this.cfg = {
      ...this.cfg,
      frontend: { ...this.cfg.frontend, ...r.frontend },
      algorithm: r.algorithm ?? this.algorithm,
      backend: { pool, ...(healthcheck ? { healthcheck } : {}) },
      ...(r.services ? { services: structuredClone(r.services) } : {}),
      ...(r.observe ? { observe: structuredClone(r.observe) } : {}),
      sessions: {
        ...this.cfg.sessions,
        timeouts: { ...this.cfg.sessions?.timeouts, ...r.sessions?.timeouts },
        ...(r.sessions?.record_non_syn === undefined ? {} : { record_non_syn: r.sessions.record_non_syn }),
      },
    };
    if (r.backendPortMac !== undefined) this.portMac = r.backendPortMac;
    if (r.frontendPortMac !== undefined) this.fePortMac = r.frontendPortMac;
    for (const f of ['mode', 'standby', 'host_pass'] as const) {
      if (r[f] !== undefined) Object.assign(this.cfg, { [f]: r[f] });
    }
    return this;
  }

  /**
   * What the reference (test/lib/reference.ts) makes of a FRONTEND frame under the modes in effect:
   * rules 1a to 8, with the VIPs in the data plane and their frontend MACs.
   */
  private early(frame: Uint8Array): RefFrontend {
    const svcs = this.services();
    const vips = new Map(svcs.filter((s) => s.vip !== 0).map((s) => [s.vip, s.mac.toLowerCase()]));
    const vips6 = new Map(svcs.flatMap((s) => (s.vip6 ? [[s.vip6, s.mac.toLowerCase()] as const] : [])));
    const probe = this.cfg.probe_ip?.split('.').map((x) => Number(x).toString(16).padStart(2, '0'));
    return referenceFrontend(
      frame,
      referenceModes(this.cfg, this.ports.oneArm === true),
      vips,
      probe ? `02:db:${probe.join(':')}` : undefined,
      vips6,
    );
  }

  /** Throws unless the reference's rules 1a..8 say `want` of this frame (the scenario's own claim). */
  private expectEarly(comment: string, frame: Uint8Array, want: RefFrontend['kind']): void {
    const got = this.early(frame);
    if (got.kind !== want) {
      throw new Error(`${this.name}: "${comment}": the reference says ${JSON.stringify(got)}, not ${want}`);
    }
  }

  /** Sets the clock of the next step (ms). */
  at(nowMs: number): this {
    if (nowMs !== this.now) this.tags.includes('time') || this.tags.push('time');
    this.now = nowMs;
    this.pendingNow = nowMs;
    return this;
  }

  private push(
    comment: string,
    frame: Uint8Array,
    expect: VectorExpect,
    port: 'FRONTEND' | 'BACKEND',
  ): number {
    const s: VectorStep = { comment, port, frame: toHex(frame), expect };
    if (this.pendingNow !== undefined) s.nowMs = this.pendingNow;
    if (this.pending) s.reconfigure = this.pending;
    this.pending = undefined;
    this.pendingNow = undefined;
    this.steps.push(s);
    return this.steps.length - 1;
  }

  /**
   * A frame that rule `reason` does not balance. On the FRONTEND port the reference's rules 1a..8 must
   * agree when the reason is one of theirs, and decide the verdict: with host_pass, rules 3, 4, 5
   * and 7 pass the frame to the host (PASS, `reason` naming the rule) instead of dropping it.
   */
  drop(
    comment: string,
    frame: Uint8Array,
    reason: string,
    port: 'FRONTEND' | 'BACKEND' = 'FRONTEND',
  ): number {
    const early = port === 'FRONTEND' ? this.early(frame) : undefined;
    const past = early?.kind === 'IPV4' || early?.kind === 'IPV6';
    if (early !== undefined && (EARLY_RULES.has(reason) || !past)) {
      const said = 'reason' in early ? early.reason : undefined;
      if (said !== reason) {
        throw new Error(
          `${this.name}: "${comment}": the reference says ${JSON.stringify(early)}, not ${reason}`,
        );
      }
      if (early.kind === 'PASS') {
        return this.push(
          comment,
          frame,
          { action: 'PASS', reason, frame: toHex(frame), session: 'NONE' },
          port,
        );
      }
    }
    if (early?.kind === 'IPV6' && !LATE_RULES.has(reason)) {
      const d = referenceDecide6(frame, this.frags6, this.now);
      if (!('drop' in d) || d.drop !== reason) {
        throw new Error(
          `${this.name}: "${comment}": the IPv6 reference says ${JSON.stringify(d)}, not ${reason}`,
        );
      }
    }
    return this.push(comment, frame, { action: 'DROP', reason, session: 'NONE' }, port);
  }

  /**
   * A Neighbor Solicitation answered (rule 6b): `expected` is the advertisement the scenario builds
   * (src/packet/build6.ts), which the reference's own must equal byte for byte.
   */
  ndReply(comment: string, frame: Uint8Array, expected: Uint8Array): number {
    const got = this.early(frame);
    if (got.kind !== 'ND_REPLY' || toHex(got.out) !== toHex(expected)) {
      throw new Error(`${this.name}: "${comment}": the reference says ${JSON.stringify(got)}`);
    }
    return this.push(
      comment,
      frame,
      { action: 'TX_FRONTEND', frame: toHex(expected), session: 'NONE' },
      'FRONTEND',
    );
  }

  /** A BACKEND port frame left to the kernel as it is (rule 1). */
  pass(comment: string, frame: Uint8Array): number {
    return this.push(comment, frame, { action: 'PASS', frame: toHex(frame), session: 'NONE' }, 'BACKEND');
  }

  /** One-arm: a frame to the probe MAC, on the one interface, left to the kernel (rule 1a). */
  probePass(comment: string, frame: Uint8Array): number {
    this.expectEarly(comment, frame, 'PASS');
    return this.push(comment, frame, { action: 'PASS', frame: toHex(frame), session: 'NONE' }, 'FRONTEND');
  }

  arpReply(comment: string, frame: Uint8Array, expected: Uint8Array): number {
    this.expectEarly(comment, frame, 'ARP_REPLY');
    return this.push(
      comment,
      frame,
      { action: 'TX_FRONTEND', frame: toHex(expected), session: 'NONE' },
      'FRONTEND',
    );
  }

  /**
   * The services in the data plane: a VIP and a frontend MAC (in mode ROUTED the FRONTEND interface's,
   * for every service; none while it is unknown).
   */
  private services(): ModelService[] {
    const c = this.cfg;
    const out: ModelService[] = [];
    const routed = c.mode === 'ROUTED';
    if (routed && this.fePortMac === null) return out;
    const macOf = (configured: string | undefined) => (routed ? (this.fePortMac ?? undefined) : configured);
    const feMac = macOf(c.frontend.mac);
    if (c.frontend.vip !== undefined && feMac !== undefined) {
      out.push({
        name: 'default',
        ...vipsOf(c.frontend.vip, c.frontend.vip6),
        proto: 0,
        port: 0,
        mac: feMac,
        algorithm: this.algorithm,
        pool: c.backend.pool,
        ...(c.backend.healthcheck ? { check: c.backend.healthcheck } : {}),
      });
    }
    for (const s of c.services ?? []) {
      const mac = macOf(s.mac ?? c.frontend.mac);
      if (mac === undefined) continue;
      out.push({
        name: s.name,
        ...vipsOf(s.vip, s.vip6),
        proto: s.protocol === undefined ? 0 : PROTO_NUMBERS[s.protocol],
        port: s.port ?? 0,
        mac,
        algorithm: s.algorithm ?? this.algorithm,
        pool: s.backend.pool,
        ...(s.backend.healthcheck ? { check: s.backend.healthcheck } : {}),
      });
    }
    return out;
  }

  /** The service a key matches now, if any. */
  serviceOf(k: AnyFlowKey): ModelService | undefined {
    return referenceMatch(this.services(), k);
  }

  private backendOf(svc: ModelService, id: number): RefBackend | undefined {
    const b = svc.pool.find((x) => x.id === id);
    return b && referenceBackend(b, svc.check, this.cfg.observe?.[`${svc.name}/${id}`]);
  }

  private macOf(svc: ModelService, id: number): string {
    const mac = this.backendOf(svc, id)?.mac;
    if (!mac) throw new Error(`${this.name}: backend ${id} not in the pool of ${svc.name} (with a MAC)`);
    return mac;
  }

  /** What Maglev picks for a key now (over the serving backends of its service, by weight). */
  pick(k: AnyFlowKey): number | undefined {
    const svc = this.serviceOf(k);
    if (!svc) return undefined;
    const members = svc.pool.filter((b) => this.backendOf(svc, b.id)!.serving);
    return referencePick(
      members.map((b) => b.id),
      svc.algorithm,
      k,
      members.map((b) => b.weight ?? 100),
    );
  }

  /** The backend a new/valid-session packet of `k` goes to now, without changing the model. */
  predict(k: AnyFlowKey): number | undefined {
    const s = this.sessions.get(keyString(k));
    if (s && this.valid(s)) return s.backend;
    return this.pick(k);
  }

  /** Not idle-expired, and its backend is still live in the service the key matches now. */
  private valid(s: ModelSession): boolean {
    if (this.now - s.lastSeen > this.timeoutMs(s.key.proto)) return false;
    const svc = this.serviceOf(s.key);
    return svc !== undefined && svc.name === s.service && this.backendOf(svc, s.backend)?.live === true;
  }

  /**
   * A frame balanced under `k` (the key the document says it has). Expected backend and session
   * effect come from the model; `readOnly` for ICMP errors. An IPv6 frame's key, read-only-ness and
   * fragment effect (`frag`) must be what the IPv6 reference derives; its first fragment teaches the
   * reference fragment table once balanced.
   */
  balanced(
    comment: string,
    frame: Uint8Array,
    k: AnyFlowKey,
    opts: { readOnly?: boolean; frag?: FragEffect } = {},
  ): number {
    const six = isIpv6Frame(frame);
    this.expectEarly(comment, frame, six ? 'IPV6' : 'IPV4');
    const d6 = six ? this.decide6(comment, frame, k, opts) : undefined;
    const nonSyn = d6 ? d6.tcpNonSyn : isTcpNonSyn(frame);
    const svc = this.serviceOf(k);
    if (svc === undefined) return this.drop(comment, frame, 'NO_SERVICE');
    if (this.portMac === null) throw new Error(`${this.name}: not ready, use drop()`);
    const ks = keyString(k);
    const s = this.sessions.get(ks);
    let backend: number | undefined;
    let effect: SessionEffect;
    if (opts.readOnly) {
      backend = s && this.valid(s) ? s.backend : this.pick(k);
      effect = 'NONE';
    } else if (s && this.valid(s)) {
      backend = s.backend;
      effect = 'HIT';
      s.lastSeen = this.now;
      this.sessions.delete(ks);
      this.sessions.set(ks, s);
    } else if (!s && nonSyn && this.cfg.sessions?.record_non_syn !== true) {
      // A TCP miss that is not a SYN: Maglev, nothing recorded (docs/semantics.md, "Session floods").
      backend = this.pick(k);
      effect = 'UNRECORDED';
    } else {
      backend = this.pick(k);
      effect = s ? (this.now - s.lastSeen > this.timeoutMs(k.proto) ? 'EXPIRED' : 'STALE') : 'MISS';
      if (backend !== undefined) {
        this.sessions.delete(ks);
        // The capacity bounds each family's table: the least recently used of the key's family goes.
        const family = [...this.sessions.entries()].filter(([, x]) => isKey6(x.key) === isKey6(k));
        if (!s && family.length >= this.capacity()) this.sessions.delete(family[0]![0]);
        this.sessions.set(ks, { key: k, service: svc.name, backend, lastSeen: this.now });
      }
    }
    // A drop changes nothing but its reason's counter: no session counter even for a stale entry.
    if (backend === undefined) return this.drop(comment, frame, 'NO_BACKEND');
    const out = withMacs(frame, this.macOf(svc, backend), this.portMac);
    const expect: VectorExpect = { action: 'TX_BACKEND', backend, frame: toHex(out), session: effect };
    if (d6 && d6.frag !== 'NONE') expect.frag = d6.frag;
    if (d6?.learn) this.frags6.learn(d6.learn, this.now);
    return this.push(comment, frame, expect, 'FRONTEND');
  }

  /** The IPv6 reference's decision for a frame the scenario says is balanced under `k`. */
  private decide6(
    comment: string,
    frame: Uint8Array,
    k: AnyFlowKey,
    opts: { readOnly?: boolean; frag?: FragEffect },
  ): Exclude<ReturnType<typeof referenceDecide6>, { drop: string }> {
    const d = referenceDecide6(frame, this.frags6, this.now);
    const same =
      !('drop' in d) &&
      keyString(d.key) === keyString(k) &&
      d.readOnly === (opts.readOnly === true) &&
      d.frag === (opts.frag ?? 'NONE');
    if (same) return d;
    const said = 'drop' in d ? d.drop : `${keyString(d.key)} readOnly=${d.readOnly} frag=${d.frag}`;
    throw new Error(
      `${this.name}: "${comment}": the IPv6 reference says ${said}, the scenario ${keyString(k)}`,
    );
  }

  /**
   * A fragment balanced under `k` with the fragment-table effect `effect`, both as the scenario states
   * them; the reference fragment model (test/lib/reference.ts) must derive the same, and learns from a
   * first fragment once it is balanced.
   */
  fragment(comment: string, frame: Uint8Array, k: FlowKey, effect: FragEffect): number {
    const d = this.frags.decide(frame, this.now);
    if (!d) throw new Error(`${this.name}: "${comment}" is not a fragment`);
    if (keyString(d.key) !== keyString(k) || d.effect !== effect) {
      throw new Error(
        `${this.name}: "${comment}": the fragment model says ${keyString(d.key)} ${d.effect}, the scenario ${keyString(k)} ${effect}`,
      );
    }
    const i = this.balanced(comment, frame, k);
    const e = this.steps[i]!.expect;
    if (e.action === 'TX_BACKEND') {
      if (effect !== 'NONE') e.frag = effect;
      if (d.learn) this.frags.learn(d.learn, this.now);
    }
    return i;
  }

  /** Adds a constraint on the last step (beyond what the model derives). */
  also(e: Partial<VectorExpect>): this {
    Object.assign(this.steps[this.steps.length - 1]!.expect, e);
    return this;
  }

  lastBackend(): number {
    return this.steps[this.steps.length - 1]!.expect.backend!;
  }

  build(withSessions = true): Vector {
    const v: Vector = {
      name: this.name,
      description: this.description,
      config: this.initial,
      backendPortMac: this.initialPortMac,
      ...(this.ports.frontendPortMac === undefined ? {} : { frontendPortMac: this.ports.frontendPortMac }),
      ...(this.ports.oneArm === undefined ? {} : { oneArm: this.ports.oneArm }),
      steps: this.steps,
    };
    if (this.tags.length) v.tags = this.tags;
    if (withSessions) {
      v.sessionsAfter = [...this.sessions.values()]
        .filter((s) => this.valid(s))
        .map(
          (s): VectorSession => ({
            src: isKey6(s.key) ? formatIpv6(s.key.src) : formatIpv4(s.key.src),
            dst: isKey6(s.key) ? formatIpv6(s.key.dst) : formatIpv4(s.key.dst),
            sport: s.key.sport,
            dport: s.key.dport,
            proto: s.key.proto,
            backend: s.backend,
          }),
        );
    }
    return v;
  }
}

export function vb(
  name: string,
  description: string,
  config: VectorConfig,
  backendPortMac: string | null = BP_MAC,
  ports: VectorPorts = {},
) {
  return new VectorBuilder(name, description, config, backendPortMac, ports);
}

export const BASE: VectorConfig = {
  frontend: { vip: VIP, mac: FE_MAC },
  algorithm: 'HASH_SESSION',
  backend: { pool: POOL3 },
};

/**
 * A scenario run again under other settings (e.g. host_pass): its name and description get a suffix,
 * its config the settings; the builder derives what the settings change (test/vectors/modes.ts).
 */
export interface Variant {
  name: string;
  description: string;
  config: Partial<VectorConfig>;
}

function variantOf(
  variant: Variant | undefined,
  name: string,
  description: string,
  config: VectorConfig,
): VectorBuilder {
  if (variant === undefined) return vb(name, description, config);
  return vb(`${name}-${variant.name}`, `${description}; ${variant.description}`, {
    ...config,
    ...variant.config,
  });
}

/** First value in [from, from+n) satisfying `pred`; throws when none does (a scenario that cannot hold). */
export function find(what: string, pred: (x: number) => boolean, from = 40000, n = 20000): number {
  for (let x = from; x < from + n; x++) if (pred(x)) return x;
  throw new Error(`no value satisfies: ${what}`);
}

export function pattern(n: number, seed = 0x30): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (seed + i) & 0xff;
  return b;
}

// -------------------------------------------------------------------------------------------------
// Scenarios

export function arpVector(variant?: Variant): Vector {
  const v = variantOf(
    variant,
    'arp',
    'ARP for the VIP is answered on the FRONTEND port; every other ARP is dropped (rule 4)',
    BASE,
  );
  const client = CLIENTS[0]!;
  const reply = (req: Uint8Array, sha: string, spa: string): Uint8Array =>
    concat(
      ethernet({
        dst: req.subarray(6, 12),
        src: FE_MAC,
        type: ETH_P_ARP,
        payload: arp({ op: ARP_OP_REPLY, senderMac: FE_MAC, senderIp: VIP, targetMac: sha, targetIp: spa }),
      }),
      req.slice(42),
    );
  const req = arpRequestFrame({ senderMac: CLIENT_MAC, senderIp: client, targetIp: VIP });
  req.fill(0x5a, 42); // padding must be left as is
  v.arpReply('broadcast who-has VIP tell client (padding preserved)', req, reply(req, CLIENT_MAC, client));
  const uni = arpRequestFrame({ senderMac: CLIENT_MAC, senderIp: client, targetIp: VIP, ethDst: FE_MAC });
  v.arpReply('unicast who-has VIP to the frontend MAC (ARP refresh)', uni, reply(uni, CLIENT_MAC, client));
  const short = arpRequestFrame({
    senderMac: CLIENT_MAC,
    senderIp: '10.0.0.2',
    targetIp: VIP,
    padding: false,
  });
  v.arpReply('unpadded 42-byte request', short, reply(short, CLIENT_MAC, '10.0.0.2'));
  // ARP sender hw differs from the Ethernet source: eth dst <- eth src, target hw <- ARP sender hw.
  const proxied = ethernet({
    dst: 'ff:ff:ff:ff:ff:ff',
    src: ROUTER_MAC,
    type: ETH_P_ARP,
    payload: arp({
      op: ARP_OP_REQUEST,
      senderMac: '52:54:00:00:00:77',
      senderIp: '10.0.0.77',
      targetIp: VIP,
    }),
    padding: 18,
  });
  v.arpReply(
    'Ethernet source differs from the ARP sender hardware address',
    proxied,
    reply(proxied, '52:54:00:00:00:77', '10.0.0.77'),
  );
  const probe = arpRequestFrame({ senderMac: CLIENT_MAC, senderIp: '0.0.0.0', targetIp: VIP });
  v.arpReply('ARP probe (sender IP 0.0.0.0) for the VIP', probe, reply(probe, CLIENT_MAC, '0.0.0.0'));
  v.drop(
    'who-has another IP',
    arpRequestFrame({ senderMac: CLIENT_MAC, senderIp: client, targetIp: '10.0.0.101' }),
    'ARP',
  );
  v.drop(
    'who-has the client itself (gratuitous)',
    arpRequestFrame({ senderMac: CLIENT_MAC, senderIp: client, targetIp: client }),
    'ARP',
  );
  v.drop(
    'who-has VIP unicast to another MAC',
    arpRequestFrame({ senderMac: CLIENT_MAC, senderIp: client, targetIp: VIP, ethDst: '52:54:00:00:00:99' }),
    'ARP',
  );
  v.drop(
    'who-has VIP to a multicast MAC',
    arpRequestFrame({ senderMac: CLIENT_MAC, senderIp: client, targetIp: VIP, ethDst: '01:00:5e:00:00:01' }),
    'ARP',
  );
  v.drop(
    'ARP reply addressed to the VIP',
    arpReplyFrame({ senderMac: CLIENT_MAC, senderIp: client, targetMac: FE_MAC, targetIp: VIP }),
    'ARP',
  );
  const arpWith = (over: Partial<Parameters<typeof arp>[0]>, padding = 18) =>
    ethernet({
      dst: 'ff:ff:ff:ff:ff:ff',
      src: CLIENT_MAC,
      type: ETH_P_ARP,
      payload: arp({ op: ARP_OP_REQUEST, senderMac: CLIENT_MAC, senderIp: client, targetIp: VIP, ...over }),
      padding,
    });
  v.drop('opcode 3 (RARP request) for the VIP', arpWith({ op: 3 }), 'ARP');
  v.drop('opcode 0 for the VIP', arpWith({ op: 0 }), 'ARP');
  v.drop('hardware type 6 (IEEE 802)', arpWith({ htype: 6 }), 'ARP');
  v.drop('protocol type 0x86dd', arpWith({ ptype: 0x86dd }), 'ARP');
  v.drop('hardware length 8', arpWith({ hlen: 8 }), 'ARP');
  v.drop('protocol length 16', arpWith({ plen: 16 }), 'ARP');
  v.drop('41-byte ARP request (truncated)', arpWith({}, 0).slice(0, 41), 'ARP');
  v.drop('ARP header only (14 bytes)', arpWith({}, 0).slice(0, 14), 'ARP');
  v.pass('who-has VIP on the BACKEND port: left to the kernel (rule 1)', req);
  return v.build(false);
}

export function l2Vector(variant?: Variant): Vector {
  const v = variantOf(
    variant,
    'ethernet',
    'Ethernet-level drops: truncated, VLAN, other EtherTypes, destination MAC (rules 2, 3, 5, 7, 8)',
    BASE,
  );
  const c = CLIENTS[0]!;
  const good = tcpFrame(fe(c), { sport: 40001, dport: 80 });
  v.drop('empty frame', new Uint8Array(0), 'TRUNCATED');
  v.drop('13 bytes', good.slice(0, 13), 'TRUNCATED');
  v.drop('14 bytes, EtherType IPv4, no IP header', good.slice(0, 14), 'IP_MALFORMED');
  const vlan = ethernet({
    dst: FE_MAC,
    src: CLIENT_MAC,
    type: ETH_P_IPV4,
    vlans: [{ tci: 10 }],
    payload: good.slice(14),
  });
  v.drop('802.1Q-tagged IPv4 to the VIP', vlan, 'VLAN');
  const qinq = ethernet({
    dst: FE_MAC,
    src: CLIENT_MAC,
    type: ETH_P_IPV4,
    vlans: [{ tpid: ETH_P_8021AD, tci: 100 }, { tci: 10 }],
    payload: good.slice(14),
  });
  v.drop('802.1ad (QinQ) tagged IPv4', qinq, 'VLAN');
  v.drop('802.1Q tag with nothing after it (14 bytes)', vlan.slice(0, 14), 'VLAN');
  const vlanArp = ethernet({
    dst: 'ff:ff:ff:ff:ff:ff',
    src: CLIENT_MAC,
    type: ETH_P_ARP,
    vlans: [{ tci: 10 }],
    payload: arp({ op: ARP_OP_REQUEST, senderMac: CLIENT_MAC, senderIp: c, targetIp: VIP }),
  });
  v.drop('802.1Q-tagged ARP request for the VIP', vlanArp, 'VLAN');
  const other = (type: number) => ethernet({ dst: FE_MAC, src: CLIENT_MAC, type, payload: good.slice(14) });
  // IPv6 has rules of its own (docs/semantics.md, "IPv6"); IPv4 bytes behind its EtherType: version 4.
  v.drop('EtherType IPv6 0x86dd carrying an IPv4 packet', other(0x86dd), 'IP_MALFORMED');
  v.drop('EtherType LLDP 0x88cc', other(0x88cc), 'ETHERTYPE');
  v.drop('802.3 length field 0x002e', other(0x002e), 'ETHERTYPE');
  v.drop('EtherType 0x0801', other(0x0801), 'ETHERTYPE');
  v.drop(
    'IPv4 to the frontend MAC, not to the VIP',
    tcpFrame({ ...fe(c), dst: '10.0.0.101' }, { sport: 1, dport: 80 }),
    'NOT_VIP',
  );
  v.drop(
    'IPv4 to another IP and another MAC (NOT_VIP comes first)',
    tcpFrame({ ...fe(c, '52:54:00:00:00:99'), dst: '10.0.0.101' }, { sport: 1, dport: 80 }),
    'NOT_VIP',
  );
  v.drop(
    'IPv4 to the VIP, broadcast MAC',
    tcpFrame(fe(c, 'ff:ff:ff:ff:ff:ff'), { sport: 40001, dport: 80 }),
    'DST_MAC',
  );
  v.drop(
    'IPv4 to the VIP, another unicast MAC',
    tcpFrame(fe(c, '52:54:00:00:00:99'), { sport: 40001, dport: 80 }),
    'DST_MAC',
  );
  v.drop(
    'IPv4 to the VIP, backend port MAC as destination',
    tcpFrame(fe(c, BP_MAC), { sport: 40001, dport: 80 }),
    'DST_MAC',
  );
  v.drop(
    'wrong MAC and GRE: DST_MAC comes before the protocol check',
    ipv4Frame(fe(c, '52:54:00:00:00:99'), 47, pattern(8)),
    'DST_MAC',
  );
  v.balanced('the same TCP SYN to the frontend MAC is balanced', good, key(c, 40001, 80, 6));
  return v.build();
}

export function ipMalformedVector(variant?: Variant): Vector {
  const v = variantOf(
    variant,
    'ipv4-malformed',
    'Malformed IPv4 headers are dropped (rule 6); padding and bad checksums are not errors',
    BASE,
  );
  const c = CLIENTS[1]!;
  const a = fe(c);
  const seg = tcp({ sport: 40002, dport: 80, pseudo: { src: c, dst: VIP } });
  v.drop('33 bytes: IPv4 header cut', tcpFrame(a, { sport: 40002, dport: 80 }).slice(0, 33), 'IP_MALFORMED');
  v.drop('version 6 in an IPv4 EtherType', ipv4Frame(a, 6, seg, { version: 6 }), 'IP_MALFORMED');
  v.drop('version 0', ipv4Frame(a, 6, seg, { version: 0 }), 'IP_MALFORMED');
  v.drop('IHL 4', ipv4Frame(a, 6, seg, { ihl: 4 }), 'IP_MALFORMED');
  v.drop('IHL 0', ipv4Frame(a, 6, seg, { ihl: 0 }), 'IP_MALFORMED');
  v.drop(
    'IHL 15 but only 20 header + 20 TCP bytes in the frame... (54 < 14 + 60)',
    ipv4Frame(a, 6, seg, { ihl: 15 }).slice(0, 54),
    'IP_MALFORMED',
  );
  v.drop('total length 19 (< IHL*4)', ipv4Frame(a, 6, seg, { totalLength: 19 }), 'IP_MALFORMED');
  v.drop('total length 0', ipv4Frame(a, 6, seg, { totalLength: 0 }), 'IP_MALFORMED');
  v.drop(
    'total length one byte longer than the frame',
    ipv4Frame(a, 6, seg, { totalLength: 41 }),
    'IP_MALFORMED',
  );
  v.drop('total length 1500 in a 54-byte frame', ipv4Frame(a, 6, seg, { totalLength: 1500 }), 'IP_MALFORMED');
  v.drop(
    'malformed IP to the wrong MAC: IP_MALFORMED comes before DST_MAC',
    ipv4Frame(fe(c, '52:54:00:00:00:99'), 6, seg, { ihl: 4 }),
    'IP_MALFORMED',
  );
  v.drop(
    'malformed IP to another address: IP_MALFORMED comes before NOT_VIP',
    ipv4Frame({ ...a, dst: '10.0.0.101' }, 6, seg, { totalLength: 19 }),
    'IP_MALFORMED',
  );
  v.balanced(
    'bad IP header checksum: not verified, balanced unchanged',
    ipv4Frame(a, 6, seg, { checksum: 0xbeef }),
    key(c, 40002, 80, 6),
  );
  const u = udp({ sport: 5353, dport: 53, payload: pattern(4), pseudo: { src: c, dst: VIP } });
  const padded = ipv4Frame(a, 17, u, {}, 14);
  padded.fill(0xa5, padded.length - 14);
  v.balanced(
    'UDP in a 60-byte frame: trailing padding after total length kept as is',
    padded,
    key(c, 5353, 53, 17),
  );
  v.balanced('total length == frame length - 14 exactly', ipv4Frame(a, 6, seg), key(c, 40002, 80, 6));
  return v.build();
}

function tcpUdpVector(): Vector {
  const v = vb(
    'tcp-udp',
    'TCP and UDP flows use the 5-tuple; ports are read after IP options; short L4 headers are dropped',
    BASE,
  );
  const c = CLIENTS[0]!;
  const a = fe(c);
  // Two flows of one client that Maglev sends to different backends: ports are part of the key.
  const p1 = 43210;
  const b1 = v.pick(key(c, p1, 80, 6));
  const p2 = find('a sport with another backend', (s) => v.pick(key(c, s, 80, 6)) !== b1, p1 + 1);
  v.balanced('TCP SYN, flow 1', tcpFrame(a, { sport: p1, dport: 80, flags: TCP_SYN }), key(c, p1, 80, 6));
  v.balanced(
    'TCP SYN, flow 2 (same client, other port, other backend)',
    tcpFrame(a, { sport: p2, dport: 80 }),
    key(c, p2, 80, 6),
  );
  v.also({ notBackend: b1 });
  v.balanced(
    'TCP ACK, flow 1',
    tcpFrame(a, { sport: p1, dport: 80, flags: TCP_ACK, seq: 2, ack: 99 }),
    key(c, p1, 80, 6),
  );
  v.also({ sameBackendAs: 0 });
  v.balanced(
    'TCP data, flow 1',
    tcpFrame(a, { sport: p1, dport: 80, flags: TCP_ACK | TCP_PSH, seq: 2, payload: pattern(100) }),
    key(c, p1, 80, 6),
  );
  v.balanced('TCP to another port of the VIP', tcpFrame(a, { sport: p1, dport: 443 }), key(c, p1, 443, 6));
  v.balanced(
    'UDP datagram',
    udpFrame(a, { sport: 5000, dport: 53, payload: pattern(30) }),
    key(c, 5000, 53, 17),
  );
  v.balanced(
    'UDP with the same ports as a TCP flow is another flow',
    udpFrame(a, { sport: p1, dport: 80 }),
    key(c, p1, 80, 17),
  );
  v.balanced(
    'UDP with no payload (8-byte header)',
    udpFrame(a, { sport: 5001, dport: 53 }),
    key(c, 5001, 53, 17),
  );
  v.balanced(
    'UDP with a wrong UDP length field (not checked)',
    udpFrame(a, { sport: 5002, dport: 53, length: 3 }),
    key(c, 5002, 53, 17),
  );
  v.balanced(
    'TCP with data offset 15 in a 20-byte segment (not checked)',
    ipv4Frame(
      a,
      6,
      (() => {
        const t = tcp({ sport: 5003, dport: 80 });
        t[12] = 0xf0;
        return t;
      })(),
    ),
    key(c, 5003, 80, 6),
  );
  // IP options: ports follow the options. Choose a port whose backend differs from what reading
  // at offset 20 (the options) would give.
  const nops = Uint8Array.from([1, 1, 1, 0]); // NOP NOP NOP EOL -> a misread gives ports 0x0101/0x0100
  const po = find(
    'options flow whose misread ports pick another backend',
    (s) => v.pick(key(c, s, 80, 6)) !== v.pick(key(c, 0x0101, 0x0100, 6)),
    30000,
  );
  v.balanced(
    'TCP with 4 bytes of IP options (IHL 6)',
    tcpFrame(a, { sport: po, dport: 80 }, { options: nops }),
    key(c, po, 80, 6),
  );
  const rr = new Uint8Array(40);
  rr.set([7, 39, 4]); // record route, 9 empty slots, then EOL padding
  const pm = find(
    'max-options flow whose misread ports pick another backend',
    (s) => v.pick(key(c, s, 8080, 17)) !== v.pick(key(c, 0x0727, 0x0400, 17)),
    20000,
  );
  v.balanced(
    'UDP with 40 bytes of IP options (IHL 15)',
    udpFrame(a, { sport: pm, dport: 8080, payload: pattern(3) }, { options: rr }),
    key(c, pm, 8080, 17),
  );
  v.balanced(
    'TCP SYN from a second client',
    tcpFrame(fe(CLIENTS[1]!), { sport: p1, dport: 80 }),
    key(CLIENTS[1]!, p1, 80, 6),
  );
  const seg19 = tcp({ sport: 40000, dport: 80 }).slice(0, 19);
  v.drop('TCP header of 19 bytes', ipv4Frame(a, 6, seg19), 'L4_TRUNCATED');
  v.drop(
    'TCP: 20 bytes in the frame but total length leaves 19',
    ipv4Frame(a, 6, tcp({ sport: 40000, dport: 80 }), { totalLength: 39 }),
    'L4_TRUNCATED',
  );
  v.drop(
    'TCP with IP options: l4len = total length - IHL*4 = 19',
    ipv4Frame(a, 6, seg19, { options: nops }),
    'L4_TRUNCATED',
  );
  v.drop('TCP, no L4 bytes at all', ipv4Frame(a, 6, new Uint8Array(0)), 'L4_TRUNCATED');
  v.drop('UDP header of 7 bytes', ipv4Frame(a, 17, udp({ sport: 1, dport: 53 }).slice(0, 7)), 'L4_TRUNCATED');
  const u8 = udp({ sport: 1, dport: 53 });
  v.drop(
    'UDP, padded frame but total length leaves 7',
    ipv4Frame(a, 17, u8, { totalLength: 27 }, 10),
    'L4_TRUNCATED',
  );
  v.balanced('flow 2 again', tcpFrame(a, { sport: p2, dport: 80, flags: TCP_ACK }), key(c, p2, 80, 6));
  v.also({ sameBackendAs: 1 });
  v.balanced(
    'flow 1 FIN',
    tcpFrame(a, { sport: p1, dport: 80, flags: TCP_FIN | TCP_ACK }),
    key(c, p1, 80, 6),
  );
  return v.build();
}

function icmpVector(): Vector {
  const v = vb(
    'icmp',
    'ICMP echo request and reply use {src, dst, 0, 0, 1}; other ICMP types are dropped',
    BASE,
  );
  const c = CLIENTS[2]!;
  const a = fe(c);
  const k = key(c, 0, 0, 1);
  v.balanced(
    'echo request',
    icmpEchoFrame(a, { type: ICMP_ECHO_REQUEST, id: 7, seq: 1, payload: pattern(56) }),
    k,
  );
  v.balanced(
    'echo request, next sequence, other id: same key',
    icmpEchoFrame(a, { type: ICMP_ECHO_REQUEST, id: 8, seq: 2 }),
    k,
  );
  v.also({ sameBackendAs: 0 });
  v.balanced(
    'echo reply from the same client: same key',
    icmpEchoFrame(a, { type: ICMP_ECHO_REPLY, id: 9, seq: 1 }),
    k,
  );
  v.also({ sameBackendAs: 0 });
  v.balanced(
    'echo request with a non-zero code (code is not checked)',
    icmpEchoFrame(a, { type: ICMP_ECHO_REQUEST, code: 5 }),
    k,
  );
  v.balanced(
    'echo request from another client',
    icmpEchoFrame(fe(CLIENTS[3]!), { type: ICMP_ECHO_REQUEST }),
    key(CLIENTS[3]!, 0, 0, 1),
  );
  v.balanced('ICMP with exactly 8 bytes', icmpEchoFrame(a, { type: ICMP_ECHO_REQUEST }), k);
  v.drop('ICMP of 7 bytes', ipv4Frame(a, 1, icmpEcho({ type: 8 }).slice(0, 7)), 'L4_TRUNCATED');
  v.drop(
    'ICMP, total length leaves 4 bytes',
    ipv4Frame(a, 1, icmpEcho({ type: 8 }), { totalLength: 24 }),
    'L4_TRUNCATED',
  );
  for (const [t, name] of [
    [13, 'timestamp request'],
    [14, 'timestamp reply'],
    [5, 'redirect'],
    [9, 'router advertisement'],
    [10, 'router solicitation'],
    [4, 'source quench'],
    [17, 'address mask request'],
    [42, 'extended echo request'],
  ] as const) {
    v.drop(`ICMP type ${t} (${name})`, icmpEchoFrame(a, { type: t, payload: pattern(12) }), 'ICMP_TYPE');
  }
  return v.build();
}

function icmpErrorsVector(): Vector {
  const v = vb(
    'icmp-errors',
    'ICMP errors quoting a packet sent from the VIP reach the backend of the flow they belong to (rule 9); malformed or foreign quotes are dropped',
    { ...BASE, algorithm: 'HASH_SRC_IP' },
  );
  const c = CLIENTS[0]!;
  const r: FrameAddressing = { ethDst: FE_MAC, ethSrc: ROUTER_MAC, src: ROUTER_IP, dst: VIP };
  const b = v.pick(key(c, 0, 0, 6));
  // A flow recorded under HASH_SRC_IP whose 5-tuple Maglev choice differs: only the session knows it.
  const sp = find(
    'flow whose 5-tuple pick differs from its src-ip pick',
    (s) => referencePick([1, 2, 3], 'HASH_SESSION', key(c, s, 80, 6)) !== b,
  );
  v.balanced(
    'TCP SYN recorded under HASH_SRC_IP',
    tcpFrame(fe(c), { sport: sp, dport: 80 }),
    key(c, sp, 80, 6),
  );
  const fromVip = (proto: number, l4: Uint8Array, extra = {}) =>
    ipv4({ src: VIP, dst: c, proto, payload: l4, ...extra });
  const synack = fromVip(
    6,
    tcp({ sport: 80, dport: sp, flags: TCP_SYN | TCP_ACK, pseudo: { src: VIP, dst: c } }),
  );
  v.reconfigure({ algorithm: 'HASH_SESSION' });
  v.balanced(
    'fragmentation needed quoting the SYN-ACK: the session backend, not Maglev',
    icmpErrorFrame(r, { type: ICMP_DEST_UNREACH, code: ICMP_FRAG_NEEDED, mtu: 1400, inner: quote(synack) }),
    key(c, sp, 80, 6),
    { readOnly: true },
  );
  v.also({ sameBackendAs: 0 });
  v.balanced(
    'the same error quoting the whole SYN-ACK (more than 8 bytes of L4)',
    icmpErrorFrame(r, { type: ICMP_DEST_UNREACH, code: ICMP_FRAG_NEEDED, mtu: 1400, inner: synack }),
    key(c, sp, 80, 6),
    { readOnly: true },
  );
  v.also({ sameBackendAs: 0 });
  // An error for a flow with no session: Maglev on the flow's key, nothing recorded.
  const sq = 51000;
  const rst = fromVip(6, tcp({ sport: 80, dport: sq, flags: TCP_ACK, pseudo: { src: VIP, dst: c } }));
  const e1 = v.balanced(
    'host unreachable quoting a packet of a flow without a session: Maglev on its key',
    icmpErrorFrame(r, { type: ICMP_DEST_UNREACH, code: 1, inner: quote(rst) }),
    key(c, sq, 80, 6),
    { readOnly: true },
  );
  v.balanced(
    'that flow then starts: a MISS (the error recorded nothing), same backend',
    tcpFrame(fe(c), { sport: sq, dport: 80 }),
    key(c, sq, 80, 6),
  );
  v.also({ sameBackendAs: e1 });
  // UDP under time exceeded.
  v.balanced(
    'UDP flow',
    udpFrame(fe(c), { sport: 6000, dport: 53, payload: pattern(20) }),
    key(c, 6000, 53, 17),
  );
  const udpOut = fromVip(
    17,
    udp({ sport: 53, dport: 6000, payload: pattern(40), pseudo: { src: VIP, dst: c } }),
  );
  v.balanced(
    'time exceeded quoting the UDP answer',
    icmpErrorFrame(r, { type: ICMP_TIME_EXCEEDED, inner: quote(udpOut) }),
    key(c, 6000, 53, 17),
    { readOnly: true },
  );
  // ICMP echo inside a parameter problem.
  v.balanced('ping from the client', icmpEchoFrame(fe(c), { type: ICMP_ECHO_REQUEST }), key(c, 0, 0, 1));
  const pong = fromVip(1, icmpEcho({ type: ICMP_ECHO_REPLY, payload: pattern(16) }));
  v.balanced(
    'parameter problem quoting the echo reply',
    icmpErrorFrame(r, { type: ICMP_PARAM_PROBLEM, pointer: 1, inner: quote(pong) }),
    key(c, 0, 0, 1),
    { readOnly: true },
  );
  const ping = fromVip(1, icmpEcho({ type: ICMP_ECHO_REQUEST }));
  v.balanced(
    'destination unreachable quoting an echo request sent from the VIP',
    icmpErrorFrame(r, { type: ICMP_DEST_UNREACH, code: 3, inner: quote(ping) }),
    key(c, 0, 0, 1),
    { readOnly: true },
  );
  // Inner header with options: ports after the options.
  const withOpts = fromVip(6, tcp({ sport: 80, dport: sp }), { options: Uint8Array.from([1, 1, 1, 0]) });
  v.balanced(
    'quoted packet with IP options (inner IHL 6): inner ports after its options',
    icmpErrorFrame(r, { type: ICMP_DEST_UNREACH, code: ICMP_FRAG_NEEDED, mtu: 1280, inner: quote(withOpts) }),
    key(c, sp, 80, 6),
    { readOnly: true },
  );
  v.also({ sameBackendAs: 0 });
  // Inner fragment: 3-tuple of the balanced flow.
  const innerFrag = fromVip(17, pattern(16), { mf: true, id: 77 });
  v.balanced(
    'time exceeded (reassembly) quoting a fragment sent from the VIP: key {client, VIP, 0, 0, 17}',
    icmpErrorFrame(r, { type: ICMP_TIME_EXCEEDED, code: 1, inner: quote(innerFrag) }),
    key(c, 0, 0, 17),
    { readOnly: true },
  );
  const innerLater = fromVip(6, pattern(8), { fragOffset: 100, id: 78 });
  v.balanced(
    'quoting a non-first TCP fragment (its 8 quoted bytes are data, not ports)',
    icmpErrorFrame(r, { type: ICMP_DEST_UNREACH, code: ICMP_FRAG_NEEDED, inner: innerLater }),
    key(c, 0, 0, 6),
    { readOnly: true },
  );
  v.drop(
    'quoting a fragment with only 4 bytes after its header: the 8-byte check comes before the fragment rule',
    icmpErrorFrame(r, { type: ICMP_DEST_UNREACH, code: ICMP_FRAG_NEEDED, inner: innerLater.slice(0, 24) }),
    'ICMP_INNER',
  );
  // Drops.
  const err = (inner: Uint8Array, type: number = ICMP_DEST_UNREACH) =>
    icmpErrorFrame(r, { type, code: 4, inner });
  const foreign = ipv4({ src: '10.0.0.50', dst: c, proto: 6, payload: tcp({ sport: 80, dport: sp }) });
  v.drop('quoted packet not from the VIP', err(quote(foreign)), 'ICMP_INNER');
  v.drop(
    'quoted packet from the client to the VIP (not sent by the VIP)',
    err(quote(ipv4({ src: c, dst: VIP, proto: 6, payload: tcp({ sport: sp, dport: 80 }) }))),
    'ICMP_INNER',
  );
  v.drop('quoted GRE packet from the VIP', err(quote(fromVip(47, pattern(8)))), 'ICMP_INNER');
  v.drop(
    'quoted ICMP from the VIP with type 3 (an error about an error)',
    err(quote(fromVip(1, icmpEcho({ type: 3 })))),
    'ICMP_INNER',
  );
  v.drop('quoted ICMP timestamp from the VIP', err(quote(fromVip(1, icmpEcho({ type: 13 })))), 'ICMP_INNER');
  v.drop('only 19 bytes quoted', err(quote(synack).slice(0, 19)), 'ICMP_INNER');
  v.drop('inner header and 7 bytes of L4 (8 needed)', err(quote(synack).slice(0, 27)), 'ICMP_INNER');
  v.drop('inner header with options and only 4 bytes of L4', err(quote(withOpts).slice(0, 28)), 'ICMP_INNER');
  v.drop('nothing quoted', err(new Uint8Array(0)), 'ICMP_INNER');
  const bad = (f: (b: Uint8Array) => void) => {
    const q = quote(synack);
    f(q);
    return err(q);
  };
  v.drop(
    'inner version 6',
    bad((q) => {
      q[0] = 0x65;
    }),
    'ICMP_INNER',
  );
  v.drop(
    'inner IHL 4',
    bad((q) => {
      q[0] = 0x44;
    }),
    'ICMP_INNER',
  );
  v.drop(
    'inner IHL 6 with 8 bytes of L4 after 20 (needs 32)',
    bad((q) => {
      q[0] = 0x46;
    }),
    'ICMP_INNER',
  );
  v.drop(
    'outer ICMP error of 7 bytes',
    ipv4Frame(r, 1, icmpError({ type: 3, inner: quote(synack) }).slice(0, 7)),
    'L4_TRUNCATED',
  );
  v.drop(
    'ICMP error about a packet to the VIP from elsewhere, outer dst not the VIP',
    icmpErrorFrame({ ...r, dst: '10.0.0.101' }, { type: 3, inner: quote(synack) }),
    'NOT_VIP',
  );
  v.balanced(
    'the flow itself is still a session hit on its first backend',
    tcpFrame(fe(c), { sport: sp, dport: 80, flags: TCP_ACK }),
    key(c, sp, 80, 6),
  );
  v.also({ sameBackendAs: 0 });
  return v.build();
}

function fragmentsVector(): Vector {
  const v = vb(
    'fragments',
    'Fragments: a TCP/UDP first fragment is balanced by its own ports and teaches them to the later fragments of its datagram ({src, dst, proto, IP id}, 2 s), which then follow the flow; without a fresh entry (or for ICMP) the key is {src, dst, 0, 0, proto}',
    BASE,
  );
  const c = CLIENTS[1]!;
  const a = fe(c);
  const fragB = v.pick(key(c, 0, 0, 17));
  const sp = find(
    'UDP flow whose 5-tuple pick differs from the 3-tuple',
    (s) => v.pick(key(c, s, 4789, 17)) !== fragB,
  );
  const whole = udp({ sport: sp, dport: 4789, payload: pattern(40), pseudo: { src: c, dst: VIP } }); // 48 bytes
  const k3 = key(c, 0, 0, 17);
  const k5 = key(c, sp, 4789, 17);
  const first = (id: number) => ipv4Frame(a, 17, whole.slice(0, 24), { id, mf: true });
  const middle = (id: number) => ipv4Frame(a, 17, whole.slice(24, 40), { id, mf: true, fragOffset: 3 });
  const last = (id: number) => ipv4Frame(a, 17, whole.slice(40), { id, fragOffset: 5 });
  const f0 = v.fragment(
    'first fragment (offset 0, MF): its own UDP ports, learned',
    first(0x777),
    k5,
    'NONE',
  );
  v.also({ notBackend: fragB });
  v.fragment('middle fragment (offset 3, MF): the learned ports', middle(0x777), k5, 'HIT');
  v.also({ sameBackendAs: f0 });
  v.fragment('last fragment (offset 5): the learned ports', last(0x777), k5, 'HIT');
  v.also({ sameBackendAs: f0 });
  v.fragment(
    'the middle fragment again after the last (reordered): the entry is still there',
    middle(0x777),
    k5,
    'HIT',
  );
  v.also({ sameBackendAs: f0 });
  v.balanced(
    'an unfragmented datagram of the same UDP flow: the same 5-tuple, the same backend',
    udpFrame(a, { sport: sp, dport: 4789, payload: pattern(40) }),
    k5,
  );
  v.also({ sameBackendAs: f0 });
  v.balanced(
    'DF set and not fragmented: an ordinary 5-tuple packet',
    udpFrame(a, { sport: sp, dport: 4789 }, { df: true }),
    k5,
  );
  v.fragment('a later fragment of a datagram never seen: {src, dst, 0, 0, 17}', middle(0x77a), k3, 'MISS');
  v.also({ backend: fragB });
  v.fragment(
    'a later fragment of the same id but TCP: the protocol is part of the identity',
    ipv4Frame(a, 6, whole.slice(24, 40), { id: 0x777, mf: true, fragOffset: 3 }),
    key(c, 0, 0, 6),
    'MISS',
  );
  // Reordering: a later fragment that overtakes its first one keeps the rule without a table.
  v.fragment('the last fragment overtakes its first one: {src, dst, 0, 0, 17}', last(0x779), k3, 'MISS');
  v.also({ backend: fragB });
  const r0 = v.fragment("then its first fragment: the flow's backend", first(0x779), k5, 'NONE');
  v.also({ sameBackendAs: f0 });
  v.fragment('then its middle fragment: learned', middle(0x779), k5, 'HIT');
  v.also({ sameBackendAs: r0 });

  // TCP: a flow whose 3-tuple backend has no connection.
  const tFragB = v.pick(key(c, 0, 0, 6));
  const tp = find(
    'TCP flow whose 5-tuple pick differs from the 3-tuple',
    (s) => v.pick(key(c, s, 80, 6)) !== tFragB,
  );
  const t = tcp({ sport: tp, dport: 80, payload: pattern(64), pseudo: { src: c, dst: VIP } });
  const k6 = key(c, tp, 80, 6);
  const syn = v.balanced('TCP SYN of the flow', tcpFrame(a, { sport: tp, dport: 80, flags: TCP_SYN }), k6);
  v.also({ notBackend: tFragB });
  v.fragment(
    'TCP first fragment of only 8 bytes: the ports are there (no full TCP header needed)',
    ipv4Frame(a, 6, t.slice(0, 8), { id: 9, mf: true }),
    k6,
    'NONE',
  );
  v.also({ sameBackendAs: syn });
  v.fragment(
    'TCP last fragment of 4 bytes',
    ipv4Frame(a, 6, t.slice(80, 84), { id: 9, fragOffset: 10 }),
    k6,
    'HIT',
  );
  v.also({ sameBackendAs: syn });
  v.fragment(
    'TCP fragment with no payload at all',
    ipv4Frame(a, 6, new Uint8Array(0), { id: 9, fragOffset: 1, mf: true }),
    k6,
    'HIT',
  );
  v.also({ sameBackendAs: syn });
  v.fragment(
    'fragment with IP options (IHL 6)',
    ipv4Frame(a, 6, t.slice(8, 16), {
      id: 9,
      fragOffset: 1,
      mf: true,
      options: Uint8Array.from([1, 1, 1, 0]),
    }),
    k6,
    'HIT',
  );
  v.also({ sameBackendAs: syn });
  v.fragment(
    'a first fragment with no payload (no ports): {src, dst, 0, 0, 6}, nothing learned',
    ipv4Frame(a, 6, new Uint8Array(0), { id: 10, mf: true }),
    key(c, 0, 0, 6),
    'NONE',
  );
  v.fragment(
    '... so its later fragment misses',
    ipv4Frame(a, 6, t.slice(0, 8), { id: 10, fragOffset: 1 }),
    key(c, 0, 0, 6),
    'MISS',
  );

  const ping = icmpEcho({ type: ICMP_ECHO_REQUEST, payload: pattern(1500) });
  const k1 = key(c, 0, 0, 1);
  v.fragment(
    'first fragment of a large ping: ICMP fragments share the echo key, no table',
    ipv4Frame(a, 1, ping.slice(0, 1480), { id: 5, mf: true }),
    k1,
    'NONE',
  );
  v.fragment(
    'last fragment of the ping',
    ipv4Frame(a, 1, ping.slice(1480), { id: 5, fragOffset: 185 }),
    k1,
    'NONE',
  );
  v.balanced('an unfragmented ping: same key', icmpEchoFrame(a, { type: ICMP_ECHO_REQUEST }), k1);
  v.fragment(
    'non-first fragment whose payload looks like an ICMP timestamp: L4 not read',
    ipv4Frame(a, 1, icmpEcho({ type: 13 }), { id: 6, fragOffset: 2 }),
    k1,
    'NONE',
  );
  v.drop(
    'fragment of GRE: protocol checked first',
    ipv4Frame(a, 47, pattern(16), { id: 3, mf: true }),
    'PROTO',
  );
  v.drop(
    'fragment to another IP',
    ipv4Frame({ ...a, dst: '10.0.0.101' }, 17, pattern(16), { mf: true }),
    'NOT_VIP',
  );
  v.fragment('first fragment of another datagram of the UDP flow', first(0x778), k5, 'NONE');
  v.also({ sameBackendAs: f0 });

  // The timeout: the ports serve 2000 ms after the first fragment, the boundary included.
  const t0 = 1000;
  v.at(t0 + 1500).fragment('1500 ms after its first fragment: learned', middle(0x778), k5, 'HIT');
  v.also({ sameBackendAs: f0 });
  v.at(t0 + 2000).fragment(
    '2000 ms after: still learned (the lookup did not extend it)',
    last(0x778),
    k5,
    'HIT',
  );
  v.also({ sameBackendAs: f0 });
  v.at(t0 + 2001).fragment('2001 ms after: expired, {src, dst, 0, 0, 17}', middle(0x778), k3, 'MISS');
  v.also({ backend: fragB });
  v.fragment('a new first fragment of the same id replaces the expired entry', first(0x778), k5, 'NONE');
  v.also({ sameBackendAs: f0 });
  v.fragment('and serves again', last(0x778), k5, 'HIT');
  v.also({ sameBackendAs: f0 });
  return v.build();
}

function protocolsVector(): Vector {
  const v = vb('protocols', 'Protocols other than TCP, UDP and ICMP are dropped (rule 9)', BASE);
  const a = fe(CLIENTS[0]!);
  for (const [p, name] of [
    [47, 'GRE'],
    [50, 'ESP'],
    [51, 'AH'],
    [132, 'SCTP'],
    [2, 'IGMP'],
    [4, 'IP-in-IP'],
    [41, 'IPv6-in-IPv4'],
    [0, 'HOPOPT'],
    [255, 'reserved'],
  ] as const) {
    v.drop(`protocol ${p} (${name})`, ipv4Frame(a, p, pattern(24)), 'PROTO');
  }
  v.drop('protocol 47 with nothing after the IP header', ipv4Frame(a, 47, new Uint8Array(0)), 'PROTO');
  return v.build();
}

function backendPortVector(): Vector {
  const v = vb(
    'backend-port',
    'On the BACKEND port (rule 1, before any other check) ARP frames and frames to the probe MAC are passed to the kernel, everything else is dropped',
    BASE,
  );
  const c = CLIENTS[0]!;
  v.drop('TCP to the VIP', tcpFrame(fe(c), { sport: 1234, dport: 80 }), 'BACKEND_PORT', 'BACKEND');
  v.drop(
    'server reply (DSR return traffic)',
    tcpFrame(
      { ethDst: CLIENT_MAC, ethSrc: '02:02:02:02:02:02', src: VIP, dst: c },
      { sport: 80, dport: 1234 },
    ),
    'BACKEND_PORT',
    'BACKEND',
  );
  v.pass(
    'ARP request for the VIP',
    arpRequestFrame({ senderMac: '02:02:02:02:02:02', senderIp: '10.0.1.2', targetIp: VIP }),
  );
  v.drop('empty frame', new Uint8Array(0), 'BACKEND_PORT', 'BACKEND');
  v.drop('5 bytes', pattern(5), 'BACKEND_PORT', 'BACKEND');
  v.drop(
    'VLAN frame',
    ethernet({ dst: FE_MAC, src: CLIENT_MAC, type: ETH_P_IPV4, vlans: [{ tci: 1 }], payload: pattern(40) }),
    'BACKEND_PORT',
    'BACKEND',
  );
  v.balanced(
    'the same TCP frame on the FRONTEND port is balanced',
    tcpFrame(fe(c), { sport: 1234, dport: 80 }),
    key(c, 1234, 80, 6),
  );
  return v.build();
}

function notReadyVector(): Vector {
  const v = vb(
    'not-ready',
    'Without a backend port MAC the instance is not ready: ARP is still answered, checks up to rule 9 still apply, then NOT_READY (rule 10)',
    BASE,
    null,
  );
  const c = CLIENTS[0]!;
  const a = fe(c);
  const req = arpRequestFrame({ senderMac: CLIENT_MAC, senderIp: c, targetIp: VIP });
  const rep = concat(
    ethernet({
      dst: CLIENT_MAC,
      src: FE_MAC,
      type: ETH_P_ARP,
      payload: arp({
        op: ARP_OP_REPLY,
        senderMac: FE_MAC,
        senderIp: VIP,
        targetMac: CLIENT_MAC,
        targetIp: c,
      }),
    }),
    req.slice(42),
  );
  v.arpReply('ARP for the VIP is answered', req, rep);
  v.drop('TCP SYN', tcpFrame(a, { sport: 2000, dport: 80 }), 'NOT_READY');
  v.drop('UDP', udpFrame(a, { sport: 2000, dport: 53 }), 'NOT_READY');
  v.drop('ping', icmpEchoFrame(a, { type: 8 }), 'NOT_READY');
  v.drop('first fragment', ipv4Frame(a, 17, pattern(16), { id: 0x99, mf: true }), 'NOT_READY');
  v.drop('malformed IP first', ipv4Frame(a, 6, tcp({ sport: 1, dport: 2 }), { ihl: 3 }), 'IP_MALFORMED');
  v.drop('wrong MAC first', tcpFrame(fe(c, '52:54:00:00:00:99'), { sport: 2000, dport: 80 }), 'DST_MAC');
  v.drop('GRE: PROTO comes before NOT_READY', ipv4Frame(a, 47, pattern(8)), 'PROTO');
  v.drop('ICMP timestamp: ICMP_TYPE comes before NOT_READY', icmpEchoFrame(a, { type: 13 }), 'ICMP_TYPE');
  v.drop('truncated TCP: L4_TRUNCATED comes before NOT_READY', ipv4Frame(a, 6, pattern(10)), 'L4_TRUNCATED');
  v.drop(
    'ICMP error with a foreign quote: ICMP_INNER before NOT_READY',
    icmpErrorFrame(a, {
      type: 3,
      inner: quote(ipv4({ src: '1.2.3.4', dst: c, proto: 6, payload: tcp({ sport: 80, dport: 2000 }) })),
    }),
    'ICMP_INNER',
  );
  v.reconfigure({ backendPortMac: BP_MAC });
  v.balanced(
    'backend port MAC learnt: the SYN is balanced, source MAC = backend port MAC',
    tcpFrame(a, { sport: 2000, dport: 80 }),
    key(c, 2000, 80, 6),
  );
  v.fragment(
    'the dropped first fragment taught nothing: its later fragment misses',
    ipv4Frame(a, 17, pattern(16), { id: 0x99, fragOffset: 2 }),
    key(c, 0, 0, 17),
    'MISS',
  );
  v.reconfigure({ backendPortMac: '02:00:00:00:be:02' });
  v.balanced(
    'backend port MAC changed: new source MAC, same session',
    tcpFrame(a, { sport: 2000, dport: 80, flags: TCP_ACK }),
    key(c, 2000, 80, 6),
  );
  v.reconfigure({ backendPortMac: null });
  v.drop('backend port MAC lost again', tcpFrame(a, { sport: 2000, dport: 80, flags: TCP_ACK }), 'NOT_READY');
  return v.build();
}

function unconfiguredVector(): Vector {
  const v = vb(
    'unconfigured',
    'An instance with no VIP and no frontend MAC answers nothing and balances nothing',
    {
      frontend: {},
      backend: { pool: POOL3 },
    },
  );
  const c = CLIENTS[0]!;
  v.drop(
    'ARP for the would-be VIP',
    arpRequestFrame({ senderMac: CLIENT_MAC, senderIp: c, targetIp: VIP }),
    'ARP',
  );
  v.drop(
    'ARP for 0.0.0.0',
    arpRequestFrame({ senderMac: CLIENT_MAC, senderIp: c, targetIp: '0.0.0.0' }),
    'ARP',
  );
  v.drop('TCP to the would-be VIP', tcpFrame(fe(c), { sport: 1, dport: 80 }), 'NOT_VIP');
  v.drop(
    'TCP to 0.0.0.0 with a zero MAC',
    tcpFrame(
      { ethDst: '00:00:00:00:00:00', ethSrc: CLIENT_MAC, src: c, dst: '0.0.0.0' },
      { sport: 1, dport: 80 },
    ),
    'NOT_VIP',
  );
  v.reconfigure({ frontend: { vip: VIP, mac: FE_MAC } });
  v.balanced('VIP and MAC set: balanced', tcpFrame(fe(c), { sport: 1, dport: 80 }), key(c, 1, 80, 6));
  v.reconfigure({ frontend: { mac: '0a:bb:cc:dd:ee:01' } });
  const req = arpRequestFrame({ senderMac: CLIENT_MAC, senderIp: c, targetIp: VIP });
  v.arpReply(
    'frontend MAC changed: ARP answers with the new MAC',
    req,
    concat(
      ethernet({
        dst: CLIENT_MAC,
        src: '0a:bb:cc:dd:ee:01',
        type: ETH_P_ARP,
        payload: arp({
          op: ARP_OP_REPLY,
          senderMac: '0a:bb:cc:dd:ee:01',
          senderIp: VIP,
          targetMac: CLIENT_MAC,
          targetIp: c,
        }),
      }),
      req.slice(42),
    ),
  );
  v.drop(
    'frontend MAC changed: frames to the old MAC are dropped',
    tcpFrame(fe(c), { sport: 1, dport: 80, flags: TCP_ACK }),
    'DST_MAC',
  );
  v.balanced(
    'frames to the new MAC hit the session',
    tcpFrame(fe(c, '0a:bb:cc:dd:ee:01'), { sport: 1, dport: 80, flags: TCP_ACK }),
    key(c, 1, 80, 6),
  );
  v.reconfigure({ frontend: { vip: '10.0.0.200', mac: FE_MAC } });
  v.drop(
    'VIP moved: the old VIP is not served',
    tcpFrame(fe(c), { sport: 1, dport: 80, flags: TCP_ACK }),
    'NOT_VIP',
  );
  v.balanced(
    'the new VIP is',
    tcpFrame({ ...fe(c), dst: '10.0.0.200' }, { sport: 1, dport: 80 }),
    key(c, 1, 80, 6, '10.0.0.200'),
  );
  return v.build();
}

function noBackendVector(): Vector {
  const v = vb(
    'no-backend',
    'An empty pool drops with NO_BACKEND and records nothing; sessions follow pool changes',
    {
      ...BASE,
      backend: { pool: [] },
    },
  );
  const c = CLIENTS[0]!;
  const a = fe(c);
  v.drop('TCP SYN, empty pool', tcpFrame(a, { sport: 3000, dport: 80 }), 'NO_BACKEND');
  v.drop('ping, empty pool', icmpEchoFrame(a, { type: 8 }), 'NO_BACKEND');
  v.drop(
    'ICMP error for a flow, empty pool',
    icmpErrorFrame(a, {
      type: 3,
      code: 4,
      inner: quote(ipv4({ src: VIP, dst: c, proto: 6, payload: tcp({ sport: 80, dport: 3000 }) })),
    }),
    'NO_BACKEND',
  );
  const arpReq = arpRequestFrame({ senderMac: CLIENT_MAC, senderIp: c, targetIp: VIP });
  v.arpReply(
    'ARP is still answered',
    arpReq,
    concat(
      ethernet({
        dst: CLIENT_MAC,
        src: FE_MAC,
        type: ETH_P_ARP,
        payload: arp({
          op: ARP_OP_REPLY,
          senderMac: FE_MAC,
          senderIp: VIP,
          targetMac: CLIENT_MAC,
          targetIp: c,
        }),
      }),
      arpReq.slice(42),
    ),
  );
  v.reconfigure({ addBackends: [{ id: 4000000000, mac: '0e:00:00:00:00:01' }] });
  v.balanced(
    'one backend with a large id: the SYN is a MISS (nothing was recorded before)',
    tcpFrame(a, { sport: 3000, dport: 80 }),
    key(c, 3000, 80, 6),
  );
  v.also({ backend: 4000000000 });
  v.balanced(
    'second packet hits',
    tcpFrame(a, { sport: 3000, dport: 80, flags: TCP_ACK }),
    key(c, 3000, 80, 6),
  );
  v.reconfigure({ removeBackends: [4000000000] });
  v.drop(
    'pool emptied: the session is stale and nothing can take it (no session counter moves)',
    tcpFrame(a, { sport: 3000, dport: 80, flags: TCP_ACK }),
    'NO_BACKEND',
  );
  v.drop('a new flow, empty pool', tcpFrame(a, { sport: 3001, dport: 80 }), 'NO_BACKEND');
  v.reconfigure({ addBackends: [{ id: 0, mac: '0e:00:00:00:00:02' }] });
  v.balanced(
    'backend id 0 added: the old flow is re-balanced to it',
    tcpFrame(a, { sport: 3000, dport: 80, flags: TCP_ACK }),
    key(c, 3000, 80, 6),
  );
  v.also({ backend: 0 });
  return v.build();
}

function persistenceVector(): Vector {
  const v = vb(
    'persistence',
    'Sessions persist over interleaved sequences of many flows: the first packet misses, the rest hit',
    BASE,
  );
  const flows: { c: string; sport: number; proto: number }[] = [];
  for (const c of CLIENTS) for (const sport of [33000, 33001, 44444]) flows.push({ c, sport, proto: 6 });
  for (const c of CLIENTS.slice(0, 2)) flows.push({ c, sport: 53000, proto: 17 }, { c, sport: 0, proto: 1 });
  const first = new Map<number, number>();
  for (let round = 0; round < 4; round++) {
    flows.forEach((f, i) => {
      const a = fe(f.c);
      const frame =
        f.proto === 6
          ? tcpFrame(a, {
              sport: f.sport,
              dport: 80,
              flags: round === 0 ? TCP_SYN : TCP_ACK,
              seq: round + 1,
              payload: pattern(round * 10),
            })
          : f.proto === 17
            ? udpFrame(a, { sport: f.sport, dport: 53, payload: pattern(round + 5) })
            : icmpEchoFrame(a, { type: 8, seq: round });
      const k = f.proto === 1 ? key(f.c, 0, 0, 1) : key(f.c, f.sport, f.proto === 6 ? 80 : 53, f.proto);
      const s = v.balanced(`round ${round}, flow ${i} (${f.c}:${f.sport}/${f.proto})`, frame, k);
      if (round === 0) first.set(i, s);
      else v.also({ sameBackendAs: first.get(i)! });
    });
    if (round === 1) v.at(30_000); // well within every timeout (ICMP 30 s: 29 s idle)
  }
  return v.build();
}

function algorithmSwitchVector(): Vector {
  const v = vb(
    'algorithm-switch',
    'Switching the algorithm keeps existing sessions; new flows use the new algorithm (HASH_SRC_IP: all new flows of one client reach one backend)',
    BASE,
  );
  const c = CLIENTS[0]!;
  const d = CLIENTS[3]!;
  const srcB = referencePick([1, 2, 3], 'HASH_SRC_IP', key(c, 0, 0, 6));
  // Old flows of c under HASH_SESSION, at least one on a backend other than the src-ip choice.
  const old = [41000, 41001, 41002, 41003];
  const off = find('a flow of c not on its src-ip backend', (s) => v.pick(key(c, s, 80, 6)) !== srcB, 41004);
  old.push(off);
  const firstSteps = old.map((s) =>
    v.balanced(`HASH_SESSION: flow ${s}`, tcpFrame(fe(c), { sport: s, dport: 80 }), key(c, s, 80, 6)),
  );
  v.reconfigure({ algorithm: 'HASH_SRC_IP' });
  old.forEach((s, i) => {
    v.balanced(
      `after the switch: old flow ${s} keeps its backend`,
      tcpFrame(fe(c), { sport: s, dport: 80, flags: TCP_ACK }),
      key(c, s, 80, 6),
    );
    v.also({ sameBackendAs: firstSteps[i]! });
  });
  let firstNew = -1;
  for (const s of [50000, 50001, 50002, 50003, 50004, 50005]) {
    const st = v.balanced(
      `HASH_SRC_IP: new flow ${s} of the same client`,
      tcpFrame(fe(c), { sport: s, dport: 80 }),
      key(c, s, 80, 6),
    );
    v.also({ backend: srcB! });
    if (firstNew < 0) firstNew = st;
    else v.also({ sameBackendAs: firstNew });
  }
  v.balanced(
    'HASH_SRC_IP: a UDP flow of the same client',
    udpFrame(fe(c), { sport: 7, dport: 53 }),
    key(c, 7, 53, 17),
  );
  v.also({ sameBackendAs: firstNew });
  v.balanced('HASH_SRC_IP: a ping of the same client', icmpEchoFrame(fe(c), { type: 8 }), key(c, 0, 0, 1));
  v.also({ sameBackendAs: firstNew });
  v.fragment(
    'HASH_SRC_IP: a first fragment of the same client (its own ports in the key)',
    ipv4Frame(fe(c), 17, pattern(16), { mf: true }),
    key(c, 0x3031, 0x3233, 17),
    'NONE',
  );
  v.also({ sameBackendAs: firstNew });
  const dFirst = v.balanced(
    'HASH_SRC_IP: another client',
    tcpFrame(fe(d), { sport: 50000, dport: 80 }),
    key(d, 50000, 80, 6),
  );
  v.balanced(
    'HASH_SRC_IP: another flow of that client',
    tcpFrame(fe(d), { sport: 50001, dport: 443 }),
    key(d, 50001, 443, 6),
  );
  v.also({ sameBackendAs: dFirst });
  v.reconfigure({ algorithm: 'HASH_SESSION' });
  for (let i = 0; i < 3; i++) {
    const s = 50000 + i;
    v.balanced(
      `back to HASH_SESSION: src-ip flow ${s} keeps its backend`,
      tcpFrame(fe(c), { sport: s, dport: 80, flags: TCP_ACK }),
      key(c, s, 80, 6),
    );
    v.also({ backend: srcB! });
  }
  const n = find(
    'a new flow of c whose 5-tuple pick differs from src-ip',
    (s) => v.pick(key(c, s, 80, 6)) !== srcB,
    60000,
  );
  v.balanced(
    'back to HASH_SESSION: a new flow of c uses the 5-tuple',
    tcpFrame(fe(c), { sport: n, dport: 80 }),
    key(c, n, 80, 6),
  );
  v.also({ notBackend: srcB! });
  return v.build();
}

function backendRemovalVector(): Vector {
  const v = vb(
    'backend-removal',
    "Removing a backend re-balances its sessions on their next packet (SESSION_STALE); other backends' sessions are untouched; adding it back moves no session",
    BASE,
  );
  const c = CLIENTS[2]!;
  const ids = [1, 2, 3];
  const after = [1, 3];
  // Flows: several per backend, plus one owned by 1 or 3 that Maglev over {1,3} would move.
  const sports: number[] = [];
  for (const id of ids) {
    let n = 0;
    for (let s = 20000; n < 2; s++) {
      if (v.pick(key(c, s, 80, 6)) === id) {
        sports.push(s);
        n++;
      }
    }
  }
  const moved = find(
    'a flow of backend 1 or 3 that Maglev over {1,3} sends elsewhere',
    (s) => {
      const before = referencePick(ids, 'HASH_SESSION', key(c, s, 80, 6));
      return before !== 2 && referencePick(after, 'HASH_SESSION', key(c, s, 80, 6)) !== before;
    },
    21000,
    40000,
  );
  sports.push(moved);
  const first = new Map<number, number>();
  for (const s of sports)
    first.set(s, v.balanced(`flow ${s} starts`, tcpFrame(fe(c), { sport: s, dport: 80 }), key(c, s, 80, 6)));
  v.reconfigure({ removeBackends: [2] });
  for (const s of sports) {
    const owner = v.steps[first.get(s)!]!.expect.backend!;
    v.balanced(
      owner === 2
        ? `flow ${s} of removed backend 2: stale, re-balanced`
        : `flow ${s} of backend ${owner}: untouched`,
      tcpFrame(fe(c), { sport: s, dport: 80, flags: TCP_ACK }),
      key(c, s, 80, 6),
    );
    if (owner === 2) v.also({ notBackend: 2 });
    else v.also({ sameBackendAs: first.get(s)! });
  }
  const nf = find('a new flow', (s) => v.pick(key(c, s, 80, 6)) !== undefined, 30000);
  v.balanced(
    'a new flow uses the table over {1,3}',
    tcpFrame(fe(c), { sport: nf, dport: 80 }),
    key(c, nf, 80, 6),
  );
  v.also({ notBackend: 2 });
  v.reconfigure({ addBackends: [{ id: 2, mac: '02:02:02:02:02:22' }] });
  for (const s of sports) {
    v.balanced(
      `backend 2 back (new MAC): flow ${s} stays where it is`,
      tcpFrame(fe(c), { sport: s, dport: 80, flags: TCP_ACK | TCP_PSH }),
      key(c, s, 80, 6),
    );
  }
  const to2 = find('a new flow Maglev sends to 2', (s) => v.pick(key(c, s, 80, 6)) === 2, 31000);
  v.balanced(
    'a new flow reaches backend 2 at its new MAC',
    tcpFrame(fe(c), { sport: to2, dport: 80 }),
    key(c, to2, 80, 6),
  );
  v.also({ backend: 2 });
  return v.build();
}

function backendReplaceVector(): Vector {
  const v = vb(
    'backend-replace',
    'Removing backend 2 and adding backend 4 at once: 4 takes the freed slot, yet sessions of 2 are stale (slot live, id differs) and re-balanced',
    BASE,
  );
  const c = CLIENTS[3]!;
  const s2 = find('a flow on backend 2', (s) => v.pick(key(c, s, 80, 6)) === 2, 10000);
  const s1 = find('a flow on backend 1', (s) => v.pick(key(c, s, 80, 6)) === 1, 10000);
  const a = v.balanced('flow on backend 2', tcpFrame(fe(c), { sport: s2, dport: 80 }), key(c, s2, 80, 6));
  const b = v.balanced('flow on backend 1', tcpFrame(fe(c), { sport: s1, dport: 80 }), key(c, s1, 80, 6));
  v.reconfigure({ removeBackends: [2], addBackends: [{ id: 4, mac: '04:04:04:04:04:04' }] });
  v.balanced(
    'flow of 2: stale, re-balanced over {1,3,4}',
    tcpFrame(fe(c), { sport: s2, dport: 80, flags: TCP_ACK }),
    key(c, s2, 80, 6),
  );
  v.also({ notBackend: 2 });
  void a;
  v.balanced(
    'flow of 1: untouched',
    tcpFrame(fe(c), { sport: s1, dport: 80, flags: TCP_ACK }),
    key(c, s1, 80, 6),
  );
  v.also({ sameBackendAs: b });
  v.reconfigure({
    pool: [{ id: 1, mac: '01:01:01:01:01:11' }, ...POOL3.slice(2), { id: 4, mac: '04:04:04:04:04:04' }],
  });
  v.balanced(
    "backend 1's MAC changed: its session follows the new MAC",
    tcpFrame(fe(c), { sport: s1, dport: 80, flags: TCP_ACK }),
    key(c, s1, 80, 6),
  );
  v.also({ backend: 1 });
  return v.build();
}

function backendAddVector(): Vector {
  const v = vb('backend-add', 'Adding a backend keeps every existing session; new flows use the new table', {
    ...BASE,
    backend: { pool: POOL3.slice(0, 2) },
  });
  const c = CLIENTS[1]!;
  const ids = [1, 2, 3];
  const m = find(
    'a flow Maglev over {1,2,3} would send to 3',
    (s) => referencePick(ids, 'HASH_SESSION', key(c, s, 80, 6)) === 3,
    15000,
  );
  const flows = [15000, 15001, 15002, m];
  const first = flows.map((s) =>
    v.balanced(`flow ${s} over {1,2}`, tcpFrame(fe(c), { sport: s, dport: 80 }), key(c, s, 80, 6)),
  );
  v.reconfigure({ addBackends: [POOL3[2]!] });
  flows.forEach((s, i) => {
    v.balanced(
      `after adding 3: flow ${s} keeps its backend`,
      tcpFrame(fe(c), { sport: s, dport: 80, flags: TCP_ACK }),
      key(c, s, 80, 6),
    );
    v.also({ sameBackendAs: first[i]!, notBackend: 3 });
  });
  const n = find('a new flow for 3', (s) => v.pick(key(c, s, 80, 6)) === 3, m + 1);
  v.balanced('a new flow can reach backend 3', tcpFrame(fe(c), { sport: n, dport: 80 }), key(c, n, 80, 6));
  v.also({ backend: 3 });
  return v.build();
}

function idleTimeoutVector(): Vector {
  const v = vb(
    'idle-timeout',
    'A session idle for longer than its protocol timeout is expired and re-balanced (now - last_seen <= timeout is still valid)',
    BASE,
  );
  const c = CLIENTS[0]!;
  const srcB = referencePick([1, 2, 3], 'HASH_SRC_IP', key(c, 0, 0, 17));
  const su = find(
    'UDP flow whose 5-tuple pick differs from src-ip',
    (s) => v.pick(key(c, s, 53, 17)) !== srcB,
  );
  const st = find(
    'TCP flow whose 5-tuple pick differs from src-ip',
    (s) => v.pick(key(c, s, 80, 6)) !== srcB,
  );
  const u = (n: number) => udpFrame(fe(c), { sport: su, dport: 53, payload: pattern(n) });
  const t = (n: number, flags = TCP_ACK) => tcpFrame(fe(c), { sport: st, dport: 80, flags, seq: n });
  const p = () => icmpEchoFrame(fe(c), { type: 8 });
  v.at(1000);
  const u0 = v.balanced('UDP at t=1 s', u(1), key(c, su, 53, 17));
  const t0 = v.balanced('TCP SYN at t=1 s', t(1, TCP_SYN), key(c, st, 80, 6));
  const p0 = v.balanced('ping at t=1 s', p(), key(c, 0, 0, 1));
  v.reconfigure({ algorithm: 'HASH_SRC_IP' }); // so that a re-balance is visible
  v.at(31_000);
  v.balanced('ping idle exactly 30 s: still valid', p(), key(c, 0, 0, 1));
  v.also({ sameBackendAs: p0 });
  v.at(61_000);
  v.balanced('UDP idle exactly 60 s: still valid', u(2), key(c, su, 53, 17));
  v.also({ sameBackendAs: u0 });
  v.at(61_001);
  v.balanced('ping idle 30.001 s: expired', p(), key(c, 0, 0, 1));
  v.at(121_001);
  v.balanced('UDP idle 60.001 s: expired, re-balanced by HASH_SRC_IP', u(3), key(c, su, 53, 17));
  v.also({ notBackend: v.steps[u0]!.expect.backend! });
  v.balanced('TCP idle 120 s: still valid (600 s)', t(2), key(c, st, 80, 6));
  v.also({ sameBackendAs: t0 });
  v.at(121_001 + 600_000);
  v.balanced('TCP idle exactly 600 s: still valid', t(3), key(c, st, 80, 6));
  v.also({ sameBackendAs: t0 });
  v.at(121_001 + 1_200_001);
  v.balanced('TCP idle 600.001 s: expired, re-balanced', t(4), key(c, st, 80, 6));
  v.also({ backend: srcB! });
  v.reconfigure({ sessions: { timeouts: { udp: 5 } } });
  v.at(1_400_000);
  const u5 = v.balanced(
    'new UDP flow under a 5 s UDP timeout',
    udpFrame(fe(c), { sport: 9999, dport: 53 }),
    key(c, 9999, 53, 17),
  );
  v.at(1_405_000);
  v.balanced('idle 5 s: valid', udpFrame(fe(c), { sport: 9999, dport: 53 }), key(c, 9999, 53, 17));
  v.also({ sameBackendAs: u5 });
  v.at(1_410_001);
  v.balanced('idle 5.001 s: expired', udpFrame(fe(c), { sport: 9999, dport: 53 }), key(c, 9999, 53, 17));
  v.at(2_000_000);
  const tb = v.balanced(
    'a TCP flow starts',
    tcpFrame(fe(c), { sport: 7777, dport: 80 }),
    key(c, 7777, 80, 6),
  );
  const owner = v.steps[tb]!.expect.backend!;
  v.reconfigure({ removeBackends: [owner] });
  v.at(2_000_000 + 600_001);
  v.balanced(
    'its backend removed AND idle past the timeout: counted as EXPIRED (the idle check comes first)',
    tcpFrame(fe(c), { sport: 7777, dport: 80, flags: TCP_ACK }),
    key(c, 7777, 80, 6),
  );
  v.also({ notBackend: owner });
  return v.build();
}

function lruVector(): Vector {
  const v = vb(
    'lru-capacity',
    'A full session table evicts the least recently used entry (capacity 3); an evicted flow misses again ' +
      '(record_non_syn on: the ACK of an evicted flow records its session again)',
    { ...BASE, sessions: { capacity: 3, record_non_syn: true } },
  );
  v.tags.push('lru');
  const c = CLIENTS[0]!;
  const f = (s: number, flags = TCP_SYN) => tcpFrame(fe(c), { sport: s, dport: 80, flags });
  const k = (s: number) => key(c, s, 80, 6);
  v.balanced('A', f(1), k(1));
  v.balanced('B', f(2), k(2));
  v.balanced('C', f(3), k(3));
  v.balanced('A again: hit, A is now most recent', f(1, TCP_ACK), k(1));
  v.balanced('D: table full, evicts B (least recently used)', f(4), k(4));
  v.balanced('A: hit', f(1, TCP_ACK), k(1));
  v.balanced('B: evicted, misses again (evicts C)', f(2, TCP_ACK), k(2));
  v.balanced('D: hit', f(4, TCP_ACK), k(4));
  v.balanced('C: evicted, misses (evicts A)', f(3, TCP_ACK), k(3));
  v.balanced('A: evicted, misses (evicts B)', f(1, TCP_ACK), k(1));
  v.balanced(
    'ICMP error about D is read-only and does not refresh D',
    icmpErrorFrame(
      { ethDst: FE_MAC, ethSrc: ROUTER_MAC, src: ROUTER_IP, dst: VIP },
      {
        type: 3,
        code: 4,
        inner: quote(ipv4({ src: VIP, dst: c, proto: 6, payload: tcp({ sport: 80, dport: 4 }) })),
      },
    ),
    k(4),
    { readOnly: true },
  );
  v.balanced('E: evicts D, the least recently used', f(5), k(5));
  v.balanced('C: still there, hit', f(3, TCP_ACK), k(3));
  v.balanced('D: evicted, misses', f(4, TCP_ACK), k(4));
  return v.build();
}

function sessionFloodVector(): Vector {
  const v = vb(
    'session-flood',
    'A TCP miss that is not a SYN is forwarded by Maglev and not recorded (record_non_syn off, the ' +
      'default), so spoofed ACKs cannot evict established sessions (capacity 2); with record_non_syn on it is recorded',
    { ...BASE, sessions: { capacity: 2 } },
  );
  v.tags.push('lru');
  const c = CLIENTS[0]!;
  const f = (src: string, s: number, flags: number) => tcpFrame(fe(src), { sport: s, dport: 80, flags });
  const k = (src: string, s: number) => key(src, s, 80, 6);
  v.balanced('A: SYN records its session', f(c, 1, TCP_SYN), k(c, 1));
  v.balanced('B: SYN records its session (the table is full)', f(c, 2, TCP_SYN), k(c, 2));
  v.balanced('B: ACK, hit', f(c, 2, TCP_ACK), k(c, 2));
  for (let i = 0; i < 4; i++) {
    const src = CLIENTS[(i % 3) + 1]!;
    v.balanced(`spoofed ACK ${i + 1}: Maglev, not recorded`, f(src, 5000 + i, TCP_ACK), k(src, 5000 + i));
  }
  v.balanced('a FIN of an unknown flow: not recorded', f(c, 9, TCP_FIN | TCP_ACK), k(c, 9));
  v.balanced('A: still recorded, hit', f(c, 1, TCP_ACK), k(c, 1));
  v.balanced('B: still recorded, hit', f(c, 2, TCP_ACK | TCP_PSH), k(c, 2));
  // The trade-off: a flow without a session follows Maglev, so a pool change may move it.
  const x = find('an ACK-only flow that backend 4 takes over', (s) => {
    const before = v.pick(k(CLIENTS[3]!, s));
    return before !== undefined && referencePick([1, 2, 3, 4], 'HASH_SESSION', k(CLIENTS[3]!, s)) === 4;
  });
  v.balanced('an ACK-only flow: not recorded', f(CLIENTS[3]!, x, TCP_ACK), k(CLIENTS[3]!, x));
  const owner = v.lastBackend();
  v.reconfigure({ addBackends: [{ id: 4, mac: '04:04:04:04:04:04' }] });
  v.balanced(
    'after a pool change it is not pinned: Maglev moves it',
    f(CLIENTS[3]!, x, TCP_ACK),
    k(CLIENTS[3]!, x),
  );
  v.also({ backend: 4, notBackend: owner });
  v.reconfigure({ sessions: { record_non_syn: true } });
  v.balanced('record_non_syn on: an ACK miss records (evicts A)', f(c, 7, TCP_ACK), k(c, 7));
  v.balanced('that flow: hit', f(c, 7, TCP_ACK), k(c, 7));
  v.balanced('A: evicted, its ACK records again', f(c, 1, TCP_ACK), k(c, 1));
  return v.build();
}

// -------------------------------------------------------------------------------------------------
// Services, backend states, weights, health (docs/semantics.md, "Services" and "Backends")

const VIP2 = '10.0.0.110';
const VIP3 = '10.0.0.120';

function to(dst: string, src: string): FrameAddressing {
  return { ethDst: FE_MAC, ethSrc: CLIENT_MAC, src, dst };
}

/** The reply to an ARP request for `vip` from CLIENT_MAC/`client`, padding kept. */
function arpReplyTo(req: Uint8Array, vip: string, client: string): Uint8Array {
  return concat(
    ethernet({
      dst: CLIENT_MAC,
      src: FE_MAC,
      type: ETH_P_ARP,
      payload: arp({
        op: ARP_OP_REPLY,
        senderMac: FE_MAC,
        senderIp: vip,
        targetMac: CLIENT_MAC,
        targetIp: client,
      }),
    }),
    req.slice(42),
  );
}

const SERVICES: VectorConfig = {
  ...BASE,
  services: [
    {
      name: 'web',
      vip: VIP2,
      protocol: 'TCP',
      port: 80,
      backend: {
        pool: [
          { id: 11, mac: '02:00:00:00:11:11' },
          { id: 12, mac: '02:00:00:00:12:12' },
        ],
      },
    },
    {
      name: 'alt',
      vip: VIP2,
      protocol: 'TCP',
      port: 8080,
      backend: { pool: [{ id: 21, mac: '02:00:00:00:21:21' }] },
    },
    { name: 'dns', vip: VIP2, protocol: 'UDP', backend: { pool: [{ id: 31, mac: '02:00:00:00:31:31' }] } },
    {
      name: 'any',
      vip: VIP3,
      algorithm: 'HASH_SRC_IP',
      backend: {
        pool: [
          { id: 41, mac: '02:00:00:00:41:41' },
          { id: 42, mac: '02:00:00:00:42:42' },
        ],
      },
    },
  ],
};

function servicesVector(): Vector {
  const v = vb(
    'services',
    'Several services: ARP is answered for every VIP; a frame goes to the most specific service of its VIP (protocol and port, then protocol, then any) or drops NO_SERVICE; each service balances over its own pool with its own algorithm',
    SERVICES,
  );
  const c = CLIENTS[0]!;
  for (const vip of [VIP2, VIP3]) {
    const req = arpRequestFrame({ senderMac: CLIENT_MAC, senderIp: c, targetIp: vip });
    v.arpReply(`who-has ${vip} (a second VIP) is answered with its MAC`, req, arpReplyTo(req, vip, c));
  }
  v.drop(
    'who-has a VIP-less address',
    arpRequestFrame({ senderMac: CLIENT_MAC, senderIp: c, targetIp: '10.0.0.130' }),
    'ARP',
  );
  const web = v.balanced(
    'TCP to VIP2:80: service web',
    tcpFrame(to(VIP2, c), { sport: 1000, dport: 80 }),
    key(c, 1000, 80, 6, VIP2),
  );
  const webB = v.steps[web]!.expect.backend!;
  if (webB !== 11 && webB !== 12) throw new Error('web not chosen');
  v.balanced(
    'TCP to VIP2:8080: service alt',
    tcpFrame(to(VIP2, c), { sport: 1000, dport: 8080 }),
    key(c, 1000, 8080, 6, VIP2),
  );
  v.also({ backend: 21 });
  v.drop('TCP to VIP2:443: no service', tcpFrame(to(VIP2, c), { sport: 1000, dport: 443 }), 'NO_SERVICE');
  v.balanced(
    'UDP to VIP2:53: service dns (UDP, any port)',
    udpFrame(to(VIP2, c), { sport: 5353, dport: 53, payload: pattern(8) }),
    key(c, 5353, 53, 17, VIP2),
  );
  v.also({ backend: 31 });
  v.drop(
    'ICMP echo to VIP2: no ICMP service',
    icmpEchoFrame(to(VIP2, c), { type: ICMP_ECHO_REQUEST, id: 7, seq: 1 }),
    'NO_SERVICE',
  );
  v.balanced(
    'ICMP echo to VIP3: service any',
    icmpEchoFrame(to(VIP3, c), { type: ICMP_ECHO_REQUEST, id: 7, seq: 1 }),
    key(c, 0, 0, 1, VIP3),
  );
  const anyB = v.lastBackend();
  v.balanced(
    'TCP to VIP3:22: service any, HASH_SRC_IP: the same backend',
    tcpFrame(to(VIP3, c), { sport: 2222, dport: 22 }),
    key(c, 2222, 22, 6, VIP3),
  );
  v.also({ backend: anyB });
  v.balanced('TCP to the default VIP', tcpFrame(fe(c), { sport: 1000, dport: 80 }), key(c, 1000, 80, 6));
  v.drop(
    "a frame for VIP2 to another MAC (the VIP's MAC is the services')",
    tcpFrame({ ...to(VIP2, c), ethDst: '02:00:00:00:99:99' }, { sport: 1000, dport: 80 }),
    'DST_MAC',
  );
  // An ICMP error about the web flow (its quoted packet went VIP2:80 -> client) finds its service.
  const synack = ipv4({
    src: VIP2,
    dst: c,
    proto: 6,
    payload: tcp({ sport: 80, dport: 1000, flags: TCP_SYN | TCP_ACK, pseudo: { src: VIP2, dst: c } }),
  });
  const r: FrameAddressing = { ethDst: FE_MAC, ethSrc: ROUTER_MAC, src: ROUTER_IP, dst: VIP2 };
  v.balanced(
    "ICMP fragmentation needed quoting web's SYN-ACK: the web session's backend",
    icmpErrorFrame(r, { type: ICMP_DEST_UNREACH, code: ICMP_FRAG_NEEDED, mtu: 1400, inner: quote(synack) }),
    key(c, 1000, 80, 6, VIP2),
    { readOnly: true },
  );
  v.also({ sameBackendAs: web });
  const toPort443 = ipv4({
    src: VIP2,
    dst: c,
    proto: 6,
    payload: tcp({ sport: 443, dport: 1000, flags: TCP_ACK, pseudo: { src: VIP2, dst: c } }),
  });
  v.drop(
    'ICMP error quoting a VIP2:443 packet: no service',
    icmpErrorFrame(r, { type: ICMP_TIME_EXCEEDED, inner: quote(toPort443) }),
    'NO_SERVICE',
  );
  // Fragments: the first carries the ports (service web); a later one without a learned entry is keyed
  // without ports and matches only a service without a port (none for TCP on VIP2).
  const whole = tcp({
    sport: 3000,
    dport: 80,
    flags: TCP_SYN,
    payload: pattern(24),
    pseudo: { src: c, dst: VIP2 },
  });
  v.fragment(
    'TCP first fragment to VIP2:80: service web',
    ipv4Frame(to(VIP2, c), 6, whole.slice(0, 24), { id: 0x4242, mf: true }),
    key(c, 3000, 80, 6, VIP2),
    'NONE',
  );
  v.fragment(
    'its later fragment: the learned ports, service web',
    ipv4Frame(to(VIP2, c), 6, whole.slice(24), { id: 0x4242, fragOffset: 3 }),
    key(c, 3000, 80, 6, VIP2),
    'HIT',
  );
  v.fragment(
    'a later TCP fragment never seen: keyed without ports, no service',
    ipv4Frame(to(VIP2, c), 6, whole.slice(24), { id: 0x4343, fragOffset: 3 }),
    key(c, 0, 0, 6, VIP2),
    'MISS',
  );
  v.fragment(
    'a later UDP fragment never seen: keyed without ports, service dns',
    ipv4Frame(to(VIP2, c), 17, pattern(16), { id: 0x4444, fragOffset: 3 }),
    key(c, 0, 0, 17, VIP2),
    'MISS',
  );
  v.also({ backend: 31 });
  return v.build();
}

function serviceChangeVector(): Vector {
  const v = vb(
    'service-change',
    'A session belongs to its service: when a more specific service appears for its key (or goes), the session is stale and re-balanced in the service that matches now',
    {
      ...BASE,
      services: [
        {
          name: 'tcp',
          vip: VIP2,
          protocol: 'TCP',
          backend: { pool: [{ id: 51, mac: '02:00:00:00:51:51' }] },
        },
      ],
    },
  );
  const c = CLIENTS[1]!;
  const flow = () => tcpFrame(to(VIP2, c), { sport: 4000, dport: 80, flags: TCP_ACK });
  const k = key(c, 4000, 80, 6, VIP2);
  v.balanced(
    'a flow to VIP2:80, service tcp (any port)',
    tcpFrame(to(VIP2, c), { sport: 4000, dport: 80 }),
    k,
  );
  v.also({ backend: 51, session: 'MISS' });
  v.balanced('the flow again: a hit', flow(), k);
  v.also({ session: 'HIT' });
  const both = [
    {
      name: 'tcp',
      vip: VIP2,
      protocol: 'TCP' as const,
      backend: { pool: [{ id: 51, mac: '02:00:00:00:51:51' }] },
    },
    {
      name: 'web',
      vip: VIP2,
      protocol: 'TCP' as const,
      port: 80,
      backend: { pool: [{ id: 61, mac: '02:00:00:00:61:61' }] },
    },
  ];
  v.reconfigure({ services: both });
  v.balanced('service web (port 80) added: the session of tcp is stale, re-balanced to web', flow(), k);
  v.also({ backend: 61, session: 'STALE' });
  v.balanced('then a hit in web', flow(), k);
  v.also({ backend: 61, session: 'HIT' });
  v.reconfigure({ services: [both[0]!] });
  v.balanced('web removed: stale again, back to tcp', flow(), k);
  v.also({ backend: 51, session: 'STALE' });
  v.reconfigure({ services: [] });
  v.drop('every service of VIP2 removed: NOT_VIP', flow(), 'NOT_VIP');
  return v.build();
}

const POOL4: BackendConfig[] = [...POOL3, { id: 4, mac: '04:04:04:04:04:04' }];

function backendStatesVector(): Vector {
  const v = vb(
    'backend-states',
    'Backend states, weight and health: DRAINING and weight 0 take no new flow and keep their sessions; DISABLED moves its sessions; DOWN takes no new flow and keeps its sessions unless on_down is MOVE; a backend known by IP only takes flows once its MAC is observed',
    { ...BASE, backend: { pool: POOL4 } },
  );
  const c = CLIENTS[2]!;
  const k = (s: number) => key(c, s, 80, 6);
  const syn = (s: number) => tcpFrame(fe(c), { sport: s, dport: 80 });
  const ack = (s: number) => tcpFrame(fe(c), { sport: s, dport: 80, flags: TCP_ACK });
  const flowOf = new Map<number, number>();
  for (const id of [1, 2, 3, 4]) {
    const s = find(`a flow on backend ${id}`, (x) => v.pick(k(x)) === id, 50000);
    flowOf.set(id, s);
    v.balanced(`flow on backend ${id}`, syn(s), k(s));
    v.also({ backend: id });
  }
  const with_ = (over: Record<number, Partial<BackendConfig>>) => POOL4.map((b) => ({ ...b, ...over[b.id] }));
  // Flows that Maglev over {1,2,3,4} sends to 2 (new ones, no session yet).
  const new2 = find('a new flow Maglev over all four sends to 2', (x) => v.pick(k(x)) === 2, 52000);

  v.reconfigure({ pool: with_({ 2: { state: 'DRAINING' } }) });
  v.balanced('backend 2 DRAINING: its session stays', ack(flowOf.get(2)!), k(flowOf.get(2)!));
  v.also({ backend: 2, session: 'HIT' });
  v.balanced('a new flow that went to 2 goes elsewhere', syn(new2), k(new2));
  v.also({ notBackend: 2, session: 'MISS' });

  v.reconfigure({ pool: with_({ 2: { state: 'DISABLED' }, 3: { weight: 0 } }) });
  v.balanced('backend 2 DISABLED: its session is stale, re-balanced', ack(flowOf.get(2)!), k(flowOf.get(2)!));
  v.also({ notBackend: 2, session: 'STALE' });
  v.balanced('backend 3 weight 0: its session stays', ack(flowOf.get(3)!), k(flowOf.get(3)!));
  v.also({ backend: 3, session: 'HIT' });
  const was3 = find(
    'a new flow Maglev over all four would send to 3',
    (x) => referencePick([1, 2, 3, 4], 'HASH_SESSION', k(x)) === 3,
    54000,
  );
  v.balanced('a new flow that would go to 3 goes elsewhere', syn(was3), k(was3));
  v.also({ notBackend: 3 });

  const hc: HealthCheckConfig = { type: 'TCP', port: 80 };
  v.reconfigure({ pool: POOL4, healthcheck: hc, observe: { 'default/4': { health: 'DOWN' } } });
  v.balanced(
    'backend 4 DOWN (health check): its session stays (on_down STAY)',
    ack(flowOf.get(4)!),
    k(flowOf.get(4)!),
  );
  v.also({ backend: 4, session: 'HIT' });
  const was4 = find(
    'a new flow Maglev over all four would send to 4',
    (x) => referencePick([1, 2, 3, 4], 'HASH_SESSION', k(x)) === 4,
    56000,
  );
  v.balanced('a new flow that would go to 4 goes elsewhere', syn(was4), k(was4));
  v.also({ notBackend: 4 });
  v.reconfigure({ healthcheck: { ...hc, on_down: 'MOVE' } });
  v.balanced('on_down MOVE: the session of 4 is stale, re-balanced', ack(flowOf.get(4)!), k(flowOf.get(4)!));
  v.also({ notBackend: 4, session: 'STALE' });
  v.reconfigure({ healthcheck: null });
  const again4 = find('a new flow Maglev over all four sends to 4', (x) => v.pick(k(x)) === 4, was4 + 1);
  v.balanced(
    'no health check: the observed DOWN no longer counts, 4 takes new flows',
    syn(again4),
    k(again4),
  );
  v.also({ backend: 4, session: 'MISS' });

  // A backend known by IP only: no MAC, no flows; its observed MAC makes it serve.
  const byIp: BackendConfig[] = [...POOL3.slice(0, 1), { id: 5, ip: '10.0.2.5' }];
  v.reconfigure({ pool: byIp, observe: {} });
  const to5 = find(
    'a new flow Maglev over {1,5} sends to 5',
    (x) => referencePick([1, 5], 'HASH_SESSION', k(x)) === 5,
    58000,
  );
  v.balanced('backend 5 by IP, MAC unknown: the flow goes to 1', syn(to5), k(to5));
  v.also({ backend: 1, session: 'MISS' });
  v.reconfigure({ observe: { 'default/5': { mac: '02:00:00:00:05:05', health: 'UNKNOWN' } } });
  const to5b = find(
    'another new flow for 5',
    (x) => referencePick([1, 5], 'HASH_SESSION', k(x)) === 5,
    to5 + 1,
  );
  v.balanced("5's MAC observed: a new flow reaches it at that MAC", syn(to5b), k(to5b));
  v.also({ backend: 5, session: 'MISS' });
  return v.build();
}

function weightsVector(): Vector {
  const v = vb(
    'weights',
    'Weights: the Maglev table follows the weights (weighted Maglev); a weight change re-balances no session',
    { ...BASE, backend: { pool: [{ ...POOL3[0]!, weight: 10 }, POOL3[1]!, POOL3[2]!] } },
  );
  const c = CLIENTS[3]!;
  const k = (s: number) => key(c, s, 443, 6);
  for (let s = 60000; s < 60012; s++)
    v.balanced(`flow ${s} under weights 10/100/100`, tcpFrame(fe(c), { sport: s, dport: 443 }), k(s));
  const heavy = find(
    'a flow the weighted table sends to 2 and the unweighted one to 1',
    (x) => v.pick(k(x)) === 2 && referencePick([1, 2, 3], 'HASH_SESSION', k(x)) === 1,
    61000,
  );
  v.balanced(
    'a flow the unweighted table would give 1 goes to 2',
    tcpFrame(fe(c), { sport: heavy, dport: 443 }),
    k(heavy),
  );
  v.also({ backend: 2 });
  v.reconfigure({ pool: POOL3 });
  v.balanced(
    'weights back to 100: the session stays on 2',
    tcpFrame(fe(c), { sport: heavy, dport: 443, flags: TCP_ACK }),
    k(heavy),
  );
  v.also({ backend: 2, session: 'HIT' });
  return v.build();
}

function backendPassVector(): Vector {
  const probeIp = '10.0.1.250';
  const probeMac = '02:db:0a:00:01:fa';
  const v = vb(
    'backend-pass',
    'On the BACKEND port ARP frames and frames to the probe MAC (02:db + probe_ip) are passed to the kernel (rule 1, counted backendPass); everything else drops BACKEND_PORT',
    { ...BASE, probe_ip: probeIp },
  );
  const srv = '10.0.1.11';
  const srvMac = '02:00:00:00:01:11';
  v.pass(
    'ARP reply of a backend to the prober',
    arpReplyFrame({ senderMac: srvMac, senderIp: srv, targetMac: probeMac, targetIp: probeIp }),
  );
  v.pass(
    'ARP request of a backend for probe_ip',
    arpRequestFrame({ senderMac: srvMac, senderIp: srv, targetIp: probeIp }),
  );
  v.pass(
    'an ARP header alone (14 bytes): still ARP',
    ethernet({ dst: 'ff:ff:ff:ff:ff:ff', src: srvMac, type: ETH_P_ARP, payload: new Uint8Array(0) }),
  );
  v.pass(
    'a SYN-ACK from VIP:80 to the probe MAC (health probe answer)',
    tcpFrame(
      { ethDst: probeMac, ethSrc: srvMac, src: VIP, dst: probeIp },
      { sport: 80, dport: 40000, flags: TCP_SYN | TCP_ACK },
    ),
  );
  v.drop(
    'the same answer to another MAC',
    tcpFrame(
      { ethDst: '02:db:0a:00:01:fb', ethSrc: srvMac, src: VIP, dst: probeIp },
      { sport: 80, dport: 40000, flags: TCP_SYN | TCP_ACK },
    ),
    'BACKEND_PORT',
    'BACKEND',
  );
  v.drop('13 bytes', pattern(13), 'BACKEND_PORT', 'BACKEND');
  v.drop(
    'a frame to the probe MAC on the FRONTEND port follows the frontend rules',
    tcpFrame(
      { ethDst: probeMac, ethSrc: CLIENT_MAC, src: CLIENTS[0]!, dst: probeIp },
      { sport: 1, dport: 2 },
    ),
    'NOT_VIP',
  );
  return v.build();
}

export const SCENARIOS: (() => Vector)[] = [
  arpVector,
  l2Vector,
  ipMalformedVector,
  tcpUdpVector,
  icmpVector,
  icmpErrorsVector,
  fragmentsVector,
  protocolsVector,
  backendPortVector,
  notReadyVector,
  unconfiguredVector,
  noBackendVector,
  persistenceVector,
  algorithmSwitchVector,
  backendRemovalVector,
  backendReplaceVector,
  backendAddVector,
  idleTimeoutVector,
  lruVector,
  sessionFloodVector,
  servicesVector,
  serviceChangeVector,
  backendStatesVector,
  weightsVector,
  backendPassVector,
];

async function main(): Promise<void> {
  // The frontend modes' scenarios use this file's builder: imported once it is evaluated.
  const { MODE_SCENARIOS } = await import('./modes.js');
  const { IPV6_SCENARIOS } = await import('./ipv6.js');
  [...SCENARIOS, ...MODE_SCENARIOS, ...IPV6_SCENARIOS].forEach((make, i) => {
    const v = make();
    const file = `${String(i + 1).padStart(2, '0')}-${v.name}.json`;
    writeFileSync(OUT_DIR + file, `${JSON.stringify(v, null, 1)}\n`);
    console.log(`${file}: ${v.steps.length} steps`);
  });
}

// Not awaited: modes.ts imports this module, which must finish evaluating first.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
