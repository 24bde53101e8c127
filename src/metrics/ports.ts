// Frames and bytes received and sent per port, as the metrics and the rates read them from a plane's
// snapshot (docs/metrics.md): the FRONTEND and BACKEND ports' own counters (docs/semantics.md, "State of
// one instance"). A plane that reads no frame of the BACKEND port (USERSPACE: the kernel has them all)
// reports no rx for it, and none is shown (a 0 would claim that nothing arrived). Also the port
// families of GET /metrics. Bounded: two ports per instance.
import type { Registry } from 'prom-client';
import type { PortCounts, StatsSnapshot } from '../core/model.js';
import { readCounter } from './families.js';
import type { InstanceReading } from './readings.js';

export interface PortFigures {
  rx: { frontend: PortCounts; backend?: PortCounts };
  /** Bytes absent: a snapshot of a plane that does not count them. */
  tx: { frontend: { packets: number; bytes?: number }; backend: { packets: number; bytes?: number } };
}

/** The per-port figures of a snapshot; one without them (an older plane) is all FRONTEND rx. */
export function portFigures(s: StatsSnapshot): PortFigures {
  const frontend = s.rx.frontend ?? { packets: s.rx.packets, bytes: s.rx.bytes };
  const bytes = (b: number | undefined) => (b === undefined ? {} : { bytes: b });
  return {
    rx: s.rx.backend ? { frontend, backend: s.rx.backend } : { frontend },
    tx: {
      frontend: { packets: s.tx.frontend, ...bytes(s.tx.frontendBytes) },
      backend: { packets: s.tx.backend, ...bytes(s.tx.backendBytes) },
    },
  };
}

type Each = (fn: (i: InstanceReading) => void) => void;

/**
 * The port families. `sentBackendBytes` stands in for the backend port's sent bytes of a plane that
 * does not count them (the daemon's running sum of what each backend was sent: totals.ts).
 */
export function portMetrics(r: Registry[], each: Each, sentBackendBytes: (lb: string) => number): void {
  const notRead = 'absent on USERSPACE, which reads none';
  for (const [unit, field] of [
    ['frames', 'packets'],
    ['bytes', 'bytes'],
  ] as const) {
    readCounter(
      r,
      `lbdsr_port_received_${unit}_total`,
      `${unit === 'frames' ? 'Frames' : 'Bytes'} received on a port (backend: counted by the XDP program; ${notRead}).`,
      ['lb', 'port'],
      (set) =>
        each((i) => {
          const p = portFigures(i.stats);
          set({ lb: i.name, port: 'frontend' }, p.rx.frontend[field]);
          if (p.rx.backend) set({ lb: i.name, port: 'backend' }, p.rx.backend[field]);
        }),
    );
  }
  readCounter(
    r,
    'lbdsr_port_passed_frames_total',
    'Frames of a port passed to the host kernel (backend: ARP and answers to the health prober; frontend: frames not for a VIP, with host_pass).',
    ['lb', 'port'],
    (set) =>
      each((i) => {
        set({ lb: i.name, port: 'backend' }, i.stats.backendPass ?? 0);
        if (i.stats.frontendPass !== undefined) set({ lb: i.name, port: 'frontend' }, i.stats.frontendPass);
      }),
  );
  readCounter(
    r,
    'lbdsr_port_sent_frames_total',
    'Frames sent out of a port (frontend: ARP replies; backend: balanced frames).',
    ['lb', 'port'],
    (set) =>
      each((i) => {
        set({ lb: i.name, port: 'frontend' }, i.stats.tx.frontend);
        set({ lb: i.name, port: 'backend' }, i.stats.tx.backend);
      }),
  );
  readCounter(
    r,
    'lbdsr_port_sent_bytes_total',
    'Bytes sent out of a port (frontend: ARP replies; backend: balanced frames).',
    ['lb', 'port'],
    (set) =>
      each((i) => {
        const p = portFigures(i.stats);
        if (p.tx.frontend.bytes !== undefined) set({ lb: i.name, port: 'frontend' }, p.tx.frontend.bytes);
        set({ lb: i.name, port: 'backend' }, p.tx.backend.bytes ?? sentBackendBytes(i.name));
      }),
  );
}
