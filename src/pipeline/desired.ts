// The semantic check of an instance configuration and what it asks of the pipeline: its services (the
// `default` one from `frontend`/`backend`, then `services`), each with its VIP, protocol, port, frontend
// MAC and algorithm, and per backend its MAC, weight and whether it serves (is in the Maglev table) and is
// live (its sessions stay valid), from the configuration and the daemon's Observations
// (docs/semantics.md, "Services" and "Backends"). The daemon checks a document's shape against its schema
// first; this is the one check after that, run by ControlState.plan before anything changes. Pure: no I/O.
import {
  checkVip,
  checkVip6,
  isGroupMac,
  isZeroMac,
  looksIpv6,
  macTextIs,
  parseIpv4,
  parseIpv6,
  parseMac,
  probeMacOf,
} from '../core/addr.js';
import {
  ALG_HASH_SESSION,
  ALG_HASH_SRC_IP,
  CFG_HOST_PASS,
  CFG_NO_ARP,
  CFG_ONE_ARM,
  MAX_BACKENDS,
  MAX_SERVICES,
  PROTO_ICMP,
  PROTO_TCP,
  PROTO_UDP,
} from '../core/constants.js';
import { LbdsrError } from '../core/errors.js';
import { MAGLEV_FULL_WEIGHT } from '../core/maglev.js';
import {
  type Algorithm,
  BACKEND_STATES,
  type BackendConfig,
  DEFAULT_SESSION_SETTINGS,
  type InstanceConfig,
  type Observations,
  type PoolConfig,
  type ResolvedPorts,
  type ServiceProtocol,
} from '../core/model.js';
import type { InstanceSettings } from './plan.js';

/** The name of the service made of the instance's `frontend` and `backend`. */
export const DEFAULT_SERVICE = 'default';

export interface DesiredBackend {
  id: number;
  /** The MAC in use (configured, else observed); null while unknown. */
  mac: Uint8Array | null;
  /** 1..100 when serving. */
  weight: number;
  /** In the Maglev table: MAC known, ACTIVE, weight > 0, health not DOWN. */
  serving: boolean;
  /** Its sessions stay valid: MAC known, not DISABLED, not DOWN with on_down MOVE. */
  live: boolean;
}

export interface DesiredService {
  name: string;
  /** Host-order IPv4 VIP, when set. */
  vip?: number;
  /** IPv6 VIP (16 bytes), when set: the service's `vip` written as IPv6, or its `vip6`. */
  vip6?: Uint8Array;
  /** 0 (any), PROTO_TCP, PROTO_UDP or PROTO_ICMP. */
  proto: number;
  /** 0 (any) or 1..65535 (TCP/UDP only). */
  port: number;
  /** Frontend MAC: the service's, else the instance's; undefined when neither is set. */
  mac?: Uint8Array;
  algorithm: number;
  /** In the configuration's order (new backends take slots in this order). */
  backends: DesiredBackend[];
}

/** A configuration parsed into what the control state holds. */
export interface Desired {
  /** `default` first, then `services` in their order. */
  services: DesiredService[];
  settings: InstanceSettings;
  capacity: number;
}

/**
 * What the check needs of an instance's ports (the daemon resolves them; instancePorts): the MACs of
 * their interfaces (undefined while unknown) and whether FRONTEND and BACKEND are one interface
 * (one-arm, CFG_ONE_ARM). The backend MAC is the source MAC of balanced frames; the frontend MAC is
 * every VIP's frontend MAC in mode ROUTED (docs/semantics.md, "Frontend modes").
 */
export interface InstancePorts {
  backendMac?: string;
  frontendMac?: string;
  oneArm: boolean;
}

/** The InstancePorts of the interfaces the daemon resolved. */
export function instancePorts(ports: ResolvedPorts): InstancePorts {
  const fe = ports.frontend;
  const be = ports.backend;
  return {
    ...(fe === undefined ? {} : { frontendMac: fe.mac }),
    ...(be === undefined ? {} : { backendMac: be.mac }),
    oneArm: fe !== undefined && be !== undefined && fe.ifindex === be.ifindex,
  };
}

/** The MAC a backend holds now (the control state's), to be reused when the text says the same. */
export type KnownMac = (service: string, id: number) => Uint8Array | undefined;

