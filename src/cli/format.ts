// Human-readable output of lbdsrctl: key/value lines for objects, tables for lists of objects.

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function cell(v: unknown): string {
  if (v === undefined || v === null) return '-';
  if (Array.isArray(v)) {
    if (v.length === 0) return '-';
    return v.map((e) => (isObject(e) ? String(e.name ?? e.id ?? JSON.stringify(e)) : String(e))).join(',');
  }
  if (isObject(v)) {
    return (
      Object.entries(v)
        .map(([k, x]) => `${k}=${cell(x)}`)
        .join(' ') || '-'
    );
  }
  return String(v);
}

/** A table of objects: one column per key seen (in order), nested objects flattened one level. */
export function table(rows: unknown[], columns?: string[]): string {
  if (rows.length === 0) return '(none)';
  const flat = rows.map((r) => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(isObject(r) ? r : {})) {
      if (isObject(v) && !columns) for (const [k2, v2] of Object.entries(v)) out[`${k}.${k2}`] = v2;
      else out[k] = v;
    }
    return out;
  });
  const cols = columns ?? [...new Set(flat.flatMap((r) => Object.keys(r)))];
  const grid = [cols.map((c) => c.toUpperCase()), ...flat.map((r) => cols.map((c) => cell(lookup(r, c))))];
  return align(grid).join('\n');
}

/** The rows of a grid with their columns padded to one width, two spaces apart. */
export function align(grid: string[][]): string[] {
  const widths = (grid[0] ?? []).map((_, c) => Math.max(...grid.map((g) => (g[c] ?? '').length)));
  return grid.map((g) =>
    g
      .map((x, c) => x.padEnd(widths[c] ?? 0))
      .join('  ')
      .trimEnd(),
  );
}

function lookup(row: Record<string, unknown>, col: string): unknown {
  return col in row ? row[col] : at(row, ...col.split('.'));
}

function indent(text: string, by: string): string {
  return text
    .split('\n')
    .map((l) => by + l)
    .join('\n');
}

/** Renders any JSON value for people. */
export function human(v: unknown): string {
  if (Array.isArray(v)) {
    if (v.length === 0) return '(none)';
    if (v.every(isObject)) return table(v);
    return v.map(String).join('\n');
  }
  if (!isObject(v)) return v === null || v === undefined ? '-' : String(v);
  const entries = Object.entries(v);
  const width = Math.max(
    0,
    ...entries.filter(([, x]) => !isObject(x) && !Array.isArray(x)).map(([k]) => k.length),
  );
  const lines: string[] = [];
  for (const [k, x] of entries) {
    if (Array.isArray(x) && x.length > 0 && x.every(isObject)) lines.push(`${k}:`, indent(table(x), '  '));
    else if (Array.isArray(x) && x.length === 0) lines.push(`${k}: (none)`);
    else if (isObject(x)) {
      const inner = human(x);
      lines.push(`${k}:`, indent(inner === '' ? '(none)' : inner, '  '));
    } else lines.push(`${`${k}:`.padEnd(width + 1)} ${cell(x)}`);
  }
  return lines.join('\n');
}

/** `v.a.b...`, or undefined where a step is not an object. */
function at(v: unknown, ...path: string[]): unknown {
  for (const k of path) v = isObject(v) ? v[k] : undefined;
  return v;
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** A service's (or frontend's) VIPs: `vip`, and `vip,vip6` for a dual-stack one. */
function vipsText(s: unknown): unknown {
  const vip6 = at(s, 'vip6');
  return vip6 === undefined ? at(s, 'vip') : `${at(s, 'vip') ?? '-'},${vip6}`;
}

/** The instances list: one row per instance. */
export function instancesTable(instances: unknown[]): string {
  const rows = instances.map((i) => ({
    name: at(i, 'name'),
    type: at(i, 'type'),
    plane: at(i, 'plane'),
    algorithm: at(i, 'algorithm'),
    vip: vipsText(at(i, 'frontend')),
    mac: at(i, 'frontend', 'mac'),
    ports:
      list(at(i, 'ports'))
        .map((p) => `${at(p, 'name')}(${at(p, 'peer') ?? '-'},${at(p, 'status')})`)
        .join(' ') || '-',
    backends: list(at(i, 'backend', 'pool')).length,
  }));
  return table(rows, ['name', 'type', 'plane', 'algorithm', 'vip', 'mac', 'ports', 'backends']);
}

/**
 * `services show`: one row per service, `default` (the frontend and backend) first; a service without
 * its own MAC or algorithm shows the instance's (default's), which it uses.
 */
export function servicesTable(services: unknown[]): string {
  const def = services.find((s) => at(s, 'name') === 'default');
  const rows = services.map((s) => ({
    name: at(s, 'name'),
    vip: vipsText(s),
    protocol: at(s, 'protocol') ?? 'any',
    port: at(s, 'port') ?? 'any',
    mac: at(s, 'mac') ?? at(def, 'mac'),
    algorithm: at(s, 'algorithm') ?? at(def, 'algorithm'),
    backends: list(at(s, 'backend', 'pool')).length,
    healthcheck: at(s, 'backend', 'healthcheck', 'type') ?? 'NONE',
  }));
  return table(rows, ['name', 'vip', 'protocol', 'port', 'mac', 'algorithm', 'backends', 'healthcheck']);
}

/**
 * `backend pool show`: one row per backend, its configuration and its status: the MAC in use and where
 * it came from, health (and an ARP flux, the DSR misconfiguration, loudly), live sessions, whether it
 * takes new flows.
 */
export function poolTable(pool: unknown[]): string {
  const rows = pool.map((b) => ({
    id: at(b, 'id'),
    ip: at(b, 'ip'),
    mac: at(b, 'mac_in_use') ?? at(b, 'mac'),
    source: at(b, 'mac_source'),
    health: at(b, 'arp_flux') === true ? `${at(b, 'health')} ARP-FLUX!` : at(b, 'health'),
    state: at(b, 'state') ?? 'ACTIVE',
    weight: at(b, 'weight') ?? 100,
    sessions: at(b, 'sessions'),
    serving: at(b, 'serving') === undefined ? undefined : at(b, 'serving') ? 'yes' : 'no',
    since: at(b, 'health_since'),
    reason: at(b, 'health_reason'),
  }));
  const cols = ['id', 'ip', 'mac', 'source', 'health', 'state', 'weight', 'sessions', 'serving'];
  // the time and reason of the last health change, where one is known
  if (rows.some((r) => r.since !== undefined || r.reason !== undefined)) cols.push('since', 'reason');
  return table(rows, cols);
}

/** The answer of a change run with -plan (a dry run): what it would move. */
export function dryRunText(answer: unknown): string {
  const services = at(answer, 'changes', 'services');
  const lines = [
    'dry run: nothing changed',
    `maglev entries that would change backend: ${cell(at(answer, 'changes', 'maglev_entries'))}`,
    `services: added ${cell(at(services, 'added'))}, changed ${cell(at(services, 'changed'))}, removed ${cell(at(services, 'removed'))}`,
  ];
  const backends = list(at(answer, 'changes', 'backends'));
  if (backends.length) {
    lines.push(table(backends, ['service', 'id', 'maglev_gained', 'maglev_lost', 'sessions_moving']));
  }
  return lines.join('\n');
}
