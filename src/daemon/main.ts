// lbdsrd: parses its flags, takes the state directory's lock, restores the configuration and serves the
// REST API. SIGTERM/SIGINT close the data planes with `keep` (XDP keeps forwarding) and release the lock.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { LbdsrError } from '../core/errors.js';
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

export function parseDaemonArgs(argv: string[]): DaemonArgs {
  const out: DaemonArgs = { host: '127.0.0.1', port: 9000, stateDir: '/var/lib/lbdsr', logLevel: 'info' };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const value = () => {
      const v = arg.startsWith('--') && eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (v === undefined) throw new LbdsrError('LBDSR_BAD_VALUE', `${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--listen': {
        const v = value();
        const m = /^\[?([^\]]*?)\]?:(\d{1,5})$/.exec(v);
        if (!m || Number(m[2]) > 65535)
          throw new LbdsrError('LBDSR_BAD_VALUE', `--listen '${v}' is not HOST:PORT`);
        out.host = m[1]!;
        out.port = Number(m[2]);
        break;
      }
      case '--state-dir':
        out.stateDir = value();
        break;
      case '--log-level': {
        const v = value().toLowerCase();
        if (!LEVELS.includes(v))
          throw new LbdsrError('LBDSR_BAD_VALUE', `--log-level must be one of ${LEVELS.join(', ')}`);
        out.logLevel = v;
        break;
      }
      case '--token-file':
        out.tokenFile = value();
        break;
      case '-h':
      case '--help':
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
        break;
      default:
        throw new LbdsrError('LBDSR_UNKNOWN_KEY', `unknown option '${arg}'\n${USAGE}`);
    }
  }
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
    process.stderr.write(`lbdsrd: ${(e as Error).message}\n`);
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
    app = await buildApp({ stateDir: args.stateDir, logLevel: args.logLevel, token });
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
  process.on('uncaughtException', (e) =>
    app.log.error({ err: e.message, stack: e.stack }, 'uncaught exception'),
  );
  process.on('unhandledRejection', (e) => app.log.error({ err: String(e) }, 'unhandled rejection'));
}
