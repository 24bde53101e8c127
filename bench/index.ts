// `npm run bench`: runs every benchmark of the project in one process, in a fixed order, and prints
// medians with ratios against a baseline measured in the same run. Sections that need root (veth
// forwarding, XDP) print why they are skipped when not root.
const sections: { name: string; module: string }[] = [
  { name: 'pipeline (TypeScript decisions, Maglev build)', module: './pipeline.js' },
  { name: 'USERSPACE data plane (AF_PACKET forwarding vs nftables)', module: './userspace.js' },
  { name: 'XDP data plane (BPF_PROG_TEST_RUN, veth forwarding vs ceiling and nftables)', module: './xdp.js' },
];

const only = process.argv.slice(2);
let failed = false;
for (const s of sections) {
  if (only.length > 0 && !only.some((o) => s.module.includes(o))) continue;
  console.log(`\n=== ${s.name} ===`);
  try {
    const mod = (await import(s.module)) as { run: () => Promise<void> };
    await mod.run();
  } catch (err) {
    failed = true;
    console.error(`benchmark ${s.module} failed: ${(err as Error).stack ?? err}`);
  }
}
process.exitCode = failed ? 1 : 0;
