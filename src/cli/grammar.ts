// polycubectl's grammar over the resource tree of schema.ts:
//   lbdsr add NAME [k=v ...] | lbdsr del NAME | lbdsr show | lbdsr NAME show | lbdsr NAME set k=v ...
//   lbdsr NAME ports add P type=FRONTEND | ... ports P set peer=IF | ... backend pool add ID mac=M | ...
//   lbdsr NAME frontend announce [count=N] (an action node: a POST now)
//   lbdsr NAME services add web vip=V [protocol=TCP port=80] | ... services web backend pool add 1 ip=A
//   lbdsr NAME explain src=A dst=VIP proto=TCP sport=P dport=P | lbdsr NAME explain arp who-has=VIP
// Pure: turns words into a request (or a help request); the caller does the HTTP. It walks the CLI's
// plain-data copy of the tree (tree.ts), not schema.ts itself, so that lbdsrctl never loads TypeBox.
import { align } from './format.js';
import { type CliNode, describeType, enumValues, type JsonSchema, propertiesOf } from './resources.js';
import { INSTANCE_TREE, SERVICE } from './tree.js';

export class UsageError extends Error {}

export interface Position {
  node: CliNode;
  /** At a list itself (add/del/show/KEY), not at one of its entries. */
  collection: boolean;
  /** Path below /polycube/v1, ending with '/'. */
  path: string;
  trail: string[];
}

export type Parsed =
  | { kind: 'help'; pos: Position; context: 'node' | 'add' | 'set' }
  | {
      kind: 'request';
      method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
      path: string;
      pos: Position;
      /** Schema of the body built from k=v words (absent: no body). */
      schema?: JsonSchema;
      /** k=v words; an empty list lets the body come from stdin. */
      params: string[];
      /** A leaf value given as `set VALUE`. */
      value?: string;
    };

export function rootPosition(): Position {
  return { node: INSTANCE_TREE, collection: true, path: `/${SERVICE}/`, trail: [SERVICE] };
}

function commandsAt(pos: Position): string[] {
  if (pos.collection) return ['add', 'del', 'show'];
  const base = pos.node.readOnly ? ['show'] : ['show', 'set'];
  const isEntry = pos.node.kind === 'list' || pos.node.optional;
  if (isEntry) base.push('del');
  return [...base, ...(pos.node.children ?? []).map((c) => c.segment)];
}

function noMore(words: string[], i: number, trail: string[]): void {
  if (i < words.length) {
    throw new UsageError(`unexpected '${words[i]}' after '${trail.join(' ')}'`);
  }
}

/** Walks the words; '?' anywhere stops there and asks for help at that position. */
export function parseWords(words: string[]): Parsed {
  if (words.length === 0) throw new UsageError(`missing command: try 'lbdsrctl ${SERVICE} ?'`);
  if (words[0] !== SERVICE) {
    if (words[0] === '?') return { kind: 'help', pos: { ...rootPosition(), trail: [] }, context: 'node' };
    throw new UsageError(`unknown service '${words[0]}': lbdsrctl manages '${SERVICE}'`);
  }
  let pos = rootPosition();
  let i = 1;
  for (;;) {
    const w = words[i];
    if (w === undefined) {
      throw new UsageError(
        `'${pos.trail.join(' ')}' needs a command: ${commandsAt(pos).join(', ')}${pos.collection ? ' or a name' : ''}`,
      );
    }
    if (w === '?') return { kind: 'help', pos, context: 'node' };
    const trail = [...pos.trail, w];
    if (pos.collection) {
      const keyName = keyField(pos.node);
      if (w === 'show') {
        noMore(words, i + 1, trail);
        return { kind: 'request', method: 'GET', path: pos.path, pos, params: [] };
      }
      if (w === 'add' || w === 'del') {
        const key = words[i + 1];
        if (key === '?' || (w === 'add' && words.slice(i + 2).includes('?'))) {
          return { kind: 'help', pos, context: w === 'add' ? 'add' : 'node' };
        }
        if (key === undefined) throw new UsageError(`'${trail.join(' ')}' needs the ${keyName} of the entry`);
        const entryPath = `${pos.path}${encodeURIComponent(unquote(key))}/`;
        if (w === 'del') {
          noMore(words, i + 2, [...trail, key]);
          return { kind: 'request', method: 'DELETE', path: entryPath, pos, params: [] };
        }
        const params = words.slice(i + 2);
        checkParams(params, [...trail, key]);
        return { kind: 'request', method: 'POST', path: entryPath, pos, schema: pos.node.schema, params };
      }
      if (w === 'set')
        throw new UsageError(`'${pos.trail.join(' ')}' is a list: use add, del, show or a ${keyName}`);
      pos = {
        node: pos.node,
        collection: false,
        path: `${pos.path}${encodeURIComponent(unquote(w))}/`,
        trail,
      };
      i++;
      continue;
    }
    if (w === 'show') {
      // `sessions show limit=N`: how many sessions to list (the daemon's default is 100).
      const limit = /^limit=(\d{1,7})$/.exec(words[i + 1] ?? '');
      if (pos.node.segment === 'sessions' && limit && words.length === i + 2) {
        return { kind: 'request', method: 'GET', path: `${pos.path}?limit=${limit[1]}`, pos, params: [] };
      }
      noMore(words, i + 1, trail);
      return { kind: 'request', method: 'GET', path: pos.path, pos, params: [] };
    }
    if (w === 'set' && !pos.node.readOnly) {
      const params = words.slice(i + 1);
      // a leaf takes a value, not parameters: its own help says which
      if (params.includes('?'))
        return { kind: 'help', pos, context: pos.node.kind === 'leaf' ? 'node' : 'set' };
      if (pos.node.kind === 'leaf') {
        if (params.length !== 1) throw new UsageError(`'${trail.join(' ')}' takes one value`);
        const [p = ''] = params;
        const eq = p.indexOf('=');
        const value = eq > 0 && p.slice(0, eq) === pos.node.segment ? p.slice(eq + 1) : p;
        return { kind: 'request', method: 'PUT', path: pos.path, pos, params: [], value: unquote(value) };
      }
      checkParams(params, trail);
      return { kind: 'request', method: 'PATCH', path: pos.path, pos, schema: pos.node.schema, params };
    }
    if (w === 'del' && commandsAt(pos).includes('del')) {
      noMore(words, i + 1, trail);
      return { kind: 'request', method: 'DELETE', path: pos.path, pos, params: [] };
    }
    const child = pos.node.children?.find((c) => c.segment === w);
    if (!child) {
      throw new UsageError(
        `unknown command '${w}' after '${pos.trail.join(' ')}': expected one of ${commandsAt(pos).join(', ')}`,
      );
    }
    pos = { node: child, collection: child.kind === 'list', path: `${pos.path}${w}/`, trail };
    if (child.kind === 'action') {
      // `frontend announce [count=N]`: a POST of its k=v parameters, no further words
      const params = words.slice(i + 1).map((p) => actionParam(p, child.schema));
      if (params.includes('?')) return { kind: 'help', pos, context: 'set' };
      checkParams(params, trail);
      return { kind: 'request', method: 'POST', path: pos.path, pos, schema: child.schema, params };
    }
    i++;
  }
}

