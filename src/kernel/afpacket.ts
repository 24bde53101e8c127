// AF_PACKET sockets with memory-mapped rings (packet(7), Documentation/networking/packet_mmap.rst):
// TPACKET_V2 frame rings (RX and TX) and TPACKET_V3 block RX rings. Rings of several sockets are mapped
// side by side inside one reserved address range (RingArena), so that a single ArrayBuffer covers them
// all: a frame moves from an RX ring to a TX ring with copyWithin, and the pipeline runs on the ring
// memory itself. No copy into JS heap memory, no allocation per frame. The kernel structs are declared
// in tpacket.ts; the ring offsets derived from them are re-exported here for the worker.
import koffi from 'koffi';
import * as libc from './libc.js';
import {
  encoded,
  PACKET_MREQ,
  PAGE_SIZE,
  SOCKADDR_LL,
  TPACKET_ALIGNMENT,
  TPACKET_REQ,
  TPACKET_REQ3,
  TPACKET_STATS_V3,
  TPACKET_V2,
  TPACKET_V3,
} from './tpacket.js';

export {
  BLK_FIRST_PKT,
  BLK_NUM_PKTS,
  BLK_STATUS,
  TP_STATUS_AVAILABLE,
  TP_STATUS_KERNEL,
  TP_STATUS_LOSING,
  TP_STATUS_SEND_REQUEST,
  TP_STATUS_SENDING,
  TP_STATUS_USER,
  TP_STATUS_VLAN_VALID,
  TP_STATUS_WRONG_FORMAT,
  TP2_LEN,
  TP2_MAC,
  TP2_NET,
  TP2_SNAPLEN,
  TP2_STATUS,
  TP2_TX_DATA,
  TP2_VLAN_TCI,
  TP2_VLAN_TPID,
  TP3_LEN,
  TP3_MAC,
  TP3_NEXT,
  TP3_SNAPLEN,
  TP3_STATUS,
  TP3_VLAN_TCI,
  TP3_VLAN_TPID,
  TPACKET_V2,
  TPACKET_V3,
  VNET_GSO_TYPE,
  VNET_HDR_LEN,
  VNET_HDR_LEN_FIELD,
} from './tpacket.js';

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

/** Nominal frame size of a V3 ring (frames are packed; the kernel only checks the geometry). */
const V3_FRAME_SIZE = 2048;

function tpacketReq3(r: BlockRingSpec): Uint8Array {
  return encoded(TPACKET_REQ3, {
    tp_block_size: r.blockSize,
    tp_block_nr: r.blocks,
    tp_frame_size: V3_FRAME_SIZE,
    tp_frame_nr: (r.blockSize / V3_FRAME_SIZE) * r.blocks,
    tp_retire_blk_tov: r.retireMs,
  });
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
  return encoded(SOCKADDR_LL, { sll_family: AF_PACKET, sll_protocol: protocol, sll_ifindex: ifindex });
}

function tpacketReq(r: RingSpec): Uint8Array {
  return encoded(TPACKET_REQ, {
    tp_block_size: r.blockSize,
    tp_block_nr: (r.frames * r.frameSize) / r.blockSize,
    tp_frame_size: r.frameSize,
    tp_frame_nr: r.frames,
  });
}

export function parseMac(mac: string): Uint8Array {
  const parts = mac.split(':');
  if (parts.length !== 6) throw new Error(`bad MAC ${mac}`);
  return Uint8Array.from(parts.map((p) => Number.parseInt(p, 16)));
}

function packetMreq(ifindex: number, type: number, mac: Uint8Array | undefined): Uint8Array {
  const address = new Uint8Array(8);
  if (mac) address.set(mac);
  return encoded(PACKET_MREQ, {
    mr_ifindex: ifindex,
    mr_type: type,
    mr_alen: mac ? mac.length : 0,
    mr_address: address,
  });
}

function validate(r: RingSpec, what: string): void {
  if (
    r.frameSize % TPACKET_ALIGNMENT !== 0 ||
    r.blockSize % PAGE_SIZE !== 0 ||
    r.blockSize % r.frameSize !== 0
  ) {
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
        if (r.blockSize % PAGE_SIZE !== 0 || r.blockSize % V3_FRAME_SIZE !== 0 || r.blocks <= 0) {
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
    const b = new Uint8Array(koffi.sizeof(TPACKET_STATS_V3));
    const n = libc.getsockopt(this.fd, SOL_PACKET, PACKET_STATISTICS, b, 'PACKET_STATISTICS');
    const st = koffi.decode(b, TPACKET_STATS_V3) as Record<string, number>;
    // tp_freeze_q_cnt (V3 only): times the ring stalled because user space held every block.
    return {
      packets: st.tp_packets ?? 0,
      drops: st.tp_drops ?? 0,
      freezes: n >= b.length ? (st.tp_freeze_q_cnt ?? 0) : 0,
    };
  }

  /** Reads and clears the pending socket error (SO_ERROR), e.g. ENETDOWN after the device went down. */
  takeError(): number {
    const b = new Int32Array(1);
    libc.getsockopt(this.fd, libc.SOL_SOCKET, libc.SO_ERROR, new Uint8Array(b.buffer), 'SO_ERROR');
    return b[0] ?? 0;
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
    const len = Math.ceil(bytes / PAGE_SIZE) * PAGE_SIZE;
    this.base = libc.reserve(len);
    this.buffer = libc.view(this.base);
    this.u8 = new Uint8Array(this.buffer);
    this.i32 = new Int32Array(this.buffer);
    this.dv = new DataView(this.buffer);
  }

  /** Carves `bytes` (page-rounded) out of the range; returns its offset. */
  carve(bytes: number): number {
    const off = this.next;
    this.next += Math.ceil(bytes / PAGE_SIZE) * PAGE_SIZE;
    if (this.next > this.base.len) throw new Error('ring arena too small');
    return off;
  }

  /** Maps private anonymous zeroed memory (scratch space) at an offset. */
  mapScratch(off: number, bytes: number): void {
    libc.mmapFixed(this.base.addr + off, bytes, -1, 'scratch');
  }

  /** Puts a range mapped with mapScratch back to reserved address space (its memory is freed). */
  unmapScratch(off: number, bytes: number): void {
    libc.unmapToReserved(this.base.addr + off, Math.ceil(bytes / PAGE_SIZE) * PAGE_SIZE);
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