const PROTOCOLS: Record<ServiceProtocol, number> = { TCP: PROTO_TCP, UDP: PROTO_UDP, ICMP: PROTO_ICMP };

function unicastMac(text: string, what: string): Uint8Array {
  const mac = parseMac(text);
  if (isGroupMac(mac) || isZeroMac(mac)) {
    throw new LbdsrError(
      'LBDSR_BAD_MAC',
      `${what} MAC ${text} must be a unicast address (group bit clear, not zero)`,
    );
  }
  return mac;
}

function algorithmOf(a: Algorithm | undefined): number {
  return a === 'HASH_SRC_IP' ? ALG_HASH_SRC_IP : ALG_HASH_SESSION;
}

/**
 * Parses the MAC text of backend `id` (`where`: of which service; `observed`: the MAC the daemon
 * found), reusing `before` when it says the same (a plan of 4,096 backends parses few). The error's
 * text is built only for an error: no string per backend and plan.
 */
function macOf(
  text: string,
  before: Uint8Array | undefined,
  id: number,
  where: string,
  observed: boolean,
): Uint8Array {
  if (before !== undefined && macTextIs(text, before)) return before;
  const mac = parseMac(text);
  if (isZeroMac(mac)) {
    const what = `backend ${id}${where}${observed ? ' (observed)' : ''}`;
    throw new LbdsrError('LBDSR_BAD_MAC', `${what}: MAC ${text} is zero`);
  }
  return mac;
}

function checkBackendFields(b: BackendConfig, where: string): void {
  if (!Number.isInteger(b.id) || b.id < 0 || b.id > 0xffffffff) {
    throw new LbdsrError('LBDSR_BAD_ID', `backend id ${b.id} is not a uint32 (0..4294967295)`);
  }
  if (b.mac === undefined && b.ip === undefined) {
    throw new LbdsrError('LBDSR_BAD_VALUE', `backend ${b.id}${where} needs a mac or an ip`);
  }
  // an IPv6 `ip` is resolved by Neighbor Discovery (docs/semantics.md, "IPv6")
  if (b.ip !== undefined) {
    if (looksIpv6(b.ip)) parseIpv6(b.ip);
    else parseIpv4(b.ip);
  }
  const w = b.weight ?? MAGLEV_FULL_WEIGHT;
  if (!Number.isInteger(w) || w < 0 || w > MAGLEV_FULL_WEIGHT) {
    throw new LbdsrError('LBDSR_BAD_VALUE', `backend ${b.id}${where}: weight ${w} is not an integer 0..100`);
  }
  if (b.state !== undefined && !BACKEND_STATES.includes(b.state)) {
    throw new LbdsrError(
      'LBDSR_BAD_VALUE',
      `backend ${b.id}${where}: state ${b.state} is not one of ${BACKEND_STATES.join(', ')}`,
    );
  }
}

/** A pool's backends: MAC in use, weight, serving and live (docs/semantics.md, "Backends"). */
function checkPool(
  service: string,
  pool: PoolConfig | undefined,
  known: KnownMac | undefined,
  observe: Observations | undefined,
): DesiredBackend[] {
  const list = pool?.pool ?? [];
  const where = service === DEFAULT_SERVICE ? '' : ` of service ${service}`;
  const seen = new Set<number>();
  const out: DesiredBackend[] = [];
  for (const b of list) {
    checkBackendFields(b, where);
    if (seen.has(b.id)) throw new LbdsrError('LBDSR_EXISTS', `backend '${b.id}'${where} already exists`);
    seen.add(b.id);
    const seenBy = observe?.(service, b.id);
    const before = known?.(service, b.id);
    let mac: Uint8Array | null = null;
    if (b.mac !== undefined) mac = macOf(b.mac, before, b.id, where, false);
    else if (seenBy?.mac !== undefined) mac = macOf(seenBy.mac, before, b.id, where, true);
    const type = b.healthcheck?.type ?? pool?.healthcheck?.type ?? 'NONE';
    const onDown = b.healthcheck?.on_down ?? pool?.healthcheck?.on_down ?? 'STAY';
    const down = type !== 'NONE' && seenBy?.health === 'DOWN';
    const state = b.state ?? 'ACTIVE';
    const weight = b.weight ?? MAGLEV_FULL_WEIGHT;
    out.push({
      id: b.id,
      mac,
      weight,
      serving: mac !== null && state === 'ACTIVE' && weight > 0 && !down,
      live: mac !== null && state !== 'DISABLED' && !(down && onDown === 'MOVE'),
    });
  }
  return out;
}

