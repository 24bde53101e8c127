// The XDP plane's statistics read with 4,096 backends (what the daemon does once a second for its
// metrics and status page, on its event loop): the per-backend rows as readout.ts reads them (one batch
// lookup of the slots' counters) beside one lookup per slot (the code before), alternated in one run.
// Any configuration change that arrives during a read waits for it (issue 8, item 9).
import { DEFAULT_SESSION_SETTINGS } from '../src/core/model.js';
import { XdpMaps } from '../src/dataplane/xdp/maps.js';
import { XdpMirror } from '../src/dataplane/xdp/mirror.js';
import { loadLbdsr } from '../src/dataplane/xdp/object.js';
import { backendRows } from '../src/dataplane/xdp/readout.js';
import { ControlState } from '../src/pipeline/control.js';
import { median } from '../testkit/timing.js';
import type { Section } from './report.js';

const BACKENDS = 4096;
const hex = (n: number) => n.toString(16).padStart(2, '0');

export function statsRead(r: Section, rounds = 41): void {
  const ld = loadLbdsr({ capacity: 1024 });
  try {
    const maps = new XdpMaps(ld.fds);
    const mirror = new XdpMirror(maps);
    const pool = Array.from({ length: BACKENDS }, (_, i) => ({
      id: i + 1,
      mac: `02:00:00:00:${hex((i + 1) >> 8)}:${hex((i + 1) & 255)}`,
    }));
    const config = {
      name: 'stats',
      loglevel: 'INFO' as const,
      algorithm: 'HASH_SESSION' as const,
      ports: [],
      frontend: { vip: '10.0.0.100', mac: 'aa:bb:cc:dd:ee:ff' },
      backend: { pool },
      sessions: { ...DEFAULT_SESSION_SETTINGS, capacity: 1024 },
    };
    mirror.apply(new ControlState().apply(config, '02:00:00:00:00:fe'), 0, 1);
    const perSlot = () =>
      mirror
        .liveSlots()
        .sort((a, b) => a.service - b.service || a.id - b.id)
        .map((s) => ({ id: s.id, ...maps.readBackendStats(s.slot) }));
    const batch = () => backendRows(mirror, maps);
    const time = (f: () => unknown) => {
      const t0 = process.hrtime.bigint();
      f();
      return Number(process.hrtime.bigint() - t0) / 1e6;
    };
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < rounds; i++) {
      b.push(time(batch));
      a.push(time(perSlot));
    }
    const [now, before] = [median(b), median(a)];
    r.say(
      `  stats read, ${BACKENDS.toLocaleString('en')} backends (per-backend rows, the daemon's once-a-second read): ` +
        `one batch lookup ${now.toFixed(2)} ms, one lookup per slot ${before.toFixed(2)} ms (${(before / now).toFixed(1)}x)`,
    );
    r.figure('stats_read_4096_backends', {
      value: now,
      unit: 'ms',
      baseline: before,
      baseline_unit: 'ms',
      ratio: now / before,
      note: `median of ${rounds}; baseline: one map lookup per slot (the code before), alternated in the same run`,
    });
  } finally {
    ld.obj.close();
  }
}