/**
 * A word of an action as k=v: a bare word naming a boolean of its schema is `word=true` (`explain arp`),
 * and a key spelled with '-' where the schema has '_' takes the schema's (`who-has=` for `who_has`).
 */
function actionParam(word: string, schema: JsonSchema): string {
  const props = propertiesOf(schema) ?? {};
  const eq = word.indexOf('=');
  if (eq < 0) return props[word]?.type === 'boolean' ? `${word}=true` : word;
  const key = word.slice(0, eq);
  const alt = key.replaceAll('-', '_');
  return alt !== key && props[alt] !== undefined && props[key] === undefined
    ? `${alt}${word.slice(eq)}`
    : word;
}

function checkParams(params: string[], trail: string[]): void {
  for (const p of params) {
    if (p.indexOf('=') <= 0) throw new UsageError(`'${p}' after '${trail.join(' ')}' is not key=value`);
  }
}

/** Strips one pair of matching surrounding quotes: peer="veth1" and peer='veth1' give veth1. */
export function unquote(v: string): string {
  if (v.length >= 2 && (v[0] === '"' || v[0] === "'") && v[v.length - 1] === v[0]) return v.slice(1, -1);
  return v;
}

function schemaAt(schema: JsonSchema | undefined, keys: string[]): JsonSchema | undefined {
  let s = schema;
  for (const k of keys) s = s ? propertiesOf(s)?.[k] : undefined;
  return s;
}

/** A word's value as the schema types it: numbers and booleans where it says so, else the string. */
function typedValue(raw: string, s: JsonSchema | undefined): unknown {
  if (s && (s.type === 'integer' || s.type === 'number') && /^-?\d+(\.\d+)?$/.test(raw)) return Number(raw);
  if (s && s.type === 'boolean' && /^(true|false)$/i.test(raw)) return raw.toLowerCase() === 'true';
  return raw;
}

/**
 * Builds a body from k=v words: dotted keys nest, integers become numbers and true/false booleans where
 * the schema says so.
 */
export function paramsToBody(params: string[], schema: JsonSchema | undefined): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const p of params) {
    const eq = p.indexOf('=');
    const keys = p.slice(0, eq).split('.');
    const last = keys.pop() ?? '';
    const raw = unquote(p.slice(eq + 1));
    const s = schemaAt(schema, [...keys, last]);
    const value = typedValue(raw, s);
    let target = body;
    for (const k of keys) {
      const own = Object.hasOwn(target, k) ? target[k] : undefined;
      if (typeof own !== 'object' || own === null) setOwn(target, k, {});
      target = target[k] as Record<string, unknown>;
    }
    setOwn(target, last, value);
  }
  return body;
}

