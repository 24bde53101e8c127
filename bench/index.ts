// `npm run bench [-- [--json] [--quick] [SECTION...]]`: runs every benchmark of the project in one process,
// in a fixed order, and prints medians with ratios against a baseline measured in the same run. Sections
// that need root (veth forwarding, XDP) print why they are skipped when not root. --json prints one JSON
// object of every figure on stdout (human lines on stderr; see report.ts; `npm run -s bench -- --json`
// keeps npm's banner lines off stdout); --quick runs a short version.
// Adding a section: a module exporting `run(section: Section)` and one line in SECTIONS below.
import { parseArgs } from 'node:util';
import { Reporter, type Section } from './report.js';

interface SectionModule {
  run(section: Section): Promise<void>;
}

const SECTIONS: { key: string; title: string; load: () => Promise<SectionModule> }[] = [
  {
    key: 'pipeline',
    title: 'pipeline (TypeScript decisions, Maglev build)',
    load: () => import('./pipeline.js'),
  },
  { key: 'cli', title: 'lbdsrctl (cost per command vs node -e 0)', load: () => import('./cli.js') },
  {
    key: 'userspace',
    title: 'USERSPACE data plane (AF_PACKET forwarding vs nftables)',
    load: () => import('./userspace.js'),
  },
  {
    key: 'xdp',
    title: 'XDP data plane (BPF_PROG_TEST_RUN, veth forwarding vs ceiling and nftables)',
    load: () => import('./xdp.js'),
  },
  { key: 'churn', title: 'config changes under traffic (4,096 backends)', load: () => import('./churn.js') },
  {
    key: 'scale-out',
    title: 'N nodes behind an ECMP router (BGP, XDP_SKB, one-arm) vs the router alone',
    load: () => import('./scale-out.js'),
  },
];

const { values, positionals } = parseArgs({
  options: { json: { type: 'boolean', default: false }, quick: { type: 'boolean', default: false } },
  allowPositionals: true,
});
const quick = values.quick || process.env.LBDSR_BENCH_QUICK === '1';
if (quick) process.env.LBDSR_BENCH_QUICK = '1';
const unknown = positionals.filter((p) => !SECTIONS.some((s) => s.key.includes(p)));
if (unknown.length > 0) {
  console.error(`unknown section ${unknown.join(', ')}; sections: ${SECTIONS.map((s) => s.key).join(', ')}`);
  process.exit(2);
}
const report = new Reporter({ json: values.json, quick });
let failed = false;
for (const s of SECTIONS) {
  if (positionals.length > 0 && !positionals.some((o) => s.key.includes(o))) continue;
  report.say(`\n=== ${s.title} ===`);
  try {
    await (await s.load()).run(report.section(s.key));
  } catch (err) {
    failed = true;
    console.error(`benchmark ${s.key} failed: ${(err as Error).stack ?? err}`);
  }
}
if (values.json) process.stdout.write(`${JSON.stringify(report.toJSON(), null, 1)}\n`);
process.exitCode = failed ? 1 : 0;
