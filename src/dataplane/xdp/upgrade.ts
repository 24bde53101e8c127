// Adopting the maps an older lbdsr release left (pinned, or used by its running program) when some of
// their layouts differ from this release's: the maps whose layouts are unchanged are kept as they are
// (sessions, fragments, backends and their counters, the service tables), the maps this release added
// start empty, and the maps whose layout changed in a known way get their entries carried over into
// new maps. What is known is the release before IPv6 (git 4b10204, before the IPv6 contract 2e55e03):
// its struct lbdsr_service lacked the trailing vip6 (20 bytes, not 36) and its counters had two drop
// reasons fewer (ND, IPV6_EXT before the other counters) and no ND replies. Any other difference is
// not adopted (lifecycle.ts then starts afresh). See docs/xdp.md ("Upgrades").
import { DROP_MAX, MAX_SERVICES } from '../../core/constants.js';
import { closeFd, dupFd, mapInfo, mapLookup, mapUpdate, possibleCpus } from '../../kernel/libbpf.js';
import { MAP_KEYS, MAP_LAYOUT, type MapFds, type MapKey } from './maps.js';
import { loadLbdsr } from './object.js';

/**
 * A map whose layout changed: its older value size, and how its entries become this release's.
 * `afterSwap`: the old program keeps writing the old map until this release's replaces it on the
 * ports, so the entries are carried then (added to what the new program counted meanwhile).
 */
interface Migration {
  value: number;
  afterSwap?: boolean;
  carry(from: number, to: number): void;
}

const round8 = (n: number) => (n + 7) & ~7;
const key32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);

/** The pre-IPv6 release's drop reasons (this release added LBDSR_DROP_ND and _IPV6_EXT after them). */
const OLD_DROP_MAX = 17;
const OLD_CNT_MAX = OLD_DROP_MAX + 16;

/** Each service entry, zero-extended: the new trailing vip6 all zero says "no IPv6 VIP". */
function carryServices(from: number, to: number): void {
  const old = new Uint8Array(MIGRATIONS.services!.value);
  const cur = new Uint8Array(MAP_LAYOUT.services.value);
  for (let i = 0; i < MAX_SERVICES; i++) {
    if (!mapLookup(from, key32(i), old)) continue;
    cur.fill(0);
    cur.set(old, 0);
    mapUpdate(to, key32(i), cur);
  }
}

/**
 * The per-CPU counters, each added to its index in this release (the counters after the drops moved
 * by 2). Run after the swap: what the new program counts between the read and the write of this
 * one update (microseconds) is lost.
 */
function carryCounters(from: number, to: number): void {
  const ncpu = possibleCpus();
  const oldStride = round8(OLD_CNT_MAX * 8);
  const newStride = round8(MAP_LAYOUT.counters.value);
  const old = new Uint8Array(oldStride * ncpu);
  if (!mapLookup(from, key32(0), old)) return;
  const cur = new Uint8Array(newStride * ncpu);
  if (!mapLookup(to, key32(0), cur)) cur.fill(0);
  const ov = new DataView(old.buffer);
  const nv = new DataView(cur.buffer);
  for (let cpu = 0; cpu < ncpu; cpu++) {
    for (let i = 0; i < OLD_CNT_MAX; i++) {
      const j = cpu * newStride + (i < OLD_DROP_MAX ? i : i - OLD_DROP_MAX + DROP_MAX) * 8;
      nv.setBigUint64(j, nv.getBigUint64(j, true) + ov.getBigUint64(cpu * oldStride + i * 8, true), true);
    }
  }
  mapUpdate(to, key32(0), cur);
}

const MIGRATIONS: Partial<Record<MapKey, Migration>> = {
  services: { value: 20, carry: carryServices },
  counters: { value: OLD_CNT_MAX * 8, afterSwap: true, carry: carryCounters },
};
/** Maps this release added: an older release has none, and they start empty. */
const ADDED: ReadonlySet<MapKey> = new Set<MapKey>(['vips6', 'ports6', 'sessions6', 'frags6']);

/** Whether the map behind `fd` has this release's layout for `k`. */
export function currentLayout(k: MapKey, fd: number): boolean {
  const info = mapInfo(fd);
  const want = MAP_LAYOUT[k];
  return (
    info.keySize === want.key && info.valueSize === want.value && (!want.max || info.maxEntries === want.max)
  );
}

export interface UpgradedMaps {
  fds: MapFds;
  /**
   * To run once this release's programs replaced the older ones on the ports: carries the entries the
   * old program wrote until then (counters) and closes the old maps. Idempotent.
   */
  afterSwap: () => void;
}

/**
 * The maps `found` made this release's: every map with this release's layout is kept (its fd moves
 * into the result), the others are new, those of a known older layout with their entries carried over
 * (before the swap, or in afterSwap). Null, touching nothing, when `found` is not a known older set
 * (a map missing that an older release had, or another layout change).
 */
export function upgradeMaps(found: Partial<MapFds>): UpgradedMaps | null {
  const keep: Partial<MapFds> = {};
  const carry: MapKey[] = [];
  for (const k of MAP_KEYS) {
    const fd = found[k];
    if (fd === undefined) {
      if (!ADDED.has(k)) return null;
    } else if (currentLayout(k, fd)) keep[k] = fd;
    else if (mapInfo(fd).valueSize === MIGRATIONS[k]?.value && mapInfo(fd).keySize === MAP_LAYOUT[k].key) {
      carry.push(k);
    } else return null;
  }
  if (keep.sessions === undefined) return null;
  // The new maps come from this release's object, sized like the kept session map.
  const ld = loadLbdsr({ capacity: mapInfo(keep.sessions).maxEntries, reuse: keep });
  try {
    const fds = {} as MapFds;
    for (const k of MAP_KEYS) fds[k] = keep[k] ?? dupFd(ld.fds[k]);
    const later: MapKey[] = [];
    for (const k of carry) {
      if (MIGRATIONS[k]!.afterSwap) later.push(k);
      else {
        MIGRATIONS[k]!.carry(found[k]!, fds[k]);
        closeFd(found[k]!);
      }
    }
    const afterSwap = () => {
      for (const k of later.splice(0)) {
        MIGRATIONS[k]!.carry(found[k]!, fds[k]);
        closeFd(found[k]!);
      }
    };
    return { fds, afterSwap };
  } finally {
    ld.obj.close();
  }
}