/** Sets an own property: `o['__proto__'] = v` would set the prototype (and walk into Object.prototype). */
function setOwn(o: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/** The k=v parameters a schema accepts, dotted for nested objects; lists and read-only fields left out. */
export function paramList(
  schema: JsonSchema,
  skip: string[] = [],
  prefix = '',
): Array<{ key: string; type: string; description: string }> {
  const out: Array<{ key: string; type: string; description: string }> = [];
  for (const [k, s] of Object.entries(propertiesOf(schema) ?? {})) {
    if (s.readOnly || skip.includes(k) || s.type === 'array') continue;
    if (s.type === 'object') out.push(...paramList(s, [], `${prefix}${k}.`));
    else out.push({ key: `${prefix}${k}`, type: describeType(s), description: String(s.description ?? '') });
  }
  return out;
}

function table(rows: string[][]): string {
  if (rows.length === 0) return '  (none)';
  return align(rows)
    .map((line) => `  ${line}`)
    .join('\n');
}

/** The help text for '?' at a position; `keys` are the existing entries of a list, when known. */
export function helpText(parsed: Extract<Parsed, { kind: 'help' }>, keys: string[] = []): string {
  const { pos, context } = parsed;
  if (pos.trail.length === 0) return `services:\n${table([[SERVICE, INSTANCE_TREE.description]])}`;
  const where = pos.trail.join(' ');
  const node = pos.node;
  if (context === 'add' || context === 'set') {
    const skip = node.key ? [node.key.field] : [];
    const params = paramList(node.schema, skip);
    const head =
      context === 'add'
        ? `${where} add <${keyField(node)}> [key=value ...]   (or a YAML/JSON body on stdin)`
        : node.kind === 'action'
          ? `${where} [key=value ...]   ${node.description}`
          : `${where} set key=value ...   (or a YAML/JSON body on stdin)`;
    return `${head}\nparameters:\n${table(params.map((p) => [`${p.key}=<${p.type}>`, p.description]))}`;
  }
  const lines: string[] = [];
  if (pos.collection) {
    const k = keyField(node);
    lines.push(
      'commands:',
      table([
        [`add <${k}> [key=value ...]`, `create ${describeKey(node)}`],
        [`del <${k}>`, `delete ${describeKey(node)}`],
        ['show', `show ${node.description}`],
        [`<${k}>`, keys.length ? `an existing entry: ${keys.join(', ')}` : 'an existing entry'],
      ]),
    );
    return `${where}: ${node.description}\n${lines.join('\n')}`;
  }
  const cmds: string[][] = [['show', 'show this resource (-json, -yaml)']];
  if (!node.readOnly) cmds.push([node.kind === 'leaf' ? 'set <value>' : 'set key=value ...', 'update it']);
  if (node.kind === 'list' || node.optional) cmds.push(['del', 'delete it']);
  lines.push('commands:', table(cmds));
  const children = node.children ?? [];
  if (children.length) lines.push('sub-resources:', table(children.map((c) => [c.segment, c.description])));
  if (!node.readOnly && node.kind !== 'leaf') {
    const params = paramList(node.schema, node.key ? [node.key.field] : []);
    if (params.length)
      lines.push('parameters of set:', table(params.map((p) => [`${p.key}=<${p.type}>`, p.description])));
  } else if (node.kind === 'leaf') {
    const e = enumValues(node.schema);
    lines.push(`value: <${e ? e.join('|') : describeType(node.schema)}>`);
  }
  const title =
    node.kind === 'list' ? `${describeKey(node).replace(/^an? /, '')} ${pos.trail.at(-1)}` : node.description;
  return `${where}: ${title}\n${lines.join('\n')}`;
}

/** The key field of a list's entries (every list of the tree has one). */
function keyField(node: CliNode): string {
  return node.key?.field ?? 'key';
}

function describeKey(node: CliNode): string {
  if (node.segment === SERVICE) return 'an instance';
  if (node.segment === 'services') return 'a service';
  return node.segment === 'pool' ? 'a backend' : 'a port';
}

/** Completion candidates for the word after `words`. */
export function candidates(words: string[]): { words: string[]; list?: Position } {
  if (words.length === 0) return { words: [SERVICE] };
  let parsed: Parsed | undefined;
  try {
    parsed = parseWords([...words, '?']);
  } catch {
    return { words: [] };
  }
  if (parsed.kind !== 'help') return { words: [] };
  const { pos, context } = parsed;
  if (context === 'add' || context === 'set') {
    if (context === 'add' && words[words.length - 1] === 'add') return { words: [] };
    const skip = pos.node.key ? [pos.node.key.field] : [];
    const out: string[] = [];
    for (const p of paramList(pos.node.schema, skip)) {
      const s = schemaAt(pos.node.schema, p.key.split('.'));
      const e = s ? enumValues(s) : undefined;
      if (e) out.push(...e.map((v) => `${p.key}=${v}`));
      else out.push(`${p.key}=`);
    }
    return { words: out };
  }
  if (pos.node.kind === 'leaf' && words[words.length - 1] === 'set') {
    return { words: enumValues(pos.node.schema) ?? [] };
  }
  return { words: commandsAt(pos), list: pos.collection ? pos : undefined };
}
