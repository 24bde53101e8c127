// The VIP entries and port services of the XDP maps as the mirror (mirror.ts) last wrote them, both
// families (lbdsr_vips/lbdsr_ports for IPv4 VIPs, lbdsr_vips6/lbdsr_ports6 for IPv6 ones), and their
// rewrite from the services that name a VIP: only the entries that differ are written or removed.
import {
  type KernelPort,
  type KernelService,
  type KernelVip,
  macEq,
  portEntriesOf,
  portKeyString,
  type VipAddr,
  vipEntryOf,
  vipKeyString,
  vipsOf,
  type XdpServiceMaps,
} from './service-maps.js';

/** VIPs by their Map key (vipKeyString). */
export type VipSet = Map<string, VipAddr>;

export function addVips(set: VipSet, s: KernelService): void {
  for (const v of vipsOf(s)) set.set(vipKeyString(v), v);
}

function vipEq(a: KernelVip, b: KernelVip): boolean {
  return (
    macEq(a.mac, b.mac) &&
    a.portProtos === b.portProtos &&
    a.tcp === b.tcp &&
    a.udp === b.udp &&
    a.icmp === b.icmp
  );
}

export class VipEntries {
  /** VIP entries by vipKeyString, port services by portKeyString. */
  private readonly entries = new Map<string, KernelVip>();
  private readonly ports = new Map<string, KernelPort>();

  constructor(private readonly svc: XdpServiceMaps) {}

  /** Takes the entries a previous daemon left in the maps as written. */
  adopt(): void {
    for (const v of this.svc.readVips()) this.entries.set(vipKeyString(v.vip), v);
    for (const p of this.svc.readPorts()) this.ports.set(portKeyString(p), p);
  }

  /** Adds every VIP that has an entry to `set`. */
  addAll(set: VipSet): void {
    for (const [key, e] of this.entries) set.set(key, e.vip);
  }

  /** The VIPs that have an entry. */
  vips(): VipAddr[] {
    return [...this.entries.values()].map((e) => e.vip);
  }

  /**
   * Rewrites the VIP entries and port services of `vips` from the services held: new entries first,
   * then the ones no service needs any more are removed. Returns how many entries were written or removed.
   */
  sync(vips: VipSet, services: Iterable<KernelService>): number {
    if (vips.size === 0) return 0;
    const byVip = new Map<string, KernelService[]>();
    for (const s of services) {
      for (const v of vipsOf(s)) {
        const key = vipKeyString(v);
        if (!vips.has(key)) continue;
        const list = byVip.get(key);
        if (list) list.push(s);
        else byVip.set(key, [s]);
      }
    }
    let n = 0;
    const wantPorts = new Map<string, KernelPort>();
    for (const [key, list] of byVip) {
      for (const p of portEntriesOf(vips.get(key)!, list)) wantPorts.set(portKeyString(p), p);
    }
    for (const [key, p] of wantPorts) {
      const old = this.ports.get(key);
      if (old && old.index === p.index) continue;
      this.svc.writePort(p);
      this.ports.set(key, p);
      n++;
    }
    for (const [key, list] of byVip) {
      const e = vipEntryOf(vips.get(key)!, list);
      const old = this.entries.get(key);
      if (old && vipEq(old, e)) continue;
      this.svc.writeVip(e);
      this.entries.set(key, e);
      n++;
    }
    for (const [key, p] of [...this.ports]) {
      if (!vips.has(vipKeyString(p.vip)) || wantPorts.has(key)) continue;
      this.svc.deletePort(p);
      this.ports.delete(key);
      n++;
    }
    for (const [key, vip] of vips) {
      if (byVip.has(key) || !this.entries.has(key)) continue;
      this.svc.deleteVip(vip);
      this.entries.delete(key);
      n++;
    }
    return n;
  }
}
