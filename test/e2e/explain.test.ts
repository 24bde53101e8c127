// Issue 11, "Explain one flow", end to end: lbdsrd in the balancer's namespace explains flows through
// REST and lbdsrctl; the backend it names is the one the real frame then reaches (captured on the
// server's side with its MAC), and explaining moves no counter and no session. Run for each plane.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { BPFFS_ROOT } from '../../src/kernel/bpffs.js';
import { tcpFrame } from '../../src/packet/build.js';
import type { ExplainRequest, ExplainResult } from '../../src/pipeline/explain.js';
import { Daemon } from '../../testkit/daemon.js';
import { macOf } from '../../testkit/netns.js';
import { rawIn } from '../../testkit/raw.js';
import { sleep } from '../../testkit/timing.js';
import { buildLab, type Lab } from '../xdp/netns.js';
import { skipReason } from './env.js';

const skip = skipReason();
const FE_MAC = 'aa:bb:cc:dd:ee:0a';
const OTHER_MAC = '02:77:00:00:00:02';
const TYPES = ['USERSPACE', 'XDP_SKB'];

async function api(d: Daemon, method: string, path: string, body?: unknown): Promise<unknown> {
  const data = body === undefined ? '' : `-H 'content-type: application/json' -d '${JSON.stringify(body)}'`;
  const r = await d.shell(`curl -sS -X ${method} ${data} http://${d.listen}/polycube/v1/lbdsr/${path}`);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

/**
 * What a user can read of the instance: its counters and its sessions. The server's own frames on the
 * BACKEND link (its ARP requests) move the XDP plane's counters of that port (rule 1) meanwhile: the
 * rx counters are judged as the FRONTEND's (rx packets less those of the BACKEND port); the kernel's
 * every counter is judged in test/xdp/explain.test.ts.
 */
async function observable(d: Daemon, name: string): Promise<string> {
  const stats = (await api(d, 'GET', `${name}/stats/`)) as Record<string, unknown> & {
    rx: { packets: number; bytes?: number; backend?: unknown };
    backendPass?: number;
    drops: Record<string, number>;
  };
  delete stats.rates; // rates move with time, not with frames
  stats.rx.packets -= (stats.backendPass ?? 0) + (stats.drops.BACKEND_PORT ?? 0);
  delete stats.rx.bytes;
  delete stats.rx.backend; // the BACKEND port's own figures (rx.frontend stays)
  delete stats.backendPass;
  delete stats.drops.BACKEND_PORT;
  const sessions = (await api(d, 'GET', `${name}/sessions/`)) as { entries: { idleMs: number }[] };
  return JSON.stringify({ stats, sessions: sessions.entries.map((e) => ({ ...e, idleMs: 0 })) });
}

/** Frames reaching the server's eth0 (any destination MAC) that carry TCP source port `sport`. */
async function arrivals(lab: Lab, send: () => void, sport: number): Promise<Uint8Array[]> {
  const sock = rawIn(lab.server, 'eth0', true);
  try {
    send();
    const out: Uint8Array[] = [];
    const end = Date.now() + 3000;
    while (Date.now() < end && out.length === 0) {
      for (let f = sock.recvNow(); f; f = sock.recvNow()) {
        if (f.length >= 38 && f[23] === 6 && ((f[34]! << 8) | f[35]!) === sport) out.push(f);
      }
      await sleep(5);
    }
    return out;
  } finally {
    sock.close();
  }
}

const mac = (f: Uint8Array, off: number) =>
  Array.from(f.subarray(off, off + 6), (x) => x.toString(16).padStart(2, '0')).join(':');

for (const type of TYPES) {
  test(`${type}: explain names the backend the real frame then reaches, and changes nothing`, {
    skip,
    timeout: 120_000,
  }, async (t) => {
    const lab = await buildLab();
    const name = `ex${process.pid}`;
    const d = new Daemon({ ns: lab.lb, logLevel: 'warn' });
    const client = rawIn(lab.client, 'eth0', false);
    try {
      await d.start();
      const body = JSON.stringify({
        type,
        ports: [
          { name: 'fp', type: 'FRONTEND', peer: 'fe' },
          { name: 'bp', type: 'BACKEND', peer: 'be' },
        ],
        frontend: { vip: lab.vip, mac: FE_MAC },
        backend: {
          pool: [
            { id: 1, mac: lab.serverMac },
            { id: 2, mac: OTHER_MAC },
          ],
        },
      });
      const r = await d.shell(`echo '${body}' | lbdsrctl lbdsr add ${name}`);
      assert.equal(r.code, 0, r.stderr);
      const clientMac = await macOf(lab.client, 'eth0');
      const explain = (req: ExplainRequest) =>
        api(d, 'POST', `${name}/explain/`, req) as Promise<ExplainResult>;
      const flow = (sport: number): ExplainRequest => ({
        src: lab.clientIp,
        dst: lab.vip,
        proto: 'TCP',
        sport,
        dport: 80,
        flags: 'SYN',
      });

      const seen = new Set<number>();
      for (let sport = 40000; sport < 40008; sport++) {
        const before = await observable(d, name);
        const x = await explain(flow(sport));
        assert.equal(x.plane, type);
        assert.deepEqual(
          [x.verdict, x.rule, x.service?.name, x.session?.verdict],
          ['TX_BACKEND', '11', 'default', 'MISS'],
        );
        assert.ok(x.maglev && x.backend, JSON.stringify(x));
        assert.equal(x.backend.mac, x.backend.id === 1 ? lab.serverMac : OTHER_MAC);
        assert.equal(await observable(d, name), before, 'explain changed a counter or a session');
        seen.add(x.backend.id);

        // the real frame reaches the backend explained, with its MAC
        const frame = tcpFrame(
          { ethDst: FE_MAC, ethSrc: clientMac, src: lab.clientIp, dst: lab.vip },
          { sport, dport: 80, flags: 0x02 },
        );
        const got = await arrivals(lab, () => client.send(frame), sport);
        assert.equal(got.length, 1, `flow ${sport}: no frame on the server's link`);
        assert.equal(mac(got[0]!, 0), x.backend.mac, `flow ${sport} explained to backend ${x.backend.id}`);

        // now a session: explained as a hit on the same backend, with its age
        const y = await explain(flow(sport));
        assert.equal(y.session?.verdict, 'HIT');
        assert.equal(y.session?.backend, x.backend.id);
        assert.ok((y.session?.age_ms ?? -1) >= 0);
        assert.equal(y.backend?.id, x.backend.id);
      }
      t.diagnostic(`backends named: ${[...seen].join(', ')}`);
      assert.equal(seen.size, 2, 'eight flows name both backends');

      // ARP and the CLI's text
      const before = await observable(d, name);
      const arp = await d.mustCtl(
        'lbdsr',
        name,
        'explain',
        'arp',
        `who-has=${lab.vip}`,
        `src=${lab.clientIp}`,
      );
      assert.match(arp, /verdict:\s+TX_FRONTEND\s+\(rule 4/);
      const text = await d.mustCtl(
        'lbdsr',
        name,
        'explain',
        `src=${lab.clientIp}`,
        `dst=${lab.vip}`,
        'proto=tcp',
        'sport=40000',
        'dport=80',
      );
      assert.match(text, /session:\s+HIT backend \d/);
      assert.match(text, /backend:\s+\d of default \(slot \d+\), MAC 02:77/);
      const none = await d.mustCtl(
        'lbdsr',
        name,
        'explain',
        `src=${lab.clientIp}`,
        'dst=10.77.9.9',
        'proto=UDP',
        'sport=1',
        'dport=53',
      );
      assert.match(none, /verdict:\s+DROP NOT_VIP\s+\(rule 7/);
      const icmp = await d.mustCtl(
        'lbdsr',
        name,
        'explain',
        `src=${lab.clientIp}`,
        `dst=${lab.vip}`,
        'proto=ICMP',
        'type=3',
        'code=4',
        'sport=40001',
        'dport=80',
        'from=10.77.0.254',
      );
      assert.match(icmp, /session:\s+HIT/);
      assert.equal(await observable(d, name), before, 'explain changed a counter or a session');
      const json = JSON.parse(
        await d.mustCtl('-json', 'lbdsr', name, 'explain', 'arp', `who-has=${lab.vip}`),
      ) as ExplainResult;
      assert.equal(json.verdict, 'TX_FRONTEND');
    } finally {
      client.close();
      await d.dispose();
      rmSync(`${BPFFS_ROOT}/lbdsr/${name}`, { recursive: true, force: true });
      await lab.destroy();
    }
  });
}
