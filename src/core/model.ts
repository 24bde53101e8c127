// The configuration model of one lbdsr instance, following the seed's YANG (lbdsr.yang over
// polycube-standard-base) plus what the product adds (sessions settings, read-only stats).

export type PlaneType = 'XDP_DRV' | 'XDP_SKB' | 'USERSPACE';
export const PLANE_TYPES: readonly PlaneType[] = ['XDP_DRV', 'XDP_SKB', 'USERSPACE'];

export type Algorithm = 'HASH_SESSION' | 'HASH_SRC_IP';
export const ALGORITHMS: readonly Algorithm[] = ['HASH_SESSION', 'HASH_SRC_IP'];

export type LogLevel = 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERR' | 'CRITICAL' | 'OFF';
export const LOG_LEVELS: readonly LogLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERR', 'CRITICAL', 'OFF'];

export type PortType = 'FRONTEND' | 'BACKEND';

export interface PortConfig {
  name: string;
  type: PortType;
  /** Linux interface the port is attached to. */
  peer?: string;
}

export interface BackendConfig {
  /** Opaque uint32 identifier. */
  id: number;
  /** Lower-case colon MAC. */
  mac: string;
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
  frontend: { vip?: string; mac?: string };
  backend: { pool: BackendConfig[] };
  sessions: SessionSettings;
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

export interface BackendStats {
  id: number;
  packets: number;
  bytes: number;
  sessions: number;
}

export interface StatsSnapshot {
  rx: { packets: number; bytes: number };
  tx: { frontend: number; backend: number };
  arpReplies: number;
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
  proto: 'TCP' | 'UDP' | 'ICMP';
  backend: number;
  /** Milliseconds since the last packet of the flow. */
  idleMs: number;
}
