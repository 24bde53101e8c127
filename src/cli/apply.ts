// `lbdsrctl apply -f FILE [--url URL ...] [--prune] [-plan] [-json|-yaml]`: declarative configuration of
// one or more instances on one or more daemons (docs/scale-out.md, docs/cli.md). The file holds the
// whole desired configuration (`instances:`, each an instance document as `GET /lbdsr/{name}/` shows
// it and PUT takes it). Everything is planned first, on every daemon, by dry runs (`?dry_run=true`);
// only when every plan succeeded is anything applied, so a bad file or a refusal changes nothing
// anywhere. Instances the file does not name are left alone, or deleted with --prune. An instance
// whose document already matches is "unchanged" and not written (applying a file twice is a no-op).
// Exit codes: 0 done (or planned, with -plan); 1 a daemon refused or did not answer while planning
// (nothing applied); 2 usage error or bad file (nothing applied); 3 applying failed part-way (the
// lines above say what was applied). Only speaks HTTP, like the rest of src/cli.

import { readFileSync } from 'node:fs';
import { align } from './format.js';
import { UsageError } from './grammar.js';
import { ApiError, type Endpoint, request } from './http.js';
import { type Options, parseOptions } from './options.js';
import type { CliNode } from './resources.js';
import { INSTANCE_TREE } from './tree.js';

type Doc = Record<string, unknown>;
const isObject = (v: unknown): v is Doc => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Drops the fields of a document that are the daemon's, not configuration (plane, a port's status and
 * uuid, a backend's health...: readOnly in the resource tree), at any depth: never sent, never compared.
 */
export function stripReadOnly(doc: unknown, node: CliNode | undefined, schema = node?.schema): void {
  if (!isObject(doc)) return;
  const props = schema?.properties ?? {};
  for (const [k, v] of Object.entries(doc)) {
    if (props[k]?.readOnly) {
      delete doc[k];
      continue;
    }
    const child = node?.children?.find((c) => c.segment === k);
    if (child?.kind === 'list' && Array.isArray(v)) for (const e of v) stripReadOnly(e, child);
    else stripReadOnly(v, child, child?.schema ?? props[k]);
  }
}

/** What an instance shows for the fields its document leaves out (docs/api.md). */
const INSTANCE_DEFAULTS: Record<string, unknown> = {
  type: 'AUTO',
  loglevel: 'INFO',
  algorithm: 'HASH_SESSION',
  mode: 'L2',
  standby: false,
  ports: [],
  frontend: {},
  backend: { pool: [] },
  services: [],
  sessions: { capacity: 1_000_000, timeouts: { tcp: 600, udp: 60, icmp: 30 }, record_non_syn: false },
};

export interface ApplyArgs {
  file: string;
  urls: string[];
  prune: boolean;
  opts: Options;
}

/** The arguments of `apply` (undefined: the command is not `apply`). */
export function applyArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): ApplyArgs | undefined {
  if (!argv.includes('apply')) return undefined;
  const rest: string[] = [];
  const urls: string[] = [];
  let file: string | undefined;
  let prune = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    const eq = /^--?(url|file|f)=(.*)$/.exec(a);
    if (eq) {
      if (eq[1] === 'url') urls.push(eq[2] ?? '');
      else file = eq[2];
    } else if (a === '-f' || a === '--file' || a === '--url' || a === '-url') {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      if (a.endsWith('url')) urls.push(v);
      else file = v;
    } else if (a === '--prune' || a === '-prune') prune = true;
    else rest.push(a);
  }
  const opts = parseOptions(rest, env);
  if (opts.words[0] !== 'apply') return undefined;
  if (opts.words.length > 1) throw new UsageError(`unexpected '${opts.words[1]}' after 'apply'`);
  if (file === undefined) throw new UsageError('apply needs the file: apply -f FILE');
  // each --url is checked and trimmed as the usual one is
  const all = urls.map((u) => parseOptions(['--url', u], env).url);
  return { file, urls: all.length ? [...new Set(all)] : [opts.url], prune, opts };
}

