// What the health prober reports about an instance, turned into the runtime's observations and the
// event log: a health verdict or a new MAC (ARP, or ND for an IPv6 address) re-plans the instance (Instances.refresh) and is logged;
// ARP silence is logged (the MAC is kept); ARP flux (a backend answering ARP for its VIP, the classic
// DSR misconfiguration) is logged loudly and shown in the backend's status. Every probe reaches the
// metrics through `probe`.
import { looksIpv6 } from '../../core/addr.js';
import type { BackendConfig, InstanceConfig } from '../../core/model.js';
import type { ProberEvents } from '../../health/types.js';
import type { EventInput } from '../../metrics/events.js';
import { macOf, servicesOf } from './backends.js';
import { backendKey, type ObservationStore } from './observations.js';

export interface ReportSink {
  observed: ObservationStore;
  config(instance: string): InstanceConfig | undefined;
  event(instance: string, e: EventInput, level?: 'info' | 'warn'): void;
  /** Re-plans the instance with the observations now. */
  refresh(instance: string): void;
  /** Every finished probe (metrics). */
  probe(instance: string, key: string, ok: boolean, latencyMs: number): void;
}

/** `web/2` as people read it. */
function who(key: string): string {
  const i = key.lastIndexOf('/');
  return `backend ${key.slice(i + 1)} of service ${key.slice(0, i)}`;
}

/** Backend `key` of `config`, if it is there. */
function backendOf(config: InstanceConfig | undefined, key: string): BackendConfig | undefined {
  for (const svc of config ? servicesOf(config) : [])
    for (const b of svc.backend.pool) if (backendKey(svc.name, b.id) === key) return b;
  return undefined;
}

/** How backend `key`'s MAC is found: ARP, or Neighbor Discovery for an IPv6 address. */
function resolver(config: InstanceConfig | undefined, key: string): string {
  const ip = backendOf(config, key)?.ip;
  return ip !== undefined && looksIpv6(ip) ? 'Neighbor Discovery' : 'ARP';
}

export function proberEvents(instance: string, sink: ReportSink): ProberEvents {
  const { observed } = sink;
  return {
    health(key, health, reason, at) {
      if (!observed.setHealth(instance, key, health, reason, at)) return;
      sink.event(
        instance,
        { origin: 'health', type: 'health', message: `${who(key)} is ${health}: ${reason}` },
        health === 'DOWN' ? 'warn' : 'info',
      );
      sink.refresh(instance);
    },
    mac(key, mac, at) {
      if (!observed.setMac(instance, key, mac, at)) return;
      const config = sink.config(instance);
      sink.event(instance, {
        origin: 'health',
        type: 'mac',
        message: `${who(key)}: ${resolver(config, key)} resolved its MAC to ${mac}`,
      });
      // a configured MAC wins: the answer then changes nothing live
      if (backendOf(config, key)?.mac === undefined) sink.refresh(instance);
    },
    macSilent(key, since) {
      observed.setSilent(instance, key, since);
      sink.event(
        instance,
        {
          origin: 'health',
          type: 'mac_silent',
          message: `${who(key)}: no ${resolver(sink.config(instance), key)} answer since ${since.toISOString()} (its last MAC is kept)`,
        },
        'warn',
      );
    },
    probe(key, ok, latencyMs) {
      sink.probe(instance, key, ok, latencyMs);
    },
    arpFlux(vip, macs) {
      const config = sink.config(instance);
      if (!config) return;
      const answering = new Set(macs);
      const known = new Set<string>();
      for (const svc of servicesOf(config)) {
        if (svc.vip !== vip) continue;
        for (const b of svc.backend.pool) {
          const key = backendKey(svc.name, b.id);
          const mac = macOf(b, observed.get(instance, svc.name, b.id)).mac;
          const flux = mac !== undefined && answering.has(mac);
          if (flux) known.add(mac);
          const before = observed.get(instance, svc.name, b.id)?.arpFlux === true;
          if (flux === before) continue;
          observed.setArpFlux(instance, key, flux);
          if (flux)
            sink.event(
              instance,
              {
                origin: 'health',
                type: 'arp_flux',
                message: `ARP flux: ${who(key)} (${mac}) answers ARP for the VIP ${vip} on the backend segment; set arp_ignore=1 and arp_announce=2 on it`,
              },
              'warn',
            );
        }
      }
      const others = macs.filter((m) => !known.has(m));
      if (others.length > 0)
        sink.event(
          instance,
          {
            origin: 'health',
            type: 'arp_flux',
            message: `ARP flux: ${others.join(', ')} (no backend of the VIP) answer ARP for the VIP ${vip} on the backend segment`,
          },
          'warn',
        );
    },
  };
}
