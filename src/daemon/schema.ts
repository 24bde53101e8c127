// The REST resources of lbdsrd, declared once. The daemon builds its routes, their fastify/ajv
// validation and /openapi.json (through @fastify/swagger) from this tree; lbdsrctl walks the same tree
// for its grammar, value coercion and `?` help. Pure module: TypeBox only, no I/O.
import { type TLiteral, type TSchema, type TUnion, Type } from '@sinclair/typebox';
import { MAX_BACKENDS, MAX_SERVICES } from '../core/constants.js';
import { ERROR_CODES } from '../core/errors.js';
import { EXPLAIN_NODE } from './explain-schema.js';
import { VIPS_NODE } from './vips-schema.js';

export const API_PREFIX = '/polycube/v1';
export const SERVICE = 'lbdsr';

const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$';

/**
 * The limits of the lists (docs/api.md): a body over one is refused by its schema (LBDSR_TOO_MANY)
 * before any work is done. The pool holds what the data planes hold (MAX_BACKENDS backend slots; the
 * Maglev table of 65,537 entries would take up to 65,536). An instance uses one FRONTEND and one
 * BACKEND port; the ports limit only bounds the work, the role check names a third port. An instance
 * has at most MAX_SERVICES services, `default` (frontend + backend) and up to MAX_SERVICES - 1 others.
 */
export const LIMITS = { pool: MAX_BACKENDS, ports: 8, services: MAX_SERVICES - 1 } as const;

/**
 * Input keyword of every object schema (see src/daemon/validation.ts): enum values are matched
 * case-insensitively and read-only fields are dropped before the object is checked.
 */
export const LENIENT = 'x-lenient';
const lenient = { [LENIENT]: true };

function literals<const T extends string>(values: readonly T[], description: string): TUnion<TLiteral<T>[]> {
  return Type.Union(
    values.map((v) => Type.Literal(v)),
    { description },
  );
}

export const MacSchema = Type.String({ description: 'MAC address, e.g. aa:bb:cc:dd:ee:ff' });
export const VipSchema = Type.String({
  description: 'virtual IP address (unicast): IPv4, e.g. 10.0.0.100, or IPv6, e.g. fd00::100',
});
export const Vip6Schema = Type.String({
  description: 'IPv6 VIP of a dual-stack service (beside its IPv4 vip; one pool), e.g. fd00::100',
});
export const PoolIdSchema = Type.Integer({
  minimum: 0,
  maximum: 0xffffffff,
  description: 'backend id: an opaque uint32',
});
export const PlaneTypeSchema = literals(
  ['XDP_DRV', 'XDP_SKB', 'USERSPACE', 'AUTO'],
  'data plane: XDP_DRV, XDP_SKB, USERSPACE, or AUTO (the fastest that works on the ports)',
);
export const AlgorithmSchema = literals(
  ['HASH_SESSION', 'HASH_SRC_IP'],
  'load-balancing algorithm (case-insensitive); affects new sessions',
);
export const LogLevelSchema = literals(
  ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERR', 'CRITICAL', 'OFF'],
  'log level of the instance',
);
export const PortTypeSchema = literals(['FRONTEND', 'BACKEND'], 'port role: FRONTEND or BACKEND');
export const FrontendModeSchema = literals(
  ['L2', 'ROUTED'],
  "how VIP traffic arrives: L2 (default; ARP answered at the frontend MAC) or ROUTED (a router's next hop: the FRONTEND interface's own MAC, no ARP)",
);
export const HostPassSchema = Type.Boolean({
  description:
    'FRONTEND frames not for a VIP (ARP and Neighbor Discovery not answered, other addresses) go to the host instead of being dropped (default: true in ROUTED, false in L2)',
});
export const StandbySchema = Type.Boolean({
  description:
    'standby of an active/standby pair: no ARP or Neighbor Solicitation answered, no gratuitous ARP or unsolicited Neighbor Advertisement sent for the VIPs, frames that arrive are still balanced (default false)',
});
export const PeerSchema = Type.String({ description: 'Linux interface the port is attached to' });
const ReadOnlyString = (description: string) => Type.String({ description, readOnly: true });

