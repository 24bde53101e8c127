// The namespace side of the long-lived connection kit (testkit/longlived.ts drives it), run as commands
// of testkit/agent.ts (`ip netns exec NS node agent.js CMD ...`):
//   echo-serve  a TCP echo server that answers every line with its own name in front (`b2 17:40`), so a
//               client knows which server holds each connection;
//   longlived   N connections to HOST:PORT (opened `concurrency` at a time), each sending one short line
//               every `interval-ms` and checking each echo; a connection fails on a reset, a close, an
//               echo out of order, an echo from another server, or no echo within `timeout-ms`;
//   shortconns  new connections at a fixed rate (one line, its echo, close), each success or failure
//               reported with its time.
// The clients print JSON lines on stdout: events (`fail`, `new`) as they happen, stamped with the wall
// clock (the host process shares it) so that the host can attribute them to its phases; `progress` every
// `progress-ms`; `result` at the end. They stop on a `stop` line on stdin (or stdin's end) and are bounded
// by `deadline-ms`.
import net from 'node:net';
import { createInterface } from 'node:readline';
import { num, type Opts, parseOptions } from './agent-opts.js';

const OPTIONS = [
  'concurrency',
  'count',
  'deadline-ms',
  'hosts',
  'interval-ms',
  'name',
  'port',
  'progress-ms',
  'rate',
  'timeout-ms',
] as const;

function parse(argv: string[]): Opts {
  return parseOptions(argv, OPTIONS);
}

function hostsOf(o: Opts): string[] {
  const hs = (o.hosts ?? '').split(',').filter(Boolean);
  if (hs.length === 0) throw new Error('--hosts A[,B...] is required');
  return hs;
}

function emit(obj: unknown): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

/** Calls `stop` on a `stop` line, at stdin's end, or at the deadline. */
function onStop(deadlineMs: number, stop: () => void): void {
  const t = setTimeout(stop, deadlineMs);
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (l) => {
    if (l.trim() === 'stop') stop();
  });
  rl.on('close', stop);
  process.on('SIGTERM', stop);
  process.on('exit', () => clearTimeout(t));
}

// ---- echo server -----------------------------------------------------------------------------------

/** Answers every line `L` with `NAME L`; prints READY once listening. */
export function echoServe(argv: string[]): void {
  const o = parse(argv);
  const name = o.name ?? 'server';
  const server = net.createServer((sock) => {
    let buf = '';
    sock.setEncoding('utf8');
    sock.setNoDelay(true);
    sock.on('data', (d: string) => {
      buf += d;
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        sock.write(`${name} ${buf.slice(0, nl)}\n`);
        buf = buf.slice(nl + 1);
        nl = buf.indexOf('\n');
      }
    });
    sock.on('error', () => {});
  });
  server.listen(num(o, 'port', 9100), '0.0.0.0', () => process.stdout.write('READY\n'));
  process.on('SIGTERM', () => process.exit(0));
}

// ---- long-lived connections -------------------------------------------------------------------------

export interface ConnectionState {
  id: number;
  host: string;
  /** The server that answered (from the echoes); absent when none did. */
  server?: string;
  echoes: number;
  /** Why the connection failed; absent while it works. */
  failed?: string;
  /** When it failed (wall clock ms): the event, or the send time of the echo that never came. */
  failedAt?: number;
}

export interface LongLivedProgress {
  t: number;
  open: number;
  failed: number;
  echoes: number;
}

class Conn {
  readonly state: ConnectionState;
  private readonly sent: number[] = [];
  private seq = 0;
  private acked = 0;
  private buf = '';
  private timer: NodeJS.Timeout | undefined;

  constructor(
    id: number,
    host: string,
    private readonly sock: net.Socket,
    private readonly onFail: (c: Conn) => void,
  ) {
    this.state = { id, host, echoes: 0 };
    sock.setEncoding('utf8');
    sock.setNoDelay(true);
    sock.on('data', (d: string) => this.data(d));
    sock.on('error', (e: NodeJS.ErrnoException) => this.fail(e.code ?? e.message));
    sock.on('close', () => this.fail('closed'));
  }

  get live(): boolean {
    return this.state.failed === undefined;
  }

  /** Starts the line every `intervalMs` (the first one now); checks the oldest echo's age each time. */
  start(intervalMs: number, timeoutMs: number): void {
    const tick = () => {
      const oldest = this.sent[0];
      if (oldest !== undefined && Date.now() - oldest > timeoutMs) {
        this.fail('timeout', oldest);
        return;
      }
      this.sent.push(Date.now());
      this.sock.write(`${this.state.id}:${this.seq++}\n`);
    };
    tick();
    this.timer = setInterval(tick, intervalMs);
  }

  private data(d: string): void {
    this.buf += d;
    let nl = this.buf.indexOf('\n');
    while (nl >= 0 && this.live) {
      this.echo(this.buf.slice(0, nl));
      this.buf = this.buf.slice(nl + 1);
      nl = this.buf.indexOf('\n');
    }
  }

  private echo(line: string): void {
    const [server = '', tag = ''] = line.split(' ');
    if (tag !== `${this.state.id}:${this.acked}`) {
      this.fail(`bad echo "${line}"`);
      return;
    }
    if (this.state.server === undefined) this.state.server = server;
    else if (this.state.server !== server) {
      this.fail(`moved to ${server}`);
      return;
    }
    this.acked++;
    this.sent.shift();
    this.state.echoes++;
  }

