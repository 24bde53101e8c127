// An interface's Ethernet multicast filter (what `ip maddr add|del ADDR dev IF` does): SIOCADDMULTI /
// SIOCDELMULTI on a datagram socket, and the list read back from /proc/net/dev_mcast. The XDP plane
// puts the solicited-node multicast MAC (33:33:ff:XX:XX:XX) of every IPv6 VIP there, so that a real NIC
// lets Neighbor Solicitations for the VIPs in (src/dataplane/xdp/multicast.ts). These are "global"
// entries: the kernel keeps one per address however often it is added (no reference count), beside
// its own (the solicited-node addresses of the interface's own IPv6 addresses, which are not global).
import { readFileSync } from 'node:fs';
import koffi from 'koffi';
import { formatMac, parseMac } from '../core/addr.js';
import { ERRNO } from './errno.js';
import { IFR_HWADDR, IFREQ } from './ifinfo.js';
import { close, ioctlRaw, SysError, socket } from './libc.js';

const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const SIOCADDMULTI = 0x8931;
const SIOCDELMULTI = 0x8932;
const IFNAMSIZ = 16;

function ifreq(ifname: string, mac: string): Uint8Array {
  const name = Buffer.from(ifname, 'utf8');
  if (name.length >= IFNAMSIZ) throw new RangeError(`interface name ${ifname} is too long`);
  // struct ifreq (ifinfo.ts): the name, then ifr_hwaddr, a struct sockaddr of family AF_UNSPEC (0)
  const r = new Uint8Array(koffi.sizeof(IFREQ));
  r.set(name, 0);
  r.set(parseMac(mac), IFR_HWADDR);
  return r;
}

function multi(req: number, ifname: string, mac: string): number {
  const fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  try {
    const r = ioctlRaw(fd, req, ifreq(ifname, mac));
    return r < 0 ? -r : 0;
  } finally {
    close(fd);
  }
}

/** Adds `mac` to the multicast filter of `ifname` (an address already there is fine). */
export function maddrAdd(ifname: string, mac: string): void {
  const errno = multi(SIOCADDMULTI, ifname, mac);
  if (errno !== 0) throw new SysError('ioctl', errno, `SIOCADDMULTI ${mac} on ${ifname}`);
}

/**
 * Removes `mac` from the multicast filter of `ifname`; false when it was not there (as a global
 * entry) or the interface is gone.
 */
export function maddrDel(ifname: string, mac: string): boolean {
  const errno = multi(SIOCDELMULTI, ifname, mac);
  if (errno === ERRNO.ENOENT || errno === ERRNO.ENODEV) return false;
  if (errno !== 0) throw new SysError('ioctl', errno, `SIOCDELMULTI ${mac} on ${ifname}`);
  return true;
}

/** One entry of an interface's multicast list. */
export interface MaddrEntry {
  mac: string;
  /** Added as a global entry (SIOCADDMULTI, `ip maddr add`), not only by the kernel's own users. */
  global: boolean;
}

/** The multicast list of interface `ifindex`, as /proc/net/dev_mcast of this network namespace shows it. */
export function maddrRead(ifindex: number): MaddrEntry[] {
  // Lines: ifindex, name, users, global users, the address as hex digits.
  const out: MaddrEntry[] = [];
  for (const line of readFileSync('/proc/net/dev_mcast', 'utf8').split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 5 || Number(f[0]) !== ifindex || f[4]!.length !== 12) continue;
    out.push({ mac: formatMac(Buffer.from(f[4]!, 'hex')), global: f[3] !== '0' });
  }
  return out;
}
