// WorkerIo on AF_PACKET (see io.ts): the frontend's RX ring (TPACKET_V2 frames by default, handed over
// one by one; or TPACKET_V3 blocks, see RingSettings.rxMode) and the backend's TX ring in one memory
// arena, and the frame path over them. receive() reads the frames the kernel handed over and decides
// each in place: copied once into the next free backend TX slot and rewritten there by
// the Balancer, so the bytes the pipeline writes are the bytes the kernel sends; the TX ring is kicked
// once per KICK_EVERY frames and once per pass. A decision is committed (Balancer.commit) once its frame
// is queued or sent, and dropped (transmitFailed) when it cannot be; a PASS sends nothing (the kernel
// has the frame). One-arm (both ports one interface): the frontend socket carries the TX ring too, right
// after its RX ring where the backend's would be, and ARP replies go out through that ring as well (a
// socket with a TX ring sends nothing else); a V3 socket has no TX ring, so there every frame is sent
// by itself with send(). Nothing here allocates per frame.
import {
  ACT_TX_BACKEND,
  ACT_TX_FRONTEND,
  CNT_RX_BYTES,
  CNT_RX_PACKETS,
  DROP_TRUNCATED,
  PORT_FRONTEND,
} from '../../core/constants.js';
import {
  BLK_FIRST_PKT,
  BLK_NUM_PKTS,
  BLK_STATUS,
  type BlockRingSpec,
  PACKET_MR_MULTICAST,
  PACKET_MR_UNICAST,
  PacketSocket,
  parseMac,
  RingArena,
  type RingSpec,
  TP_STATUS_AVAILABLE,
  TP_STATUS_KERNEL,
  TP_STATUS_SEND_REQUEST,
  TP_STATUS_USER,
  TP_STATUS_VLAN_VALID,
  TP_STATUS_WRONG_FORMAT,
  TP2_LEN,
  TP2_MAC,
  TP2_SNAPLEN,
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
  VNET_GSO_TYPE,
  VNET_HDR_LEN,
  VNET_HDR_LEN_FIELD,
} from '../../kernel/afpacket.js';
import { IfProber } from '../../kernel/ifinfo.js';
import * as libc from '../../kernel/libc.js';
import type { Balancer } from '../../pipeline/balancer.js';
import type { FrontendSocket, InterfaceState, PortSocket, WorkerIo } from './io.js';
import type { RingSettings } from './protocol.js';

/** Frames queued on the backend TX ring before it is kicked; frames decided between request checks. */
const KICK_EVERY = 256;
const MAX_PER_PASS = 8192;
const SCRATCH = 65536;
/** The largest frame the scratch area decides (a received frame plus a re-inserted VLAN tag). */
const SCRATCH_FRAME = 32768 - 16;
/**
 * Frames up to this size leave the TX ring copied whole into the socket buffer's linear part (the
 * vnet header's hdr_len says how much to copy): otherwise the kernel copies only the Ethernet header
 * and attaches the rest as fragments of the ring's pages, which costs a page reference per frame and,
 * on veth (a forward into another namespace), a page allocation and a second copy (skb_copy_ubufs).
 * Larger frames keep the fragments (a NIC transmits them from the ring without a copy).
 */
const LINEAR_MAX = 256;
/**
 * x86-64 orders memory strongly enough for the RX ring's handshake with plain typed-array accesses: a
 * load is not reordered with a later load (the status before the frame it guards), nor a store with an
 * earlier load (the frame read before its slot is given back), and V8 keeps typed-array accesses in
 * program order. Elsewhere (arm64) the status goes through Atomics (acquire/release). An Atomics call is
 * a builtin call, ~15 ns each: two per frame here.
 */
const TSO = process.arch === 'x64';

/** Where the kernel puts a frame in a V2 RX slot with a vnet header (TPACKET_ALIGN(52 + 16) + 10 - 14). */
const REHEARSAL_MAC = 76;

