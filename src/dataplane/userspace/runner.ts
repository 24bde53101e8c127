// UserspaceWorker: everything the worker thread of one USERSPACE instance decides, kernel aside. It
// answers the plane's requests (apply, stats, sessions, session counts, health, explain, stop), follows
// the ports' interfaces (ports.ts; one socket for both when they are one interface: one-arm), applies
// the daemon's plans to the Balancer, and runs the loop: requests are read
// synchronously between batches, so the loop never yields to an event loop (a request posted while the
// worker naps ends the nap: Channel.wait); frames are decided by WorkerIo.receive (rings.ts on
// AF_PACKET), once per batch. worker.ts builds it in the thread.
import { multicastMacOf, parseMac, solicitedNodeOf } from '../../core/addr.js';
import { CFG_NO_ARP, PROTO_TCP, PROTO_UDP } from '../../core/constants.js';
import { LbdsrError } from '../../core/errors.js';
import { Balancer } from '../../pipeline/balancer.js';
import { traceOf } from '../../pipeline/explain.js';
import type { Plan } from '../../pipeline/plan.js';
import type { Channel, WorkerIo } from './io.js';
import { FrontendPort, Port } from './ports.js';
import type { PlaneHealth, Reply, ReplyBody, Request } from './protocol.js';

/** The longest an idle worker blocks in poll(): also how long a plan given to an idle plane may wait. */
const POLL_MS = 5;
const CHECK_MS = 1000;
/**
 * While passes find NAP_BATCH frames or more (a high rate), empty-ring waits are naps of NAP_MS, for
 * BUSY_MS after the last such pass, instead of poll(): the sender's CPU then pays no wake-up per frame,
 * and batches grow. At lower rates the worker blocks in poll(), which the kernel wakes per frame, so a
 * lone frame is decided at once (a nap would add up to NAP_MS to its latency).
 */
const BUSY_MS = 50;
const NAP_MS = 0.25;
const NAP_BATCH = 16;
/** Requests answered between two batches at most. */
const REQUESTS_PER_PASS = 16;

type ApplyRequest = Extract<Request, { op: 'apply' }>;

/**
 * Live sessions per backend slot (both families' tables): entries that have not idled out and whose slot is live and still
 * holds the backend they were recorded for (any other session would be re-balanced at its next frame:
 * it is nobody's).
 */
function liveSessionCounts(b: Balancer, nowMs: number): Map<number, number> {
  const counts = new Map<number, number>();
  const t = b.control.timeoutsMs;
  const slots = b.control.slots;
  for (const st of [b.sessionTable, b.sessionTable6]) {
    st.forEachEntry((e) => {
      const proto = st.keyWordAt(e, st.words - 1);
      const timeout = proto === PROTO_TCP ? t.tcp : proto === PROTO_UDP ? t.udp : t.icmp;
      const slot = st.slotAt(e);
      const owner = slots[slot];
      if (nowMs - st.lastSeenAt(e) > timeout || owner?.id !== st.backendIdAt(e) || !owner.live) return;
      counts.set(slot, (counts.get(slot) ?? 0) + 1);
    });
  }
  return counts;
}

export class UserspaceWorker {
  readonly fe: FrontendPort;
  readonly be: Port;
  private readonly io: WorkerIo;
  private readonly channel: Channel;
  private balancer: Balancer | null = null;
  /** The backend port's MAC in the daemon's last plan: used while the worker cannot see the interface. */
  private planPortMac: Uint8Array | null = null;
  private rxRingDrops = 0;
  private rxRingFreezes = 0;
  /** Loop iterations that hit an unexpected exception. */
  private errors = 0;
  /** Longest time between two passes over the RX ring while traffic flowed, since the last health(). */
  private maxStallMs = 0;
  private running = true;
  /**
   * Both ports follow one interface (docs/semantics.md, "Frontend modes"): one socket on it, which
   * receives and sends everything (the backend port shares the frontend's).
   */
  private oneArm = false;
  /** Test hook: true when a test asks the worker to die (checked with the interfaces). */
  private readonly crashRequested: () => boolean;

  constructor(io: WorkerIo, channel: Channel, crashRequested: () => boolean = () => false) {
    this.io = io;
    this.channel = channel;
    this.crashRequested = crashRequested;
    const log = (level: 'info' | 'warn' | 'error', msg: string) => this.log(level, msg);
    this.fe = new FrontendPort((ifindex, label) => io.openFrontend(ifindex, label, this.oneArm), log);
    this.be = new Port(
      'backend',
      (ifindex, label) => (this.oneArm ? io.shareFrontend(ifindex, label) : io.openBackend(ifindex, label)),
      log,
    );
  }