export const PortSchema = Type.Object(
  {
    name: Type.Optional(Type.String({ pattern: NAME_PATTERN, description: 'port name' })),
    type: Type.Optional(PortTypeSchema),
    peer: Type.Optional(PeerSchema),
    status: Type.Optional(ReadOnlyString('UP or DOWN: the peer interface is up (read-only)')),
    uuid: Type.Optional(ReadOnlyString('port identifier (read-only)')),
  },
  { ...lenient, additionalProperties: false, description: 'a port of the load balancer' },
);

export const FrontendSchema = Type.Object(
  { vip: Type.Optional(VipSchema), vip6: Type.Optional(Vip6Schema), mac: Type.Optional(MacSchema) },
  {
    ...lenient,
    additionalProperties: false,
    description: 'the virtual service: VIP(s) and the MAC it answers on',
  },
);

export const IpSchema = Type.String({
  description: 'IPv4 or IPv6 address of the server (its MAC is found by ARP, or Neighbor Discovery for IPv6)',
});

const Integer = (minimum: number, maximum: number, description: string) =>
  Type.Integer({ minimum, maximum, description });

/** A health check (docs/health.md); per pool, and per backend as an override of some fields. */
export const HealthCheckSchema = Type.Object(
  {
    type: Type.Optional(
      literals(
        ['NONE', 'TCP', 'HTTP', 'UDP', 'ICMP'],
        'probe: NONE (the backend counts as UP), TCP, HTTP, UDP, ICMP',
      ),
    ),
    port: Type.Optional(Integer(1, 65535, "TCP/UDP/HTTP port (default: the service's port)")),
    interval: Type.Optional(
      Type.Number({ minimum: 1, maximum: 3600, description: 'seconds between probes (default 2)' }),
    ),
    timeout: Type.Optional(
      Type.Number({
        minimum: 0.1,
        maximum: 3600,
        description: 'seconds a probe may take, less than interval (default 1)',
      }),
    ),
    rise: Type.Optional(Integer(1, 100, 'good probes in a row that make a backend UP (default 2)')),
    fall: Type.Optional(Integer(1, 100, 'bad probes in a row that make a backend DOWN (default 3)')),
    path: Type.Optional(
      Type.String({ pattern: '^/', maxLength: 1024, description: 'HTTP: request path (default /)' }),
    ),
    expect: Type.Optional(Integer(100, 599, 'HTTP: expected status (default 200)')),
    body: Type.Optional(
      Type.String({ maxLength: 1024, description: 'HTTP: a substring the answer body must hold' }),
    ),
    payload: Type.Optional(
      Type.String({ maxLength: 1024, description: 'UDP: request payload (text); any answer is good' }),
    ),
    on_down: Type.Optional(
      literals(['STAY', 'MOVE'], 'sessions of a DOWN backend: STAY (default) or MOVE to the others'),
    ),
  },
  { ...lenient, additionalProperties: false, description: 'health check of the backends' },
);

const ReadOnly = <T extends TSchema>(schema: T) => ({ ...schema, readOnly: true }) as T;

/**
 * A backend: its configuration, then what `show` adds from the daemon (BackendStatus, read-only: a
 * shown backend can be sent back).
 */
