// The testkit's namespace line (testkit/line.ts): built with the requested names and addresses,
// re-linked in place, and removed by destroy() and by a process that dies of a signal.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { ipSync, runSync } from '../../testkit/exec.js';
import { Line } from '../../testkit/line.js';
import { skipReason } from './env.js';

const skip = skipReason();

function namespaces(): string {
  return runSync('ip', ['netns', 'list']).stdout;
}

describe('testkit line', { skip }, () => {
  it('builds the three namespaces with the asked interfaces and addresses, and destroy removes them', () => {
    const l = Line.build({
      tag: 't',
      fe: 'fe',
      be: 'be',
      beMac: '02:be:00:00:00:07',
      left: { role: 'c', ifname: 'eth0', addrs: ['10.88.0.1/24'] },
      right: { role: 's', ifname: 'eth0', mac: '02:88:00:00:00:01', loAddrs: ['10.88.0.100/32'] },
    });
    try {
      assert.match(l.prefix, /^lbdsr-t/);
      for (const ns of [l.lb, l.left, l.right]) assert.ok(namespaces().includes(ns), ns);
      assert.match(ipSync('-n', l.left, 'addr', 'show', 'dev', 'eth0'), /10\.88\.0\.1\/24/);
      assert.match(ipSync('-n', l.right, 'addr', 'show', 'dev', 'lo'), /10\.88\.0\.100\/32/);
      assert.match(ipSync('-n', l.right, 'link', 'show', 'dev', 'eth0'), /02:88:00:00:00:01/);
      assert.match(ipSync('-n', l.lb, 'link', 'show', 'dev', 'be'), /02:be:00:00:00:07/);
      const before = l.ifindex(l.lb, 'be');
      l.relinkRight('02:be:00:00:00:08');
      assert.notEqual(l.ifindex(l.lb, 'be'), before, 'a new interface');
      assert.match(ipSync('-n', l.lb, 'link', 'show', 'dev', 'be'), /02:be:00:00:00:08/);
      assert.equal(l.packets(l.lb, 'fe', 'rx') >= 0, true);
    } finally {
      l.destroy();
    }
    for (const ns of [l.lb, l.left, l.right]) assert.ok(!namespaces().includes(ns), `${ns} removed`);
    l.destroy(); // twice is harmless
  });

  it('a process killed with SIGTERM while its line is up removes it', { timeout: 60_000 }, async () => {
    const mod = new URL('../../testkit/line.js', import.meta.url).href;
    const script = `const { makeTopo } = await import(${JSON.stringify(mod)}); const t = makeTopo('k'); console.log(t.lb); setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const lb = await new Promise<string>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('child did not build its line in 30 s')), 30_000);
        createInterface({ input: child.stdout }).once('line', (l) => {
          clearTimeout(t);
          resolve(l.trim());
        });
      });
      assert.ok(namespaces().includes(lb), 'the line exists while the process runs');
      child.kill('SIGTERM');
      assert.equal(await exited, 143);
      assert.ok(!namespaces().includes(lb.replace(/lb$/, '')), namespaces());
    } finally {
      child.kill('SIGKILL');
    }
  });
});
