// What the daemon hands the health prober (src/daemon/runtime/probing.ts targetsOf): every backend of
// every service that has an IP to resolve or a health check to run, keyed `${service}/${id}`, with the
// pool's check overridden field by field by the backend's and the port defaulting to the service's.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_SESSION_SETTINGS, type InstanceConfig } from '../../src/core/model.js';
import { targetsOf } from '../../src/daemon/runtime/probing.js';

const config: InstanceConfig = {
  name: 'lb1',
  loglevel: 'INFO',
  algorithm: 'HASH_SESSION',
  ports: [],
  frontend: { vip: '10.0.0.100', mac: 'aa:bb:cc:dd:ee:ff' },
  backend: {
    pool: [
      { id: 1, mac: '02:00:00:00:00:01' },
      { id: 2, ip: '10.0.0.22' },
    ],
  },
  services: [
    {
      name: 'web',
      vip: '10.0.0.101',
      protocol: 'TCP',
      port: 8080,
      backend: {
        healthcheck: { type: 'HTTP', path: '/health', interval: 5, rise: 3 },
        pool: [
          { id: 1, mac: '02:00:00:00:00:01', ip: '10.0.0.21' },
          { id: 7, mac: '02:00:00:00:00:07', healthcheck: { type: 'TCP', port: 22, fall: 1 } },
          { id: 8, mac: '02:00:00:00:00:08', healthcheck: { type: 'NONE' } },
        ],
      },
    },
  ],
  probe_ip: '10.0.0.250',
  sessions: DEFAULT_SESSION_SETTINGS,
};

test('targets: backends by IP and backends with a check, the check resolved per backend', () => {
  const t = targetsOf(config);
  assert.deepEqual(
    t.map((x) => x.key),
    ['default/2', 'web/1', 'web/7'],
    'default/1 has neither an IP nor a check; web/8 turned its check off',
  );
  assert.deepEqual(t[0], { key: 'default/2', vip: '10.0.0.100', ip: '10.0.0.22' });
  const web1 = t[1];
  assert.equal(web1?.ip, '10.0.0.21');
  assert.equal(web1?.mac, '02:00:00:00:00:01');
  assert.deepEqual(
    { ...web1?.check },
    {
      type: 'HTTP',
      port: 8080,
      intervalMs: 5000,
      timeoutMs: 1000,
      rise: 3,
      fall: 3,
      path: '/health',
      expect: 200,
    },
    "the service's port, the pool's check, defaults filled in",
  );
  const web7 = t[2]?.check;
  assert.equal(web7?.type, 'TCP');
  assert.equal(web7?.port, 22);
  assert.equal(web7?.fall, 1, "the backend's fields win");
  assert.equal(web7?.rise, 3, "the pool's fields stay where the backend says nothing");
});
