import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ACT_PASS,
  ACT_TX_BACKEND,
  ACT_TX_FRONTEND,
  DROP_BACKEND_PORT,
  DROP_DST_MAC,
  PORT_BACKEND,
  PORT_FRONTEND,
  verdictAction,
  verdictReason,
} from '../../src/core/constants.js';
import { DEFAULT_SESSION_SETTINGS, type InstanceConfig } from '../../src/core/model.js';
import { Balancer } from '../../src/pipeline/balancer.js';

function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
}

const config: InstanceConfig = {
  name: 'lb1',
  loglevel: 'INFO',
  algorithm: 'HASH_SESSION',
  ports: [],
  frontend: { vip: '10.0.0.100', mac: 'aa:bb:cc:dd:ee:ff' },
  backend: {
    pool: [
      { id: 1, mac: '02:00:00:00:00:01' },
      { id: 2, mac: '02:00:00:00:00:02' },
      { id: 3, mac: '02:00:00:00:00:03' },
    ],
  },
  sessions: DEFAULT_SESSION_SETTINGS,
};

// TCP SYN 10.0.0.11:40000 -> 10.0.0.100:80 addressed to the frontend MAC.
function syn(sport: number): Uint8Array {
  const f = hex(
    'aabbccddeeff 0200000000aa 0800' +
      '4500 0028 0001 0000 4006 0000 0a00000b 0a000064' +
      `${sport.toString(16).padStart(4, '0')} 0050 00000000 00000000 5002 2000 0000 0000`,
  );
  return f;
}

test('a TCP frame to the VIP is rewritten to a backend and sticks to it', () => {
  const b = new Balancer();
  b.configure(config, '02:00:00:00:00:fe');
  const f = syn(40000);
  const v = b.process(f, f.length, PORT_FRONTEND, 0);
  assert.equal(verdictAction(v), ACT_TX_BACKEND);
  const id = b.lastBackendId;
  assert.deepEqual([...f.subarray(0, 6)], [2, 0, 0, 0, 0, id]);
  assert.deepEqual([...f.subarray(6, 12)], [2, 0, 0, 0, 0, 0xfe]);
  for (let i = 0; i < 5; i++) {
    const g = syn(40000);
    b.process(g, g.length, PORT_FRONTEND, i);
    assert.equal(b.lastBackendId, id);
  }
  assert.equal(b.stats().sessions.hit, 5);
  assert.equal(b.stats().sessions.miss, 1);
});

test('flows spread over all backends; removing one re-balances only its sessions', () => {
  const b = new Balancer();
  b.configure(config, '02:00:00:00:00:fe');
  const owner = new Map<number, number>();
  for (let p = 1000; p < 1600; p++) {
    const f = syn(p);
    b.process(f, f.length, PORT_FRONTEND, 0);
    owner.set(p, b.lastBackendId);
  }
  assert.equal(new Set(owner.values()).size, 3);
  b.configure(
    { ...config, backend: { pool: config.backend.pool.filter((x) => x.id !== 2) } },
    '02:00:00:00:00:fe',
  );
  for (const [p, id] of owner) {
    const f = syn(p);
    b.process(f, f.length, PORT_FRONTEND, 1);
    if (id !== 2) assert.equal(b.lastBackendId, id);
    else assert.notEqual(b.lastBackendId, 2);
  }
});

test('ARP request for the VIP gets a reply; other frames drop with reasons', () => {
  const b = new Balancer();
  b.configure(config, '02:00:00:00:00:fe');
  const req = hex(
    'ffffffffffff 0200000000aa 0806 0001 0800 06 04 0001 0200000000aa 0a00000b 000000000000 0a000064' +
      '000000000000000000000000000000000000',
  );
  const v = b.process(req, req.length, PORT_FRONTEND, 0);
  assert.equal(verdictAction(v), ACT_TX_FRONTEND);
  assert.equal(
    Buffer.from(req.subarray(0, 42)).toString('hex'),
    '0200000000aa' +
      'aabbccddeeff' +
      '0806' +
      '0001080006040002' +
      'aabbccddeeff' +
      '0a000064' +
      '0200000000aa' +
      '0a00000b',
  );
  const f = syn(1);
  assert.equal(verdictReason(b.process(f, f.length, PORT_BACKEND, 0)), DROP_BACKEND_PORT);
  f[0] = 0x02;
  assert.equal(verdictReason(b.process(f, f.length, PORT_FRONTEND, 0)), DROP_DST_MAC);
});

test('a smaller session capacity keeps the most recent sessions and their backends', () => {
  const b = new Balancer();
  b.configure(config, '02:00:00:00:00:fe');
  const owner = new Map<number, number>();
  for (let p = 2000; p < 2100; p++) {
    const f = syn(p);
    b.process(f, f.length, PORT_FRONTEND, p);
    owner.set(p, b.lastBackendId);
  }
  b.configure({ ...config, sessions: { ...config.sessions, capacity: 10 } }, '02:00:00:00:00:fe');
  assert.equal(b.sessionTable.capacity, 10);
  assert.equal(b.sessionTable.count, 10);
  const kept = b.sessions(100, 2100).map((s) => s.sport);
  assert.deepEqual(kept, [2099, 2098, 2097, 2096, 2095, 2094, 2093, 2092, 2091, 2090]);
  for (const s of b.sessions(100, 2100)) assert.equal(s.backend, owner.get(s.sport));
});

test('stats name each backend with its service and count BACKEND port passes', () => {
  const b = new Balancer();
  b.configure(
    {
      ...config,
      probe_ip: '10.0.0.250',
      services: [
        {
          name: 'web',
          vip: '10.0.0.100',
          protocol: 'TCP',
          port: 80,
          backend: { pool: [{ id: 1, mac: '02:00:00:00:00:11' }] },
        },
      ],
    },
    '02:00:00:00:00:fe',
  );
  const f = syn(40001);
  assert.equal(verdictAction(b.process(f, f.length, PORT_FRONTEND, 0)), ACT_TX_BACKEND);
  assert.deepEqual([...f.subarray(0, 6)], [2, 0, 0, 0, 0, 0x11], 'port 80 goes to service web');
  // an answer to the prober (to 02:db:0a:00:00:fa) on the BACKEND port is passed, another frame dropped
  const probeAnswer = syn(40002);
  probeAnswer.set([0x02, 0xdb, 10, 0, 0, 250], 0);
  const other = syn(40003);
  assert.equal(verdictAction(b.process(probeAnswer, probeAnswer.length, PORT_BACKEND, 0)), ACT_PASS);
  assert.equal(verdictReason(b.process(other, other.length, PORT_BACKEND, 0)), DROP_BACKEND_PORT);
  const s = b.stats();
  assert.equal(s.backendPass, 1);
  assert.deepEqual(
    s.backends.map((x) => [x.service, x.id, x.packets]),
    [
      ['default', 1, 0],
      ['default', 2, 0],
      ['default', 3, 0],
      ['web', 1, 1],
    ],
  );
});
