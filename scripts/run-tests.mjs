#!/usr/bin/env node
// Runs every compiled test file under dist/test with node:test and passes its exit code through.
// Node 20's --test takes no globs, so the files are listed here. Arguments filter by path substring.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = walk('dist/test', [])
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error('no test files found under dist/test');
  process.exit(1);
}
// Suites that build network namespaces or load XDP programs run one file at a time.
// A settings file of the host (/etc/lbdsr/lbdsr.conf) must not reach the daemons and CLIs the tests
// start: LBDSR_CONFIG empty means "no file" unless a test names one.
const env = { ...process.env, LBDSR_CONFIG: process.env.LBDSR_CONFIG ?? '' };
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...files], {
  stdio: 'inherit',
  env,
});
process.exit(r.status ?? 1);
