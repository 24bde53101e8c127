// The fragment table (docs/semantics.md, "Fragments"): the ports of a TCP/UDP datagram learned from its
// first fragment, keyed by the datagram's identity {src, dst, IP id, proto}, so that its later fragments
// (which carry no L4 header) follow the flow's own key. Bounded, least recently written evicted first, an
// entry serving for FRAG_TIMEOUT_MS after its write. Storage is a SessionTable (the same allocation-free
// typed-array hash + LRU list) whose entry holds the ports word where a session holds its backend id.
// IPv6 datagrams have a table of their own (KEY_WORDS_V6: [src0..3, dst0..3, 32-bit identification,
// proto]). Pure and allocation-free per frame; bpf/frag.h is the same table in the XDP program.
import { FRAG_CAPACITY, FRAG_TIMEOUT_MS } from '../core/constants.js';
import { KEY_WORDS_V4, SessionTable } from './session-table.js';

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
    out[at] = t.backendIdAt(e);
    return true;
  }

  /** Records the ports word `from[at]` for `key` with first_seen = now, replacing any entry of that key. */
  learnFrom(from: Uint32Array, at: number, nowMs: number): void {
    const t = this.table;
    const e = t.findKey(this.key);
    if (e >= 0) t.retarget(e, from[at]!, 0, nowMs);
    else t.insertKey(this.key, from[at]!, 0, nowMs);
  }
}
