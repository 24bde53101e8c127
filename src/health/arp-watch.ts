// ARP bookkeeping of the health prober, pure (docs/health.md): which backend addresses to ask for and
// when (every refresh, faster while unresolved), the MAC each one answered with, silence (no answer
// for SILENT_AFTER refreshes in a row: the MAC is kept and reported silent once), and ARP flux (the
// backends answering ARP for a VIP, kept until they stay quiet for SILENT_AFTER rounds). Times are
// milliseconds of any monotonic clock; the prober (prober.ts) sends and receives the frames. The same
// table, keyed by IPv6 address text, keeps what Neighbor Discovery resolves for IPv6 backends.

/** Refreshes without an answer after which a resolved MAC is reported silent. */
export const SILENT_AFTER = 3;

interface Entry {
  mac?: string;
  /** Last answer, last question (0: never), next question. */
  seen: number;
  asked: number;
  next: number;
  unanswered: number;
  silentReported: boolean;
}

export interface MacNews {
  mac: string;
  /** True on the first resolution, a change, or the first answer after reported silence. */
  report: boolean;
}

/** The MACs of the backends' own addresses (IPv4 host-order numbers by ARP, or IPv6 text by ND). */
export class ArpTable<K = number> {
  private readonly entries = new Map<K, Entry>();

  constructor(
    private readonly refreshMs: number,
    private readonly retryMs: number,
  ) {}

  /** The addresses to watch: new ones are asked for at once, dropped ones forgotten. */
  setAddresses(ips: Iterable<K>): void {
    const keep = new Set(ips);
    for (const ip of this.entries.keys()) if (!keep.has(ip)) this.entries.delete(ip);
    for (const ip of keep) {
      if (!this.entries.has(ip))
        this.entries.set(ip, { seen: 0, asked: 0, next: 0, unanswered: 0, silentReported: false });
    }
  }

  mac(ip: K): string | undefined {
    return this.entries.get(ip)?.mac;
  }

  /** When `ip` last answered (0: never). */
  seen(ip: K): number {
    return this.entries.get(ip)?.seen ?? 0;
  }

  /**
   * The addresses to ask for now (each is then scheduled again), and those that just became silent
   * (with the time of their last answer).
   */
  due(now: number): { ask: K[]; silent: { ip: K; since: number }[] } {
    const ask: K[] = [];
    const silent: { ip: K; since: number }[] = [];
    for (const [ip, e] of this.entries) {
      if (e.next > now) continue;
      if (e.asked > 0 && e.seen < e.asked) e.unanswered += 1;
      if (e.mac !== undefined && e.unanswered >= SILENT_AFTER && !e.silentReported) {
        e.silentReported = true;
        silent.push({ ip, since: e.seen });
      }
      e.asked = now;
      e.next = now + (e.mac === undefined ? this.retryMs : this.refreshMs);
      ask.push(ip);
    }
    return { ask, silent };
  }

  /** An ARP frame from `ip` with sender MAC `mac`; undefined when `ip` is not watched. */
  answer(ip: K, mac: string, now: number): MacNews | undefined {
    const e = this.entries.get(ip);
    if (!e) return undefined;
    const report = e.mac !== mac || e.silentReported;
    if (e.mac === undefined) e.next = now + this.refreshMs;
    e.mac = mac;
    e.seen = now;
    e.unanswered = 0;
    e.silentReported = false;
    return { mac, report };
  }
}

/** The backends that answer ARP for each VIP (the DSR misconfiguration). */
export class FluxWatch {
  private readonly vips = new Map<number, { next: number; round: number; macs: Map<string, number> }>();

  constructor(private readonly refreshMs: number) {}

  setVips(vips: Iterable<number>): void {
    const keep = new Set(vips);
    for (const v of this.vips.keys()) if (!keep.has(v)) this.vips.delete(v);
    for (const v of keep) if (!this.vips.has(v)) this.vips.set(v, { next: 0, round: 0, macs: new Map() });
  }

  /** The VIPs to ask for now, and the VIPs whose set of answering MACs shrank (with what is left). */
  due(now: number): { ask: number[]; changed: { vip: number; macs: string[] }[] } {
    const ask: number[] = [];
    const changed: { vip: number; macs: string[] }[] = [];
    for (const [vip, w] of this.vips) {
      if (w.next > now) continue;
      w.round += 1;
      w.next = now + this.refreshMs;
      let shrank = false;
      for (const [mac, round] of w.macs) {
        if (w.round - round > SILENT_AFTER) {
          w.macs.delete(mac);
          shrank = true;
        }
      }
      if (shrank) changed.push({ vip, macs: [...w.macs.keys()].sort() });
      ask.push(vip);
    }
    return { ask, changed };
  }

  /** `mac` answered for `vip`: the new set of MACs when it joined, else undefined. */
  answer(vip: number, mac: string): string[] | undefined {
    const w = this.vips.get(vip);
    if (!w) return undefined;
    const known = w.macs.has(mac);
    w.macs.set(mac, w.round);
    return known ? undefined : [...w.macs.keys()].sort();
  }
}