  fail(reason: string, at = Date.now()): void {
    if (!this.live) return;
    this.state.failed = reason;
    this.state.failedAt = at;
    this.close();
    this.onFail(this);
  }

  close(): void {
    clearInterval(this.timer);
    this.sock.removeAllListeners('close');
    this.sock.destroy();
  }
}

function connect(host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port });
    const t = setTimeout(() => sock.destroy(new Error('connect timeout')), timeoutMs);
    sock.once('connect', () => {
      clearTimeout(t);
      sock.removeAllListeners('error');
      resolve(sock);
    });
    sock.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(t);
      reject(new Error(`connect: ${e.code ?? e.message}`));
    });
  });
}

/** Opens `count` connections round robin over `hosts`, `concurrency` at a time; runs until stopped. */
export async function longLived(argv: string[]): Promise<void> {
  const o = parse(argv);
  const hosts = hostsOf(o);
  const port = num(o, 'port', 9100);
  const count = num(o, 'count', 200);
  const conc = Math.max(1, num(o, 'concurrency', 16));
  const intervalMs = num(o, 'interval-ms', 100);
  const timeoutMs = num(o, 'timeout-ms', 2000);
  const t0 = Date.now();
  const conns: Conn[] = [];
  const failedEarly: ConnectionState[] = [];
  let stopping = false;
  const counts = (): LongLivedProgress => {
    const live = conns.filter((c) => c.live).length;
    const echoes = conns.reduce((a, c) => a + c.state.echoes, 0);
    return { t: Date.now(), open: live, failed: conns.length - live + failedEarly.length, echoes };
  };
  const onFail = (c: Conn) => {
    if (!stopping) emit({ fail: c.state });
  };
  const stop = () => {
    if (stopping) return;
    stopping = true;
    for (const c of conns) c.close();
    const connections = [...conns.map((c) => c.state), ...failedEarly].sort((a, b) => a.id - b.id);
    emit({ result: { connections, elapsedMs: Date.now() - t0, ...counts() } });
    process.exit(0);
  };
  onStop(num(o, 'deadline-ms', 600_000), stop);
  const ticker = setInterval(() => emit({ progress: counts() }), num(o, 'progress-ms', 1000));
  process.on('exit', () => clearInterval(ticker));
  let next = 0;
  const worker = async () => {
    while (next < count && !stopping) {
      const id = next++;
      const host = hosts[id % hosts.length] ?? '';
      try {
        const c = new Conn(id, host, await connect(host, port, timeoutMs), onFail);
        if (stopping) return c.close();
        conns.push(c);
        c.start(intervalMs, timeoutMs);
      } catch (e) {
        const state = { id, host, echoes: 0, failed: (e as Error).message, failedAt: Date.now() };
        failedEarly.push(state);
        emit({ fail: state });
      }
    }
  };
  await Promise.all(Array.from({ length: conc }, worker));
  if (!stopping) emit({ opened: counts() });
}

// ---- new connections at a fixed rate -----------------------------------------------------------------

export interface NewConnection {
  ok: boolean;
  host: string;
  server?: string;
  reason?: string;
  /** When it was started (wall clock ms). */
  t: number;
}

function oneShort(host: string, port: number, timeoutMs: number): Promise<NewConnection> {
  const t = Date.now();
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    let buf = '';
    const done = (r: Omit<NewConnection, 't' | 'host'>) => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ ...r, host, t });
    };
    const timer = setTimeout(() => done({ ok: false, reason: 'timeout' }), timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write('new\n'));
    sock.on('data', (d: string) => {
      buf += d;
      const m = /^(\S+) new\n/.exec(buf);
      if (m) done({ ok: true, server: m[1] ?? '' });
    });
    sock.on('error', (e: NodeJS.ErrnoException) => done({ ok: false, reason: e.code ?? e.message }));
    sock.on('close', () => done({ ok: false, reason: 'closed' }));
  });
}

/** Starts a short connection every 1/rate s (round robin over `hosts`) until stopped. */
export function shortConns(argv: string[]): void {
  const o = parse(argv);
  const hosts = hostsOf(o);
  const port = num(o, 'port', 9100);
  const rate = Math.max(1, num(o, 'rate', 20));
  const timeoutMs = num(o, 'timeout-ms', 2000);
  let ok = 0;
  let failed = 0;
  let n = 0;
  let stopping = false;
  const timer = setInterval(() => {
    const host = hosts[n++ % hosts.length] ?? '';
    void oneShort(host, port, timeoutMs).then((r) => {
      if (stopping) return;
      if (r.ok) ok++;
      else failed++;
      emit({ new: r });
    });
  }, 1000 / rate);
  onStop(num(o, 'deadline-ms', 600_000), () => {
    if (stopping) return;
    stopping = true;
    clearInterval(timer);
    emit({ result: { ok, failed } });
    process.exit(0);
  });
}

/** The agent commands of the kit, by name (testkit/agent.ts dispatches to them). */
export const longLivedCommands: Record<string, (argv: string[]) => void | Promise<void>> = {
  'echo-serve': echoServe,
  longlived: longLived,
  shortconns: shortConns,
};
