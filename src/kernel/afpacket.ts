// AF_PACKET sockets with memory-mapped rings (packet(7), Documentation/networking/packet_mmap.rst):
// TPACKET_V2 frame rings (RX and TX) and TPACKET_V3 block RX rings. Rings of several sockets are mapped
// side by side inside one reserved address range (RingArena), so that a single ArrayBuffer covers them
// all: a frame moves from an RX ring to a TX ring with copyWithin, and the pipeline runs on the ring
// memory itself. No copy into JS heap memory, no allocation per frame.
import * as libc from './libc.js';

export const AF_PACKET = 17;
export const SOCK_RAW = 3;
export const ETH_P_ALL = 0x0003;
export const SOL_PACKET = 263;

export const PACKET_ADD_MEMBERSHIP = 1;
export const PACKET_DROP_MEMBERSHIP = 2;
export const PACKET_RX_RING = 5;
export const PACKET_STATISTICS = 6;
export const PACKET_VERSION = 10;
export const PACKET_TX_RING = 13;
export const PACKET_LOSS = 14;
export const PACKET_VNET_HDR = 15;
export const PACKET_QDISC_BYPASS = 20;
export const PACKET_IGNORE_OUTGOING = 23;

export const PACKET_MR_MULTICAST = 0;
export const PACKET_MR_PROMISC = 1;
export const PACKET_MR_ALLMULTI = 2;
export const PACKET_MR_UNICAST = 3;

export const TPACKET_V2 = 1;
export const TPACKET_V3 = 2;

/** struct tpacket_block_desc (TPACKET_V3 RX blocks): version, offset_to_priv, then tpacket_hdr_v1. */
export const BLK_STATUS = 8;
export const BLK_NUM_PKTS = 12;
export const BLK_FIRST_PKT = 16;
/** struct tpacket3_hdr field offsets. */
export const TP3_NEXT = 0;
export const TP3_SNAPLEN = 12;
export const TP3_LEN = 16;
export const TP3_STATUS = 20;
export const TP3_MAC = 24;
export const TP3_VLAN_TCI = 32;
export const TP3_VLAN_TPID = 36;

/** tpacket2_hdr status bits. RX: KERNEL=0 owned by the kernel, USER=1 filled for us. */
export const TP_STATUS_KERNEL = 0;
export const TP_STATUS_USER = 1;
export const TP_STATUS_LOSING = 4;
export const TP_STATUS_VLAN_VALID = 0x10;
/** TX: AVAILABLE=0 free for us, SEND_REQUEST=1 queued, SENDING=2, WRONG_FORMAT=4 rejected. */
export const TP_STATUS_AVAILABLE = 0;
export const TP_STATUS_SEND_REQUEST = 1;
export const TP_STATUS_SENDING = 2;
export const TP_STATUS_WRONG_FORMAT = 4;

/** struct tpacket2_hdr field offsets (32 bytes, TPACKET_ALIGN'ed). */
export const TP2_STATUS = 0;
export const TP2_LEN = 4;
export const TP2_SNAPLEN = 8;
export const TP2_MAC = 12;
export const TP2_NET = 14;
export const TP2_VLAN_TCI = 24;
export const TP2_VLAN_TPID = 26;
/** TX frames: data starts at TPACKET2_HDRLEN - sizeof(struct sockaddr_ll) = 52 - 20. */
export const TP2_TX_DATA = 32;
/** struct virtio_net_hdr (PACKET_VNET_HDR): precedes the frame in both directions. */
export const VNET_HDR_LEN = 10;

export interface RingSpec {
  /** Number of frames (a multiple of blockSize / frameSize). */
  frames: number;
  /** Bytes per frame, a multiple of 16; holds the tpacket header and the frame. */
  frameSize: number;
  /** Bytes per kernel block (a multiple of the page size and of frameSize). */
  blockSize: number;
}

export function ringBytes(r: RingSpec | undefined): number {
  return r ? r.frames * r.frameSize : 0;
}

/**
 * A TPACKET_V3 receive ring: frames are packed one after the other in blocks, so a block holds many
 * small frames; the kernel hands a block over when it is full or `retireMs` after its first frame.
 */
