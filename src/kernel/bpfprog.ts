// BPF programs by fd: bpf_prog_info (id, tag, name, the maps a program uses) and
// BPF_PROG_TEST_RUN, which runs a loaded XDP program on frames from user space (the equality tests
// and the benchmarks). The kernel structs are koffi struct types; the run's argument block is
// written at offsets taken from them, so a run allocates nothing.
import koffi from 'koffi';
import { BpfError, check, load } from './bpfcore.js';
import { BPF_OBJ_NAME_LEN, objInfo } from './bpfmap.js';
import { kernelStruct, offsets } from './ctypes.js';

const BPF_TAG_SIZE = 8;

/** struct bpf_prog_info (linux/bpf.h; the u32 after `ifindex` holds the gpl_compatible bit). */
const BPF_PROG_INFO = kernelStruct(
  'bpf_prog_info',
  {
    type: 'uint32_t',
    id: 'uint32_t',
    tag: koffi.array('uint8_t', BPF_TAG_SIZE, 'Typed'),
    jited_prog_len: 'uint32_t',
    xlated_prog_len: 'uint32_t',
    jited_prog_insns: 'uint64_t',
    xlated_prog_insns: 'uint64_t',
    load_time: 'uint64_t',
    created_by_uid: 'uint32_t',
    nr_map_ids: 'uint32_t',
    map_ids: 'uint64_t',
    name: koffi.array('char', BPF_OBJ_NAME_LEN, 'String'),
    ifindex: 'uint32_t',
    gpl_compatible: 'uint32_t',
    netns_dev: 'uint64_t',
    netns_ino: 'uint64_t',
    nr_jited_ksyms: 'uint32_t',
    nr_jited_func_lens: 'uint32_t',
    jited_ksyms: 'uint64_t',
    jited_func_lens: 'uint64_t',
    btf_id: 'uint32_t',
    func_info_rec_size: 'uint32_t',
    func_info: 'uint64_t',
    nr_func_info: 'uint32_t',
    nr_line_info: 'uint32_t',
    line_info: 'uint64_t',
    jited_line_info: 'uint64_t',
    nr_jited_line_info: 'uint32_t',
    line_info_rec_size: 'uint32_t',
    jited_line_info_rec_size: 'uint32_t',
    nr_prog_tags: 'uint32_t',
    prog_tags: 'uint64_t',
    run_time_ns: 'uint64_t',
    run_cnt: 'uint64_t',
    recursion_misses: 'uint64_t',
    verified_insns: 'uint32_t',
    attach_btf_obj_id: 'uint32_t',
    attach_btf_id: 'uint32_t',
  },
  { extensible: true },
);

interface RawProgInfo {
  id: number;
  tag: Uint8Array;
  name: string;
  nr_map_ids: number;
}

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** The id of a program fd (bpf_prog_info.id). */
export function progId(fd: number): number {
  return objInfo<RawProgInfo>(fd, BPF_PROG_INFO, 'program info').id;
}

/** The tag of a program fd (hash of its instructions, map references masked), as hex. */
export function progTag(fd: number): string {
  return hex(objInfo<RawProgInfo>(fd, BPF_PROG_INFO, 'program info').tag);
}

/** A program's fd from its id (e.g. the one an interface runs). */
export function progFdById(id: number): number {
  return check(`opening program id ${id}`, load().prog_by_id(id));
}

/** bpf_prog_info: id, name and the ids of the maps the program uses. */
export function progInfo(fd: number): { id: number; name: string; tag: string; mapIds: number[] } {
  const maxMaps = 64;
  const idsPtr = koffi.alloc('uint32_t', maxMaps);
  try {
    const init = { nr_map_ids: maxMaps, map_ids: BigInt(koffi.address(idsPtr)) };
    const i = objInfo<RawProgInfo>(fd, BPF_PROG_INFO, 'program info', init);
    const n = Math.min(i.nr_map_ids, maxMaps);
    const ids = new Uint32Array(koffi.view(idsPtr, maxMaps * 4));
    return { id: i.id, tag: hex(i.tag), name: i.name, mapIds: [...ids.subarray(0, n)] };
  } finally {
    koffi.free(idsPtr);
  }
}

// ---- BPF_PROG_TEST_RUN ----

export const BPF_F_TEST_XDP_LIVE_FRAMES = 1 << 1;
export const XDP_ABORTED = 0;
export const XDP_DROP = 1;
export const XDP_PASS = 2;
export const XDP_TX = 3;
export const XDP_REDIRECT = 4;

