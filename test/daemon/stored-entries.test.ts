// A change of one backend among thousands: the schema checks only the pool entries that are new
// (src/daemon/config.ts; stored entries are shared between versions and never changed in place), and
// validatePool keeps the stored entries as they are, also those a removal shifted. The outcome is the
// one a check of the whole document gives: the same document, the same refusals.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LbdsrError } from '../../src/core/errors.js';
import { type StoredInstance, validateInstance } from '../../src/daemon/config.js';
import { applyOp } from '../../src/daemon/document.js';

const hex = (v: number) => (v & 0xff).toString(16).padStart(2, '0');
const pool = (n: number) =>
  Array.from({ length: n }, (_, k) => ({ id: k + 1, mac: `02:cb:00:00:${hex((k + 1) >> 8)}:${hex(k + 1)}` }));
const ctx = (old?: StoredInstance) => ({
  ...(old ? { old } : {}),
  others: [],
  interfaceExists: () => true,
  newUuid: () => 'u',
  owned: true,
});
const first = () =>
  validateInstance(
    { name: 'lb1', ports: [], frontend: { vip: '10.0.0.100' }, backend: { pool: pool(300) } },
    ctx(),
  ).config;
const entry = (id: number) => ({ field: 'id', key: id });

test('a removal keeps every other stored entry as it is, and gives what a check of the whole gives', () => {
  const old = first();
  const doc = applyOp(old, ['backend', 'pool', entry(10)], 'DELETE', undefined);
  const { config } = validateInstance(doc, ctx(old));
  assert.equal(config.backend.pool.length, 299);
  // entries after the removed one shifted by one: still the same objects
  for (let i = 9; i < 299; i++) assert.equal(config.backend.pool[i], old.backend.pool[i + 1]);
  // a copy of the document (no entry stored before) checks whole to the same configuration
  const whole = validateInstance(structuredClone(doc), ctx(old)).config;
  assert.deepEqual(whole, config);
});

test('a new entry is checked by the schema; the pools are given back whatever the outcome', () => {
  const old = first();
  const bad = applyOp(old, ['backend', 'pool', entry(400)], 'POST', {
    mac: '02:00:00:00:01:90',
    weight: 101,
  });
  const before = (bad as StoredInstance).backend.pool;
  assert.throws(
    () => validateInstance(bad, ctx(old)),
    (e: unknown) => e instanceof LbdsrError && e.code === 'LBDSR_BAD_VALUE' && /weight/.test(e.message),
  );
  // the document's pool is its own again, all 301 entries
  assert.equal((bad as StoredInstance).backend.pool, before);
  assert.equal(before.length, 301);
  const unknownKey = applyOp(old, ['backend', 'pool', entry(401)], 'POST', {
    mac: '02:00:00:00:01:91',
    x: 1,
  });
  assert.throws(
    () => validateInstance(unknownKey, ctx(old)),
    (e: unknown) => e instanceof LbdsrError,
  );
  const good = applyOp(old, ['backend', 'pool', entry(402)], 'POST', { mac: '02:00:00:00:01:92' });
  assert.equal(validateInstance(good, ctx(old)).config.backend.pool.length, 301);
});
