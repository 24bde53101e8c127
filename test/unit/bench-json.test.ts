// `npm run bench -- --json`: one JSON object on stdout with stable keys for every figure and its
// same-run baseline (IPv6 rows beside IPv4's). Runs the pipeline section (no root needed) in its quick
// mode.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const BENCH = fileURLToPath(new URL('../../bench/index.js', import.meta.url));

interface Fig {
  value: number;
  unit: string;
  baseline?: number;
  ratio?: number;
}

const finitePositive = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x) && x > 0;

test('bench --json --quick prints one JSON object with the pipeline figures and their baselines', () => {
  const r = spawnSync(process.execPath, [BENCH, 'pipeline', '--json', '--quick'], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(r.status, 0, r.stderr);
  // stdout is only the object (human lines went to stderr).
  const out = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.match(r.stderr, /decide: session hit, one flow/);
  assert.equal(out.quick, true);
  const load = out.load_average as number[];
  assert.equal(load.length, 3);
  assert.ok(load.every((x) => Number.isFinite(x) && x >= 0));
  const p = out.pipeline as Record<string, Fig>;
  const decisions = ['hit_one_flow', 'hit_random_live', 'miss_filling', 'miss_at_capacity'];
  for (const k of decisions) {
    const f = p[k];
    assert.ok(f, `pipeline.${k} is reported`);
    assert.equal(f.unit, 'decisions/s');
    assert.ok(finitePositive(f.value), `${k}.value = ${f.value}`);
    assert.ok(finitePositive(f.baseline), `${k}.baseline = ${f.baseline}`);
    assert.ok(
      Math.abs((f.ratio ?? 0) - f.value / (f.baseline ?? 1)) < 1e-9,
      `${k}.ratio is value / baseline`,
    );
  }
  // IPv6 beside IPv4 in the same run: the same decisions on IPv6 frames of the dual-stack service, and
  // their cost per frame against IPv4's (ns/frame; ratio = the IPv6 cost, the issue's goal <= 1.3x).
  assert.match(r.stderr, /the same, IPv6 frames .* IPv6 costs [0-9.]+x IPv4 per frame/);
  for (const k of decisions) {
    const v6 = p[`${k}_v6`];
    assert.ok(v6, `pipeline.${k}_v6 is reported`);
    assert.equal(v6.unit, 'decisions/s');
    assert.ok(finitePositive(v6.value), `${k}_v6.value = ${v6.value}`);
    const cost = p[`${k}_v6_cost`];
    assert.ok(cost, `pipeline.${k}_v6_cost is reported`);
    assert.equal(cost.unit, 'ns/frame');
    assert.ok(Math.abs(cost.value - 1e9 / v6.value) < 1e-6 * cost.value, `${k}_v6_cost is IPv6's ns/frame`);
    assert.ok(
      Math.abs((cost.baseline ?? 0) - 1e9 / (p[k]?.value ?? 1)) < 1e-6 * cost.value,
      `${k}_v6_cost's baseline is IPv4's ns/frame of the same run`,
    );
    assert.ok(Math.abs((cost.ratio ?? 0) - cost.value / (cost.baseline ?? 1)) < 1e-9, `${k}_v6_cost.ratio`);
  }
  for (const k of ['map_number_get', 'map_string_get', 'maglev_build_10', 'maglev_build_4096']) {
    assert.ok(finitePositive(p[k]?.value), `pipeline.${k}`);
  }
  // Sections not asked for are not in the object.
  assert.equal(out.xdp, undefined);
});

test('bench without --json keeps the human output on stdout', () => {
  const r = spawnSync(process.execPath, [BENCH, 'pipeline', '--quick'], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /=== pipeline/);
  assert.match(r.stdout, /Maglev table build \(65537 entries\), 4096 backends/);
  assert.throws(() => JSON.parse(r.stdout));
});

test('bench refuses an unknown section', () => {
  const r = spawnSync(process.execPath, [BENCH, 'nosuch', '--json'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown section nosuch/);
});
