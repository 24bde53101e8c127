// An interface's unicast address list and promiscuous flag through rtnetlink (netlink.ts): what
// `bridge fdb add|del MAC dev IF self permanent`, `bridge fdb show dev IF` and `ip link set IF promisc
// on|off` do. An AF_BRIDGE neighbour with NTF_SELF and NUD_PERMANENT on a device that is not a bridge
// port goes to the driver's ndo_fdb_add, or to the kernel's default (ndo_dflt_fdb_add), which puts the
// MAC in the device's unicast list (dev->uc): the NIC then receives frames sent to it. The structs the
// requests carry (ndmsg, ifinfomsg) are koffi struct types checked against the kernel's BTF.
import koffi from 'koffi';
import { formatMac, parseMac } from '../core/addr.js';
import { kernelStruct, offsets } from './ctypes.js';
import { NLM_F_CREATE, NLM_F_DUMP, parseAttrs, type RtnlSocket } from './netlink.js';
import { encoded } from './tpacket.js';

const RTM_NEWLINK = 16;
const RTM_GETLINK = 18;
const RTM_NEWNEIGH = 28;
const RTM_DELNEIGH = 29;
const RTM_GETNEIGH = 30;
const AF_UNSPEC = 0;
const AF_BRIDGE = 7;
const NTF_SELF = 0x02;
const NUD_PERMANENT = 0x80;
const NDA_LLADDR = 2;
export const IFF_PROMISC = 0x100;

const NDMSG = kernelStruct('ndmsg', {
  ndm_family: 'uint8_t',
  ndm_pad1: 'uint8_t',
  ndm_pad2: 'uint16_t',
  ndm_ifindex: 'int32_t',
  ndm_state: 'uint16_t',
  ndm_flags: 'uint8_t',
  ndm_type: 'uint8_t',
});
const IFINFOMSG = kernelStruct('ifinfomsg', {
  ifi_family: 'uint8_t',
  __ifi_pad: 'uint8_t',
  ifi_type: 'uint16_t',
  ifi_index: 'int32_t',
  ifi_flags: 'uint32_t',
  ifi_change: 'uint32_t',
});
const ND = offsets(NDMSG, ['ndm_family', 'ndm_ifindex', 'ndm_state', 'ndm_flags']);
const ND_LEN = koffi.sizeof(NDMSG);
const IFI = offsets(IFINFOMSG, ['ifi_index', 'ifi_flags']);
const IFI_LEN = koffi.sizeof(IFINFOMSG);

function selfPermanent(ifindex: number): Uint8Array {
  return encoded(NDMSG, {
    ndm_family: AF_BRIDGE,
    ndm_ifindex: ifindex,
    ndm_state: NUD_PERMANENT,
    ndm_flags: NTF_SELF,
  });
}

/**
 * Adds `mac` to the unicast list of the interface (`bridge fdb add MAC dev IF self permanent`); an
 * address already there is fine. Throws NetlinkError when the driver refuses (e.g. EOPNOTSUPP).
 */
export function uclistAdd(nl: RtnlSocket, ifindex: number, mac: string): void {
  nl.request(
    `adding ${mac} to the unicast list of ifindex ${ifindex}`,
    RTM_NEWNEIGH,
    NLM_F_CREATE,
    selfPermanent(ifindex),
    [{ type: NDA_LLADDR, data: parseMac(mac) }],
  );
}

/** Removes `mac` from the unicast list (`bridge fdb del MAC dev IF self`). Throws NetlinkError (ENOENT: absent). */
export function uclistDel(nl: RtnlSocket, ifindex: number, mac: string): void {
  nl.request(
    `removing ${mac} from the unicast list of ifindex ${ifindex}`,
    RTM_DELNEIGH,
    0,
    selfPermanent(ifindex),
    [{ type: NDA_LLADDR, data: parseMac(mac) }],
  );
}

/**
 * The addresses the interface's own filter holds (`bridge fdb show dev IF`: entries with NTF_SELF),
 * unicast and multicast, lower-case colon text.
 */
export function uclistRead(nl: RtnlSocket, ifindex: number): string[] {
  const fixed = encoded(NDMSG, { ndm_family: AF_BRIDGE });
  const out: string[] = [];
  for (const m of nl.request(
    `reading the addresses of ifindex ${ifindex}`,
    RTM_GETNEIGH,
    NLM_F_DUMP,
    fixed,
  )) {
    if (m.type !== RTM_NEWNEIGH || m.payload.length < ND_LEN) continue;
    const dv = new DataView(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength);
    if (dv.getUint8(ND.ndm_family) !== AF_BRIDGE || dv.getInt32(ND.ndm_ifindex, true) !== ifindex) continue;
    if ((dv.getUint8(ND.ndm_flags) & NTF_SELF) === 0) continue;
    const ll = parseAttrs(m.payload.subarray(ND_LEN)).get(NDA_LLADDR);
    if (ll?.length === 6) out.push(formatMac(ll));
  }
  return out;
}

/** The interface's flags (IFF_*, as `ip link` shows them: IFF_PROMISC is the one asked for). */
export function linkFlags(nl: RtnlSocket, ifindex: number): number {
  const fixed = encoded(IFINFOMSG, { ifi_family: AF_UNSPEC, ifi_index: ifindex });
  for (const m of nl.request(`reading the flags of ifindex ${ifindex}`, RTM_GETLINK, 0, fixed)) {
    if (m.type !== RTM_NEWLINK || m.payload.length < IFI_LEN) continue;
    const dv = new DataView(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength);
    if (dv.getInt32(IFI.ifi_index, true) === ifindex) return dv.getUint32(IFI.ifi_flags, true);
  }
  throw new Error(`no link answer for ifindex ${ifindex}`);
}

/** Sets or clears IFF_PROMISC (`ip link set IF promisc on|off`), leaving the other flags alone. */
export function setPromisc(nl: RtnlSocket, ifindex: number, on: boolean): void {
  const fixed = encoded(IFINFOMSG, {
    ifi_family: AF_UNSPEC,
    ifi_index: ifindex,
    ifi_flags: on ? IFF_PROMISC : 0,
    ifi_change: IFF_PROMISC,
  });
  nl.request(`setting promiscuous mode ${on ? 'on' : 'off'} on ifindex ${ifindex}`, RTM_NEWLINK, 0, fixed);
}