interface Desired {
  name: string;
  body: Doc;
  /** Where it starts in the file (1-based), for messages. */
  line: number;
}

/** Reads and checks the file: a parse error or a field it does not know stops here, with its line. */
export async function readDesired(path: string): Promise<Desired[]> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  const { parseDocument, LineCounter, isMap, isSeq } = await import('yaml');
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: true, uniqueKeys: true });
  const lineOf = (node: { range?: [number, number, number] | null } | null | undefined) =>
    node?.range ? lc.linePos(node.range[0]).line : 1;
  const err = doc.errors[0];
  if (err) {
    const line = err.linePos?.[0]?.line ?? 1;
    throw new UsageError(
      `${path}:${line}: not valid YAML or JSON: ${err.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '')}`,
    );
  }
  const root = doc.contents;
  if (!isMap(root))
    throw new UsageError(`${path}:${lineOf(root)}: the file must be a mapping with 'instances:'`);
  for (const item of root.items) {
    const key = (item.key as { value?: unknown } | null)?.value;
    if (key !== 'instances') {
      throw new UsageError(
        `${path}:${lineOf(item.key as never)}: unknown field '${String(key)}' (the file holds 'instances:')`,
      );
    }
  }
  const list = root.get('instances', true);
  if (!isSeq(list)) throw new UsageError(`${path}:${lineOf(root)}: 'instances:' must be a list of instances`);
  const seen = new Set<string>();
  return list.items.map((node, i) => {
    const line = lineOf(node as never);
    // through JSON: YAML aliases can build a circular document that cannot be sent
    const body = JSON.parse(JSON.stringify((node as { toJSON(): unknown }).toJSON() ?? null)) as unknown;
    if (!isObject(body)) throw new UsageError(`${path}:${line}: instance ${i + 1} is not a mapping`);
    const name = body.name;
    if (typeof name !== 'string' || name === '') {
      throw new UsageError(`${path}:${line}: instance ${i + 1} needs a 'name'`);
    }
    if (seen.has(name)) throw new UsageError(`${path}:${line}: instance '${name}' is named twice`);
    seen.add(name);
    stripReadOnly(body, INSTANCE_TREE);
    return { name, body, line };
  });
}

/** Whether `want` (the file's) and `have` (the daemon's view) are the same configuration. */
export function sameConfig(want: unknown, have: unknown, dflt?: unknown): boolean {
  if (want === undefined) {
    return isEmpty(have) || (dflt !== undefined && sameConfig(dflt, have));
  }
  if (Array.isArray(want)) {
    if (!Array.isArray(have) || want.length !== have.length) return false;
    const a = sortByKey(want);
    const b = sortByKey(have);
    return a.every((w, i) => sameConfig(w, b[i]));
  }
  if (isObject(want)) {
    if (!isObject(have)) return false;
    const d = isObject(dflt) ? dflt : {};
    const keys = new Set([...Object.keys(want), ...Object.keys(have)]);
    return [...keys].every((k) => sameConfig(want[k], have[k], d[k]));
  }
  return want === have || sameText(want, have);
}

/** What the daemon shows for a part the file leaves out: nothing, or only empty lists (`backend: {pool: []}`). */
function isEmpty(v: unknown): boolean {
  if (v === undefined) return true;
  if (Array.isArray(v)) return v.length === 0;
  return isObject(v) && Object.values(v).every(isEmpty);
}

/**
 * The daemon's canonical spelling: enums in capitals (`tcp` is TCP), MACs in small letters, IPv6
 * addresses in their RFC 5952 form (`FD00:0::1` is fd00::1).
 */
function sameText(want: unknown, have: unknown): boolean {
  if (typeof want !== 'string' || typeof have !== 'string') return false;
  if (/^[A-Z][A-Z0-9_]*$/.test(have)) return want.toUpperCase() === have;
  if (/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(have)) return want.toLowerCase() === have;
  return want.includes(':') && have.includes(':') && sameIpv6(want, have);
}

/**
 * The 8 groups of IPv6 text (hex groups, `::` once; no embedded dotted quad, which the daemon never
 * shows), as numbers; undefined when it is not such text. Enough to compare spellings here, so that
 * lbdsrctl loads nothing outside src/cli.
 */
