// Reading BTF (the BPF Type Format) through libbpf's btf API: the struct layouts a compiled BPF object
// (or the running kernel, /sys/kernel/btf/vmlinux) really has, by field name. The tests use it to
// check that the byte offsets the TypeScript side writes match the C structs they stand for.
import koffi from 'koffi';
import { LbdsrError } from '../core/errors.js';
import { BpfError, load } from './bpfcore.js';
import { kernelStruct, offsets } from './ctypes.js';

/** BTF kinds (linux/btf.h) this module looks at. */
export const BTF_KIND = { STRUCT: 4, UNION: 5, VAR: 14 } as const;

/** struct btf_type: name, info (vlen, kind, kind_flag), then `size` (a union with `type`); members follow. */
const BTF_TYPE = kernelStruct('btf_type', {
  name_off: 'uint32_t',
  info: 'uint32_t',
  size: 'uint32_t',
});
/** struct btf_member: name, type, offset (bits; with kind_flag: bitfield size << 24 | bit offset). */
const BTF_MEMBER = kernelStruct('btf_member', { name_off: 'uint32_t', type: 'uint32_t', offset: 'uint32_t' });
const T = offsets(BTF_TYPE, ['name_off', 'info']);
const M = offsets(BTF_MEMBER, ['name_off', 'type', 'offset']);
const SIZEOF_TYPE = koffi.sizeof(BTF_TYPE);
const SIZEOF_MEMBER = koffi.sizeof(BTF_MEMBER);

export interface BtfField {
  name: string;
  /** Byte offset from the start of the outermost struct (members of anonymous unions flattened). */
  offset: number;
  /** Bytes of the member's type (a bitfield reports its storage type). */
  size: number;
  /** Bitfield width, 0 for an ordinary member. */
  bits: number;
}

export interface BtfStruct {
  name: string;
  size: number;
  fields: Map<string, BtfField>;
}

interface RawType {
  name: string;
  kind: number;
  kindFlag: boolean;
  members: { name: string; type: number; offset: number }[];
}

/** The BTF of one file (an ELF object with a .BTF section, or raw BTF such as vmlinux). */
export class Btf {
  private handle: unknown;

  private constructor(handle: unknown) {
    this.handle = handle;
  }

  static open(path: string): Btf {
    const h = load().btf_parse(path, null);
    if (!h) throw new BpfError(`reading BTF of ${path}`, koffi.errno());
    return new Btf(h);
  }

  private get btf(): unknown {
    if (!this.handle) throw new LbdsrError('LBDSR_INTERNAL', 'BTF already closed');
    return this.handle;
  }

  /** The id of a named type of `kind`, or undefined. */
  find(name: string, kind: number): number | undefined {
    const id = load().btf_find(this.btf, name, kind) as number;
    return id > 0 ? id : undefined;
  }

  private raw(id: number): RawType {
    const p = load().btf_type(this.btf, id);
    if (!p) throw new LbdsrError('LBDSR_INTERNAL', `BTF has no type ${id}`);
    const bytes = new DataView(koffi.view(p, SIZEOF_TYPE));
    const info = bytes.getUint32(T.info, true);
    const vlen = info & 0xffff;
    const kind = (info >>> 24) & 0x1f;
    const members: RawType['members'] = [];
    if (kind === BTF_KIND.STRUCT || kind === BTF_KIND.UNION) {
      const all = new DataView(koffi.view(p, SIZEOF_TYPE + vlen * SIZEOF_MEMBER));
      for (let i = 0; i < vlen; i++) {
        const o = SIZEOF_TYPE + i * SIZEOF_MEMBER;
        members.push({
          name: this.name(all.getUint32(o + M.name_off, true)),
          type: all.getUint32(o + M.type, true),
          offset: all.getUint32(o + M.offset, true),
        });
      }
    }
    return {
      name: this.name(bytes.getUint32(T.name_off, true)),
      kind,
      kindFlag: info >>> 31 === 1,
      members,
    };
  }

  private name(off: number): string {
    return (load().btf_name(this.btf, off) as string | null) ?? '';
  }

  /** Size in bytes of a type (typedefs and modifiers resolved). */
  sizeOf(id: number): number {
    const n = Number(load().btf_resolve_size(this.btf, id));
    if (n < 0) throw new BpfError(`resolving the size of BTF type ${id}`, n);
    return n;
  }

  /**
   * The layout of a named struct (or union): every member by name with its byte offset and size.
   * Members of anonymous nested structs and unions appear under their own names, as in C.
   */
  struct(name: string): BtfStruct | undefined {
    const id = this.find(name, BTF_KIND.STRUCT) ?? this.find(name, BTF_KIND.UNION);
    if (id === undefined) return undefined;
    const fields = new Map<string, BtfField>();
    this.collect(id, 0, fields);
    return { name, size: this.sizeOf(id), fields };
  }

  private collect(id: number, base: number, out: Map<string, BtfField>): void {
    const t = this.raw(id);
    for (const m of t.members) {
      const bitOff = t.kindFlag ? m.offset & 0xffffff : m.offset;
      const bits = t.kindFlag ? m.offset >>> 24 : 0;
      const offset = base + Math.floor(bitOff / 8);
      if (m.name === '') {
        const inner = load().btf_resolve_type(this.btf, m.type) as number;
        if (inner > 0) this.collect(inner, offset, out);
        continue;
      }
      out.set(m.name, { name: m.name, offset, size: this.sizeOf(m.type), bits });
    }
  }

  close(): void {
    if (this.handle) load().btf_free(this.handle);
    this.handle = null;
  }
}
