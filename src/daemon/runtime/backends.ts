// The backends of an instance as the runtime sees them: every service's pool (`default` is the
// instance's frontend and backend), each backend with its health check resolved (the pool's, overridden
// field by field by the backend's), and what the contract derives from configuration plus observation:
// the health in force, the MAC in use and where it came from, serving (takes new flows) and live (its
// sessions stay valid). The same rules as src/pipeline/desired.ts, for `pool show`. Pure: no I/O.
import { looksIpv6 } from '../../core/addr.js';
import type {
  BackendConfig,
  Health,
  HealthCheckConfig,
  InstanceConfig,
  PoolConfig,
  ServiceProtocol,
} from '../../core/model.js';
import type { Observed } from './observations.js';

export interface ServiceView {
  name: string;
  /** IPv4 or IPv6 VIP; `vip6`: the second (IPv6) VIP of a dual-stack service. */
  vip?: string;
  vip6?: string;
  protocol?: ServiceProtocol;
  port?: number;
  backend: PoolConfig;
}

/** The services of `config`, `default` first. */
export function servicesOf(config: InstanceConfig): ServiceView[] {
  const fe = config.frontend;
  const out: ServiceView[] = [
    {
      name: 'default',
      vip: fe.vip,
      ...(fe.vip6 !== undefined ? { vip6: fe.vip6 } : {}),
      backend: config.backend,
    },
  ];
  for (const s of config.services ?? []) out.push(s);
  return out;
}

/** The health check in force for backend `b` of `pool` (undefined: none, the backend counts as UP). */
export function checkOf(pool: PoolConfig, b: BackendConfig): HealthCheckConfig | undefined {
  const merged = { ...pool.healthcheck, ...b.healthcheck } as Partial<HealthCheckConfig>;
  if (merged.type === undefined || merged.type === 'NONE') return undefined;
  return merged as HealthCheckConfig;
}

/** The health in force: the observation's under a check (UNKNOWN before a verdict), UP without one. */
export function healthOf(check: HealthCheckConfig | undefined, o: Observed | undefined): Health {
  if (!check) return 'UP';
  return o?.health ?? 'UNKNOWN';
}

/**
 * The MAC in use and where it came from: the configured one, else the one resolved for the backend's
 * `ip` (by ARP for IPv4, by Neighbor Discovery for IPv6: `ND`), else none.
 */
export function macOf(
  b: BackendConfig,
  o: Observed | undefined,
): { mac?: string; source: 'CONFIG' | 'ARP' | 'ND' | 'NONE' } {
  if (b.mac !== undefined) return { mac: b.mac, source: 'CONFIG' };
  if (o?.mac !== undefined)
    return { mac: o.mac, source: b.ip !== undefined && looksIpv6(b.ip) ? 'ND' : 'ARP' };
  return { source: 'NONE' };
}

/** Takes new flows: MAC known, ACTIVE, weight > 0, not DOWN. */
export function isServing(b: BackendConfig, mac: string | undefined, health: Health): boolean {
  return (
    mac !== undefined && (b.state ?? 'ACTIVE') === 'ACTIVE' && (b.weight ?? 100) > 0 && health !== 'DOWN'
  );
}

/** Its sessions stay valid: MAC known, not DISABLED, not DOWN with on_down MOVE. */
export function isLive(
  b: BackendConfig,
  mac: string | undefined,
  health: Health,
  check: HealthCheckConfig | undefined,
): boolean {
  if (mac === undefined || b.state === 'DISABLED') return false;
  return !(health === 'DOWN' && check?.on_down === 'MOVE');
}
