// `lbdsrctl apply -f FILE --url A --url B` against two real lbdsrd (bin/lbdsrd on free loopback ports,
// temp state directories; no root, no planes: dry runs plan against the stored configuration). What a
// user sees: -plan changes nothing; apply creates and changes; the same file again says "unchanged"
// and writes nothing; the plan names the Maglev entries that move per backend; a bad file (parse
// error with its line, unknown field, the daemon's refusal of one instance) applies nothing on any
// daemon; instances the file does not name are left alone unless --prune.
import assert from 'node:assert/strict';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request } from '../../src/cli/http.js';
import type { Daemon } from '../../testkit/daemon.js';
import { ctl, startDaemon, tempDir } from './helpers.js';

const FILE = (pool: string, extra = '') => `# two instances, the same on every node
instances:
  - name: lb1
    algorithm: HASH_SESSION
    frontend:
      vip: 10.0.0.100
      mac: aa:bb:cc:dd:ee:ff
    backend:
      pool:
${pool}
    services:
      - name: web
        vip: 10.0.0.101
        protocol: TCP
        port: 80
        backend:
          pool:
            - id: 7
              mac: 02:00:00:00:00:07
  - name: lb2
    loglevel: DEBUG${extra}
`;
const POOL2 = `        - id: 1
          mac: 02:00:00:00:00:01
        - id: 2
          mac: 02:00:00:00:00:02`;
const POOL3 = `${POOL2}
        - id: 3
          mac: 02:00:00:00:00:03`;

