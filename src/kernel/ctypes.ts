// Helpers for kernel structs declared as koffi struct types: their field offsets as plain numbers,
// computed once, for code that reads or writes the struct in preallocated memory (rings, argument
// blocks) without a koffi call per access.
import koffi from 'koffi';

/** A koffi type (the package does not export the interface). */
export type CType = ReturnType<typeof koffi.struct>;

/** The byte offset of each named field of `type` (koffi.offsetof), as a record. */
export function offsets<const F extends string>(type: CType, fields: readonly F[]): Record<F, number> {
  const out = {} as Record<F, number>;
  for (const f of fields) out[f] = koffi.offsetof(type, f);
  return out;
}