/** The services of `config`, `default` first, checked one by one and against each other. */
function checkServices(
  config: InstanceConfig,
  known: KnownMac | undefined,
  observe: Observations | undefined,
): DesiredService[] {
  const extra = config.services ?? [];
  if (extra.length + 1 > MAX_SERVICES) {
    throw new LbdsrError(
      'LBDSR_TOO_MANY',
      `an instance holds at most ${MAX_SERVICES} services with default (got ${extra.length + 1})`,
    );
  }
  const fe = config.frontend ?? {};
  const feMac = fe.mac === undefined ? undefined : unicastMac(fe.mac, 'frontend');
  const algorithm = algorithmOf(config.algorithm);
  const out: DesiredService[] = [
    {
      name: DEFAULT_SERVICE,
      ...vipsOf(DEFAULT_SERVICE, fe.vip, fe.vip6),
      proto: 0,
      port: 0,
      ...(feMac === undefined ? {} : { mac: feMac }),
      algorithm,
      backends: checkPool(DEFAULT_SERVICE, config.backend, known, observe),
    },
  ];
  const names = new Set([DEFAULT_SERVICE]);
  for (const s of extra) {
    if (names.has(s.name)) throw new LbdsrError('LBDSR_EXISTS', `service '${s.name}' already exists`);
    names.add(s.name);
    const proto = s.protocol === undefined ? 0 : PROTOCOLS[s.protocol];
    if (proto === undefined) {
      throw new LbdsrError(
        'LBDSR_BAD_VALUE',
        `service ${s.name}: protocol ${s.protocol} is not TCP, UDP or ICMP`,
      );
    }
    const port = s.port ?? 0;
    if (s.port !== undefined) {
      if (proto !== PROTO_TCP && proto !== PROTO_UDP) {
        throw new LbdsrError('LBDSR_BAD_VALUE', `service ${s.name}: a port needs protocol TCP or UDP`);
      }
      if (!Number.isInteger(port) || port < 1 || port > 65535) {
        throw new LbdsrError('LBDSR_BAD_VALUE', `service ${s.name}: port ${s.port} is not 1..65535`);
      }
    }
    const mac = s.mac === undefined ? feMac : unicastMac(s.mac, `service ${s.name}`);
    out.push({
      name: s.name,
      ...vipsOf(s.name, s.vip, s.vip6),
      proto,
      port,
      ...(mac === undefined ? {} : { mac }),
      algorithm: s.algorithm === undefined ? algorithm : algorithmOf(s.algorithm),
      backends: checkPool(s.name, s.backend, known, observe),
    });
  }
  checkSharedVips(out);
  return out;
}

/**
 * A service's VIPs (docs/semantics.md, "Services", "IPv6"): `vip` is IPv4 or IPv6 (written with a
 * colon); `vip6`, IPv6, makes an IPv4 service dual-stack. At most one address of each family.
 */
function vipsOf(
  name: string,
  vip: string | undefined,
  vip6: string | undefined,
): { vip?: number; vip6?: Uint8Array } {
  const out: { vip?: number; vip6?: Uint8Array } = {};
  if (vip !== undefined) {
    if (looksIpv6(vip)) out.vip6 = checkVip6(vip);
    else out.vip = checkVip(vip);
  }
  if (vip6 !== undefined) {
    if (out.vip6 !== undefined) {
      throw new LbdsrError(
        'LBDSR_BAD_VALUE',
        `service ${name}: vip6 makes an IPv4 service dual-stack, but its vip ${vip} is IPv6 already`,
      );
    }
    out.vip6 = checkVip6(vip6);
  }
  return out;
}

/** The text key of an IPv6 address in maps and sets (its 32 hex digits). */
export function vip6Key(b: Uint8Array): string {
  let h = '';
  for (let i = 0; i < 16; i++) h += b[i]!.toString(16).padStart(2, '0');
  return h;
}

