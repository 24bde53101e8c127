// The configuration model of one lbdsr instance, following the seed's YANG (lbdsr.yang over
// polycube-standard-base) plus what the product adds (sessions settings, read-only stats).

export type PlaneType = 'XDP_DRV' | 'XDP_SKB' | 'USERSPACE';
export const PLANE_TYPES: readonly PlaneType[] = ['XDP_DRV', 'XDP_SKB', 'USERSPACE'];

export type Algorithm = 'HASH_SESSION' | 'HASH_SRC_IP';
export const ALGORITHMS: readonly Algorithm[] = ['HASH_SESSION', 'HASH_SRC_IP'];

export type LogLevel = 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERR' | 'CRITICAL' | 'OFF';
export const LOG_LEVELS: readonly LogLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERR', 'CRITICAL', 'OFF'];

export type PortType = 'FRONTEND' | 'BACKEND';

/**
 * How frames reach the FRONTEND port (docs/semantics.md, "Frontend modes"). L2: clients (or a router)
 * find each VIP by ARP at its frontend MAC. ROUTED: a router sends VIP traffic to the FRONTEND
 * interface's own MAC as its next hop; no ARP is answered for a VIP.
 */
export type FrontendMode = 'L2' | 'ROUTED';
export const FRONTEND_MODES: readonly FrontendMode[] = ['L2', 'ROUTED'];

export interface PortConfig {
  name: string;
  type: PortType;
  /** Linux interface the port is attached to. */
  peer?: string;
}

/** What a backend takes (docs/semantics.md, "Backend states"). */
export type BackendState = 'ACTIVE' | 'DRAINING' | 'DISABLED';
export const BACKEND_STATES: readonly BackendState[] = ['ACTIVE', 'DRAINING', 'DISABLED'];

export type HealthCheckType = 'NONE' | 'TCP' | 'HTTP' | 'UDP' | 'ICMP';
export const HEALTH_CHECK_TYPES: readonly HealthCheckType[] = ['NONE', 'TCP', 'HTTP', 'UDP', 'ICMP'];

/** What a health check found: UNKNOWN until the first verdict (served as UP), and without a check. */
export type Health = 'UP' | 'DOWN' | 'UNKNOWN';

/**
 * A health check, per pool and overridable per backend (the backend's fields win, field by field).
 * The probe goes to the service's VIP, addressed to the backend's MAC, from the BACKEND port, with the
 * instance's `probe_ip` as its source (docs/health.md).
 */
export interface HealthCheckConfig {
  type: HealthCheckType;
  /** TCP/UDP/HTTP destination port; default: the service's port (required when the service has none). */
  port?: number;
  /** Seconds between probes (default 2), seconds a probe may take (default 1). */
  interval?: number;
  timeout?: number;
  /** Good probes in a row that make a DOWN (or UNKNOWN) backend UP (default 2); bad ones for DOWN (default 3). */
  rise?: number;
  fall?: number;
  /** HTTP: request path (default "/"), expected status (default 200), optional body substring. */
  path?: string;
  expect?: number;
  body?: string;
  /** UDP: request payload (text) and an optional substring the answer must hold (any answer otherwise). */
  payload?: string;
  /** What happens to the established sessions of a backend that goes DOWN (default STAY). */
  on_down?: 'STAY' | 'MOVE';
}

export interface BackendConfig {
  /** Opaque uint32 identifier, unique within its pool. */
  id: number;
  /** Lower-case colon MAC; optional when `ip` is given (the MAC is then resolved by ARP). */
  mac?: string;
  /** IPv4 or IPv6 address of the server, for ARP or Neighbor Discovery resolution (and shown). */
  ip?: string;
  /** 0..100 (default 100): the backend's share of the Maglev table relative to the others; 0 takes no new flows. */
  weight?: number;
  /** Default ACTIVE. DRAINING: no new flows, sessions stay until they end or `deadline`. */
  state?: BackendState;
  /** Seconds a DRAINING backend keeps its sessions at most (none: until they end). */
  deadline?: number;
  /** What a drained backend becomes (default DISABLE: state DISABLED; DELETE: removed from the pool). */
  on_drained?: 'DISABLE' | 'DELETE';
  /** When `state` last changed (ISO 8601, set by the daemon; read-only). */
  state_since?: string;
  /** Per-backend override of the pool's health check. */
  healthcheck?: Partial<HealthCheckConfig>;
}

