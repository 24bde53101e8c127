// lbdsrctl's global options (--url, --token-file, --cacert, --config, -json/-yaml, -h) with node:util
// parseArgs; what is left are the words of the polycubectl-style grammar (grammar.ts), which stays hand-written.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { UsageError } from './grammar.js';
import { readCliSettings } from './settings.js';

export const DEFAULT_URL = 'http://127.0.0.1:9000';

export const USAGE = `usage: lbdsrctl [--config FILE] [--url URL] [--token-file FILE] [--cacert FILE] lbdsr ... [-json|-yaml]
  lbdsrctl lbdsr add NAME [key=value ...]        create an instance (or a YAML/JSON body on stdin)
  lbdsrctl lbdsr del NAME                        delete it
  lbdsrctl lbdsr show                            list instances
  lbdsrctl lbdsr NAME show [-json|-yaml]         show one
  lbdsrctl lbdsr NAME set key=value ...          change it (algorithm, type, loglevel, ...)
  lbdsrctl lbdsr NAME ports add P type=FRONTEND  ports, frontend, backend pool, services, sessions, stats ...
  lbdsrctl apply -f FILE [--url URL ...] [--prune] [-plan]   the instances of FILE on each daemon
  -plan on any change (add, set, del): nothing changes; prints what it would move (Maglev entries, sessions)
  '?' anywhere lists what may follow. The daemon: --url or LBDSR_URL, else the settings file's (--config,
  LBDSR_CONFIG, else /etc/lbdsr/lbdsr.conf if present), else ${DEFAULT_URL};
  an https:// daemon with a certificate of its own CA: --cacert FILE or LBDSR_CACERT.`;

export interface Options {
  /** The daemon's base URL, without a trailing '/'. */
  url: string;
  token?: string;
  /** PEM CA certificate(s) an https:// daemon's certificate must chain to (--cacert, LBDSR_CACERT). */
  ca?: string;
  format: 'human' | 'json' | 'yaml';
  help: boolean;
  /** -plan: a dry run of the change (nothing changes; the answer says what it would move). */
  plan: boolean;
  /** The grammar's words, in order. */
  words: string[];
}

const OPTIONS = {
  url: { type: 'string' },
  config: { type: 'string' },
  'token-file': { type: 'string' },
  cacert: { type: 'string' },
  json: { type: 'boolean' },
  yaml: { type: 'boolean' },
  plan: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** polycubectl spells its output options with one dash. */
const SINGLE_DASH: Record<string, string> = { '-json': '--json', '-yaml': '--yaml', '-plan': '--plan' };

/**
 * Options may come anywhere among the words (`lbdsr lb1 show -json`). Anything else that starts with '-'
 * is refused: no word of the grammar does (names, ids and keys start with a letter or a digit).
 */
export function parseOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): Options {
  const opts: Options = { url: env.LBDSR_URL || '', format: 'human', help: false, plan: false, words: [] };
  let tokenFile = env.LBDSR_TOKEN_FILE;
  let caFile = env.LBDSR_CACERT || undefined;
  let config: string | undefined;
  opts.token = env.LBDSR_TOKEN || undefined;
  const args = argv.map((a) => SINGLE_DASH[a] ?? a);
  const { tokens } = parseArgs({
    args,
    options: OPTIONS,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  for (const t of tokens) {
    if (t.kind === 'positional') {
      if (t.value === 'help') opts.help = true;
      else opts.words.push(t.value);
      continue;
    }
    if (t.kind !== 'option') continue;
    const raw = argv[t.index] ?? t.rawName;
    if (!Object.hasOwn(OPTIONS, t.name)) throw new UsageError(`unknown option '${raw}'`);
    const name = t.name as keyof typeof OPTIONS;
    if (OPTIONS[name].type === 'boolean') {
      if (t.inlineValue) throw new UsageError(`${t.rawName} takes no value`);
      if (name === 'help') opts.help = true;
      else if (name === 'plan') opts.plan = true;
      else if (name === 'json' || name === 'yaml') opts.format = name;
      continue;
    }
    if (t.value === undefined) throw new UsageError(`${t.rawName} needs a value`);
    if (name === 'url') opts.url = t.value;
    else if (name === 'cacert') caFile = t.value;
    else if (name === 'config') config = t.value;
    else tokenFile = t.value;
  }
  // flags, then the environment, then the settings file
  const file = readCliSettings(config, env);
  opts.url = checkUrl(opts.url || file.url || DEFAULT_URL);
  if (!tokenFile && !opts.token) tokenFile = file.tokenFile;
  if (tokenFile) opts.token = readFileOption(tokenFile, 'token file').trim();
  if (caFile) opts.ca = readFileOption(caFile, 'CA file');
  return opts;
}

function checkUrl(url: string): string {
  let u: URL | undefined;
  try {
    u = new URL(url);
  } catch {}
  if (u?.protocol !== 'http:' && u?.protocol !== 'https:')
    throw new UsageError(`the daemon's URL '${url}' is not an http:// or https:// URL (--url or LBDSR_URL)`);
  return url.replace(/\/+$/, '');
}

function readFileOption(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read the ${what}: ${(e as Error).message}`, { cause: e });
  }
}