function ipv6Groups(text: string): number[] | undefined {
  const halves = text.trim().toLowerCase().split('::');
  if (halves.length > 2) return undefined;
  const parts = halves.map((h) => (h === '' ? [] : h.split(':')));
  if (!parts.every((p) => p.every((g) => /^[0-9a-f]{1,4}$/.test(g)))) return undefined;
  const head = (parts[0] ?? []).map((g) => Number.parseInt(g, 16));
  const tail = (parts[1] ?? []).map((g) => Number.parseInt(g, 16));
  const zeros = 8 - head.length - tail.length;
  if (halves.length === 1 ? zeros !== 0 : zeros < 1) return undefined;
  return [...head, ...new Array<number>(zeros).fill(0), ...tail];
}

/** Whether `a` and `b` are the same IPv6 address written two ways. */
function sameIpv6(a: string, b: string): boolean {
  const x = ipv6Groups(a);
  const y = ipv6Groups(b);
  return x !== undefined && y !== undefined && x.every((g, i) => g === y[i]);
}

/** Lists of entries compare by their key (pool by id, ports and services by name), not by order. */
function sortByKey(list: unknown[]): unknown[] {
  const key = (e: unknown) => (isObject(e) ? String(e.id ?? e.name ?? '') : '');
  return [...list].sort((x, y) => key(x).localeCompare(key(y), 'en', { numeric: true }));
}

type Action = 'create' | 'change' | 'unchanged' | 'delete' | 'left alone';

interface DryRunChanges {
  maglev_entries: number;
  services: { added: number; changed: number; removed: number };
  backends: {
    service: string;
    id: number;
    maglev_gained: number;
    maglev_lost: number;
    sessions_moving: number;
  }[];
}

export interface InstancePlan {
  name: string;
  action: Action;
  changes?: DryRunChanges;
  warnings?: string[];
}

export interface DaemonPlan {
  url: string;
  instances: InstancePlan[];
}

const base = (url: string, opts: Options): Endpoint => ({
  url,
  ...(opts.token ? { token: opts.token } : {}),
  ...(opts.ca ? { ca: opts.ca } : {}),
});
const at = (name: string) => `/lbdsr/${encodeURIComponent(name)}/`;

/** The plan on one daemon: every instance of the file by a dry run, and those it does not name. */
async function planDaemon(
  to: Endpoint,
  desired: Desired[],
  prune: boolean,
  file: string,
): Promise<DaemonPlan> {
  const current = (await request(to, 'GET', '/lbdsr/')) as Doc[];
  const byName = new Map(current.map((c) => [String(c.name), c]));
  const instances: InstancePlan[] = [];
  for (const d of desired) {
    const have = byName.get(d.name);
    let action: Action = have ? 'change' : 'create';
    if (have) {
      const view = structuredClone(have);
      stripReadOnly(view, INSTANCE_TREE);
      if (sameConfig(d.body, view, INSTANCE_DEFAULTS)) action = 'unchanged';
    }
    if (action === 'unchanged') {
      instances.push({ name: d.name, action });
      continue;
    }
    const answer = await request(to, have ? 'PUT' : 'POST', `${at(d.name)}?dry_run=true`, d.body).catch(
      (e) => {
        if (e instanceof ApiError && e.code !== 'DAEMON_DOWN' && e.code !== 'DAEMON_UNTRUSTED') {
          throw new ApiError(`${file}:${d.line}: instance ${d.name}: ${e.message}`, e.code, { cause: e });
        }
        throw e;
      },
    );
    const a = answer as { changes: DryRunChanges; warnings?: string[] };
    instances.push({ name: d.name, action, changes: a.changes, warnings: a.warnings ?? [] });
  }
  const named = new Set(desired.map((d) => d.name));
  for (const c of current) {
    const name = String(c.name);
    if (named.has(name)) continue;
    if (!prune) {
      instances.push({ name, action: 'left alone' });
      continue;
    }
    const a = (await request(to, 'DELETE', `${at(name)}?dry_run=true`)) as { changes: DryRunChanges };
    instances.push({ name, action: 'delete', changes: a.changes });
  }
  return { url: to.url, instances };
}