export interface BlockRingSpec {
  blockSize: number;
  blocks: number;
  retireMs: number;
}

export function blockRingBytes(r: BlockRingSpec | undefined): number {
  return r ? r.blockSize * r.blocks : 0;
}

function tpacketReq3(r: BlockRingSpec): Uint8Array {
  const b = new Uint8Array(28);
  const d = new DataView(b.buffer);
  const frameSize = 2048;
  d.setUint32(0, r.blockSize, true);
  d.setUint32(4, r.blocks, true);
  d.setUint32(8, frameSize, true);
  d.setUint32(12, (r.blockSize / frameSize) * r.blocks, true);
  d.setUint32(16, r.retireMs, true);
  return b;
}

export interface PacketSocketOptions {
  ifindex: number;
  /** Receive frames (protocol ETH_P_ALL); false opens a send-only socket that never gets a copy. */
  receive: boolean;
  rx?: RingSpec;
  tx?: RingSpec;
  /** A TPACKET_V3 block RX ring instead of `rx`/`tx` (V3 applies to the whole socket: no TX ring then). */
  rxBlocks?: BlockRingSpec;
  /** Frames carry a virtio_net_hdr (checksum offload state travels with them). */
  vnetHdr?: boolean;
  /** Do not receive the frames this host sends on the interface. */
  ignoreOutgoing?: boolean;
  /** Transmit straight to the driver, without the qdisc layer. */
  qdiscBypass?: boolean;
  /** Used in error messages. */
  label?: string;
}

function htons(v: number): number {
  return ((v & 0xff) << 8) | ((v >> 8) & 0xff);
}

function sockaddrLl(ifindex: number, protocol: number): Uint8Array {
  const b = new Uint8Array(20);
  const d = new DataView(b.buffer);
  d.setUint16(0, AF_PACKET, true);
  d.setUint16(2, htons(protocol), true);
  d.setInt32(4, ifindex, true);
  return b;
}

function tpacketReq(r: RingSpec): Uint8Array {
  const b = new Uint8Array(16);
  const d = new DataView(b.buffer);
  d.setUint32(0, r.blockSize, true);
  d.setUint32(4, (r.frames * r.frameSize) / r.blockSize, true);
  d.setUint32(8, r.frameSize, true);
  d.setUint32(12, r.frames, true);
  return b;
}

export function parseMac(mac: string): Uint8Array {
  const parts = mac.split(':');
  if (parts.length !== 6) throw new Error(`bad MAC ${mac}`);
  return Uint8Array.from(parts.map((p) => Number.parseInt(p, 16)));
}

function packetMreq(ifindex: number, type: number, mac: Uint8Array | undefined): Uint8Array {
  const b = new Uint8Array(16);
  const d = new DataView(b.buffer);
  d.setInt32(0, ifindex, true);
  d.setUint16(4, type, true);
  if (mac) {
    d.setUint16(6, mac.length, true);
    b.set(mac, 8);
  }
  return b;
}

function validate(r: RingSpec, what: string): void {
  if (r.frameSize % 16 !== 0 || r.blockSize % 4096 !== 0 || r.blockSize % r.frameSize !== 0) {
    throw new Error(`${what}: bad ring geometry ${JSON.stringify(r)}`);
  }
  if (r.frames <= 0 || (r.frames * r.frameSize) % r.blockSize !== 0) {
    throw new Error(`${what}: frame count must fill whole blocks ${JSON.stringify(r)}`);
  }
}

/** One AF_PACKET socket bound to an interface, its rings mapped at a fixed address. */
export class PacketSocket {
  readonly fd: number;
  readonly ifindex: number;
  /** Address of the RX ring (the mapping starts there), TX ring follows it. */
  readonly mapAddr: number;
  readonly mapLen: number;
  readonly rxLen: number;
  private closed = false;

  private constructor(fd: number, ifindex: number, mapAddr: number, mapLen: number, rxLen: number) {
    this.fd = fd;
    this.ifindex = ifindex;
    this.mapAddr = mapAddr;
    this.mapLen = mapLen;
    this.rxLen = rxLen;
  }

