// The metric families of lbdsrd whose values all come from one readout of the daemon at scrape time
// (registry.ts): a counter or gauge whose collect callback resets it and sets every label set the
// readout gives, so that the series of gone instances, services and backends go with them.
import { Counter, Gauge, type Registry } from 'prom-client';

export type Labels = Record<string, string | number>;
/** Fills a metric from the readout: `set` once per label set. */
export type Fill = (set: (labels: Labels, v: number) => void) => void;

/** A metric whose values are all set from the readout at scrape time (gone label sets go with it). */
function readout(
  kind: 'counter' | 'gauge',
  registers: Registry[],
  name: string,
  help: string,
  labelNames: string[],
  fill: Fill,
): void {
  const common = { name, help, labelNames, registers };
  if (kind === 'counter') {
    new Counter({
      ...common,
      collect() {
        this.reset();
        fill((labels, v) => this.inc(labels, Math.max(0, v)));
      },
    });
  } else {
    new Gauge({
      ...common,
      collect() {
        this.reset();
        fill((labels, v) => this.set(labels, v));
      },
    });
  }
}
export const readCounter = (r: Registry[], name: string, help: string, labels: string[], fill: Fill) =>
  readout('counter', r, name, help, labels, fill);
export const readGauge = (r: Registry[], name: string, help: string, labels: string[], fill: Fill) =>
  readout('gauge', r, name, help, labels, fill);
