// lbdsrd: parses its flags (node:util parseArgs), reads its secrets (a token file and a TLS key
// readable by group or others are refused, a token shorter than 32 bytes too), checks the state
// directory and takes its flock (store.ts), restores the configuration and serves the REST API (HTTPS
// with --tls-cert/--tls-key). SIGTERM/SIGINT withdraw every VIP (--announce-file emptied,
// --announce-command run), close the data planes with `keep` (XDP keeps forwarding) and release the
// lock. An uncaught exception is logged and ends the daemon at once (exit 70) instead of running on in
// an unknown state: the XDP planes keep forwarding (their objects are pinned) and the
// next start adopts them.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parseArgs } from 'node:util';
import { LbdsrError } from '../core/errors.js';
import { buildApp } from './app.js';
import { isLoopback } from './guard.js';
import { withSettingsFile } from './settings-file.js';
import { acquireLock } from './store.js';

export interface DaemonArgs {
  host: string;
  port: number;
  stateDir: string;
  logLevel: string;
  tokenFile?: string;
  tlsCert?: string;
  tlsKey?: string;
  announceFile?: string;
  announceCommand?: string;
  /** Nice value of the daemon (-20..19), set at start: its threads started later inherit it. */
  nice?: number;
}

const USAGE = `usage: lbdsrd [--config FILE] [--listen HOST:PORT] [--state-dir DIR] [--log-level LEVEL] [--token-file FILE]
              [--tls-cert FILE --tls-key FILE] [--announce-file FILE] [--announce-command CMD] [--nice N]
  --config FILE        settings file (default LBDSR_CONFIG, else /etc/lbdsr/lbdsr.conf if present); flags win
  --listen HOST:PORT   address of the REST API (default 127.0.0.1:9000)
  --state-dir DIR      configuration and lock (default /var/lib/lbdsr)
  --log-level LEVEL    trace, debug, info, warn, error, fatal or silent (default info)
  --token-file FILE    bearer token clients must send (mode 0600, at least 32 bytes); required to
                       listen beyond loopback
  --tls-cert FILE      PEM certificate (chain) to serve HTTPS with; needs --tls-key
  --tls-key FILE       its PEM private key (mode 0600)
  --announce-file FILE the reachable VIPs, one A.B.C.D/32 (IPv6: ADDR/128) a line, rewritten atomically
                       when they change
  --announce-command CMD
                       run (no shell) when they change, with LBDSR_VIPS and LBDSR_ANNOUNCE_FILE set
  --nice N             scheduling priority (-20..19, default: inherited; below 0 needs CAP_SYS_NICE): a
                       change is live sooner when other work competes for the CPUs (as systemd's Nice=)`;

/** Exit status after an uncaught exception (EX_SOFTWARE). */
const EXIT_UNCAUGHT = 70;

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

