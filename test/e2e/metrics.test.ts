// GET /metrics, the rates of `stats show` and the event log of a real lbdsrd (in the balancer's
// namespace of a line topology) after real frames, for each data-plane type in LBDSR_E2E_TYPES
// (default "USERSPACE,XDP_SKB"): the counters of the scrape are the frames the client sent, promtool
// accepts the scrape, the 60 s rates turn non-zero, the event log shows the plane attached.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RawSocket } from '../../src/kernel/afpacket.js';
import { IfProber, inNetns } from '../../src/kernel/ifinfo.js';
import { ETH_P_IPV4, ethernet, ipv4, padTo, udp } from '../../src/packet/build.js';
import { Daemon } from '../../testkit/daemon.js';
import { makeTopo, type Topo } from '../../testkit/line.js';
import { mustWaitFor } from '../../testkit/timing.js';
import { promtool } from '../lib/promtool.js';
import { E2E_TYPES, skipReason } from './env.js';

const skip = skipReason();
const TYPES = E2E_TYPES;
const VIP = '10.0.0.100';
const FE_MAC = '02:fe:00:00:00:01';
const CLIENT_MAC = '02:c1:00:00:00:01';
const FLOWS = 4;
const PER_FLOW = 5;
const NOT_VIP = 3;

function udpFrame(sport: number, dst: string): Uint8Array {
  const seg = udp({ sport, dport: 5000, payload: new Uint8Array(32), pseudo: { src: '10.0.0.1', dst } });
  return padTo(
    ethernet({
      dst: FE_MAC,
      src: CLIENT_MAC,
      type: ETH_P_IPV4,
      payload: ipv4({ src: '10.0.0.1', dst, proto: 17, payload: seg }),
    }),
  );
}

function sender(ns: string, ifname: string): RawSocket {
  return inNetns(ns, () => {
    const p = new IfProber();
    try {
      const info = p.get(ifname);
      if (!info) throw new Error(`${ifname} not found in ${ns}`);
      return new RawSocket(info.ifindex, { receive: false });
    } finally {
      p.close();
    }
  });
}

