// The automatic plane choice for an instance without a `type`: XDP_DRV, XDP_SKB or USERSPACE, decided
// from what the ports' interfaces are (their drivers, their veth peers) without attaching anything to
// find out. factory.ts asks it; see docs/dataplanes.md.
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type { PlaneType, ResolvedPort, ResolvedPorts } from '../../core/model.js';
import { libbpfAvailable, XDP_FLAGS_DRV_MODE, xdpQueryId } from '../../kernel/libbpf.js';

function readSys(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** For a veth-like device (a peer, no bus device): the peer's ifindex when it is in this namespace. */
function vethPeer(ifname: string): { paired: boolean; peer?: number } {
  const base = `/sys/class/net/${ifname}`;
  const ifindex = readSys(`${base}/ifindex`);
  const iflink = readSys(`${base}/iflink`);
  if (!ifindex || !iflink || ifindex === iflink || existsSync(`${base}/device`)) return { paired: false };
  for (const other of readdirSync('/sys/class/net')) {
    if (
      readSys(`/sys/class/net/${other}/ifindex`) === iflink &&
      readSys(`/sys/class/net/${other}/iflink`) === ifindex
    ) {
      return { paired: true, peer: Number(iflink) };
    }
  }
  return { paired: true };
}

/**
 * Drivers with native XDP (ndo_bpf and ndo_xdp_xmit) in Linux 6.x. Probing by attaching a program
 * would be simpler, but on many NICs attaching XDP resets the rings: a traffic blip on a port that
 * may already carry traffic.
 */
const NATIVE_XDP_DRIVERS = new Set([
  'veth',
  'virtio_net',
  'tun',
  'ixgbe',
  'ixgbevf',
  'i40e',
  'ice',
  'igb',
  'igc',
  'mlx4_core',
  'mlx5_core',
  'bnxt_en',
  'nfp',
  'ena',
  'qede',
  'thunder_nicvf',
  'mvneta',
  'mvpp2',
  'stmmac',
  'fec',
  'sfc',
  'cpsw',
  'netsec',
  'dpaa2_eth',
  'enetc',
  'hv_netvsc',
  'xen-netfront',
  'atlantic',
  'lan966x-switch',
  'nfp_netvf',
]);

function driverOf(ifname: string): string | undefined {
  if (vethPeer(ifname).paired) return 'veth';
  try {
    return readlinkSync(`/sys/class/net/${ifname}/device/driver`).split('/').pop();
  } catch {
    return undefined;
  }
}

/** Whether the interface runs XDP in its driver: a program runs there natively, or the driver can. */
function nativeXdp(port: ResolvedPort): boolean {
  try {
    if (xdpQueryId(port.ifindex, XDP_FLAGS_DRV_MODE) > 0) return true;
  } catch {
    return false;
  }
  const d = driverOf(port.ifname);
  return d !== undefined && NATIVE_XDP_DRIVERS.has(d);
}

/**
 * Frames sent into a veth in native mode (XDP_TX back out of the frontend, XDP_REDIRECT into the
 * backend port) are only accepted when the peer's NAPI is on: an XDP program on the peer, or GRO.
 * Only a peer in this namespace can be checked (for an XDP program).
 */
function receiverReady(port: ResolvedPort): boolean {
  const v = vethPeer(port.ifname);
  if (!v.paired) return true;
  if (v.peer === undefined) return false;
  try {
    // Only a program in the driver turns the peer's NAPI on; a generic (skb) one does not.
    return xdpQueryId(v.peer, XDP_FLAGS_DRV_MODE) > 0;
  } catch {
    return false;
  }
}

/**
 * The automatic plane: XDP_DRV when both ports' drivers run XDP natively (known drivers, nothing is
 * attached to find out) and can receive what is sent into them natively, XDP_SKB (generic XDP, works
 * on any interface) otherwise, USERSPACE when XDP cannot be used at all (not root, no libbpf).
 */
export async function xdpSupport(ports: ResolvedPorts): Promise<PlaneType> {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'USERSPACE';
  if (!libbpfAvailable()) return 'USERSPACE';
  const list = [ports.frontend, ports.backend].filter((p): p is ResolvedPort => p !== undefined);
  if (list.length === 0) return 'XDP_SKB';
  for (const p of list) if (!nativeXdp(p) || !receiverReady(p)) return 'XDP_SKB';
  return 'XDP_DRV';
}
