// bpf/lbdsr_shared.h is the single source of truth for constants and struct layouts shared with the XDP
// program; src/core/constants.ts mirrors it. This test parses the header and fails on any drift.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import * as K from '../../src/core/constants.js';

const header = readFileSync(new URL('../../../bpf/lbdsr_shared.h', import.meta.url), 'utf8');

function defines(): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of header.matchAll(/^#define[ \t]+LBDSR_([A-Z0-9_]+)[ \t]+([^\n]+)$/gm)) {
    const name = m[1]!;
    const expr = m[2]!.replace(/\/\*.*$/, '').trim();
    const resolved = expr.replace(/LBDSR_([A-Z0-9_]+)/g, (_, n: string) => {
      const v = out.get(n);
      if (v === undefined) throw new Error(`header: ${name} uses ${n} before it is defined`);
      return String(v);
    });
    if (!/^[0-9xa-fA-Fu()+\s-]+$/.test(resolved)) continue;
    out.set(name, Number(new Function(`return (${resolved.replace(/u\b/g, '')});`)()));
  }
  return out;
}

test('every #define of the shared header has the same value in constants.ts', () => {
  const d = defines();
  assert.ok(d.size > 30, `parsed only ${d.size} defines`);
  const k = K as unknown as Record<string, number>;
  for (const [name, value] of d) {
    const tsName = name;
    assert.ok(tsName in k, `constants.ts lacks ${tsName} (header LBDSR_${name} = ${value})`);
    assert.equal(k[tsName], value, `LBDSR_${name}`);
  }
});

test('drop reason names cover every reason of the header', () => {
  const d = defines();
  assert.equal(K.DROP_REASON_NAMES.length, d.get('DROP_MAX'));
  for (const [name, value] of d) {
    if (name.startsWith('DROP_') && name !== 'DROP_MAX')
      assert.equal(K.DROP_REASON_NAMES[value], name.slice(5), name);
  }
});

const TYPE_SIZES: Record<string, number> = { __u8: 1, __u16: 2, __u32: 4, __u64: 8 };

function structSize(name: string): number {
  const m = new RegExp(`struct ${name} \\{([\\s\\S]*?)\\};`).exec(header);
  assert.ok(m, `struct ${name} not found in the header`);
  let off = 0;
  let align = 1;
  for (const f of m[1]!.matchAll(/^\s*(__u8|__u16|__u32|__u64)\s+\w+(?:\[(\d+)\])?;/gm)) {
    const sz = TYPE_SIZES[f[1]!]!;
    const n = f[2] ? Number(f[2]) : 1;
    off = Math.ceil(off / sz) * sz + sz * n;
    align = Math.max(align, sz);
  }
  return Math.ceil(off / align) * align;
}

test('struct sizes agree with the TypeScript codecs', () => {
  assert.equal(structSize('lbdsr_flow_key'), K.SIZEOF_FLOW_KEY);
  assert.equal(structSize('lbdsr_session'), K.SIZEOF_SESSION);
  assert.equal(structSize('lbdsr_backend'), K.SIZEOF_BACKEND);
  assert.equal(structSize('lbdsr_backend_stats'), K.SIZEOF_BACKEND_STATS);
  assert.equal(structSize('lbdsr_service'), K.SIZEOF_SERVICE);
  assert.equal(structSize('lbdsr_config'), K.SIZEOF_CONFIG);
  assert.equal(structSize('lbdsr_frag_key'), K.SIZEOF_FRAG_KEY);
  assert.equal(structSize('lbdsr_frag'), K.SIZEOF_FRAG);
});
