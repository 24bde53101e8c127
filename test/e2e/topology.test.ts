// The topology on its own (no balancer): the backends are set up the way the seed says, answer the VIP
// when a frame reaches them, never answer ARP for it, and everything is removed afterwards.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { buildTopology, type Topology, teardown } from '../../testkit/bridge.js';
import { run } from '../../testkit/exec.js';
import { neighbourMac } from '../../testkit/netns.js';
import { client, ping, reached, type Servers, startServers } from '../../testkit/traffic.js';
import { skipReason } from './env.js';

const skip = skipReason();

describe('e2e topology (no balancer)', { skip }, () => {
  let topo: Topology;
  let servers: Servers | undefined;

  before(async () => {
    topo = await buildTopology();
    servers = await startServers(topo);
  });

  after(async () => {
    servers?.stop();
    if (topo) await teardown(topo);
  });

  it('backends carry the seed setup: VIP on lo, all.arp_ignore=1, all.arp_announce=2', async () => {
    for (const b of topo.backends) {
      const lo = await run('ip', ['-n', b.ns, '-4', '-o', 'addr', 'show', 'dev', 'lo']);
      assert.match(lo.stdout, /inet 10\.0\.0\.100\/32/);
      const s = await run('ip', [
        'netns',
        'exec',
        b.ns,
        'sysctl',
        '-n',
        'net.ipv4.conf.all.arp_ignore',
        'net.ipv4.conf.all.arp_announce',
      ]);
      assert.deepEqual(s.stdout.trim().split('\n'), ['1', '2']);
    }
  });

  it('backends answer HTTP on their own address, each with its name', async () => {
    for (const b of topo.backends) {
      const r = await client(topo.clients[0]!.ns, 'http', {
        url: `http://${b.ip}/`,
        count: 3,
        concurrency: 1,
      });
      assert.equal(r.failures, 0, JSON.stringify(r.errors));
      assert.deepEqual(r.counts, { [b.name]: 3 });
    }
  });

  it('without a balancer nobody answers ARP for the VIP (arp_ignore works)', async () => {
    const c = topo.clients[1]!;
    const p = await ping(c.ns, topo.vip, 2);
    assert.equal(p.received, 0);
    assert.equal(await neighbourMac(c.ns, topo.vip), undefined);
  });

  it('a frame sent to a backend MAC for the VIP is answered directly by that backend (DSR return path)', async () => {
    const c = topo.clients[0]!;
    const b2 = topo.backends[1]!;
    // What the balancer will do, by hand: the VIP resolved to one backend's MAC.
    await run('ip', [
      '-n',
      c.ns,
      'neigh',
      'replace',
      topo.vip,
      'lladdr',
      b2.mac,
      'dev',
      'eth0',
      'nud',
      'permanent',
    ]);
    try {
      const h = await client(c.ns, 'http', { count: 10, concurrency: 2 });
      assert.equal(h.failures, 0, JSON.stringify(h.errors));
      assert.deepEqual(reached(h), ['b2']);
      const u = await client(c.ns, 'udp-many', { count: 10 });
      assert.equal(u.failures, 0, JSON.stringify(u.errors));
      assert.deepEqual(u.counts, { b2: 10 });
      const p = await ping(c.ns, topo.vip, 3);
      assert.equal(p.received, 3);
    } finally {
      await run('ip', ['-n', c.ns, 'neigh', 'del', topo.vip, 'dev', 'eth0']);
    }
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`a process killed with ${signal} while its topology is up removes it`, {
      timeout: 60_000,
    }, async () => {
      const mod = new URL('../../testkit/bridge.js', import.meta.url).href;
      const script = `const m = await import(${JSON.stringify(mod)}); const t = await m.buildTopology(); console.log(t.prefix); setInterval(() => {}, 1000);`;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      try {
        const prefix = await new Promise<string>((resolve, reject) => {
          const t = setTimeout(() => reject(new Error('child did not build its topology in 30 s')), 30_000);
          createInterface({ input: child.stdout! }).once('line', (l) => {
            clearTimeout(t);
            resolve(l.trim());
          });
        });
        assert.match(prefix, /^lbdsr-/);
        assert.ok(
          (await run('ip', ['netns', 'list'])).stdout.includes(prefix),
          'namespaces exist while it runs',
        );
        child.kill(signal);
        assert.equal(await exited, signal === 'SIGINT' ? 130 : 143);
        const list = await run('ip', ['netns', 'list']);
        assert.ok(!list.stdout.includes(prefix), list.stdout);
      } finally {
        child.kill('SIGKILL');
      }
    });
  }

  it('teardown removes every namespace of the run', async () => {
    const t2 = await buildTopology();
    await teardown(t2);
    const list = await run('ip', ['netns', 'list']);
    assert.ok(!list.stdout.includes(t2.prefix), list.stdout);
  });
});
