// The worker thread of one USERSPACE instance: owns the AF_PACKET sockets, their rings and the Balancer.
// The loop reads the frontend RX ring, decides each frame in place on the ring memory, copies transmitted
// frames into the backend (or frontend) TX ring and kicks the kernel once per batch. Requests from the
// plane are read synchronously between batches (receiveMessageOnPort), so the loop never yields to an
// event loop and never allocates per frame.
import { type MessagePort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import {
  ACT_TX_BACKEND,
  ACT_TX_FRONTEND,
  CNT_RX_BYTES,
  CNT_RX_PACKETS,
  DROP_REDIRECT,
  DROP_TRUNCATED,
  PORT_FRONTEND,
} from '../../core/constants.js';
import {
  BLK_FIRST_PKT,
  BLK_NUM_PKTS,
  BLK_STATUS,
  type BlockRingSpec,
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
  TP2_TX_DATA,
  TP3_LEN,
  TP3_MAC,
  TP3_NEXT,
  TP3_SNAPLEN,
  TP3_STATUS,
  TP3_VLAN_TCI,
  TP3_VLAN_TPID,
  VNET_HDR_LEN,
} from '../../kernel/afpacket.js';
import { enterNetns, IfProber } from '../../kernel/ifinfo.js';
import * as libc from '../../kernel/libc.js';
import { Balancer } from '../../pipeline/balancer.js';
import type { Plan } from '../../pipeline/plan.js';
import type { Envelope, PlaneHealth, PortStatus, Reply, ReplyBody, Request, WorkerInit } from './protocol.js';

const init = (workerData as { init: WorkerInit; port: MessagePort }).init;
const port = (workerData as { init: WorkerInit; port: MessagePort }).port;

function log(level: 'info' | 'warn' | 'error', msg: string): void {
  const r: Reply = { id: -1, log: level, msg };
  port.postMessage(r);
}

/** Frames queued on the backend TX ring before it is kicked; frames decided between request checks. */
const KICK_EVERY = 256;
const MAX_PER_PASS = 8192;
const POLL_MS = 20;
const CHECK_MS = 1000;
/** After a frame, empty-ring waits are naps of NAP_MS for BUSY_MS before blocking in poll() again. */
const BUSY_MS = 50;
const NAP_MS = 0.25;
const napCell = new Int32Array(new SharedArrayBuffer(4));

const R = init.rings;
const fs = R.frameSize;
const rxSpec: BlockRingSpec = { blockSize: R.rxBlockSize, blocks: R.rxBlocks, retireMs: R.retireMs };
const txSpec: RingSpec = { frames: R.txFrames, frameSize: fs, blockSize: Math.max(65536, fs) };
const txMask = R.txFrames - 1;
/** The largest frame (without the vnet header) a TX slot holds. */
const TX_MAX = fs - TP2_TX_DATA - VNET_HDR_LEN;

const feBytes = PacketSocket.mapBytes({ rxBlocks: rxSpec });
const beBytes = PacketSocket.mapBytes({ tx: txSpec });
const SCRATCH = 65536;
const arena = new RingArena(feBytes + beBytes + SCRATCH + 3 * 4096);
const feOff = arena.carve(feBytes);
const beOff = arena.carve(beBytes);
const scratchOff = arena.carve(SCRATCH);
arena.mapScratch(scratchOff, SCRATCH);
const u8 = arena.u8;
const i32 = arena.i32;
const dv = arena.dv;
/** Scratch: vnet header at +6, frame at +16 (frames decided outside a TX slot). */
const scratchFrame = new Uint8Array(arena.buffer, scratchOff + 16, 32768 - 16);
/** Where frames sent with send() (ARP replies) are assembled: vnet header + frame. */
const sendOff = scratchOff + 32768;
const sendBuf = new Uint8Array(arena.buffer, sendOff, 32768);

/**
 * One view per backend TX slot over the frame it will carry. A received frame is copied once, into the
 * next free TX slot, and decided there: the bytes the pipeline rewrites are the bytes the kernel sends.
 */
const txViews: Uint8Array[] = [];
for (let i = 0; i < R.txFrames; i++) {
  txViews.push(new Uint8Array(arena.buffer, beOff + i * fs + TP2_TX_DATA + VNET_HDR_LEN, TX_MAX));
}

interface Port {
  ifname: string | undefined;
  sock: PacketSocket | null;
  status: PortStatus;
  mac: string | undefined;
}

function newPort(): Port {
  return {
    ifname: undefined,
    sock: null,
    mac: undefined,
    status: { up: false, attached: false, ifindex: 0, opens: 0 },
  };
}
const fe = newPort();
const be = newPort();

let balancer: Balancer | null = null;
/** The backend port's MAC in the daemon's last plan: used while the worker cannot see the interface. */
let planPortMac: Uint8Array | null = null;
/** Frontend MACs currently joined with PACKET_MR_UNICAST on the frontend socket. */
let joined: string[] = [];

let blkIdx = 0;
let beTxIdx = 0;
let bePending = 0;
let txFailures = 0;
let rxRingDrops = 0;
let errors = 0;
let running = true;
/** Longest time between two passes over the RX ring while traffic flowed, since the last health(). */
let maxStallMs = 0;
let rxRingFreezes = 0;

// Enter the namespace first: every socket below (the prober's included) belongs to the namespace its
// creating thread was in.
if (init.netns) enterNetns(init.netns);
if (init.cpu !== undefined) libc.pinThread(init.cpu);
if (init.nice !== undefined) libc.niceThread(init.nice);
const prober = new IfProber();
const pollfd = new Uint8Array(8);
const pollDv = new DataView(pollfd.buffer);

// ---- ports -------------------------------------------------------------------------------------

function closePort(p: Port): void {
  if (p.sock) {
    try {
      p.sock.close();
    } catch (e) {
      log('error', `closing ${p.ifname}: ${(e as Error).message}`);
    }
    p.sock = null;
  }
  p.status.attached = false;
  if (p === fe) {
    blkIdx = 0;
    joined = [];
  } else {
    beTxIdx = 0;
    bePending = 0;
  }
}

function openPort(p: Port, ifindex: number): void {
  const isFe = p === fe;
  const sock = isFe
    ? PacketSocket.open(
        {
          ifindex,
          receive: true,
          rxBlocks: rxSpec,
          vnetHdr: true,
          ignoreOutgoing: true,
          qdiscBypass: true,
          label: p.ifname,
        },
        arena.addr(feOff),
      )
    : PacketSocket.open(
        { ifindex, receive: false, tx: txSpec, vnetHdr: true, qdiscBypass: true, label: p.ifname },
        arena.addr(beOff),
      );
  p.sock = sock;
  p.status.attached = true;
  p.status.opens++;
  p.status.lastError = undefined;
  if (isFe) {
    blkIdx = 0;
    joined = [];
    pollDv.setInt32(0, sock.fd, true);
    pollDv.setInt16(4, libc.POLLIN, true);
    syncMembership();
  } else {
    beTxIdx = 0;
  }
  log('info', `${isFe ? 'frontend' : 'backend'} port attached to ${p.ifname} (ifindex ${ifindex})`);
}

/** Frontend MACs not owned by the interface are joined so the NIC delivers frames sent to them. */
function syncMembership(): void {
  if (!fe.sock || !balancer) return;
  const want: string[] = [];
  for (const svc of balancer.control.services.values()) {
    const m = Array.from(svc.mac, (x) => x.toString(16).padStart(2, '0')).join(':');
    if (m !== fe.mac && !want.includes(m)) want.push(m);
  }
  for (const m of joined) {
    if (!want.includes(m)) {
      try {
        fe.sock.dropMembership(PACKET_MR_UNICAST, parseMac(m));
      } catch (e) {
        log('warn', `leaving ${m} on ${fe.ifname}: ${(e as Error).message}`);
      }
    }
  }
  const now: string[] = [];
  for (const m of want) {
    if (joined.includes(m)) {
      now.push(m);
      continue;
    }
    try {
      fe.sock.addMembership(PACKET_MR_UNICAST, parseMac(m));
      now.push(m);
    } catch (e) {
      fe.status.lastError = (e as Error).message;
      log('error', `joining ${m} on ${fe.ifname}: ${(e as Error).message}`);
    }
  }
  joined = now;
}

/** Follows the interfaces: re-opens a socket whose interface was re-created, closes a vanished one. */
function checkPort(p: Port): boolean {
  let macChanged = false;
  const info = p.ifname === undefined ? undefined : prober.get(p.ifname);
  p.status.ifname = p.ifname;
  p.status.up = info?.up ?? false;
  if (info && info.mac !== p.mac) {
    p.mac = info.mac;
    macChanged = true;
  }
  if (p.sock && (!info || info.ifindex !== p.sock.ifindex)) {
    log('warn', `${p.ifname} ${info ? 'was re-created' : 'disappeared'}; port detached`);
    closePort(p);
  }
  if (!p.sock && info) {
    try {
      openPort(p, info.ifindex);
    } catch (e) {
      const msg = (e as Error).message;
      if (p.status.lastError !== msg) log('error', `attaching ${p.ifname}: ${msg}`);
      p.status.lastError = msg;
    }
  }
  p.status.ifindex = p.sock ? p.sock.ifindex : 0;
  return macChanged;
}

function checkPorts(): void {
  const feMacChanged = checkPort(fe);
  const beMacChanged = checkPort(be);
  if (beMacChanged) followBackendMac();
  if (feMacChanged) syncMembership();
  takeRingDrops();
}

function takeRingDrops(): void {
  if (!fe.sock) return;
  try {
    const st = fe.sock.takeStats();
    rxRingDrops += st.drops;
    rxRingFreezes += st.freezes;
  } catch {
    // The socket lost its device; the next check re-opens it.
  }
}

/**
 * Applies the daemon's plan to the Balancer (sessions and counters carry over, a new capacity keeps the
 * most recent sessions); a plan for another state throws and nothing changes.
 */
function configure(plan: Plan): void {
  if (!balancer) balancer = new Balancer({ capacity: plan.capacity });
  balancer.applyPlan(plan);
  planPortMac = plan.settings.backendPortMac;
  followBackendMac();
}

/** The worker sees the backend interface itself: its MAC wins over the one in the daemon's plan. */
function followBackendMac(): void {
  if (!balancer) return;
  const p = balancer.control.planBackendPortMac(be.mac === undefined ? planPortMac : parseMac(be.mac));
  if (p.settingsChanged) balancer.applyPlan(p);
  syncMembership();
}

// ---- frames ------------------------------------------------------------------------------------

function txFailed(port: number): void {
  const b = balancer!;
  b.counters[DROP_REDIRECT]!++;
  b.tx[port]!--;
  txFailures++;
}

/** The backend TX slot at `idx` can be written (free, or rejected earlier). */
function txSlotFree(idx: number): boolean {
  const st = i32[(beOff + idx * fs) >> 2]!;
  return st === TP_STATUS_AVAILABLE || st === TP_STATUS_WRONG_FORMAT;
}

/** Queues the frame already in the current backend TX slot (`len` bytes after its vnet header). */
function queueBackend(len: number): void {
  const base = beOff + beTxIdx * fs;
  dv.setUint32(base + TP2_LEN, len + VNET_HDR_LEN, true);
  Atomics.store(i32, base >> 2, TP_STATUS_SEND_REQUEST);
  beTxIdx = (beTxIdx + 1) & txMask;
  if (++bePending >= KICK_EVERY) flush();
}

/** Sends `n` bytes (vnet header + frame) at `src` out of the frontend port (ARP replies: rare). */
function sendFrontend(src: number, n: number): void {
  if (!fe.sock) {
    txFailed(0);
    return;
  }
  u8.copyWithin(sendOff, src, src + n);
  if (libc.sendNow(fe.sock.fd, sendBuf, n) < 0) txFailed(0);
}

/** Transmits a frame decided in the scratch area (vnet header at `src`, frame after it). */
function emit(verdict: number, src: number, len: number): void {
  const action = verdict & 0xff;
  if (action === ACT_TX_BACKEND) {
    if (be.sock && len <= TX_MAX && txSlotFree(beTxIdx)) {
      const base = beOff + beTxIdx * fs + TP2_TX_DATA;
      u8.copyWithin(base, src, src + len + VNET_HDR_LEN);
      queueBackend(len);
    } else txFailed(1);
  } else if (action === ACT_TX_FRONTEND) {
    sendFrontend(src, len + VNET_HDR_LEN);
  }
}

function countTruncated(len: number): void {
  const c = balancer!.counters;
  c[CNT_RX_PACKETS]!++;
  c[CNT_RX_BYTES] = c[CNT_RX_BYTES]! + len;
  c[DROP_TRUNCATED]!++;
}

/** Decides one received frame at `frame` (its vnet header just before it). */
function handleFrame(pkt: number, st: number, frame: number, len: number, snap: number, nowMs: number): void {
  const b = balancer!;
  if (snap < len || len > 32768 - 16 - 4) {
    // Not whole in the ring (larger than a block allows): cannot be forwarded.
    countTruncated(len);
    return;
  }
  if ((st & TP_STATUS_VLAN_VALID) !== 0) {
    // The kernel took the 802.1Q tag out into the header: put it back where it was on the wire so that
    // the pipeline sees (and drops) a VLAN frame, as the semantics say.
    const s = scratchOff + 16;
    u8.copyWithin(scratchOff + 6, frame - VNET_HDR_LEN, frame);
    u8.copyWithin(s, frame, frame + 12);
    dv.setUint16(s + 12, dv.getUint16(pkt + TP3_VLAN_TPID, true) || 0x8100, false);
    dv.setUint16(s + 14, dv.getUint32(pkt + TP3_VLAN_TCI, true) & 0xffff, false);
    u8.copyWithin(s + 16, frame + 12, frame + len);
    emit(b.process(scratchFrame, len + 4, PORT_FRONTEND, nowMs), scratchOff + 6, len + 4);
    return;
  }
  if (be.sock !== null && len <= TX_MAX && txSlotFree(beTxIdx)) {
    // The common case: one copy into the TX slot, decided in place there.
    const base = beOff + beTxIdx * fs + TP2_TX_DATA;
    u8.copyWithin(base, frame - VNET_HDR_LEN, frame + len);
    const v = b.process(txViews[beTxIdx]!, len, PORT_FRONTEND, nowMs);
    const action = v & 0xff;
    if (action === ACT_TX_BACKEND) queueBackend(len);
    else if (action === ACT_TX_FRONTEND) sendFrontend(base, len + VNET_HDR_LEN);
    return;
  }
  // No TX slot to decide in (backend port down, ring full, frame larger than a slot): decide anyway.
  u8.copyWithin(scratchOff + 6, frame - VNET_HDR_LEN, frame + len);
  emit(b.process(scratchFrame, len, PORT_FRONTEND, nowMs), scratchOff + 6, len);
}

/** Decides the frames of the blocks the kernel has handed over; returns how many. */
function rxPass(nowMs: number): number {
  let n = 0;
  while (n < MAX_PER_PASS) {
    const bb = feOff + blkIdx * rxSpec.blockSize;
    if ((Atomics.load(i32, (bb + BLK_STATUS) >> 2) & TP_STATUS_USER) === 0) break;
    const num = dv.getUint32(bb + BLK_NUM_PKTS, true);
    let pkt = bb + dv.getUint32(bb + BLK_FIRST_PKT, true);
    try {
      for (let i = 0; i < num; i++) {
        const st = dv.getUint32(pkt + TP3_STATUS, true);
        const len = dv.getUint32(pkt + TP3_LEN, true);
        const snap = dv.getUint32(pkt + TP3_SNAPLEN, true);
        handleFrame(pkt, st, pkt + dv.getUint16(pkt + TP3_MAC, true), len, snap, nowMs);
        pkt += dv.getUint32(pkt + TP3_NEXT, true);
      }
    } finally {
      // Give the block back even if deciding a frame threw (the rest of that block is lost then).
      Atomics.store(i32, (bb + BLK_STATUS) >> 2, TP_STATUS_KERNEL);
      blkIdx = (blkIdx + 1) % rxSpec.blocks;
    }
    n += num;
  }
  return n;
}

/** Hands queued TX frames to the kernel. False when the interface went away (check it now). */
function flush(): boolean {
  if (bePending === 0 || !be.sock) return true;
  bePending = 0;
  return !(libc.kick(be.sock.fd, libc.MSG_DONTWAIT) < 0 && isFatal(libc.lastErrno()));
}

function isFatal(errno: number): boolean {
  return errno === libc.ENXIO || errno === libc.ENODEV || errno === libc.ENETDOWN;
}

// ---- requests ----------------------------------------------------------------------------------

function handle(req: Request): ReplyBody {
  const now = performance.now();
  switch (req.op) {
    case 'apply': {
      fe.ifname = req.frontendIf;
      be.ifname = req.backendIf;
      if (fe.sock && fe.ifname === undefined) closePort(fe);
      if (be.sock && be.ifname === undefined) closePort(be);
      checkPorts();
      configure(req.plan);
      // An interface that is missing is followed (attached when it appears); one that exists but cannot
      // be attached (no CAP_NET_RAW, ...) is an error the caller must see.
      for (const p of [fe, be]) {
        if (p.ifname !== undefined && !p.sock && p.status.lastError !== undefined && prober.get(p.ifname)) {
          throw Object.assign(new Error(`cannot attach to ${p.ifname}: ${p.status.lastError}`), {
            code: 'LBDSR_NOT_AVAILABLE',
          });
        }
      }
      return null;
    }
    case 'stats':
      return balancer ? balancer.stats(now) : null;
    case 'sessions':
      return balancer ? balancer.sessions(req.limit, now) : [];
    case 'health': {
      takeRingDrops();
      const h: PlaneHealth = {
        frontend: { ...fe.status },
        backend: { ...be.status },
        rxRingDrops,
        rxRingFreezes,
        txFailures,
        errors,
        cpuMs: libc.threadCpuMs(),
        maxStallMs,
      };
      maxStallMs = 0;
      return h;
    }
    case 'stop':
      running = false;
      return null;
  }
}

function drainRequests(): void {
  for (let i = 0; i < 16; i++) {
    const m = receiveMessageOnPort(port);
    if (m === undefined) return;
    const env = m.message as Envelope;
    let reply: Reply;
    try {
      reply = { id: env.id, ok: true, body: handle(env.req) };
    } catch (e) {
      const err = e as Error & { code?: string };
      reply = { id: env.id, ok: false, error: err.message, code: err.code };
    }
    port.postMessage(reply);
  }
}

// ---- loop --------------------------------------------------------------------------------------

function loop(): void {
  let lastCheck = 0;
  let lastFrame = -1e9;
  let prev = performance.now();
  while (running) {
    const now = performance.now();
    if (now - prev > maxStallMs && prev - lastFrame < BUSY_MS) maxStallMs = now - prev;
    prev = now;
    drainRequests();
    if (!running) break;
    if (now - lastCheck >= CHECK_MS) {
      lastCheck = now;
      try {
        checkPorts();
      } catch (e) {
        // Never let the interface watch stop the plane; it is tried again at the next check.
        errors++;
        if (errors < 10) log('error', `checking interfaces: ${(e as Error).stack ?? e}`);
      }
    }
    let n = 0;
    if (fe.sock && balancer) {
      try {
        n = rxPass(Math.floor(now));
      } catch (e) {
        errors++;
        if (errors < 10) log('error', `frame loop: ${(e as Error).stack ?? e}`);
      }
      if (!flush()) lastCheck = 0;
    }
    if (n > 0) lastFrame = now;
    if (n === 0 && now - lastFrame < BUSY_MS) {
      // Traffic is flowing: nap instead of blocking in poll(), so that the sender's CPU does not pay a
      // wake-up per frame and the next batch is larger. The RX ring holds far more than a nap's worth.
      Atomics.wait(napCell, 0, 0, NAP_MS);
    } else if (n === 0) {
      const r = libc.poll(pollfd, fe.sock ? 1 : 0, POLL_MS);
      if (r > 0 && (pollDv.getInt16(6, true) & (libc.POLLERR | libc.POLLHUP | libc.POLLNVAL)) !== 0) {
        // The device went down or away: clear the socket error and look at the interfaces soon.
        try {
          fe.sock?.takeError();
        } catch {
          // The socket is being replaced at the next check anyway.
        }
        if (now - lastCheck > 100) lastCheck = 0;
      }
    }
  }
}

try {
  loop();
} finally {
  closePort(fe);
  closePort(be);
  prober.close();
  arena.free();
  port.postMessage({ id: -1, log: 'info', msg: 'stopped' } satisfies Reply);
  port.close();
}
