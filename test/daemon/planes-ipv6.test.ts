// An IPv6 service in an XDP_SKB instance driven by the real daemon (as root, in its own namespaces:
// client [eth0] -- [fe] balancer [be] -- [eth0] server): the client's own kernel resolves the IPv6 VIP
// by Neighbor Discovery through the attached program (its neighbour entry gets the frontend MAC), the
// daemon's stats count the advertisement (ndReplies), the VIP's solicited-node MAC is on the FRONTEND
// interface's multicast list while the service is there in L2 mode, and leaves it with the service.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Daemon } from '../../testkit/daemon.js';
import { ipSync, run } from '../../testkit/exec.js';
import { mustWaitFor } from '../../testkit/timing.js';
import { buildLab } from '../xdp/netns.js';
import { needRoot } from './helpers.js';

const VIP6 = 'fd00::100';
const VIP6_MC = '33:33:ff:00:01:00';
const FE_MAC = 'aa:bb:cc:dd:ee:01';

describe('IPv6 in the XDP plane through the daemon (as root)', () => {
  test('a client resolves the IPv6 VIP by ND through the program; the solicited-node MAC follows the service', async (t) => {
    const why = needRoot();
    if (why) return t.skip(why);
    const lab = await buildLab();
    const d = new Daemon({ ns: lab.lb, logLevel: 'warn' });
    const until = (what: string, ok: () => Promise<boolean>) =>
      mustWaitFor(what, ok, { timeoutMs: 15_000, intervalMs: 100 });
    const maddr = () => ipSync('-n', lab.lb, 'maddr', 'show', 'dev', 'fe');
    try {
      // The lab's namespaces come with IPv6 off (testkit/line.ts): on for the client's interface only.
      await run('ip', ['netns', 'exec', lab.client, 'sysctl', '-qw', 'net.ipv6.conf.eth0.disable_ipv6=0']);
      ipSync('-n', lab.client, '-6', 'addr', 'add', '2001:db8::1/64', 'dev', 'eth0', 'nodad');
      ipSync('-n', lab.client, '-6', 'route', 'add', `${VIP6}/128`, 'dev', 'eth0');
      await d.start();
      for (const line of [
        ['lbdsr', 'add', 'lb1', 'type=XDP_SKB'],
        ['lbdsr', 'lb1', 'frontend', 'set', `mac=${FE_MAC}`],
        ['lbdsr', 'lb1', 'ports', 'add', 'f', 'type=FRONTEND', 'peer=fe'],
        ['lbdsr', 'lb1', 'ports', 'add', 'b', 'type=BACKEND', 'peer=be'],
        ['lbdsr', 'lb1', 'services', 'add', 'web6', `vip=${VIP6}`, 'protocol=TCP', 'port=80'],
        ['lbdsr', 'lb1', 'services', 'web6', 'backend', 'pool', 'add', '1', `mac=${lab.serverMac}`],
      ]) {
        await d.mustCtl(...line);
      }
      const show = JSON.parse(await d.mustCtl('lbdsr', 'lb1', 'show', '-json'));
      assert.equal(show.plane, 'XDP_SKB');
      assert.match(maddr(), new RegExp(`link\\s+${VIP6_MC}`), 'the VIP\u2019s solicited-node MAC is joined');

      // The client's kernel solicits the VIP (a ping makes it) and learns the frontend MAC.
      await until('the client to resolve the IPv6 VIP', async () => {
        await run('ip', ['netns', 'exec', lab.client, 'ping', '-6', '-c', '1', '-W', '1', VIP6]);
        return ipSync('-n', lab.client, '-6', 'neigh', 'show', VIP6).includes(`lladdr ${FE_MAC}`);
      });
      const stats = JSON.parse(await d.mustCtl('lbdsr', 'lb1', 'stats', 'show', '-json'));
      assert.ok(stats.ndReplies >= 1, `ND replies counted: ${JSON.stringify(stats.ndReplies)}`);
      assert.ok(stats.tx.frontend >= stats.ndReplies, 'and sent on the FRONTEND port');

      await d.mustCtl('lbdsr', 'lb1', 'services', 'del', 'web6');
      assert.doesNotMatch(maddr(), new RegExp(VIP6_MC), 'left with the service');
    } finally {
      await d.dispose();
      await lab.destroy();
    }
  });
});
