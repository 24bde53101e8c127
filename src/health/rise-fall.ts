// The rise/fall counter of one backend's health (docs/health.md): UNKNOWN until the first verdict;
// `rise` good probes in a row make it UP, `fall` bad ones in a row make it DOWN; a probe of the other
// kind starts the count again. Pure: the prober feeds it every finished probe.

export type CounterHealth = 'UNKNOWN' | 'UP' | 'DOWN';

export class RiseFall {
  health: CounterHealth = 'UNKNOWN';
  /** Good (or bad) probes in a row so far. */
  good = 0;
  bad = 0;

  /**
   * Records one probe; returns the new health when this probe changed it (UNKNOWN -> UP or DOWN
   * included), else undefined.
   */
  record(ok: boolean, rise: number, fall: number): 'UP' | 'DOWN' | undefined {
    if (ok) {
      this.good += 1;
      this.bad = 0;
      if (this.health !== 'UP' && this.good >= rise) {
        this.health = 'UP';
        return 'UP';
      }
    } else {
      this.bad += 1;
      this.good = 0;
      if (this.health !== 'DOWN' && this.bad >= fall) {
        this.health = 'DOWN';
        return 'DOWN';
      }
    }
    return undefined;
  }
}
