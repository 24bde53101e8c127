// The event log of the daemon: per instance, a bounded in-memory ring of the state changes an operator
// asks about afterwards ("what changed, when, who"): configuration changes (resource, method, remote
// address), data-plane attach/fail/close/restart, and later health changes (issue 10 adds an origin).
// Nothing here is persisted: a restarted daemon starts an empty log. Pure: no I/O, the clock is given.

/** Where an event came from. */
export type EventOrigin = 'api' | 'plane' | 'health' | 'announce';

export interface LbdsrEvent {
  /** Increasing over the daemon's life, across instances: orders events and shows gaps. */
  seq: number;
  /** ISO 8601, UTC. */
  time: string;
  origin: EventOrigin;
  /** What happened, e.g. `config`, `attached`, `failed`, `closed`, `restarted`. */
  type: string;
  /** One line for people. */
  message: string;
  /** api: the HTTP method, the resource below the instance, the client's address, the status. */
  method?: string;
  resource?: string;
  remote?: string;
  status?: number;
  /** plane: the data plane kind. */
  plane?: string;
}

export type EventInput = Omit<LbdsrEvent, 'seq' | 'time'>;

/** A ring of the last `capacity` events. */
class Ring {
  private readonly items: LbdsrEvent[] = [];
  private next = 0;
  constructor(private readonly capacity: number) {}

  push(e: LbdsrEvent): void {
    if (this.items.length < this.capacity) this.items.push(e);
    else this.items[this.next] = e;
    this.next = (this.next + 1) % this.capacity;
  }

  /** Oldest first. */
  list(): LbdsrEvent[] {
    if (this.items.length < this.capacity) return [...this.items];
    return [...this.items.slice(this.next), ...this.items.slice(0, this.next)];
  }
}

export const DEFAULT_EVENTS_PER_INSTANCE = 1000;

export class EventLog {
  private readonly rings = new Map<string, Ring>();
  private seq = 0;

  constructor(
    readonly perInstance = DEFAULT_EVENTS_PER_INSTANCE,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isInteger(perInstance) || perInstance < 1) throw new RangeError('perInstance must be >= 1');
  }

  record(instance: string, e: EventInput): LbdsrEvent {
    const event: LbdsrEvent = { seq: ++this.seq, time: new Date(this.now()).toISOString(), ...e };
    let ring = this.rings.get(instance);
    if (!ring) {
      ring = new Ring(this.perInstance);
      this.rings.set(instance, ring);
    }
    ring.push(event);
    return event;
  }

  /** The events of `instance`, oldest first; `limit` keeps the most recent ones. */
  list(instance: string, limit?: number): LbdsrEvent[] {
    const all = this.rings.get(instance)?.list() ?? [];
    return limit === undefined ? all : all.slice(Math.max(0, all.length - limit));
  }

  /** Drops the log of a deleted instance (names come and go: the log must not grow with them). */
  forget(instance: string): void {
    this.rings.delete(instance);
  }
}
