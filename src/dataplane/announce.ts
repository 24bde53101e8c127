// Gratuitous ARP from the FRONTEND port (issue 9 item 2): when a VIP or its frontend MAC changes, when
// a plane attaches (or its frontend port moves), and on demand (POST .../frontend/announce), the plane
// broadcasts "VIP is at MAC" so that clients and switches learn the new MAC at once instead of after
// their neighbour entry expires. Each announcement is COUNT frames (default 3) one INTERVAL apart
// (default 1 s, like `arping -U -c 3`): the first leaves at once, the repeats cover a frame lost while a
// link or a switch port comes up. A new announcement of the same VIP on the same interface replaces
// one still under way, so an old MAC is never announced after a newer one. Frames leave through a
// send-only AF_PACKET socket of their own (in both planes), opened when the announcement is made: in
// the calling thread's network namespace, where the interface is looked up by name. See docs/xdp.md.
// While the instance answers no ARP for its VIPs (CFG_NO_ARP: mode ROUTED, or standby) nothing is
// announced; when it answers again (standby -> active), every VIP is announced at once, so that clients
// and switches move to this node (docs/semantics.md, "Frontend modes").
// IPv6 VIPs are announced the same way, at the same moments, by unsolicited Neighbor Advertisements
// (docs/semantics.md 6b: 86 bytes to all nodes 33:33:00:00:00:01 / ff02::1, Override only, the frontend
// MAC as the target link-layer address); a dual-stack service announces both of its VIPs.
import { formatIpv4, formatIpv6, formatMac, parseMac } from '../core/addr.js';
import { CFG_NO_ARP } from '../core/constants.js';
import { LbdsrError } from '../core/errors.js';
import { RawSocket } from '../kernel/afpacket.js';
import { IfProber } from '../kernel/ifinfo.js';
import { garpFrame } from '../packet/build.js';
import { unsolicitedNaFrame } from '../packet/build6.js';
import type { Plan } from '../pipeline/plan.js';

/** A VIP to announce: IPv4 (host order) by gratuitous ARP, IPv6 (16 bytes) by unsolicited NA. */
export type AnnouncedVip = number | Uint8Array;

/** The VIP's text (dotted quad, RFC 5952), also its key among announcements. */
export function vipLabel(vip: AnnouncedVip): string {
  return typeof vip === 'number' ? formatIpv4(vip) : formatIpv6(vip);
}

export const ANNOUNCE_COUNT = 3;
export const ANNOUNCE_INTERVAL_MS = 1000;
export const MAX_ANNOUNCE_COUNT = 10;

/** Announcements under way, by `ifname/vip` (the VIP's text). */
const running = new Map<string, Announcement>();

function ifindexOf(ifname: string): number {
  const p = new IfProber();
  try {
    const info = p.get(ifname);
    if (!info) throw new LbdsrError('LBDSR_NO_SUCH_INTERFACE', `interface ${ifname} does not exist`);
    return info.ifindex;
  } finally {
    p.close();
  }
}

/** COUNT gratuitous ARPs (IPv4 VIP) or unsolicited NAs (IPv6 VIP) for one VIP on one interface. */
export class Announcement {
  private sock: RawSocket | null;
  private readonly frame: Uint8Array;
  private timer: NodeJS.Timeout | undefined;
  private sent = 0;
  readonly key: string;

  /** Opens the socket now, in the calling thread's namespace; nothing is sent before start(). */
  constructor(
    readonly ifname: string,
    readonly vip: AnnouncedVip,
    readonly mac: string,
    readonly count = ANNOUNCE_COUNT,
    readonly intervalMs = ANNOUNCE_INTERVAL_MS,
  ) {
    this.key = `${ifname}/${vipLabel(vip)}`;
    this.frame = typeof vip === 'number' ? garpFrame(parseMac(mac), vip) : unsolicitedNaFrame(mac, vip);
    try {
      this.sock = new RawSocket(ifindexOf(ifname), { receive: false });
    } catch (e) {
      if (e instanceof LbdsrError) throw e;
      throw new LbdsrError('LBDSR_NOT_AVAILABLE', `cannot send on ${ifname}: ${(e as Error).message}`, {
        cause: e,
      });
    }
  }

  /**
   * Sends the first frame now (throws LBDSR_NOT_AVAILABLE when it cannot leave, e.g. the interface is
   * down) and the others in the background; replaces an announcement of the same VIP on the interface.
   */
  start(): void {
    running.get(this.key)?.cancel();
    running.set(this.key, this);
    try {
      this.sendOne();
    } catch (e) {
      this.cancel();
      throw new LbdsrError(
        'LBDSR_NOT_AVAILABLE',
        `announcing ${vipLabel(this.vip)} on ${this.ifname}: ${(e as Error).message}`,
        { cause: e },
      );
    }
    if (this.sent >= this.count) {
      this.cancel();
      return;
    }
    this.timer = setInterval(() => {
      try {
        this.sendOne();
      } catch {
        this.sent = this.count; // the interface went down or away: the next change announces again
      }
      if (this.sent >= this.count) this.cancel();
    }, this.intervalMs);
    this.timer.unref();
  }

