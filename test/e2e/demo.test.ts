// `npm run demo` is the README's first command: it must work end to end (IPv4, then the same service dual
// stack over IPv6 too), fast, and leave nothing behind.
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
  it('balances over all three backends with no failure, shows DSR and a dual-stack service, and removes everything', {
    timeout: 90_000,
  }, async () => {
    const before = await ours();
    const t0 = Date.now();
    const r = await run(process.execPath, [DEMO, '--connections', '100'], { timeoutMs: 80_000 });
    const elapsed = Date.now() - t0;
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.ok(elapsed < 60_000, `took ${elapsed} ms`);
    const cmds = [
      'lbdsrctl lbdsr add lb1',
      'lbdsrctl lbdsr lb1 frontend set vip=10.0.0.100',
      'lbdsrctl lbdsr lb1 frontend set vip6=fd00::100',
    ];
    for (const cmd of cmds) {
      assert.ok(r.stdout.includes(`$ ${cmd}`), `shows "${cmd}"`);
    }
    assert.match(r.stdout, /200 connections answered by b1, b2, b3; 0 failed/);
    // the dual-stack step: both VIPs of the one service answer at once, by the same pool
    assert.match(
      r.stdout,
      /\n {2}100 connections to http:\/\/10\.0\.0\.100\/ answered by b1, b2, b3; 0 failed/,
    );
    assert.match(
      r.stdout,
      /dual stack: 100 connections to http:\/\/\[fd00::100\]\/ answered by b1, b2, b3; 0 failed/,
    );
    assert.match(r.stdout, /ping -6 -c 3 fd00::100: [1-3]\/3 replies/);
    assert.match(r.stdout, /neighbour entry for fd00::100 \(ip -6 neigh\): aa:bb:cc:dd:ee:ff /);
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
