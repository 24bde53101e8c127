// The fragment table's bounds (docs/semantics.md, "Fragments"), beyond what the corpus can hold: at its
// full capacity of 8192 datagrams a new first fragment evicts the least recently written entry (and only
// that one), a lookup neither extends an entry nor changes which one goes next, and the Balancer's table
// is that bounded table: 8193 first fragments later, the first datagram's later fragment misses.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIpv4 } from '../../src/core/addr.js';
import { FRAG_CAPACITY, FRAG_TIMEOUT_MS, PORT_FRONTEND } from '../../src/core/constants.js';
import { ipv4Frame, udp } from '../../src/packet/build.js';
import { Balancer } from '../../src/pipeline/balancer.js';
import { FragmentTable } from '../../src/pipeline/fragments.js';
import { instanceConfig } from '../lib/vectors.js';

const SRC = parseIpv4('10.0.0.1');
const VIP = parseIpv4('10.0.0.100');

function setId(t: FragmentTable, id: number): void {
  t.key[0] = SRC;
  t.key[1] = VIP;
  t.key[2] = id;
  t.key[3] = 17;
}

const ports = new Uint32Array(1);
function learn(t: FragmentTable, id: number, portsWord: number, now: number): void {
  setId(t, id);
  ports[0] = portsWord;
  t.learnFrom(ports, 0, now);
}
function lookup(t: FragmentTable, id: number, now: number): number | undefined {
  setId(t, id);
  ports[0] = 0;
  return t.lookupInto(ports, 0, now) ? ports[0] : undefined;
}

test('the documented bounds: 8192 entries, 2000 ms', () => {
  assert.equal(FRAG_CAPACITY, 8192);
  assert.equal(FRAG_TIMEOUT_MS, 2000);
  assert.equal(new FragmentTable().capacity, FRAG_CAPACITY);
});

test('a full table evicts the least recently written entry; lookups change nothing', () => {
  const t = new FragmentTable();
  for (let id = 0; id < FRAG_CAPACITY; id++) learn(t, id, 0x80000000 + id, 1000);
  assert.equal(t.count, FRAG_CAPACITY);
  assert.equal(lookup(t, 0, 1000), 0x80000000, 'the first entry is found (ports above 2^31 kept exact)');
  learn(t, 1, 0xabcd1234, 1000); // rewritten: now the most recently written
  learn(t, FRAG_CAPACITY, 7, 1001);
  assert.equal(t.count, FRAG_CAPACITY, 'bounded');
  assert.equal(
    lookup(t, 0, 1001),
    undefined,
    'id 0, the least recently written, was evicted (the lookup did not save it)',
  );
  assert.equal(lookup(t, 1, 1001), 0xabcd1234, 'id 1 was rewritten: kept, with its new ports');
  learn(t, FRAG_CAPACITY + 1, 8, 1001);
  assert.equal(lookup(t, 2, 1001), undefined, 'then id 2');
  assert.equal(lookup(t, 1, 1001), 0xabcd1234);
  assert.equal(lookup(t, FRAG_CAPACITY + 1, 1001), 8);
});

test('an entry serves for the timeout after its write, boundary included; a lookup does not extend it', () => {
  const t = new FragmentTable();
  learn(t, 5, 0x11112222, 1000);
  assert.equal(lookup(t, 5, 1000 + FRAG_TIMEOUT_MS - 1), 0x11112222);
  assert.equal(lookup(t, 5, 1000 + FRAG_TIMEOUT_MS), 0x11112222);
  assert.equal(lookup(t, 5, 1000 + FRAG_TIMEOUT_MS + 1), undefined);
  learn(t, 5, 0x33334444, 5000);
  assert.equal(lookup(t, 5, 5000 + FRAG_TIMEOUT_MS), 0x33334444, 'a new first fragment renews it');
});

test('the Balancer forgets the first datagram after 8192 newer first fragments', () => {
  const b = new Balancer();
  const pool = [1, 2, 3, 4].map((id) => ({ id, mac: `02:00:00:00:00:0${id}` }));
  b.configure(
    instanceConfig({ frontend: { vip: '10.0.0.100', mac: 'aa:bb:cc:dd:ee:ff' }, backend: { pool } }),
    '02:00:00:00:be:01',
  );
  const addr = {
    ethDst: 'aa:bb:cc:dd:ee:ff',
    ethSrc: '52:54:00:00:00:01',
    src: '10.0.0.1',
    dst: '10.0.0.100',
  };
  const l4 = udp({ sport: 4000, dport: 53, payload: new Uint8Array(16) });
  const send = (f: Uint8Array) => b.process(f, f.length, PORT_FRONTEND, 1000);
  const later = (id: number) => ipv4Frame(addr, 17, l4.slice(8), { id, fragOffset: 1 });
  for (let id = 0; id <= FRAG_CAPACITY; id++) {
    send(ipv4Frame(addr, 17, l4.slice(0, 8), { id, mf: true }));
    if (id === 0) {
      send(later(0));
      assert.deepEqual(b.stats().fragments, { hit: 1, miss: 0 }, 'learned at first');
    }
  }
  send(later(1));
  assert.deepEqual(b.stats().fragments, { hit: 2, miss: 0 }, 'the second datagram is still known');
  send(later(0));
  assert.deepEqual(b.stats().fragments, { hit: 2, miss: 1 }, 'the first one was evicted');
});
