// lbdsrctl: polycubectl's grammar against lbdsrd's REST API. Only speaks HTTP to the daemon.
import { fstatSync, readFileSync } from 'node:fs';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { API_PREFIX } from '../daemon/schema.js';
import { human, instancesTable } from './format.js';
import { candidates, helpText, type Parsed, paramsToBody, parseWords, UsageError } from './grammar.js';

const USAGE = `usage: lbdsrctl [--url URL] [--token-file FILE] lbdsr ... [-json|-yaml]
  lbdsrctl lbdsr add NAME [key=value ...]        create an instance (or a YAML/JSON body on stdin)
  lbdsrctl lbdsr del NAME                        delete it
  lbdsrctl lbdsr show                            list instances
  lbdsrctl lbdsr NAME show [-json|-yaml]         show one
  lbdsrctl lbdsr NAME set key=value ...          change it (algorithm, type, loglevel, ...)
  lbdsrctl lbdsr NAME ports add P type=FRONTEND  ports, frontend, backend pool, sessions, stats ...
  '?' anywhere lists what may follow. The daemon: --url or LBDSR_URL (default http://127.0.0.1:9000).`;

interface Options {
  url: string;
  token?: string;
  format: 'human' | 'json' | 'yaml';
  words: string[];
}

class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

function parseOptions(argv: string[]): Options {
  const opts: Options = { url: process.env.LBDSR_URL || 'http://127.0.0.1:9000', format: 'human', words: [] };
  let tokenFile = process.env.LBDSR_TOKEN_FILE;
  opts.token = process.env.LBDSR_TOKEN || undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] =
      a.startsWith('--') && a.includes('=')
        ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]
        : [a, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    if (flag === '--url') opts.url = value();
    else if (flag === '--token-file') tokenFile = value();
    else if (a === '-json' || a === '--json') opts.format = 'json';
    else if (a === '-yaml' || a === '--yaml') opts.format = 'yaml';
    else if (a === '-h' || a === '--help' || a === 'help') opts.words.push('--help');
    else if (a.startsWith('-') && a.length > 1 && !a.includes('='))
      throw new UsageError(`unknown option '${a}'`);
    else opts.words.push(a);
  }
  if (tokenFile) opts.token = readFileSync(tokenFile, 'utf8').trim();
  opts.url = opts.url.replace(/\/+$/, '');
  return opts;
}

async function request(
  opts: Options,
  method: string,
  path: string,
  body?: unknown,
  timeoutMs = 60_000,
): Promise<unknown> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let res: Response;
  try {
    res = await fetch(`${opts.url}${API_PREFIX}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (e as Error).message;
    throw new ApiError(
      `the lbdsr daemon is not reachable at ${opts.url} (${why}); is lbdsrd running?`,
      'DAEMON_DOWN',
    );
  }
  const text = await res.text();
  let data: unknown;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = text;
  }
  if (!res.ok) {
    const d = data as { code?: string; message?: string } | undefined;
    throw new ApiError(d?.message ?? `HTTP ${res.status}`, d?.code ?? `HTTP_${res.status}`);
  }
  return data;
}

function stdinOffset(): number {
  try {
    return Number(/^pos:\s*(\d+)/m.exec(readFileSync('/proc/self/fdinfo/0', 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Reads a body from stdin when it is a file or a pipe that carries data. */
async function readStdin(): Promise<string | undefined> {
  if (process.stdin.isTTY) return undefined;
  let st: ReturnType<typeof fstatSync>;
  try {
    st = fstatSync(0);
  } catch {
    return undefined;
  }
  // a file already partly read belongs to someone else (a `while read` loop feeding lbdsrctl's caller)
  if (st.isFile()) return stdinOffset() > 0 ? undefined : readFileSync(0, 'utf8');
  if (!st.isFIFO() && !st.isSocket()) return undefined;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let got = false;
    const done = (v: string | undefined) => {
      clearTimeout(timer);
      process.stdin.removeAllListeners();
      process.stdin.pause();
      resolve(v);
    };
    const timer = setTimeout(() => {
      if (!got) done(undefined);
    }, 500);
    process.stdin.on('data', (c: Buffer) => {
      got = true;
      chunks.push(c);
    });
    process.stdin.on('end', () => done(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', () => done(undefined));
  });
}

function parseBody(text: string): unknown {
  try {
    // through JSON: YAML aliases can build a circular document (`x: &a [*a]`) that cannot be sent
    const doc = parseYaml(text);
    return doc === undefined ? doc : JSON.parse(JSON.stringify(doc));
  } catch (e) {
    throw new UsageError(
      `the body on stdin is not valid YAML or JSON: ${(e as Error).message.split('\n')[0]!.replace(/:$/, '')}`,
    );
  }
}

function render(opts: Options, parsed: Extract<Parsed, { kind: 'request' }>, data: unknown): string {
  if (opts.format === 'json') return JSON.stringify(data, null, 2);
  if (opts.format === 'yaml') return toYaml(data).trimEnd();
  if (parsed.pos.collection && parsed.pos.trail.length === 1 && Array.isArray(data))
    return instancesTable(data);
  return human(data);
}

async function keysOf(opts: Options, parsed: Parsed): Promise<string[]> {
  if (!parsed.pos.collection) return [];
  try {
    const list = (await request(opts, 'GET', parsed.pos.path, undefined, 1500)) as Array<
      Record<string, unknown>
    >;
    const field = parsed.pos.node.key!.field;
    return Array.isArray(list) ? list.map((e) => String(e[field])) : [];
  } catch {
    return [];
  }
}

async function complete(opts: Options, words: string[]): Promise<number> {
  const c = candidates(words);
  let out = c.words;
  if (c.list) {
    const keys = await keysOf(opts, { kind: 'help', pos: c.list, context: 'node' });
    out = words[words.length - 1] === 'del' ? keys : [...out, ...keys];
  }
  if (out.length) process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  let opts: Options;
  try {
    opts = parseOptions(argv);
  } catch (e) {
    process.stderr.write(`lbdsrctl: ${(e as Error).message}\n`);
    return 2;
  }
  if (opts.words[0] === '__complete') return complete(opts, opts.words.slice(1));
  if (opts.words.includes('--help')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  try {
    const parsed = parseWords(opts.words);
    if (parsed.kind === 'help') {
      process.stdout.write(`${helpText(parsed, await keysOf(opts, parsed))}\n`);
      return 0;
    }
    let body: unknown;
    if (parsed.value !== undefined) body = parsed.value;
    else if (parsed.params.length) body = paramsToBody(parsed.params, parsed.schema);
    else if (parsed.method === 'POST' || parsed.method === 'PATCH') {
      const text = await readStdin();
      if (text !== undefined && text.trim() !== '') body = parseBody(text);
      else if (parsed.method === 'PATCH')
        throw new UsageError(`'${parsed.pos.trail.join(' ')} set' needs key=value (try '?')`);
    }
    const data = await request(opts, parsed.method, parsed.path, body);
    if (parsed.method === 'GET') {
      process.stdout.write(`${render(opts, parsed, data)}\n`);
    } else {
      for (const w of (data as { warnings?: string[] } | undefined)?.warnings ?? []) {
        process.stderr.write(`lbdsrctl: warning: ${w}\n`);
      }
    }
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`lbdsrctl: ${e.message}\n`);
      return 2;
    }
    if (e instanceof ApiError) {
      process.stderr.write(`lbdsrctl: ${e.message}${e.code === 'DAEMON_DOWN' ? '' : ` (${e.code})`}\n`);
      return 1;
    }
    process.stderr.write(`lbdsrctl: ${(e as Error).message}\n`);
    return 1;
  }
}
