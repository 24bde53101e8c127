// The health prober and ARP resolver of one instance, on its BACKEND port (docs/health.md): one
// AF_PACKET socket (src/kernel/frame-port.ts) read on a short timer, the timers of every probe, and
// the glue between the pure parts: ARP bookkeeping (arp-watch.ts), the TCP/HTTP client (tcp-probe.ts),
// UDP and ICMP probes, rise/fall counters (rise-fall.ts). Probes go to the service's VIP addressed to
// the backend's MAC, from the probe MAC and probe_ip, so a server that lost the VIP fails them. The
// kernel never takes the answers for its own: they go to the probe MAC, which is not the interface's.
// Backends given by an IPv6 address are resolved by Neighbor Discovery from the probe MAC's link-local
// address (which the prober defends: it answers solicitations for it), and a service whose VIP is
// IPv6 is probed over IPv6 from that address (frames6.ts).
import { performance } from 'node:perf_hooks';
import {
  formatIpv4,
  formatIpv6,
  linkLocalOf,
  looksIpv6,
  multicastMacOf,
  parseIpv4,
  parseIpv6,
  parseMac,
  probeMacOf,
  solicitedNodeOf,
} from '../core/addr.js';
import { FramePort, PORT_DOWN } from '../kernel/frame-port.js';
import { ARP_OP_REQUEST } from '../packet/build.js';
import { ArpTable, FluxWatch } from './arp-watch.js';
import { type Addr, type Addressing, arpReply, arpRequest, type Parsed, parseFrame } from './frames.js';
import { ndAdvertise, ndSolicit } from './frames6.js';
import { InFlightProbes } from './inflight.js';
import { addrOf, groupBy, guarded, sameMac, sameProbe } from './prober-helpers.js';
import { RiseFall } from './rise-fall.js';
import type { Verdict } from './tcp-probe.js';
import type { ProberEvents, ProberLog, ProbeTarget, ResolvedCheck } from './types.js';

export interface BackendProberOptions {
  /** The BACKEND interface, in the calling thread's network namespace. */
  ifname: string;
  /**
   * Source of the probes and of ARP requests; without it no probe runs (ARP resolution still does,
   * Neighbor Discovery does not: it speaks from the probe MAC's link-local address).
   */
  probeIp?: string;
  events: ProberEvents;
  log?: ProberLog;
  /** ARP refresh of backend addresses and VIPs (default 10 s); retry while unresolved (default 1 s). */
  arpRefreshMs?: number;
  arpRetryMs?: number;
  /** Period of the socket reads and timers while there are targets (default 10 ms). */
  tickMs?: number;
}

interface Target {
  t: ProbeTarget;
  /** IPv4 VIP (host order) or IPv6 VIP (16 bytes). */
  vip: number | Uint8Array;
  /** The backend's address: IPv4 (host order, ARP) or IPv6 (RFC 5952 text, ND). */
  ip: Addr | undefined;
  check: ResolvedCheck | undefined;
  counter: RiseFall;
  /** performance.now() of the next probe. */
  next: number;
}

/** Frames read per tick at most (the rest waits for the next tick; the socket buffer bounds memory). */
const MAX_FRAMES_PER_TICK = 512;
/** Wait before reopening the socket of an interface that went down or away, and between tries. */
const REOPEN_MS = 1000;

export class BackendProber {
  private port: FramePort;
  private readonly events: ProberEvents;
  private readonly log: ProberLog;
  private readonly probeIp: number | undefined;
  private readonly probeMac: Uint8Array | undefined;
  /** The probe MAC's link-local address (IPv6 source of solicitations and probes), and its text. */
  private readonly linkLocal: Uint8Array | undefined;
  private readonly linkLocalText: string | undefined;
  /** Ethernet group of the link-local address's solicited-node multicast address. */
  private readonly ndGroup: Uint8Array | undefined;
  /** When the port is reopened (performance.now()) after its interface went down or away. */
  private reopenAt: number | undefined;
  private readonly arp: ArpTable;
  private readonly nd: ArpTable<string>;
  private readonly flux: FluxWatch;
  private readonly probes: InFlightProbes;
  private targets = new Map<string, Target>();
  /** The targets by backend address and by VIP (ARP frames are matched through these). */
  private byIp = new Map<Addr, Target[]>();
  private byVip = new Map<number, Target[]>();
  /** Keys whose already-known MAC is reported on the next tick (new targets of a resolved address). */
  private readonly pendingMac = new Set<string>();
  private readonly buf = new Uint8Array(65536);
  /** Runs while there are targets (without any, nothing is read: no cost while idle). */
  private timer: NodeJS.Timeout | undefined;
  private readonly tickMs: number;
  private lastError = '';
  private closed = false;

