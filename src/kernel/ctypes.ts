// Kernel structs declared as koffi struct types, and their field offsets as plain numbers computed
// once, for code that reads or writes a struct in preallocated memory (rings, argument blocks)
// without a koffi call per access. Structs the kernel itself defines are declared through
// kernelStruct(), which records them under their C name: test/unit/kernel-structs.test.ts compares
// each with the running kernel's BTF (/sys/kernel/btf/vmlinux), field by field.
import koffi from 'koffi';

/** A koffi type (the package does not export the interface). */
export type CType = ReturnType<typeof koffi.struct>;
// The last overload of koffi.struct takes the members alone.
type Members = Parameters<typeof koffi.struct>[0];

export interface DeclaredStruct {
  type: CType;
  /** The kernel may have grown the struct since (bpf_*_info): ours may be a prefix of it. */
  extensible: boolean;
}

const declared = new Map<string, DeclaredStruct>();

/**
 * Declares a struct of the kernel's UAPI under its C name (as an anonymous koffi type: koffi's type
 * names are per process, this module's declarations per thread).
 */
export function kernelStruct(cName: string, members: Members, opts?: { extensible?: boolean }): CType {
  const type = koffi.struct(members);
  declared.set(cName, { type, extensible: opts?.extensible ?? false });
  return type;
}

/** Every struct declared with kernelStruct() so far (import the modules that declare them first). */
export function declaredKernelStructs(): ReadonlyMap<string, DeclaredStruct> {
  return declared;
}

/** The byte offset of each named field of `type` (koffi.offsetof), as a record. */
export function offsets<const F extends string>(type: CType, fields: readonly F[]): Record<F, number> {
  const out = {} as Record<F, number>;
  for (const f of fields) out[f] = koffi.offsetof(type, f);
  return out;
}