describe('lbdsrctl apply', () => {
  let state: ReturnType<typeof tempDir>;
  const daemons: Daemon[] = [];
  const file = (name: string, text: string) => {
    const p = join(state.dir, name);
    writeFileSync(p, text);
    return p;
  };
  const urls = () => daemons.flatMap((d) => ['--url', d.url]);
  const apply = (...args: string[]) => ctl(daemons[0]!.url, ['apply', ...urls(), ...args]);
  const names = (d: Daemon) => {
    const r = ctl(d.url, ['lbdsr', 'show', '-json']);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { name: string }[]).map((i) => i.name).sort();
  };
  const show = (d: Daemon, name: string) => JSON.parse(ctl(d.url, ['lbdsr', name, 'show', '-json']).stdout);
  const configMtime = (i: number) => statSync(join(state.dir, `d${i}`, 'config.json')).mtimeMs;

  before(async () => {
    state = tempDir('apply');
    for (const i of [0, 1]) daemons.push(await startDaemon(join(state.dir, `d${i}`)));
  });
  after(async () => {
    for (const d of daemons) await d.stop();
    state.cleanup();
  });

  test('-plan shows what would be created on each daemon and creates nothing', () => {
    const r = apply('-f', file('c.yaml', FILE(POOL2)), '-plan');
    assert.equal(r.code, 0, r.stderr);
    for (const d of daemons) {
      assert.match(r.stdout, new RegExp(`${d.url}:\\n  lb1: would be created: \\d+ Maglev entries move`));
      assert.deepEqual(names(d), []);
    }
    assert.match(r.stdout, /lb2: would be created/);
    assert.match(r.stdout, /dry run: nothing changed/);
  });

  test('apply creates both instances on both daemons; the same file again is unchanged and writes nothing', () => {
    const path = file('c.yaml', FILE(POOL2));
    const r = apply('-f', path);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /lb1: created/);
    for (const d of daemons) {
      assert.deepEqual(names(d), ['lb1', 'lb2']);
      const lb1 = show(d, 'lb1');
      assert.deepEqual(
        lb1.backend.pool.map((b: { id: number }) => b.id),
        [1, 2],
      );
      assert.equal(lb1.services[0].name, 'web');
      assert.equal(show(d, 'lb2').loglevel, 'DEBUG');
    }
    const before = [configMtime(0), configMtime(1)];
    const again = apply('-f', path);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout.match(/: unchanged$/gm)?.length, 4, again.stdout);
    assert.doesNotMatch(again.stdout, /created|changed:/);
    assert.deepEqual([configMtime(0), configMtime(1)], before, 'an unchanged apply wrote the configuration');
  });

  test('a change prints the Maglev entries each backend gains, then applies it', () => {
    const path = file('c3.yaml', FILE(POOL3));
    const plan = apply('-f', path, '-plan');
    assert.equal(plan.code, 0, plan.stderr);
    const m = /lb1: would be changed: (\d+) Maglev entries move/.exec(plan.stdout);
    assert.ok(m && Number(m[1]) > 0, plan.stdout);
    // the new backend gains about a third of the 65,537 entries
    const row = /default\s+3\s+(\d+)\s+0\s+0/.exec(plan.stdout);
    assert.ok(row && Number(row[1]) > 15_000, plan.stdout);
    assert.match(plan.stdout, /lb2: unchanged/);
    assert.equal(show(daemons[0]!, 'lb1').backend.pool.length, 2);
    const r = apply('-f', path);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /lb1: changed/);
    for (const d of daemons) assert.equal(show(d, 'lb1').backend.pool.length, 3);
    assert.equal(apply('-f', path).stdout.match(/: unchanged$/gm)?.length, 4);
  });

  test('a bad file applies nothing anywhere: parse error with its line, unknown field, a refused instance', () => {
    const parse = apply('-f', file('bad1.yaml', 'instances:\n  - name: lb1\n   oops: [\n'));
    assert.equal(parse.code, 2);
    assert.match(parse.stderr, /bad1\.yaml:3: not valid YAML/);
    const top = apply('-f', file('bad2.yaml', 'instances: []\nnodes: 3\n'));
    assert.equal(top.code, 2);
    assert.match(top.stderr, /bad2\.yaml:2: unknown field 'nodes'/);
    // lb1 would change (a fourth backend) but lb2 is refused by the daemons: nothing is applied
    const pool4 = `${POOL3}\n        - id: 4\n          mac: 02:00:00:00:00:04`;
    const refused = apply('-f', file('bad3.yaml', FILE(pool4, '\n    colour: blue')));
    assert.equal(refused.code, 1, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /bad3\.yaml:\d+: instance lb2: unknown key 'colour'.*LBDSR_UNKNOWN_KEY/);
    assert.match(refused.stderr, /nothing was applied/);
    for (const d of daemons) assert.equal(show(d, 'lb1').backend.pool.length, 3);
  });

  test('instances the file does not name are left alone; --prune deletes them', () => {
    const only1 = FILE(POOL3).replace(/ {2}- name: lb2\n[\s\S]*$/, '');
    const path = file('only1.yaml', only1);
    const r = apply('-f', path);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /lb2: left alone \(not in the file; --prune deletes it\)/);
    for (const d of daemons) assert.deepEqual(names(d), ['lb1', 'lb2']);
    const plan = apply('-f', path, '--prune', '-plan');
    assert.match(plan.stdout, /lb2: would be deleted/);
    for (const d of daemons) assert.deepEqual(names(d), ['lb1', 'lb2']);
    const pruned = apply('-f', path, '--prune');
    assert.equal(pruned.code, 0, pruned.stderr);
    for (const d of daemons) assert.deepEqual(names(d), ['lb1']);
  });

  test('usage: apply needs -f; the Maglev route says when there is no plane to read', async () => {
    const r = apply();
    assert.equal(r.code, 2);
    assert.match(r.stderr, /apply needs the file: apply -f FILE/);
    const to = { url: daemons[0]!.url };
    const path = (name: string) => `/lbdsr/${name}/services/default/maglev`;
    await assert.rejects(request(to, 'GET', path('lb1')), {
      code: 'LBDSR_NOT_FOUND',
      message: /lb1 has no running data plane/,
    });
    await assert.rejects(request(to, 'GET', path('nosuch')), { code: 'LBDSR_NOT_FOUND' });
  });

  test('a daemon that does not answer stops the plan: nothing is applied on the others', () => {
    const path = file('c4.yaml', FILE(POOL2));
    const r = ctl(daemons[0]!.url, [
      'apply',
      '-f',
      path,
      '--url',
      daemons[0]!.url,
      '--url',
      'http://127.0.0.1:1',
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /127\.0\.0\.1:1: .*not reachable[\s\S]*nothing was applied/);
    assert.equal(show(daemons[0]!, 'lb1').backend.pool.length, 3);
  });

  test("the daemon's spelling does not count as a change: enum case, MAC case, pool order, empty parts", () => {
    const reversed = POOL3.split(/\n(?= {8}- id)/)
      .reverse()
      .join('\n')
      .toUpperCase()
      .replace(/ID:/g, 'id:')
      .replace(/MAC:/g, 'mac:');
    const text = FILE(reversed)
      .replace(/ {2}- name: lb2\n[\s\S]*$/, '')
      .replace('HASH_SESSION', 'hash_session')
      .replace('protocol: TCP', 'protocol: tcp');
    const extra = `  - name: lb4\n    frontend:\n      vip: 10.0.0.54\n      mac: AA:BB:CC:00:00:04\n    services:\n      - name: dns\n        vip: 10.0.0.53\n`;
    const path = file('spelled.yaml', text + extra);
    const first = apply('-f', path);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout.match(/lb1: unchanged$/gm)?.length, 2, first.stdout);
    assert.equal(first.stdout.match(/lb4: created/gm)?.length, 2, first.stdout);
    const again = apply('-f', path);
    assert.equal(again.stdout.match(/: unchanged$/gm)?.length, 4, again.stdout);
  });
});
