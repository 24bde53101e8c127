// The TypeScript side of the C oracle: prints, from the product's jhash2 and Maglev (src/core), exactly
// the lines test/vectors/tools/known-values.c prints. known-values.out is the C program's committed
// output; test/unit/known-values.test.ts compares this program's output with it, and CI
// (scripts/check-known-values.sh) builds and runs the C program and compares its output with both.
// Run: `node dist/test/vectors/tools/known-values.js`.
import { pathToFileURL } from 'node:url';
import { parseIpv4, parseIpv6 } from '../../../src/core/addr.js';
import { MAGLEV_SIZE, SLOT_NONE } from '../../../src/core/constants.js';
import { jhash2 } from '../../../src/core/jhash.js';
import { buildMaglev } from '../../../src/core/maglev.js';

const M = MAGLEV_SIZE;
const hex = (x: number) => `0x${(x >>> 0).toString(16).padStart(8, '0')}`;
const h = (words: number[], n: number, init: number) => jhash2(Uint32Array.from(words), 0, n, init);

/** The table as ids, slot i = ids[i]. */
function table(ids: number[]): number[] {
  return Array.from(buildMaglev(ids.map((id, slot) => ({ id, slot }))), (s) =>
    s === SLOT_NONE ? -1 : (ids[s] ?? -1),
  );
}

/** The 4 words of an IPv6 address, each read big-endian from its bytes. */
function words6(text: string): number[] {
  const b = parseIpv6(text);
  return [0, 4, 8, 12].map((o) => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0);
}

function counts(t: number[], ids: number[]): number[] {
  return ids.map((id) => t.filter((x) => x === id).length);
}

export function knownValues(): string {
  const out: string[] = [];
  const pw = (name: string, k: number[], n: number, init: number) =>
    out.push(`jhash2 ${name.padEnd(28)} n=${n} init=${hex(init)} -> ${hex(h(k, n, init))}`);
  const ip1 = parseIpv4('10.0.0.1');
  const four = [ip1, parseIpv4('10.0.0.100'), ((12345 << 16) | 80) >>> 0, 6];
  pw('[]', [ip1], 0, 0);
  pw('[10.0.0.1]', [ip1], 1, 0);
  pw('[0]', [0], 1, 0);
  pw('[0] init=1', [0], 1, 1);
  pw('[tcp 10.0.0.1:12345>.100:80]', four, 4, 0);
  pw('[1,2,3]', [1, 2, 3], 3, 0);
  pw('[1..6]', [1, 2, 3, 4, 5, 6], 6, 0);
  pw('[7 words]', [0xffffffff, 0x80000000, 0x7fffffff, 0, 1, 0xdeadbeef, 0x12345678], 7, 0x01020304);
  for (const id of [0, 1, 2, 3, 0xffffffff]) {
    const offset = h([id], 1, 0x4d41474c) % M;
    const skip = (h([id], 1, 0x45563031) % (M - 1)) + 1;
    out.push(`maglev id=${id} offset=${offset} skip=${skip}`);
  }
  const pool3 = [1, 2, 3];
  const t3 = table(pool3);
  out.push(`maglev pool{1,2,3} first 24 ids: ${t3.slice(0, 24).join(' ')}`);
  out.push(`maglev pool{1,2,3} counts: ${counts(t3, pool3).join(' ')}`);
  out.push(
    `maglev pool{1,2,3} entries at 100 1000 30000 65536: ${[100, 1000, 30000, 65536].map((e) => t3[e]).join(' ')}`,
  );
  const sorted5 = [7, 9, 42, 100, 4000000000];
  const t5 = table(sorted5);
  out.push(
    `maglev pool{7,9,42,100,4000000000} counts: ${counts(t5, sorted5).join(' ')}; entries 0..11: ${t5.slice(0, 12).join(' ')}`,
  );
  const hf = h(four, 4, 0);
  out.push(`flow tcp 10.0.0.1:12345 > 10.0.0.100:80 hash=${hex(hf)} idx=${hf % M} backend=${t3[hf % M]}`);
  const hs = h([ip1], 1, 0);
  out.push(`srcip 10.0.0.1 hash=${hex(hs)} idx=${hs % M} backend=${t3[hs % M]}`);
  // IPv6: each address as 4 big-endian words of its bytes, then ports and protocol (10 words); 4 for src.
  const ten = [...words6('2001:db8::1'), ...words6('fd00::100'), ((12345 << 16) | 80) >>> 0, 6];
  pw('[tcp6 2001:db8::1:12345>fd00::100:80]', ten, 10, 0);
  const h6 = h(ten, 10, 0);
  out.push(
    `flow6 tcp [2001:db8::1]:12345 > [fd00::100]:80 hash=${hex(h6)} idx=${h6 % M} backend=${t3[h6 % M]}`,
  );
  const h6s = h(ten, 4, 0);
  out.push(`srcip6 2001:db8::1 hash=${hex(h6s)} idx=${h6s % M} backend=${t3[h6s % M]}`);
  return `${out.join('\n')}\n`;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(knownValues());
}
