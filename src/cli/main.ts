// lbdsrctl: polycubectl's grammar against lbdsrd's REST API. Only speaks HTTP to the daemon.
// Start-up is most of a command's cost: this module's import graph holds no TypeBox, fastify, pino or
// koffi (test/daemon/cli-process.test.ts checks it); yaml is imported only for a body on stdin or for
// -yaml output. Around it: options.ts (global options), grammar.ts (words to a request), http.ts (the
// request), format.ts (human output), tree.ts/resources.ts (the resource tree, as plain data).
import { fstatSync, readFileSync } from 'node:fs';
import { type ApplyArgs, applyArgs, runApply } from './apply.js';
import { explainText } from './explain-format.js';
import { dryRunText, human, instancesTable, poolTable, servicesTable } from './format.js';
import { candidates, helpText, type Parsed, paramsToBody, parseWords, UsageError } from './grammar.js';
import { ApiError, request } from './http.js';
import { type Options, parseOptions, USAGE } from './options.js';
import { vipsTable } from './vips-format.js';

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

async function parseBody(text: string): Promise<unknown> {
  const { parse: parseYaml } = await import('yaml');
  try {
    // through JSON: YAML aliases can build a circular document (`x: &a [*a]`) that cannot be sent
    const doc = parseYaml(text);
    return doc === undefined ? doc : JSON.parse(JSON.stringify(doc));
  } catch (e) {
    throw new UsageError(
      `the body on stdin is not valid YAML or JSON: ${(e as Error).message.split('\n')[0]?.replace(/:$/, '')}`,
      { cause: e },
    );
  }
}

async function render(
  opts: Options,
  parsed: Extract<Parsed, { kind: 'request' }>,
  data: unknown,
): Promise<string> {
  if (opts.format === 'json') return JSON.stringify(data, null, 2);
  if (opts.format === 'yaml') return (await import('yaml')).stringify(data).trimEnd();
  const { pos } = parsed;
  if (pos.collection && Array.isArray(data)) {
    if (pos.trail.length === 1) return instancesTable(data);
    if (pos.node.segment === 'services') return servicesTable(data);
    if (pos.node.segment === 'pool') return poolTable(data);
  }
  if (pos.node.segment === 'explain') return explainText(data);
  if (pos.node.segment === 'vips' && Array.isArray(data)) return vipsTable(data);
  return human(data);
}

async function keysOf(opts: Options, parsed: Parsed): Promise<string[]> {
  if (!parsed.pos.collection) return [];
  try {
    const list = await request(opts, 'GET', parsed.pos.path, undefined, 1500);
    const field = parsed.pos.node.key?.field ?? '';
    return Array.isArray(list) ? list.map((e: Record<string, unknown>) => String(e[field])) : [];
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

/** A reader that stops early (`lbdsrctl ... show -yaml | head`) ends the output, not in a stack trace. */
function quietOnClosedStdout(): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(0);
  });
}

export async function main(argv: string[]): Promise<number> {
  quietOnClosedStdout();
  let apply: ApplyArgs | undefined;
  try {
    apply = argv.includes('-h') || argv.includes('--help') ? undefined : applyArgs(argv);
  } catch (e) {
    process.stderr.write(`lbdsrctl: ${(e as Error).message}\n`);
    return 2;
  }
  if (apply) return runApply(apply);
  let opts: Options;
  try {
    opts = parseOptions(argv);
  } catch (e) {
    process.stderr.write(`lbdsrctl: ${(e as Error).message}\n`);
    return 2;
  }
  if (opts.words[0] === '__complete') return complete(opts, opts.words.slice(1));
  if (opts.help) {
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
      if (text !== undefined && text.trim() !== '') body = await parseBody(text);
      else if (parsed.method === 'PATCH')
        throw new UsageError(`'${parsed.pos.trail.join(' ')} set' needs key=value (try '?')`);
    }
    if (opts.plan && (parsed.method === 'GET' || parsed.pos.node.kind === 'action')) {
      throw new UsageError('-plan is for changes (add, set, del): it shows what one would move');
    }
    const path = opts.plan
      ? `${parsed.path}${parsed.path.includes('?') ? '&' : '?'}dry_run=true`
      : parsed.path;
    const data = await request(opts, parsed.method, path, body);
    if (opts.plan) {
      const f = opts.format;
      const text = f === 'human' ? dryRunText(data) : await render(opts, parsed, data);
      process.stdout.write(`${text}\n`);
    }
    if (parsed.method === 'GET' || parsed.pos.node.segment === 'explain') {
      process.stdout.write(`${await render(opts, parsed, data)}\n`);
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
