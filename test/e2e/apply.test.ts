// Declarative configuration across nodes (docs/scale-out.md), for each plane type: two balancer nodes,
// each a namespace with its own lbdsrd (listening on a management link between them, with a token) and
// its own FRONTEND/BACKEND veths. The same file applied to both (`lbdsrctl apply --url A --url B`)
// gives byte-identical Maglev tables as the planes hold them (`GET .../services/{svc}/maglev`; under
// XDP read from the kernel's maps), although node B had another pool before (other slots); a change on
// one node only makes them differ; applying the file again brings them back, and only on that node.
// The tables of the same file are the same whatever the plane type.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Daemon } from '../../testkit/daemon.js';
import { must, run } from '../../testkit/exec.js';
import { addNamespace, cleanup, newPrefix, track } from '../../testkit/netns.js';
import { LBDSRCTL } from '../../testkit/paths.js';
import { E2E_TYPES, skipReason } from './env.js';

const skip = skipReason();
const T = { timeout: 120_000 };
const TOKEN = 'apply-e2e-token-0123456789abcdefghijklmnopqrstuvwxyz';

interface MaglevView {
  plane: string;
  size: number;
  empty: number;
  backends: { id: number; entries: number }[];
  sha256: string;
  sha256_slots: string;
  entries?: (number | null)[];
}

const mac = (id: number) => `02:00:00:00:00:${id.toString(16).padStart(2, '0')}`;
const pool = (ids: number[], indent: string, weights: Record<number, number> = {}) =>
  ids
    .map(
      (id) =>
        `${indent}- id: ${id}\n${indent}  mac: ${mac(id)}${weights[id] ? `\n${indent}  weight: ${weights[id]}` : ''}`,
    )
    .join('\n');

const cluster = (type: string, ids: number[]) => `instances:
  - name: lb1
    type: ${type}
    ports:
      - name: fe
        type: FRONTEND
        peer: fe
      - name: be
        type: BACKEND
        peer: be
    frontend:
      vip: 10.0.0.100
      mac: aa:bb:cc:dd:ee:01
    backend:
      pool:
${pool(ids, '        ', { 3: 50 })}
    services:
      - name: web
        vip: 10.0.0.101
        protocol: TCP
        port: 80
        backend:
          pool:
${pool([7, 8], '            ')}
`;

/** sha256 by service, of the USERSPACE run: the XDP run must give the same tables. */
const byType = new Map<string, Map<string, string>>();