export const BackendEntrySchema = Type.Object(
  {
    id: Type.Optional(PoolIdSchema),
    mac: Type.Optional(MacSchema),
    ip: Type.Optional(IpSchema),
    weight: Type.Optional(Integer(0, 100, 'share of new flows relative to the others, 0..100 (default 100)')),
    state: Type.Optional(
      literals(['ACTIVE', 'DRAINING', 'DISABLED'], 'ACTIVE (default), DRAINING (no new flows), DISABLED'),
    ),
    deadline: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        maximum: 86400 * 365,
        description: 'DRAINING: seconds its sessions may stay at most (default: until they end)',
      }),
    ),
    on_drained: Type.Optional(
      literals(['DISABLE', 'DELETE'], 'a drained backend becomes DISABLED (default) or is deleted'),
    ),
    state_since: Type.Optional(
      Type.String({ description: 'when state last changed (ISO 8601; set by lbdsrd)' }),
    ),
    healthcheck: Type.Optional(HealthCheckSchema),
    health: Type.Optional(ReadOnlyString('UP, DOWN or UNKNOWN (read-only)')),
    health_since: Type.Optional(ReadOnlyString('when health last changed (read-only)')),
    health_reason: Type.Optional(ReadOnlyString('why health last changed (read-only)')),
    mac_in_use: Type.Optional(ReadOnlyString('the MAC frames go to (read-only)')),
    mac_source: Type.Optional(
      ReadOnlyString('where mac_in_use came from: CONFIG, ARP, ND or NONE (read-only)'),
    ),
    mac_seen: Type.Optional(ReadOnlyString('last ARP or Neighbor Advertisement answer (read-only)')),
    sessions: Type.Optional(ReadOnly(Type.Integer({ description: 'live sessions (read-only)' }))),
    serving: Type.Optional(ReadOnly(Type.Boolean({ description: 'takes new flows now (read-only)' }))),
    arp_flux: Type.Optional(
      ReadOnly(
        Type.Boolean({ description: 'the server answers ARP for the VIP: DSR misconfigured (read-only)' }),
      ),
    ),
  },
  { ...lenient, additionalProperties: false, description: 'a backend server' },
);

export const BackendSchema = Type.Object(
  {
    pool: Type.Optional(Type.Array(BackendEntrySchema, { maxItems: LIMITS.pool })),
    healthcheck: Type.Optional(HealthCheckSchema),
  },
  { ...lenient, additionalProperties: false, description: 'backend servers and their health check' },
);

export const ServiceProtocolSchema = literals(
  ['TCP', 'UDP', 'ICMP'],
  'TCP, UDP or ICMP (ICMPv6 on an IPv6 VIP) (default: any)',
);
export const ServicePortSchema = Integer(1, 65535, 'TCP/UDP destination port (default: any)');

/** A service: `default` is the instance's frontend and backend (docs/api.md, "Services"). */
export const ServiceSchema = Type.Object(
  {
    name: Type.Optional(Type.String({ pattern: NAME_PATTERN, description: 'service name' })),
    vip: Type.Optional(VipSchema),
    vip6: Type.Optional(Vip6Schema),
    protocol: Type.Optional(ServiceProtocolSchema),
    port: Type.Optional(ServicePortSchema),
    mac: Type.Optional(MacSchema),
    algorithm: Type.Optional(AlgorithmSchema),
    backend: Type.Optional(BackendSchema),
  },
  {
    ...lenient,
    additionalProperties: false,
    description: 'a service: a VIP with an optional protocol and port',
  },
);

const Seconds = (description: string) => Type.Integer({ minimum: 1, maximum: 86400 * 7, description });
export const TimeoutsSchema = Type.Object(
  {
    tcp: Type.Optional(Seconds('TCP idle timeout, seconds')),
    udp: Type.Optional(Seconds('UDP idle timeout, seconds')),
    icmp: Type.Optional(Seconds('ICMP idle timeout, seconds')),
  },
  { ...lenient, additionalProperties: false, description: 'idle timeouts, seconds' },
);

export const SessionsSchema = Type.Object(
  {
    capacity: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 100_000_000, description: 'maximum entries of the session table' }),
    ),
    timeouts: Type.Optional(TimeoutsSchema),
    record_non_syn: Type.Optional(
      Type.Boolean({
        description:
          'record a session for a TCP segment that is not a SYN and has none (default false: forwarded by Maglev, counted unrecorded)',
      }),
    ),
  },
  { ...lenient, additionalProperties: false, description: 'session table settings; GET also lists sessions' },
);

