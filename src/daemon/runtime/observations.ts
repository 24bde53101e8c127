// What the daemon observed of each backend of each instance, beyond its configuration: the MAC that
// ARP resolved (backends by IP), when it was last heard, the health found by the prober with the time
// and reason of its last change, and whether the server answered ARP for its VIP (ARP flux). Keyed by
// instance, then `${service}/${id}`. ControlState.plan reads it through `observations(instance)`; what
// changes the plan (health, MAC) is told apart from what does not (silence, flux). Pure: no I/O.
import type { BackendObservation, Health, Observations } from '../../core/model.js';

export interface Observed {
  /** MAC resolved by ARP (lower-case colon text), kept while the server is silent. */
  mac?: string;
  /** ISO 8601 time of the last ARP answer, and since when it has been silent (while silent). */
  macSeen?: string;
  macSilentSince?: string;
  health: Health;
  healthSince?: string;
  healthReason?: string;
  arpFlux?: boolean;
}

export const backendKey = (service: string, id: number): string => `${service}/${id}`;

export class ObservationStore {
  private readonly byInstance = new Map<string, Map<string, Observed>>();

  get(instance: string, service: string, id: number): Observed | undefined {
    return this.byInstance.get(instance)?.get(backendKey(service, id));
  }

  /** The observations of `instance` as ControlState.plan reads them. */
  observations(instance: string): Observations {
    return (service: string, id: number): BackendObservation | undefined => {
      const o = this.get(instance, service, id);
      if (!o) return undefined;
      return o.mac === undefined ? { health: o.health } : { mac: o.mac, health: o.health };
    };
  }

  private entry(instance: string, key: string): Observed {
    let m = this.byInstance.get(instance);
    if (!m) {
      m = new Map();
      this.byInstance.set(instance, m);
    }
    let o = m.get(key);
    if (!o) {
      o = { health: 'UNKNOWN' };
      m.set(key, o);
    }
    return o;
  }

  /** A new health verdict; true when it changed (the plan must follow). */
  setHealth(instance: string, key: string, health: Health, reason: string, at: Date): boolean {
    const o = this.entry(instance, key);
    if (o.health === health) return false;
    o.health = health;
    o.healthSince = at.toISOString();
    o.healthReason = reason;
    return true;
  }

  /** An ARP answer; true when the MAC changed (the plan must follow). */
  setMac(instance: string, key: string, mac: string, at: Date): boolean {
    const o = this.entry(instance, key);
    o.macSeen = at.toISOString();
    delete o.macSilentSince;
    if (o.mac === mac) return false;
    o.mac = mac;
    return true;
  }

  /** The backend has no health check any more: a check added later starts from UNKNOWN. */
  forgetHealth(instance: string, key: string): void {
    const o = this.byInstance.get(instance)?.get(key);
    if (!o) return;
    o.health = 'UNKNOWN';
    delete o.healthSince;
    delete o.healthReason;
  }

  /** The server stopped answering ARP (its MAC is kept). */
  setSilent(instance: string, key: string, since: Date): void {
    this.entry(instance, key).macSilentSince = since.toISOString();
  }

  setArpFlux(instance: string, key: string, flux: boolean): void {
    const o = this.entry(instance, key);
    if (flux) o.arpFlux = true;
    else delete o.arpFlux;
  }

  /** Keeps only the backends of `keep` (removed backends and services lose what was seen of them). */
  prune(instance: string, keep: ReadonlySet<string>): void {
    const m = this.byInstance.get(instance);
    if (!m) return;
    for (const k of m.keys()) if (!keep.has(k)) m.delete(k);
  }

  forget(instance: string): void {
    this.byInstance.delete(instance);
  }
}
