// The probes in flight of one prober, pure (docs/health.md): at most one per target, each with its
// local port (TCP, HTTP, UDP; allocated in turn from the ephemeral range so a 4-tuple is not reused
// soon) or ICMP echo sequence number, its deadline, and what judges it. Every answer is matched on
// what the prober chose (destination probe_ip and local port, or echo id and sequence), since all the
// backends of a service answer from the same VIP. Probes of either family: an answer's addresses are
// compared with the probe's own (addrKey). Returns the frames to send; the prober sends them.
import {
  type Addressing,
  addrKey,
  icmpEchoRequestFrame,
  type Parsed,
  tcpSegmentFrame,
  udpDatagramFrame,
} from './frames.js';
import { httpRequest, TcpProbe, type TcpStep, type Verdict } from './tcp-probe.js';
import type { ResolvedCheck } from './types.js';

interface Flight {
  key: string;
  check: ResolvedCheck;
  a: Addressing;
  started: number;
  deadline: number;
  judged: boolean;
  /** TCP/HTTP/UDP: our port; ICMP: the echo sequence number. */
  local: number;
  tcp?: TcpProbe;
}

const PORT_FIRST = 32768;
const PORT_LAST = 60999;

export class InFlightProbes {
  private readonly byKey = new Map<string, Flight>();
  private readonly ports = new Map<number, Flight>();
  private readonly echoes = new Map<number, Flight>();
  private nextPort = PORT_FIRST + Math.floor(Math.random() * (PORT_LAST - PORT_FIRST));
  private nextSeq = 1;
  /** The ICMP echo identifier of this prober. */
  readonly echoId = Math.floor(Math.random() * 0xffff) + 1;

  constructor(private readonly onVerdict: (key: string, v: Verdict, latencyMs: number) => void) {}

  busy(key: string): boolean {
    return this.byKey.has(key);
  }

  get size(): number {
    return this.byKey.size;
  }

  /** Starts a probe of `key` (not busy); `host`: the Host header of an HTTP check (the VIP). */
  start(key: string, check: ResolvedCheck, a: Addressing, host: string, now: number): Uint8Array[] {
    const f: Flight = {
      key,
      check,
      a,
      started: now,
      deadline: now + check.timeoutMs,
      judged: false,
      local: 0,
    };
    this.byKey.set(key, f);
    if (check.type === 'ICMP') {
      f.local = this.allocSeq();
      this.echoes.set(f.local, f);
      return [icmpEchoRequestFrame(a, this.echoId, f.local)];
    }
    f.local = this.allocPort();
    this.ports.set(f.local, f);
    if (check.type === 'UDP') {
      const payload = new TextEncoder().encode(check.payload ?? '');
      return [udpDatagramFrame(a, f.local, check.port, payload)];
    }
    const http =
      check.type === 'HTTP'
        ? {
            request: httpRequest(check.port === 80 ? host : `${host}:${check.port}`, check.path),
            expect: check.expect,
            ...(check.body !== undefined ? { body: check.body } : {}),
          }
        : undefined;
    f.tcp = new TcpProbe(Math.floor(Math.random() * 0x1_0000_0000) >>> 0, http);
    return [tcpSegmentFrame(a, f.local, check.port, f.tcp.syn())];
  }

  /** A parsed frame from the port (answers go to the probe's source address). */
  receive(p: Parsed, now: number): Uint8Array[] {
    if (p.kind === 'tcp') {
      const f = this.ports.get(p.dport);
      if (!f?.tcp || p.dst !== addrKey(f.a.src) || p.sport !== f.check.port || p.src !== addrKey(f.a.dst))
        return [];
      return this.step(f, f.tcp.receive(p), now);
    }
    if (p.kind === 'udp') {
      // A server bound to 0.0.0.0 may answer from its own address rather than the VIP: ports decide.
      const f = this.ports.get(p.dport);
      if (!f || f.tcp || p.dst !== addrKey(f.a.src) || p.sport !== f.check.port) return [];
      const body = f.check.body;
      const ok = body === undefined || Buffer.from(p.payload).toString('utf8').includes(body);
      const reason = ok ? 'UDP answer' : `UDP answer lacks '${body}'`;
      return this.end(f, { ok, reason }, now);
    }
    if (p.kind === 'echo-reply') {
      const f = this.echoes.get(p.seq);
      if (!f || p.id !== this.echoId || p.dst !== addrKey(f.a.src) || p.src !== addrKey(f.a.dst)) return [];
      return this.end(f, { ok: true, reason: 'echo reply' }, now);
    }
    if (p.kind === 'unreachable') {
      const f = this.ports.get(p.innerSport);
      if (!f || p.innerDst !== addrKey(f.a.dst) || p.innerDport !== f.check.port) return [];
      const what = p.port ? 'port unreachable' : `destination unreachable (code ${p.code})`;
      const sends = f.tcp ? f.tcp.timeout(0).send : [];
      return [...this.frames(f, sends), ...this.end(f, { ok: false, reason: what }, now)];
    }
    return [];
  }

  /** Judges and ends every probe past its deadline. */
  expire(now: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const f of this.byKey.values()) {
      if (now < f.deadline) continue;
      if (f.tcp) out.push(...this.step(f, f.tcp.timeout(f.check.timeoutMs), now));
      else {
        const reason = `no answer within ${f.check.timeoutMs} ms`;
        out.push(...this.end(f, { ok: false, reason }, now));
      }
    }
    return out;
  }

  /** Forgets `key`'s probe without a verdict (its target went away); an open connection is reset. */
  abort(key: string): Uint8Array[] {
    const f = this.byKey.get(key);
    if (!f) return [];
    f.judged = true;
    const sends = f.tcp ? this.frames(f, f.tcp.timeout(0).send) : [];
    this.forget(f);
    return sends;
  }

  abortAll(): Uint8Array[] {
    return [...this.byKey.keys()].flatMap((k) => this.abort(k));
  }

  private step(f: Flight, s: TcpStep, now: number): Uint8Array[] {
    const out = this.frames(f, s.send);
    if (s.verdict && !f.judged) {
      f.judged = true;
      this.onVerdict(f.key, s.verdict, now - f.started);
    }
    if (s.done) this.forget(f);
    return out;
  }

  private end(f: Flight, v: Verdict, now: number): Uint8Array[] {
    this.forget(f);
    if (!f.judged) {
      f.judged = true;
      this.onVerdict(f.key, v, now - f.started);
    }
    return [];
  }

  private frames(f: Flight, segs: TcpStep['send']): Uint8Array[] {
    return segs.map((s) => tcpSegmentFrame(f.a, f.local, f.check.port, s));
  }

  private forget(f: Flight): void {
    if (this.byKey.get(f.key) === f) this.byKey.delete(f.key);
    if (f.check.type === 'ICMP') {
      if (this.echoes.get(f.local) === f) this.echoes.delete(f.local);
    } else if (this.ports.get(f.local) === f) this.ports.delete(f.local);
  }

  private allocPort(): number {
    for (;;) {
      const p = this.nextPort;
      this.nextPort = p >= PORT_LAST ? PORT_FIRST : p + 1;
      if (!this.ports.has(p)) return p;
    }
  }

  private allocSeq(): number {
    for (;;) {
      const s = this.nextSeq;
      this.nextSeq = s >= 0xffff ? 1 : s + 1;
      if (!this.echoes.has(s)) return s;
    }
  }
}