export const InstanceSchema = Type.Object(
  {
    name: Type.Optional(Type.String({ pattern: NAME_PATTERN, description: 'instance name' })),
    type: Type.Optional(PlaneTypeSchema),
    loglevel: Type.Optional(LogLevelSchema),
    algorithm: Type.Optional(AlgorithmSchema),
    mode: Type.Optional(FrontendModeSchema),
    host_pass: Type.Optional(HostPassSchema),
    standby: Type.Optional(StandbySchema),
    ports: Type.Optional(Type.Array(PortSchema, { maxItems: LIMITS.ports })),
    frontend: Type.Optional(FrontendSchema),
    backend: Type.Optional(BackendSchema),
    services: Type.Optional(Type.Array(ServiceSchema, { maxItems: LIMITS.services })),
    probe_ip: Type.Optional(
      Type.String({
        description: 'source IPv4 of health-check probes: an unused address of the backend segment',
      }),
    ),
    sessions: Type.Optional(SessionsSchema),
    plane: Type.Optional(ReadOnlyString('data plane in use, NONE without ports (read-only)')),
    planeStatus: Type.Optional(
      ReadOnlyString('RUNNING, FAILED (its worker died and is being restarted) or NONE (read-only)'),
    ),
    planeReason: Type.Optional(ReadOnlyString('why the data plane FAILED (read-only)')),
  },
  { ...lenient, additionalProperties: false, description: 'a load balancer instance' },
);

const PerSec = (description: string) => Type.Number({ description: `${description}, per second` });
const PortRateSchema = Type.Object(
  {
    rxFramesPerSec: Type.Optional(PerSec('frames received (absent: the plane reads none of the port)')),
    rxBytesPerSec: Type.Optional(PerSec('bytes received (absent: the plane reads none of the port)')),
    txFramesPerSec: PerSec('frames sent'),
    txBytesPerSec: PerSec('bytes sent'),
  },
  { description: 'rates of a port' },
);
const RateWindowSchema = (window: string) =>
  Type.Object(
    {
      seconds: Type.Number({ description: 'seconds covered (less while the daemon is younger)' }),
      ports: Type.Object({ frontend: PortRateSchema, backend: PortRateSchema }),
      backends: Type.Array(
        Type.Object({
          service: Type.String({ description: "the backend's service (default: the instance's own pool)" }),
          id: Type.Integer(),
          framesPerSec: PerSec('frames'),
          bytesPerSec: PerSec('bytes'),
        }),
      ),
    },
    { description: `rates over the last ${window}` },
  );

/** The rates `stats` shows besides the counters (src/metrics/rates.ts). */
export const RatesSchema = Type.Object(
  { last1s: RateWindowSchema('1 s'), last60s: RateWindowSchema('60 s') },
  { description: 'frame and byte rates per port and per backend (read-only)' },
);

export const StatsSchema = Type.Object(
  { rates: Type.Optional(RatesSchema) },
  { additionalProperties: true, description: 'counters of the data plane and their rates (read-only)' },
);

/** One entry of an instance's event log (src/metrics/events.ts). */
export const EventSchema = Type.Object(
  {
    seq: Type.Integer({ description: 'order of the event in the daemon' }),
    time: Type.String({ description: 'ISO 8601, UTC' }),
    origin: literals(['api', 'plane', 'health', 'announce'], 'where the event came from'),
    type: Type.String({ description: 'config, attached, failed, closed, restarted, ...' }),
    message: Type.String(),
    method: Type.Optional(Type.String({ description: 'api: HTTP method' })),
    resource: Type.Optional(Type.String({ description: "api: resource below the instance ('' = itself)" })),
    remote: Type.Optional(Type.String({ description: "api: the client's address" })),
    status: Type.Optional(Type.Integer({ description: 'api: HTTP status of the answer' })),
    plane: Type.Optional(Type.String({ description: 'plane: the data plane kind' })),
  },
  { description: 'a state change of the instance' },
);