const OPTIONS = {
  listen: { type: 'string' },
  'state-dir': { type: 'string' },
  'log-level': { type: 'string' },
  'token-file': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'announce-file': { type: 'string' },
  'announce-command': { type: 'string' },
  nice: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The flags (node:util parseArgs); anything it does not know, a stray word included, is refused. */
export function parseDaemonArgs(argv: string[]): DaemonArgs {
  const out: DaemonArgs = { host: '127.0.0.1', port: 9000, stateDir: '/var/lib/lbdsr', logLevel: 'info' };
  const { tokens } = parseArgs({
    args: argv,
    options: OPTIONS,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  for (const t of tokens) {
    if (t.kind === 'option-terminator') continue;
    const raw = argv[t.index] ?? '';
    if (t.kind === 'positional' || !Object.hasOwn(OPTIONS, t.name))
      throw new LbdsrError('LBDSR_UNKNOWN_KEY', `unknown option '${raw}'\n${USAGE}`);
    if (t.name === 'help') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    }
    if (t.value === undefined) throw new LbdsrError('LBDSR_BAD_VALUE', `${t.rawName} needs a value`);
    setOption(out, t.name, t.value);
  }
  return out;
}

function nonEmpty(v: string, flag: string): string {
  if (v.trim() === '') throw new LbdsrError('LBDSR_BAD_VALUE', `${flag} is empty`);
  return v;
}

function setOption(out: DaemonArgs, name: string, v: string): void {
  if (name === 'listen') {
    const m = /^\[?([^\]]*?)\]?:(\d{1,5})$/.exec(v);
    if (!m || Number(m[2]) > 65535)
      throw new LbdsrError('LBDSR_BAD_VALUE', `--listen '${v}' is not HOST:PORT`);
    out.host = m[1] ?? '';
    out.port = Number(m[2]);
  } else if (name === 'log-level') {
    const level = v.toLowerCase();
    if (!LEVELS.includes(level))
      throw new LbdsrError('LBDSR_BAD_VALUE', `--log-level must be one of ${LEVELS.join(', ')}`);
    out.logLevel = level;
  } else if (name === 'state-dir') out.stateDir = v;
  else if (name === 'tls-cert') out.tlsCert = v;
  else if (name === 'tls-key') out.tlsKey = v;
  else if (name === 'announce-file') out.announceFile = v;
  else if (name === 'announce-command') out.announceCommand = nonEmpty(v, '--announce-command');
  else if (name === 'nice') {
    if (!/^-?\d{1,2}$/.test(v) || Number(v) < -20 || Number(v) > 19)
      throw new LbdsrError('LBDSR_BAD_VALUE', `--nice '${v}' is not an integer -20..19`);
    out.nice = Number(v);
  } else out.tokenFile = v;
}

/**
 * The daemon's priority: the calling thread's nice value (Linux: per thread), set before any other
 * thread of ours starts so that they inherit it, and, where the kernel groups the processes of a
 * session (autogroup: a nice value then only orders the threads of one session), its session's too,
 * but only when lbdsrd leads its session (a systemd service, a detached start): started from a
 * terminal, the autogroup is the terminal's, and its other processes would get the priority too.
 */
function setNice(nice: number): void {
  setPriority(0, nice);
  if (!leadsSession()) return;
  try {
    writeFileSync('/proc/self/autogroup', `${nice}\n`);
  } catch (e) {
    // no autogroup in this kernel: the thread's nice value is the whole story
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/** Whether this process leads its session (/proc/self/stat: the session id is the 4th field after comm). */
function leadsSession(): boolean {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[3]) === process.pid;
}

/** The shortest token accepted: 32 bytes (256 bits when random). */
export const MIN_TOKEN_BYTES = 32;

/** Reads a file that must stay secret: refused when group or others may read it. */
function readSecret(path: string, what: string): string {
  const mode = statSync(path).mode & 0o777;
  if (mode & 0o077) {
    const m = mode.toString(8).padStart(4, '0');
    throw new LbdsrError(
      'LBDSR_BAD_VALUE',
      `${what} ${path} has mode ${m}: readable by group or others; chmod 600 ${path}`,
    );
  }
  return readFileSync(path, 'utf8');
}

/** The token of --token-file, checked (mode, length). */
function readToken(path: string): string {
  const token = readSecret(path, 'token file').trim();
  const n = Buffer.byteLength(token);
  if (n < MIN_TOKEN_BYTES) {
    throw new LbdsrError(
      'LBDSR_BAD_VALUE',
      `token file ${path} is ${n} bytes long; a token needs at least ${MIN_TOKEN_BYTES} (openssl rand -base64 33)`,
    );
  }
  return token;
}

/** The certificate and key of --tls-cert/--tls-key, or undefined for plain HTTP. */
function readTls(args: DaemonArgs): { cert: string; key: string } | undefined {
  if (args.tlsCert === undefined && args.tlsKey === undefined) return undefined;
  if (args.tlsCert === undefined || args.tlsKey === undefined)
    throw new LbdsrError('LBDSR_BAD_VALUE', '--tls-cert and --tls-key go together');
  return { cert: readFileSync(args.tlsCert, 'utf8'), key: readSecret(args.tlsKey, 'TLS key file') };
}

export async function main(argv: string[]): Promise<void> {
  let args: DaemonArgs;
  let token: string | undefined;
  let tls: ReturnType<typeof readTls>;
  try {
    args = parseDaemonArgs(withSettingsFile(argv));
    if (args.tokenFile) token = readToken(args.tokenFile);
    tls = readTls(args);
    if (!isLoopback(args.host) && !token) {
      throw new LbdsrError(
        'LBDSR_UNAUTHORIZED',
        `refusing to listen on ${args.host} (not loopback) without --token-file: anyone could reconfigure the balancer`,
      );
    }
  } catch (e) {
    process.stderr.write(`lbdsrd: ${(e as Error).message}\n`);
    process.exit(2);
  }
  try {
    if (args.nice !== undefined) setNice(args.nice);
  } catch (e) {
    process.stderr.write(`lbdsrd: --nice ${args.nice}: ${(e as Error).message}\n`);
    process.exit(2);
  }
  let lock: ReturnType<typeof acquireLock>;
  try {
    lock = acquireLock(args.stateDir);
  } catch (e) {
    process.stderr.write(`lbdsrd: ${(e as Error).message}\n`);
    process.exit(1);
  }
  let app: Awaited<ReturnType<typeof buildApp>>;
  try {
    const { stateDir, logLevel, host, announceFile: file, announceCommand: command } = args;
    const announce = {
      ...(file !== undefined ? { file } : {}),
      ...(command !== undefined ? { command } : {}),
    };
    app = await buildApp({ stateDir, logLevel, token, listenHost: host, announce, ...(tls ? { tls } : {}) });
    await app.listen({ host: args.host, port: args.port });
  } catch (e) {
    lock.release();
    process.stderr.write(`lbdsrd: ${(e as Error).message}\n`);
    process.exit(1);
  }
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down (XDP planes keep forwarding)');
    try {
      await app.close();
    } finally {
      lock.release();
      process.exit(0);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('uncaughtException', (e) => {
    app.log.fatal(
      { err: e.message, stack: e.stack },
      'uncaught exception: exiting (XDP planes keep forwarding; the next start adopts them)',
    );
    lock.release();
    process.exit(EXIT_UNCAUGHT);
  });
  // Test hook: an uncaught exception on SIGUSR2, only when the test environment asks for it.
  if (process.env.LBDSR_TEST_HOOKS === '1') {
    process.on('SIGUSR2', () =>
      setImmediate(() => {
        throw new Error('test hook: uncaught exception on SIGUSR2');
      }),
    );
  }
  process.on('unhandledRejection', (e) => app.log.error({ err: String(e) }, 'unhandled rejection'));
}