export class AfPacketIo implements WorkerIo {
  txFailures = 0;
  /** The RX ring: V2 frames (rxFrames set) or V3 blocks. */
  private readonly rxFrames: RingSpec | undefined;
  private readonly rxSpec: BlockRingSpec | undefined;
  private readonly rxMask: number;
  /** Where a received frame's VLAN TCI and TPID are, from its ring header (V2 or V3). */
  private readonly vlanTciOff: number;
  private readonly vlanTpidOff: number;
  private readonly txSpec: RingSpec;
  private readonly fs: number;
  private readonly txMask: number;
  /** The largest frame (without the vnet header) a TX slot holds. */
  private readonly txMax: number;
  /** Bytes of the RX and TX rings (they follow each other in the arena). */
  private readonly ringBytes: number;
  private readonly arena: RingArena;
  private readonly u8: Uint8Array;
  private readonly i32: Int32Array;
  private readonly dv: DataView;
  private readonly feOff: number;
  private readonly beOff: number;
  private readonly scratchOff: number;
  /** Scratch: vnet header at +6, frame at +16 (frames decided outside a TX slot). */
  private readonly scratchFrame: Uint8Array;
  /** Where frames sent with send() (ARP replies) are assembled: vnet header + frame. */
  private readonly sendOff: number;
  private readonly sendBuf: Uint8Array;
  /** One view per backend TX slot over the frame it will carry. */
  private readonly txViews: Uint8Array[] = [];
  private readonly prober = new IfProber();
  /** poll()'s two entries: the frontend socket (fd -1 without one), the plane's wake eventfd (or -1). */
  private readonly pollfd = new Uint8Array(2 * libc.POLLFD_SIZE);
  private readonly pollDv = new DataView(this.pollfd.buffer);
  private readonly napCell = new Int32Array(new SharedArrayBuffer(4));
  private fe: PacketSocket | null = null;
  /** Where balanced frames are queued: the backend socket's TX ring, or (one-arm) the frontend's. */
  private be: PacketSocket | null = null;
  /**
   * What the frame path reads of `be`: whether there is a TX ring, and the fd its kick goes to (during
   * a rehearsal: the scratch TX ring, fd -1). Plain numbers and booleans: a field holding objects would
   * tie V8's optimised frame path to the kind of object it held (the rehearsal's stand-in), and every
   * function of the path would be thrown away when the real socket took its place.
   */
  private txRing = false;
  private txFd = -1;
  /** Ring bytes mapped as scratch memory for a rehearsal (0: none). */
  private rehearsalBytes = 0;
  /** One-arm with a V2 ring: the frontend socket holds the TX ring (`be` is the same socket). */
  private feTx = false;
  /** One-arm with a V3 ring: no TX ring, balanced frames are sent with send() on the frontend socket. */
  private beSend = false;
  /** The next RX block (V3) or frame slot (V2) the kernel hands over. */
  private rxIdx = 0;
  private beTxIdx = 0;
  private bePending = 0;

  /**
   * Sockets and the prober belong to the namespace of the thread that creates this. `wakeFd`: the
   * plane's wake eventfd (WorkerInit.wakeFd), polled beside the socket in wait().
   */
  constructor(
    rings: RingSettings,
    private readonly wakeFd = -1,
  ) {
    for (const [entry, fd] of [
      [0, -1],
      [1, wakeFd],
    ] as const) {
      this.pollDv.setInt32(entry * libc.POLLFD_SIZE + libc.POLLFD_FD, fd, true);
      this.pollDv.setInt16(entry * libc.POLLFD_SIZE + libc.POLLFD_EVENTS, libc.POLLIN, true);
    }
    const fs = rings.frameSize;
    this.fs = fs;
    if (rings.rxMode === 'frames') {
      this.rxFrames = { frames: rings.rxFrames, frameSize: fs, blockSize: Math.max(65536, fs) };
      this.rxSpec = undefined;
      this.rxMask = rings.rxFrames - 1;
      this.vlanTciOff = TP2_VLAN_TCI;
      this.vlanTpidOff = TP2_VLAN_TPID;
    } else {
      this.rxFrames = undefined;
      this.rxSpec = { blockSize: rings.rxBlockSize, blocks: rings.rxBlocks, retireMs: rings.retireMs };
      this.rxMask = 0;
      this.vlanTciOff = TP3_VLAN_TCI;
      this.vlanTpidOff = TP3_VLAN_TPID;
    }
    this.txSpec = { frames: rings.txFrames, frameSize: fs, blockSize: Math.max(65536, fs) };
    this.txMask = rings.txFrames - 1;
    this.txMax = fs - TP2_TX_DATA - VNET_HDR_LEN;
    const feBytes = PacketSocket.mapBytes({ rx: this.rxFrames, rxBlocks: this.rxSpec });
    const beBytes = PacketSocket.mapBytes({ tx: this.txSpec });
    this.ringBytes = feBytes + beBytes;
    const arena = new RingArena(feBytes + beBytes + SCRATCH + 3 * 4096);
    this.arena = arena;
    this.feOff = arena.carve(feBytes);
    this.beOff = arena.carve(beBytes);
    this.scratchOff = arena.carve(SCRATCH);
    arena.mapScratch(this.scratchOff, SCRATCH);
    this.u8 = arena.u8;
    this.i32 = arena.i32;
    this.dv = arena.dv;
    this.scratchFrame = new Uint8Array(arena.buffer, this.scratchOff + 16, SCRATCH_FRAME);
    this.sendOff = this.scratchOff + 32768;
    this.sendBuf = new Uint8Array(arena.buffer, this.sendOff, 32768);
    for (let i = 0; i < rings.txFrames; i++) {
      this.txViews.push(
        new Uint8Array(arena.buffer, this.beOff + i * fs + TP2_TX_DATA + VNET_HDR_LEN, this.txMax),
      );
    }
  }

