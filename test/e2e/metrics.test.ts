// GET /metrics, the rates of `stats show` and the event log of a real lbdsrd (in the balancer's
// namespace of a line topology) after real frames, for each data-plane type in LBDSR_E2E_TYPES
// (default "USERSPACE,XDP_SKB"): the counters of the scrape are the frames the client sent, per port
// frames and bytes each way (in the scrape and in `stats show`), promtool accepts the scrape, the 60 s
// rates turn non-zero, the event log shows the plane attached. Two services (default and web) split
// the flows; the client also asks for the VIP's MAC (ARP replies leave the frontend port); the
// backend side sends ARP (passed to the host) and IP (dropped) frames into the backend port, which XDP
// counts (USERSPACE reads none of them).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RawSocket } from '../../src/kernel/afpacket.js';
import { IfProber, inNetns } from '../../src/kernel/ifinfo.js';
import { arpRequestFrame, ETH_P_IPV4, ethernet, ipv4, padTo, udp } from '../../src/packet/build.js';
import { Daemon } from '../../testkit/daemon.js';
import { makeTopo, type Topo } from '../../testkit/line.js';
import { mustWaitFor, waitFor } from '../../testkit/timing.js';
import { promtool } from '../lib/promtool.js';
import { E2E_TYPES, skipReason } from './env.js';

