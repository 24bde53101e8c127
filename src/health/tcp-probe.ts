// The TCP side of a health probe, pure (docs/health.md): the handshake of a TCP check (SYN, a SYN-ACK
// is good and is answered with RST; a RST or silence is bad) and the tiny HTTP/1.1 client of an HTTP
// check (SYN, ACK + GET with `Connection: close`, in-order segments read and ACKed, status line and
// body substring judged, FIN answered with FIN). It only turns received segments into segments to send
// and a verdict; the prober (prober.ts) owns the frames, the clock and the ports.
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from '../packet/build.js';
import type { TcpSegment } from './frames.js';

/** A probe's result: good or bad, and why (shown as the health reason). */
export interface Verdict {
  ok: boolean;
  reason: string;
}

export interface TcpStep {
  send: TcpSegment[];
  /** Set once, when the probe is judged (the connection may still be closing). */
  verdict?: Verdict;
  /** The connection is over: the prober may forget it (and free its port). */
  done: boolean;
}

export interface HttpExpectation {
  request: Uint8Array;
  expect: number;
  body?: string;
}

/** At most this much of an HTTP answer is kept (a judgement needs the status line and a substring). */
export const HTTP_KEEP_BYTES = 64 * 1024;
const MSS = 1460;

/** The GET request of an HTTP check. */
export function httpRequest(host: string, path: string): Uint8Array {
  return new TextEncoder().encode(
    `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: lbdsr-health\r\nAccept: */*\r\nConnection: close\r\n\r\n`,
  );
}

type State = 'SYN_SENT' | 'ESTABLISHED' | 'DONE';

const u32 = (v: number) => v >>> 0;

export class TcpProbe {
  private state: State = 'SYN_SENT';
  private sndNxt: number;
  private rcvNxt = 0;
  private verdict: Verdict | undefined;
  private readonly chunks: Uint8Array[] = [];
  private kept = 0;

  /** `iss`: the initial sequence number; `http`: run an HTTP check after the handshake. */
  constructor(
    private readonly iss: number,
    private readonly http?: HttpExpectation,
  ) {
    this.sndNxt = u32(iss + 1);
  }

  get done(): boolean {
    return this.state === 'DONE';
  }

  syn(): TcpSegment {
    return { flags: TCP_SYN, seq: this.iss, ack: 0, mss: MSS };
  }

  /** A segment from the server (its flags, sequence numbers and payload). */
  receive(seg: { flags: number; seq: number; ack: number; payload: Uint8Array }): TcpStep {
    if (this.state === 'SYN_SENT') return this.handshake(seg);
    if (this.state === 'DONE') return { send: [], done: true };
    if (seg.flags & TCP_RST) return this.finish([], { ok: false, reason: 'connection reset' });
    return this.established(seg);
  }

  /** The probe's time is up: judged bad unless already judged; a connection still open is reset. */
  timeout(ms: number): TcpStep {
    if (this.state === 'DONE') return { send: [], done: true };
    const open = this.state === 'ESTABLISHED';
    const send = open ? [{ flags: TCP_RST | TCP_ACK, seq: this.sndNxt, ack: this.rcvNxt }] : [];
    const reason = open ? `no complete answer within ${ms} ms` : `no answer within ${ms} ms`;
    return this.finish(send, this.verdict ? undefined : { ok: false, reason });
  }

  private handshake(seg: { flags: number; seq: number; ack: number }): TcpStep {
    const acked = (seg.flags & TCP_ACK) !== 0 && seg.ack === this.sndNxt;
    if (!acked) return { send: [], done: false };
    if (seg.flags & TCP_RST) return this.finish([], { ok: false, reason: 'connection refused' });
    if ((seg.flags & TCP_SYN) === 0) return { send: [], done: false };
    this.rcvNxt = u32(seg.seq + 1);
    if (!this.http) {
      const rst = { flags: TCP_RST, seq: this.sndNxt, ack: 0 };
      return this.finish([rst], { ok: true, reason: 'SYN-ACK' });
    }
    this.state = 'ESTABLISHED';
    const req = { flags: TCP_ACK | TCP_PSH, seq: this.sndNxt, ack: this.rcvNxt, payload: this.http.request };
    this.sndNxt = u32(this.sndNxt + this.http.request.length);
    return { send: [req], done: false };
  }

  private established(seg: { flags: number; seq: number; payload: Uint8Array }): TcpStep {
    const fin = (seg.flags & TCP_FIN) !== 0;
    if (seg.payload.length === 0 && !fin) return { send: [], done: false };
    if (seg.seq !== this.rcvNxt) {
      // Out of order or a retransmission: say again what we have; the server resends the rest.
      return { send: [{ flags: TCP_ACK, seq: this.sndNxt, ack: this.rcvNxt }], done: false };
    }
    this.rcvNxt = u32(this.rcvNxt + seg.payload.length + (fin ? 1 : 0));
    if (this.kept < HTTP_KEEP_BYTES && seg.payload.length > 0) {
      const take = seg.payload.subarray(0, HTTP_KEEP_BYTES - this.kept);
      this.chunks.push(take);
      this.kept += take.length;
    }
    const full = this.kept >= HTTP_KEEP_BYTES;
    const verdict = this.verdict ? undefined : this.judge(fin || full);
    if (verdict) this.verdict = verdict;
    if (fin) {
      const finAck = { flags: TCP_FIN | TCP_ACK, seq: this.sndNxt, ack: this.rcvNxt };
      this.sndNxt = u32(this.sndNxt + 1);
      return this.finish([finAck], verdict);
    }
    if (full) return this.finish([{ flags: TCP_RST | TCP_ACK, seq: this.sndNxt, ack: this.rcvNxt }], verdict);
    const ack = { flags: TCP_ACK, seq: this.sndNxt, ack: this.rcvNxt };
    return verdict ? { send: [ack], verdict, done: false } : { send: [ack], done: false };
  }

  private finish(send: TcpSegment[], verdict: Verdict | undefined): TcpStep {
    this.state = 'DONE';
    if (verdict) this.verdict = verdict;
    return verdict ? { send, verdict, done: true } : { send, done: true };
  }

  /** The verdict on the answer so far; `final`: no more will come (undefined only when more may help). */
  private judge(final: boolean): Verdict | undefined {
    const http = this.http;
    if (!http) return undefined;
    const text = Buffer.concat(this.chunks).toString('utf8');
    const eol = text.indexOf('\r\n');
    if (eol < 0) return final ? { ok: false, reason: 'no HTTP status line' } : undefined;
    const m = /^HTTP\/\d(?:\.\d)? (\d{3})/.exec(text.slice(0, eol));
    if (!m) return { ok: false, reason: `not an HTTP status line: ${text.slice(0, Math.min(eol, 60))}` };
    const status = Number(m[1]);
    if (status !== http.expect)
      return { ok: false, reason: `HTTP status ${status}, expected ${http.expect}` };
    if (http.body === undefined) return { ok: true, reason: `HTTP status ${status}` };
    const head = text.indexOf('\r\n\r\n');
    if (head >= 0 && text.indexOf(http.body, head + 4) >= 0)
      return { ok: true, reason: `HTTP status ${status}, body holds '${http.body}'` };
    return final ? { ok: false, reason: `HTTP body lacks '${http.body}'` } : undefined;
  }
}