function macSame(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 6; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Services of one VIP (of either family): distinct (protocol, port), one frontend MAC. */
function checkSharedVips(services: DesiredService[]): void {
  const byVip = new Map<string, DesiredService>();
  const keys = new Set<string>();
  const check = (s: DesiredService, vip: string) => {
    const key = `${vip}/${s.proto}/${s.port}`;
    if (keys.has(key)) {
      throw new LbdsrError(
        'LBDSR_EXISTS',
        `service '${s.name}': another service has the same VIP, protocol and port`,
      );
    }
    keys.add(key);
    const first = byVip.get(vip);
    if (first === undefined) byVip.set(vip, s);
    else if (first.mac !== undefined && s.mac !== undefined && !macSame(first.mac, s.mac)) {
      throw new LbdsrError(
        'LBDSR_BAD_MAC',
        `services '${first.name}' and '${s.name}' share their VIP but not their frontend MAC`,
      );
    }
    if (first !== undefined && first.mac === undefined && s.mac !== undefined) byVip.set(vip, s);
  };
  for (const s of services) {
    if (s.vip !== undefined) check(s, `4:${s.vip}`);
    if (s.vip6 !== undefined) check(s, `6:${vip6Key(s.vip6)}`);
  }
}

/**
 * In mode ROUTED every service's frontend MAC is the FRONTEND interface's (none while it is unknown:
 * no service is then in the data plane); the configured MACs were checked and are not used.
 */
function routedMacs(services: DesiredService[], frontendMac: string | undefined): void {
  const mac = frontendMac === undefined ? undefined : parseMac(frontendMac);
  for (const s of services) {
    if (mac === undefined) delete s.mac;
    else s.mac = mac;
  }
}

/**
 * Parses and checks `config` with what its ports are (their MACs, undefined while unknown, and
 * one-arm); throws an LbdsrError naming the first problem. `known` gives the MACs held now, reused
 * where unchanged; `observe` what the daemon observed of each backend (MAC by ARP, health).
 */
export function checkConfig(
  config: InstanceConfig,
  ports: InstancePorts,
  known?: KnownMac,
  observe?: Observations,
): Desired {
  const services = checkServices(config, known, observe);
  if (config.mode === 'ROUTED') routedMacs(services, ports.frontendMac);
  let total = 0;
  for (const s of services) total += s.backends.length;
  if (total > MAX_BACKENDS) {
    throw new LbdsrError(
      'LBDSR_TOO_MANY',
      `the pools of an instance hold at most ${MAX_BACKENDS} backends (got ${total})`,
    );
  }
  const capacity = config.sessions?.capacity ?? DEFAULT_SESSION_SETTINGS.capacity;
  if (!Number.isInteger(capacity) || capacity < 1) {
    throw new LbdsrError('LBDSR_BAD_VALUE', `session capacity must be a positive integer, got ${capacity}`);
  }
  const t = config.sessions?.timeouts ?? DEFAULT_SESSION_SETTINGS.timeouts;
  const portMac = ports.backendMac === undefined ? null : parseMac(ports.backendMac);
  return {
    services,
    settings: {
      backendPortMac: portMac,
      ready: portMac !== null,
      timeoutsMs: { tcp: t.tcp * 1000, udp: t.udp * 1000, icmp: t.icmp * 1000 },
      recordNonSyn: config.sessions?.record_non_syn === true,
      probeMac: config.probe_ip === undefined ? null : probeMacOf(parseIpv4(config.probe_ip)),
      flags: frontendFlags(config) | (ports.oneArm ? CFG_ONE_ARM : 0),
    },
    capacity,
  };
}

/**
 * The CFG_* flags of an instance's frontend mode (docs/semantics.md, "Frontend modes"). CFG_ONE_ARM is
 * not set here: whether the two ports are one interface comes with the ports (checkConfig).
 */
export function frontendFlags(config: InstanceConfig): number {
  const routed = config.mode === 'ROUTED';
  let flags = 0;
  if (routed || config.standby === true) flags |= CFG_NO_ARP;
  if (config.host_pass ?? routed) flags |= CFG_HOST_PASS;
  return flags;
}