const skip = skipReason();
const TYPES = E2E_TYPES;
const VIP = '10.0.0.100';
const WEB_VIP = '10.0.0.101';
const FE_MAC = '02:fe:00:00:00:01';
const CLIENT_MAC = '02:c1:00:00:00:01';
const FLOWS = 4;
const PER_FLOW = 5;
const NOT_VIP = 3;
/** Flows to the service web (UDP port 5000 of WEB_VIP). */
const WEB_FLOWS = 2;
/** Frames the backend side sends into the backend port: ARP requests (passed), IP frames (dropped). */
const BP_ARP = 2;
const BP_IP = 3;
const BK_MAC = '02:b0:00:00:00:09';
/** ARP requests of the client for the VIP (each answered out of the frontend port). */
const ARP_Q = 2;

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
    let backendSide: RawSocket | undefined;
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
      await ctl('lbdsr', 'lb1', 'services', 'add', 'web', `vip=${WEB_VIP}`, 'protocol=UDP', 'port=5000');
      await ctl('lbdsr', 'lb1', 'services', 'web', 'backend', 'pool', 'add', '3', 'mac=02:b0:00:00:00:03');
      client = sender(t.cl, t.clIf);
      backendSide = sender(t.bk, t.bkIf);
    });

    after(async () => {
      try {
        client?.close();
        backendSide?.close();
        await d?.dispose();
      } finally {
        t?.destroy();
      }
    });

    it('counts the frames sent, by port (frames and bytes), reason, session, service and backend; promtool accepts it', async (ctx) => {
      const arpQuery = arpRequestFrame({ senderMac: CLIENT_MAC, senderIp: '10.0.0.1', targetIp: VIP });
      for (let i = 0; i < ARP_Q; i++) client!.send(arpQuery);
      for (let f = 0; f < FLOWS; f++)
        for (let i = 0; i < PER_FLOW; i++) client!.send(udpFrame(40000 + f, VIP));
      for (let f = 0; f < WEB_FLOWS; f++)
        for (let i = 0; i < PER_FLOW; i++) client!.send(udpFrame(42000 + f, WEB_VIP));
      for (let i = 0; i < NOT_VIP; i++) client!.send(udpFrame(41000, '10.0.0.99'));
      const bpArp = arpRequestFrame({ senderMac: BK_MAC, senderIp: '10.0.0.21', targetIp: '10.0.0.1' });
      for (let i = 0; i < BP_ARP; i++) backendSide!.send(bpArp);
      for (let i = 0; i < BP_IP; i++) backendSide!.send(udpFrame(43000, VIP));
      const forwarded = (FLOWS + WEB_FLOWS) * PER_FLOW;
      const sent = forwarded + NOT_VIP + ARP_Q;
      // the bytes of each frame (an ARP reply is its request rewritten in place: the same length)
      const udpLen = udpFrame(40000, VIP).length;
      const bytesIn = (forwarded + NOT_VIP) * udpLen + ARP_Q * arpQuery.length;
      // USERSPACE reads no frame of the backend port (the kernel has them all): it counts none
      const seesBackendPort = type !== 'USERSPACE';
      const bp = seesBackendPort ? BP_ARP + BP_IP : 0;
      // stats show walks the table itself; the first scrape after it makes the metrics' own walk
      let last: unknown;
      const counted = await waitFor(
        async () => {
          last = await stats();
          return (last as { rx: { packets: number } }).rx.packets >= sent + bp;
        },
        { timeoutMs: 15_000 },
      );
      assert.ok(counted, `the frames to be counted: ${JSON.stringify(last)}`);
      // the live sessions per service come from the runtime's walk, refreshed every few seconds
      let text = '';
      await mustWaitFor(
        'the live sessions of each service',
        async () => {
          text = await scrape();
          return sum(text, 'lbdsr_service_sessions', 'service="default"') === FLOWS;
        },
        { timeoutMs: 15_000 },
      );
      const lb = 'lb="lb1"';
      const web = `${lb},service="web"`;
      const dflt = `${lb},service="default"`;
      assert.equal(sum(text, 'lbdsr_plane_info', `plane="${type}"`), 1, text);
      assert.equal(sum(text, 'lbdsr_port_received_frames_total', `${lb},port="frontend"`), sent);
      // per port, frames and bytes each way
      const fe = `${lb},port="frontend"`;
      const be = `${lb},port="backend"`;
      assert.equal(sum(text, 'lbdsr_port_received_bytes_total', fe), bytesIn);
      assert.equal(sum(text, 'lbdsr_port_sent_frames_total', fe), ARP_Q);
      assert.equal(sum(text, 'lbdsr_port_sent_bytes_total', fe), ARP_Q * arpQuery.length);
      assert.equal(sum(text, 'lbdsr_port_sent_bytes_total', be), forwarded * udpLen);
      assert.equal(sum(text, 'lbdsr_arp_replies_total', lb), ARP_Q);
      const bpBytes = BP_ARP * bpArp.length + BP_IP * udpLen;
      if (seesBackendPort) {
        assert.equal(sum(text, 'lbdsr_port_received_frames_total', be), bp);
        assert.equal(sum(text, 'lbdsr_port_received_bytes_total', be), bpBytes);
      } else {
        // USERSPACE reads no frame of the backend port: no series rather than a 0
        assert.ok(!text.includes(`lbdsr_port_received_frames_total{${be}}`), text);
        assert.ok(!text.includes(`lbdsr_port_received_bytes_total{${be}}`), text);
      }
      // stats show: the same figures
      const st = await stats();
      assert.deepEqual(st.rx.frontend, { packets: sent, bytes: bytesIn });
      assert.deepEqual(st.rx.backend, seesBackendPort ? { packets: bp, bytes: bpBytes } : undefined);
      assert.equal(st.tx.frontendBytes, ARP_Q * arpQuery.length);
      assert.equal(st.tx.backendBytes, forwarded * udpLen);
      const shown = await ctl('lbdsr', 'lb1', 'stats', 'show');
      assert.match(shown, new RegExp(`^ {2}frontendBytes: +${ARP_Q * arpQuery.length}$`, 'm'));
      assert.match(shown, new RegExp(`^ {2}backendBytes: +${forwarded * udpLen}$`, 'm'));
      assert.equal(
        sum(text, 'lbdsr_port_passed_frames_total', `${lb},port="backend"`),
        seesBackendPort ? BP_ARP : 0,
      );
      assert.equal(sum(text, 'lbdsr_port_sent_frames_total', `${lb},port="backend"`), forwarded);
      assert.equal(sum(text, 'lbdsr_dropped_frames_total', `${lb},reason="NOT_VIP"`), NOT_VIP);
      const bpDropped = seesBackendPort ? BP_IP : 0;
      assert.equal(sum(text, 'lbdsr_dropped_frames_total', `${lb},reason="BACKEND_PORT"`), bpDropped);
      assert.equal(sum(text, 'lbdsr_dropped_frames_total', lb), NOT_VIP + bpDropped, 'no other drop');
      assert.equal(sum(text, 'lbdsr_session_misses_total', lb), FLOWS + WEB_FLOWS);
      assert.equal(sum(text, 'lbdsr_session_hits_total', lb), (FLOWS + WEB_FLOWS) * (PER_FLOW - 1));
      assert.equal(sum(text, 'lbdsr_sessions_active', lb), FLOWS + WEB_FLOWS);
      assert.equal(sum(text, 'lbdsr_backend_sent_frames_total', lb), forwarded);
      assert.equal(sum(text, 'lbdsr_backend_sessions_created_total', lb), FLOWS + WEB_FLOWS);
      assert.equal(sum(text, 'lbdsr_backend_sent_frames_total', `${web},backend="3"`), WEB_FLOWS * PER_FLOW);
      const backendBytes = sum(text, 'lbdsr_backend_sent_bytes_total', lb);
      assert.ok(backendBytes >= forwarded * 60);
      assert.equal(sum(text, 'lbdsr_port_sent_bytes_total', `${lb},port="backend"`), backendBytes);
      assert.equal(sum(text, 'lbdsr_backend_up', lb), 3);
      assert.ok(sum(text, 'lbdsr_received_bytes_total', lb) >= (sent + bp) * 60);
      // per service
      assert.equal(sum(text, 'lbdsr_service_backends', dflt), 2);
      assert.equal(sum(text, 'lbdsr_service_backends_serving', dflt), 2);
      assert.equal(sum(text, 'lbdsr_service_backends_serving', web), 1);
      assert.equal(sum(text, 'lbdsr_service_sent_frames_total', dflt), FLOWS * PER_FLOW);
      assert.equal(sum(text, 'lbdsr_service_sent_frames_total', web), WEB_FLOWS * PER_FLOW);
      assert.equal(
        sum(text, 'lbdsr_service_sent_bytes_total', web),
        sum(text, 'lbdsr_backend_sent_bytes_total', `${web},backend="3"`),
      );
      assert.equal(sum(text, 'lbdsr_service_sessions_created_total', web), WEB_FLOWS);
      assert.equal(sum(text, 'lbdsr_service_sessions', web), WEB_FLOWS);
      // the RX ring drops of the USERSPACE plane (none at this rate); XDP has no ring
      const ring = `lbdsr_plane_rx_ring_dropped_frames_total{${lb}} 0`;
      assert.equal(text.split('\n').includes(ring), type === 'USERSPACE', ring);
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
      assert.ok(rates.last60s.ports.frontend.rxBytesPerSec > 0);
      assert.ok(rates.last60s.ports.frontend.txBytesPerSec > 0, 'the ARP replies');
      if (type === 'USERSPACE') assert.equal(rates.last60s.ports.backend.rxBytesPerSec, undefined);
      else assert.ok(rates.last60s.ports.backend.rxBytesPerSec > 0);
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
        [
          '',
          'ports/fp',
          'ports/bp',
          'frontend',
          'backend/pool/1',
          'backend/pool/2',
          'services/web',
          'services/web/backend/pool/3',
        ],
      );
    });
  });
}
