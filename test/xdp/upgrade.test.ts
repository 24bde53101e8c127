// Upgrading from the release before IPv6 (git 4b10204, whose object is test/fixtures/lbdsr-4b10204.bpf.o:
// `git show 4b10204:bpf/lbdsr.bpf.o`) while a flow runs: that release pinned lbdsr_service at 20 bytes
// (now 36), counters with two drop reasons fewer, and no IPv6 maps. The current plane started over
// its pins must keep the session map itself (the flow keeps its session: one miss in all, every
// other frame a hit), carry the counters, keep the unicast filter entry, and lose no frame while its
// program replaces the old one on the port. What the old daemon left is made here the way it made it:
// the old object loaded on the maps whose layouts did not change (filled by a plane of this release
// first), its own services (the same entries, 20 bytes) and counters, its programs attached and
// everything pinned under the old names, the IPv6 maps' pins absent.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { MAX_SERVICES } from '../../src/core/constants.js';
import { MAP_LAYOUT, MAP_NAMES, type MapKey } from '../../src/dataplane/xdp/maps.js';
import { XdpPlane } from '../../src/dataplane/xdp/plane.js';
import { BPFFS_ROOT, unpin } from '../../src/kernel/bpffs.js';
import { inNetns } from '../../src/kernel/ifinfo.js';
import {
  BpfObject,
  closeFd,
  mapInfo,
  mapLookup,
  mapUpdate,
  objGet,
  objPin,
  progFdById,
  progInfo,
  XDP_FLAGS_SKB_MODE,
  xdpAttach,
  xdpQueryId,
} from '../../src/kernel/libbpf.js';
import { UdpSink } from '../../testkit/udp.js';
import { drive } from '../lib/drive.js';
import { xdpSkipReason } from './env.js';
import { buildLab, type Lab, labConfig } from './netns.js';

const skip = xdpSkipReason();
const OLD_OBJECT = new URL('../../../test/fixtures/lbdsr-4b10204.bpf.o', import.meta.url).pathname;
/** The maps of the old release whose layouts this release kept. */
const SAME: MapKey[] = [
  'vips',
  'ports',
  'maglev',
  'backends',
  'config',
  'sessions',
  'frags',
  'bstats',
  'devmap',
];

/** Turns the pins of `dir` (this release's, idle) into what the pre-IPv6 daemon left running. */
function pinOldRelease(old: BpfObject, dir: string, lab: Lab): void {
  const pinned = (k: string) => objGet(`${dir}/map_${k}`);
  const fds = new Map(SAME.map((k) => [k, pinned(k)]));
  const services = pinned('services');
  try {
    old.setMaxEntries(MAP_NAMES.sessions, mapInfo(fds.get('sessions')!).maxEntries);
    for (const [k, fd] of fds) old.reuseMap(MAP_NAMES[k], fd);
    old.load();
    const oldServices = old.mapFd(MAP_NAMES.services);
    assert.equal(mapInfo(oldServices).valueSize, 20, 'the fixture is the pre-IPv6 object');
    const cur = new Uint8Array(MAP_LAYOUT.services.value);
    for (let i = 0; i < MAX_SERVICES; i++) {
      const key = new Uint8Array(new Uint32Array([i]).buffer);
      if (mapLookup(services, key, cur)) mapUpdate(oldServices, key, cur.subarray(0, 20));
    }
  } finally {
    for (const fd of [...fds.values(), services]) closeFd(fd);
  }
  const progs = { frontend: old.programFd('lbdsr_xdp'), backend: old.programFd('lbdsr_backend') };
  inNetns(lab.lb, () => {
    xdpAttach(lab.ports.frontend!.ifindex, progs.frontend, XDP_FLAGS_SKB_MODE);
    xdpAttach(lab.ports.backend!.ifindex, progs.backend, XDP_FLAGS_SKB_MODE);
  });
  for (const [role, fd] of Object.entries(progs)) {
    unpin(`${dir}/prog_${role}`);
    objPin(fd, `${dir}/prog_${role}`);
  }
  for (const k of ['services', 'counters'] as const) {
    unpin(`${dir}/map_${k}`);
    objPin(old.mapFd(MAP_NAMES[k]), `${dir}/map_${k}`);
  }
  for (const k of ['vips6', 'ports6', 'sessions6', 'frags6']) unpin(`${dir}/map_${k}`);
}