/** A pool of backends with its health check. */
export interface PoolConfig {
  pool: BackendConfig[];
  healthcheck?: HealthCheckConfig;
}

/** TCP, UDP or ICMP: what a service may be restricted to. */
export type ServiceProtocol = 'TCP' | 'UDP' | 'ICMP';
export const SERVICE_PROTOCOLS: readonly ServiceProtocol[] = ['TCP', 'UDP', 'ICMP'];

/**
 * A service besides `default` (the instance's `frontend` and `backend`): a VIP with an optional
 * protocol and port (port only with TCP or UDP), its own frontend MAC (default: the instance's),
 * algorithm (default: the instance's) and pool.
 */
export interface ServiceConfig {
  name: string;
  /** IPv4 (a.b.c.d) or IPv6 (RFC 4291 text) address. */
  vip: string;
  /**
   * A second VIP, IPv6, for a dual-stack service (one pool, one Maglev table): only with an IPv4 `vip`
   * (docs/semantics.md, "IPv6").
   */
  vip6?: string;
  protocol?: ServiceProtocol;
  port?: number;
  mac?: string;
  algorithm?: Algorithm;
  backend: PoolConfig;
}

export interface SessionSettings {
  /** Maximum entries of the session table. */
  capacity: number;
  /** Idle timeouts in seconds. */
  timeouts: { tcp: number; udp: number; icmp: number };
  /**
   * Whether a TCP segment that is not a SYN and has no session records one. Default false: it is
   * forwarded by Maglev and counted `unrecorded`, so that a flood of spoofed ACKs cannot evict
   * established sessions (docs/semantics.md, "Session floods").
   */
  record_non_syn?: boolean;
}

export interface InstanceConfig {
  name: string;
  /** Data plane; undefined = automatic (the fastest that works on the ports' interfaces). */
  type?: PlaneType;
  loglevel: LogLevel;
  algorithm: Algorithm;
  ports: PortConfig[];
  /** The service named `default`: the seed's commands. */
  frontend: { vip?: string; vip6?: string; mac?: string };
  backend: PoolConfig;
  /** The other services (at most MAX_SERVICES with `default`). */
  services?: ServiceConfig[];
  /**
   * Source IPv4 address of health-check probes: an address of the backend segment that no host owns;
   * lbdsr answers ARP for it on the BACKEND port with `probeMac(probe_ip)` (docs/health.md).
   */
  probe_ip?: string;
  sessions: SessionSettings;
  /** Default L2 (docs/semantics.md, "Frontend modes"). */
  mode?: FrontendMode;
  /**
   * FRONTEND frames that are not for a VIP (ARP not answered, other EtherTypes, VLAN, IPv4 to another
   * address) go to the host's stack instead of being dropped, so that the host can share the NIC (its
   * own ARP, BGP session, management). Default: true in mode ROUTED, false in L2.
   */
  host_pass?: boolean;
  /**
   * The standby node of an active/standby pair (e.g. under keepalived VRRP): no ARP is answered and no
   * gratuitous ARP sent for the VIPs, and no VIP is announced reachable; frames that still arrive are
   * balanced. Going active sends gratuitous ARP. Default false.
   */
  standby?: boolean;
}

export const DEFAULT_SESSION_SETTINGS: SessionSettings = {
  capacity: 1_000_000,
  timeouts: { tcp: 600, udp: 60, icmp: 30 },
  record_non_syn: false,
};

/** Interfaces resolved by the daemon for the ports that have a peer. */
export interface ResolvedPort {
  name: string;
  ifname: string;
  ifindex: number;
  /** MAC of the Linux interface itself. */
  mac: string;
}