const WORD: Record<Action, string> = {
  create: 'created',
  change: 'changed',
  unchanged: 'unchanged',
  delete: 'deleted',
  'left alone': 'left alone (not in the file; --prune deletes it)',
};

/** The plan as text: per daemon, per instance what happens, and per backend what would move. */
export function planText(plans: DaemonPlan[], dryRun: boolean): string {
  const out: string[] = [];
  for (const p of plans) {
    out.push(`${p.url}:`);
    for (const i of p.instances) {
      const c = i.changes;
      const moved = c ? `: ${c.maglev_entries} Maglev entries move` : '';
      const verb = dryRun && i.action !== 'unchanged' && i.action !== 'left alone' ? 'would be ' : '';
      out.push(`  ${i.name}: ${verb}${WORD[i.action]}${moved}`);
      const rows = (c?.backends ?? []).filter((b) => b.maglev_gained || b.maglev_lost || b.sessions_moving);
      if (rows.length) {
        const grid = [['SERVICE', 'ID', 'GAINED', 'LOST', 'SESSIONS_MOVING']];
        for (const b of rows) {
          grid.push([
            b.service,
            String(b.id),
            String(b.maglev_gained),
            String(b.maglev_lost),
            String(b.sessions_moving),
          ]);
        }
        out.push(...align(grid).map((l) => `    ${l}`));
      }
      for (const w of i.warnings ?? []) out.push(`    warning: ${w}`);
    }
  }
  return out.join('\n');
}

async function applyDaemon(to: Endpoint, plan: DaemonPlan, desired: Map<string, Desired>): Promise<void> {
  for (const i of plan.instances) {
    const body = desired.get(i.name)?.body;
    if (i.action === 'create') await request(to, 'POST', at(i.name), body);
    else if (i.action === 'change') await request(to, 'PUT', at(i.name), body);
    else if (i.action === 'delete') await request(to, 'DELETE', at(i.name));
  }
}

/** Runs `apply`; returns the exit code (see the header). */
export async function runApply(a: ApplyArgs): Promise<number> {
  const { opts } = a;
  const print = async (data: unknown, text: string) => {
    let s = text;
    if (opts.format === 'json') s = JSON.stringify(data, null, 2);
    else if (opts.format === 'yaml') s = (await import('yaml')).stringify(data).trimEnd();
    process.stdout.write(`${s}\n`);
  };
  let desired: Desired[];
  try {
    desired = await readDesired(a.file);
  } catch (e) {
    process.stderr.write(`lbdsrctl: ${(e as Error).message}\n`);
    return 2;
  }
  const plans: DaemonPlan[] = [];
  for (const url of a.urls) {
    try {
      plans.push(await planDaemon(base(url, opts), desired, a.prune, a.file));
    } catch (e) {
      const code = e instanceof ApiError && e.code !== 'DAEMON_DOWN' ? ` (${e.code})` : '';
      process.stderr.write(`lbdsrctl: ${url}: ${(e as Error).message}${code}\nnothing was applied\n`);
      return 1;
    }
  }
  if (opts.plan) {
    await print({ dry_run: true, daemons: plans }, `${planText(plans, true)}\ndry run: nothing changed`);
    return 0;
  }
  const byName = new Map(desired.map((d) => [d.name, d]));
  const done: string[] = [];
  for (const p of plans) {
    try {
      await applyDaemon(base(p.url, opts), p, byName);
      done.push(p.url);
    } catch (e) {
      await print({ applied: done, daemons: plans }, planText(plans, false));
      const code = e instanceof ApiError && e.code !== 'DAEMON_DOWN' ? ` (${e.code})` : '';
      process.stderr.write(
        `lbdsrctl: ${p.url}: applying failed: ${(e as Error).message}${code}\n` +
          `applied completely on: ${done.length ? done.join(', ') : 'none'}; partly on ${p.url}\n`,
      );
      return 3;
    }
  }
  await print({ applied: done, daemons: plans }, planText(plans, false));
  return 0;
}