  private sendOne(): void {
    this.sock?.send(this.frame);
    this.sent++;
  }

  /** Stops the repeats and closes the socket. */
  cancel(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.sock?.close();
    this.sock = null;
    if (running.get(this.key) === this) running.delete(this.key);
  }
}

/**
 * What a plane announces as plans come: it follows the services (VIP -> frontend MAC) of the plans and
 * announces those that are new or have a new MAC since its last announcement, and all of them when the
 * frontend interface changed (a plane that just attached has announced nothing yet) or when the
 * instance answers ARP again (CFG_NO_ARP cleared). Nothing while CFG_NO_ARP is set.
 */
export class ServiceAnnouncer {
  /** Frontend MAC of each IPv4 VIP (host order), as the plans gave them. */
  readonly services = new Map<number, string>();
  /** Frontend MAC of each IPv6 VIP (by its text), and the VIP's bytes. */
  readonly services6 = new Map<string, { vip: Uint8Array; mac: string }>();
  /** The MAC last announced for each VIP (by its text). */
  private announced = new Map<string, string>();
  private announcedOn: string | undefined;
  /** What start() started last (cancel() stops what is still under way). */
  private live: Announcement[] = [];

  /** The services by index (several may share a VIP, with one MAC); vip 0: IPv6 only. */
  private readonly byIndex = new Map<number, { vip: number; vip6: Uint8Array | null; mac: string }>();
  /** The plans' settings say CFG_NO_ARP: no ARP answered, so no gratuitous ARP either. */
  private silent = false;

  /** The frontend MACs of every tracked service, of both families (each once). */
  macs(): string[] {
    return [...new Set([...this.services.values(), ...[...this.services6.values()].map((s) => s.mac)])];
  }

  /** Follows the services of `plan` (call it for every plan the plane takes). */
  track(plan: Plan): void {
    if (plan.full) this.byIndex.clear();
    for (const r of plan.removedServices) this.byIndex.delete(r.index);
    for (const s of plan.services)
      this.byIndex.set(s.index, { vip: s.vip, vip6: s.vip6 ?? null, mac: formatMac(s.mac) });
    this.services.clear();
    this.services6.clear();
    for (const { vip, vip6, mac } of this.byIndex.values()) {
      if (vip !== 0) this.services.set(vip, mac);
      if (vip6) this.services6.set(formatIpv6(vip6), { vip: vip6, mac });
    }
    this.silent = (plan.settings.flags & CFG_NO_ARP) !== 0;
  }

  /**
   * The announcements the tracked services need on `ifname` (sockets opened now, in the calling
   * thread's namespace; start() them once the plane took the plan). Never throws: an interface that
   * cannot be used now is announced on at the next change.
   */
  prepare(ifname: string | undefined): Announcement[] {
    const out: Announcement[] = [];
    const all = ifname !== this.announcedOn;
    if (!ifname || this.silent) {
      // forgotten: the next announcement (an interface again, ARP answered again) covers every VIP
      this.cancel();
      this.announcedOn = undefined;
      this.announced = new Map();
      return out;
    }
    try {
      for (const [vip, mac] of this.services) {
        if (all || this.announced.get(formatIpv4(vip)) !== mac) out.push(new Announcement(ifname, vip, mac));
      }
      for (const [text, { vip, mac }] of this.services6) {
        if (all || this.announced.get(text) !== mac) out.push(new Announcement(ifname, vip, mac));
      }
    } catch {
      for (const a of out) a.cancel();
      return [];
    }
    return out;
  }

  /** Starts what prepare() gave (the plane took the plan); failures wait for the next change. */
  start(list: Announcement[]): void {
    if (list.length) this.live = list;
    for (const a of list) {
      try {
        a.start();
        this.announced.set(vipLabel(a.vip), a.mac);
        this.announcedOn = a.ifname;
      } catch {
        // not announced: prepare() offers it again next time
      }
    }
    if (list.length === 0) return;
    // Services gone since are no longer "announced".
    const current = new Set([...[...this.services.keys()].map(formatIpv4), ...this.services6.keys()]);
    for (const vip of [...this.announced.keys()]) if (!current.has(vip)) this.announced.delete(vip);
  }

  /** Stops the repeats still under way (the plane goes). */
  cancel(): void {
    for (const a of this.live) a.cancel();
    this.live = [];
  }
}
