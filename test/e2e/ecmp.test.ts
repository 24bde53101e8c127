// Issue 12, tests 1 and 3: N balancer nodes behind a router that spreads flows over them by ECMP, each
// node announcing the VIP by BGP (BIRD) only while its lbdsrd says the VIP is reachable (testkit/fabric.ts
// draws the topology; docs/scale-out.md explains it).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { run } from '../../testkit/exec.js';
import { Fabric, nodeIp } from '../../testkit/fabric.js';
import { mustWaitFor } from '../../testkit/timing.js';
import { skipReason } from './env.js';

const birdMissing = () =>
  spawnSync('bird', ['--version'], { encoding: 'utf8' }).status === 0 ? undefined : 'bird2 is not installed';
const skip = skipReason() ?? birdMissing();
const T = { timeout: 120_000 };

/** Waits until the router's route to the VIP has exactly the next hops of `nodes`. */
async function hopsAre(f: Fabric, nodes: number[], timeoutMs = 10_000): Promise<void> {
  const want = nodes.map(nodeIp).sort();
  let last: string[] = [];
  await mustWaitFor(
    `router next hops ${JSON.stringify(want)} (last ${JSON.stringify(last)})`,
    async () => {
      last = await f.nextHops();
      return JSON.stringify(last) === JSON.stringify(want);
    },
    { timeoutMs, intervalMs: 50 },
  ).catch((e: Error) => {
    e.message = e.message.replace('(last [])', `(last ${JSON.stringify(last)})`);
    throw e;
  });
}

describe('ECMP fabric: BGP announcements drive the router', { skip }, () => {
  let f: Fabric;
  before(async () => {
    f = await Fabric.build({ nodes: 3 });
  }, T);
  after(async () => {
    await f?.teardown();
  });

  it('the announce command adds and withdraws a node as a next hop of the VIP', T, async () => {
    const announce = async (i: number, vips: string) => {
      const [cmd, ...args] = f.announceCommand(f.node(i)).split(' ');
      const r = await run(cmd ?? '', args, { env: { ...process.env, LBDSR_VIPS: vips } });
      assert.equal(r.code, 0, r.stderr);
    };
    await hopsAre(f, []);
    for (const i of [1, 2, 3]) await announce(i, '10.200.0.100/32');
    await hopsAre(f, [1, 2, 3], 20_000);
    await announce(2, '');
    await hopsAre(f, [1, 3]);
    await announce(2, '10.200.0.100/32');
    await hopsAre(f, [1, 2, 3]);
  });
});