  probe(ifname: string): InterfaceState | undefined {
    return this.prober.get(ifname);
  }

  openFrontend(ifindex: number, label: string | undefined, oneArm: boolean): FrontendSocket {
    // one-arm on V2: RX ring then TX ring in one mapping, the TX ring landing where the backend's goes
    const withTx = oneArm && this.rxFrames !== undefined;
    if (withTx && this.beOff !== this.feOff + PacketSocket.mapBytes({ rx: this.rxFrames })) {
      throw new Error('ring arena: the TX ring does not follow the RX ring');
    }
    const sock = PacketSocket.open(
      {
        ifindex,
        receive: true,
        ...(this.rxFrames ? { rx: this.rxFrames } : { rxBlocks: this.rxSpec }),
        ...(withTx ? { tx: this.txSpec } : {}),
        vnetHdr: true,
        ignoreOutgoing: true,
        qdiscBypass: true,
        label,
      },
      this.arena.addr(this.feOff),
    );
    this.fe = sock;
    this.rxIdx = 0;
    this.feTx = withTx;
    this.beSend = oneArm && !withTx;
    if (withTx) this.takeTxRing(sock);
    return {
      ifindex: sock.ifindex,
      join: (mac) => sock.addMembership(membershipOf(mac), parseMac(mac)),
      leave: (mac) => sock.dropMembership(membershipOf(mac), parseMac(mac)),
      takeStats: () => sock.takeStats(),
      close: () => {
        if (this.fe === sock) {
          this.fe = null;
          this.rxIdx = 0;
          this.feTx = false;
          this.beSend = false;
        }
        this.dropTxRing(sock);
        sock.close();
      },
    };
  }

  openBackend(ifindex: number, label: string | undefined): PortSocket {
    const sock = PacketSocket.open(
      { ifindex, receive: false, tx: this.txSpec, vnetHdr: true, qdiscBypass: true, label },
      this.arena.addr(this.beOff),
    );
    this.takeTxRing(sock);
    return {
      ifindex: sock.ifindex,
      close: () => {
        this.dropTxRing(sock);
        sock.close();
      },
    };
  }

  shareFrontend(ifindex: number, _label: string | undefined): PortSocket {
    if (this.fe?.ifindex !== ifindex || !(this.feTx || this.beSend)) {
      throw new Error(`no one-arm frontend socket is open on ifindex ${ifindex}`);
    }
    // the frontend socket's close() releases its TX ring: nothing to do here
    return { ifindex, close: () => {} };
  }

  /** Balanced frames are queued on `sock`'s TX ring from its first slot. */
  private takeTxRing(sock: PacketSocket): void {
    this.be = sock;
    this.txRing = true;
    this.txFd = sock.fd;
    this.beTxIdx = 0;
    this.bePending = 0;
  }

  private dropTxRing(sock: PacketSocket): void {
    if (this.be !== sock) return;
    this.be = null;
    this.txRing = false;
    this.txFd = -1;
    this.beTxIdx = 0;
    this.bePending = 0;
  }