  get stopped(): boolean {
    return !this.running;
  }

  log(level: 'info' | 'warn' | 'error', msg: string): void {
    this.channel.post({ id: -1, log: level, msg });
  }

  /** Answers one request; throws (with an LbdsrError code when the caller must see one) on failure. */
  handle(req: Request): ReplyBody {
    const now = performance.now();
    switch (req.op) {
      case 'apply':
        this.apply(req);
        return null;
      case 'stats':
        // without a walk: the table's entry count stands for the active sessions (types.ts)
        return this.balancer ? this.balancer.stats(req.walk === false ? undefined : now) : null;
      case 'sessions':
        return this.balancer ? this.balancer.sessions(req.limit, now) : [];
      case 'sessionCounts':
        return this.balancer ? liveSessionCounts(this.balancer, now) : new Map();
      case 'health':
        return this.health();
      case 'explain':
        // the loop's own clock (receive() is given the same floor), so a session's age is right
        if (!this.balancer) throw new LbdsrError('LBDSR_NOT_AVAILABLE', 'the plane has no configuration yet');
        return traceOf(this.balancer, req.frame, req.port, Math.floor(now));
      case 'stop':
        this.running = false;
        return null;
    }
  }

  /** The ports follow the interfaces named; then the plan is applied (nothing changes on error). */
  private apply(req: ApplyRequest): void {
    const oneArm = req.frontendIf !== undefined && req.frontendIf === req.backendIf;
    const same =
      oneArm === this.oneArm && req.frontendIf === this.fe.ifname && req.backendIf === this.be.ifname;
    if (oneArm !== this.oneArm) {
      // the sockets are opened for one or two interfaces: re-opened below (the backend's first, as
      // in one-arm it stands on the frontend's)
      this.be.close();
      this.fe.close();
      this.oneArm = oneArm;
    }
    this.fe.ifname = req.frontendIf;
    this.be.ifname = req.backendIf;
    if (this.fe.sock && this.fe.ifname === undefined) this.fe.close();
    if (this.be.sock && this.be.ifname === undefined) this.be.close();
    // The same interfaces, each attached as named: the periodic check (CHECK_MS) follows them. Probing
    // them here (six ioctls and a getsockopt: 0.17 ms median, 2 ms at p99 under load) delayed every plan.
    if (!same || !this.attachedAsNamed()) this.checkPorts();
    this.configure(req.plan);
    // An interface that is missing is followed (attached when it appears); one that exists but cannot
    // be attached (no CAP_NET_RAW, ...) is an error the caller must see.
    for (const p of [this.fe, this.be]) {
      if (p.ifname !== undefined && !p.sock && p.status.lastError !== undefined && this.io.probe(p.ifname)) {
        throw new LbdsrError('LBDSR_NOT_AVAILABLE', `cannot attach to ${p.ifname}: ${p.status.lastError}`);
      }
    }
  }

  /** Every port that names an interface holds a socket on it. */
  private attachedAsNamed(): boolean {
    return [this.fe, this.be].every((p) => p.ifname === undefined || p.sock !== null);
  }

  /**
   * Applies the daemon's plan to the Balancer (sessions and counters carry over, a new capacity keeps
   * the most recent sessions); a plan computed for another state throws and nothing changes.
   */
  private configure(plan: Plan): void {
    if (!this.balancer) this.balancer = new Balancer({ capacity: plan.capacity });
    this.balancer.applyPlan(plan);
    this.planPortMac = plan.settings.backendPortMac;
    this.followBackendMac();
  }

  /** The worker sees the backend interface itself: its MAC (in every rewrite) wins over the plan's. */
  private followBackendMac(): void {
    if (!this.balancer) return;
    const mac = this.be.mac === undefined ? this.planPortMac : parseMac(this.be.mac);
    const p = this.balancer.control.planBackendPortMac(mac);
    if (p.settingsChanged) this.balancer.applyPlan(p);
    this.syncMembership();
  }