/** struct bpf_test_run_opts (libbpf 1.x). */
const TEST_RUN_OPTS = koffi.struct({
  sz: 'size_t',
  data_in: 'void *',
  data_out: 'void *',
  data_size_in: 'uint32_t',
  data_size_out: 'uint32_t',
  ctx_in: 'void *',
  ctx_out: 'void *',
  ctx_size_in: 'uint32_t',
  ctx_size_out: 'uint32_t',
  retval: 'uint32_t',
  repeat: 'int',
  duration: 'uint32_t',
  flags: 'uint32_t',
  cpu: 'uint32_t',
  batch_size: 'uint32_t',
});
const OPTS_SIZE = koffi.sizeof(TEST_RUN_OPTS);
const OPT = offsets(TEST_RUN_OPTS, [
  'sz',
  'data_in',
  'data_out',
  'data_size_in',
  'data_size_out',
  'ctx_in',
  'ctx_size_in',
  'ctx_size_out',
  'retval',
  'repeat',
  'duration',
  'flags',
  'batch_size',
]);

/** struct xdp_md: the context of an XDP program (what BPF_PROG_TEST_RUN takes as ctx_in). */
const XDP_MD = kernelStruct('xdp_md', {
  data: 'uint32_t',
  data_end: 'uint32_t',
  data_meta: 'uint32_t',
  ingress_ifindex: 'uint32_t',
  rx_queue_index: 'uint32_t',
  egress_ifindex: 'uint32_t',
});
const XDP_MD_SIZE = koffi.sizeof(XDP_MD);
const MD = offsets(XDP_MD, ['data_end', 'ingress_ifindex']);

/**
 * Runs a program on frames with BPF_PROG_TEST_RUN. Frames are written into stable native memory
 * (`input`), the program's output appears in `output`; nothing is allocated per run.
 */
export class TestRunner {
  readonly input: Uint8Array;
  readonly output: Uint8Array;
  private readonly opts: DataView;
  private readonly optsPtr: unknown;
  private readonly ctx: DataView;
  private readonly capacity: number;
  private readonly ctxAddr: bigint;
  /** Output length of the last run. */
  outLen = 0;
  /** Average ns per repetition of the last run. */
  durationNs = 0;

  constructor(
    private readonly progFd: number,
    capacity = 16384,
  ) {
    load();
    const inPtr = koffi.alloc('uint8_t', capacity);
    const outPtr = koffi.alloc('uint8_t', capacity);
    const ctxPtr = koffi.alloc('uint8_t', XDP_MD_SIZE);
    this.optsPtr = koffi.alloc('uint8_t', OPTS_SIZE);
    this.input = new Uint8Array(koffi.view(inPtr, capacity));
    this.output = new Uint8Array(koffi.view(outPtr, capacity));
    this.ctx = new DataView(koffi.view(ctxPtr, XDP_MD_SIZE));
    this.opts = new DataView(koffi.view(this.optsPtr, OPTS_SIZE));
    const o = this.opts;
    o.setBigUint64(OPT.sz, BigInt(OPTS_SIZE), true);
    o.setBigUint64(OPT.data_in, BigInt(koffi.address(inPtr)), true);
    o.setBigUint64(OPT.data_out, BigInt(koffi.address(outPtr)), true);
    this.ctxAddr = BigInt(koffi.address(ctxPtr));
    this.capacity = capacity;
  }

  /**
   * Runs the program once (or `repeat` times) on input[0,len). `ingressIfindex` sets
   * xdp_md.ingress_ifindex (0: loopback, the kernel's default). Returns the XDP action.
   */
  run(len: number, repeat = 1, ingressIfindex = 0, flags = 0, batchSize = 0): number {
    const o = this.opts;
    o.setUint32(OPT.data_size_in, len, true);
    o.setUint32(OPT.data_size_out, this.capacity, true);
    if (ingressIfindex) {
      for (let i = 0; i < XDP_MD_SIZE; i += 4) this.ctx.setUint32(i, 0, true);
      this.ctx.setUint32(MD.data_end, len, true);
      this.ctx.setUint32(MD.ingress_ifindex, ingressIfindex, true);
      o.setUint32(OPT.ctx_size_in, XDP_MD_SIZE, true);
    } else {
      o.setUint32(OPT.ctx_size_in, 0, true);
    }
    o.setBigUint64(OPT.ctx_in, ingressIfindex ? this.ctxAddr : 0n, true);
    o.setUint32(OPT.ctx_size_out, 0, true);
    o.setUint32(OPT.retval, 0, true);
    o.setInt32(OPT.repeat, repeat, true);
    o.setUint32(OPT.flags, flags, true);
    o.setUint32(OPT.batch_size, batchSize, true);
    const rc = load().test_run(this.progFd, this.optsPtr) as number;
    if (rc < 0) throw new BpfError('BPF_PROG_TEST_RUN', rc);
    this.outLen = o.getUint32(OPT.data_size_out, true);
    this.durationNs = o.getUint32(OPT.duration, true);
    return o.getUint32(OPT.retval, true);
  }
}
