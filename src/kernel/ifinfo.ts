// Interface lookup through ioctl (SIOCGIF*) on a socket of the calling thread's network namespace, and
// entering a named network namespace (ip-netns(8) conventions). Unlike sysfs (netdev.ts), these answer for
// the namespace the thread is in, which is what a worker that entered a namespace needs. struct ifreq is
// a koffi struct type; the prober reads its union at offsets taken from it (maddr.ts writes one too).
import koffi from 'koffi';
import { kernelStruct, offsets } from './ctypes.js';
import * as libc from './libc.js';

const AF_INET = 2;
const SOCK_DGRAM = 2;
const SIOCGIFFLAGS = 0x8913;
const SIOCGIFHWADDR = 0x8927;
const SIOCGIFINDEX = 0x8933;
const IFF_UP = 0x1;
const IFF_RUNNING = 0x40;
const IFNAMSIZ = 16;
const ETH_ALEN = 6;

/** struct sockaddr: the family, then the address bytes (a MAC for SIOCGIFHWADDR). */
const SOCKADDR = koffi.struct({ sa_family: 'uint16_t', sa_data: koffi.array('uint8_t', 14) });
/** struct ifmap: the largest member of ifreq's union, so it sets the struct's size. */
const IFMAP = kernelStruct('ifmap', {
  mem_start: 'unsigned long',
  mem_end: 'unsigned long',
  base_addr: 'uint16_t',
  irq: 'uint8_t',
  dma: 'uint8_t',
  port: 'uint8_t',
});
/** struct ifreq (netdevice(7)): the name, then a union answering the request. */
const IFREQ_U = koffi.union({
  ifru_hwaddr: SOCKADDR,
  ifru_flags: 'short',
  ifru_ivalue: 'int',
  ifru_map: IFMAP,
});
/** `ifr_ifrn` is C's one-member union around the name (ifr_name). */
export const IFREQ = kernelStruct('ifreq', { ifr_ifrn: koffi.array('char', IFNAMSIZ), ifr_ifru: IFREQ_U });
const IFR_U = koffi.offsetof(IFREQ, 'ifr_ifru');
/** Where a MAC sits in an ifreq (ifr_hwaddr.sa_data). */
export const IFR_HWADDR = IFR_U + offsets(SOCKADDR, ['sa_data']).sa_data;

export interface IfInfo {
  name: string;
  ifindex: number;
  mac: string;
  /** Administratively up with the carrier present (IFF_UP and IFF_RUNNING). */
  up: boolean;
}

/** A reusable prober: one datagram socket and one ifreq buffer. */
export class IfProber {
  private fd: number;
  private readonly req = new Uint8Array(koffi.sizeof(IFREQ));
  private readonly dv = new DataView(this.req.buffer);

  constructor() {
    this.fd = libc.socket(AF_INET, SOCK_DGRAM, 0);
  }

  private setName(name: string): boolean {
    const b = Buffer.from(name, 'utf8');
    if (b.length === 0 || b.length >= IFNAMSIZ) return false;
    this.req.fill(0);
    this.req.set(b, 0);
    return true;
  }

  /** The interface, or undefined when it does not exist in this thread's namespace. */
  get(name: string): IfInfo | undefined {
    if (!this.setName(name)) return undefined;
    if (libc.ioctlRaw(this.fd, SIOCGIFINDEX, this.req) < 0) return undefined;
    const ifindex = this.dv.getInt32(IFR_U, true);
    if (libc.ioctlRaw(this.fd, SIOCGIFFLAGS, this.req) < 0) return undefined;
    const flags = this.dv.getUint16(IFR_U, true);
    if (libc.ioctlRaw(this.fd, SIOCGIFHWADDR, this.req) < 0) return undefined;
    const mac = Array.from(this.req.subarray(IFR_HWADDR, IFR_HWADDR + ETH_ALEN), (x) =>
      x.toString(16).padStart(2, '0'),
    ).join(':');
    return { name, ifindex, mac, up: (flags & IFF_UP) !== 0 && (flags & IFF_RUNNING) !== 0 };
  }

  close(): void {
    libc.close(this.fd);
    this.fd = -1;
  }
}

const NETNS_RE = /^[A-Za-z0-9_.-]{1,64}$/;

/** Moves the calling thread into the named namespace (/run/netns/NAME) for good. */
export function enterNetns(name: string): void {
  if (!NETNS_RE.test(name)) throw new Error(`bad namespace name ${name}`);
  const fd = libc.open(`/run/netns/${name}`, libc.O_RDONLY | libc.O_CLOEXEC);
  try {
    libc.setns(fd, libc.CLONE_NEWNET, name);
  } finally {
    libc.close(fd);
  }
}

/**
 * Runs `fn` with the calling thread inside the named namespace and comes back, also on error. Sockets
 * created inside stay in that namespace. Synchronous on purpose: nothing else runs on the thread meanwhile.
 */
export function inNetns<T>(name: string, fn: () => T): T {
  const home = libc.open('/proc/thread-self/ns/net', libc.O_RDONLY | libc.O_CLOEXEC);
  try {
    enterNetns(name);
    try {
      return fn();
    } finally {
      libc.setns(home, libc.CLONE_NEWNET, 'home');
    }
  } finally {
    libc.close(home);
  }
}
