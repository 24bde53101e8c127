// Which VIPs of an instance this node can serve now, for the routing daemon that announces them (issue
// 12, "Announcement hooks"; docs/api.md, "VIP announcements"). A VIP is reachable when the instance's
// plane is attached and forwarding it (ports resolved, running, ready, a service of the VIP in it), the
// instance is not standby, and one of the VIP's services has a serving backend (docs/semantics.md,
// "Backends": the same rule as `pool show`). Otherwise it is withdrawn, with the first reason that
// holds, in this order: NO_PLANE, STANDBY, NO_SERVING_BACKEND. VipTracker remembers since when each VIP
// has been as it is. VIPs of both families are announced alike: a dual-stack service gives its IPv4 and
// its IPv6 VIP (each a VIP of its own here), IPv6 VIPs as RFC 5952 text (formatIpv6), IPv4 VIPs sorted
// first. Pure: the plane's state and the observations are given, the clock too.
import { formatIpv6, looksIpv6, parseIpv4, parseIpv6 } from '../../core/addr.js';
import type { InstanceConfig } from '../../core/model.js';
import { checkOf, healthOf, isServing, macOf, servicesOf } from './backends.js';
import type { Observed } from './observations.js';

export type WithdrawReason = 'NO_PLANE' | 'STANDBY' | 'NO_SERVING_BACKEND';

export interface VipService {
  name: string;
  /** Its backends that take new flows now. */
  serving: number;
}

/** A VIP of an instance as `GET .../vips` shows it. */
export interface VipState {
  vip: string;
  reachable: boolean;
  /** Why it is withdrawn (absent while reachable). */
  reason?: WithdrawReason;
  /** ISO 8601: since when `reachable` and `reason` have been what they are. */
  since: string;
  services: VipService[];
}

export type VipVerdict = Omit<VipState, 'since'>;

/** What the rule needs of an instance's plane. */
export interface PlaneView {
  /** Running (not FAILED), both ports resolved, the backend port's MAC known (`ready`). */
  forwarding: boolean;
  /** The IPv4 VIPs (host-order numbers) the plane holds a service of. */
  vips: ReadonlySet<number>;
  /** The IPv6 VIPs (formatIpv6 text) the plane holds a service of. */
  vips6?: ReadonlySet<string>;
}

/** A VIP's text as the announcements show it: IPv6 in RFC 5952 form (`FD00::0100` -> `fd00::100`). */
export function vipText(vip: string): string {
  return looksIpv6(vip) ? formatIpv6(parseIpv6(vip)) : vip;
}

/** Sort order of VIP texts: IPv4 by address, then IPv6 by address. */
export function vipOrder(a: string, b: string): number {
  const a6 = looksIpv6(a);
  const b6 = looksIpv6(b);
  if (a6 !== b6) return a6 ? 1 : -1;
  if (!a6) return parseIpv4(a) - parseIpv4(b);
  return Buffer.compare(parseIpv6(a), parseIpv6(b));
}

/** Whether the plane holds a service of `vip` (text of either family). */
function planeHolds(plane: PlaneView, vip: string): boolean {
  return looksIpv6(vip) ? (plane.vips6?.has(vip) ?? false) : plane.vips.has(parseIpv4(vip));
}

/** What was observed of backend `id` of `service` (health, ARP MAC). */
export type ObservedOf = (service: string, id: number) => Observed | undefined;

/** The number of serving backends of each service of `config`, by name. */
function servingCounts(config: InstanceConfig, observed: ObservedOf): Map<string, number> {
  const out = new Map<string, number>();
  for (const svc of servicesOf(config)) {
    let n = 0;
    for (const b of svc.backend.pool) {
      const o = observed(svc.name, b.id);
      if (isServing(b, macOf(b, o).mac, healthOf(checkOf(svc.backend, b), o))) n++;
    }
    out.set(svc.name, n);
  }
  return out;
}

/** The VIPs of `config` (in VIP order) with their services and verdicts. */
export function reachability(config: InstanceConfig, plane: PlaneView, observed: ObservedOf): VipVerdict[] {
  const serving = servingCounts(config, observed);
  const byVip = new Map<string, VipService[]>();
  for (const svc of servicesOf(config)) {
    for (const given of [svc.vip, svc.vip6]) {
      if (given === undefined) continue;
      const vip = vipText(given);
      let list = byVip.get(vip);
      if (!list) {
        list = [];
        byVip.set(vip, list);
      }
      list.push({ name: svc.name, serving: serving.get(svc.name) ?? 0 });
    }
  }
  const out: VipVerdict[] = [];
  for (const [vip, services] of byVip) {
    let reason: WithdrawReason | undefined;
    if (!plane.forwarding || !planeHolds(plane, vip)) reason = 'NO_PLANE';
    else if (config.standby === true) reason = 'STANDBY';
    else if (!services.some((s) => s.serving > 0)) reason = 'NO_SERVING_BACKEND';
    out.push(reason ? { vip, reachable: false, reason, services } : { vip, reachable: true, services });
  }
  return out.sort((a, b) => vipOrder(a.vip, b.vip));
}

/** A VIP whose verdict changed (for the event log). */
export interface VipChange {
  instance: string;
  state: VipState;
  /** Absent for a VIP seen for the first time. */
  before?: VipVerdict;
}

const sameVerdict = (a: VipVerdict, b: VipVerdict) => a.reachable === b.reachable && a.reason === b.reason;

/** The last verdict of every VIP of every instance, and since when it holds. */
export class VipTracker {
  private readonly byInstance = new Map<string, Map<string, VipState>>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Takes the verdicts of `instance` now; returns those that changed (new VIPs included). */
  update(instance: string, verdicts: VipVerdict[]): VipChange[] {
    const old = this.byInstance.get(instance) ?? new Map<string, VipState>();
    const next = new Map<string, VipState>();
    const changes: VipChange[] = [];
    const at = new Date(this.now()).toISOString();
    for (const v of verdicts) {
      const prev = old.get(v.vip);
      if (prev && sameVerdict(prev, v)) {
        next.set(v.vip, { ...v, since: prev.since });
        continue;
      }
      const state = { ...v, since: at };
      next.set(v.vip, state);
      changes.push(prev ? { instance, state, before: prev } : { instance, state });
    }
    this.byInstance.set(instance, next);
    return changes;
  }

  /** The VIPs of `instance` as last updated (VIP order). */
  list(instance: string): VipState[] {
    return [...(this.byInstance.get(instance)?.values() ?? [])];
  }

  instances(): string[] {
    return [...this.byInstance.keys()];
  }

  forget(instance: string): void {
    this.byInstance.delete(instance);
  }

  /** Every reachable VIP of every instance, once each, in address order. */
  reachable(): string[] {
    const set = new Set<string>();
    for (const m of this.byInstance.values()) for (const s of m.values()) if (s.reachable) set.add(s.vip);
    return [...set].sort(vipOrder);
  }
}
