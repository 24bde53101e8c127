// The daemon's VIP announcements, composed (docs/api.md, "VIP announcements"): the reachability of every
// VIP of every instance (announce.ts) re-evaluated on each cause (a committed change, a health or ARP
// observation, a plane attaching, failing, restarting or closing: each schedules an evaluation, and a
// 1 s tick catches what comes without an event, such as an interface going away), its changes in the
// instance's event log, the set of reachable VIPs handed to the file and the command (announce-hooks.ts),
// and the gauge lbdsr_vip_reachable{lb,vip}.
import { Gauge, type Registry } from 'prom-client';
import { formatIpv6 } from '../../core/addr.js';
import type { EventInput } from '../../metrics/events.js';
import type { Instances } from '../instances.js';
import type { Logger } from '../planes.js';
import { type PlaneView, reachability, type VipChange, type VipState, VipTracker } from './announce.js';
import { type AnnounceHookOptions, AnnounceHooks } from './announce-hooks.js';
import type { ObservationStore } from './observations.js';

export interface AnnouncerOptions extends AnnounceHookOptions {
  /** Period of the evaluation that catches causes without an event (ms; 0: none). Default 1000. */
  tickMs?: number;
  now?: () => number;
}

/** Where the announcer records: the instance's event log (and the daemon's log). */
export type RecordEvent = (instance: string, e: EventInput, level?: 'info' | 'warn') => void;

const NOT_FORWARDING: PlaneView = { forwarding: false, vips: new Set() };

export class Announcer {
  private readonly tracker: VipTracker;
  readonly hooks: AnnounceHooks;
  private readonly timer: NodeJS.Timeout | undefined;
  private scheduled = false;
  private closed = false;

  constructor(
    private readonly instances: Instances,
    private readonly observed: ObservationStore,
    private readonly record: RecordEvent,
    private readonly log: Logger,
    opts: AnnouncerOptions = {},
  ) {
    this.tracker = new VipTracker(opts.now);
    this.hooks = new AnnounceHooks(opts, {
      failed: (message) => this.everywhere('announce_failed', message, 'warn'),
      recovered: (message) => this.everywhere('announced', message, 'info'),
    });
    const period = opts.tickMs ?? 1000;
    if (period > 0) {
      this.timer = setInterval(() => this.evaluate(), period);
      this.timer.unref();
    }
  }

  /** A hook's failure or recovery concerns every instance: each one's event log gets it. */
  private everywhere(type: string, message: string, level: 'info' | 'warn'): void {
    const names = this.instances.all().map((i) => i.name);
    if (names.length === 0) this.log[level]({}, message);
    for (const name of names) this.record(name, { origin: 'announce', type, message }, level);
  }

  /** What the plane of `name` forwards now. */
  private planeView(name: string): PlaneView {
    const { planes } = this.instances;
    const driver = planes.driver(name);
    const ports = planes.ports(name);
    if (!driver || !ports?.frontend || !ports.backend) return NOT_FORWARDING;
    if (planes.status(name)?.status !== 'RUNNING' || !driver.control.ready) return NOT_FORWARDING;
    const services = [...driver.control.services.values()];
    return {
      forwarding: true,
      vips: new Set(services.filter((s) => s.vip !== 0).map((s) => s.vip)),
      vips6: new Set(services.flatMap((s) => (s.vip6 ? [formatIpv6(s.vip6)] : []))),
    };
  }

  /** The first publication (file written now: throws when it cannot be). */
  start(): void {
    this.update();
    this.hooks.start(this.tracker.reachable());
  }

  /** Re-evaluates every instance now and publishes the set of reachable VIPs when it changed. */
  evaluate(): void {
    if (this.closed) return;
    this.update();
    this.hooks.publish(this.tracker.reachable());
  }

  /** An evaluation soon (several causes at once make one). */
  schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.evaluate();
    });
  }

  private update(): void {
    const names = new Set<string>();
    for (const config of this.instances.all()) {
      const name = config.name;
      names.add(name);
      const verdicts = reachability(config, this.planeView(name), (service, id) =>
        this.observed.get(name, service, id),
      );
      for (const c of this.tracker.update(name, verdicts)) this.changed(c);
    }
    for (const n of this.tracker.instances()) if (!names.has(n)) this.tracker.forget(n);
  }

  private changed({ instance, state, before }: VipChange): void {
    // a new VIP that cannot be served yet says nothing new
    if (!before && !state.reachable) return;
    const message = state.reachable
      ? `VIP ${state.vip} is reachable: announced`
      : `VIP ${state.vip} is withdrawn: ${state.reason}`;
    this.record(instance, { origin: 'announce', type: 'vip', message }, state.reachable ? 'info' : 'warn');
  }

  /** The VIPs of `instance` (evaluated now). */
  vips(instance: string): VipState[] {
    this.evaluate();
    return this.tracker.list(instance);
  }

  /** Every instance's VIPs (evaluated now), by instance name. */
  all(): Array<{ instance: string; vips: VipState[] }> {
    this.evaluate();
    return this.instances.all().map((i) => ({ instance: i.name, vips: this.tracker.list(i.name) }));
  }

  /** lbdsr_vip_reachable{lb,vip} in `registry`, read at scrape time. */
  register(registry: Registry): void {
    const tracker = this.tracker;
    const fresh = () => this.evaluate();
    new Gauge({
      name: 'lbdsr_vip_reachable',
      help: 'Whether the VIP of an instance is reachable (1: announced) or withdrawn (0), docs/api.md "VIP announcements".',
      labelNames: ['lb', 'vip'],
      registers: [registry],
      collect() {
        fresh();
        this.reset();
        for (const lb of tracker.instances())
          for (const s of tracker.list(lb)) this.set({ lb, vip: s.vip }, s.reachable ? 1 : 0);
      },
    });
  }

  /** Graceful shutdown: every VIP withdrawn (empty file, the command run), then no more evaluation. */
  async withdrawAll(): Promise<void> {
    this.close();
    await this.hooks.withdrawAll();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
  }
}