/** One UDP flow from the client to the VIP, a datagram every ~2 ms until stopped; resolves to how many. */
function udpStream(lab: Lab): { stop: () => Promise<number>; sent: () => number } {
  const script =
    "const s=require('dgram').createSocket('udp4');let n=0,stop=false;" +
    "process.stdin.on('data',()=>{stop=true;});" +
    `s.bind(41000,()=>{const go=()=>{if(stop){s.close();process.stdout.write('='+n+'\\n');return;}` +
    `s.send('x',7777,'${lab.vip}',()=>{n++;process.stdout.write('.');setTimeout(go,2);});};go();});`;
  const child = spawn('ip', ['netns', 'exec', lab.client, process.execPath, '-e', script], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  let sent = 0;
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    sent += d.split('.').length - 1;
  });
  const done = new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', () => {
      const m = /=(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
      else reject(new Error('the UDP stream did not report'));
    });
  });
  return {
    sent: () => sent,
    stop: async () => {
      child.stdin.end('stop\n');
      return done;
    },
  };
}

test('upgrade from the pre-IPv6 release: the session map, counters and unicast filter kept, no frame lost', {
  skip,
  timeout: 120_000,
}, async () => {
  const lab = await buildLab();
  const name = `g${process.pid}`;
  const dir = `${BPFFS_ROOT}/lbdsr/${name}`;
  const cfg = labConfig(lab, name, [{ id: 7, mac: lab.serverMac }]);
  const sink = new UdpSink(lab.server, lab.vip);
  const old = BpfObject.openFile(OLD_OBJECT);
  let plane: XdpPlane | undefined;
  let stream: ReturnType<typeof udpStream> | undefined;
  try {
    await sink.start();
    const p1 = new XdpPlane(name, 'XDP_SKB');
    plane = p1;
    await inNetns(lab.lb, () => drive(p1).apply(cfg, lab.ports));
    await p1.close({ keep: true });
    plane = undefined;
    pinOldRelease(old, dir, lab);
    const fe = lab.ports.frontend!.ifindex;
    const oldId = inNetns(lab.lb, () => xdpQueryId(fe, 0));
    const sessionsMap = (() => {
      const fd = objGet(`${dir}/map_sessions`);
      const id = mapInfo(fd).id;
      closeFd(fd);
      return id;
    })();

    // The old release forwards the flow; the upgrade comes in the middle of it.
    const s = udpStream(lab);
    stream = s;
    assert.ok((await sink.waitFor(50, 20_000)) >= 50, 'the old release forwards the flow');
    const p2 = new XdpPlane(name, 'XDP_SKB');
    plane = p2;
    await inNetns(lab.lb, () => drive(p2).apply(cfg, lab.ports));
    const at = s.sent();
    assert.ok((await sink.waitFor(at + 50, 20_000)) >= at + 50, 'the new program forwards the flow');
    stream = undefined;
    const sent = await s.stop();
    const received = await sink.waitFor(sent, 10_000);

    // Everything observed at once, so that a failure shows all that the upgrade lost.
    const nowId = inNetns(lab.lb, () => xdpQueryId(fe, 0));
    const fd = progFdById(nowId);
    const pinnedSessions = objGet(`${dir}/map_sessions`);
    const st = await p2.stats();
    try {
      assert.deepEqual(
        {
          program: nowId !== oldId && progInfo(fd).name,
          framesLost: sent - received,
          sessionMapKept: mapInfo(pinnedSessions).id === sessionsMap,
          sessions: { miss: st.sessions.miss, hit: st.sessions.hit },
          txBackend: st.tx.backend,
          backend7: st.backends.find((b) => b.id === 7)?.packets,
          unicast: p2.unicastFilter().macs,
        },
        {
          program: 'lbdsr_xdp',
          framesLost: 0,
          sessionMapKept: true,
          // one session for the whole flow, counted by both programs
          sessions: { miss: 1, hit: sent - 1 },
          txBackend: sent,
          backend7: sent,
          unicast: ['aa:bb:cc:dd:ee:01'],
        },
      );
    } finally {
      closeFd(fd);
      closeFd(pinnedSessions);
    }
    assert.equal((await p2.sessions(10))[0]?.backend, 7);
  } finally {
    if (stream) await stream.stop().catch(() => 0);
    sink.stop();
    if (plane) {
      const p = plane;
      await inNetns(lab.lb, () => p.close()).catch(() => {});
    }
    old.close();
    rmSync(dir, { recursive: true, force: true });
    await lab.destroy();
  }
});
