// `npm run demo` is the README's first command: it must work end to end, fast, and leave nothing behind.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { run } from '../../testkit/exec.js';
import { skipReason } from './env.js';

const skip = skipReason();
const DEMO = fileURLToPath(new URL('../../scripts/demo.js', import.meta.url));

const ours = async () => ({
  ns: (await run('ip', ['netns', 'list'])).stdout.split('\n').filter((l) => l.startsWith('lbdsr-')),
  tmp: readdirSync(tmpdir()).filter((n) => n.startsWith('lbdsr-e2e-')),
});

describe('the demo', { skip }, () => {
  it('balances over all three backends with no failure, shows DSR, and removes everything', {
    timeout: 90_000,
  }, async () => {
    const before = await ours();
    const t0 = Date.now();
    const r = await run(process.execPath, [DEMO, '--connections', '100'], { timeoutMs: 80_000 });
    const elapsed = Date.now() - t0;
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.ok(elapsed < 60_000, `took ${elapsed} ms`);
    for (const cmd of ['lbdsrctl lbdsr add lb1', 'lbdsrctl lbdsr lb1 frontend set vip=10.0.0.100']) {
      assert.ok(r.stdout.includes(`$ ${cmd}`), `shows "${cmd}"`);
    }
    assert.match(r.stdout, /200 connections answered by b1, b2, b3; 0 failed/);
    const m = /frontend lbfe received (\d+) frames and transmitted (\d+)/.exec(r.stdout);
    assert.ok(m, r.stdout);
    assert.ok(Number(m[1]) >= 500 && Number(m[2]) <= 10, m[0]);
    const after = await ours();
    // Whatever ran before (a parallel run) may remain; nothing of this run does.
    assert.ok(
      after.ns.every((n) => before.ns.includes(n)),
      `left behind: ${after.ns.join(' ')}`,
    );
    assert.ok(
      after.tmp.every((n) => before.tmp.includes(n)),
      `left behind: ${after.tmp.join(' ')}`,
    );
  });
});
