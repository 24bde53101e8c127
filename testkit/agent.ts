// The program the topology runs inside its namespaces (`ip netns exec NS node agent.js CMD ...`):
// servers on the backends (IPv4, and IPv6 too with --vip6) and traffic clients on the clients (either
// family: the address they are given decides). Clients print one JSON result line on
// stdout (and, with --progress-ms, JSON progress lines before it). Every client is bounded in count and
// in time (--deadline-ms). The long-lived connection kit's commands (echo-serve, longlived, shortconns)
// live in longlived-agent.ts and are dispatched from here.
import dgram from 'node:dgram';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { num, type Opts, parseOptions } from './agent-opts.js';
import { longLivedCommands } from './longlived-agent.js';

export interface ClientResult {
  /** Answers per backend name. */
  counts: Record<string, number>;
  failures: number;
  /** First few distinct error messages with their counts. */
  errors: Record<string, number>;
  /** Client-side sockets used (keepalive: how many TCP connections carried the requests). */
  sockets: number;
  elapsedMs: number;
  done: number;
}

/** Every option of every command takes a value (`--name VALUE`). */
const OPTION_NAMES = [
  'address',
  'big-bytes',
  'concurrency',
  'count',
  'deadline-ms',
  'duration-ms',
  'host',
  'http-port',
  'interval-ms',
  'local-address',
  'name',
  'pause-ms',
  'port',
  'progress-ms',
  'timeout-ms',
  'udp-port',
  'url',
  'vip',
  'vip6',
] as const;

function parseOpts(argv: string[]): Opts {
  return parseOptions(argv, OPTION_NAMES);
}

function newResult(): ClientResult {
  return { counts: {}, failures: 0, errors: {}, sockets: 0, elapsedMs: 0, done: 0 };
}

function fail(r: ClientResult, msg: string): void {
  r.failures++;
  if (r.errors[msg] !== undefined || Object.keys(r.errors).length < 8)
    r.errors[msg] = (r.errors[msg] ?? 0) + 1;
}

function ok(r: ClientResult, name: string): void {
  r.counts[name] = (r.counts[name] ?? 0) + 1;
  r.done++;
}

function progressTicker(r: ClientResult, o: Opts, t0: number): () => void {
  const every = num(o, 'progress-ms', 0);
  if (every <= 0) return () => {};
  const t = setInterval(() => {
    r.elapsedMs = Date.now() - t0;
    process.stdout.write(`${JSON.stringify({ progress: r })}\n`);
  }, every);
  return () => clearInterval(t);
}

/** `/big/N`: N bytes of body after the name's line (the Packet Too Big test's large reply). */
function bodyFor(name: string, url: string | undefined): string {
  const m = /^\/big\/(\d+)$/.exec(url ?? '');
  return m ? `${name}\n${'x'.repeat(Math.min(Number(m[1]), 64 << 20))}` : `${name}\n`;
}

/**
 * HTTP on 0.0.0.0:http-port and a UDP echo on vip:udp-port, answering the server's name; with --vip6
 * also HTTP on [::]:http-port and the UDP echo on [vip6]:udp-port (IPv6 must be on in the namespace).
 */