  /**
   * One pass of the worker's rehearsal (rehearsal.ts), before any socket is open: `frames` are decided
   * by the very code real frames take (receiveFrames, handleFrame, the copy into a TX slot, the
   * Balancer, commit, the kick), so that V8 has optimised it for them before the first real frame. The
   * rings' place in the arena is scratch memory meanwhile, and this plays the kernel's part: it hands
   * the frames over in RX slots (TPACKET_V2 layout, vnet header before the frame) and takes the TX slots
   * back after. Returns the frames decided (0 with a V3 ring, whose blocks are not rehearsed).
   */
  rehearse(b: Balancer, frames: readonly Uint8Array[], from: number, nowMs: number): number {
    const rx = this.rxFrames;
    if (rx === undefined || this.fe !== null || this.be !== null) return 0;
    if (this.rehearsalBytes === 0) {
      this.arena.mapScratch(this.feOff, this.ringBytes);
      this.rehearsalBytes = this.ringBytes;
      this.txRing = true; // kicked on fd -1: EBADF, which is not fatal
      this.bePending = 0;
    }
    const { u8, dv, i32, fs } = this;
    const n = Math.min(frames.length, rx.frames, this.txSpec.frames);
    for (let i = 0; i < n; i++) {
      const f = frames[(from + i) % frames.length]!;
      const h = this.feOff + i * fs;
      u8.fill(0, h + REHEARSAL_MAC - VNET_HDR_LEN, h + REHEARSAL_MAC);
      u8.set(f, h + REHEARSAL_MAC);
      dv.setUint32(h + TP2_LEN, f.length, true);
      dv.setUint32(h + TP2_SNAPLEN, f.length, true);
      dv.setUint16(h + TP2_MAC, REHEARSAL_MAC, true);
      i32[h >> 2] = TP_STATUS_USER;
    }
    this.rxIdx = 0;
    const done = this.receiveFrames(b, nowMs);
    this.flush();
    for (let i = 0; i < this.txSpec.frames; i++) i32[(this.beOff + i * fs) >> 2] = TP_STATUS_AVAILABLE;
    this.beTxIdx = 0;
    return done;
  }

  /** Ends a rehearsal: the rings' place is reserved address space again, every count back to zero. */
  endRehearsal(): void {
    if (this.rehearsalBytes === 0) return;
    this.txRing = false;
    this.beTxIdx = 0;
    this.bePending = 0;
    this.arena.unmapScratch(this.feOff, this.rehearsalBytes);
    this.rehearsalBytes = 0;
    this.rxIdx = 0;
    this.txFailures = 0;
  }

  /** Decides the frames the kernel has handed over (at most a pass's worth); returns how many. */
  receive(b: Balancer, nowMs: number): number {
    if (this.fe === null) return 0;
    return this.rxSpec ? this.receiveBlocks(b, nowMs, this.rxSpec) : this.receiveFrames(b, nowMs);
  }

  /** TPACKET_V2: each slot is handed over (status USER) by itself, as soon as its frame is written. */
  private receiveFrames(b: Balancer, nowMs: number): number {
    const { dv, i32, fs } = this;
    let n = 0;
    while (n < MAX_PER_PASS) {
      const h = this.feOff + this.rxIdx * fs;
      const st = TSO ? i32[h >> 2]! : Atomics.load(i32, h >> 2);
      if ((st & TP_STATUS_USER) === 0) break;
      try {
        const len = dv.getUint32(h + TP2_LEN, true);
        const snap = dv.getUint32(h + TP2_SNAPLEN, true);
        this.handleFrame(b, h, st, h + dv.getUint16(h + TP2_MAC, true), len, snap, nowMs);
      } finally {
        // Give the slot back even if deciding its frame threw.
        if (TSO) i32[h >> 2] = TP_STATUS_KERNEL;
        else Atomics.store(i32, h >> 2, TP_STATUS_KERNEL);
        this.rxIdx = (this.rxIdx + 1) & this.rxMask;
      }
      n++;
    }
    return n;
  }

  /** TPACKET_V3: a block is handed over when full or when its retire timer fires. */
  private receiveBlocks(b: Balancer, nowMs: number, spec: BlockRingSpec): number {
    const { dv, i32 } = this;
    let n = 0;
    while (n < MAX_PER_PASS) {
      const bb = this.feOff + this.rxIdx * spec.blockSize;
      if ((Atomics.load(i32, (bb + BLK_STATUS) >> 2) & TP_STATUS_USER) === 0) break;
      const num = dv.getUint32(bb + BLK_NUM_PKTS, true);
      let pkt = bb + dv.getUint32(bb + BLK_FIRST_PKT, true);
      try {
        for (let i = 0; i < num; i++) {
          const st = dv.getUint32(pkt + TP3_STATUS, true);
          const len = dv.getUint32(pkt + TP3_LEN, true);
          const snap = dv.getUint32(pkt + TP3_SNAPLEN, true);
          this.handleFrame(b, pkt, st, pkt + dv.getUint16(pkt + TP3_MAC, true), len, snap, nowMs);
          pkt += dv.getUint32(pkt + TP3_NEXT, true);
        }
      } finally {
        // Give the block back even if deciding a frame threw (the rest of that block is lost then).
        Atomics.store(i32, (bb + BLK_STATUS) >> 2, TP_STATUS_KERNEL);
        this.rxIdx = (this.rxIdx + 1) % spec.blocks;
      }
      n += num;
    }
    return n;
  }

