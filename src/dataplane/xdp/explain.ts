// Explain one flow in the XDP plane: the answer comes from the kernel, not from the TypeScript model.
// The object's third entry point, lbdsr_explain (bpf/explain.h), is lbdsr_decide compiled to record
// nothing; it is loaded from the same bpf/lbdsr.bpf.o with the instance's own maps (sessions, services,
// Maglev tables, backends, config: the running program's), run on the frame with BPF_PROG_TEST_RUN,
// and its trace read back from its one-entry map. The loaded program is kept while the instance's maps
// stay the same (a new session capacity brings a new session map: it is loaded again).
import {
  ACT_DROP,
  ACT_PASS,
  ACT_TX_BACKEND,
  ACT_TX_FRONTEND,
  CNT_SESSION_MISS,
  SLOT_NONE,
} from '../../core/constants.js';
import { LbdsrError } from '../../core/errors.js';
import { mapLookup, mapUpdate, TestRunner } from '../../kernel/libbpf.js';
import type { ExplainTrace } from '../../pipeline/explain.js';
import type { MapFds } from './maps.js';
import { type LoadedLbdsr, loadLbdsr } from './object.js';
import { getNum, STRUCT_LAYOUTS, setNum } from './shared-structs.js';

export const EXPLAIN_PROGRAM_NAME = 'lbdsr_explain';
export const EXPLAIN_MAP_NAME = 'lbdsr_explain_trace';

const XDP_DROP = 1;
const XDP_PASS = 2;
const XDP_TX = 3;
const XDP_REDIRECT = 4;
const NONE = 0xffffffff;
const TR = STRUCT_LAYOUTS.explain;
const F = TR.fields;

/** An lbdsr_explain program bound to one instance's maps. */
export class XdpExplainer {
  private readonly ld: LoadedLbdsr;
  private readonly runner: TestRunner;
  private readonly traceFd: number;
  private readonly value = new Uint8Array(TR.size);
  private readonly view = new DataView(this.value.buffer);
  private readonly zero = new Uint8Array(4);

  /** Loads the object with `fds` as its maps (nothing of the instance is created or replaced). */
  constructor(
    readonly fds: MapFds,
    capacity: number,
  ) {
    this.ld = loadLbdsr({ capacity, reuse: fds });
    try {
      this.traceFd = this.ld.obj.mapFd(EXPLAIN_MAP_NAME);
      this.runner = new TestRunner(this.ld.obj.programFd(EXPLAIN_PROGRAM_NAME));
    } catch (e) {
      this.ld.obj.close();
      throw e;
    }
  }

  /** Whether this program still uses the instance's maps. */
  uses(fds: MapFds): boolean {
    return (Object.keys(fds) as (keyof MapFds)[]).every((k) => fds[k] === this.fds[k]);
  }

  /** Runs the program on `frame` arriving on `port` (PORT_*); the kernel's decision, recording nothing. */
  explain(frame: Uint8Array, port: number): ExplainTrace {
    if (frame.length > this.runner.input.length)
      throw new LbdsrError('LBDSR_BAD_VALUE', `a frame of ${frame.length} bytes is too long to explain`);
    this.value.fill(0);
    setNum(this.view, 0, F.port, port);
    mapUpdate(this.traceFd, this.zero, this.value);
    this.runner.input.set(frame);
    this.runner.run(frame.length);
    if (!mapLookup(this.traceFd, this.zero, this.value))
      throw new LbdsrError('LBDSR_INTERNAL', 'the explain trace could not be read');
    const n = (f: keyof typeof F) => {
      const v = getNum(this.view, 0, F[f]);
      return v === NONE ? -1 : v;
    };
    const xdp = getNum(this.view, 0, F.action);
    const action =
      xdp === XDP_TX
        ? ACT_TX_FRONTEND
        : xdp === XDP_REDIRECT
          ? ACT_TX_BACKEND
          : xdp === XDP_PASS
            ? ACT_PASS
            : ACT_DROP;
    const reason = n('reason');
    const entry = n('entry');
    const session = n('session');
    const slot = getNum(this.view, 0, F.slot);
    // A PASS keeps its reason: host_pass names the rule that passed the frame (0: rules 1 and 1a).
    const verdict =
      xdp === XDP_PASS
        ? ACT_PASS | (Math.max(reason, 0) << 8)
        : reason > 0 || xdp === XDP_DROP
          ? reason << 8
          : action;
    return {
      verdict,
      service: n('service'),
      entry,
      session: session === -1 && entry === 0 ? CNT_SESSION_MISS : session,
      ageMs: entry === 1 ? getNum(this.view, 0, F.age_ns) / 1e6 : -1,
      sessionId: entry === 1 ? getNum(this.view, 0, F.session_id) : -1,
      sessionSlot: entry === 1 ? getNum(this.view, 0, F.session_slot) : -1,
      hash: n('hash'),
      index: n('index'),
      slot: slot === NONE && n('index') < 0 ? -1 : slot === NONE ? SLOT_NONE : slot,
      backendId: n('backend_id'),
      output: this.runner.output.slice(0, this.runner.outLen),
    };
  }

  close(): void {
    this.ld.obj.close();
  }
}