function serve(o: Opts): void {
  const name = o.name ?? 'backend';
  const vip = o.vip ?? '10.0.0.100';
  const vip6 = o.vip6;
  const handler: http.RequestListener = (req, res) => {
    req.resume();
    const body = bodyFor(name, req.url);
    const headers = { 'content-type': 'text/plain', 'x-served-by': name };
    res.writeHead(200, { ...headers, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  const servers = [http.createServer(handler), ...(vip6 ? [http.createServer(handler)] : [])];
  // Long-lived keep-alive connections (the hitless-restart check holds one for several seconds).
  for (const s of servers) {
    s.keepAliveTimeout = 120_000;
    s.headersTimeout = 125_000;
  }
  const udps: [dgram.Socket, string][] = [[dgram.createSocket('udp4'), vip]];
  if (vip6) udps.push([dgram.createSocket({ type: 'udp6', ipv6Only: true }), vip6]);
  for (const [udp] of udps) {
    udp.on('message', (_msg, rinfo) => {
      udp.send(name, rinfo.port, rinfo.address);
    });
  }
  let pending = servers.length + udps.length;
  const ready = () => {
    pending--;
    if (pending === 0) process.stdout.write('READY\n');
  };
  const port = num(o, 'http-port', 80);
  servers[0]?.listen(port, '0.0.0.0', ready);
  servers[1]?.listen({ port, host: '::', ipv6Only: true }, ready);
  for (const [udp, addr] of udps) udp.bind(num(o, 'udp-port', 7000), addr, ready);
  const stop = () => process.exit(0);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

function httpGet(
  url: string,
  agent: http.Agent | false,
  timeoutMs: number,
  localAddress?: string,
): Promise<{ body: string; port: number }> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      url,
      { agent, timeout: timeoutMs, headers: agent ? {} : { connection: 'close' }, localAddress },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
        });
        res.on('end', () => {
          if (res.statusCode !== 200) reject(new Error(`HTTP ${res.statusCode}`));
          else
            resolve({
              body: body.trim(),
              port: (req.socket?.address() as AddressInfo | undefined)?.port ?? 0,
            });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** Runs `task` `count` times, `conc` at a time, starting none after `deadline`. */
async function workers(
  count: number,
  conc: number,
  deadline: number,
  task: () => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count && Date.now() < deadline) {
      next++;
      await task();
    }
  };
  await Promise.all(Array.from({ length: conc }, worker));
}

/** N new connections (Connection: close), `concurrency` at a time, optionally from `local-address`. */
async function httpBurst(o: Opts): Promise<ClientResult> {
  const url = o.url ?? 'http://10.0.0.100/';
  const count = num(o, 'count', 100);
  const conc = Math.max(1, num(o, 'concurrency', 8));
  const timeoutMs = num(o, 'timeout-ms', 3000);
  const deadline = Date.now() + num(o, 'deadline-ms', 60_000);
  const pauseMs = num(o, 'pause-ms', 0);
  const r = newResult();
  const t0 = Date.now();
  const stopTicker = progressTicker(r, o, t0);
  await workers(count, conc, deadline, async () => {
    try {
      const { body } = await httpGet(url, false, timeoutMs, o['local-address']);
      ok(r, body);
      r.sockets++;
    } catch (e) {
      fail(r, (e as Error).message);
    }
    if (pauseMs > 0) await new Promise((res) => setTimeout(res, pauseMs));
  });
  stopTicker();
  r.elapsedMs = Date.now() - t0;
  return r;
}

/** One keep-alive connection, requests every `interval-ms`, for `count` requests or `duration-ms`. */
async function keepAlive(o: Opts): Promise<ClientResult> {
  const url = o.url ?? 'http://10.0.0.100/';
  const count = num(o, 'count', 50);
  const intervalMs = num(o, 'interval-ms', 0);
  const durationMs = num(o, 'duration-ms', 0);
  const timeoutMs = num(o, 'timeout-ms', 3000);
  const deadline = Date.now() + num(o, 'deadline-ms', 60_000);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1, keepAliveMsecs: 1000 });
  const ports = new Set<number>();
  const r = newResult();
  const t0 = Date.now();
  const stopTicker = progressTicker(r, o, t0);
  for (let i = 0; i < count && Date.now() < deadline; i++) {
    if (durationMs > 0 && Date.now() - t0 >= durationMs) break;
    try {
      const { body, port } = await httpGet(url, agent, timeoutMs);
      ok(r, body);
      ports.add(port);
    } catch (e) {
      fail(r, (e as Error).message);
    }
    if (intervalMs > 0) await new Promise((res) => setTimeout(res, intervalMs));
  }
  stopTicker();
  agent.destroy();
  r.sockets = ports.size;
  r.elapsedMs = Date.now() - t0;
  return r;
}

function udpAsk(
  sock: dgram.Socket,
  host: string,
  port: number,
  timeoutMs: number,
  payload: string | Buffer = 'hello',
): Promise<string> {
  return new Promise((resolve, reject) => {
    const onMsg = (msg: Buffer) => {
      clearTimeout(t);
      sock.off('message', onMsg);
      resolve(msg.toString('utf8').trim());
    };
    const t = setTimeout(() => {
      sock.off('message', onMsg);
      reject(new Error('timeout'));
    }, timeoutMs);
    sock.on('message', onMsg);
    sock.send(payload, port, host, (err) => {
      if (err) {
        clearTimeout(t);
        sock.off('message', onMsg);
        reject(err);
      }
    });
  });
}

/** A UDP socket of the family of `host` (IPv6 when it has a colon), bound to any port. */
function openUdp(host: string): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    s.once('error', reject);
    s.bind(0, () => resolve(s));
  });
}

/**
 * One socket, `count` datagrams, one at a time (each waits for its answer). With --big-bytes N every
 * other datagram carries N bytes (above the MTU: the sender's kernel fragments it).
 */
