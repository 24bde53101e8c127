// Young-generation collections off the change road. A configuration change of an instance of 4,096
// backends allocates about a megabyte (copies of the document's lists, the plan, the pool check's
// entries, the text of config.json), and V8 collects its young generation whenever it is full: in one
// change of three or four, in the middle of the change, where the scavenge (2 ms typical, up to 10 ms
// on a loaded machine) lands in the time from the request to the change being live. Here the daemon
// collects the young generation itself when the queue of changes has drained and the answer has gone
// (setImmediate after it), whenever what is left of the young generation would not hold the next
// change, so that the next change starts with room for all it allocates. Nothing depends on it: without
// the collector (no `gc` available) the daemon works the same, with V8's own timing.
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export type GcFunction = (opts: { type: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void;

let gcFn: GcFunction | null | undefined;

/**
 * V8's `gc` (flag --expose-gc set at run time; a new context then carries the function), or null when
 * it cannot be had.
 */
function exposedGc(): GcFunction | null {
  if (gcFn === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      const f: unknown = runInNewContext('gc');
      gcFn = typeof f === 'function' ? (f as GcFunction) : null;
    } catch {
      gcFn = null;
    }
  }
  return gcFn;
}

/** The young generation's free room and use, bytes. */
function newSpace(): { used: number; free: number } {
  for (const s of getHeapSpaceStatistics()) {
    if (s.space_name === 'new_space') return { used: s.space_used_size, free: s.space_available_size };
  }
  return { used: 0, free: Number.POSITIVE_INFINITY };
}

/** The room a change is assumed to need before one was measured, and the floor of that estimate. */
const MIN_RESERVE = 1 << 20;

export class IdleCollector {
  private readonly gc: GcFunction | null;
  private pending = false;
  private closed = false;
  /** The most a change was seen to allocate in the young generation (no collection during it), bytes. */
  private largest = 0;
  private usedAtStart = -1;
  /** Collections made, for tests and logs. */
  collections = 0;

  /** `gc` and `space` stand in for V8's in tests. */
  constructor(
    gc: GcFunction | null = exposedGc(),
    private readonly space: () => { used: number; free: number } = newSpace,
  ) {
    this.gc = gc;
  }

  get available(): boolean {
    return this.gc !== null;
  }

  /** A change starts: what it allocates is measured (when no collection runs in between). */
  changeStarted(): void {
    if (this.gc) this.usedAtStart = this.space().used;
  }

  /** A change ended: notes its allocation. */
  changeEnded(): void {
    if (!this.gc || this.usedAtStart < 0) return;
    const grown = this.space().used - this.usedAtStart;
    this.usedAtStart = -1;
    // a collection during the change shrank the young generation: nothing measured
    if (grown > this.largest) this.largest = grown;
  }

  /**
   * The daemon is idle (no change queued): once the answer of the last one has gone, collect the young
   * generation if the next change might not fit in what is left of it.
   */
  idle(): void {
    if (!this.gc || this.pending || this.closed) return;
    this.pending = true;
    setImmediate(() => {
      this.pending = false;
      if (this.closed || !this.gc) return;
      const reserve = Math.max(MIN_RESERVE, 2 * this.largest);
      if (this.space().free >= reserve) return;
      this.gc({ type: 'minor' });
      this.collections++;
    });
  }

  close(): void {
    this.closed = true;
  }
}
