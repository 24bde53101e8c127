// Raw Ethernet frames on one port, for the health prober (src/health/prober.ts): an AF_PACKET socket
// (afpacket.ts's RawSocket, never receiving its own frames) bound to an interface of the calling
// thread's network namespace, which also accepts frames sent to extra unicast MACs (the probe MAC:
// PACKET_MR_UNICAST, undone when the socket closes) and multicast MACs (PACKET_MR_MULTICAST: the
// solicited-node group of the probe link-local address), plus the interface's own MAC and IPv4 address.
// Reads and writes never block: the prober polls on a short timer. The port remembers its network
// namespace, so that it can be reopened there (reopen) once its interface was deleted and created again.
import { statSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import {
  PACKET_ADD_MEMBERSHIP,
  PACKET_MR_MULTICAST,
  PACKET_MR_PROMISC,
  PACKET_MR_UNICAST,
  RawSocket,
  SOL_PACKET,
} from './afpacket.js';
import { IfProber } from './ifinfo.js';
import * as libc from './libc.js';
import { encoded, PACKET_MREQ } from './tpacket.js';

/** What FramePort.recv returns when the interface went down or away. */
export const PORT_DOWN = -2;
const DOWN_ERRNOS: readonly number[] = [libc.ENETDOWN, libc.ENODEV, libc.ENXIO];

/** The network namespace a port was opened in, held open to come back to it. */
class NetnsRef {
  private readonly fd = libc.open('/proc/thread-self/ns/net', libc.O_RDONLY | libc.O_CLOEXEC);

  /** Runs `fn` with the calling thread in this namespace (entered only when it is not there already). */
  run<T>(fn: () => T): T {
    if (statSync(`/proc/self/fd/${this.fd}`).ino === statSync('/proc/thread-self/ns/net').ino) return fn();
    const home = libc.open('/proc/thread-self/ns/net', libc.O_RDONLY | libc.O_CLOEXEC);
    try {
      libc.setns(this.fd, libc.CLONE_NEWNET, 'port namespace');
      try {
        return fn();
      } finally {
        libc.setns(home, libc.CLONE_NEWNET, 'home namespace');
      }
    } finally {
      libc.close(home);
    }
  }

  close(): void {
    libc.close(this.fd);
  }
}

export class FramePort {
  private closed = false;
  /** The extra unicast MACs accepted (applied again on reopen). */
  private readonly unicast: Uint8Array[] = [];
  /** The multicast MACs joined (applied again on reopen). */
  private readonly multicast: Uint8Array[] = [];

  private constructor(
    private readonly ns: NetnsRef,
    private readonly sock: RawSocket,
    readonly ifname: string,
    readonly ifindex: number,
    /** The interface's MAC (lower-case colon text). */
    readonly mac: string,
    /** The interface's first IPv4 address (host order) when the port was opened, if any. */
    readonly ipv4: number | undefined,
  ) {}

  /** Opens the port on `ifname`; throws (SysError, or Error when the interface is missing). */
  static open(ifname: string): FramePort {
    const ns = new NetnsRef();
    try {
      return FramePort.bind(ns, ifname);
    } catch (e) {
      ns.close();
      throw e;
    }
  }

  private static bind(ns: NetnsRef, ifname: string): FramePort {
    const p = new IfProber();
    let info: ReturnType<IfProber['get']>;
    try {
      info = p.get(ifname);
    } finally {
      p.close();
    }
    if (!info) throw new Error(`interface ${ifname} not found`);
    const sock = new RawSocket(info.ifindex, { receive: true, ignoreOutgoing: true });
    return new FramePort(ns, sock, ifname, info.ifindex, info.mac, firstIpv4(ifname));
  }

  /**
   * A new port on the same interface name in the same namespace, with the same unicast MACs; this one
   * is closed. Throws (leaving this one open) when the interface is not there.
   */
  reopen(): FramePort {
    const next = this.ns.run(() => {
      const p = FramePort.bind(this.ns, this.ifname);
      try {
        for (const m of this.unicast) p.acceptUnicast(m);
        for (const m of this.multicast) p.acceptMulticast(m);
      } catch (e) {
        p.sock.close();
        throw e;
      }
      return p;
    });
    this.closed = true;
    this.sock.close();
    return next;
  }

  /**
   * Also receive frames sent to `mac`. Where the driver has no unicast filter the kernel puts the
   * interface in promiscuous mode for it; should even that fail, the socket asks for promiscuous mode.
   */
  acceptUnicast(mac: Uint8Array): void {
    this.unicast.push(mac);
    try {
      this.membership(PACKET_MR_UNICAST, mac);
    } catch {
      this.membership(PACKET_MR_PROMISC, undefined);
    }
  }

  /** Also receive frames sent to the multicast MAC `mac` (IPv6 solicited-node: 33:33:ff:..). */
  acceptMulticast(mac: Uint8Array): void {
    this.multicast.push(mac);
    this.membership(PACKET_MR_MULTICAST, mac);
  }

  private membership(type: number, mac: Uint8Array | undefined): void {
    const address = new Uint8Array(8);
    if (mac) address.set(mac);
    const m = encoded(PACKET_MREQ, {
      mr_ifindex: this.ifindex,
      mr_type: type,
      mr_alen: mac ? mac.length : 0,
      mr_address: address,
    });
    libc.setsockopt(this.sock.fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, m, `${this.ifname} membership`);
  }

  /** Sends one frame; false when the kernel refused it (e.g. the interface is down). */
  send(frame: Uint8Array): boolean {
    return !this.closed && libc.sendNow(this.sock.fd, frame, frame.length) === frame.length;
  }

  /**
   * Copies the next queued frame into `buf`: its length, -1 when none is queued, PORT_DOWN when the
   * kernel reports the interface down or gone (reopen then). Other errors throw.
   */
  recv(buf: Uint8Array): number {
    if (this.closed) return -1;
    try {
      return libc.recvNow(this.sock.fd, buf);
    } catch (e) {
      if (e instanceof libc.SysError && DOWN_ERRNOS.includes(e.errno)) return PORT_DOWN;
      throw e;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sock.close();
    this.ns.close();
  }
}

/** The first IPv4 address of `ifname` in the calling thread's namespace (host order), if any. */
function firstIpv4(ifname: string): number | undefined {
  const a = networkInterfaces()[ifname]?.find((x) => x.family === 'IPv4');
  if (!a) return undefined;
  return a.address.split('.').reduce((v, o) => v * 256 + Number(o), 0) >>> 0;
}