/** Sum of the values of the series of `metric` whose labels include `labels`. */
function sum(scrape: string, metric: string, labels = ''): number {
  let total = 0;
  for (const line of scrape.split('\n')) {
    if (!line.startsWith(`${metric}{`) || !line.includes(labels)) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

for (const type of TYPES) {
  describe(`metrics after real frames, type=${type}`, { skip, timeout: 120_000 }, () => {
    let t: Topo | undefined;
    let d: Daemon | undefined;
    let client: RawSocket | undefined;
    const ctl = (...args: string[]) => d!.mustCtl(...args);
    const scrape = async () => {
      const r = await d!.shell('curl -sf http://127.0.0.1:9000/metrics');
      assert.equal(r.code, 0, `curl: ${r.stderr}`);
      return r.stdout;
    };
    const stats = async () => JSON.parse(await ctl('lbdsr', 'lb1', 'stats', 'show', '-json'));

    before(async () => {
      t = makeTopo('mx');
      d = new Daemon({ ns: t.lb, logLevel: 'warn' });
      await d.start();
      await ctl('lbdsr', 'add', 'lb1', `type=${type}`);
      await ctl('lbdsr', 'lb1', 'ports', 'add', 'fp', 'type=FRONTEND', `peer=${t.fe}`);
      await ctl('lbdsr', 'lb1', 'ports', 'add', 'bp', 'type=BACKEND', `peer=${t.be}`);
      await ctl('lbdsr', 'lb1', 'frontend', 'set', `mac=${FE_MAC}`, `vip=${VIP}`);
      await ctl('lbdsr', 'lb1', 'backend', 'pool', 'add', '1', 'mac=02:b0:00:00:00:01');
      await ctl('lbdsr', 'lb1', 'backend', 'pool', 'add', '2', 'mac=02:b0:00:00:00:02');
      client = sender(t.cl, t.clIf);
    });

    after(async () => {
      try {
        client?.close();
        await d?.dispose();
      } finally {
        t?.destroy();
      }
    });

    it('counts the frames sent, by port, reason, session and backend; promtool accepts it', async (ctx) => {
      for (let f = 0; f < FLOWS; f++)
        for (let i = 0; i < PER_FLOW; i++) client!.send(udpFrame(40000 + f, VIP));
      for (let i = 0; i < NOT_VIP; i++) client!.send(udpFrame(41000, '10.0.0.99'));
      const sent = FLOWS * PER_FLOW + NOT_VIP;
      // stats show walks the table itself; the first scrape after it makes the metrics' own walk
      await mustWaitFor('the frames to be counted', async () => (await stats()).rx.packets >= sent, {
        timeoutMs: 15_000,
      });
      const text = await scrape();
      const lb = 'lb="lb1"';
      assert.equal(sum(text, 'lbdsr_plane_info', `plane="${type}"`), 1, text);
      assert.equal(sum(text, 'lbdsr_port_received_frames_total', `${lb},port="frontend"`), sent);
      assert.equal(sum(text, 'lbdsr_port_received_frames_total', `${lb},port="backend"`), 0);
      assert.equal(sum(text, 'lbdsr_port_sent_frames_total', `${lb},port="backend"`), FLOWS * PER_FLOW);
      assert.equal(sum(text, 'lbdsr_dropped_frames_total', `${lb},reason="NOT_VIP"`), NOT_VIP);
      assert.equal(sum(text, 'lbdsr_dropped_frames_total', lb), NOT_VIP, 'no other drop');
      assert.equal(sum(text, 'lbdsr_session_misses_total', lb), FLOWS);
      assert.equal(sum(text, 'lbdsr_session_hits_total', lb), FLOWS * (PER_FLOW - 1));
      assert.equal(sum(text, 'lbdsr_sessions_active', lb), FLOWS);
      assert.equal(sum(text, 'lbdsr_backend_sent_frames_total', lb), FLOWS * PER_FLOW);
      assert.equal(sum(text, 'lbdsr_backend_sessions_created_total', lb), FLOWS);
      assert.ok(sum(text, 'lbdsr_backend_sent_bytes_total', lb) >= FLOWS * PER_FLOW * 60);
      assert.equal(sum(text, 'lbdsr_backend_up', lb), 2);
      assert.ok(sum(text, 'lbdsr_received_bytes_total', lb) >= sent * 60);
      const check = promtool(['check', 'metrics'], text);
      if (check.code === -1) ctx.diagnostic(`promtool check metrics skipped: ${check.out}`);
      else assert.equal(check.code, 0, check.out);
    });

    it('stats show gains non-zero rates over the last 60 s', async () => {
      await mustWaitFor(
        'a non-zero 60 s rate',
        async () => (await stats()).rates.last60s.ports.frontend.rxFramesPerSec > 0,
        { timeoutMs: 15_000 },
      );
      const { rates } = await stats();
      assert.ok(rates.last60s.ports.backend.txFramesPerSec > 0);
      const perBackend = rates.last60s.backends.reduce(
        (a: number, b: { framesPerSec: number }) => a + b.framesPerSec,
        0,
      );
      assert.ok(perBackend > 0, JSON.stringify(rates.last60s));
      assert.ok(rates.last60s.ports.backend.txBytesPerSec > 0);
    });

    it('the event log shows the configuration changes and the plane attached', async () => {
      const events = JSON.parse(await ctl('lbdsr', 'lb1', 'events', 'show', '-json')) as Array<{
        origin: string;
        type: string;
        plane?: string;
        resource?: string;
      }>;
      assert.ok(
        events.some((e) => e.origin === 'plane' && e.type === 'attached' && e.plane === type),
        JSON.stringify(events),
      );
      assert.deepEqual(
        events.filter((e) => e.origin === 'api').map((e) => e.resource),
        ['', 'ports/fp', 'ports/bp', 'frontend', 'backend/pool/1', 'backend/pool/2'],
      );
    });
  });
}
