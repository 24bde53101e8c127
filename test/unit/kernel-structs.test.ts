// The kernel structs src/kernel declares as koffi types (ring headers, sockaddr_ll, ifreq, pollfd,
// bpf_prog_info, ...) have the running kernel's layout: every declared field's offset and size, by
// name, against /sys/kernel/btf/vmlinux, and the derived ring offsets the worker reads per frame are
// the ones the kernel documents. errno names have the platform's values. Needs libbpf.so.1, not root.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import koffi from 'koffi';
import * as afpacket from '../../src/kernel/afpacket.js';
import { Btf, type BtfStruct } from '../../src/kernel/btf.js';
import { type DeclaredStruct, declaredKernelStructs } from '../../src/kernel/ctypes.js';
import { ERRNO, errnoName } from '../../src/kernel/errno.js';
import { libbpfSkip } from '../../testkit/root.js';
// ifinfo.ts declares ifreq and ifmap, bpfprog.ts bpf_prog_info, netlink.ts and rtnl-neigh.ts the
// rtnetlink headers; the other declaring modules are imported for their exports.
import '../../src/kernel/bpfprog.js';
import '../../src/kernel/ifinfo.js';
import '../../src/kernel/rtnl-neigh.js';
import { POLLFD_EVENTS, POLLFD_REVENTS, POLLFD_SIZE } from '../../src/kernel/libc.js';

const VMLINUX = '/sys/kernel/btf/vmlinux';

function skipReason(): string | undefined {
  const reason = libbpfSkip('the kernel struct tests');
  if (reason || existsSync(VMLINUX)) return reason;
  console.log(`# skipping: this kernel has no BTF (${VMLINUX})`);
  return `this kernel has no BTF (${VMLINUX})`;
}

interface Introspected {
  size: number;
  members: Record<string, { name: string; type: unknown; offset: number }>;
}

function mismatches(name: string, d: DeclaredStruct, b: BtfStruct | undefined): string[] {
  if (!b) return [`struct ${name} is not in the kernel's BTF`];
  const info = koffi.introspect(d.type) as unknown as Introspected;
  const out: string[] = [];
  const sizeOk = d.extensible ? info.size <= b.size : info.size === b.size;
  if (!sizeOk) out.push(`sizeof(${name}) is ${b.size}, declared ${info.size}`);
  for (const m of Object.values(info.members)) {
    const f = b.fields.get(m.name);
    const size = koffi.sizeof(m.type as Parameters<typeof koffi.sizeof>[0]);
    if (!f) out.push(`${name}.${m.name} does not exist`);
    else if (f.offset !== m.offset || f.size !== size)
      out.push(`${name}.${m.name} is at ${f.offset} (${f.size} bytes), declared ${m.offset} (${size})`);
  }
  return out;
}

test('every declared kernel struct has the running kernel layout, field by field', {
  skip: skipReason(),
}, () => {
  const declared = declaredKernelStructs();
  for (const n of [
    'tpacket3_hdr',
    'tpacket_block_desc',
    'sockaddr_ll',
    'ifreq',
    'pollfd',
    'bpf_prog_info',
    'nlmsghdr',
    'ndmsg',
    'ifinfomsg',
  ])
    assert.ok(declared.has(n), `${n} is declared`);
  const btf = Btf.open(VMLINUX);
  try {
    for (const [name, d] of declared) assert.deepEqual(mismatches(name, d, btf.struct(name)), [], name);
  } finally {
    btf.close();
  }
});

test('the ring offsets the worker reads are the kernel ABI (packet_mmap.rst)', () => {
  const want = {
    BLK_STATUS: 8,
    BLK_NUM_PKTS: 12,
    BLK_FIRST_PKT: 16,
    TP3_NEXT: 0,
    TP3_SNAPLEN: 12,
    TP3_LEN: 16,
    TP3_STATUS: 20,
    TP3_MAC: 24,
    TP3_VLAN_TCI: 32,
    TP3_VLAN_TPID: 36,
    TP2_STATUS: 0,
    TP2_LEN: 4,
    TP2_SNAPLEN: 8,
    TP2_MAC: 12,
    TP2_NET: 14,
    TP2_VLAN_TCI: 24,
    TP2_VLAN_TPID: 26,
    TP2_TX_DATA: 32,
    VNET_HDR_LEN: 10,
    VNET_GSO_TYPE: 1,
    VNET_HDR_LEN_FIELD: 2,
  };
  const got = Object.fromEntries(Object.keys(want).map((k) => [k, (afpacket as Record<string, unknown>)[k]]));
  assert.deepEqual(got, want);
  assert.deepEqual([POLLFD_SIZE, POLLFD_EVENTS, POLLFD_REVENTS], [8, 4, 6]);
});

test('errno names have the values of the platform', () => {
  const os = koffi.os.errno;
  for (const [name, value] of Object.entries(ERRNO)) {
    if (name in os) assert.equal(value, os[name], name);
    assert.equal(errnoName(value), name);
  }
  assert.equal(ERRNO.ENOTSUPP, 524, 'the kernel-internal ENOTSUPP that bpf(2) can return');
  assert.equal(errnoName(99999), undefined);
});