  flush(): boolean {
    if (this.bePending === 0 || !this.txRing) return true;
    this.bePending = 0;
    return !(libc.kick(this.txFd, libc.MSG_DONTWAIT) < 0 && isFatal(libc.lastErrno()));
  }

  wait(ms: number): boolean {
    const fe = this.fe;
    const dv = this.pollDv;
    const wake = libc.POLLFD_SIZE;
    // entry 0: the frontend socket of the moment (poll() skips a negative fd); entry 1 is set once
    dv.setInt32(libc.POLLFD_FD, fe ? fe.fd : -1, true);
    // a request posted meanwhile (the plane signals the eventfd) ends the wait at once
    const r = libc.poll(this.pollfd, 2, ms);
    if (r > 0 && (dv.getInt16(wake + libc.POLLFD_REVENTS, true) & libc.POLLIN) !== 0)
      libc.eventfdDrain(this.wakeFd);
    if (
      r <= 0 ||
      (dv.getInt16(libc.POLLFD_REVENTS, true) & (libc.POLLERR | libc.POLLHUP | libc.POLLNVAL)) === 0
    )
      return false;
    try {
      fe?.takeError(); // clears the socket error; the socket is replaced at the next check anyway
    } catch {
      // the device is gone
    }
    return true;
  }

  nap(ms: number): void {
    Atomics.wait(this.napCell, 0, 0, ms);
  }

  cpuMs(): number {
    return libc.threadCpuMs();
  }

  close(): void {
    this.endRehearsal();
    for (const s of [this.fe, this.be]) s?.close();
    this.fe = null;
    this.be = null;
    this.prober.close();
    this.arena.free();
  }

  /** Decides one received frame at `frame` (its vnet header just before it; ring header at `pkt`). */
  private handleFrame(
    b: Balancer,
    pkt: number,
    st: number,
    frame: number,
    len: number,
    snap: number,
    nowMs: number,
  ) {
    const { u8, scratchOff } = this;
    if (snap < len || len > SCRATCH_FRAME - 4) {
      // Not whole in the ring (larger than a slot or a block holds): cannot be forwarded.
      const c = b.counters;
      c[CNT_RX_PACKETS]!++;
      c[CNT_RX_BYTES] = c[CNT_RX_BYTES]! + len;
      c[DROP_TRUNCATED]!++;
      return;
    }
    if ((st & TP_STATUS_VLAN_VALID) !== 0) {
      this.handleVlanFrame(b, pkt, frame, len, nowMs);
      return;
    }
    if (this.txRing && len <= this.txMax && this.txSlotFree(this.beTxIdx)) {
      // The common case: one copy into the TX slot, decided in place there.
      const base = this.beOff + this.beTxIdx * this.fs + TP2_TX_DATA;
      u8.copyWithin(base, frame - VNET_HDR_LEN, frame + len);
      const action = b.decide(this.txViews[this.beTxIdx]!, len, PORT_FRONTEND, nowMs) & 0xff;
      // outLen: what leaves, `len` except a Neighbor Advertisement (86 bytes, written over its NS)
      if (action === ACT_TX_BACKEND || (action === ACT_TX_FRONTEND && this.feTx)) {
        this.queueBackend(b.outLen);
        b.commit();
      } else if (action === ACT_TX_FRONTEND) this.sendFrontend(b, base, b.outLen + VNET_HDR_LEN);
      return;
    }
    // No TX slot to decide in (backend port down, ring full, frame larger than a slot): decide anyway.
    u8.copyWithin(scratchOff + 6, frame - VNET_HDR_LEN, frame + len);
    this.emit(b, b.decide(this.scratchFrame, len, PORT_FRONTEND, nowMs), scratchOff + 6);
  }

