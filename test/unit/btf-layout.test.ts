// The byte layouts the TypeScript side writes into the XDP maps (STRUCT_LAYOUTS) are those of the
// compiled object: every struct size and every field's offset and size, by field name, read from the
// BTF of the committed bpf/lbdsr.bpf.o through libbpf. Needs libbpf.so.1, not root. (The #defines of
// bpf/lbdsr_shared.h stay checked by shared-header.test.ts: BTF does not carry macros.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { STRUCT_LAYOUTS, type StructLayout } from '../../src/dataplane/xdp/maps.js';
import { bpfObjectPath, LBDSR_OBJECT } from '../../src/dataplane/xdp/object.js';
import { Btf } from '../../src/kernel/btf.js';
import { libbpfSkip } from '../../testkit/root.js';

const skip = libbpfSkip('the BTF layout tests');

/** Every way `layout` disagrees with the struct of the same name in `btf`, as readable lines. */
function mismatches(btf: Btf, layout: StructLayout): string[] {
  const s = btf.struct(layout.struct);
  if (!s) return [`struct ${layout.struct} is not in the object's BTF`];
  const out: string[] = [];
  if (s.size !== layout.size)
    out.push(`sizeof(${layout.struct}) is ${s.size}, the table says ${layout.size}`);
  for (const [name, f] of Object.entries(layout.fields)) {
    const b = s.fields.get(name);
    if (!b) out.push(`${layout.struct}.${name} does not exist`);
    else if (b.offset !== f.offset || b.size !== f.size || b.bits !== 0)
      out.push(
        `${layout.struct}.${name} is at ${b.offset} (${b.size} bytes), the table says ${f.offset} (${f.size})`,
      );
  }
  return out;
}

function withObjectBtf(fn: (btf: Btf) => void): void {
  const btf = Btf.open(bpfObjectPath(LBDSR_OBJECT));
  try {
    fn(btf);
  } finally {
    btf.close();
  }
}

test('every struct the TypeScript side writes into a map has the layout of bpf/lbdsr.bpf.o', { skip }, () => {
  withObjectBtf((btf) => {
    const all = Object.values(STRUCT_LAYOUTS);
    assert.ok(all.length >= 8, 'the table covers every shared struct');
    // IPv6 (issue 13): the keys of the IPv6 maps and the service's vip6 are checked like the rest.
    for (const name of ['lbdsr_flow_key6', 'lbdsr_frag_key6', 'lbdsr_port_key6'])
      assert.ok(
        all.some((l) => l.struct === name),
        `${name} is in the table`,
      );
    assert.ok('vip6' in STRUCT_LAYOUTS.service.fields, 'the service entry has its IPv6 VIP');
    for (const layout of all) assert.deepEqual(mismatches(btf, layout), [], layout.struct);
  });
});

test('the check catches two same-size fields swapped in a table', { skip }, () => {
  const session = STRUCT_LAYOUTS.session;
  const swapped: StructLayout = {
    ...session,
    fields: { ...session.fields, backend_id: session.fields.slot, slot: session.fields.backend_id },
  };
  const misnamed: StructLayout = {
    ...STRUCT_LAYOUTS.config,
    fields: { ...STRUCT_LAYOUTS.config.fields, timeout_tcp: STRUCT_LAYOUTS.config.fields.timeout_tcp_ns },
  };
  withObjectBtf((btf) => {
    assert.deepEqual(mismatches(btf, swapped), [
      'lbdsr_session.backend_id is at 0 (4 bytes), the table says 4 (4)',
      'lbdsr_session.slot is at 4 (4 bytes), the table says 0 (4)',
    ]);
    assert.deepEqual(mismatches(btf, misnamed), ['lbdsr_config.timeout_tcp does not exist']);
  });
});

test('a file without BTF is an error naming the file, and unknown structs are undefined', { skip }, () => {
  assert.throws(() => Btf.open('/nonexistent/lbdsr.bpf.o'), /reading BTF of \/nonexistent\/lbdsr\.bpf\.o/);
  withObjectBtf((btf) => assert.equal(btf.struct('no_such_struct'), undefined));
});