  /** Bytes of address space the rings of `opts` need. */
  static mapBytes(opts: Pick<PacketSocketOptions, 'rx' | 'tx' | 'rxBlocks'>): number {
    return ringBytes(opts.rx) + ringBytes(opts.tx) + blockRingBytes(opts.rxBlocks);
  }

  /**
   * Opens, configures and binds the socket and maps its rings at `addr` (inside a RingArena), or maps
   * nothing when there are no rings (`addr` ignored). Throws SysError; leaves nothing open on failure.
   */
  static open(opts: PacketSocketOptions, addr: number): PacketSocket {
    const what = opts.label ?? `ifindex ${opts.ifindex}`;
    const proto = opts.receive ? ETH_P_ALL : 0;
    const fd = libc.socket(AF_PACKET, SOCK_RAW, htons(proto));
    let mapped = 0;
    const mapLen = PacketSocket.mapBytes(opts);
    try {
      if (opts.rxBlocks && (opts.rx || opts.tx)) throw new Error(`${what}: a V3 block ring stands alone`);
      const version = opts.rxBlocks ? TPACKET_V3 : TPACKET_V2;
      libc.setsockoptInt(fd, SOL_PACKET, PACKET_VERSION, version, `${what} TPACKET_V${version + 1}`);
      if (opts.vnetHdr) libc.setsockoptInt(fd, SOL_PACKET, PACKET_VNET_HDR, 1, `${what} PACKET_VNET_HDR`);
      if (opts.ignoreOutgoing) {
        libc.setsockoptInt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1, `${what} PACKET_IGNORE_OUTGOING`);
      }
      if (opts.qdiscBypass)
        libc.setsockoptInt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, 1, `${what} QDISC_BYPASS`);
      // A malformed TX frame is skipped (marked available) instead of stalling the ring; must precede rings.
      if (opts.tx) libc.setsockoptInt(fd, SOL_PACKET, PACKET_LOSS, 1, `${what} PACKET_LOSS`);
      if (opts.rx) {
        validate(opts.rx, what);
        libc.setsockopt(fd, SOL_PACKET, PACKET_RX_RING, tpacketReq(opts.rx), `${what} PACKET_RX_RING`);
      }
      if (opts.tx) {
        validate(opts.tx, what);
        libc.setsockopt(fd, SOL_PACKET, PACKET_TX_RING, tpacketReq(opts.tx), `${what} PACKET_TX_RING`);
      }
      if (opts.rxBlocks) {
        const r = opts.rxBlocks;
        if (r.blockSize % 4096 !== 0 || r.blockSize % 2048 !== 0 || r.blocks <= 0) {
          throw new Error(`${what}: bad block ring geometry ${JSON.stringify(r)}`);
        }
        libc.setsockopt(fd, SOL_PACKET, PACKET_RX_RING, tpacketReq3(r), `${what} PACKET_RX_RING (V3)`);
      }
      if (mapLen > 0) {
        libc.mmapFixed(addr, mapLen, fd, `${what} rings`);
        mapped = mapLen;
      }
      // Bind last: frames only start arriving once the ring exists.
      libc.bind(fd, sockaddrLl(opts.ifindex, proto), what);
      return new PacketSocket(
        fd,
        opts.ifindex,
        addr,
        mapLen,
        ringBytes(opts.rx) + blockRingBytes(opts.rxBlocks),
      );
    } catch (e) {
      if (mapped) libc.unmapToReserved(addr, mapped);
      libc.close(fd);
      throw e;
    }
  }

  /** PACKET_MR_PROMISC / PACKET_MR_UNICAST (with the MAC) / ALLMULTI. Undone when the socket closes. */
  addMembership(type: number, mac?: Uint8Array): void {
    const m = packetMreq(this.ifindex, type, mac);
    libc.setsockopt(this.fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, m, 'PACKET_ADD_MEMBERSHIP');
  }

  dropMembership(type: number, mac?: Uint8Array): void {
    const m = packetMreq(this.ifindex, type, mac);
    libc.setsockopt(this.fd, SOL_PACKET, PACKET_DROP_MEMBERSHIP, m, 'PACKET_DROP_MEMBERSHIP');
  }

  /** PACKET_STATISTICS: frames received and dropped (ring full) since the last call (the kernel resets). */
  takeStats(): { packets: number; drops: number; freezes: number } {
    const b = new Uint8Array(12);
    const n = libc.getsockopt(this.fd, SOL_PACKET, PACKET_STATISTICS, b, 'PACKET_STATISTICS');
    const d = new DataView(b.buffer);
    // tpacket_stats_v3 adds tp_freeze_q_cnt: times the V3 ring stalled because user space held every block.
    return {
      packets: d.getUint32(0, true),
      drops: d.getUint32(4, true),
      freezes: n >= 12 ? d.getUint32(8, true) : 0,
    };
  }

  /** Reads and clears the pending socket error (SO_ERROR), e.g. ENETDOWN after the device went down. */
  takeError(): number {
    const b = new Uint8Array(4);
    libc.getsockopt(this.fd, 1 /* SOL_SOCKET */, 4 /* SO_ERROR */, b, 'SO_ERROR');
    return new DataView(b.buffer).getInt32(0, true);
  }

  /** Closes the socket and returns its ring range to the arena's reservation. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.mapLen > 0) libc.unmapToReserved(this.mapAddr, this.mapLen);
    libc.close(this.fd);
  }
}

/**
 * A reserved address range with one ArrayBuffer over it. Sockets' rings are mapped at fixed offsets;
 * a socket re-opened after its interface came back lands at the same offset, so views stay valid.
 */
