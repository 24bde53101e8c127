// Planning step two: the services in the data plane after a plan (those with a VIP and a frontend MAC)
// and the Maglev entries that change in each. A service's table is rebuilt only when its serving members
// (ids, slots, weights) differ from those it was built from, so a change of one backend among 4,096 in
// one service leaves the other services' tables alone. A service whose VIP, protocol or port changes is
// removed and added again under its index. Pure: no I/O.
import { buildMaglevOf } from '../core/maglev.js';
import type { ServiceState } from './control.js';
import type { Desired, DesiredService } from './desired.js';
import type { NextSlots } from './next-slots.js';
import type { RemovedService, ServiceEntry, ServicePlan } from './plan.js';
import { NO_CHANGES, scratchTable, tableChanges } from './table-changes.js';

/** The serving members a table is built from: ids[i] in slots[i] with weights[i]. */
export interface Members {
  ids: Float64Array;
  slots: Float64Array;
  weights: Float64Array;
}

function membersOf(s: DesiredService, slots: Int32Array): Members {
  let n = 0;
  for (const b of s.backends) if (b.serving) n++;
  const m = { ids: new Float64Array(n), slots: new Float64Array(n), weights: new Float64Array(n) };
  let i = 0;
  s.backends.forEach((b, j) => {
    if (!b.serving) return;
    m.ids[i] = b.id;
    m.slots[i] = slots[j]!;
    m.weights[i++] = b.weight;
  });
  return m;
}

function sameMembers(a: Members | undefined, b: Members): boolean {
  if (a === undefined || a.ids.length !== b.ids.length) return false;
  for (let i = 0; i < b.ids.length; i++) {
    if (a.ids[i] !== b.ids[i] || a.slots[i] !== b.slots[i] || a.weights[i] !== b.weights[i]) return false;
  }
  return true;
}

function macEq(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 6; i++) if (a[i] !== b[i]) return false;
  return true;
}

function removal(s: ServiceState): RemovedService {
  return { index: s.index, name: s.name, vip: s.vip, vip6: s.vip6 ?? null, proto: s.proto, port: s.port };
}

function sameVip6(a: Uint8Array | null | undefined, b: Uint8Array | null | undefined): boolean {
  if (!a || !b) return !a && !b;
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function nextServices(
  d: Desired,
  next: NextSlots,
  current: ReadonlyMap<number, ServiceState>,
  built: ReadonlyMap<number, Members>,
  idBefore: (slot: number) => number | undefined,
): { services: ServicePlan[]; removed: RemovedService[]; members: Map<number, Members> } {
  const services: ServicePlan[] = [];
  const removed: RemovedService[] = [];
  const members = new Map<number, Members>();
  const seen = new Set<number>();
  d.services.forEach((s, p) => {
    const index = next.indexes[p]!;
    seen.add(index);
    let old = current.get(index);
    const hasVip = s.vip !== undefined || s.vip6 !== undefined;
    const inPlane = hasVip && s.mac !== undefined;
    if (
      old !== undefined &&
      (!inPlane ||
        next.reborn.has(index) ||
        old.vip !== (s.vip ?? 0) ||
        !sameVip6(old.vip6, s.vip6) ||
        old.proto !== s.proto ||
        old.port !== s.port)
    ) {
      removed.push(removal(old));
      old = undefined;
    }
    if (!hasVip || s.mac === undefined) return;
    const m = membersOf(s, next.slotsOf[p]!);
    members.set(index, m);
    let maglev = NO_CHANGES;
    if (old === undefined || !sameMembers(built.get(index), m)) {
      // the table is only compared with the current one: the plan carries the entries that changed
      const table = buildMaglevOf(m.ids, m.slots, scratchTable(), m.weights);
      maglev = tableChanges(old ? old.table : null, table, next.reused, idBefore, next.idAt);
    }
    const entry: ServiceEntry = {
      index,
      name: s.name,
      vip: s.vip ?? 0,
      vip6: s.vip6 ?? null,
      proto: s.proto,
      port: s.port,
      mac: s.mac,
      algorithm: s.algorithm,
      backends: m.ids.length,
    };
    const entryChanged =
      !old ||
      !macEq(old.mac, entry.mac) ||
      old.algorithm !== entry.algorithm ||
      old.backends !== entry.backends;
    if (old && !entryChanged && maglev.index.length === 0) return;
    services.push({ ...entry, kind: old ? 'changed' : 'added', entryChanged, maglev });
  });
  current.forEach((svc, index) => {
    if (!seen.has(index)) removed.push(removal(svc));
  });
  return { services, removed, members };
}
