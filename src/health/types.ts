// The health prober's interface (docs/health.md): what the runtime hands the prober per backend (a
// ProbeTarget with its ResolvedCheck) and what the prober reports back (ProberEvents). Also
// resolveCheck, which turns a pool's health check and a backend's override into a ResolvedCheck with
// every default filled in. Pure: no I/O here, so the runtime and the unit tests share it freely.
import type { HealthCheckConfig } from '../core/model.js';

/** A health check with every default applied, in milliseconds (what one probe of a target does). */
export interface ResolvedCheck {
  type: 'TCP' | 'HTTP' | 'UDP' | 'ICMP';
  /** TCP/HTTP/UDP destination port (ignored by ICMP). */
  port: number;
  intervalMs: number;
  timeoutMs: number;
  /** Good probes in a row that make a backend UP; bad ones in a row that make it DOWN. */
  rise: number;
  fall: number;
  /** HTTP: request path and expected status; body: a substring the HTTP body (or UDP answer) must hold. */
  path: string;
  expect: number;
  body?: string;
  /** UDP: the request payload (text). */
  payload?: string;
}

/**
 * One backend the prober watches: ARP (IPv4) or Neighbor Discovery (IPv6) resolution of `ip`, and
 * probes to `vip` when `check` is set.
 */
export interface ProbeTarget {
  /** Stable key (the runtime uses `${service}/${id}`): unchanged keys keep their counters on update. */
  key: string;
  /**
   * The service's VIP: the destination of the probes (over IPv6 from the probe link-local address when
   * it is IPv6); an IPv4 VIP is also asked for by ARP (flux).
   */
  vip: string;
  /** The server's own address, IPv4 or IPv6: resolved by ARP or by Neighbor Discovery on the port. */
  ip?: string;
  /** The configured MAC (lower-case colon text); wins over the resolved one for probes. */
  mac?: string;
  check?: ResolvedCheck;
}

export type ProbeHealth = 'UP' | 'DOWN';

export interface ProberEvents {
  /** The MAC answering ARP (ND) for the target's `ip`: first resolution, every change, and the first answer after silence. */
  mac(key: string, mac: string, at: Date): void;
  /** No ARP (ND) answer for 3 refreshes in a row (the MAC is kept); `since`: the last answer. */
  macSilent(key: string, since: Date): void;
  /** A verdict after `rise` good or `fall` bad probes in a row (also the first one, from UNKNOWN). */
  health(key: string, health: ProbeHealth, reason: string, at: Date): void;
  /** Every finished probe (metrics). */
  probe?(key: string, ok: boolean, latencyMs: number): void;
  /**
   * The backends (their MACs) that answered ARP for a VIP, each time that set changes; [] when the
   * last of them stopped answering (3 rounds without).
   */
  arpFlux(vip: string, macs: string[]): void;
}

export type ProberLogLevel = 'debug' | 'info' | 'warn' | 'error';
export type ProberLog = (level: ProberLogLevel, msg: string) => void;

/** Defaults of a health check's fields (docs/health.md). */
export const CHECK_DEFAULTS = { interval: 2, timeout: 1, rise: 2, fall: 3, path: '/', expect: 200 } as const;

/**
 * The check a backend runs: the pool's check with the backend's override laid over it field by field,
 * defaults filled in, seconds turned into milliseconds. undefined for type NONE (or no check at all),
 * or when a TCP/HTTP/UDP check has no port (neither its own nor the service's).
 */
export function resolveCheck(
  pool: HealthCheckConfig | undefined,
  override: Partial<HealthCheckConfig> | undefined,
  servicePort?: number,
): ResolvedCheck | undefined {
  const c: Partial<HealthCheckConfig> = { ...(pool ?? {}), ...(override ?? {}) };
  if (c.type === undefined || c.type === 'NONE') return undefined;
  const port = c.port ?? servicePort ?? 0;
  if (c.type !== 'ICMP' && !(port >= 1 && port <= 65535)) return undefined;
  const out: ResolvedCheck = {
    type: c.type,
    port: c.type === 'ICMP' ? 0 : port,
    intervalMs: Math.round((c.interval ?? CHECK_DEFAULTS.interval) * 1000),
    timeoutMs: Math.round((c.timeout ?? CHECK_DEFAULTS.timeout) * 1000),
    rise: c.rise ?? CHECK_DEFAULTS.rise,
    fall: c.fall ?? CHECK_DEFAULTS.fall,
    path: c.path ?? CHECK_DEFAULTS.path,
    expect: c.expect ?? CHECK_DEFAULTS.expect,
  };
  if (c.body !== undefined) out.body = c.body;
  if (c.payload !== undefined) out.payload = c.payload;
  return out;
}