for (const type of E2E_TYPES) {
  describe(`apply to two nodes: identical Maglev tables, type=${type}`, { skip }, () => {
    const prefix = newPrefix('ap');
    const ns = [`${prefix}n0`, `${prefix}n1`];
    const ip = [`10.99.0.1`, `10.99.0.2`];
    const daemons: Daemon[] = [];
    let dir = '';
    const url = (i: number) => `http://${ip[i]}:9000`;
    const env = { ...process.env, LBDSR_TOKEN: TOKEN };

    /** lbdsrctl run in node 0's namespace (it reaches both daemons over the management link). */
    const ctl = async (...args: string[]) => {
      const r = await run('ip', ['netns', 'exec', ns[0]!, process.execPath, LBDSRCTL, ...args], {
        env,
        timeoutMs: 60_000,
      });
      assert.equal(r.code, 0, `lbdsrctl ${args.join(' ')}: ${r.stdout}${r.stderr}`);
      return r.stdout;
    };
    const applyTo = (file: string, nodes: number[]) =>
      ctl('apply', '-f', file, ...nodes.flatMap((i) => ['--url', url(i)]));
    const file = (name: string, text: string) => {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    };
    const maglev = async (i: number, svc: string, entries = false): Promise<MaglevView> => {
      const out = await must('ip', [
        ...['netns', 'exec', ns[0]!, 'curl', '-sf', '-H', `authorization: Bearer ${TOKEN}`],
        `${url(i)}/polycube/v1/lbdsr/lb1/services/${svc}/maglev${entries ? '?entries=true' : ''}`,
      ]);
      return JSON.parse(out) as MaglevView;
    };

    before(async () => {
      track(prefix);
      dir = mkdtempSync(join(tmpdir(), 'lbdsr-apply-'));
      const tokenFile = join(dir, 'token');
      writeFileSync(tokenFile, TOKEN, { mode: 0o600 });
      for (const n of ns) {
        await addNamespace(n);
        for (const [a, b] of [
          ['fe', 'fep'],
          ['be', 'bep'],
        ] as const) {
          await must('ip', ['-n', n, 'link', 'add', a, 'type', 'veth', 'peer', 'name', b]);
          await must('ip', ['-n', n, 'link', 'set', a, 'up']);
          await must('ip', ['-n', n, 'link', 'set', b, 'up']);
        }
      }
      // the management link between the nodes: lbdsrctl in node 0 reaches both daemons
      await must('ip', ['-n', ns[0]!, 'link', 'add', 'mgmt', 'type', 'veth', 'peer', 'name', 'mgmt1']);
      await must('ip', ['-n', ns[0]!, 'link', 'set', 'mgmt1', 'netns', ns[1]!]);
      await must('ip', ['-n', ns[1]!, 'link', 'set', 'mgmt1', 'name', 'mgmt']);
      for (const [i, n] of ns.entries()) {
        await must('ip', ['-n', n, 'addr', 'add', `${ip[i]}/24`, 'dev', 'mgmt']);
        await must('ip', ['-n', n, 'link', 'set', 'mgmt', 'up']);
      }
      const prev = process.env.LBDSR_TOKEN;
      process.env.LBDSR_TOKEN = TOKEN; // the launcher's readiness check runs lbdsrctl
      try {
        for (const [i, n] of ns.entries()) {
          const d = new Daemon({
            ns: n,
            listen: `${ip[i]}:9000`,
            logLevel: 'warn',
            args: ['--token-file', tokenFile],
          });
          daemons.push(d);
          await d.start();
        }
      } finally {
        if (prev === undefined) delete process.env.LBDSR_TOKEN;
        else process.env.LBDSR_TOKEN = prev;
      }
    }, T);

    after(async () => {
      for (const d of daemons) await d.dispose();
      await cleanup(prefix);
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it(
      'the same file gives both nodes the same tables; a change on one node only is undone by applying again',
      T,
      async () => {
        // node 1 had another pool first: its backends hold other slots than node 0's
        await applyTo(file('before.yaml', cluster(type, [9, 4])), [1]);
        const path = file('cluster.yaml', cluster(type, [1, 2, 3, 4]));
        const out = await applyTo(path, [0, 1]);
        assert.match(out, new RegExp(`${url(0)}:\\n  lb1: created`), out);
        assert.match(out, new RegExp(`${url(1)}:\\n  lb1: changed: \\d+ Maglev entries move`), out);

        const tables = new Map<string, string>();
        for (const svc of ['default', 'web']) {
          const [a, b] = [await maglev(0, svc), await maglev(1, svc)];
          assert.equal(a.plane, type);
          assert.equal(b.plane, type);
          assert.equal(a.size, 65_537);
          assert.equal(a.empty, 0);
          assert.equal(a.sha256, b.sha256, `${svc}: ${JSON.stringify([a, b])}`);
          assert.deepEqual(a.backends, b.backends);
          tables.set(svc, a.sha256);
        }
        const d = await maglev(0, 'default', true);
        assert.deepEqual(
          d.backends.map((x) => x.id),
          [1, 2, 3, 4],
        );
        // weight 50 for backend 3: about half the share of the others (1/7 of the table against 2/7)
        const share = (id: number) => (d.backends.find((x) => x.id === id)?.entries ?? 0) / 65_537;
        assert.ok(
          Math.abs(share(3) - 1 / 7) < 0.02 && Math.abs(share(1) - 2 / 7) < 0.02,
          JSON.stringify(d.backends),
        );
        assert.equal(d.entries?.length, 65_537);
        assert.equal(d.entries?.filter((e) => e === 3).length, d.backends.find((x) => x.id === 3)?.entries);
        // the same file, the same tables, whatever the plane
        const first = byType.values().next().value;
        if (first) assert.deepEqual(tables, first, 'tables differ between plane types');
        byType.set(type, tables);

        // a change on node 0 only: its default table differs from node 1's; web's does not
        await ctl('--url', url(0), 'lbdsr', 'lb1', 'backend', 'pool', '2', 'set', 'weight=30');
        assert.notEqual((await maglev(0, 'default')).sha256, (await maglev(1, 'default')).sha256);
        assert.equal((await maglev(0, 'web')).sha256, (await maglev(1, 'web')).sha256);

        // the file again: node 0 is changed back, node 1 unchanged, and the tables agree again
        const again = await applyTo(path, [0, 1]);
        assert.match(again, new RegExp(`${url(0)}:\\n  lb1: changed: \\d+ Maglev entries move`), again);
        assert.match(again, new RegExp(`${url(1)}:\\n  lb1: unchanged`), again);
        for (const svc of ['default', 'web']) {
          const [a, b] = [await maglev(0, svc), await maglev(1, svc)];
          assert.equal(a.sha256, b.sha256, svc);
          assert.equal(a.sha256, tables.get(svc), svc);
        }
        assert.match(await applyTo(path, [0, 1]), /^ {2}lb1: unchanged\n[\s\S]*^ {2}lb1: unchanged$/m);
      },
    );
  });
}