async function udpOne(o: Opts): Promise<ClientResult> {
  const host = o.host ?? '10.0.0.100';
  const port = num(o, 'port', 7000);
  const count = num(o, 'count', 50);
  const timeoutMs = num(o, 'timeout-ms', 1000);
  const deadline = Date.now() + num(o, 'deadline-ms', 30_000);
  const bigBytes = num(o, 'big-bytes', 0);
  const big = bigBytes > 0 ? Buffer.alloc(bigBytes, 'x') : undefined;
  const r = newResult();
  const t0 = Date.now();
  const sock = await openUdp(host);
  r.sockets = 1;
  for (let i = 0; i < count && Date.now() < deadline; i++) {
    try {
      ok(r, await udpAsk(sock, host, port, timeoutMs, big && i % 2 === 1 ? big : 'hello'));
    } catch (e) {
      fail(r, (e as Error).message);
    }
  }
  sock.close();
  r.elapsedMs = Date.now() - t0;
  return r;
}

/** `count` sockets (each its own source port), one datagram each, `concurrency` at a time. */
async function udpMany(o: Opts): Promise<ClientResult> {
  const host = o.host ?? '10.0.0.100';
  const port = num(o, 'port', 7000);
  const count = num(o, 'count', 60);
  const conc = Math.max(1, num(o, 'concurrency', 8));
  const timeoutMs = num(o, 'timeout-ms', 1000);
  const deadline = Date.now() + num(o, 'deadline-ms', 30_000);
  const r = newResult();
  const t0 = Date.now();
  await workers(count, conc, deadline, async () => {
    let sock: dgram.Socket | undefined;
    try {
      sock = await openUdp(host);
      r.sockets++;
      ok(r, await udpAsk(sock, host, port, timeoutMs));
    } catch (e) {
      fail(r, (e as Error).message);
    } finally {
      sock?.close();
    }
  });
  r.elapsedMs = Date.now() - t0;
  return r;
}

/** One GET of `url` read to its end: the server's name (x-served-by) once every announced byte came. */
function download(url: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      url,
      { agent: false, timeout: timeoutMs, headers: { connection: 'close' } },
      (res) => {
        let got = 0;
        res.on('data', (d: Buffer) => {
          got += d.length;
        });
        res.on('end', () => {
          const want = Number(res.headers['content-length']);
          if (res.statusCode !== 200) reject(new Error(`HTTP ${res.statusCode}`));
          else if (got !== want) reject(new Error(`short body: ${got} of ${want} bytes`));
          else resolve(String(res.headers['x-served-by'] ?? 'unknown'));
        });
        res.on('error', reject);
      },
    );
    // the timeout is of inactivity: a path that black-holes large segments stalls the transfer
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** `count` downloads of `url` (e.g. http://[VIP]/big/200000), one at a time, each to its last byte. */
async function downloads(o: Opts): Promise<ClientResult> {
  const url = o.url ?? 'http://10.0.0.100/big/100000';
  const count = num(o, 'count', 1);
  const timeoutMs = num(o, 'timeout-ms', 5000);
  const deadline = Date.now() + num(o, 'deadline-ms', 60_000);
  const r = newResult();
  const t0 = Date.now();
  for (let i = 0; i < count && Date.now() < deadline; i++) {
    try {
      ok(r, await download(url, timeoutMs));
      r.sockets++;
    } catch (e) {
      fail(r, (e as Error).message);
    }
  }
  r.elapsedMs = Date.now() - t0;
  return r;
}

const clients: Record<string, (o: Opts) => Promise<ClientResult>> = {
  http: httpBurst,
  download: downloads,
  keepalive: keepAlive,
  'udp-one': udpOne,
  'udp-many': udpMany,
};

async function main(): Promise<void> {
  const [cmd, ...rest] = process.argv.slice(2);
  const longLived = cmd ? longLivedCommands[cmd] : undefined;
  if (longLived) return longLived(rest);
  const o = parseOpts(rest);
  if (cmd === 'serve') return serve(o);
  const client = cmd ? clients[cmd] : undefined;
  if (!client) {
    const cmds = ['serve', ...Object.keys(clients), ...Object.keys(longLivedCommands)];
    console.error(`usage: agent.js ${cmds.join('|')} [--opt value ...]`);
    process.exit(2);
  }
  const r = await client(o);
  process.stdout.write(`${JSON.stringify({ result: r })}\n`);
  process.exit(0);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
