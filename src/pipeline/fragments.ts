// The fragment table (docs/semantics.md, "Fragments"): the ports of a TCP/UDP datagram learned from its
// first fragment, keyed by the datagram's identity {src, dst, IP id, proto}, so that its later fragments
// (which carry no L4 header) follow the flow's own key. Bounded, least recently written evicted first, an
// entry serving for FRAG_TIMEOUT_MS after its write. Storage is a SessionTable (the same allocation-free
// typed-array hash + LRU list) whose entry holds the ports word where a session holds its backend id.
// IPv6 datagrams have a table of their own (KEY_WORDS_V6: [src0..3, dst0..3, 32-bit identification,
// proto]). fragmentKey4 / fragmentKey6 set a fragment's ports word in its flow key from its table. Pure
// and allocation-free per frame; bpf/frag.h is the same table in the XDP program.
import {
  CNT_FRAG_HIT,
  CNT_FRAG_MISS,
  FRAG_CAPACITY,
  FRAG_TIMEOUT_MS,
  PROTO_ICMP,
  PROTO_ICMPV6,
} from '../core/constants.js';
import { IP_FRAG, IP_ID, IP_OFFSET_MASK, loadU32, readU16 } from '../packet/fields.js';
import { K4_DST, K4_PORTS, K4_PROTO, K4_SRC } from './ipv4.js';
import { FRAG_LATER, K6_PORTS, K6_PROTO, WK_FRAG, WK_ID, WK_L4 } from './ipv6.js';
import { KEY_WORDS_V4, SessionTable } from './session-table.js';

/** fragmentKey4/6's answer for a first fragment whose ports the table learns once the frame is balanced. */
export const FRAG_LEARN = -1;

export class FragmentTable {
  /**
   * The datagram identity the next lookup or learn uses: [src, dst, IP id, proto] (IPv6: [src0..3,
   * dst0..3, identification, proto]). Set by the caller; a typed array so that addresses above 2^30 are
   * never boxed on the frame path.
   */
  readonly key: Uint32Array;
  private readonly table: SessionTable;

  constructor(
    readonly capacity = FRAG_CAPACITY,
    readonly timeoutMs = FRAG_TIMEOUT_MS,
    words = KEY_WORDS_V4,
  ) {
    this.table = new SessionTable(capacity, { words });
    this.key = new Uint32Array(words);
  }

  /** Entries held (fresh or not). */
  get count(): number {
    return this.table.count;
  }

  /**
   * Looks `key` up; when its entry is fresh (`now - first_seen <= timeout`) writes its ports word
   * (sport << 16 | dport) to `out[at]` and returns true. Never writes the entry (no timeout extension,
   * no recency change).
   */
  lookupInto(out: Uint32Array, at: number, nowMs: number): boolean {
    const t = this.table;
    const e = t.findKey(this.key);
    if (e < 0 || nowMs - t.lastSeenAt(e) > this.timeoutMs) return false;
    t.backendIdInto(e, out, at);
    return true;
  }

  /** Records the ports word `from[at]` for `key` with first_seen = now, replacing any entry of that key. */
  learnFrom(from: Uint32Array, at: number, nowMs: number): void {
    const t = this.table;
    const e = t.findKey(this.key);
    // the ports word is copied array to array, never passed as a number (boxed above 2^30)
    if (e >= 0) t.retargetFrom(e, from, at, 0, nowMs);
    else t.insertKeyFrom(this.key, from, at, 0, nowMs);
  }
}

/**
 * Sets the ports word of the key `k` of an IPv4 fragment (the packet at `l3`, its payload at `l4`,
 * `l4len` bytes; docs/semantics.md, "Fragments"): a TCP/UDP first fragment's own ports (FRAG_LEARN: the
 * table learns them once balanced), a later one's learned ports (CNT_FRAG_HIT) or 0 (CNT_FRAG_MISS);
 * ICMP and a first fragment without its ports: 0 (returns 0).
 */
export function fragmentKey4(
  f: Uint8Array,
  l3: number,
  l4: number,
  l4len: number,
  k: Uint32Array,
  table: FragmentTable,
  nowMs: number,
): number {
  k[K4_PORTS] = 0;
  const proto = k[K4_PROTO]!;
  if (proto === PROTO_ICMP) return 0;
  const id = table.key;
  id[0] = k[K4_SRC]!;
  id[1] = k[K4_DST]!;
  id[2] = readU16(f, l3 + IP_ID);
  id[3] = proto;
  if ((readU16(f, l3 + IP_FRAG) & IP_OFFSET_MASK) !== 0) {
    return table.lookupInto(k, K4_PORTS, nowMs) ? CNT_FRAG_HIT : CNT_FRAG_MISS;
  }
  if (l4len < 4) return 0;
  loadU32(f, l4, k, K4_PORTS);
  return FRAG_LEARN;
}

/**
 * fragmentKey4 for an IPv6 fragment (the extension-header walk's results in `w`, the payload ending at
 * `end`): the identity {src, dst, identification, proto} goes into the table's key.
 */
export function fragmentKey6(
  f: Uint8Array,
  end: number,
  k: Uint32Array,
  w: Int32Array,
  table: FragmentTable,
  nowMs: number,
): number {
  const proto = k[K6_PROTO]!;
  if (proto === PROTO_ICMPV6) return 0;
  const id = table.key;
  for (let i = 0; i < 8; i++) id[i] = k[i]!;
  loadU32(f, w[WK_ID]!, id, 8);
  id[9] = proto;
  if (w[WK_FRAG] === FRAG_LATER) {
    return table.lookupInto(k, K6_PORTS, nowMs) ? CNT_FRAG_HIT : CNT_FRAG_MISS;
  }
  const l4 = w[WK_L4]!;
  if (end - l4 < 4) return 0;
  loadU32(f, l4, k, K6_PORTS);
  return FRAG_LEARN;
}
