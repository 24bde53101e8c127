// lbdsrd: parses its flags (node:util parseArgs), takes the state directory's lock, restores the configuration and serves the
// REST API. SIGTERM/SIGINT close the data planes with `keep` (XDP keeps forwarding) and release the lock.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { describeError, LbdsrError } from '../core/errors.js';
import { buildApp } from './app.js';
import { acquireLock } from './store.js';

export interface DaemonArgs {
  host: string;
  port: number;
  stateDir: string;
  logLevel: string;
  tokenFile?: string;
}

const USAGE = `usage: lbdsrd [--listen HOST:PORT] [--state-dir DIR] [--log-level LEVEL] [--token-file FILE]
  --listen HOST:PORT   address of the REST API (default 127.0.0.1:9000)
  --state-dir DIR      configuration and lock (default /var/lib/lbdsr)
  --log-level LEVEL    trace, debug, info, warn, error, fatal or silent (default info)
  --token-file FILE    bearer token clients must send; required to listen beyond loopback`;

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

const OPTIONS = {
  listen: { type: 'string' },
  'state-dir': { type: 'string' },
  'log-level': { type: 'string' },
  'token-file': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Parses lbdsrd's flags (`--flag value` or `--flag=value`); -h prints the usage and exits. */
export function parseDaemonArgs(argv: string[]): DaemonArgs {
  let values: ReturnType<typeof parseArgs<{ args: string[]; options: typeof OPTIONS }>>['values'];
  try {
    ({ values } = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (e) {
    // node's messages name the option: "Unknown option '--bogus'", "Option '--listen <value>' argument missing"
    throw new LbdsrError('LBDSR_UNKNOWN_KEY', `${(e as Error).message}\n${USAGE}`, { cause: e });
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const out: DaemonArgs = { host: '127.0.0.1', port: 9000, stateDir: '/var/lib/lbdsr', logLevel: 'info' };
  if (values.listen !== undefined) {
    const m = /^\[?([^\]]*?)\]?:(\d{1,5})$/.exec(values.listen);
    if (!m || Number(m[2]) > 65535) {
      throw new LbdsrError('LBDSR_BAD_VALUE', `--listen '${values.listen}' is not HOST:PORT`);
    }
    out.host = m[1] ?? '';
    out.port = Number(m[2]);
  }
  if (values['state-dir'] !== undefined) out.stateDir = values['state-dir'];
  if (values['log-level'] !== undefined) {
    const v = values['log-level'].toLowerCase();
    if (!LEVELS.includes(v))
      throw new LbdsrError('LBDSR_BAD_VALUE', `--log-level must be one of ${LEVELS.join(', ')}`);
    out.logLevel = v;
  }
  if (values['token-file'] !== undefined) out.tokenFile = values['token-file'];
  return out;
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

export async function main(argv: string[]): Promise<void> {
  let args: DaemonArgs;
  let token: string | undefined;
  try {
    args = parseDaemonArgs(argv);
    if (args.tokenFile) {
      token = readFileSync(args.tokenFile, 'utf8').trim();
      if (!token) throw new LbdsrError('LBDSR_BAD_VALUE', `token file ${args.tokenFile} is empty`);
    }
    if (!isLoopback(args.host) && !token) {
      throw new LbdsrError(
        'LBDSR_UNAUTHORIZED',
        `refusing to listen on ${args.host} (not loopback) without --token-file: anyone could reconfigure the balancer`,
      );
    }
  } catch (e) {
    process.stderr.write(`lbdsrd: ${describeError(e)}\n`);
    process.exit(2);
  }
  let lock: ReturnType<typeof acquireLock>;
  try {
    lock = acquireLock(args.stateDir);
  } catch (e) {
    process.stderr.write(`lbdsrd: ${describeError(e)}\n`);
    process.exit(1);
  }
  let app: Awaited<ReturnType<typeof buildApp>>;
  try {
    app = await buildApp({ stateDir: args.stateDir, logLevel: args.logLevel, token });
    await app.listen({ host: args.host, port: args.port });
  } catch (e) {
    lock.release();
    process.stderr.write(`lbdsrd: ${describeError(e)}\n`);
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
  process.on('uncaughtException', (e) =>
    app.log.error({ err: e.message, stack: e.stack }, 'uncaught exception'),
  );
  process.on('unhandledRejection', (e) => app.log.error({ err: String(e) }, 'unhandled rejection'));
}