/** A node of the resource tree: one URL segment. */
export interface ResourceNode {
  /** URL segment and CLI keyword. */
  segment: string;
  /** 'action': a POST that does something now and changes no configuration (its schema: the body). */
  kind: 'list' | 'container' | 'leaf' | 'action';
  description: string;
  /** Body schema of the node (for a list: the schema of one entry). */
  schema: TSchema;
  /** Lists: the key field of entries, the route parameter and the key's schema. */
  key?: { field: string; param: string; schema: TSchema };
  /** Lists: the most entries a body or a document may hold (LIMITS). */
  maxItems?: number;
  /** Containers and list entries. */
  children?: ResourceNode[];
  /** Only GET. */
  readOnly?: boolean;
  /** Leaves that may be unset by DELETE. */
  optional?: boolean;
}

function leaf(segment: string, schema: TSchema, optional = false): ResourceNode {
  return { segment, kind: 'leaf', description: String(schema.description ?? segment), schema, optional };
}

function readOnlyLeaf(segment: string, description: string): ResourceNode {
  return { segment, kind: 'leaf', description, schema: ReadOnlyString(description), readOnly: true };
}

/** POST .../frontend/announce: gratuitous ARP for the VIP from the frontend port (routes/announce.ts). */
export const ANNOUNCE_NODE: ResourceNode = {
  segment: 'announce',
  kind: 'action',
  description:
    'announce the VIPs from the frontend port now: gratuitous ARP (IPv4), unsolicited Neighbor Advertisement (IPv6); count=N, one per second',
  schema: Type.Object(
    {
      count: Type.Optional(
        Type.Integer({ minimum: 1, maximum: 10, description: 'how many, one second apart (default 3)' }),
      ),
    },
    {
      ...lenient,
      additionalProperties: false,
      description: 'a gratuitous ARP / unsolicited NA announcement',
    },
  ),
};

export const PORTS_NODE: ResourceNode = {
  segment: 'ports',
  kind: 'list',
  description: 'ports of the load balancer (one FRONTEND, one BACKEND)',
  schema: PortSchema,
  key: { field: 'name', param: 'port', schema: Type.String({ pattern: NAME_PATTERN }) },
  maxItems: LIMITS.ports,
  children: [
    leaf('peer', PeerSchema, true),
    leaf('type', PortTypeSchema),
    readOnlyLeaf('status', 'UP or DOWN: the peer interface is up (read-only)'),
    readOnlyLeaf('uuid', 'port identifier (read-only)'),
  ],
};

export const HEALTHCHECK_NODE: ResourceNode = {
  segment: 'healthcheck',
  kind: 'container',
  description: String(HealthCheckSchema.description),
  schema: HealthCheckSchema,
  optional: true,
};

export const POOL_NODE: ResourceNode = {
  segment: 'pool',
  kind: 'list',
  description: 'backend servers, by id',
  schema: BackendEntrySchema,
  key: { field: 'id', param: 'id', schema: PoolIdSchema },
  maxItems: LIMITS.pool,
  children: [
    leaf('mac', MacSchema, true),
    leaf('ip', IpSchema, true),
    {
      ...HEALTHCHECK_NODE,
      description: "health check of this backend: overrides the pool's, field by field",
    },
  ],
};

export const BACKEND_NODE: ResourceNode = {
  segment: 'backend',
  kind: 'container',
  description: String(BackendSchema.description),
  schema: BackendSchema,
  children: [POOL_NODE, HEALTHCHECK_NODE],
};