  constructor(opts: BackendProberOptions) {
    this.log = opts.log ?? (() => {});
    this.events = guarded(opts.events, this.log);
    this.port = FramePort.open(opts.ifname);
    try {
      this.probeIp = opts.probeIp === undefined ? undefined : parseIpv4(opts.probeIp);
      this.probeMac = this.probeIp === undefined ? undefined : probeMacOf(this.probeIp);
      this.linkLocal = this.probeMac && linkLocalOf(this.probeMac);
      this.linkLocalText = this.linkLocal && formatIpv6(this.linkLocal);
      this.ndGroup = this.linkLocal && multicastMacOf(solicitedNodeOf(this.linkLocal));
      if (this.probeMac) this.port.acceptUnicast(this.probeMac);
      if (this.ndGroup) this.port.acceptMulticast(this.ndGroup);
    } catch (e) {
      this.port.close();
      throw e;
    }
    this.arp = new ArpTable(opts.arpRefreshMs ?? 10_000, opts.arpRetryMs ?? 1000);
    this.nd = new ArpTable<string>(opts.arpRefreshMs ?? 10_000, opts.arpRetryMs ?? 1000);
    this.flux = new FluxWatch(opts.arpRefreshMs ?? 10_000);
    this.probes = new InFlightProbes((key, verdict, latencyMs) => this.judged(key, verdict, latencyMs));
    this.tickMs = opts.tickMs ?? 10;
  }

  /** Replaces the set of targets; a key whose addresses and check kind stay keeps its counters. */
  update(targets: ProbeTarget[]): void {
    const next = new Map<string, Target>();
    const now = performance.now();
    for (const t of targets) {
      const old = this.targets.get(t.key);
      const vip = looksIpv6(t.vip) ? parseIpv6(t.vip) : parseIpv4(t.vip);
      const ip = t.ip === undefined ? undefined : addrOf(t.ip);
      if (typeof ip === 'string' && !this.probeMac && old?.ip !== ip)
        this.log('warn', `${t.key}: resolving ${ip} by Neighbor Discovery needs probe_ip; not resolved`);
      const keep = old !== undefined && sameProbe(old.t, t);
      if (old && !keep) this.abort(old);
      const check = this.probeIp === undefined ? undefined : t.check;
      if (t.check && this.probeIp === undefined && !old?.t.check)
        this.log('warn', `${t.key}: a health check needs probe_ip; not probing`);
      const counter = keep ? old.counter : new RiseFall();
      const first = check ? now + Math.random() * Math.min(check.intervalMs / 10, 200) : now;
      next.set(t.key, { t, vip, ip, check, counter, next: keep ? old.next : first });
      if (ip !== undefined && (old?.ip !== ip || !keep) && this.resolved(ip) !== undefined)
        this.pendingMac.add(t.key);
    }
    for (const [key, old] of this.targets) if (!next.has(key)) this.abort(old);
    this.targets = next;
    this.byIp = groupBy(next.values(), (x) => x.ip);
    this.byVip = groupBy(next.values(), (x) => (typeof x.vip === 'number' ? x.vip : undefined));
    const ips = [...this.byIp.keys()];
    this.arp.setAddresses(ips.filter((ip): ip is number => typeof ip === 'number'));
    this.nd.setAddresses(this.probeMac ? ips.filter((ip): ip is string => typeof ip === 'string') : []);
    this.flux.setVips(this.byVip.keys());
    this.runTimer(next.size > 0);
  }

