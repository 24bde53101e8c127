// The instance the explain tests use (test/unit/explain.test.ts against the reference model,
// test/xdp/explain.test.ts against the kernel): the default service on VIP with three backends, a UDP
// port service with its own algorithm on the same VIP, a TCP port service with an empty pool on a
// second VIP, and a probe address (frames to the probe MAC pass on the BACKEND port).
import { DEFAULT_SESSION_SETTINGS, type InstanceConfig } from '../../src/core/model.js';

export const VIP = '10.0.0.100';
export const VIP2 = '10.0.0.200';
export const PORT_MAC = '02:00:00:00:00:fe';

export const explainConfig: InstanceConfig = {
  name: 'lb1',
  loglevel: 'INFO',
  algorithm: 'HASH_SESSION',
  ports: [],
  frontend: { vip: VIP, mac: 'aa:bb:cc:dd:ee:ff' },
  backend: {
    pool: [
      { id: 1, mac: '02:00:00:00:00:01' },
      { id: 2, mac: '02:00:00:00:00:02' },
      { id: 3, mac: '02:00:00:00:00:03' },
    ],
  },
  services: [
    {
      name: 'dns',
      vip: VIP,
      protocol: 'UDP',
      port: 53,
      algorithm: 'HASH_SRC_IP',
      backend: {
        pool: [
          { id: 7, mac: '02:00:00:00:00:07' },
          { id: 8, mac: '02:00:00:00:00:08' },
        ],
      },
    },
    { name: 'web2', vip: VIP2, protocol: 'TCP', port: 443, backend: { pool: [] } },
  ],
  probe_ip: '10.0.1.250',
  sessions: DEFAULT_SESSION_SETTINGS,
};
