// Hash flooding of the USERSPACE session table (issue 9, item 6). The bucket hash used to be a fixed,
// invertible function of the flow key, so anyone could compute ports words that all land in one bucket and
// turn every lookup into a walk of one long chain. The table now seeds its bucket hash with a random key
// per table; these tests craft a flood against the old fixed hash (by inverting it, as an attacker would)
// and check that a table spreads it, and that the seed changes where entries live but never what is found.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { craftOldHashFlood as crafted, oldMix } from '../../bench/hash-flood.js';
import { SessionTable } from '../../src/pipeline/session-table.js';

const SRC = 0x0a000001;
const VIP = 0x0a0000fe;
const N = 4000;
const MASK = 8191; // the bucket mask of a table grown to 4096 entries

test('the crafted flood collides under the old fixed hash', () => {
  const ports = crafted(SRC, VIP, 6, N, MASK);
  assert.equal(new Set(ports).size, N, 'distinct flows');
  for (const p of ports) assert.equal(oldMix(SRC, VIP, p, 6) & MASK, 0);
});

test('a table spreads a flood crafted against the old hash (short chains)', () => {
  const ports = crafted(SRC, VIP, 6, N, MASK);
  const t = new SessionTable(4096);
  for (const p of ports) t.insert(SRC, VIP, p, 6, 1, 0, 0);
  assert.equal(t.count, N);
  // 4000 keys over 8192 buckets: a random hash gives chains of a handful; the old hash gave one of 4000.
  assert.ok(t.longestChain() <= 12, `longest chain ${t.longestChain()}`);
  for (const p of ports) assert.notEqual(t.find(SRC, VIP, p, 6), -1);
});

test('each table draws its own seed; a given seed places entries the same way', () => {
  const keys = Array.from({ length: 2000 }, (_, i) => (i * 2654435761) >>> 0);
  const layout = (t: SessionTable): number[] => {
    for (const p of keys) t.insert(SRC, VIP, p, 17, 1, 0, 0);
    return keys.map((p) => t.bucketOf(SRC, VIP, p, 17));
  };
  assert.deepEqual(layout(new SessionTable(4096, { seed: 7 })), layout(new SessionTable(4096, { seed: 7 })));
  assert.notDeepEqual(
    layout(new SessionTable(4096, { seed: 7 })),
    layout(new SessionTable(4096, { seed: 8 })),
  );
  assert.notDeepEqual(layout(new SessionTable(4096)), layout(new SessionTable(4096)));
});

test('the seed survives a resize, and a resize finds every entry', () => {
  const t = new SessionTable(4096, { seed: 42 });
  for (let i = 0; i < 3000; i++) t.insert(SRC + i, VIP, i, 6, i, 0, i);
  const u = t.withCapacity(8192);
  assert.equal(u.seed, 42);
  for (let i = 0; i < 3000; i++) assert.equal(u.backendIdAt(u.find(SRC + i, VIP, i, 6)), i);
});
