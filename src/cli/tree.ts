// GENERATED from src/daemon/schema.ts by test/unit/cli-tree.test.ts (LBDSR_WRITE_CLI_TREE=1): do not edit.
// lbdsrctl's plain-data copy of the resource tree, so that the CLI starts without loading TypeBox.
import type { CliNode } from './resources.js';

export const API_PREFIX = '/polycube/v1';
export const SERVICE = 'lbdsr';

export const INSTANCE_TREE: CliNode = {
  segment: 'lbdsr',
  kind: 'list',
  description: 'DSR load balancer instances',
  schema: {
    type: 'object',
    description: 'a load balancer instance',
    properties: {
      name: { type: 'string', description: 'instance name' },
      type: {
        description: 'data plane: XDP_DRV, XDP_SKB, USERSPACE, or AUTO (the fastest that works on the ports)',
        anyOf: [
          { type: 'string', const: 'XDP_DRV' },
          { type: 'string', const: 'XDP_SKB' },
          { type: 'string', const: 'USERSPACE' },
          { type: 'string', const: 'AUTO' },
        ],
      },
      loglevel: {
        description: 'log level of the instance',
        anyOf: [
          { type: 'string', const: 'TRACE' },
          { type: 'string', const: 'DEBUG' },
          { type: 'string', const: 'INFO' },
          { type: 'string', const: 'WARN' },
          { type: 'string', const: 'ERR' },
          { type: 'string', const: 'CRITICAL' },
          { type: 'string', const: 'OFF' },
        ],
      },
      algorithm: {
        description: 'load-balancing algorithm (case-insensitive); affects new sessions',
        anyOf: [
          { type: 'string', const: 'HASH_SESSION' },
          { type: 'string', const: 'HASH_SRC_IP' },
        ],
      },
      mode: {
        description:
          "how VIP traffic arrives: L2 (default; ARP answered at the frontend MAC) or ROUTED (a router's next hop: the FRONTEND interface's own MAC, no ARP)",
        anyOf: [
          { type: 'string', const: 'L2' },
          { type: 'string', const: 'ROUTED' },
        ],
      },
      host_pass: {
        type: 'boolean',
        description:
          'FRONTEND frames not for a VIP (ARP and Neighbor Discovery not answered, other addresses) go to the host instead of being dropped (default: true in ROUTED, false in L2)',
      },
      standby: {
        type: 'boolean',
        description:
          'standby of an active/standby pair: no ARP or Neighbor Solicitation answered, no gratuitous ARP or unsolicited Neighbor Advertisement sent for the VIPs, frames that arrive are still balanced (default false)',
      },
      ports: { type: 'array' },
      frontend: {
        type: 'object',
        description: 'the virtual service: VIP(s) and the MAC it answers on',
        properties: {
          vip: {
            type: 'string',
            description: 'virtual IP address (unicast): IPv4, e.g. 10.0.0.100, or IPv6, e.g. fd00::100',
          },
          vip6: {
            type: 'string',
            description: 'IPv6 VIP of a dual-stack service (beside its IPv4 vip; one pool), e.g. fd00::100',
          },
          mac: { type: 'string', description: 'MAC address, e.g. aa:bb:cc:dd:ee:ff' },
        },
      },
      backend: {
        type: 'object',
        description: 'backend servers and their health check',
        properties: {
          pool: { type: 'array' },
          healthcheck: {
            type: 'object',
            description: 'health check of the backends',
            properties: {
              type: {
                description: 'probe: NONE (the backend counts as UP), TCP, HTTP, UDP, ICMP',
                anyOf: [
                  { type: 'string', const: 'NONE' },
                  { type: 'string', const: 'TCP' },
                  { type: 'string', const: 'HTTP' },
                  { type: 'string', const: 'UDP' },
                  { type: 'string', const: 'ICMP' },
                ],
              },
              port: { type: 'integer', description: "TCP/UDP/HTTP port (default: the service's port)" },
              interval: { type: 'number', description: 'seconds between probes (default 2)' },
              timeout: {
                type: 'number',
                description: 'seconds a probe may take, less than interval (default 1)',
              },
              rise: {
                type: 'integer',
                description: 'good probes in a row that make a backend UP (default 2)',
              },
              fall: {
                type: 'integer',
                description: 'bad probes in a row that make a backend DOWN (default 3)',
              },
              path: { type: 'string', description: 'HTTP: request path (default /)' },
              expect: { type: 'integer', description: 'HTTP: expected status (default 200)' },
              body: { type: 'string', description: 'HTTP: a substring the answer body must hold' },
              payload: { type: 'string', description: 'UDP: request payload (text); any answer is good' },
              on_down: {
                description: 'sessions of a DOWN backend: STAY (default) or MOVE to the others',
                anyOf: [
                  { type: 'string', const: 'STAY' },
                  { type: 'string', const: 'MOVE' },
                ],
              },
            },
          },
        },
      },
      services: { type: 'array' },
      probe_ip: {
        type: 'string',
        description: 'source IPv4 of health-check probes: an unused address of the backend segment',
      },
      sessions: {
        type: 'object',
        description: 'session table settings; GET also lists sessions',
        properties: {
          capacity: { type: 'integer', description: 'maximum entries of the session table' },
          timeouts: {
            type: 'object',
            description: 'idle timeouts, seconds',
            properties: {
              tcp: { type: 'integer', description: 'TCP idle timeout, seconds' },
              udp: { type: 'integer', description: 'UDP idle timeout, seconds' },
              icmp: { type: 'integer', description: 'ICMP idle timeout, seconds' },
            },
          },
          record_non_syn: {
            type: 'boolean',
            description:
              'record a session for a TCP segment that is not a SYN and has none (default false: forwarded by Maglev, counted unrecorded)',
          },
        },
      },
      plane: {
        type: 'string',
        description: 'data plane in use, NONE without ports (read-only)',
        readOnly: true,
      },
      planeStatus: {
        type: 'string',
        description: 'RUNNING, FAILED (its worker died and is being restarted) or NONE (read-only)',
        readOnly: true,
      },
      planeReason: { type: 'string', description: 'why the data plane FAILED (read-only)', readOnly: true },
    },
  },
  key: { field: 'name' },
  children: [
    {
      segment: 'type',
      kind: 'leaf',
      description: 'data plane: XDP_DRV, XDP_SKB, USERSPACE, or AUTO (the fastest that works on the ports)',
      schema: {
        description: 'data plane: XDP_DRV, XDP_SKB, USERSPACE, or AUTO (the fastest that works on the ports)',
        anyOf: [
          { type: 'string', const: 'XDP_DRV' },
          { type: 'string', const: 'XDP_SKB' },
          { type: 'string', const: 'USERSPACE' },
          { type: 'string', const: 'AUTO' },
        ],
      },
      optional: true,
    },
    {
      segment: 'plane',
      kind: 'leaf',
      description: 'data plane in use, NONE without ports (read-only)',
      schema: {
        type: 'string',
        description: 'data plane in use, NONE without ports (read-only)',
        readOnly: true,
      },
      readOnly: true,
    },
    {
      segment: 'loglevel',
      kind: 'leaf',
      description: 'log level of the instance',
      schema: {
        description: 'log level of the instance',
        anyOf: [
          { type: 'string', const: 'TRACE' },
          { type: 'string', const: 'DEBUG' },
          { type: 'string', const: 'INFO' },
          { type: 'string', const: 'WARN' },
          { type: 'string', const: 'ERR' },
          { type: 'string', const: 'CRITICAL' },
          { type: 'string', const: 'OFF' },
        ],
      },
    },
    {
      segment: 'algorithm',
      kind: 'leaf',
      description: 'load-balancing algorithm (case-insensitive); affects new sessions',
      schema: {
        description: 'load-balancing algorithm (case-insensitive); affects new sessions',
        anyOf: [
          { type: 'string', const: 'HASH_SESSION' },
          { type: 'string', const: 'HASH_SRC_IP' },
        ],
      },
    },
    {
      segment: 'mode',
      kind: 'leaf',
      description:
        "how VIP traffic arrives: L2 (default; ARP answered at the frontend MAC) or ROUTED (a router's next hop: the FRONTEND interface's own MAC, no ARP)",
      schema: {
        description:
          "how VIP traffic arrives: L2 (default; ARP answered at the frontend MAC) or ROUTED (a router's next hop: the FRONTEND interface's own MAC, no ARP)",
        anyOf: [
          { type: 'string', const: 'L2' },
          { type: 'string', const: 'ROUTED' },
        ],
      },
      optional: true,
    },
    {
      segment: 'host_pass',
      kind: 'leaf',
      description:
        'FRONTEND frames not for a VIP (ARP and Neighbor Discovery not answered, other addresses) go to the host instead of being dropped (default: true in ROUTED, false in L2)',
      schema: {
        type: 'boolean',
        description:
          'FRONTEND frames not for a VIP (ARP and Neighbor Discovery not answered, other addresses) go to the host instead of being dropped (default: true in ROUTED, false in L2)',
      },
      optional: true,
    },
    {
      segment: 'standby',
      kind: 'leaf',
      description:
        'standby of an active/standby pair: no ARP or Neighbor Solicitation answered, no gratuitous ARP or unsolicited Neighbor Advertisement sent for the VIPs, frames that arrive are still balanced (default false)',
      schema: {
        type: 'boolean',
        description:
          'standby of an active/standby pair: no ARP or Neighbor Solicitation answered, no gratuitous ARP or unsolicited Neighbor Advertisement sent for the VIPs, frames that arrive are still balanced (default false)',
      },
      optional: true,
    },
    {
      segment: 'ports',
      kind: 'list',
      description: 'ports of the load balancer (one FRONTEND, one BACKEND)',
      schema: {
        type: 'object',
        description: 'a port of the load balancer',
        properties: {
          name: { type: 'string', description: 'port name' },
          type: {
            description: 'port role: FRONTEND or BACKEND',
            anyOf: [
              { type: 'string', const: 'FRONTEND' },
              { type: 'string', const: 'BACKEND' },
            ],
          },
          peer: { type: 'string', description: 'Linux interface the port is attached to' },
          status: {
            type: 'string',
            description: 'UP or DOWN: the peer interface is up (read-only)',
            readOnly: true,
          },
          uuid: { type: 'string', description: 'port identifier (read-only)', readOnly: true },
        },
      },
      key: { field: 'name' },
      children: [
        {
          segment: 'peer',
          kind: 'leaf',
          description: 'Linux interface the port is attached to',
          schema: { type: 'string', description: 'Linux interface the port is attached to' },
          optional: true,
        },
        {
          segment: 'type',
          kind: 'leaf',
          description: 'port role: FRONTEND or BACKEND',
          schema: {
            description: 'port role: FRONTEND or BACKEND',
            anyOf: [
              { type: 'string', const: 'FRONTEND' },
              { type: 'string', const: 'BACKEND' },
            ],
          },
        },
        {
          segment: 'status',
          kind: 'leaf',
          description: 'UP or DOWN: the peer interface is up (read-only)',
          schema: {
            type: 'string',
            description: 'UP or DOWN: the peer interface is up (read-only)',
            readOnly: true,
          },
          readOnly: true,
        },
        {
          segment: 'uuid',
          kind: 'leaf',
          description: 'port identifier (read-only)',
          schema: { type: 'string', description: 'port identifier (read-only)', readOnly: true },
          readOnly: true,
        },
      ],
    },
    {
      segment: 'frontend',
      kind: 'container',
      description: 'the virtual service: VIP(s) and the MAC it answers on',
      schema: {
        type: 'object',
        description: 'the virtual service: VIP(s) and the MAC it answers on',
        properties: {
          vip: {
            type: 'string',
            description: 'virtual IP address (unicast): IPv4, e.g. 10.0.0.100, or IPv6, e.g. fd00::100',
          },
          vip6: {
            type: 'string',
            description: 'IPv6 VIP of a dual-stack service (beside its IPv4 vip; one pool), e.g. fd00::100',
          },
          mac: { type: 'string', description: 'MAC address, e.g. aa:bb:cc:dd:ee:ff' },
        },
      },
      children: [
        {
          segment: 'vip',
          kind: 'leaf',
          description: 'virtual IP address (unicast): IPv4, e.g. 10.0.0.100, or IPv6, e.g. fd00::100',
          schema: {
            type: 'string',
            description: 'virtual IP address (unicast): IPv4, e.g. 10.0.0.100, or IPv6, e.g. fd00::100',
          },
          optional: true,
        },
        {
          segment: 'vip6',
          kind: 'leaf',
          description: 'IPv6 VIP of a dual-stack service (beside its IPv4 vip; one pool), e.g. fd00::100',
          schema: {
            type: 'string',
            description: 'IPv6 VIP of a dual-stack service (beside its IPv4 vip; one pool), e.g. fd00::100',
          },
          optional: true,
        },
        {
          segment: 'mac',
          kind: 'leaf',
          description: 'MAC address, e.g. aa:bb:cc:dd:ee:ff',
          schema: { type: 'string', description: 'MAC address, e.g. aa:bb:cc:dd:ee:ff' },
          optional: true,
        },
        {
          segment: 'announce',
          kind: 'action',
          description:
            'announce the VIPs from the frontend port now: gratuitous ARP (IPv4), unsolicited Neighbor Advertisement (IPv6); count=N, one per second',
          schema: {
            type: 'object',
            description: 'a gratuitous ARP / unsolicited NA announcement',
            properties: { count: { type: 'integer', description: 'how many, one second apart (default 3)' } },
          },
        },
      ],
    },
    {
      segment: 'backend',
      kind: 'container',
      description: 'backend servers and their health check',
      schema: {
        type: 'object',
        description: 'backend servers and their health check',
        properties: {
          pool: { type: 'array' },
          healthcheck: {
            type: 'object',
            description: 'health check of the backends',
            properties: {
              type: {
                description: 'probe: NONE (the backend counts as UP), TCP, HTTP, UDP, ICMP',
                anyOf: [
                  { type: 'string', const: 'NONE' },
                  { type: 'string', const: 'TCP' },
                  { type: 'string', const: 'HTTP' },
                  { type: 'string', const: 'UDP' },
                  { type: 'string', const: 'ICMP' },
                ],
              },
              port: { type: 'integer', description: "TCP/UDP/HTTP port (default: the service's port)" },
              interval: { type: 'number', description: 'seconds between probes (default 2)' },
              timeout: {
                type: 'number',
                description: 'seconds a probe may take, less than interval (default 1)',
              },
              rise: {
                type: 'integer',
                description: 'good probes in a row that make a backend UP (default 2)',
              },
              fall: {
                type: 'integer',
                description: 'bad probes in a row that make a backend DOWN (default 3)',
              },
              path: { type: 'string', description: 'HTTP: request path (default /)' },
              expect: { type: 'integer', description: 'HTTP: expected status (default 200)' },
              body: { type: 'string', description: 'HTTP: a substring the answer body must hold' },
              payload: { type: 'string', description: 'UDP: request payload (text); any answer is good' },
              on_down: {
                description: 'sessions of a DOWN backend: STAY (default) or MOVE to the others',
                anyOf: [
                  { type: 'string', const: 'STAY' },
                  { type: 'string', const: 'MOVE' },
                ],
              },
            },
          },
        },
      },
      children: [
        {
          segment: 'pool',
          kind: 'list',
          description: 'backend servers, by id',
          schema: {
            type: 'object',
            description: 'a backend server',
            properties: {
              id: { type: 'integer', description: 'backend id: an opaque uint32' },
              mac: { type: 'string', description: 'MAC address, e.g. aa:bb:cc:dd:ee:ff' },
              ip: {
                type: 'string',
                description:
                  'IPv4 or IPv6 address of the server (its MAC is found by ARP, or Neighbor Discovery for IPv6)',
              },
              weight: {
                type: 'integer',
                description: 'share of new flows relative to the others, 0..100 (default 100)',
              },
              state: {
                description: 'ACTIVE (default), DRAINING (no new flows), DISABLED',
                anyOf: [
                  { type: 'string', const: 'ACTIVE' },
                  { type: 'string', const: 'DRAINING' },
                  { type: 'string', const: 'DISABLED' },
                ],
              },
              deadline: {
                type: 'number',
                description: 'DRAINING: seconds its sessions may stay at most (default: until they end)',
              },
              on_drained: {
                description: 'a drained backend becomes DISABLED (default) or is deleted',
                anyOf: [
                  { type: 'string', const: 'DISABLE' },
                  { type: 'string', const: 'DELETE' },
                ],
              },
              state_since: {
                type: 'string',
                description: 'when state last changed (ISO 8601; set by lbdsrd)',
              },
              healthcheck: {
                type: 'object',
                description: 'health check of the backends',
                properties: {
                  type: {
                    description: 'probe: NONE (the backend counts as UP), TCP, HTTP, UDP, ICMP',
                    anyOf: [
                      { type: 'string', const: 'NONE' },
                      { type: 'string', const: 'TCP' },
                      { type: 'string', const: 'HTTP' },
                      { type: 'string', const: 'UDP' },
                      { type: 'string', const: 'ICMP' },
                    ],
                  },
                  port: { type: 'integer', description: "TCP/UDP/HTTP port (default: the service's port)" },
                  interval: { type: 'number', description: 'seconds between probes (default 2)' },
                  timeout: {
                    type: 'number',
                    description: 'seconds a probe may take, less than interval (default 1)',
                  },
                  rise: {
                    type: 'integer',
                    description: 'good probes in a row that make a backend UP (default 2)',
                  },
                  fall: {
                    type: 'integer',
                    description: 'bad probes in a row that make a backend DOWN (default 3)',
                  },
                  path: { type: 'string', description: 'HTTP: request path (default /)' },
                  expect: { type: 'integer', description: 'HTTP: expected status (default 200)' },
                  body: { type: 'string', description: 'HTTP: a substring the answer body must hold' },
                  payload: { type: 'string', description: 'UDP: request payload (text); any answer is good' },
                  on_down: {
                    description: 'sessions of a DOWN backend: STAY (default) or MOVE to the others',
                    anyOf: [
                      { type: 'string', const: 'STAY' },
                      { type: 'string', const: 'MOVE' },
                    ],
                  },
                },
              },
              health: { type: 'string', description: 'UP, DOWN or UNKNOWN (read-only)', readOnly: true },
              health_since: {
                type: 'string',
                description: 'when health last changed (read-only)',
                readOnly: true,
              },
              health_reason: {
                type: 'string',
                description: 'why health last changed (read-only)',
                readOnly: true,
              },
              mac_in_use: { type: 'string', description: 'the MAC frames go to (read-only)', readOnly: true },
              mac_source: {
                type: 'string',
                description: 'where mac_in_use came from: CONFIG, ARP, ND or NONE (read-only)',
                readOnly: true,
              },
              mac_seen: {
                type: 'string',
                description: 'last ARP or Neighbor Advertisement answer (read-only)',
                readOnly: true,
              },
              sessions: { type: 'integer', description: 'live sessions (read-only)', readOnly: true },
              serving: { type: 'boolean', description: 'takes new flows now (read-only)', readOnly: true },
              arp_flux: {
                type: 'boolean',
                description: 'the server answers ARP for the VIP: DSR misconfigured (read-only)',
                readOnly: true,
              },
            },
          },
          key: { field: 'id' },
          children: [
            {
              segment: 'mac',
              kind: 'leaf',
              description: 'MAC address, e.g. aa:bb:cc:dd:ee:ff',
              schema: { type: 'string', description: 'MAC address, e.g. aa:bb:cc:dd:ee:ff' },
              optional: true,
            },
            {
              segment: 'ip',
              kind: 'leaf',
              description:
                'IPv4 or IPv6 address of the server (its MAC is found by ARP, or Neighbor Discovery for IPv6)',
              schema: {
                type: 'string',
                description:
                  'IPv4 or IPv6 address of the server (its MAC is found by ARP, or Neighbor Discovery for IPv6)',
              },
              optional: true,
            },
            {
              segment: 'healthcheck',
              kind: 'container',
              description: "health check of this backend: overrides the pool's, field by field",
              schema: {
                type: 'object',
                description: 'health check of the backends',
                properties: {
                  type: {
                    description: 'probe: NONE (the backend counts as UP), TCP, HTTP, UDP, ICMP',
                    anyOf: [
                      { type: 'string', const: 'NONE' },
                      { type: 'string', const: 'TCP' },
                      { type: 'string', const: 'HTTP' },
                      { type: 'string', const: 'UDP' },
                      { type: 'string', const: 'ICMP' },
                    ],
                  },
                  port: { type: 'integer', description: "TCP/UDP/HTTP port (default: the service's port)" },
                  interval: { type: 'number', description: 'seconds between probes (default 2)' },
                  timeout: {
                    type: 'number',
                    description: 'seconds a probe may take, less than interval (default 1)',
                  },
                  rise: {
                    type: 'integer',
                    description: 'good probes in a row that make a backend UP (default 2)',
                  },
                  fall: {
                    type: 'integer',
                    description: 'bad probes in a row that make a backend DOWN (default 3)',
                  },
                  path: { type: 'string', description: 'HTTP: request path (default /)' },
                  expect: { type: 'integer', description: 'HTTP: expected status (default 200)' },
                  body: { type: 'string', description: 'HTTP: a substring the answer body must hold' },
                  payload: { type: 'string', description: 'UDP: request payload (text); any answer is good' },
                  on_down: {
                    description: 'sessions of a DOWN backend: STAY (default) or MOVE to the others',
                    anyOf: [
                      { type: 'string', const: 'STAY' },
                      { type: 'string', const: 'MOVE' },
                    ],
                  },
                },
              },
              optional: true,
            },
          ],
        },
        {
          segment: 'healthcheck',
          kind: 'container',
          description: 'health check of the backends',
          schema: {
            type: 'object',
            description: 'health check of the backends',
            properties: {
              type: {
                description: 'probe: NONE (the backend counts as UP), TCP, HTTP, UDP, ICMP',
                anyOf: [
                  { type: 'string', const: 'NONE' },
                  { type: 'string', const: 'TCP' },
                  { type: 'string', const: 'HTTP' },
                  { type: 'string', const: 'UDP' },
                  { type: 'string', const: 'ICMP' },
                ],
              },
              port: { type: 'integer', description: "TCP/UDP/HTTP port (default: the service's port)" },
              interval: { type: 'number', description: 'seconds between probes (default 2)' },
              timeout: {
                type: 'number',
                description: 'seconds a probe may take, less than interval (default 1)',
              },
              rise: {
                type: 'integer',
                description: 'good probes in a row that make a backend UP (default 2)',
              },
              fall: {
                type: 'integer',
                description: 'bad probes in a row that make a backend DOWN (default 3)',
              },
              path: { type: 'string', description: 'HTTP: request path (default /)' },
              expect: { type: 'integer', description: 'HTTP: expected status (default 200)' },
              body: { type: 'string', description: 'HTTP: a substring the answer body must hold' },
              payload: { type: 'string', description: 'UDP: request payload (text); any answer is good' },
              on_down: {
                description: 'sessions of a DOWN backend: STAY (default) or MOVE to the others',
                anyOf: [
                  { type: 'string', const: 'STAY' },
                  { type: 'string', const: 'MOVE' },
                ],
              },
            },
          },
          optional: true,
        },
      ],
    },
    {
      segment: 'services',
      kind: 'list',
      description: 'services: default (frontend + backend) and the others, by name',
      schema: {
        type: 'object',
        description: 'a service: a VIP with an optional protocol and port',
        properties: {
          name: { type: 'string', description: 'service name' },
          vip: {
            type: 'string',
            description: 'virtual IP address (unicast): IPv4, e.g. 10.0.0.100, or IPv6, e.g. fd00::100',
          },
          vip6: {
            type: 'string',
            description: 'IPv6 VIP of a dual-stack service (beside its IPv4 vip; one pool), e.g. fd00::100',
          },
          protocol: {
            description: 'TCP, UDP or ICMP (ICMPv6 on an IPv6 VIP) (default: any)',
            anyOf: [
              { type: 'string', const: 'TCP' },
              { type: 'string', const: 'UDP' },
              { type: 'string', const: 'ICMP' },
            ],
          },
          port: { type: 'integer', description: 'TCP/UDP destination port (default: any)' },
          mac: { type: 'string', description: 'MAC address, e.g. aa:bb:cc:dd:ee:ff' },
          algorithm: {
            description: 'load-balancing algorithm (case-insensitive); affects new sessions',
            anyOf: [
              { type: 'string', const: 'HASH_SESSION' },
              { type: 'string', const: 'HASH_SRC_IP' },
            ],
          },
          backend: {
            type: 'object',
            description: 'backend servers and their health check',
            properties: {
              pool: { type: 'array' },
              healthcheck: {
                type: 'object',
                description: 'health check of the backends',
                properties: {
                  type: {
                    description: 'probe: NONE (the backend counts as UP), TCP, HTTP, UDP, ICMP',
                    anyOf: [
                      { type: 'string', const: 'NONE' },
                      { type: 'string', const: 'TCP' },
                      { type: 'string', const: 'HTTP' },
                      { type: 'string', const: 'UDP' },
                      { type: 'string', const: 'ICMP' },
                    ],
                  },
                  port: { type: 'integer', description: "TCP/UDP/HTTP port (default: the service's port)" },
                  interval: { type: 'number', description: 'seconds between probes (default 2)' },
                  timeout: {
                    type: 'number',
                    description: 'seconds a probe may take, less than interval (default 1)',
                  },
                  rise: {
                    type: 'integer',
                    description: 'good probes in a row that make a backend UP (default 2)',
                  },
                  fall: {
                    type: 'integer',
                    description: 'bad probes in a row that make a backend DOWN (default 3)',
                  },
                  path: { type: 'string', description: 'HTTP: request path (default /)' },
                  expect: { type: 'integer', description: 'HTTP: expected status (default 200)' },
                  body: { type: 'string', description: 'HTTP: a substring the answer body must hold' },
                  payload: { type: 'string', description: 'UDP: request payload (text); any answer is good' },
                  on_down: {
                    description: 'sessions of a DOWN backend: STAY (default) or MOVE to the others',
                    anyOf: [
                      { type: 'string', const: 'STAY' },
                      { type: 'string', const: 'MOVE' },
                    ],
                  },
                },
              },
            },
          },
        },
      },
      key: { field: 'name' },
      children: [
        {
          segment: 'vip',
          kind: 'leaf',
          description: 'virtual IP address (unicast): IPv4, e.g. 10.0.0.100, or IPv6, e.g. fd00::100',
          schema: {
            type: 'string',
            description: 'virtual IP address (unicast): IPv4, e.g. 10.0.0.100, or IPv6, e.g. fd00::100',
          },
          optional: true,
        },
        {
          segment: 'vip6',
          kind: 'leaf',
          description: 'IPv6 VIP of a dual-stack service (beside its IPv4 vip; one pool), e.g. fd00::100',
          schema: {
            type: 'string',
            description: 'IPv6 VIP of a dual-stack service (beside its IPv4 vip; one pool), e.g. fd00::100',
          },
          optional: true,
        },
        {
          segment: 'protocol',
          kind: 'leaf',
          description: 'TCP, UDP or ICMP (ICMPv6 on an IPv6 VIP) (default: any)',
          schema: {
            description: 'TCP, UDP or ICMP (ICMPv6 on an IPv6 VIP) (default: any)',
            anyOf: [
              { type: 'string', const: 'TCP' },
              { type: 'string', const: 'UDP' },
              { type: 'string', const: 'ICMP' },
            ],
          },
          optional: true,
        },
        {
          segment: 'port',
          kind: 'leaf',
          description: 'TCP/UDP destination port (default: any)',
          schema: { type: 'integer', description: 'TCP/UDP destination port (default: any)' },
          optional: true,
        },
        {
          segment: 'mac',
          kind: 'leaf',
          description: 'MAC address, e.g. aa:bb:cc:dd:ee:ff',
          schema: { type: 'string', description: 'MAC address, e.g. aa:bb:cc:dd:ee:ff' },
          optional: true,
        },
        {
          segment: 'algorithm',
          kind: 'leaf',
          description: 'load-balancing algorithm (case-insensitive); affects new sessions',
          schema: {
            description: 'load-balancing algorithm (case-insensitive); affects new sessions',
            anyOf: [
              { type: 'string', const: 'HASH_SESSION' },
              { type: 'string', const: 'HASH_SRC_IP' },
            ],
          },
          optional: true,
        },
        {
          segment: 'backend',
          kind: 'container',
          description: 'backend servers and their health check',
          schema: {
            type: 'object',
            description: 'backend servers and their health check',
            properties: {
              pool: { type: 'array' },
              healthcheck: {
                type: 'object',
                description: 'health check of the backends',
                properties: {
                  type: {
                    description: 'probe: NONE (the backend counts as UP), TCP, HTTP, UDP, ICMP',
                    anyOf: [
                      { type: 'string', const: 'NONE' },
                      { type: 'string', const: 'TCP' },
                      { type: 'string', const: 'HTTP' },
                      { type: 'string', const: 'UDP' },
                      { type: 'string', const: 'ICMP' },
                    ],
                  },
                  port: { type: 'integer', description: "TCP/UDP/HTTP port (default: the service's port)" },
                  interval: { type: 'number', description: 'seconds between probes (default 2)' },
                  timeout: {
                    type: 'number',
                    description: 'seconds a probe may take, less than interval (default 1)',
                  },
                  rise: {
                    type: 'integer',
                    description: 'good probes in a row that make a backend UP (default 2)',
                  },
                  fall: {
                    type: 'integer',
                    description: 'bad probes in a row that make a backend DOWN (default 3)',
                  },
                  path: { type: 'string', description: 'HTTP: request path (default /)' },
                  expect: { type: 'integer', description: 'HTTP: expected status (default 200)' },
                  body: { type: 'string', description: 'HTTP: a substring the answer body must hold' },
                  payload: { type: 'string', description: 'UDP: request payload (text); any answer is good' },
                  on_down: {
                    description: 'sessions of a DOWN backend: STAY (default) or MOVE to the others',
                    anyOf: [
                      { type: 'string', const: 'STAY' },
                      { type: 'string', const: 'MOVE' },
                    ],
                  },
                },
              },
            },
          },
          children: [
            {
              segment: 'pool',
              kind: 'list',
              description: 'backend servers, by id',
              schema: {
                type: 'object',
                description: 'a backend server',
                properties: {
                  id: { type: 'integer', description: 'backend id: an opaque uint32' },
                  mac: { type: 'string', description: 'MAC address, e.g. aa:bb:cc:dd:ee:ff' },
                  ip: {
                    type: 'string',
                    description:
                      'IPv4 or IPv6 address of the server (its MAC is found by ARP, or Neighbor Discovery for IPv6)',
                  },
                  weight: {
                    type: 'integer',
                    description: 'share of new flows relative to the others, 0..100 (default 100)',
                  },
                  state: {
                    description: 'ACTIVE (default), DRAINING (no new flows), DISABLED',
                    anyOf: [
                      { type: 'string', const: 'ACTIVE' },
                      { type: 'string', const: 'DRAINING' },
                      { type: 'string', const: 'DISABLED' },
                    ],
                  },
                  deadline: {
                    type: 'number',
                    description: 'DRAINING: seconds its sessions may stay at most (default: until they end)',
                  },
                  on_drained: {
                    description: 'a drained backend becomes DISABLED (default) or is deleted',
                    anyOf: [
                      { type: 'string', const: 'DISABLE' },
                      { type: 'string', const: 'DELETE' },
                    ],
                  },
                  state_since: {
                    type: 'string',
                    description: 'when state last changed (ISO 8601; set by lbdsrd)',
                  },
                  healthcheck: {
                    type: 'object',
                    description: 'health check of the backends',
                    properties: {
                      type: {
                        description: 'probe: NONE (the backend counts as UP), TCP, HTTP, UDP, ICMP',
                        anyOf: [
                          { type: 'string', const: 'NONE' },
                          { type: 'string', const: 'TCP' },
                          { type: 'string', const: 'HTTP' },
                          { type: 'string', const: 'UDP' },
                          { type: 'string', const: 'ICMP' },
                        ],
                      },
                      port: {
                        type: 'integer',
                        description: "TCP/UDP/HTTP port (default: the service's port)",
                      },
                      interval: { type: 'number', description: 'seconds between probes (default 2)' },
                      timeout: {
                        type: 'number',
                        description: 'seconds a probe may take, less than interval (default 1)',
                      },
                      rise: {
                        type: 'integer',
                        description: 'good probes in a row that make a backend UP (default 2)',
                      },
                      fall: {
                        type: 'integer',
                        description: 'bad probes in a row that make a backend DOWN (default 3)',
                      },
                      path: { type: 'string', description: 'HTTP: request path (default /)' },
                      expect: { type: 'integer', description: 'HTTP: expected status (default 200)' },
                      body: { type: 'string', description: 'HTTP: a substring the answer body must hold' },
                      payload: {
                        type: 'string',
                        description: 'UDP: request payload (text); any answer is good',
                      },
                      on_down: {
                        description: 'sessions of a DOWN backend: STAY (default) or MOVE to the others',
                        anyOf: [
                          { type: 'string', const: 'STAY' },
                          { type: 'string', const: 'MOVE' },
                        ],
                      },
                    },
                  },
                  health: { type: 'string', description: 'UP, DOWN or UNKNOWN (read-only)', readOnly: true },
                  health_since: {
                    type: 'string',
                    description: 'when health last changed (read-only)',
                    readOnly: true,
                  },
                  health_reason: {
                    type: 'string',
                    description: 'why health last changed (read-only)',
                    readOnly: true,
                  },
                  mac_in_use: {
                    type: 'string',
                    description: 'the MAC frames go to (read-only)',
                    readOnly: true,
                  },
                  mac_source: {
                    type: 'string',
                    description: 'where mac_in_use came from: CONFIG, ARP, ND or NONE (read-only)',
                    readOnly: true,
                  },
                  mac_seen: {
                    type: 'string',
                    description: 'last ARP or Neighbor Advertisement answer (read-only)',
                    readOnly: true,
                  },
                  sessions: { type: 'integer', description: 'live sessions (read-only)', readOnly: true },
                  serving: {
                    type: 'boolean',
                    description: 'takes new flows now (read-only)',
                    readOnly: true,
                  },
                  arp_flux: {
                    type: 'boolean',
                    description: 'the server answers ARP for the VIP: DSR misconfigured (read-only)',
                    readOnly: true,
                  },
                },
              },
              key: { field: 'id' },
              children: [
                {
                  segment: 'mac',
                  kind: 'leaf',
                  description: 'MAC address, e.g. aa:bb:cc:dd:ee:ff',
                  schema: { type: 'string', description: 'MAC address, e.g. aa:bb:cc:dd:ee:ff' },
                  optional: true,
                },
                {
                  segment: 'ip',
                  kind: 'leaf',
                  description:
                    'IPv4 or IPv6 address of the server (its MAC is found by ARP, or Neighbor Discovery for IPv6)',
                  schema: {
                    type: 'string',
                    description:
                      'IPv4 or IPv6 address of the server (its MAC is found by ARP, or Neighbor Discovery for IPv6)',
                  },
                  optional: true,
                },
                {
                  segment: 'healthcheck',
                  kind: 'container',
                  description: "health check of this backend: overrides the pool's, field by field",
                  schema: {
                    type: 'object',
                    description: 'health check of the backends',
                    properties: {
                      type: {
                        description: 'probe: NONE (the backend counts as UP), TCP, HTTP, UDP, ICMP',
                        anyOf: [
                          { type: 'string', const: 'NONE' },
                          { type: 'string', const: 'TCP' },
                          { type: 'string', const: 'HTTP' },
                          { type: 'string', const: 'UDP' },
                          { type: 'string', const: 'ICMP' },
                        ],
                      },
                      port: {
                        type: 'integer',
                        description: "TCP/UDP/HTTP port (default: the service's port)",
                      },
                      interval: { type: 'number', description: 'seconds between probes (default 2)' },
                      timeout: {
                        type: 'number',
                        description: 'seconds a probe may take, less than interval (default 1)',
                      },
                      rise: {
                        type: 'integer',
                        description: 'good probes in a row that make a backend UP (default 2)',
                      },
                      fall: {
                        type: 'integer',
                        description: 'bad probes in a row that make a backend DOWN (default 3)',
                      },
                      path: { type: 'string', description: 'HTTP: request path (default /)' },
                      expect: { type: 'integer', description: 'HTTP: expected status (default 200)' },
                      body: { type: 'string', description: 'HTTP: a substring the answer body must hold' },
                      payload: {
                        type: 'string',
                        description: 'UDP: request payload (text); any answer is good',
                      },
                      on_down: {
                        description: 'sessions of a DOWN backend: STAY (default) or MOVE to the others',
                        anyOf: [
                          { type: 'string', const: 'STAY' },
                          { type: 'string', const: 'MOVE' },
                        ],
                      },
                    },
                  },
                  optional: true,
                },
              ],
            },
            {
              segment: 'healthcheck',
              kind: 'container',
              description: 'health check of the backends',
              schema: {
                type: 'object',
                description: 'health check of the backends',
                properties: {
                  type: {
                    description: 'probe: NONE (the backend counts as UP), TCP, HTTP, UDP, ICMP',
                    anyOf: [
                      { type: 'string', const: 'NONE' },
                      { type: 'string', const: 'TCP' },
                      { type: 'string', const: 'HTTP' },
                      { type: 'string', const: 'UDP' },
                      { type: 'string', const: 'ICMP' },
                    ],
                  },
                  port: { type: 'integer', description: "TCP/UDP/HTTP port (default: the service's port)" },
                  interval: { type: 'number', description: 'seconds between probes (default 2)' },
                  timeout: {
                    type: 'number',
                    description: 'seconds a probe may take, less than interval (default 1)',
                  },
                  rise: {
                    type: 'integer',
                    description: 'good probes in a row that make a backend UP (default 2)',
                  },
                  fall: {
                    type: 'integer',
                    description: 'bad probes in a row that make a backend DOWN (default 3)',
                  },
                  path: { type: 'string', description: 'HTTP: request path (default /)' },
                  expect: { type: 'integer', description: 'HTTP: expected status (default 200)' },
                  body: { type: 'string', description: 'HTTP: a substring the answer body must hold' },
                  payload: { type: 'string', description: 'UDP: request payload (text); any answer is good' },
                  on_down: {
                    description: 'sessions of a DOWN backend: STAY (default) or MOVE to the others',
                    anyOf: [
                      { type: 'string', const: 'STAY' },
                      { type: 'string', const: 'MOVE' },
                    ],
                  },
                },
              },
              optional: true,
            },
          ],
        },
      ],
    },
    {
      segment: 'probe_ip',
      kind: 'leaf',
      description: 'source IPv4 of health-check probes',
      schema: { type: 'string', description: 'source IPv4 of health-check probes' },
      optional: true,
    },
    {
      segment: 'sessions',
      kind: 'container',
      description: 'session table: settings and the active sessions (?limit=N)',
      schema: {
        type: 'object',
        description: 'session table settings; GET also lists sessions',
        properties: {
          capacity: { type: 'integer', description: 'maximum entries of the session table' },
          timeouts: {
            type: 'object',
            description: 'idle timeouts, seconds',
            properties: {
              tcp: { type: 'integer', description: 'TCP idle timeout, seconds' },
              udp: { type: 'integer', description: 'UDP idle timeout, seconds' },
              icmp: { type: 'integer', description: 'ICMP idle timeout, seconds' },
            },
          },
          record_non_syn: {
            type: 'boolean',
            description:
              'record a session for a TCP segment that is not a SYN and has none (default false: forwarded by Maglev, counted unrecorded)',
          },
        },
      },
    },
    {
      segment: 'stats',
      kind: 'container',
      description: 'counters of the data plane and their rates over 1 s and 60 s (read-only)',
      schema: {
        type: 'object',
        description: 'counters of the data plane and their rates (read-only)',
        properties: {
          rates: {
            type: 'object',
            description: 'frame and byte rates per port and per backend (read-only)',
            properties: {
              last1s: {
                type: 'object',
                description: 'rates over the last 1 s',
                properties: {
                  seconds: {
                    type: 'number',
                    description: 'seconds covered (less while the daemon is younger)',
                  },
                  ports: {
                    type: 'object',
                    properties: {
                      frontend: {
                        type: 'object',
                        description: 'rates of a port',
                        properties: {
                          rxFramesPerSec: {
                            type: 'number',
                            description:
                              'frames received (absent: the plane reads none of the port), per second',
                          },
                          rxBytesPerSec: {
                            type: 'number',
                            description:
                              'bytes received (absent: the plane reads none of the port), per second',
                          },
                          txFramesPerSec: { type: 'number', description: 'frames sent, per second' },
                          txBytesPerSec: { type: 'number', description: 'bytes sent, per second' },
                        },
                      },
                      backend: {
                        type: 'object',
                        description: 'rates of a port',
                        properties: {
                          rxFramesPerSec: {
                            type: 'number',
                            description:
                              'frames received (absent: the plane reads none of the port), per second',
                          },
                          rxBytesPerSec: {
                            type: 'number',
                            description:
                              'bytes received (absent: the plane reads none of the port), per second',
                          },
                          txFramesPerSec: { type: 'number', description: 'frames sent, per second' },
                          txBytesPerSec: { type: 'number', description: 'bytes sent, per second' },
                        },
                      },
                    },
                  },
                  backends: { type: 'array' },
                },
              },
              last60s: {
                type: 'object',
                description: 'rates over the last 60 s',
                properties: {
                  seconds: {
                    type: 'number',
                    description: 'seconds covered (less while the daemon is younger)',
                  },
                  ports: {
                    type: 'object',
                    properties: {
                      frontend: {
                        type: 'object',
                        description: 'rates of a port',
                        properties: {
                          rxFramesPerSec: {
                            type: 'number',
                            description:
                              'frames received (absent: the plane reads none of the port), per second',
                          },
                          rxBytesPerSec: {
                            type: 'number',
                            description:
                              'bytes received (absent: the plane reads none of the port), per second',
                          },
                          txFramesPerSec: { type: 'number', description: 'frames sent, per second' },
                          txBytesPerSec: { type: 'number', description: 'bytes sent, per second' },
                        },
                      },
                      backend: {
                        type: 'object',
                        description: 'rates of a port',
                        properties: {
                          rxFramesPerSec: {
                            type: 'number',
                            description:
                              'frames received (absent: the plane reads none of the port), per second',
                          },
                          rxBytesPerSec: {
                            type: 'number',
                            description:
                              'bytes received (absent: the plane reads none of the port), per second',
                          },
                          txFramesPerSec: { type: 'number', description: 'frames sent, per second' },
                          txBytesPerSec: { type: 'number', description: 'bytes sent, per second' },
                        },
                      },
                    },
                  },
                  backends: { type: 'array' },
                },
              },
            },
          },
        },
      },
      readOnly: true,
    },
    {
      segment: 'events',
      kind: 'container',
      description: 'event log: configuration changes, data plane attach/fail/restart (read-only)',
      schema: { type: 'array' },
      readOnly: true,
    },
    {
      segment: 'vips',
      kind: 'container',
      description: 'VIPs and whether this node announces them: reachable, or withdrawn and why (read-only)',
      schema: { type: 'array', description: 'the VIPs of the instance, in address order (read-only)' },
      readOnly: true,
    },
    {
      segment: 'explain',
      kind: 'action',
      description: 'what the running data plane does with one frame, and why (changes nothing)',
      schema: {
        type: 'object',
        description: 'a flow (or an ARP request) to explain',
        properties: {
          arp: { type: 'boolean', description: 'an ARP request (with who_has)' },
          who_has: {
            type: 'string',
            description:
              'the address asked for: IPv4, an ARP request; IPv6, a Neighbor Solicitation (src is the asker)',
          },
          src: {
            type: 'string',
            description:
              'client address, IPv4 or IPv6 as dst (ARP: the asker, default 0.0.0.0; ND: link-local of src_mac)',
          },
          dst: { type: 'string', description: 'destination address (a VIP), IPv4 or IPv6' },
          proto: {
            description: 'TCP, UDP or ICMP (ICMPv6 for IPv6 addresses)',
            anyOf: [
              { type: 'string', const: 'TCP' },
              { type: 'string', const: 'UDP' },
              { type: 'string', const: 'ICMP' },
            ],
          },
          sport: {
            type: 'integer',
            description: 'client port (TCP, UDP; of the quoted flow for an ICMP error)',
          },
          dport: {
            type: 'integer',
            description: 'VIP port (TCP, UDP; of the quoted flow for an ICMP error)',
          },
          flags: { type: 'string', description: 'TCP flags, e.g. SYN or SYN,ACK (default ACK)' },
          type: {
            type: 'integer',
            description: 'ICMP type (default 8, echo; IPv6: 128, errors 1..4 quote the flow)',
          },
          code: { type: 'integer', description: 'ICMP code' },
          inner: {
            description: 'ICMP error: protocol of the quoted flow (default TCP)',
            anyOf: [
              { type: 'string', const: 'TCP' },
              { type: 'string', const: 'UDP' },
              { type: 'string', const: 'ICMP' },
            ],
          },
          from: { type: 'string', description: 'ICMP error: its sender (default src)' },
          mac: {
            type: 'string',
            description: 'Ethernet destination (default: the VIP’s frontend MAC; broadcast for ARP)',
          },
          src_mac: { type: 'string', description: 'Ethernet source (default 02:00:00:00:00:01)' },
          port: {
            description: 'the port the frame arrives on (default FRONTEND)',
            anyOf: [
              { type: 'string', const: 'FRONTEND' },
              { type: 'string', const: 'BACKEND' },
            ],
          },
        },
      },
    },
  ],
};