export interface ResolvedPorts {
  frontend?: ResolvedPort;
  backend?: ResolvedPort;
}

/** What the daemon observed of one backend, beyond its configuration (src/daemon/runtime). */
export interface BackendObservation {
  /** MAC resolved by ARP for a backend given by IP (lower-case colon text), while known. */
  mac?: string;
  health: Health;
}

/** The observation of backend `id` of service `service` ('default' for the seed's pool), if any. */
export type Observations = (service: string, id: number) => BackendObservation | undefined;

/** What `backend pool show` adds to a backend's configuration: what is live about it (read-only). */
export interface BackendStatus {
  health: Health;
  /** When `health` last changed (ISO 8601) and why (e.g. "3 probes failed: connection refused"). */
  health_since?: string;
  health_reason?: string;
  /** The MAC in use (none: unknown, the backend takes no new flows) and where it came from. */
  mac_in_use?: string;
  mac_source: 'CONFIG' | 'ARP' | 'ND' | 'NONE';
  /** ISO 8601 time of the last ARP answer (backends by IP). */
  mac_seen?: string;
  /** Live sessions on the backend (an estimate refreshed every few seconds). */
  sessions: number;
  /** Takes new flows now (in the Maglev table). */
  serving: boolean;
  /** The server answered ARP for the VIP on the backend segment: the DSR misconfiguration (ARP flux). */
  arp_flux?: boolean;
}

export interface BackendStats {
  id: number;
  /** The service of the backend ('default' for the seed's pool). */
  service?: string;
  packets: number;
  bytes: number;
  sessions: number;
}

/** Frames and bytes of one port. */
export interface PortCounts {
  packets: number;
  bytes: number;
}

export interface StatsSnapshot {
  /**
   * Every frame received (both ports), and the same per port (docs/semantics.md, "State of one
   * instance"): `backend` is what arrived on the BACKEND port (0 in USERSPACE, which reads none of it:
   * the daemon leaves it out there), `frontend` the rest. Optional: snapshots of older planes lack them.
   */
  rx: { packets: number; bytes: number; frontend?: PortCounts; backend?: PortCounts };
  /** Frames sent per port (frontend: ARP replies; backend: balanced frames) and, optional, their bytes. */
  tx: { frontend: number; backend: number; frontendBytes?: number; backendBytes?: number };
  arpReplies: number;
  /** Neighbor Advertisements sent for an IPv6 VIP (rule 6b). Optional: older planes lack it. */
  ndReplies?: number;
  /** BACKEND port frames passed to the kernel: ARP and answers to the health prober (rule 1). */
  backendPass?: number;
  /** FRONTEND frames not for a VIP passed to the host's stack (host_pass; docs/semantics.md, "Frontend modes"). */
  frontendPass?: number;
  /** Drop counts by reason name (see DROP_REASON_NAMES); every reason present. */
  drops: Record<string, number>;
  sessions: {
    hit: number;
    miss: number;
    expired: number;
    stale: number;
    /** TCP misses that were not SYNs, forwarded by Maglev without a session (record_non_syn off). */
    unrecorded: number;
    evicted: number;
    active: number;
  };
  /** Fragment-table lookups of later TCP/UDP fragments (docs/semantics.md, "Fragments"). */
  fragments: { hit: number; miss: number };
  backends: BackendStats[];
  /** The plane behind the counters (the daemon adds it): its kind, whether it works, its restarts. */
  plane?: PlaneStats;
}

export interface PlaneStats {
  kind: PlaneType;
  status: 'RUNNING' | 'FAILED';
  /** Why it failed (while FAILED). */
  reason?: string;
  /** Times the plane's worker was restarted after it died (USERSPACE). */
  restarts: number;
  /** Frames the kernel dropped because the plane's RX ring was full (USERSPACE). */
  rxRingDrops?: number;
}

export interface SessionEntry {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  proto: 'TCP' | 'UDP' | 'ICMP' | 'ICMPV6';
  backend: number;
  /** Milliseconds since the last packet of the flow. */
  idleMs: number;
}
