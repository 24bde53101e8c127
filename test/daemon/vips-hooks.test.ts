// The announce command's runner on its own (src/daemon/runtime/announce-hooks.ts): one run at a time
// (sets published while a run is under way are folded into one run of the latest set, never two runs
// at once), and a run that takes longer than its bound is killed and reported as a failure. The daemon
// around it is in vips.test.ts.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { AnnounceHooks, announceText, writeAtomic } from '../../src/daemon/runtime/announce-hooks.js';
import { mustWaitFor } from '../../testkit/timing.js';
import { tempDir } from './helpers.js';

test('one run at a time; the runs end with the latest set', async (t) => {
  const tmp = tempDir('vips-hooks');
  t.after(() => tmp.cleanup());
  const log = join(tmp.dir, 'log');
  const script = join(tmp.dir, 'slow.cjs');
  writeFileSync(
    script,
    `const fs = require('node:fs');
fs.appendFileSync(${JSON.stringify(log)}, 'start ' + process.env.LBDSR_VIPS + '\\n');
setTimeout(() => fs.appendFileSync(${JSON.stringify(log)}, 'end\\n'), 300);
`,
  );
  const failures: string[] = [];
  const hooks = new AnnounceHooks(
    { command: `${process.execPath} ${script}` },
    { failed: (m) => failures.push(m), recovered: () => {} },
  );
  t.after(() => hooks.close());
  const lines = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []);
  hooks.publish(['10.0.0.1']);
  await mustWaitFor('the first run started', () => lines().length > 0);
  hooks.publish(['10.0.0.1', '10.0.0.2']);
  hooks.publish(['10.0.0.2']);
  await mustWaitFor('two runs ended', () => lines().filter((l) => l === 'end').length === 2, {
    timeoutMs: 10_000,
  });
  assert.deepEqual(lines(), ['start 10.0.0.1/32', 'end', 'start 10.0.0.2/32', 'end']);
  assert.deepEqual(failures, []);
});

test('a run beyond its bound is killed and reported; it is tried again', async (t) => {
  const failures: string[] = [];
  const hooks = new AnnounceHooks(
    { command: `${process.execPath} -e setTimeout(()=>{},60000)`, timeoutMs: 300, retryMs: 200 },
    { failed: (m) => failures.push(m), recovered: () => {} },
  );
  t.after(() => hooks.close());
  const t0 = Date.now();
  hooks.publish(['10.0.0.1']);
  await mustWaitFor('two failures', () => failures.length >= 2, { timeoutMs: 10_000 });
  assert.match(failures[0] ?? '', /^announce command: .* did not finish within 300 ms \(killed\)$/);
  assert.ok(Date.now() - t0 < 5000, `${Date.now() - t0} ms`);
});

test('the announce file is 0644 whatever the umask, and a link at the old temp name is not written through', (t) => {
  const tmp = tempDir('vips-file');
  t.after(() => tmp.cleanup());
  const file = join(tmp.dir, 'vips');
  // The temp name the writer used to take (pid-derived, predictable): a link planted there pointed the
  // write at another file.
  const victim = join(tmp.dir, 'victim');
  writeFileSync(victim, 'untouched\n');
  symlinkSync(victim, join(tmp.dir, `.vips.${process.pid}.tmp`));
  const old = process.umask(0o077);
  try {
    writeAtomic(file, announceText(['10.0.0.100']));
  } finally {
    process.umask(old);
  }
  assert.equal(readFileSync(file, 'utf8'), '10.0.0.100/32\n');
  assert.equal(statSync(file).mode & 0o777, 0o644, 'routing daemons running as their own user must read it');
  assert.equal(readFileSync(victim, 'utf8'), 'untouched\n');
});