  /**
   * The frontend receives frames for every service MAC and, while it answers ND (not CFG_NO_ARP), the
   * solicited-node multicast MAC (33:33:ff + the last 3 bytes) of every IPv6 VIP: on a real NIC the
   * solicitations would not reach the socket otherwise (docs/semantics.md, rule 6b).
   */
  private syncMembership(): void {
    if (!this.balancer) return;
    const macs: string[] = [];
    const text = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':');
    const control = this.balancer.control;
    for (const svc of control.services.values()) macs.push(text(svc.mac));
    if ((control.flags & CFG_NO_ARP) === 0) {
      for (const g of control.vips6.groups) macs.push(text(multicastMacOf(solicitedNodeOf(g.vip6!))));
    }
    this.fe.sync(macs);
  }

  /** Follows both interfaces; a new backend MAC re-applies the configuration (it is in every rewrite). */
  checkPorts(): void {
    const feMacChanged = this.fe.follow(
      this.fe.ifname === undefined ? undefined : this.io.probe(this.fe.ifname),
    );
    const beMacChanged = this.be.follow(
      this.be.ifname === undefined ? undefined : this.io.probe(this.be.ifname),
    );
    if (beMacChanged) this.followBackendMac();
    if (feMacChanged) this.syncMembership();
    this.takeRingDrops();
  }

  private takeRingDrops(): void {
    if (!this.fe.sock) return;
    try {
      const st = this.fe.sock.takeStats();
      this.rxRingDrops += st.drops;
      this.rxRingFreezes += st.freezes;
    } catch {
      // The socket lost its device; the next check re-opens it.
    }
  }

  private health(): PlaneHealth {
    this.takeRingDrops();
    const h: PlaneHealth = {
      frontend: { ...this.fe.status },
      backend: { ...this.be.status },
      rxRingDrops: this.rxRingDrops,
      rxRingFreezes: this.rxRingFreezes,
      txFailures: this.io.txFailures,
      errors: this.errors,
      cpuMs: this.io.cpuMs(),
      maxStallMs: this.maxStallMs,
    };
    this.maxStallMs = 0;
    return h;
  }

  /** Answers the requests queued now (a bounded number, so frames keep flowing). */
  drainRequests(): void {
    for (let i = 0; i < REQUESTS_PER_PASS; i++) {
      const env = this.channel.receive();
      if (env === undefined) return;
      let reply: Reply;
      try {
        reply = { id: env.id, ok: true, body: this.handle(env.req) };
      } catch (e) {
        const err = e as Error & { code?: string };
        reply = { id: env.id, ok: false, error: err.message, code: err.code };
      }
      this.channel.post(reply);
    }
  }

  private failed(what: string, e: unknown): void {
    this.errors++;
    if (this.errors < 10) this.log('error', `${what}: ${(e as Error).stack ?? e}`);
  }

  /** Runs until a stop request, then closes the ports and everything the io holds. */
  run(): void {
    try {
      this.loop();
    } finally {
      this.fe.close();
      this.be.close();
      this.io.close();
      this.log('info', 'stopped');
    }
  }

  private loop(): void {
    let lastCheck = 0;
    let lastFrame = -1e9;
    let lastBusy = -1e9;
    let prev = performance.now();
    while (this.running) {
      const now = performance.now();
      if (now - prev > this.maxStallMs && prev - lastFrame < BUSY_MS) this.maxStallMs = now - prev;
      prev = now;
      this.drainRequests();
      if (!this.running) break;
      if (now - lastCheck >= CHECK_MS) {
        lastCheck = now;
        if (this.crashRequested()) throw new Error('test hook: the worker was asked to crash');
        try {
          this.checkPorts();
        } catch (e) {
          // Never let the interface watch stop the plane; it is tried again at the next check.
          this.failed('checking interfaces', e);
        }
      }
      let n = 0;
      if (this.fe.sock && this.balancer) {
        try {
          n = this.io.receive(this.balancer, Math.floor(now));
        } catch (e) {
          this.failed('frame loop', e);
        }
        if (!this.io.flush()) lastCheck = 0;
      }
      if (n > 0) lastFrame = now;
      if (n >= NAP_BATCH) lastBusy = now;
      if (n === 0 && now - lastBusy < BUSY_MS) {
        // A high rate: nap instead of blocking in poll(), so that the sender's CPU does not pay a
        // wake-up per frame and the next batch is larger. The RX ring holds far more than a nap's worth.
        // A request posted meanwhile (a plan) ends the nap: it is answered at once, not after it.
        if (this.channel.wait) this.channel.wait(NAP_MS);
        else this.io.nap(NAP_MS);
      } else if (n === 0 && this.io.wait(POLL_MS) && now - lastCheck > 100) {
        // The device went down or away: look at the interfaces soon.
        lastCheck = 0;
      }
    }
  }
}