  /**
   * The kernel took the 802.1Q tag out into the header: put it back where it was on the wire so that
   * the pipeline sees (and drops) a VLAN frame, as the semantics say.
   */
  private handleVlanFrame(b: Balancer, pkt: number, frame: number, len: number, nowMs: number): void {
    const { u8, dv, scratchOff } = this;
    const s = scratchOff + 16;
    u8.copyWithin(scratchOff + 6, frame - VNET_HDR_LEN, frame);
    u8.copyWithin(s, frame, frame + 12);
    dv.setUint16(s + 12, dv.getUint16(pkt + this.vlanTpidOff, true) || 0x8100, false);
    // V3's TCI field is 32 bits wide: its low half (little-endian) is the tag's.
    dv.setUint16(s + 14, dv.getUint16(pkt + this.vlanTciOff, true), false);
    u8.copyWithin(s + 16, frame + 12, frame + len);
    this.emit(b, b.decide(this.scratchFrame, len + 4, PORT_FRONTEND, nowMs), scratchOff + 6);
  }

  /**
   * Transmits a frame decided in the scratch area (vnet header at `src`, frame after it, `b.outLen`
   * bytes): on the TX ring (balanced frames; one-arm on V2, ARP and ND replies too) or by send() on
   * the frontend socket.
   */
  private emit(b: Balancer, verdict: number, src: number): void {
    const action = verdict & 0xff;
    if (action !== ACT_TX_BACKEND && action !== ACT_TX_FRONTEND) return;
    const len = b.outLen;
    const ring = action === ACT_TX_BACKEND ? !this.beSend : this.feTx;
    if (!ring) this.sendFrontend(b, src, len + VNET_HDR_LEN);
    else if (this.txRing && len <= this.txMax && this.txSlotFree(this.beTxIdx)) {
      const base = this.beOff + this.beTxIdx * this.fs + TP2_TX_DATA;
      this.u8.copyWithin(base, src, src + len + VNET_HDR_LEN);
      this.queueBackend(len);
      b.commit();
    } else this.txFailed(b);
  }

  /** The backend TX slot at `idx` can be written (free, or rejected earlier). */
  private txSlotFree(idx: number): boolean {
    const st = this.i32[(this.beOff + idx * this.fs) >> 2]!;
    return st === TP_STATUS_AVAILABLE || st === TP_STATUS_WRONG_FORMAT;
  }

  /** Queues the frame already in the current backend TX slot (`len` bytes after its vnet header). */
  private queueBackend(len: number): void {
    const base = this.beOff + this.beTxIdx * this.fs;
    const vnet = base + TP2_TX_DATA;
    // Not for a GSO frame: its hdr_len is the kernel's (the headers of each segment).
    if (len <= LINEAR_MAX && this.u8[vnet + VNET_GSO_TYPE] === 0) {
      this.dv.setUint16(vnet + VNET_HDR_LEN_FIELD, len, true);
    }
    this.dv.setUint32(base + TP2_LEN, len + VNET_HDR_LEN, true);
    // A plain store on every architecture: the kernel reads the TX ring only inside our sendto() (the
    // kick), a system call, which orders everything written before it.
    this.i32[base >> 2] = TP_STATUS_SEND_REQUEST;
    this.beTxIdx = (this.beTxIdx + 1) & this.txMask;
    if (++this.bePending >= KICK_EVERY) this.flush();
  }

  /** Sends `n` bytes (vnet header + frame) at `src` out of the frontend port (ARP replies: rare). */
  private sendFrontend(b: Balancer, src: number, n: number): void {
    if (this.fe === null) {
      this.txFailed(b);
      return;
    }
    this.u8.copyWithin(this.sendOff, src, src + n);
    if (libc.sendNow(this.fe.fd, this.sendBuf, n) < 0) this.txFailed(b);
    else b.commit();
  }

  /** A decided frame that could not be sent: a TX_FAILED drop; nothing of its decision is recorded. */
  private txFailed(b: Balancer): void {
    b.transmitFailed();
    this.txFailures++;
  }
}

/** A group MAC (an IPv6 VIP's solicited-node multicast) joins the multicast list, others the unicast one. */
function membershipOf(mac: string): number {
  return (Number.parseInt(mac.slice(0, 2), 16) & 1) !== 0 ? PACKET_MR_MULTICAST : PACKET_MR_UNICAST;
}

function isFatal(errno: number): boolean {
  return errno === libc.ENXIO || errno === libc.ENODEV || errno === libc.ENETDOWN;
}
