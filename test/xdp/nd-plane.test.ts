// Neighbor Discovery for an IPv6 VIP through a real interface, in both attach modes (docs/semantics.md,
// "IPv6", rule 6b): the client's own kernel solicits the VIP (to its solicited-node multicast address)
// and learns it at the frontend MAC from the advertisement lbdsr_xdp sends back out of the FRONTEND
// port (XDP_TX); so the program loads, attaches and answers in generic (XDP_SKB) and native (XDP_DRV)
// mode alike.
import { test } from 'node:test';
import type { XdpKind } from '../../src/dataplane/xdp/attach.js';
import { XdpPlane } from '../../src/dataplane/xdp/plane.js';
import { inNetns } from '../../src/kernel/ifinfo.js';
import { must } from '../../testkit/exec.js';
import { mustWaitFor } from '../../testkit/timing.js';
import { drive } from '../lib/drive.js';
import { xdpSkipReason } from './env.js';
import { buildLab, labConfig } from './netns.js';

const skip = xdpSkipReason();
const VIP6 = 'fd77::100';
const FE_MAC = 'aa:bb:cc:dd:ee:01';

for (const kind of ['XDP_SKB', 'XDP_DRV'] as const satisfies readonly XdpKind[]) {
  test(`${kind}: the client's kernel finds an IPv6 VIP by Neighbor Discovery at its frontend MAC`, {
    skip,
    timeout: 120_000,
  }, async () => {
    const lab = await buildLab();
    const name = `n${kind === 'XDP_DRV' ? 'd' : 's'}${process.pid}`;
    const plane = new XdpPlane(name, kind);
    try {
      if (kind === 'XDP_DRV') {
        // Native XDP_TX into a veth needs the receiving peer's NAPI: an XDP program on the peer.
        const pass = new URL('../../../bpf/pass.bpf.o', import.meta.url).pathname;
        await must('ip', [
          '-n',
          lab.client,
          'link',
          'set',
          'dev',
          'eth0',
          'xdpdrv',
          'obj',
          pass,
          'sec',
          'xdp',
        ]);
      }
      // The lab's namespaces come with IPv6 off; the client needs it to solicit.
      for (const key of ['all', 'eth0']) {
        await must('ip', [
          'netns',
          'exec',
          lab.client,
          'sysctl',
          '-qw',
          `net.ipv6.conf.${key}.disable_ipv6=0`,
        ]);
      }
      await must('ip', ['-n', lab.client, '-6', 'addr', 'add', 'fd77::1/64', 'dev', 'eth0', 'nodad']);
      const base = labConfig(lab, name, [{ id: 7, mac: lab.serverMac }]);
      const cfg = {
        ...base,
        type: kind,
        services: [{ name: 'web6', vip: VIP6, backend: { pool: [{ id: 8, mac: lab.serverMac }] } }],
      };
      await inNetns(lab.lb, () => drive(plane).apply(cfg, lab.ports));
      // Any packet to the VIP makes the client solicit it first; the echo itself is not what is checked.
      await must('ip', ['netns', 'exec', lab.client, 'ping', '-6', '-c', '1', '-W', '1', VIP6]).catch(
        () => '',
      );
      await mustWaitFor(
        'the client learns the VIP at the frontend MAC',
        async () => (await must('ip', ['-n', lab.client, '-6', 'neigh', 'show', VIP6])).includes(FE_MAC),
        { timeoutMs: 10_000 },
      );
    } finally {
      await inNetns(lab.lb, () => plane.close()).catch(() => {});
      await lab.destroy();
    }
  });
}