export class RingArena {
  readonly base: libc.Mapping;
  readonly buffer: ArrayBuffer;
  readonly u8: Uint8Array;
  readonly i32: Int32Array;
  readonly dv: DataView;
  private next = 0;
  private freed = false;

  constructor(bytes: number) {
    const len = Math.ceil(bytes / 4096) * 4096;
    this.base = libc.reserve(len);
    this.buffer = libc.view(this.base);
    this.u8 = new Uint8Array(this.buffer);
    this.i32 = new Int32Array(this.buffer);
    this.dv = new DataView(this.buffer);
  }

  /** Carves `bytes` (page-rounded) out of the range; returns its offset. */
  carve(bytes: number): number {
    const off = this.next;
    this.next += Math.ceil(bytes / 4096) * 4096;
    if (this.next > this.base.len) throw new Error('ring arena too small');
    return off;
  }

  /** Maps private anonymous zeroed memory (scratch space) at an offset. */
  mapScratch(off: number, bytes: number): void {
    libc.mmapFixed(this.base.addr + off, bytes, -1, 'scratch');
  }

  addr(off: number): number {
    return this.base.addr + off;
  }

  /** Unmaps the whole range. Every view over it becomes invalid: use only when nothing reads it. */
  free(): void {
    if (this.freed) return;
    this.freed = true;
    libc.munmap(this.base.addr, this.base.len);
  }
}

/**
 * A plain AF_PACKET socket without rings (copying send/recv), for tools and tests: injecting crafted
 * frames and capturing what an interface carries.
 */
export class RawSocket {
  readonly fd: number;

  constructor(ifindex: number, opts: { receive: boolean; ignoreOutgoing?: boolean; promisc?: boolean }) {
    const proto = opts.receive ? ETH_P_ALL : 0;
    this.fd = libc.socket(AF_PACKET, SOCK_RAW, htons(proto));
    try {
      if (opts.ignoreOutgoing) libc.setsockoptInt(this.fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1);
      libc.bind(this.fd, sockaddrLl(ifindex, proto));
      if (opts.promisc) {
        libc.setsockopt(
          this.fd,
          SOL_PACKET,
          PACKET_ADD_MEMBERSHIP,
          packetMreq(ifindex, PACKET_MR_PROMISC, undefined),
        );
      }
    } catch (e) {
      libc.close(this.fd);
      throw e;
    }
  }

  send(frame: Uint8Array): void {
    libc.send(this.fd, frame, frame.length, 'raw frame');
  }

  /** Returns the next queued frame (a copy) or undefined when none is queued. */
  recvNow(buf: Uint8Array = new Uint8Array(65536)): Uint8Array | undefined {
    const n = libc.recvNow(this.fd, buf);
    return n < 0 ? undefined : buf.slice(0, n);
  }

  close(): void {
    libc.close(this.fd);
  }
}
