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
import type { InstanceConfig } from '../../core/model.js';
import {
  PACKET_MR_UNICAST,
  PacketSocket,
  parseMac,
  RingArena,
  type RingSpec,
  TP_STATUS_AVAILABLE,
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
  VNET_HDR_LEN,
} from '../../kernel/afpacket.js';
import { enterNetns, IfProber } from '../../kernel/ifinfo.js';
import * as libc from '../../kernel/libc.js';
import { Balancer } from '../../pipeline/balancer.js';
import type { Envelope, PlaneHealth, PortStatus, Reply, ReplyBody, Request, WorkerInit } from './protocol.js';

const init = (workerData as { init: WorkerInit; port: MessagePort }).init;
const port = (workerData as { init: WorkerInit; port: MessagePort }).port;

function log(level: 'info' | 'warn' | 'error', msg: string): void {
  const r: Reply = { id: -1, log: level, msg };
  port.postMessage(r);
}

const BATCH = 256;
const POLL_MS = 20;
const CHECK_MS = 1000;
/** After a frame, empty-ring waits are naps of NAP_MS for BUSY_MS before blocking in poll() again. */
const BUSY_MS = 50;
const NAP_MS = 0.1;
const napCell = new Int32Array(new SharedArrayBuffer(4));
/** Where a received frame starts in its ring frame: TPACKET_ALIGN(52 + 16) + 10 (vnet) + 12 ... = 76. */
const EXPECTED_MAC = 76;

const R = init.rings;
const fs = R.frameSize;
const rxSpec: RingSpec = { frames: R.rxFrames, frameSize: fs, blockSize: Math.max(65536, fs) };
const txSpec: RingSpec = { frames: R.txFrames, frameSize: fs, blockSize: Math.max(65536, fs) };
const rxMask = R.rxFrames - 1;
const txMask = R.txFrames - 1;

const feBytes = PacketSocket.mapBytes({ rx: rxSpec, tx: txSpec });
const beBytes = PacketSocket.mapBytes({ tx: txSpec });
const SCRATCH = 65536;
const arena = new RingArena(feBytes + beBytes + SCRATCH + 3 * 4096);
const feOff = arena.carve(feBytes);
const feTxOff = feOff + rxSpec.frames * fs;
const beOff = arena.carve(beBytes);
const scratchOff = arena.carve(SCRATCH);
arena.mapScratch(scratchOff, SCRATCH);
const u8 = arena.u8;
const i32 = arena.i32;
const dv = arena.dv;
/** Scratch: vnet header at +6, frame at +16 (for frames that need reshaping before the pipeline). */
const scratchFrame = new Uint8Array(arena.buffer, scratchOff + 16, SCRATCH - 16);

/** One view per RX slot over the frame as the kernel places it (no allocation per frame). */
const rxViews: Uint8Array[] = [];
for (let i = 0; i < R.rxFrames; i++)
  rxViews.push(new Uint8Array(arena.buffer, feOff + i * fs + EXPECTED_MAC, fs - EXPECTED_MAC));

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
let config: InstanceConfig | null = null;
let capacity = -1;
let backendMacHint: string | undefined;
/** Frontend MACs currently joined with PACKET_MR_UNICAST on the frontend socket. */
let joined: string[] = [];

let rxIdx = 0;
let feTxIdx = 0;
let beTxIdx = 0;
let fePending = 0;
let bePending = 0;
let txFailures = 0;
let rxRingDrops = 0;
let errors = 0;
let running = true;

// Enter the namespace first: every socket below (the prober's included) belongs to the namespace its
// creating thread was in.
if (init.netns) enterNetns(init.netns);
if (init.cpu !== undefined) libc.pinThread(init.cpu);
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
    rxIdx = 0;
    feTxIdx = 0;
    fePending = 0;
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
          rx: rxSpec,
          tx: txSpec,
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
    rxIdx = 0;
    feTxIdx = 0;
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
  if (beMacChanged && config) configure(config);
  if (feMacChanged) syncMembership();
  if (fe.sock) {
    try {
      rxRingDrops += fe.sock.takeStats().drops;
    } catch {
      // The socket lost its device; the next check re-opens it.
    }
  }
}

/** Applies `cfg`; on a bad config throws and nothing changes (ControlState checks before it writes). */
function configure(cfg: InstanceConfig): void {
  const cap = cfg.sessions.capacity;
  if (!balancer || cap !== capacity) {
    // A new capacity needs a new table: sessions restart (documented).
    const fresh = new Balancer({ capacity: cap, timeouts: cfg.sessions.timeouts });
    fresh.configure(cfg, be.mac ?? backendMacHint);
    balancer = fresh;
    capacity = cap;
  } else {
    balancer.configure(cfg, be.mac ?? backendMacHint);
  }
  config = cfg;
  syncMembership();
}

// ---- frames ------------------------------------------------------------------------------------

/** Copies [src, src+n) (vnet header + frame) into the next slot of a TX ring. False when it is full. */
function enqueue(ringOff: number, idx: number, src: number, n: number): boolean {
  const base = ringOff + idx * fs;
  const st = i32[base >> 2]!;
  if (st !== TP_STATUS_AVAILABLE && st !== TP_STATUS_WRONG_FORMAT) return false;
  if (n > fs - TP2_TX_DATA) return false;
  u8.copyWithin(base + TP2_TX_DATA, src, src + n);
  dv.setUint32(base + TP2_LEN, n, true);
  Atomics.store(i32, base >> 2, TP_STATUS_SEND_REQUEST);
  return true;
}