export const SERVICES_NODE: ResourceNode = {
  segment: 'services',
  kind: 'list',
  description: 'services: default (frontend + backend) and the others, by name',
  schema: ServiceSchema,
  key: { field: 'name', param: 'service', schema: Type.String({ pattern: NAME_PATTERN }) },
  maxItems: MAX_SERVICES,
  children: [
    leaf('vip', VipSchema, true),
    leaf('vip6', Vip6Schema, true),
    leaf('protocol', ServiceProtocolSchema, true),
    leaf('port', ServicePortSchema, true),
    leaf('mac', MacSchema, true),
    leaf('algorithm', AlgorithmSchema, true),
    BACKEND_NODE,
  ],
};

export const INSTANCE_NODE: ResourceNode = {
  segment: SERVICE,
  kind: 'list',
  description: 'DSR load balancer instances',
  schema: InstanceSchema,
  key: { field: 'name', param: 'name', schema: Type.String({ pattern: NAME_PATTERN }) },
  children: [
    leaf('type', PlaneTypeSchema, true),
    readOnlyLeaf('plane', 'data plane in use, NONE without ports (read-only)'),
    leaf('loglevel', LogLevelSchema),
    leaf('algorithm', AlgorithmSchema),
    leaf('mode', FrontendModeSchema, true),
    leaf('host_pass', HostPassSchema, true),
    leaf('standby', StandbySchema, true),
    PORTS_NODE,
    {
      segment: 'frontend',
      kind: 'container',
      description: String(FrontendSchema.description),
      schema: FrontendSchema,
      children: [
        leaf('vip', VipSchema, true),
        leaf('vip6', Vip6Schema, true),
        leaf('mac', MacSchema, true),
        ANNOUNCE_NODE,
      ],
    },
    BACKEND_NODE,
    SERVICES_NODE,
    leaf('probe_ip', Type.String({ description: 'source IPv4 of health-check probes' }), true),
    {
      segment: 'sessions',
      kind: 'container',
      description: 'session table: settings and the active sessions (?limit=N)',
      schema: SessionsSchema,
    },
    {
      segment: 'stats',
      kind: 'container',
      description: 'counters of the data plane and their rates over 1 s and 60 s (read-only)',
      schema: StatsSchema,
      readOnly: true,
    },
    {
      segment: 'events',
      kind: 'container',
      description: 'event log: configuration changes, data plane attach/fail/restart (read-only)',
      schema: Type.Array(EventSchema),
      readOnly: true,
    },
    VIPS_NODE,
    EXPLAIN_NODE,
  ],
};

/** Fields holding lists inside instance documents, with the key field of their entries. */
export const LIST_KEYS: Record<string, string> = { ports: 'name', pool: 'id', services: 'name' };

/** Properties of an object schema, or undefined. */
export function propertiesOf(schema: TSchema): Record<string, TSchema> | undefined {
  return schema.type === 'object' ? (schema.properties as Record<string, TSchema>) : undefined;
}

/** The allowed values of an enum-like schema (a union of string literals), or undefined. */
export function enumValues(schema: TSchema): string[] | undefined {
  const any = schema.anyOf as TSchema[] | undefined;
  if (!any?.every((s) => typeof s.const === 'string')) return undefined;
  return any.map((s) => s.const as string);
}

/** A short type description for help output: `<A|B>`, `<integer>`, `<string>`. */
export function describeType(schema: TSchema): string {
  const e = enumValues(schema);
  if (e) return e.join('|');
  if (schema.type === 'array') return 'list';
  if (schema.type === 'object') return 'object';
  return String(schema.type ?? 'value');
}

/** The body of every error answer. */
export const ErrorSchema = Type.Object(
  {
    code: Type.Union(
      ERROR_CODES.map((c) => Type.Literal(c)),
      { description: 'stable error code (docs/api.md lists them)' },
    ),
    message: Type.String({ description: 'what went wrong, for people' }),
  },
  { description: 'an error' },
);

/** The body of every successful change. */
export const WarningsSchema = Type.Object(
  { warnings: Type.Array(Type.String(), { description: 'accepted, but worth knowing' }) },
  { description: 'the change is live and saved' },
);