  private runTimer(on: boolean): void {
    if (!on || this.closed) {
      clearInterval(this.timer);
      this.timer = undefined;
    } else if (!this.timer) {
      // What queued while nothing read is stale: dropped unread (bounded by the socket buffer).
      for (let i = 0; i < 100_000 && this.read() >= 0; i++);
      this.timer = setInterval(() => this.tick(), this.tickMs);
      this.timer.unref();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.runTimer(false);
    this.sendAll(this.probes.abortAll());
    this.port.close();
  }

  private abort(t: Target): void {
    this.sendAll(this.probes.abort(t.t.key));
  }

  private tick(): void {
    if (this.closed) return;
    try {
      if (this.reopenAt !== undefined && performance.now() >= this.reopenAt) this.reopen();
      for (let i = 0; i < MAX_FRAMES_PER_TICK; i++) {
        const n = this.read();
        if (n < 0) break;
        if (!this.wanted(n)) continue;
        const p = parseFrame(this.buf, n);
        if (p) this.receive(p);
      }
      const now = performance.now();
      this.arpRound(now);
      this.sendAll(this.probes.expire(now));
      this.startProbes(now);
      this.lastError = '';
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      if (msg !== this.lastError) this.log('warn', `health prober on ${this.port.ifname}: ${msg}`);
      this.lastError = msg;
    }
  }

  /** The next frame into `buf` (its length, or < 0: none, or the port is down and will be reopened). */
  private read(): number {
    const n = this.port.recv(this.buf);
    if (n === PORT_DOWN && this.reopenAt === undefined) {
      this.reopenAt = performance.now() + REOPEN_MS;
      this.log('warn', `health prober: ${this.port.ifname} is down or gone; reopening`);
    }
    return n;
  }

  /** A new socket on the interface (it came back); tried again every REOPEN_MS until it works. */
  private reopen(): void {
    try {
      this.port = this.port.reopen();
      this.reopenAt = undefined;
      this.log('info', `health prober: ${this.port.ifname} reopened`);
    } catch (e) {
      this.reopenAt = performance.now() + REOPEN_MS;
      const msg = e instanceof Error ? e.message : String(e);
      if (msg !== this.lastError) this.log('warn', `health prober: reopening ${this.port.ifname}: ${msg}`);
      this.lastError = msg;
    }
  }

  /** Sender of ARP requests: the probe MAC and address, else the interface's own (or 0.0.0.0). */
  private arpSender(): { mac: Uint8Array; ip: number } {
    return { mac: this.probeMac ?? parseMac(this.port.mac), ip: this.probeIp ?? this.port.ipv4 ?? 0 };
  }

  /**
   * ARP, or a frame to the probe MAC or to its link-local address's solicited-node group: all the
   * prober reads (the rest is not even parsed).
   */
  private wanted(n: number): boolean {
    const b = this.buf;
    if (n < 14) return false;
    if (b[12] === 0x08 && b[13] === 0x06) return true;
    return sameMac(b, this.probeMac) || sameMac(b, this.ndGroup);
  }

  private sendAll(frames: Uint8Array[]): void {
    for (const f of frames) this.port.send(f);
  }

  private receive(p: Parsed): void {
    if (p.kind === 'arp') this.receiveArp(p);
    else if (p.kind === 'nd') this.receiveNd(p);
    else if (this.probeIp !== undefined) this.sendAll(this.probes.receive(p, performance.now()));
  }

  /** A solicitation for our link-local address is answered; an advertisement may resolve a backend. */
  private receiveNd(p: Extract<Parsed, { kind: 'nd' }>): void {
    const mac = p.lladdr ?? p.srcMac;
    if (p.type === 135) {
      if (this.probeMac && p.target === this.linkLocalText)
        this.port.send(ndAdvertise(this.probeMac, mac, parseIpv6(p.src)));
      return;
    }
    const news = this.nd.answer(p.target, mac, performance.now());
    if (!news?.report) return;
    const at = new Date();
    for (const t of this.byIp.get(p.target) ?? []) this.events.mac(t.t.key, news.mac, at);
    this.log('info', `${p.target} is at ${news.mac} (Neighbor Discovery)`);
  }

  private receiveArp(p: Extract<Parsed, { kind: 'arp' }>): void {
    if (p.op === ARP_OP_REQUEST && this.probeMac && p.tpa === this.probeIp && p.spa !== 0) {
      this.port.send(arpReply(this.probeMac, p.tpa, parseMac(p.sha), p.spa));
    }
    if (p.spa === 0) return;
    const news = this.arp.answer(p.spa, p.sha, performance.now());
    if (news?.report) {
      const at = new Date();
      for (const t of this.byIp.get(p.spa) ?? []) this.events.mac(t.t.key, news.mac, at);
      this.log('info', `${formatIpv4(p.spa)} is at ${news.mac}`);
    }
    this.fluxAnswer(p.spa, p.sha);
  }

  /** An ARP frame with a VIP as its sender: flux when it comes from a backend of that VIP. */
  private fluxAnswer(vip: number, mac: string): void {
    if (!this.byVip.get(vip)?.some((t) => this.macOf(t) === mac)) return;
    const macs = this.flux.answer(vip, mac);
    if (!macs) return;
    this.log(
      'warn',
      `ARP flux: ${mac} answers ARP for VIP ${formatIpv4(vip)} (arp_ignore/arp_announce unset?)`,
    );
    this.events.arpFlux(formatIpv4(vip), macs);
  }

  private arpRound(now: number): void {
    for (const key of this.pendingMac) {
      const t = this.targets.get(key);
      const mac = t?.ip === undefined ? undefined : this.resolved(t.ip);
      if (mac) this.events.mac(key, mac, new Date());
    }
    this.pendingMac.clear();
    this.ndRound(now);
    const me = this.arpSender();
    const due = this.arp.due(now);
    for (const ip of due.ask) this.port.send(arpRequest(me.mac, me.ip, ip));
    for (const s of due.silent) {
      const since = new Date(Date.now() - (now - s.since));
      for (const t of this.byIp.get(s.ip) ?? []) this.events.macSilent(t.t.key, since);
      this.log('warn', `${formatIpv4(s.ip)} has not answered ARP since ${since.toISOString()}`);
    }
    const flux = this.flux.due(now);
    for (const vip of flux.ask) this.port.send(arpRequest(me.mac, me.ip, vip));
    for (const c of flux.changed) this.events.arpFlux(formatIpv4(c.vip), c.macs);
  }

  /** Solicitations for the IPv6 backend addresses due now, and those that fell silent. */
  private ndRound(now: number): void {
    const due = this.nd.due(now);
    if (this.probeMac) for (const ip of due.ask) this.port.send(ndSolicit(this.probeMac, parseIpv6(ip)));
    for (const s of due.silent) {
      const since = new Date(Date.now() - (now - s.since));
      for (const t of this.byIp.get(s.ip) ?? []) this.events.macSilent(t.t.key, since);
      this.log('warn', `${s.ip} has not answered Neighbor Discovery since ${since.toISOString()}`);
    }
  }

  /** The MAC found for a backend address, by ARP or by ND. */
  private resolved(ip: Addr): string | undefined {
    return typeof ip === 'number' ? this.arp.mac(ip) : this.nd.mac(ip);
  }

  private macOf(t: Target): string | undefined {
    return t.t.mac ?? (t.ip === undefined ? undefined : this.resolved(t.ip));
  }

  private startProbes(now: number): void {
    if (this.probeIp === undefined || !this.probeMac) return;
    for (const t of this.targets.values()) {
      if (!t.check || t.next > now || this.probes.busy(t.t.key)) continue;
      t.next = now + t.check.intervalMs;
      const mac = this.macOf(t);
      if (!mac) continue; // not resolved yet: no probe, no verdict
      const v6 = typeof t.vip !== 'number';
      const src = v6 && this.linkLocal ? this.linkLocal : this.probeIp;
      const a: Addressing = { dstMac: parseMac(mac), srcMac: this.probeMac, src, dst: t.vip };
      const host = typeof t.vip === 'number' ? t.t.vip : `[${formatIpv6(t.vip)}]`;
      this.sendAll(this.probes.start(t.t.key, t.check, a, host, now));
    }
  }

  private judged(key: string, v: Verdict, latencyMs: number): void {
    const t = this.targets.get(key);
    if (!t?.check) return;
    this.events.probe?.(key, v.ok, latencyMs);
    const h = t.counter.record(v.ok, t.check.rise, t.check.fall);
    if (!h) return;
    const n = h === 'UP' ? t.check.rise : t.check.fall;
    const reason = `${n} ${n === 1 ? 'probe' : 'probes'} ${h === 'UP' ? 'succeeded' : 'failed'}: ${v.reason}`;
    this.log(h === 'UP' ? 'info' : 'warn', `${key} is ${h}: ${reason}`);
    this.events.health(key, h, reason, new Date());
  }
}