function txFailed(port: number): void {
  const b = balancer!;
  b.counters[DROP_REDIRECT]!++;
  b.tx[port]!--;
  txFailures++;
}

/** Sends one decided frame (vnet header at `src`, frame at `src + 10`) where the verdict says. */
function transmit(verdict: number, src: number, len: number): void {
  const action = verdict & 0xff;
  if (action === ACT_TX_BACKEND) {
    if (be.sock && enqueue(beOff, beTxIdx, src, len + VNET_HDR_LEN)) {
      beTxIdx = (beTxIdx + 1) & txMask;
      bePending++;
    } else txFailed(1);
  } else if (action === ACT_TX_FRONTEND) {
    if (fe.sock && enqueue(feTxOff, feTxIdx, src, len + VNET_HDR_LEN)) {
      feTxIdx = (feTxIdx + 1) & txMask;
      fePending++;
    } else txFailed(0);
  }
}

/** A frame that is not where the pipeline expects it (VLAN tag taken out by the kernel, odd offset). */
function slowPath(base: number, st: number, mac: number, len: number, snap: number, nowMs: number): void {
  const b = balancer!;
  if (snap < len || len + 4 > SCRATCH - 16) {
    // Larger than a ring frame (MTU above the frame size, or GRO/GSO): cannot be forwarded whole.
    b.counters[CNT_RX_PACKETS]!++;
    b.counters[CNT_RX_BYTES] = b.counters[CNT_RX_BYTES]! + len;
    b.counters[DROP_TRUNCATED]!++;
    return;
  }
  const s = scratchOff + 16;
  u8.copyWithin(scratchOff + 6, base + mac - VNET_HDR_LEN, base + mac);
  let n = len;
  if (st & TP_STATUS_VLAN_VALID) {
    // Put the tag back where it was on the wire so that the pipeline sees (and drops) a VLAN frame.
    u8.copyWithin(s, base + mac, base + mac + 12);
    const tpid = dv.getUint16(base + TP2_VLAN_TPID, true) || 0x8100;
    dv.setUint16(s + 12, tpid, false);
    dv.setUint16(s + 14, dv.getUint16(base + TP2_VLAN_TCI, true), false);
    u8.copyWithin(s + 16, base + mac + 12, base + mac + len);
    n = len + 4;
  } else {
    u8.copyWithin(s, base + mac, base + mac + len);
  }
  const v = b.process(scratchFrame, n, PORT_FRONTEND, nowMs);
  transmit(v, scratchOff + 6, n);
}

function rxBatch(nowMs: number): number {
  const b = balancer!;
  let n = 0;
  while (n < BATCH) {
    const base = feOff + rxIdx * fs;
    const st = Atomics.load(i32, base >> 2);
    if ((st & TP_STATUS_USER) === 0) break;
    const len = dv.getUint32(base + TP2_LEN, true);
    const snap = dv.getUint32(base + TP2_SNAPLEN, true);
    const mac = dv.getUint16(base + TP2_MAC, true);
    if (mac === EXPECTED_MAC && snap === len && (st & TP_STATUS_VLAN_VALID) === 0) {
      const v = b.process(rxViews[rxIdx]!, len, PORT_FRONTEND, nowMs);
      if ((v & 0xff) !== 0) transmit(v, base + mac - VNET_HDR_LEN, len);
    } else {
      slowPath(base, st, mac, len, snap, nowMs);
    }
    Atomics.store(i32, base >> 2, 0);
    rxIdx = (rxIdx + 1) & rxMask;
    n++;
  }
  return n;
}

/** Hands queued TX frames to the kernel. A failing kick means the interface went away: check it now. */
function flush(): boolean {
  let ok = true;
  if (bePending > 0 && be.sock) {
    if (libc.kick(be.sock.fd, libc.MSG_DONTWAIT) < 0 && isFatal(libc.lastErrno())) ok = false;
    bePending = 0;
  }
  if (fePending > 0 && fe.sock) {
    if (libc.kick(fe.sock.fd, libc.MSG_DONTWAIT) < 0 && isFatal(libc.lastErrno())) ok = false;
    fePending = 0;
  }
  return ok;
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
      backendMacHint = req.backendMac;
      if (fe.sock && fe.ifname === undefined) closePort(fe);
      if (be.sock && be.ifname === undefined) closePort(be);
      checkPorts();
      configure(req.config);
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
      const h: PlaneHealth = {
        frontend: { ...fe.status },
        backend: { ...be.status },
        rxRingDrops,
        txFailures,
        errors,
        cpuMs: libc.threadCpuMs(),
      };
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
  while (running) {
    const now = performance.now();
    drainRequests();
    if (!running) break;
    if (now - lastCheck >= CHECK_MS) {
      lastCheck = now;
      checkPorts();
    }
    let n = 0;
    if (fe.sock && balancer) {
      try {
        n = rxBatch(Math.floor(now));
      } catch (e) {
        errors++;
        if (errors < 10) log('error', `frame loop: ${(e as Error).stack ?? e}`);
        // Give the slot back so the ring keeps moving.
        Atomics.store(i32, (feOff + rxIdx * fs) >> 2, 0);
        rxIdx = (rxIdx + 1) & rxMask;
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
        fe.sock?.takeError();
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
