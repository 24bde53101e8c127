// POST .../frontend/announce for IPv6 VIPs (root: a veth pair): a dual-stack frontend announces its IPv4
// VIP by gratuitous ARP and its vip6 by an unsolicited Neighbor Advertisement (docs/semantics.md 6b:
// 86 bytes to all nodes, Override only, the frontend MAC as target link-layer address), and the answer
// names both; an IPv6-only frontend announces its VIP by NA. Read on the other end of the pair.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { RawSocket } from '../../src/kernel/afpacket.js';
import { IfProber } from '../../src/kernel/ifinfo.js';
import { garpFrame, toHex } from '../../src/packet/build.js';
import { unsolicitedNaFrame } from '../../src/packet/build6.js';
import { mustWaitFor } from '../../testkit/timing.js';
import { appWithPlanes, ip, needRoot, RecordingPlane, restCaller, tempDir } from './helpers.js';

const skip = needRoot();
const MAC = 'aa:bb:cc:dd:ee:61';
const A = `an6a${process.pid % 100000}`;
const B = `an6b${process.pid % 100000}`;

describe('frontend announce of IPv6 VIPs: unsolicited Neighbor Advertisements', { skip }, () => {
  let app: FastifyInstance;
  let state: ReturnType<typeof tempDir>;
  let sock: RawSocket;
  const { call, ok } = restCaller(
    () => app,
    () => state.dir,
  );

  /** The frames seen on B until `want` (hex) are all there (any order; others ignored). */
  async function seen(want: string[]): Promise<void> {
    const got = new Set<string>();
    await mustWaitFor(`frames ${want.length} announced on ${B}`, async () => {
      for (let f = sock.recvNow(); f; f = sock.recvNow()) got.add(toHex(f));
      return want.every((w) => got.has(w));
    });
  }

  before(async () => {
    if (skip) return;
    ip(['link', 'add', A, 'type', 'veth', 'peer', 'name', B]);
    ip(['link', 'set', A, 'up']);
    ip(['link', 'set', B, 'up']);
    const p = new IfProber();
    try {
      sock = new RawSocket(p.get(B)!.ifindex, { receive: true });
    } finally {
      p.close();
    }
    state = tempDir('announce6');
    app = await appWithPlanes(state.dir, async (kind) => new RecordingPlane(kind));
    await ok('POST', '/lb1/', {
      ports: [
        { name: 'fp', type: 'FRONTEND', peer: A },
        { name: 'bp', type: 'BACKEND', peer: A },
      ],
      frontend: { vip: '10.0.0.100', vip6: 'fd00::61', mac: MAC },
      backend: { pool: [{ id: 1, mac: '02:00:00:00:00:01' }] },
    });
  });
  after(async () => {
    sock?.close();
    await app?.close();
    state?.cleanup();
    if (!skip) ip(['link', 'del', A]);
  });

  test('a dual-stack frontend: gratuitous ARP for the IPv4 VIP and an NA for vip6, both named', async () => {
    const r = await call('POST', '/lb1/frontend/announce/', { count: 1 });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body, {
      vip: '10.0.0.100',
      vip6: 'fd00::61',
      mac: MAC,
      interface: A,
      count: 1,
      intervalMs: 1000,
    });
    await seen([toHex(garpFrame(MAC, '10.0.0.100')), toHex(unsolicitedNaFrame(MAC, 'fd00::61'))]);
  });

  test('an IPv6-only frontend announces its VIP by NA', async () => {
    await ok('PUT', '/lb1/frontend/', { vip: 'fd00::62', mac: MAC });
    const r = await call('POST', '/lb1/frontend/announce/', { count: 1 });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.vip, 'fd00::62');
    assert.equal(r.body.vip6, undefined);
    await seen([toHex(unsolicitedNaFrame(MAC, 'fd00::62'))]);
  });
});
