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

/** The instances list: one row per instance. */
export function instancesTable(instances: unknown[]): string {
  const rows = instances.map((i) => ({
    name: at(i, 'name'),
    type: at(i, 'type'),
    plane: at(i, 'plane'),
    algorithm: at(i, 'algorithm'),
    vip: at(i, 'frontend', 'vip'),
    mac: at(i, 'frontend', 'mac'),
    ports:
      list(at(i, 'ports'))
        .map((p) => `${at(p, 'name')}(${at(p, 'peer') ?? '-'},${at(p, 'status')})`)
        .join(' ') || '-',
    backends: list(at(i, 'backend', 'pool')).length,
  }));
  return table(rows, ['name', 'type', 'plane', 'algorithm', 'vip', 'mac', 'ports', 'backends']);
}
